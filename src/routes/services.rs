//! `/api/v1/services`: list, create, read, update, delete, pause, resume; and a service's
//! pings, flips and alerts.
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError, web};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::{Caller, json_error, store_error_response};
use crate::clock::from_ms;
use crate::domain::cron::CronExpr;
use crate::domain::schedule::{LocalTime, Schedule, parse_timezone};
use crate::domain::status::Status;
use crate::domain::{
    FieldError, Tags, notify_from_column, parse_duration_secs, parse_name, parse_notify,
};
use crate::entity::services::Model;
use crate::startup::AppState;
use crate::store::services::{ListFilter, NewService, ServicePatch, schedule_of, timezone_of};
use crate::store::{StoreError, alerts, pings, services};

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
    .service(web::resource("/services/{id}/pings").route(web::get().to(list_pings)))
    .service(web::resource("/services/{id}/flips").route(web::get().to(list_flips)))
    .service(web::resource("/alerts").route(web::get().to(list_alerts)));
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ResponseError for ServiceError {
    fn status_code(&self) -> StatusCode {
        match self {
            ServiceError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ServiceError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ServiceError::Invalid(e) => json_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                e.to_string(),
                Some(e.field),
            ),
            ServiceError::Store(e) => store_error_response(e),
        }
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
    fn items(&self) -> Vec<String> {
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
}

/// A service on the wire: durations in seconds, times in RFC 3339 UTC.
#[derive(Debug, Serialize)]
pub struct ServiceJson {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub period: Option<i64>,
    pub at: Option<String>,
    pub cron: Option<String>,
    pub timezone: String,
    pub grace: i64,
    pub tags: Vec<String>,
    pub notify: Vec<String>,
    pub status: String,
    pub schedule: String,
    pub last_ping_at: Option<DateTime<Utc>>,
    pub last_ping_kind: Option<String>,
    pub next_due_at: Option<DateTime<Utc>>,
    pub down_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub ping_url: String,
}

impl ServiceJson {
    pub fn new(m: Model, state: &AppState) -> Self {
        let schedule = schedule_of(&m)
            .map(|s| s.describe(timezone_of(&m)))
            .unwrap_or_else(|e| e.to_string());
        let mut ping_url = state.settings.base_url.clone();
        ping_url.set_path(&format!(
            "{}/api/pings",
            state.settings.base_url.path().trim_end_matches('/')
        ));
        ping_url.set_query(Some(&format!("service={}", m.id)));
        Self {
            tags: Tags::from_column(&m.tags).into_vec(),
            notify: notify_from_column(&m.notify),
            last_ping_at: m.last_ping_at.map(from_ms),
            next_due_at: m.next_due_at.map(from_ms),
            down_at: m.down_at.map(from_ms),
            created_at: from_ms(m.created_at),
            ping_url: ping_url.to_string(),
            schedule,
            id: m.id,
            name: m.name,
            kind: m.kind,
            period: m.period_secs,
            at: m.at_time,
            cron: m.cron_expr,
            timezone: m.timezone,
            grace: m.grace_secs,
            status: m.status,
            last_ping_kind: m.last_ping_kind,
        }
    }
}

/// Build a schedule from a kind and its fields, naming the field that is wrong.
pub fn build_schedule(
    kind: Option<&str>,
    period: Option<i64>,
    at: Option<&str>,
    cron: Option<&str>,
) -> Result<Schedule, FieldError> {
    let kind = match kind {
        Some(k) => k.trim().to_lowercase(),
        None if cron.is_some() => "cron".into(),
        None if at.is_some() => "daily".into(),
        None if period.is_some() => "interval".into(),
        None => {
            return Err(FieldError::new(
                "kind",
                "is required: interval, daily or cron",
            ));
        }
    };
    match kind.as_str() {
        "interval" => {
            let period = period.ok_or_else(|| {
                FieldError::new("period", "is required for an interval service (seconds)")
            })?;
            Ok(Schedule::Interval {
                period: Duration::seconds(parse_duration_secs("period", period)?),
            })
        }
        "daily" => {
            let at =
                at.ok_or_else(|| FieldError::new("at", "is required for a daily service (HH:MM)"))?;
            let at = LocalTime::parse(at).map_err(|e| FieldError::new("at", e.to_string()))?;
            Ok(Schedule::Daily { at })
        }
        "cron" => {
            let cron =
                cron.ok_or_else(|| FieldError::new("cron", "is required for a cron service"))?;
            let expr = CronExpr::parse(cron).map_err(|e| FieldError::new("cron", e.to_string()))?;
            Ok(Schedule::Cron { expr })
        }
        other => Err(FieldError::new(
            "kind",
            format!("'{other}' is not one of interval, daily, cron"),
        )),
    }
}

fn timezone(s: &str) -> Result<Tz, FieldError> {
    parse_timezone(s).map_err(|e| FieldError::new("timezone", e.to_string()))
}

const DEFAULT_GRACE_SECS: i64 = 300;

fn validate_new(input: ServiceInput, default_tz: Tz) -> Result<NewService, FieldError> {
    let name = parse_name(input.name.as_deref().unwrap_or_default())?;
    let schedule = build_schedule(
        input.kind.as_deref(),
        input.period,
        input.at.as_deref(),
        input.cron.as_deref(),
    )?;
    let timezone = match input.timezone.as_deref() {
        Some(tz) => timezone(tz)?,
        None => default_tz,
    };
    let grace_secs = parse_duration_secs("grace", input.grace.unwrap_or(DEFAULT_GRACE_SECS))?;
    let tags = Tags::parse(&input.tags.map(|t| t.items()).unwrap_or_default())?;
    let notify = parse_notify(&input.notify.map(|t| t.items()).unwrap_or_default())?;
    Ok(NewService {
        name,
        schedule,
        timezone,
        grace_secs,
        tags,
        notify,
    })
}

fn validate_patch(input: ServiceInput, current: &Model) -> Result<ServicePatch, FieldError> {
    let schedule_touched = input.kind.is_some()
        || input.period.is_some()
        || input.at.is_some()
        || input.cron.is_some();
    let schedule = if schedule_touched {
        let kind = input.kind.clone().unwrap_or_else(|| current.kind.clone());
        Some(build_schedule(
            Some(&kind),
            input.period.or(current.period_secs),
            input.at.as_deref().or(current.at_time.as_deref()),
            input.cron.as_deref().or(current.cron_expr.as_deref()),
        )?)
    } else {
        None
    };
    Ok(ServicePatch {
        name: input.name.as_deref().map(parse_name).transpose()?,
        schedule,
        timezone: input.timezone.as_deref().map(timezone).transpose()?,
        grace_secs: input
            .grace
            .map(|g| parse_duration_secs("grace", g))
            .transpose()?,
        tags: input.tags.map(|t| Tags::parse(&t.items())).transpose()?,
        notify: input.notify.map(|n| parse_notify(&n.items())).transpose()?,
    })
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    pub tag: Option<String>,
    pub q: Option<String>,
    pub status: Option<String>,
}

#[tracing::instrument(skip_all)]
async fn list(
    _: Caller,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ServiceError> {
    let query = query.into_inner();
    let status = query
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<Status>()
                .map_err(|e| FieldError::new("status", e))
        })
        .transpose()?;
    let tags = Tags::parse(&[query.tag.unwrap_or_default()])?.into_vec();
    let filter = ListFilter {
        tags,
        q: query.q,
        status,
    };
    let rows = services::list(&state.db, &filter).await?;
    let body: Vec<ServiceJson> = rows
        .into_iter()
        .map(|m| ServiceJson::new(m, &state))
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

#[tracing::instrument(skip_all)]
async fn create(
    _: Caller,
    state: web::Data<AppState>,
    body: web::Json<ServiceInput>,
) -> Result<HttpResponse, ServiceError> {
    let new = validate_new(body.into_inner(), state.settings.timezone)?;
    let row = services::create(&state.db, new, state.clock.now()).await?;
    Ok(HttpResponse::Created().json(ServiceJson::new(row, &state)))
}

async fn get(
    _: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    let row = services::get(&state.db, &id).await?;
    Ok(HttpResponse::Ok().json(ServiceJson::new(row, &state)))
}

#[tracing::instrument(skip_all)]
async fn update(
    _: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<ServiceInput>,
) -> Result<HttpResponse, ServiceError> {
    let current = services::get(&state.db, &id).await?;
    let patch = validate_patch(body.into_inner(), &current)?;
    let row = services::update(&state.db, &id, patch, state.clock.now()).await?;
    state.wake.poke();
    Ok(HttpResponse::Ok().json(ServiceJson::new(row, &state)))
}

async fn delete(
    _: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    services::delete(&state.db, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn pause(
    _: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    let row = services::set_paused(&state.db, &id, true, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(ServiceJson::new(row, &state)))
}

async fn resume(
    _: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    let row = services::set_paused(&state.db, &id, false, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(ServiceJson::new(row, &state)))
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    pub before: Option<i64>,
    pub limit: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct PingJson {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub data: String,
    pub source: Option<String>,
    pub user_agent: Option<String>,
}

async fn list_pings(
    _: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, ServiceError> {
    services::get(&state.db, &id).await?;
    let limit = page.limit.unwrap_or(50).clamp(1, 1000);
    let rows = pings::list(&state.db, &id, page.before, limit).await?;
    let body: Vec<PingJson> = rows
        .into_iter()
        .map(|p| PingJson {
            id: p.id,
            at: from_ms(p.at),
            kind: p.kind,
            data: p.data,
            source: p.source,
            user_agent: p.user_agent,
        })
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Debug, Serialize)]
pub struct FlipJson {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub from: String,
    pub to: String,
    pub reason: String,
    pub data: Option<String>,
}

async fn list_flips(
    _: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, ServiceError> {
    services::get(&state.db, &id).await?;
    let rows = alerts::list_flips(&state.db, &id, page.limit.unwrap_or(50).clamp(1, 1000)).await?;
    let body: Vec<FlipJson> = rows
        .into_iter()
        .map(|f| FlipJson {
            id: f.id,
            at: from_ms(f.at),
            from: f.from_status,
            to: f.to_status,
            reason: f.reason,
            data: f.data,
        })
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Debug, Serialize)]
pub struct AlertJson {
    pub id: i64,
    pub flip_id: i64,
    pub service_id: String,
    pub recipient: String,
    pub state: String,
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
