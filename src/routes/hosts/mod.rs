//! `/api/v1/hosts`: list, create, read, update, delete, pause, resume; a host's flips; the
//! defaults for new hosts; the inbox of unmanaged hosts. Thin: the rules are in
//! `app::hosts`. Reports in are `super::reports`, the events log `super::events`.
pub mod json;

use actix_web::{HttpResponse, web};
use heartbeats_wire::hosts as wire;
use serde::Deserialize;

use super::Caller;
use super::services::ServiceError;
use crate::app;
use crate::clock::from_ms;
use crate::domain::host::HostStatus;
use crate::domain::role::Action;
use crate::domain::{FieldError, Problem, Tags};
use crate::state::AppState;
use crate::store::host_list::{self, HostFilter};
use crate::store::host_live::latest_of;
use crate::store::hosts;
use crate::store::service_list::Cursor;
use crate::store::{host_events, host_inbox};
use json::{DefaultsInput, HostInput, defaults_json, host_json};

/// Registered before `/hosts/{id}`, whose pattern would take these paths too.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/hosts")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/hosts/defaults")
            .route(web::get().to(get_defaults))
            .route(web::put().to(put_defaults)),
    )
    .service(web::resource("/hosts/inbox").route(web::get().to(inbox)))
    .service(web::resource("/hosts/inbox/{name}").route(web::delete().to(dismiss)))
    .service(web::resource("/hosts/inbox/{name}/adopt").route(web::post().to(adopt)))
    .service(
        web::resource("/hosts/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(update))
            .route(web::delete().to(delete)),
    )
    .service(web::resource("/hosts/{id}/pause").route(web::post().to(pause)))
    .service(web::resource("/hosts/{id}/resume").route(web::post().to(resume)))
    .service(
        web::resource("/hosts/{id}/snooze")
            .route(web::post().to(snooze))
            .route(web::delete().to(unsnooze)),
    )
    .service(web::resource("/hosts/{id}/flips").route(web::get().to(list_flips)));
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    pub tag: Option<String>,
    pub q: Option<String>,
    pub status: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

const DEFAULT_LIMIT: u64 = 100;
const MAX_LIMIT: u64 = 1000;

/// A page size as text, so that a bad one is a 422 naming the field.
pub fn limit_of(raw: Option<&str>, default: u64, max: u64) -> Result<u64, FieldError> {
    let Some(raw) = raw else {
        return Ok(default);
    };
    raw.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or(FieldError::new("limit", Problem::LimitRange { max }))
}

/// A page of hosts in name order; `tag` = all these tags (indexed), `q` = part of the
/// name, `status`. When more follow, `X-Next-Cursor` and `Link` say where.
#[tracing::instrument(skip_all)]
async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ServiceError> {
    caller.may(Action::Read)?;
    let limit = limit_of(query.limit.as_deref(), DEFAULT_LIMIT, MAX_LIMIT)?;
    let after = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(Cursor::decode(c)?),
        None => None,
    };
    let status = query
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<HostStatus>()
                .map_err(|e| FieldError::new("status", e))
        })
        .transpose()?;
    let filter = HostFilter {
        tags: Tags::parse(&[query.tag.clone().unwrap_or_default()])?.into_vec(),
        status,
        q: query.q.clone(),
    };
    let mut rows = host_list::page(&state.db, &filter, after.as_ref(), limit + 1).await?;
    let next = (rows.len() as u64 > limit).then(|| {
        rows.truncate(limit as usize);
        rows.last().map(host_list::cursor_after)
    });
    let body: Vec<wire::Host> = rows.into_iter().map(|m| host_json(m, None)).collect();
    let mut resp = HttpResponse::Ok();
    if let Some(next) = next.flatten() {
        let next = next.encode();
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        for (k, v) in [
            ("tag", &query.tag),
            ("q", &query.q),
            ("status", &query.status),
            ("limit", &query.limit),
        ] {
            if let Some(v) = v {
                pairs.push((k, v));
            }
        }
        pairs.push(("cursor", &next));
        let prefix = state.settings.base_url.path().trim_end_matches('/');
        let qs = serde_urlencoded::to_string(pairs).unwrap_or_default();
        resp.insert_header(("X-Next-Cursor", next.clone()))
            .insert_header((
                "Link",
                format!("<{prefix}/api/v1/hosts?{qs}>; rel=\"next\""),
            ));
    }
    Ok(resp.json(body))
}

#[tracing::instrument(skip_all)]
async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Json<HostInput>,
) -> Result<HttpResponse, ServiceError> {
    let row = app::hosts::create(&state.app, &caller.0, &body.into_inner().draft()).await?;
    Ok(HttpResponse::Created().json(host_json(row, None)))
}

/// A host with its latest snapshot (from memory when this process has the newest).
async fn get(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    caller.may(Action::Read)?;
    let row = hosts::get(&state.db, &id).await?;
    let latest = latest_of(&state.db, &state.app.live, std::slice::from_ref(&row))
        .await?
        .remove(&row.id)
        .and_then(|l| serde_json::from_str::<wire::HostReport>(&l.json).ok());
    Ok(HttpResponse::Ok().json(host_json(row, latest)))
}

#[tracing::instrument(skip_all)]
async fn update(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<HostInput>,
) -> Result<HttpResponse, ServiceError> {
    let row = app::hosts::update(&state.app, &caller.0, &id, &body.into_inner().draft()).await?;
    Ok(HttpResponse::Ok().json(host_json(row, None)))
}

async fn delete(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    app::hosts::delete(&state.app, &caller.0, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn pause(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    let row = app::hosts::pause(&state.app, &caller.0, &id).await?;
    Ok(HttpResponse::Ok().json(host_json(row, None)))
}

async fn resume(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    let row = app::hosts::resume(&state.app, &caller.0, &id).await?;
    Ok(HttpResponse::Ok().json(host_json(row, None)))
}

async fn snooze(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<heartbeats_wire::maintenance::SnoozeInput>,
) -> Result<HttpResponse, ServiceError> {
    let body = body.into_inner();
    let row = app::hosts::snooze(
        &state.app,
        &caller.0,
        &id,
        body.minutes,
        body.until.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(host_json(row, None)))
}

async fn unsnooze(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    let row = app::hosts::unsnooze(&state.app, &caller.0, &id).await?;
    Ok(HttpResponse::Ok().json(host_json(row, None)))
}

#[derive(Debug, Deserialize)]
pub struct FlipsQuery {
    pub limit: Option<String>,
}

async fn list_flips(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    q: web::Query<FlipsQuery>,
) -> Result<HttpResponse, ServiceError> {
    caller.may(Action::Read)?;
    hosts::get(&state.db, &id).await?;
    let limit = limit_of(q.limit.as_deref(), 50, 1000)?;
    let body: Vec<wire::HostFlip> = host_events::flips(&state.db, &id, limit)
        .await?
        .into_iter()
        .map(|f| wire::HostFlip {
            id: f.id,
            host_id: f.host_id,
            at: from_ms(f.at),
            from: f.from_status.to_string(),
            to: f.to_status.to_string(),
            reason: f.reason.to_string(),
            detail: f.detail,
        })
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

async fn get_defaults(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ServiceError> {
    let d = app::hosts::defaults(&state.app, &caller.0).await?;
    Ok(HttpResponse::Ok().json(defaults_json(&d)))
}

async fn put_defaults(
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Json<DefaultsInput>,
) -> Result<HttpResponse, ServiceError> {
    let body = body.into_inner();
    let d = app::hosts::set_defaults(&state.app, &caller.0, body.interval, &body.checks.draft())
        .await?;
    Ok(HttpResponse::Ok().json(defaults_json(&d)))
}

async fn inbox(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ServiceError> {
    caller.may(Action::Read)?;
    let body: Vec<wire::UnmanagedHost> = host_inbox::list(&state.db, 1000)
        .await?
        .into_iter()
        .map(|m| wire::UnmanagedHost {
            name: m.name,
            first_seen_at: from_ms(m.first_seen_at),
            last_seen_at: from_ms(m.last_seen_at),
            reports: m.reports,
            source: m.source,
            latest: m.snapshot.and_then(|s| serde_json::from_str(&s).ok()),
        })
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

/// Adopt a reporting name: the body (optional) adds to the new host what a create would.
async fn adopt(
    caller: Caller,
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: Option<web::Json<HostInput>>,
) -> Result<HttpResponse, ServiceError> {
    let draft = body.map(|b| b.into_inner().draft()).unwrap_or_default();
    let row = app::hosts::adopt(&state.app, &caller.0, &name, &draft).await?;
    Ok(HttpResponse::Created().json(host_json(row, None)))
}

async fn dismiss(
    caller: Caller,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    app::hosts::dismiss(&state.app, &caller.0, &name).await?;
    Ok(HttpResponse::NoContent().finish())
}
