//! `/api/v1/services`: list, create, read, update, delete, pause, resume; and a service's
//! pings and flips. Thin: the rules are in `app::services`.
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError, web};
use sea_orm::DatabaseConnection;
use serde::Deserialize;

use super::{Caller, app_error_response, app_error_status};
use heartbeats_wire::api;
use heartbeats_wire::maintenance::{SnoozeAccepted, SnoozeInput};

use crate::app::services::{Amount, ServiceDraft};
use crate::app::{self, AppError};
use crate::clock::from_ms;
use crate::domain::role::Action;
use crate::domain::status::Status;
use crate::domain::{FieldError, Problem, Tags, notify_from_column};
use crate::entity::services::Model;
use crate::state::AppState;
use crate::store::service_list::{self, At, Cursor, Order, Term};
use crate::store::services::{schedule_of, timezone_of};
use crate::store::{StoreError, StoreResult, alerts, pings, runs, services};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/services")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/services/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(update))
            .route(web::delete().to(delete)),
    )
    .service(web::resource("/services/{id}/pause").route(web::post().to(pause)))
    .service(web::resource("/services/{id}/resume").route(web::post().to(resume)))
    .service(
        web::resource("/services/{id}/snooze")
            .route(web::post().to(snooze))
            .route(web::delete().to(unsnooze)),
    )
    .service(web::resource("/services/{id}/pings").route(web::get().to(list_pings)))
    .service(web::resource("/services/{id}/runs").route(web::get().to(list_runs)))
    .service(web::resource("/services/{id}/flips").route(web::get().to(list_flips)));
}

/// Every failure of these routes is a use-case or storage failure, mapped in one place.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ServiceError(#[from] AppError);

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        Self(e.into())
    }
}

impl From<FieldError> for ServiceError {
    fn from(e: FieldError) -> Self {
        Self(e.into())
    }
}

impl ResponseError for ServiceError {
    fn status_code(&self) -> StatusCode {
        app_error_status(&self.0)
    }

    fn error_response(&self) -> HttpResponse {
        app_error_response(&self.0)
    }
}

/// A list given either as a JSON array or as one comma-separated string.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ListOrString {
    List(Vec<String>),
    One(String),
}

impl ListOrString {
    pub(crate) fn items(&self) -> Vec<String> {
        match self {
            ListOrString::List(v) => v.clone(),
            ListOrString::One(s) => vec![s.clone()],
        }
    }
}

/// Body of create and update. On update every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceInput {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub period: Option<i64>,
    pub at: Option<String>,
    pub cron: Option<String>,
    pub timezone: Option<String>,
    pub grace: Option<i64>,
    pub tags: Option<ListOrString>,
    pub notify: Option<ListOrString>,
    /// Channel ids; on create, left out: the channels marked "default for new".
    pub channels: Option<ListOrString>,
    /// Seconds; `null` or 0: no reminders.
    #[serde(default, deserialize_with = "super::hosts::json::double")]
    pub remind_every: Option<Option<i64>>,
    pub remind_max: Option<i64>,
    pub slug: Option<String>,
    /// Seconds; `null` or 0: no bound.
    #[serde(default, deserialize_with = "super::hosts::json::double")]
    pub max_run: Option<Option<i64>>,
    #[serde(default, deserialize_with = "super::hosts::json::double")]
    pub min_run: Option<Option<i64>>,
    pub fail_after: Option<i64>,
    pub description: Option<String>,
}

/// A stored service as the API shows it.
pub fn service_json(m: Model, state: &AppState, actor: &app::Actor) -> api::Service {
    // The ping UUID is a credential: only a caller who may ping sees it.
    let may_ping = actor.may(Action::Ping);
    let schedule = schedule_of(&m)
        .map(|s| s.describe(timezone_of(&m)))
        .unwrap_or_else(|e| e.to_string());
    let mut ping_url = state.settings.base_url.clone();
    ping_url.set_path(&format!(
        "{}/api/pings",
        state.settings.base_url.path().trim_end_matches('/')
    ));
    ping_url.set_query(Some(&format!("service={}", m.id)));
    let mut uuid_ping_url = state.settings.base_url.clone();
    uuid_ping_url.set_path(&format!(
        "{}/ping/{}",
        state.settings.base_url.path().trim_end_matches('/'),
        m.ping_uuid
    ));
    api::Service {
        uuid_ping_url: if may_ping {
            uuid_ping_url.to_string()
        } else {
            String::new()
        },
        ping_uuid: if may_ping { m.ping_uuid } else { String::new() },
        slug: m.slug,
        max_run: m.max_run_secs,
        min_run: m.min_run_secs,
        fail_after: m.fail_after,
        fail_streak: m.fail_streak,
        open_runs: m.open_runs,
        last_duration_ms: m.last_run_ms,
        description: m.description,
        tags: Tags::from_column(&m.tags).into_vec(),
        notify: notify_from_column(&m.notify),
        last_ping_at: m.last_ping_at.map(from_ms),
        next_due_at: m.next_due_at.map(from_ms),
        down_at: m.down_at.map(from_ms),
        created_at: from_ms(m.created_at),
        ping_url: ping_url.to_string(),
        channels: crate::domain::channel::channels_from_column(&m.channels),
        remind_every: m.remind_every_secs,
        remind_max: m.remind_max,
        snoozed_until: m.snoozed_until.map(from_ms),
        schedule,
        id: m.id,
        name: m.name,
        kind: m.kind.to_string(),
        period: m.period_secs,
        at: m.at_time,
        cron: m.cron_expr,
        timezone: m.timezone,
        grace: m.grace_secs,
        status: m.status.to_string(),
        last_ping_kind: m.last_ping_kind.map(|k| k.to_string()),
    }
}

impl ServiceInput {
    fn draft(self) -> ServiceDraft {
        ServiceDraft {
            name: self.name,
            kind: self.kind,
            period: self.period.map(Amount::Secs),
            at: self.at,
            cron: self.cron,
            timezone: self.timezone,
            grace: self.grace.map(Amount::Secs),
            tags: self.tags.map(|t| t.items()),
            notify: self.notify.map(|n| n.items()),
            channels: self.channels.map(|c| c.items()),
            remind_every: self.remind_every.map(|r| r.map(Amount::Secs)),
            remind_max: self.remind_max,
            slug: self.slug,
            max_run: self.max_run.map(|r| r.map(Amount::Secs)),
            min_run: self.min_run.map(|r| r.map(Amount::Secs)),
            fail_after: self.fail_after,
            description: self.description,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    pub tag: Option<String>,
    pub q: Option<String>,
    pub status: Option<String>,
    /// Taken as text so that a bad value is a 422 naming the field, like the body's.
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

const DEFAULT_LIMIT: u64 = 100;
const MAX_LIMIT: u64 = 1000;

impl ListQuery {
    fn limit(&self) -> Result<u64, FieldError> {
        let Some(raw) = self.limit.as_deref() else {
            return Ok(DEFAULT_LIMIT);
        };
        raw.trim()
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or(FieldError::new(
                "limit",
                Problem::LimitRange { max: MAX_LIMIT },
            ))
    }

    /// This query with another cursor, for the `Link` header.
    fn with_cursor(&self, cursor: &str) -> String {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        for (k, v) in [
            ("tag", &self.tag),
            ("q", &self.q),
            ("status", &self.status),
            ("limit", &self.limit),
        ] {
            if let Some(v) = v {
                pairs.push((k, v));
            }
        }
        pairs.push(("cursor", cursor));
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

/// A page of services in name order (`limit`, default 100, at most 1000). The body stays a
/// JSON array; when more follow, `X-Next-Cursor` holds the `cursor` for the next page and
/// `Link: <…>; rel="next"` its URL.
#[tracing::instrument(skip_all)]
async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ServiceError> {
    caller.may(Action::Read)?;
    let query = query.into_inner();
    let limit = query.limit()?;
    let at = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => At::After(Cursor::decode(c)?),
        None => At::First,
    };
    let status = query
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<Status>()
                .map_err(|e| FieldError::new("status", e))
        })
        .transpose()?;
    let mut terms: Vec<Term> = Tags::parse(&[query.tag.clone().unwrap_or_default()])?
        .into_vec()
        .into_iter()
        .map(Term::Tag)
        .collect();
    if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        terms.push(Term::name(q));
    }
    let list_query = service_list::ListQuery {
        terms,
        status,
        order: Order::Name,
    };
    let plan = service_list::plan(&state.db, &state.list_search, list_query).await?;
    let page = service_list::page(&state.db, &plan, &at, limit).await?;
    let body: Vec<api::Service> = page
        .rows
        .into_iter()
        .map(|m| service_json(m, &state, &caller.0))
        .collect();
    let mut resp = HttpResponse::Ok();
    if let Some(next) = page.next {
        let next = next.encode();
        let prefix = state.settings.base_url.path().trim_end_matches('/');
        resp.insert_header(("X-Next-Cursor", next.clone()))
            .insert_header((
                "Link",
                format!(
                    "<{prefix}/api/v1/services?{}>; rel=\"next\"",
                    query.with_cursor(&next)
                ),
            ));
    }
    Ok(resp.json(body))
}

#[tracing::instrument(skip_all)]
async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Json<ServiceInput>,
) -> Result<HttpResponse, ServiceError> {
    let row = app::services::create(&state.app, &caller.0, &body.into_inner().draft()).await?;
    Ok(HttpResponse::Created().json(service_json(row, &state, &caller.0)))
}

async fn get(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    caller.may(Action::Read)?;
    let row = services::get(&state.db, &id).await?;
    Ok(HttpResponse::Ok().json(service_json(row, &state, &caller.0)))
}

#[tracing::instrument(skip_all)]
async fn update(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<ServiceInput>,
) -> Result<HttpResponse, ServiceError> {
    let row = app::services::update(&state.app, &caller.0, &id, &body.into_inner().draft()).await?;
    Ok(HttpResponse::Ok().json(service_json(row, &state, &caller.0)))
}

async fn delete(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    app::services::delete(&state.app, &caller.0, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn pause(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    let row = app::services::pause(&state.app, &caller.0, &id).await?;
    Ok(HttpResponse::Ok().json(service_json(row, &state, &caller.0)))
}

async fn resume(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    let row = app::services::resume(&state.app, &caller.0, &id).await?;
    Ok(HttpResponse::Ok().json(service_json(row, &state, &caller.0)))
}

async fn snooze(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<SnoozeInput>,
) -> Result<HttpResponse, ServiceError> {
    let body = body.into_inner();
    let row = app::services::snooze(
        &state.app,
        &caller.0,
        &id,
        body.minutes,
        body.until.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(service_json(row, &state, &caller.0)))
}

async fn unsnooze(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    let row = app::services::unsnooze(&state.app, &caller.0, &id).await?;
    Ok(HttpResponse::Ok().json(service_json(row, &state, &caller.0)))
}

/// `/api/pings/snooze` takes its values from the query string, as `/api/pings` does.
#[derive(Debug, Deserialize)]
pub struct PingSnoozeQuery {
    pub service: Option<String>,
    pub minutes: Option<String>,
    pub until: Option<String>,
}

/// `GET|POST /api/pings/snooze?service=<id>&minutes=30`: a job silences its own service
/// (before planned work) with the credentials it pings with.
#[tracing::instrument(skip_all)]
pub async fn ping_snooze(
    caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<PingSnoozeQuery>,
) -> Result<HttpResponse, ServiceError> {
    let q = query.into_inner();
    let service = q
        .service
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(FieldError::new("service", Problem::Required))?;
    let minutes = match q
        .minutes
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(m) => Some(
            m.parse::<i64>()
                .map_err(|_| FieldError::new("minutes", Problem::NotANumber))?,
        ),
    };
    let row =
        app::services::snooze_by_ping(&state.app, &caller.0, service, minutes, q.until.as_deref())
            .await?;
    let until = row
        .snoozed_until
        .map(from_ms)
        .unwrap_or_else(|| state.app.now());
    Ok(HttpResponse::Ok().json(SnoozeAccepted {
        ok: true,
        service: row.id,
        snoozed_until: until,
    }))
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    pub before: Option<i64>,
    pub limit: Option<u64>,
}

async fn list_pings(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, ServiceError> {
    let read = async |db: &DatabaseConnection, id: &str, before, limit| {
        pings::list(db, id, before, limit).await
    };
    log_page(&caller, &state, &id, &page, read, |p| api::Ping {
        id: p.id,
        at: from_ms(p.at),
        kind: p.kind.to_string(),
        data: p.data,
        source: p.source,
        user_agent: p.user_agent,
        rid: p.rid,
        exit_status: p.exit_status,
    })
    .await
}

/// A page of a service's runs, newest first (`before` a run id, `limit` 1–1000, 50).
async fn list_runs(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, ServiceError> {
    let read = async |db: &DatabaseConnection, id: &str, before, limit| {
        runs::list(db, id, before, limit).await
    };
    log_page(&caller, &state, &id, &page, read, |r| api::Run {
        id: r.id,
        rid: r.rid,
        started_at: from_ms(r.started_at),
        ended_at: r.ended_at.map(from_ms),
        duration_ms: r.duration_ms,
        exit_status: r.exit_status,
        outcome: r.outcome.to_string(),
        output: r.output,
    })
    .await
}

/// A service's newest flips (`limit` 1–1000, 50; `before` is not taken here).
async fn list_flips(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, ServiceError> {
    let read = async |db: &DatabaseConnection, id: &str, _before, limit| {
        alerts::list_flips(db, id, limit).await
    };
    log_page(&caller, &state, &id, &page, read, |f| api::Flip {
        id: f.id,
        at: from_ms(f.at),
        from: f.from_status.to_string(),
        to: f.to_status.to_string(),
        reason: f.reason.to_string(),
        data: f.data,
    })
    .await
}

/// What a service's pings, runs and flips have in common: the caller may read, the
/// service exists (404 otherwise), `limit` is 1–1000 (50 when absent); `read` gets the
/// rows (newest first, `before` an id of that log) and `shape` makes each the API's.
async fn log_page<R, T: serde::Serialize>(
    caller: &Caller,
    state: &AppState,
    id: &str,
    page: &PageQuery,
    read: impl AsyncFnOnce(&DatabaseConnection, &str, Option<i64>, u64) -> StoreResult<Vec<R>>,
    shape: impl Fn(R) -> T,
) -> Result<HttpResponse, ServiceError> {
    caller.may(Action::Read)?;
    services::get(&state.db, id).await?;
    let limit = page.limit.unwrap_or(50).clamp(1, 1000);
    let rows = read(&state.db, id, page.before, limit).await?;
    let body: Vec<T> = rows.into_iter().map(shape).collect();
    Ok(HttpResponse::Ok().json(body))
}
