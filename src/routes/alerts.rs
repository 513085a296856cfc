//! `/api/v1/alerts`: the outbox, newest first, with each alert's delivery state.
use actix_web::{HttpResponse, web};
use heartbeats_wire::api;
use serde::Deserialize;

use super::Caller;
use super::services::ServiceError;
use crate::clock::from_ms;
use crate::domain::role::Action;
use crate::state::AppState;
use crate::store::alerts::{self, AlertsOf};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/alerts").route(web::get().to(list_alerts)));
}

#[derive(Debug, Deserialize)]
pub struct AlertQuery {
    pub service: Option<String>,
    pub host: Option<String>,
    pub channel: Option<String>,
    pub limit: Option<u64>,
}

async fn list_alerts(
    caller: Caller,
    state: web::Data<AppState>,
    q: web::Query<AlertQuery>,
) -> Result<HttpResponse, ServiceError> {
    caller.may(Action::Read)?;
    let of = match (
        q.service.as_deref(),
        q.host.as_deref(),
        q.channel.as_deref(),
    ) {
        (Some(service), _, _) => AlertsOf::Service(service),
        (None, Some(host), _) => AlertsOf::Host(host),
        (None, None, Some(channel)) => AlertsOf::Channel(channel),
        (None, None, None) => AlertsOf::All,
    };
    let rows = alerts::list(&state.db, of, q.limit.unwrap_or(100).clamp(1, 5000)).await?;
    let body: Vec<api::Alert> = rows
        .into_iter()
        .map(|a| api::Alert {
            next_attempt_at: a.state.is_open().then(|| from_ms(a.next_attempt_at)),
            channel_id: a.channel_id,
            purpose: a.purpose.to_string(),
            seq: a.seq,
            id: a.id,
            flip_id: a.flip_id.or(a.host_flip_id).unwrap_or_default(),
            service_id: a.service_id,
            host_id: a.host_id,
            recipient: a.recipient,
            state: a.state.to_string(),
            attempts: a.attempts,
            last_error: a.last_error,
            sent_at: a.sent_at.map(from_ms),
            created_at: from_ms(a.created_at),
        })
        .collect();
    Ok(HttpResponse::Ok().json(body))
}
