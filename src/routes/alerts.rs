//! `/api/v1/alerts`: the outbox, newest first, with each alert's delivery state.
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Caller;
use super::services::ServiceError;
use crate::clock::from_ms;
use crate::domain::alert::AlertState;
use crate::state::AppState;
use crate::store::alerts;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/alerts").route(web::get().to(list_alerts)));
}

#[derive(Debug, Serialize)]
pub struct AlertJson {
    pub id: i64,
    pub flip_id: i64,
    pub service_id: String,
    pub recipient: String,
    pub state: AlertState,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
pub struct AlertQuery {
    pub service: Option<String>,
    pub limit: Option<u64>,
}

async fn list_alerts(
    _: Caller,
    state: web::Data<AppState>,
    q: web::Query<AlertQuery>,
) -> Result<HttpResponse, ServiceError> {
    let rows = alerts::list(
        &state.db,
        q.service.as_deref(),
        q.limit.unwrap_or(100).clamp(1, 5000),
    )
    .await?;
    let body: Vec<AlertJson> = rows
        .into_iter()
        .map(|a| AlertJson {
            next_attempt_at: (a.state == alerts::PENDING).then(|| from_ms(a.next_attempt_at)),
            id: a.id,
            flip_id: a.flip_id,
            service_id: a.service_id,
            recipient: a.recipient,
            state: a.state,
            attempts: a.attempts,
            last_error: a.last_error,
            sent_at: a.sent_at.map(from_ms),
            created_at: from_ms(a.created_at),
        })
        .collect();
    Ok(HttpResponse::Ok().json(body))
}
