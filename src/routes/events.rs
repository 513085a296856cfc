//! `GET /api/v1/events?host=&limit=&before=`: the hosts' events log, newest first.
use actix_web::{HttpResponse, web};
use heartbeats_wire::hosts::Event;
use serde::Deserialize;

use super::Caller;
use super::hosts::limit_of;
use super::services::ServiceError;
use crate::clock::from_ms;
use crate::domain::role::Action;
use crate::state::AppState;
use crate::store::{StoreError, host_events, hosts};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/events").route(web::get().to(list)));
}

#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    /// A host's id or name.
    pub host: Option<String>,
    pub limit: Option<String>,
    /// Only events older than this id (the last id of the previous page).
    pub before: Option<i64>,
}

/// A page of events (`limit` 1–1000, default 100); when more follow, `X-Next-Before`
/// holds the `before` for the next page. Served by the indexes `(host_id, id)` and the
/// primary key.
async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    q: web::Query<EventsQuery>,
) -> Result<HttpResponse, ServiceError> {
    caller.may(Action::Read)?;
    let limit = limit_of(q.limit.as_deref(), 100, 1000)?;
    let host_id = match q.host.as_deref().map(str::trim).filter(|h| !h.is_empty()) {
        Some(h) => Some(match hosts::get(&state.db, h).await {
            Ok(m) => m.id,
            Err(StoreError::NotFound(_)) => {
                hosts::by_name(&state.db, h)
                    .await?
                    .ok_or(StoreError::NotFound("host"))?
                    .id
            }
            Err(e) => return Err(e.into()),
        }),
        None => None,
    };
    let mut rows = host_events::events(&state.db, host_id.as_deref(), q.before, limit + 1).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let mut resp = HttpResponse::Ok();
    if more && let Some(last) = rows.last() {
        resp.insert_header(("X-Next-Before", last.id.to_string()));
    }
    let body: Vec<Event> = rows
        .into_iter()
        .map(|e| Event {
            id: e.id,
            host_id: e.host_id,
            host: e.host_name,
            at: from_ms(e.at),
            kind: e.kind.to_string(),
            check: e.check_key,
            detail: e.detail,
        })
        .collect();
    Ok(resp.json(body))
}
