//! `GET /healthz`: liveness and database reachability, without authentication.
//!
//! Load balancers and monitors give a health check a second or two; one that waits on the
//! pool's acquire timeout looks like a hung instance. The database probe is therefore
//! bounded by [`HEALTH_BOUND`], and an answer always comes within it.
use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use serde_json::json;

use super::RETRY_AFTER_SECS;
use crate::state::AppState;

/// The longest `/healthz` waits for the database.
pub const HEALTH_BOUND: Duration = Duration::from_secs(1);

#[get("/healthz")]
#[tracing::instrument(skip_all)]
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let problem = match tokio::time::timeout(HEALTH_BOUND, crate::store::ping(&state.db)).await {
        Ok(Ok(())) => {
            return HttpResponse::Ok().json(json!({ "status": "ok", "database": "ok" }));
        }
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("no answer within {} ms", HEALTH_BOUND.as_millis()),
    };
    tracing::error!(error = %problem, "health check: database unreachable");
    HttpResponse::ServiceUnavailable()
        .insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS))
        .json(json!({ "status": "error", "database": "unreachable" }))
}
