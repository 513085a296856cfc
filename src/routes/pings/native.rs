//! `GET|POST /api/pings?service=<id>&data=<text>`: what cron jobs call, and
//! `/api/pings/start`, `/api/pings/fail`, `/api/pings/log`, `/api/pings/<0-255>` for runs
//! (also `kind=` and `exit=` on `/api/pings`), each with an optional `rid=<uuid>`.
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use futures::StreamExt;
use heartbeats_wire::{ErrorBody, PingAccepted};
use serde::Deserialize;

use crate::domain::ServiceId;
use crate::domain::role::Action;
use crate::domain::status::PingKind;
use crate::routes::{Caller, error_body};
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::pings::{PingRecord, PingTarget};

#[derive(Debug, Default, Deserialize)]
struct PingParams {
    service: Option<String>,
    data: Option<String>,
    rid: Option<String>,
    kind: Option<String>,
    exit: Option<TextOrNumber>,
}

/// A value a form gives as text and JSON may give as a number.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum TextOrNumber {
    Text(String),
    Number(i64),
}

impl TextOrNumber {
    fn text(&self) -> String {
        match self {
            TextOrNumber::Text(s) => s.clone(),
            TextOrNumber::Number(n) => n.to_string(),
        }
    }
}

/// An exit status: 0 (success) to 255.
fn parse_exit(s: &str) -> Result<i32, PingError> {
    s.trim()
        .parse::<i32>()
        .ok()
        .filter(|n| (0..=255).contains(n))
        .ok_or_else(|| PingError::BadExit(s.to_owned()))
}

/// What an exit status says.
fn kind_of_exit(code: i32) -> PingKind {
    if code == 0 {
        PingKind::Success
    } else {
        PingKind::Error
    }
}

/// `kind=`: `start`, `success`, `fail` (or `error`), `log`.
fn parse_kind(s: &str) -> Result<PingKind, PingError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "start" => Ok(PingKind::Start),
        "success" => Ok(PingKind::Success),
        "fail" | "error" => Ok(PingKind::Error),
        "log" => Ok(PingKind::Log),
        _ => Err(PingError::BadKind(s.to_owned())),
    }
}

/// What the URL after `/api/pings/` says: a kind and perhaps an exit status.
fn parse_suffix(s: &str) -> Result<(PingKind, Option<i32>), PingError> {
    match s {
        "start" => Ok((PingKind::Start, None)),
        "fail" => Ok((PingKind::Error, None)),
        "log" => Ok((PingKind::Log, None)),
        s if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            let code = parse_exit(s)?;
            Ok((kind_of_exit(code), Some(code)))
        }
        other => Err(PingError::UnknownUrl(other.to_owned())),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PingError {
    #[error("service: missing; add ?service=<id> to the URL")]
    MissingService,
    #[error("unknown service '{0}'")]
    UnknownService(String),
    #[error("data: {size} bytes is more than the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    /// A body of unknown length (chunked) that grew past what any `data` within the limit
    /// can take, in any encoding. It names the data limit, which is what the client set.
    #[error("data: the request body is too large; data may be at most {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("invalid request: {0}")]
    BadRequest(String),
    #[error("rid: '{0}' is not a UUID (a run id is one, e.g. from uuidgen)")]
    BadRid(String),
    #[error("kind: '{0}' is not one of start, success, fail, log")]
    BadKind(String),
    #[error("kind: the URL, kind= and exit= say different things ({0})")]
    KindConflict(String),
    #[error("exit: '{0}' is not an exit status (0 to 255)")]
    BadExit(String),
    #[error("no ping URL /api/pings/{0}; use start, fail, log or an exit status 0-255")]
    UnknownUrl(String),
    #[error(
        "a {0} body is not understood; send data as a form (curl --data-urlencode data=…), JSON or text/plain"
    )]
    UnsupportedBody(String),
    #[error(
        "this key or user may not send pings (a ping-only or full key of a member or admin may)"
    )]
    Forbidden,
    #[error(transparent)]
    Store(StoreError),
}

impl ResponseError for PingError {
    fn status_code(&self) -> StatusCode {
        match self {
            PingError::MissingService
            | PingError::BadRequest(_)
            | PingError::BadRid(_)
            | PingError::BadKind(_)
            | PingError::KindConflict(_)
            | PingError::BadExit(_) => StatusCode::BAD_REQUEST,
            PingError::UnknownService(_) | PingError::UnknownUrl(_) => StatusCode::NOT_FOUND,
            PingError::TooLarge { .. } | PingError::BodyTooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            PingError::UnsupportedBody(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            PingError::Forbidden => StatusCode::FORBIDDEN,
            PingError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let field = match self {
            PingError::MissingService | PingError::UnknownService(_) => Some("service"),
            PingError::TooLarge { .. } | PingError::BodyTooLarge { .. } => Some("data"),
            PingError::BadRid(_) => Some("rid"),
            PingError::BadKind(_) | PingError::KindConflict(_) => Some("kind"),
            PingError::BadExit(_) => Some("exit"),
            _ => None,
        };
        let error = match self {
            PingError::Store(e) => {
                tracing::error!(error = %e, "storing a ping failed");
                "storage is unavailable; try again".to_owned()
            }
            _ => self.to_string(),
        };
        error_body(
            self.status_code(),
            ErrorBody {
                error,
                field: field.map(str::to_owned),
                code: Some(self.code().to_owned()),
            },
        )
    }
}

impl PingError {
    /// The stable name clients can act on.
    fn code(&self) -> &'static str {
        match self {
            PingError::MissingService => "required",
            PingError::UnknownService(_) | PingError::UnknownUrl(_) => "not_found",
            PingError::BadRid(_) => "bad_rid",
            PingError::BadKind(_) | PingError::KindConflict(_) => "bad_kind",
            PingError::BadExit(_) => "bad_exit",
            PingError::TooLarge { .. } | PingError::BodyTooLarge { .. } => "too_large",
            PingError::BadRequest(_) => "bad_request",
            PingError::UnsupportedBody(_) => "unsupported_body",
            PingError::Forbidden => "forbidden",
            PingError::Store(_) => "unavailable",
        }
    }
}

/// Read the body, refusing to buffer more than `body_limit` bytes; a refusal names the data
/// limit `limit`, the only one a client knows.
pub(super) async fn read_body(
    mut payload: web::Payload,
    body_limit: usize,
    limit: usize,
) -> Result<web::BytesMut, PingError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| PingError::BadRequest(e.to_string()))?;
        if body.len() + chunk.len() > body_limit {
            return Err(PingError::BodyTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// How a non-empty body carries the ping's fields.
enum Body {
    Form,
    Json,
    /// The whole body is `data`.
    Text,
}

fn body_kind(req: &HttpRequest) -> Result<Body, PingError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    match content_type.as_deref() {
        None | Some("") => Ok(Body::Text),
        Some("application/x-www-form-urlencoded") => Ok(Body::Form),
        Some("application/json") => Ok(Body::Json),
        Some(t) if t.starts_with("text/") || t == "application/octet-stream" => Ok(Body::Text),
        // A multipart body taken as text would report its boundary lines as an error.
        Some(other) => Err(PingError::UnsupportedBody(other.to_owned())),
    }
}

#[tracing::instrument(level = "debug", skip_all, fields(user = %caller.0.name))]
pub async fn ping(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PingError> {
    accept(req, caller, state, payload, None).await
}

/// `/api/pings/start`, `/fail`, `/log`, `/<0-255>`.
#[tracing::instrument(level = "debug", skip_all, fields(user = %caller.0.name))]
pub async fn ping_suffix(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    payload: web::Payload,
    suffix: web::Path<String>,
) -> Result<HttpResponse, PingError> {
    let said = parse_suffix(&suffix)?;
    accept(req, caller, state, payload, Some(said)).await
}

async fn accept(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    payload: web::Payload,
    suffix: Option<(PingKind, Option<i32>)>,
) -> Result<HttpResponse, PingError> {
    if !caller.0.may(Action::Ping) {
        return Err(PingError::Forbidden);
    }
    let limit = state.settings.max_ping_data;
    // Percent-encoding can triple a form body; the decoded data is checked against `limit`.
    let body_limit = limit.saturating_mul(3).saturating_add(4096);
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(size) = declared.filter(|s| *s > body_limit) {
        return Err(PingError::TooLarge { size, limit });
    }
    let query: PingParams = serde_urlencoded::from_str(req.query_string())
        .map_err(|e| PingError::BadRequest(format!("query string: {e}")))?;
    let body = read_body(payload, body_limit, limit).await?;
    let (form, raw) = if body.is_empty() {
        (PingParams::default(), None)
    } else {
        match body_kind(&req)? {
            Body::Form => {
                let form: PingParams = serde_urlencoded::from_bytes(&body)
                    .map_err(|e| PingError::BadRequest(format!("form body: {e}")))?;
                (form, None)
            }
            Body::Json => {
                let form: PingParams = serde_json::from_slice(&body)
                    .map_err(|e| PingError::BadRequest(format!("JSON body: {e}")))?;
                (form, None)
            }
            Body::Text => (
                PingParams::default(),
                Some(String::from_utf8_lossy(&body).into_owned()),
            ),
        }
    };

    let present = |s: &Option<String>| s.as_ref().is_some_and(|s| !s.trim().is_empty());
    let service = [query.service, form.service]
        .into_iter()
        .find(present)
        .flatten()
        .ok_or(PingError::MissingService)?;
    let service =
        ServiceId::parse(&service).map_err(|_| PingError::UnknownService(service.clone()))?;
    // The first `data` given wins, even empty: `?data=` says "success" explicitly.
    let data = [query.data, form.data, raw]
        .into_iter()
        .flatten()
        .next()
        .unwrap_or_default();
    let rid = [query.rid, form.rid]
        .into_iter()
        .flatten()
        .map(|r| r.trim().to_owned())
        .find(|r| !r.is_empty())
        .map(|r| crate::domain::runs::parse_rid(&r).map_err(|_| PingError::BadRid(r.clone())))
        .transpose()?;
    let param_kind = [query.kind, form.kind]
        .into_iter()
        .flatten()
        .find(|k| !k.trim().is_empty())
        .map(|k| parse_kind(&k))
        .transpose()?;
    let param_exit = [query.exit, form.exit]
        .into_iter()
        .flatten()
        .map(|e| e.text())
        .find(|e| !e.trim().is_empty())
        .map(|e| parse_exit(&e))
        .transpose()?;
    // PostgreSQL text cannot hold NUL; keep the rest of what the job said.
    let data = if data.contains('\0') {
        data.replace('\0', "\u{FFFD}")
    } else {
        data
    };
    if data.len() > limit {
        return Err(PingError::TooLarge {
            size: data.len(),
            limit,
        });
    }

    let (kind, exit_status) = decide_kind(suffix, param_kind, param_exit, &data)?;
    let at = state.clock.now();
    let record = PingRecord {
        target: PingTarget::Id(service.to_string()),
        rid,
        exit_status,
        kind,
        data,
        source: req.peer_addr().map(|a| a.ip().to_string()),
        user_agent: req.headers().get(header::USER_AGENT).map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .chars()
                .take(512)
                .map(|c| if c == '\0' { '\u{FFFD}' } else { c })
                .collect()
        }),
        at,
    };
    let outcome = state.writer.submit(record).await.map_err(|e| match e {
        StoreError::NotFound(_) => PingError::UnknownService(service.to_string()),
        other => PingError::Store(other),
    })?;
    Ok(HttpResponse::Ok().json(PingAccepted {
        ok: true,
        service: service.to_string(),
        kind: kind.as_str().to_owned(),
        status: outcome.status.as_str().to_owned(),
        received_at: at,
    }))
}

/// The ping's kind and exit status from what the URL, `kind=` and `exit=` say; all that
/// are given must agree. With none, data makes a failure, as ever.
fn decide_kind(
    suffix: Option<(PingKind, Option<i32>)>,
    kind: Option<PingKind>,
    exit: Option<i32>,
    data: &str,
) -> Result<(PingKind, Option<i32>), PingError> {
    let exit = match (suffix.and_then(|(_, e)| e), exit) {
        (Some(a), Some(b)) if a != b => {
            return Err(PingError::KindConflict(format!("exit {a} and exit {b}")));
        }
        (a, b) => a.or(b),
    };
    let said: Vec<PingKind> = [suffix.map(|(k, _)| k), kind, exit.map(kind_of_exit)]
        .into_iter()
        .flatten()
        .collect();
    match said.split_first() {
        None => Ok((PingKind::from_data(data), None)),
        Some((first, rest)) => match rest.iter().find(|k| *k != first) {
            Some(other) => Err(PingError::KindConflict(format!(
                "{} and {}",
                first.as_str(),
                other.as_str()
            ))),
            None => Ok((*first, exit)),
        },
    }
}
