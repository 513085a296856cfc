//! `GET|POST /api/pings?service=<id>&data=<text>`: what cron jobs call.
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
            PingError::MissingService | PingError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PingError::UnknownService(_) => StatusCode::NOT_FOUND,
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
            PingError::UnknownService(_) => "not_found",
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

    let kind = PingKind::from_data(&data);
    let at = state.clock.now();
    let record = PingRecord {
        target: PingTarget::Id(service.to_string()),
        rid: None,
        exit_status: None,
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
