use actix_web::{HttpResponse, get, web};
use serde_json::json;

use crate::state::AppState;

/// Liveness and database reachability, without authentication.
#[get("/healthz")]
#[tracing::instrument(skip_all)]
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    match crate::store::ping(&state.db).await {
        Ok(_) => HttpResponse::Ok().json(json!({ "status": "ok", "database": "ok" })),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "error", "database": "unreachable" }))
        }
    }
}
