//! The healthchecks.io management API subset, at `/api/v1/checks/`, `/api/v2/checks/` and
//! `/api/v3/checks/`, so that healthchecks clients (libraries, Terraform providers, scripts)
//! manage Heartbeats services. Authentication is healthchecks': an `X-Api-Key` header (or
//! `api_key` in a JSON body) holding one of our API keys. A check is a service: its `uuid`
//! is the service's ping UUID, its `unique_key` (what a read key sees instead) the
//! service's id. Every change goes through `app::services`; thin, like the other routes.
//!
//! Versions differ as healthchecks' do: v1 shows a running check's status as `started`
//! and its flips as a bare array; v2 and v3 keep the status and say `started: true`, and
//! wrap flips in `{"flips": […]}`; v1 and v2 re-derive the slug from a new name.
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
use crate::store::service_list::{self, At, Order, Term};
use crate::store::{StoreError, channels, pings, services};

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
/// Pings a check's log shows (a self-hosted healthchecks' default log limit).
const PING_LOG_LIMIT: u64 = 100;
/// Flips one answer holds at most.
const FLIPS_LIMIT: u64 = 1000;
/// Services read per page when listing every check.
const LIST_PAGE: u64 = 1000;

/// A refusal in healthchecks' shape: `{"error": "…"}` (with our `field` and `code`).
#[derive(Debug)]
pub struct HcError {
    status: StatusCode,
    error: String,
    field: Option<String>,
    code: &'static str,
}

impl HcError {
    fn new(status: StatusCode, code: &'static str, error: impl Into<String>) -> Self {
        Self {
            status,
            error: error.into(),
            field: None,
            code,
        }
    }

    fn bad(error: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", error)
    }

    /// healthchecks' wording for a refused field.
    fn field(field: &str, what: &str) -> Self {
        Self {
            field: Some(field.to_owned()),
            ..Self::bad(format!("json validation error: {field} {what}"))
        }
    }

    fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "not found")
    }

    fn wrong_key() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "bad_credentials", "wrong api key")
    }
}

impl std::fmt::Display for HcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.error)
    }
}

impl ResponseError for HcError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        error_body(
            self.status,
            ErrorBody {
                error: self.error.clone(),
                field: self.field.clone(),
                code: Some(self.code.into()),
            },
        )
    }
}

/// Our field names as healthchecks calls them.
fn hc_field(field: &str) -> &str {
    match field {
        "period" | "kind" => "timeout",
        "cron" | "at" => "schedule",
        "timezone" => "tz",
        "description" => "desc",
        other => other,
    }
}

impl From<AppError> for HcError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Invalid(fields) => match fields.first() {
                Some(f) => Self {
                    field: Some(hc_field(f.field).to_owned()),
                    code: f.code(),
                    ..Self::bad(format!(
                        "json validation error: {} {}",
                        hc_field(f.field),
                        f.message()
                    ))
                },
                None => Self::bad("json validation error"),
            },
            AppError::InvalidAt { path, problem } => Self {
                field: Some(path.clone()),
                code: problem.code(),
                ..Self::bad(format!("json validation error: {path} {problem}"))
            },
            AppError::NotFound(_) => Self::not_found(),
            e @ AppError::Forbidden(_) => {
                Self::new(StatusCode::FORBIDDEN, "forbidden", e.to_string())
            }
            AppError::Store(e) => {
                tracing::error!(error = %e, "storage failure");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "storage is unavailable; try again",
                )
            }
            AppError::Other(e) => {
                tracing::error!(error = %format!("{e:#}"), "request failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error",
                )
            }
        }
    }
}

impl From<StoreError> for HcError {
    fn from(e: StoreError) -> Self {
        AppError::from(e).into()
    }
}

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

fn iso(ms: i64) -> String {
    from_ms(ms).to_rfc3339_opts(SecondsFormat::Secs, false)
}

fn url(state: &AppState, path: &str) -> String {
    let mut u = state.settings.base_url.clone();
    u.set_path(&format!(
        "{}{path}",
        state.settings.base_url.path().trim_end_matches('/')
    ));
    u.to_string()
}

/// How a check is shown: the version and whether the key may only read.
#[derive(Debug, Clone, Copy)]
struct View {
    v: u8,
    readonly: bool,
}

impl View {
    fn of(req: &HttpRequest, actor: &Actor) -> Self {
        Self {
            v: version(req),
            readonly: actor.scope == KeyScope::Read,
        }
    }
}

/// healthchecks' status names: our late is its grace; v1 shows an open run as `started`.
fn status_of(m: &Model, v: u8) -> &'static str {
    let started = m.open_runs > 0;
    match m.status {
        Status::Paused => "paused",
        _ if started && v == 1 => "started",
        Status::New => "new",
        Status::Up => "up",
        Status::Late => "grace",
        Status::Down => "down",
    }
}

/// A service as a healthchecks check (its `to_dict`).
fn check_json(state: &AppState, m: &Model, n_pings: i64, view: View) -> Value {
    let mut o = Map::new();
    o.insert("name".into(), json!(m.name));
    o.insert("slug".into(), json!(m.slug));
    o.insert(
        "tags".into(),
        json!(Tags::from_column(&m.tags).into_vec().join(" ")),
    );
    o.insert("desc".into(), json!(m.description));
    o.insert("grace".into(), json!(m.grace_secs));
    o.insert("n_pings".into(), json!(n_pings));
    o.insert("status".into(), json!(status_of(m, view.v)));
    o.insert("started".into(), json!(m.open_runs > 0));
    o.insert("last_ping".into(), json!(m.last_ping_at.map(iso)));
    o.insert("next_ping".into(), json!(m.next_due_at.map(iso)));
    o.insert("manual_resume".into(), json!(false));
    o.insert("methods".into(), json!(""));
    for k in [
        "subject",
        "subject_fail",
        "start_kw",
        "success_kw",
        "failure_kw",
    ] {
        o.insert(k.into(), json!(""));
    }
    o.insert("filter_subject".into(), json!(false));
    o.insert("filter_body".into(), json!(false));
    if let Some(ms) = m.last_run_ms {
        o.insert("last_duration".into(), json!(ms / 1000));
    }
    if view.readonly {
        o.insert("unique_key".into(), json!(m.id));
    } else {
        let update = url(state, &format!("/api/v{}/checks/{}", view.v, m.ping_uuid));
        o.insert("uuid".into(), json!(m.ping_uuid));
        o.insert(
            "ping_url".into(),
            json!(url(state, &format!("/ping/{}", m.ping_uuid))),
        );
        o.insert("pause_url".into(), json!(format!("{update}/pause")));
        o.insert("resume_url".into(), json!(format!("{update}/resume")));
        o.insert("update_url".into(), json!(update));
        o.insert(
            "channels".into(),
            json!(crate::domain::channel::channels_from_column(&m.channels).join(",")),
        );
    }
    match m.kind {
        ScheduleKind::Interval => {
            o.insert("timeout".into(), json!(m.period_secs.unwrap_or_default()));
        }
        ScheduleKind::Daily => {
            // A daily service is the cron schedule `MM HH * * *` in its zone.
            let at = m.at_time.as_deref().unwrap_or("00:00");
            let (h, min) = at.split_once(':').unwrap_or(("0", "0"));
            let h = h.trim_start_matches('0');
            let min = min.trim_start_matches('0');
            let h = if h.is_empty() { "0" } else { h };
            let min = if min.is_empty() { "0" } else { min };
            o.insert("schedule".into(), json!(format!("{min} {h} * * *")));
            o.insert("tz".into(), json!(m.timezone));
        }
        ScheduleKind::Cron => {
            o.insert(
                "schedule".into(),
                json!(m.cron_expr.clone().unwrap_or_default()),
            );
            o.insert("tz".into(), json!(m.timezone));
        }
    }
    Value::Object(o)
}

async fn one_check(state: &AppState, m: &Model, view: View) -> Result<Value, HcError> {
    let n = hc_checks::ping_counts(&state.db, std::slice::from_ref(&m.id))
        .await?
        .get(&m.id)
        .copied()
        .unwrap_or(0);
    Ok(check_json(state, m, n, view))
}

/// `GET /checks/?tag=a&tag=b&slug=s`: every check (tags must all match), read from the
/// services list a page at a time through its indexes, ping counts one query a page.
#[tracing::instrument(skip_all)]
async fn list(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, HcError> {
    let actor = authorize(&req, &state, &Map::new()).await?;
    readable(&actor)?;
    let view = View::of(&req, &actor);
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string())
        .map_err(|_| HcError::bad("invalid query string"))?;
    let tags: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "tag")
        .map(|(_, v)| v.as_str())
        .collect();
    let slug = pairs
        .iter()
        .rev()
        .find(|(k, _)| k == "slug")
        .map(|(_, v)| v.trim())
        .filter(|s| !s.is_empty());
    // A tag that cannot be a tag matches nothing, as in healthchecks.
    let Ok(tags) = Tags::parse(&tags) else {
        return Ok(HttpResponse::Ok().json(json!({"checks": []})));
    };
    let mut out = Vec::new();
    if let Some(slug) = slug {
        if let Some(m) = services::by_slug(&state.db, slug).await?
            && tags
                .as_slice()
                .iter()
                .all(|t| Tags::from_column(&m.tags).as_slice().contains(t))
        {
            out.push(one_check(&state, &m, view).await?);
        }
        return Ok(HttpResponse::Ok().json(json!({"checks": out})));
    }
    let query = service_list::ListQuery {
        terms: tags.into_vec().into_iter().map(Term::Tag).collect(),
        status: None,
        order: Order::Name,
    };
    let plan = service_list::plan(&state.db, &state.list_search, query).await?;
    let mut at = At::First;
    loop {
        let page = service_list::page(&state.db, &plan, &at, LIST_PAGE).await?;
        let ids: Vec<String> = page.rows.iter().map(|m| m.id.clone()).collect();
        let counts = hc_checks::ping_counts(&state.db, &ids).await?;
        for m in &page.rows {
            let n = counts.get(&m.id).copied().unwrap_or(0);
            out.push(check_json(&state, m, n, view));
        }
        match page.next {
            Some(next) => at = At::After(next),
            None => break,
        }
    }
    Ok(HttpResponse::Ok().json(json!({"checks": out})))
}

#[tracing::instrument(skip_all)]
async fn get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, HcError> {
    let actor = authorize(&req, &state, &Map::new()).await?;
    readable(&actor)?;
    let m = by_uuid_or_key(&state, &code(&req)).await?;
    Ok(HttpResponse::Ok().json(one_check(&state, &m, View::of(&req, &actor)).await?))
}

/// Fields `unique` may list.
const UNIQUE_FIELDS: [&str; 5] = ["name", "slug", "tags", "timeout", "grace"];

/// A create or update body, checked for healthchecks' types and bounds.
#[derive(Debug, Default)]
struct Spec {
    name: Option<String>,
    slug: Option<String>,
    tags: Option<String>,
    desc: Option<String>,
    timeout: Option<i64>,
    grace: Option<i64>,
    schedule: Option<String>,
    tz: Option<String>,
    channels: Option<String>,
    unique: Vec<String>,
}

fn text(m: &Map<String, Value>, key: &str) -> Result<Option<String>, HcError> {
    match m.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(HcError::field(key, "is not a string")),
    }
}

fn seconds(m: &Map<String, Value>, key: &str) -> Result<Option<i64>, HcError> {
    match m.get(key) {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(s) if s < MIN_SECS => Err(HcError::field(key, "is too small")),
            Some(s) if s > MAX_SECS => Err(HcError::field(key, "is too large")),
            Some(s) => Ok(Some(s)),
            None => Err(HcError::field(key, "is not a number")),
        },
        Some(_) => Err(HcError::field(key, "is not a number")),
    }
}

impl Spec {
    fn parse(m: &Map<String, Value>) -> Result<Self, HcError> {
        let spec = Spec {
            name: text(m, "name")?,
            slug: text(m, "slug")?,
            tags: text(m, "tags")?,
            desc: text(m, "desc")?,
            timeout: seconds(m, "timeout")?,
            grace: seconds(m, "grace")?,
            schedule: text(m, "schedule")?,
            tz: text(m, "tz")?,
            channels: text(m, "channels")?,
            unique: match m.get("unique") {
                None => Vec::new(),
                Some(Value::Array(items)) => {
                    let mut out = Vec::new();
                    for item in items {
                        match item.as_str() {
                            Some(f) if UNIQUE_FIELDS.contains(&f) => out.push(f.to_owned()),
                            _ => {
                                return Err(HcError::field(
                                    "an item in 'unique'",
                                    "has unexpected value",
                                ));
                            }
                        }
                    }
                    out
                }
                Some(_) => return Err(HcError::field("unique", "is not an array")),
            },
        };
        match m.get("manual_resume") {
            None | Some(Value::Bool(false)) => {}
            Some(Value::Bool(true)) => {
                return Err(HcError::field(
                    "manual_resume",
                    "is not supported: a paused Heartbeats service resumes when pinged",
                ));
            }
            Some(_) => return Err(HcError::field("manual_resume", "is not a boolean")),
        }
        match m.get("methods") {
            None => {}
            Some(Value::String(s)) if s.is_empty() => {}
            Some(Value::String(s)) if s == "POST" => {
                return Err(HcError::field(
                    "methods",
                    "\"POST\" is not supported: Heartbeats takes pings by HEAD, GET and POST",
                ));
            }
            Some(Value::String(_)) => {
                return Err(HcError::field("methods", "has unexpected value"));
            }
            Some(_) => return Err(HcError::field("methods", "is not a string")),
        }
        Ok(spec)
    }

    fn tag_list(&self) -> Option<Vec<String>> {
        self.tags
            .as_ref()
            .map(|t| t.split_whitespace().map(str::to_owned).collect())
    }

    /// The draft of this change; `channels` already resolved to ids.
    fn draft(&self, channels: Option<Vec<String>>) -> ServiceDraft {
        let mut d = ServiceDraft {
            name: self.name.clone(),
            slug: self.slug.clone().filter(|s| !s.trim().is_empty()),
            tags: self.tag_list(),
            description: self.desc.clone(),
            grace: self.grace.map(Amount::Secs),
            timezone: self.tz.clone(),
            channels,
            ..ServiceDraft::default()
        };
        // A schedule makes a cron check and wins over a timeout, as in healthchecks.
        if let Some(cron) = &self.schedule {
            d.kind = Some(ScheduleKind::Cron.to_string());
            d.cron = Some(cron.clone());
        } else if let Some(t) = self.timeout {
            d.kind = Some(ScheduleKind::Interval.to_string());
            d.period = Some(Amount::Secs(t));
        }
        d
    }

    /// What `unique` asks to match on; `None` when a listed field was not given (then
    /// nothing matches and the check is created).
    fn matcher(&self) -> Option<Match> {
        if self.unique.is_empty() {
            return None;
        }
        let mut m = Match::default();
        for f in &self.unique {
            match f.as_str() {
                "name" => m.name = Some(self.name.clone()?),
                "slug" => m.slug = Some(self.slug.clone()?),
                "tags" => m.tags = Some(Tags::parse(&self.tag_list()?).ok()?),
                "timeout" => m.period_secs = Some(self.timeout?),
                "grace" => m.grace_secs = Some(self.grace?),
                _ => {}
            }
        }
        Some(m)
    }
}

/// `channels`: `"*"` all, `""` none, else channel ids or names separated by commas.
async fn resolve_channels(state: &AppState, spec: &Spec) -> Result<Option<Vec<String>>, HcError> {
    let Some(given) = spec.channels.as_deref() else {
        return Ok(None);
    };
    if given.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let all = channels::list(&state.db).await?;
    if given == "*" {
        return Ok(Some(all.into_iter().map(|c| c.id).collect()));
    }
    let mut ids: Vec<String> = Vec::new();
    for s in given.split(',') {
        if s.is_empty() {
            return Err(HcError {
                field: Some("channels".into()),
                ..HcError::bad("empty channel identifier")
            });
        }
        let found: Vec<&str> = all
            .iter()
            .filter(|c| c.id == s || c.name == s)
            .map(|c| c.id.as_str())
            .collect();
        match found.as_slice() {
            [] => {
                return Err(HcError {
                    field: Some("channels".into()),
                    ..HcError::bad(format!("invalid channel identifier: {s}"))
                });
            }
            [id] => {
                if !ids.iter().any(|have| have == id) {
                    ids.push((*id).to_owned());
                }
            }
            _ => {
                return Err(HcError {
                    field: Some("channels".into()),
                    ..HcError::bad(format!("non-unique channel identifier: {s}"))
                });
            }
        }
    }
    Ok(Some(ids))
}

/// v1 and v2 derive the slug from a new name (when that slug is free).
async fn slug_from_name(
    state: &AppState,
    v: u8,
    spec: &Spec,
    draft: &mut ServiceDraft,
    id: &str,
) -> Result<(), HcError> {
    if v >= 3 || draft.slug.is_some() {
        return Ok(());
    }
    let Some(name) = spec.name.as_deref().filter(|n| !n.trim().is_empty()) else {
        return Ok(());
    };
    let slug = slugify(name);
    if slug.is_empty() {
        return Ok(());
    }
    match services::by_slug(&state.db, &slug).await? {
        Some(other) if other.id != id => {}
        _ => draft.slug = Some(slug),
    }
    Ok(())
}

/// `POST /checks/`: create; with `unique`, update the first match instead (200).
#[tracing::instrument(skip_all)]
async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, HcError> {
    let body = body_object(&body)?;
    let actor = authorize(&req, &state, &body).await?;
    read_write(&actor)?;
    let spec = Spec::parse(&body)?;
    let view = View::of(&req, &actor);
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
    let body = body_object(&body)?;
    let actor = authorize(&req, &state, &body).await?;
    read_write(&actor)?;
    let current = by_uuid(&state, &code(&req)).await?;
    let spec = Spec::parse(&body)?;
    let view = View::of(&req, &actor);
    let channels = resolve_channels(&state, &spec).await?;
    let mut draft = spec.draft(channels);
    slug_from_name(&state, view.v, &spec, &mut draft, &current.id).await?;
    let row = app::services::update(&state.app, &actor, &current.id, &draft).await?;
    Ok(HttpResponse::Ok().json(one_check(&state, &row, view).await?))
}

/// `DELETE /checks/<uuid>`: answers the check as it was.
#[tracing::instrument(skip_all)]
async fn delete(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, HcError> {
    let actor = authorize(&req, &state, &Map::new()).await?;
    read_write(&actor)?;
    let current = by_uuid(&state, &code(&req)).await?;
    let view = View::of(&req, &actor);
    let shown = one_check(&state, &current, view).await?;
    app::services::delete(&state.app, &actor, &current.id).await?;
    Ok(HttpResponse::Ok().json(shown))
}

#[tracing::instrument(skip_all)]
async fn pause(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, HcError> {
    let body = body_object(&body)?;
    let actor = authorize(&req, &state, &body).await?;
    read_write(&actor)?;
    let current = by_uuid(&state, &code(&req)).await?;
    let row = app::services::pause(&state.app, &actor, &current.id).await?;
    Ok(HttpResponse::Ok().json(one_check(&state, &row, View::of(&req, &actor)).await?))
}

/// `POST /checks/<uuid>/resume`: 409 when the check is not paused, as in healthchecks.
#[tracing::instrument(skip_all)]
async fn resume(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, HcError> {
    let body = body_object(&body)?;
    let actor = authorize(&req, &state, &body).await?;
    read_write(&actor)?;
    let current = by_uuid(&state, &code(&req)).await?;
    actor.require(Action::EditServices).map_err(HcError::from)?;
    if current.status != Status::Paused {
        return Err(HcError::new(
            StatusCode::CONFLICT,
            "not_paused",
            "check is not paused",
        ));
    }
    let row = app::services::resume(&state.app, &actor, &current.id).await?;
    Ok(HttpResponse::Ok().json(one_check(&state, &row, View::of(&req, &actor)).await?))
}

fn ping_type(kind: PingKind) -> &'static str {
    match kind {
        PingKind::Success => "success",
        PingKind::Error => "fail",
        PingKind::Start => "start",
        PingKind::Log => "log",
    }
}

/// A run longer than this has no duration shown (healthchecks' `MAX_DURATION`).
const MAX_DURATION: TimeDelta = TimeDelta::hours(72);

/// `GET /checks/<uuid>/pings/`: the newest pings, newest first, numbered as healthchecks
/// numbers them (`n` counts the pings on record, the newest being `n_pings`), with the
/// run's duration on a success or failure that ends a started run.
#[tracing::instrument(skip_all)]
async fn list_pings(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, HcError> {
    let actor = authorize(&req, &state, &Map::new()).await?;
    read_write(&actor)?;
    readable(&actor)?;
    let m = by_uuid(&state, &code(&req)).await?;
    let total = hc_checks::ping_counts(&state.db, std::slice::from_ref(&m.id))
        .await?
        .get(&m.id)
        .copied()
        .unwrap_or(0);
    let rows = pings::list(&state.db, &m.id, None, PING_LOG_LIMIT).await?;
    // Oldest first: remember each run's start, close it on its success or failure.
    let mut starts: HashMap<Option<&str>, Option<DateTime<Utc>>> = HashMap::new();
    let mut durations: Vec<Option<f64>> = vec![None; rows.len()];
    for (i, p) in rows.iter().enumerate().rev() {
        let at = from_ms(p.at);
        match p.kind {
            PingKind::Start => {
                starts.insert(p.rid.as_deref(), Some(at));
            }
            PingKind::Success | PingKind::Error => {
                if let Some(Some(start)) = starts.get(&p.rid.as_deref())
                    && at - *start < MAX_DURATION
                {
                    durations[i] = Some((at - *start).num_milliseconds() as f64 / 1000.0);
                }
                starts.insert(p.rid.as_deref(), None);
            }
            PingKind::Log => {}
        }
    }
    let scheme = state.settings.base_url.scheme().to_owned();
    let out: Vec<Value> = rows
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut o = Map::new();
            o.insert("type".into(), json!(ping_type(p.kind)));
            o.insert(
                "date".into(),
                json!(from_ms(p.at).to_rfc3339_opts(SecondsFormat::Micros, false)),
            );
            o.insert("n".into(), json!(total - i as i64));
            o.insert("scheme".into(), json!(scheme));
            o.insert(
                "remote_addr".into(),
                json!(p.source.clone().unwrap_or_default()),
            );
            o.insert("method".into(), json!(""));
            o.insert("ua".into(), json!(p.user_agent.clone().unwrap_or_default()));
            o.insert("rid".into(), json!(p.rid));
            o.insert("exitstatus".into(), json!(p.exit_status));
            o.insert("body_url".into(), Value::Null);
            if let Some(d) = durations[i] {
                o.insert("duration".into(), json!(d));
            }
            Value::Object(o)
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"pings": out})))
}

/// `seconds`, `start` or `end` of the flips query: a whole number, at least 0.
fn query_int(pairs: &[(String, String)], key: &str) -> Result<Option<i64>, HcError> {
    match pairs.iter().rev().find(|(k, _)| k == key) {
        None => Ok(None),
        Some((_, v)) => v
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(Some)
            .ok_or_else(|| HcError {
                field: Some(key.to_owned()),
                ..HcError::bad(format!(
                    "{key} must be a whole number of seconds, at least 0"
                ))
            }),
    }
}

/// `GET /checks/<uuid or unique_key>/flips/?seconds=&start=&end=`: newest first, `up` 1 for
/// a change to up and 0 for any other. v1 answers a bare array, as its documentation shows.
#[tracing::instrument(skip_all)]
async fn list_flips(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, HcError> {
    let actor = authorize(&req, &state, &Map::new()).await?;
    readable(&actor)?;
    let m = by_uuid_or_key(&state, &code(&req)).await?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string())
        .map_err(|_| HcError::bad("invalid query string"))?;
    let seconds = query_int(&pairs, "seconds")?;
    if seconds.is_some_and(|s| s > MAX_SECS) {
        return Err(HcError {
            field: Some("seconds".into()),
            ..HcError::bad(format!("seconds must be at most {MAX_SECS}"))
        });
    }
    let start = query_int(&pairs, "start")?.map(|s| s.saturating_mul(1000));
    let end = query_int(&pairs, "end")?.map(|s| s.saturating_mul(1000));
    let window = seconds.map(|s| to_ms(state.app.now()) - s * 1000);
    let since = match (start, window) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let rows = hc_checks::flips(&state.db, &m.id, since, end, FLIPS_LIMIT).await?;
    let flips: Vec<Value> = rows
        .iter()
        .map(|f| json!({"timestamp": iso(f.at), "up": i32::from(f.to_status == Status::Up)}))
        .collect();
    if version(&req) == 1 {
        Ok(HttpResponse::Ok().json(flips))
    } else {
        Ok(HttpResponse::Ok().json(json!({"flips": flips})))
    }
}
