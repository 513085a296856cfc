//! The healthchecks.io management API subset, at `/api/v1/checks/`, `/api/v2/checks/` and
//! `/api/v3/checks/`, so that clients written for healthchecks (libraries, scripts)
//! manage Heartbeats services. Authentication is healthchecks': an `X-Api-Key` header (or
//! `api_key` in a JSON body) holding one of our API keys. A check is a service: its `uuid`
//! is the service's ping UUID, its `unique_key` (what a read key sees instead) the
//! service's id. Every change goes through `app::services`; thin, like the other routes.
//!
//! Versions differ as healthchecks' do: v1 shows a running check's status as `started`
//! and its flips as a bare array; v2 and v3 keep the status and say `started: true`, and
//! wrap flips in `{"flips": […]}`; v1 and v2 re-derive the slug from a new name.
//!
//! Here: authentication and look-ups (every handler starts with [`Call::new`] or
//! [`Call::with_check`]) and the check handlers; `error` (refusals in healthchecks'
//! words), `list` (every check, streamed), `shape` (a service as a check), `spec` (create
//! and update bodies), `log` (pings and flips).
mod error;
mod list;
mod log;
mod shape;
mod spec;

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use heartbeats_wire::ErrorBody;
use serde_json::{Map, Value, json};

use super::error_body;
use crate::app::services::{Amount, ServiceDraft};
use crate::app::{self, Actor, AppError};
use crate::auth::{AuthError, Credentials};
use crate::clock::{from_ms, to_ms};
use crate::domain::Tags;
use crate::domain::role::{Action, KeyScope};
use crate::domain::runs::{PingUuid, slugify};
use crate::domain::schedule::ScheduleKind;
use crate::domain::status::{PingKind, Status};
use crate::entity::services::Model;
use crate::state::AppState;
use crate::store::hc_checks::{self, Match};
use crate::store::{StoreError, channels, pings, services};
use error::HcError;
pub use list::LIST_PAGE;
use list::list;
pub use log::PING_LOG_LIMIT;
use log::{list_flips, list_pings};
use shape::{View, check_json, iso, one_check};
use spec::{Spec, resolve_channels, slug_from_name};

/// The routes of one version; mounted inside `/api/v1` and under `/api/{v2,v3}`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(["/checks/", "/checks"])
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/checks/{code}")
            .route(web::get().to(get))
            .route(web::post().to(update))
            .route(web::delete().to(delete)),
    )
    .service(web::resource("/checks/{code}/pause").route(web::post().to(pause)))
    .service(web::resource("/checks/{code}/resume").route(web::post().to(resume)))
    .service(
        web::resource(["/checks/{code}/pings/", "/checks/{code}/pings"])
            .route(web::get().to(list_pings)),
    )
    .service(
        web::resource(["/checks/{code}/flips/", "/checks/{code}/flips"])
            .route(web::get().to(list_flips)),
    );
}

/// `timeout` and `grace` bounds, as healthchecks has them.
const MIN_SECS: i64 = 60;
const MAX_SECS: i64 = 31_536_000;
/// healthchecks' defaults for a new check: a day's period, an hour's grace.
const DEFAULT_TIMEOUT: i64 = 86_400;
const DEFAULT_GRACE: i64 = 3_600;
/// Flips one answer holds at most.
const FLIPS_LIMIT: u64 = 1000;

/// The `{code}` of the path: a check's UUID or unique key.
fn code(req: &HttpRequest) -> String {
    req.match_info().get("code").unwrap_or_default().to_owned()
}

/// The API version the request came in on: 1, 2 or 3.
fn version(req: &HttpRequest) -> u8 {
    let path = req.path();
    if path.contains("/api/v1/") {
        1
    } else if path.contains("/api/v2/") {
        2
    } else {
        3
    }
}

/// The JSON object a POST carries; an empty body is an empty object.
fn body_object(body: &[u8]) -> Result<Map<String, Value>, HcError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(HcError::bad(
            "json validation error: value is not an object",
        )),
        Err(_) => Err(HcError::bad("could not parse request body")),
    }
}

/// The caller, from `X-Api-Key` or the body's `api_key`.
async fn authorize(
    req: &HttpRequest,
    state: &AppState,
    body: &Map<String, Value>,
) -> Result<Actor, HcError> {
    let header = req
        .headers()
        .get("x-api-key")
        .map(|v| v.to_str().unwrap_or_default().trim())
        .filter(|v| !v.is_empty());
    let key = match header {
        Some(v) => v.to_owned(),
        None => body
            .get("api_key")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim()
            .to_owned(),
    };
    if key.is_empty() {
        return Err(HcError::new(
            StatusCode::UNAUTHORIZED,
            "auth_required",
            "missing api key",
        ));
    }
    let source = crate::peer::client_ip(req);
    match state
        .auth
        .authenticate(&Credentials::Bearer(key), &source)
        .await
    {
        // A ping key is no management key, as healthchecks' ping keys are not.
        Ok(user) if user.scope == KeyScope::Ping => Err(HcError::wrong_key()),
        Ok(user) => Ok(Actor {
            user_id: Some(user.id),
            name: user.name,
            role: user.role,
            scope: user.scope,
            source: Some(source),
        }),
        Err(AuthError::Missing | AuthError::Invalid) => Err(HcError::wrong_key()),
        Err(AuthError::Throttled { retry_after }) => Err(HcError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "throttled",
            format!(
                "too many failed attempts; try again in {} s",
                retry_after.as_secs().max(1)
            ),
        )),
        Err(AuthError::Busy) => Err(HcError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "too many password checks are waiting; try again shortly",
        )),
        Err(e @ (AuthError::Store(_) | AuthError::Other(_))) => {
            tracing::error!(error = %e, "credential check failed");
            Err(HcError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "cannot check credentials right now",
            ))
        }
    }
}

/// healthchecks answers a read-only key on a read-write endpoint as a wrong key.
fn read_write(actor: &Actor) -> Result<(), HcError> {
    if actor.scope == KeyScope::Read {
        return Err(HcError::wrong_key());
    }
    Ok(())
}

fn readable(actor: &Actor) -> Result<(), HcError> {
    actor.require(Action::Read).map_err(HcError::from)
}

/// The service a check's `uuid` names (its ping UUID).
async fn by_uuid(state: &AppState, code: &str) -> Result<Model, HcError> {
    let uuid = PingUuid::parse(code).ok_or_else(HcError::not_found)?;
    services::by_ping_uuid(&state.db, uuid.as_str())
        .await?
        .ok_or_else(HcError::not_found)
}

/// The service a check's `uuid` or `unique_key` (the service id) names.
async fn by_uuid_or_key(state: &AppState, code: &str) -> Result<Model, HcError> {
    if PingUuid::parse(code).is_some() {
        return by_uuid(state, code).await;
    }
    match services::get(&state.db, code).await {
        Ok(m) => Ok(m),
        Err(StoreError::NotFound(_)) => Err(HcError::not_found()),
        Err(e) => Err(e.into()),
    }
}

/// Which keys an endpoint takes, as healthchecks' decorators say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// `authorize_read`: read-only keys too.
    Read,
    /// `authorize`: read-write keys only; a read-only key is a wrong key.
    Write,
}

/// How the path's `{code}` may name a check.
#[derive(Debug, Clone, Copy)]
enum Code {
    /// Its `uuid` only (what healthchecks' read-write endpoints take).
    Uuid,
    /// Its `uuid` or its `unique_key`.
    UuidOrKey,
}

/// What every handler starts with: the body of a POST, the caller with their key checked
/// for the endpoint, and how checks are shown to them.
struct Call {
    actor: Actor,
    view: View,
    body: Map<String, Value>,
}

impl Call {
    /// `body` is a POST's (`None` for GET and DELETE). It is read before the key, so a
    /// body that is not a JSON object is a 400 whoever sends it, and its `api_key` counts.
    async fn new(
        req: &HttpRequest,
        state: &AppState,
        body: Option<&[u8]>,
        access: Access,
    ) -> Result<Self, HcError> {
        let body = match body {
            Some(b) => body_object(b)?,
            None => Map::new(),
        };
        let actor = authorize(req, state, &body).await?;
        if access == Access::Write {
            read_write(&actor)?;
        }
        readable(&actor)?;
        Ok(Self {
            view: View::of(req, &actor),
            actor,
            body,
        })
    }

    /// [`Call::new`], then the check the path's `{code}` names (404 when none).
    async fn with_check(
        req: &HttpRequest,
        state: &AppState,
        body: Option<&[u8]>,
        access: Access,
        by: Code,
    ) -> Result<(Self, Model), HcError> {
        let call = Self::new(req, state, body, access).await?;
        let code = code(req);
        let row = match by {
            Code::Uuid => by_uuid(state, &code).await?,
            Code::UuidOrKey => by_uuid_or_key(state, &code).await?,
        };
        Ok((call, row))
    }
}

#[tracing::instrument(skip_all)]
async fn get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, HcError> {
    let (call, m) = Call::with_check(&req, &state, None, Access::Read, Code::UuidOrKey).await?;
    Ok(HttpResponse::Ok().json(one_check(&state, &m, call.view).await?))
}

/// `POST /checks/`: create; with `unique`, update the first match instead (200).
#[tracing::instrument(skip_all)]
async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, HcError> {
    let Call { actor, view, body } = Call::new(&req, &state, Some(&body), Access::Write).await?;
    let spec = Spec::parse(&body)?;
    let channels = resolve_channels(&state, &spec).await?;
    if let Some(m) = spec.matcher()
        && let Some(existing) = hc_checks::find_match(&state.db, &m).await?
    {
        let mut draft = spec.draft(channels);
        slug_from_name(&state, view.v, &spec, &mut draft, &existing.id).await?;
        let row = app::services::update(&state.app, &actor, &existing.id, &draft).await?;
        return Ok(HttpResponse::Ok().json(one_check(&state, &row, view).await?));
    }
    // healthchecks assigns no channels unless asked to.
    let mut draft = spec.draft(Some(channels.unwrap_or_default()));
    if draft.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
        // A Heartbeats service needs a name: the slug serves when only it is given.
        draft.name = draft.slug.clone();
    }
    if draft.kind.is_none() {
        draft.kind = Some(ScheduleKind::Interval.to_string());
        draft.period = Some(Amount::Secs(DEFAULT_TIMEOUT));
    }
    if draft.grace.is_none() {
        draft.grace = Some(Amount::Secs(DEFAULT_GRACE));
    }
    let row = app::services::create(&state.app, &actor, &draft).await?;
    Ok(HttpResponse::Created().json(check_json(&state, &row, 0, view)))
}

/// `POST /checks/<uuid>`: change the fields given.
#[tracing::instrument(skip_all)]
async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, HcError> {
    let (Call { actor, view, body }, current) =
        Call::with_check(&req, &state, Some(&body), Access::Write, Code::Uuid).await?;
    let spec = Spec::parse(&body)?;
    let channels = resolve_channels(&state, &spec).await?;
    let mut draft = spec.draft(channels);
    slug_from_name(&state, view.v, &spec, &mut draft, &current.id).await?;
    let row = app::services::update(&state.app, &actor, &current.id, &draft).await?;
    Ok(HttpResponse::Ok().json(one_check(&state, &row, view).await?))
}

/// `DELETE /checks/<uuid>`: answers the check as it was.
#[tracing::instrument(skip_all)]
async fn delete(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, HcError> {
    let (call, current) = Call::with_check(&req, &state, None, Access::Write, Code::Uuid).await?;
    let shown = one_check(&state, &current, call.view).await?;
    app::services::delete(&state.app, &call.actor, &current.id).await?;
    Ok(HttpResponse::Ok().json(shown))
}

#[tracing::instrument(skip_all)]
async fn pause(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, HcError> {
    let (call, current) =
        Call::with_check(&req, &state, Some(&body), Access::Write, Code::Uuid).await?;
    let row = app::services::pause(&state.app, &call.actor, &current.id).await?;
    Ok(HttpResponse::Ok().json(one_check(&state, &row, call.view).await?))
}

/// `POST /checks/<uuid>/resume`: 409 when the check is not paused, as in healthchecks.
#[tracing::instrument(skip_all)]
async fn resume(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, HcError> {
    let (call, current) =
        Call::with_check(&req, &state, Some(&body), Access::Write, Code::Uuid).await?;
    call.actor
        .require(Action::EditServices)
        .map_err(HcError::from)?;
    if current.status != Status::Paused {
        return Err(HcError::new(
            StatusCode::CONFLICT,
            "not_paused",
            "check is not paused",
        ));
    }
    let row = app::services::resume(&state.app, &call.actor, &current.id).await?;
    Ok(HttpResponse::Ok().json(one_check(&state, &row, call.view).await?))
}
