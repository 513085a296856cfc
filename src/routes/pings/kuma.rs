//! Uptime Kuma's push URL, `GET|POST /api/push/<token>?status=up|down&msg=…&ping=…`, with
//! the service's ping UUID as the token: a Kuma push monitor's client (a script, another
//! Kuma) works unchanged against Heartbeats.
//!
//! As Kuma's `server/routers/api-router.js` answers: `{"ok":true}`; `status` other than
//! `up` is a failure (absent is `up`); an unknown token is `404`
//! `{"ok":false,"msg":"Monitor not found or not active."}`. The body is not read.
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde_json::json;

use crate::domain::runs::PingUuid;
use crate::domain::status::PingKind;
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::pings::{PingRecord, PingTarget};

/// Kuma's own words for an unknown token.
pub const NOT_FOUND_MSG: &str = "Monitor not found or not active.";

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("{NOT_FOUND_MSG}")]
    NotFound,
    #[error("storage is unavailable; try again")]
    Store(StoreError),
}

impl ResponseError for PushError {
    fn status_code(&self) -> StatusCode {
        match self {
            PushError::NotFound => StatusCode::NOT_FOUND,
            PushError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut resp = HttpResponse::build(self.status_code());
        if let PushError::Store(e) = self {
            tracing::error!(error = %e, "storing a push failed");
            resp.insert_header((
                actix_web::http::header::RETRY_AFTER,
                super::super::RETRY_AFTER_SECS,
            ));
        }
        resp.json(json!({ "ok": false, "msg": self.to_string() }))
    }
}

/// What a push says: its kind and its data (the message, and the round-trip time when
/// given).
fn push_of(query: &str) -> (PingKind, String) {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    // Kuma: `statusString === "up" ? UP : DOWN`, with "up" when absent.
    let kind = match get("status").unwrap_or("up") {
        "up" => PingKind::Success,
        _ => PingKind::Error,
    };
    let msg = get("msg").map(str::trim).unwrap_or("");
    // Kuma takes `parseFloat(ping)` and drops what is not a number.
    let ping = get("ping")
        .and_then(|p| p.trim().parse::<f64>().ok())
        .filter(|p| p.is_finite());
    let mut data = match (msg, ping) {
        ("", None) => String::new(),
        ("", Some(ms)) => format!("ping {ms} ms"),
        (msg, None) => msg.to_owned(),
        (msg, Some(ms)) => format!("{msg} (ping {ms} ms)"),
    };
    if kind == PingKind::Error && data.is_empty() {
        data = "down".to_owned();
    }
    (kind, data.replace('\0', "\u{FFFD}"))
}

/// `/api/push/{token}`, any method (Kuma's `router.all`); OPTIONS is a preflight.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn push(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, PushError> {
    if req.method() == Method::OPTIONS {
        return Ok(super::hc::preflight(&req, "GET, POST, OPTIONS"));
    }
    let uuid = PingUuid::parse(&token).ok_or(PushError::NotFound)?;
    let (kind, mut data) = push_of(req.query_string());
    let limit = state.settings.max_ping_data;
    if data.len() > limit {
        let mut end = limit;
        while !data.is_char_boundary(end) {
            end -= 1;
        }
        data.truncate(end);
    }
    let (source, user_agent) = super::client_meta(&req);
    let record = PingRecord {
        target: PingTarget::Uuid(uuid.as_str().to_owned()),
        kind,
        data,
        source,
        user_agent,
        at: state.clock.now(),
        rid: None,
        exit_status: None,
    };
    state.writer.submit(record).await.map_err(|e| match e {
        StoreError::NotFound(_) => PushError::NotFound,
        other => PushError::Store(other),
    })?;
    Ok(HttpResponse::Ok().json(json!({ "ok": true })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_msg_and_ping() {
        assert_eq!(push_of(""), (PingKind::Success, String::new()));
        assert_eq!(
            push_of("status=up&msg=OK&ping=12.5"),
            (PingKind::Success, "OK (ping 12.5 ms)".into())
        );
        assert_eq!(
            push_of("status=down&msg=disk%20full"),
            (PingKind::Error, "disk full".into())
        );
        assert_eq!(push_of("status=down"), (PingKind::Error, "down".into()));
        // Kuma: anything but "up" is down.
        assert_eq!(push_of("status=pending").0, PingKind::Error);
        assert_eq!(push_of("ping=abc&msg=x"), (PingKind::Success, "x".into()));
        assert_eq!(push_of("ping=7"), (PingKind::Success, "ping 7 ms".into()));
    }
}
