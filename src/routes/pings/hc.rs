//! The healthchecks-compatible ping URLs, with no credentials (the URL is the secret):
//!
//! - `/ping/<uuid>[/start|/fail|/log|/<0-255>]`: a service by its ping UUID;
//! - `/ping/<ping-key>/<slug>[/start|/fail|/log|/<0-255>]`: a service by its slug, with a
//!   user's ping key; `?create=1` creates the service on first use (`201 Created`).
//!
//! HEAD, GET and POST ping, with an optional `?rid=<uuid>`; the body (its first
//! `HB_MAX_PING_DATA` bytes) is the ping's data. The answers are healthchecks' own
//! (`hc/api/views.py`, `ping` and `ping_by_slug`): `200 OK`, `404 not found`,
//! `400 invalid url format` (an exit status over 255), `400 invalid uuid format` (a bad
//! rid), as text, with `Ping-Body-Limit` and `Access-Control-Allow-Origin: *`.
use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use futures::StreamExt;

use crate::app::services::{Amount, ServiceDraft};
use crate::app::{self, Actor, AppError};
use crate::domain::role::{Action, KeyScope};
use crate::domain::runs::{PingUuid, parse_rid, parse_slug};
use crate::domain::status::PingKind;
use crate::routes::{RETRY_AFTER_SECS, app_error_status};
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::pings::{PingRecord, PingTarget};
use crate::store::{services, users};

/// The most a ping request body may carry; past it the request is refused (`413`) rather
/// than read to the end. Only the first `HB_MAX_PING_DATA` bytes are kept in memory; the
/// rest is read and dropped, as healthchecks truncates. 2.5 MiB is Django's
/// `DATA_UPLOAD_MAX_MEMORY_SIZE`, past which a healthchecks server refuses too.
pub const BODY_CAP: usize = 2_621_440;

/// healthchecks' defaults for a check made by `?create=1`: a period of one day and a grace
/// time of one hour.
pub const CREATE_PERIOD_SECS: i64 = 86_400;
pub const CREATE_GRACE_SECS: i64 = 3_600;

#[derive(Debug, thiserror::Error)]
pub enum HcError {
    /// An unknown UUID, ping key or slug, or a URL of no ping shape.
    #[error("not found")]
    NotFound,
    #[error("invalid url format: an exit status is a number from 0 to 255")]
    BadExitStatus,
    #[error("invalid uuid format: rid must be a UUID, e.g. 5bf66975-d4c7-4e4f-9c4b-7b5e8c8b1a2c")]
    BadRid,
    #[error("invalid slug: use lower-case letters a-z, digits, '-' and '_', at most 100")]
    BadSlug,
    #[error("forbidden: this ping key's user may not {0}")]
    Forbidden(&'static str),
    #[error("request body too large: at most {0} bytes are accepted")]
    TooLarge(usize),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("method not allowed: use GET, HEAD or POST")]
    Method,
    #[error("storage is unavailable; try again")]
    Store(StoreError),
    /// Creating the service (`?create=1`) was refused.
    #[error("cannot create the service: {0}")]
    Create(AppError),
}

impl ResponseError for HcError {
    fn status_code(&self) -> StatusCode {
        match self {
            HcError::NotFound => StatusCode::NOT_FOUND,
            HcError::BadExitStatus | HcError::BadRid | HcError::BadSlug => StatusCode::BAD_REQUEST,
            HcError::BadRequest(_) => StatusCode::BAD_REQUEST,
            HcError::Forbidden(_) => StatusCode::FORBIDDEN,
            HcError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            HcError::Method => StatusCode::METHOD_NOT_ALLOWED,
            HcError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            HcError::Create(e) => app_error_status(e),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let text = match self {
            HcError::Store(e) => {
                tracing::error!(error = %e, "storing a ping failed");
                self.to_string()
            }
            HcError::Create(AppError::Store(e)) => {
                tracing::error!(error = %e, "creating a service from a slug ping failed");
                "storage is unavailable; try again".to_owned()
            }
            _ => self.to_string(),
        };
        let mut resp = text_response(status);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            resp.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS));
        }
        if let HcError::Method = self {
            resp.insert_header((header::ALLOW, "GET, HEAD, POST, OPTIONS"));
        }
        resp.body(text)
    }
}

/// A text answer that browsers on any origin may read.
fn text_response(status: StatusCode) -> actix_web::HttpResponseBuilder {
    let mut resp = HttpResponse::build(status);
    resp.content_type("text/plain; charset=utf-8")
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    resp
}

/// The answer to a browser's CORS preflight: any origin, the ping methods, the headers it
/// asked for.
pub(super) fn preflight(req: &HttpRequest, methods: &'static str) -> HttpResponse {
    let mut resp = HttpResponse::NoContent();
    resp.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, methods))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "86400"));
    if let Some(asked) = req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        resp.insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone()));
    }
    resp.finish()
}

/// What the last part of the URL asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    Success,
    Start,
    Fail,
    Log,
    Exit(i32),
}

impl Signal {
    /// `None` when `segment` is not a signal (it is then a slug, or nothing).
    fn parse(segment: &str) -> Option<Result<Self, HcError>> {
        match segment {
            "start" => Some(Ok(Signal::Start)),
            "fail" => Some(Ok(Signal::Fail)),
            "log" => Some(Ok(Signal::Log)),
            // healthchecks' `<int:exitstatus>`: any run of digits; over 255 is a 400.
            s if !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) => Some(
                s.parse::<u8>()
                    .map(|n| Signal::Exit(i32::from(n)))
                    .map_err(|_| HcError::BadExitStatus),
            ),
            _ => None,
        }
    }

    fn kind(self) -> (PingKind, Option<i32>) {
        match self {
            Signal::Success => (PingKind::Success, None),
            Signal::Start => (PingKind::Start, None),
            Signal::Fail => (PingKind::Error, None),
            Signal::Log => (PingKind::Log, None),
            Signal::Exit(0) => (PingKind::Success, Some(0)),
            Signal::Exit(n) => (PingKind::Error, Some(n)),
        }
    }
}

/// Which service the URL names.
#[derive(Debug, PartialEq, Eq)]
enum Address<'a> {
    Uuid(PingUuid),
    Slug { key: &'a str, slug: &'a str },
}

/// Split `/ping/<tail>` into the service and the signal. A first segment that is a UUID
/// followed by nothing or a signal is a ping UUID; anything else of two or three segments
/// is a ping key and a slug, as healthchecks' URL patterns order them.
fn parse_tail(tail: &str) -> Result<(Address<'_>, Signal), HcError> {
    let tail = tail.strip_suffix('/').unwrap_or(tail);
    let parts: Vec<&str> = tail.split('/').collect();
    match parts.as_slice() {
        [first] => PingUuid::parse(first)
            .map(|u| (Address::Uuid(u), Signal::Success))
            .ok_or(HcError::NotFound),
        [first, second] => match (PingUuid::parse(first), Signal::parse(second)) {
            (Some(u), Some(signal)) => Ok((Address::Uuid(u), signal?)),
            _ => Ok((slug_address(first, second)?, Signal::Success)),
        },
        [key, slug, last] => {
            let signal = Signal::parse(last).ok_or(HcError::NotFound)??;
            Ok((slug_address(key, slug)?, signal))
        }
        _ => Err(HcError::NotFound),
    }
}

fn slug_address<'a>(key: &'a str, slug: &'a str) -> Result<Address<'a>, HcError> {
    // Ping keys are 32 hex digits here and 22 URL-safe base64 characters at healthchecks.
    let key_like = (8..=64).contains(&key.len())
        && key
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_');
    if !key_like || slug.is_empty() {
        return Err(HcError::NotFound);
    }
    Ok(Address::Slug { key, slug })
}

#[derive(Debug, Default)]
struct Query {
    rid: Option<String>,
    create: bool,
}

impl Query {
    fn parse(query: &str) -> Result<Self, HcError> {
        let mut out = Query::default();
        if query.is_empty() {
            return Ok(out);
        }
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|e| HcError::BadRequest(format!("query string: {e}")))?;
        for (k, v) in pairs {
            match k.as_str() {
                // healthchecks reads the last value (Django's `QueryDict.get`).
                "rid" => out.rid = Some(v),
                "create" => out.create = v == "1",
                _ => {}
            }
        }
        Ok(out)
    }
}

/// Read the body, keeping its first `keep` bytes, refusing past [`BODY_CAP`] (or `keep`,
/// when larger) without reading further.
async fn read_kept(
    req: &HttpRequest,
    mut payload: web::Payload,
    keep: usize,
) -> Result<Vec<u8>, HcError> {
    let cap = BODY_CAP.max(keep);
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > cap) {
        return Err(HcError::TooLarge(cap));
    }
    let mut kept = Vec::with_capacity(declared.unwrap_or(0).min(keep));
    let mut total = 0usize;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| HcError::BadRequest(e.to_string()))?;
        total += chunk.len();
        if total > cap {
            return Err(HcError::TooLarge(cap));
        }
        let room = keep - kept.len();
        kept.extend_from_slice(&chunk[..room.min(chunk.len())]);
    }
    Ok(kept)
}

/// The body as the ping's data: lossy UTF-8, NUL replaced (PostgreSQL text cannot hold
/// it), cut to at most `limit` bytes on a character boundary.
fn body_data(body: &[u8], limit: usize) -> String {
    let text = String::from_utf8_lossy(body);
    let mut data = if text.contains('\0') {
        text.replace('\0', "\u{FFFD}")
    } else {
        text.into_owned()
    };
    if data.len() > limit {
        let mut end = limit;
        while !data.is_char_boundary(end) {
            end -= 1;
        }
        data.truncate(end);
    }
    data
}

/// `/ping/{tail}`: every method lands here; OPTIONS is a preflight.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn ping(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, HcError> {
    // Served as the `/ping` scope's default service: what follows `/ping/` is the rest of
    // the path (a prefix match, which spares every ping a regular expression).
    let tail = req.match_info().unprocessed();
    let Some(tail) = tail.strip_prefix('/') else {
        return Err(HcError::NotFound);
    };
    match *req.method() {
        Method::GET | Method::HEAD | Method::POST => {}
        Method::OPTIONS => return Ok(preflight(&req, "GET, HEAD, POST, OPTIONS")),
        _ => return Err(HcError::Method),
    }
    let (address, signal) = parse_tail(tail)?;
    let query = Query::parse(req.query_string())?;

    let rid = query
        .rid
        .as_deref()
        .map(parse_rid)
        .transpose()
        .map_err(|_| HcError::BadRid)?;
    let limit = state.settings.max_ping_data;
    let body = read_kept(&req, payload, limit).await?;

    // Refused input creates nothing: the service is made only for a ping that is stored.
    let (target, created) = match address {
        Address::Uuid(uuid) => (PingTarget::Uuid(uuid.as_str().to_owned()), false),
        Address::Slug { key, slug } => {
            let (id, created) = by_slug(&state, &req, key, slug, query.create).await?;
            (PingTarget::Id(id), created)
        }
    };
    let (kind, exit_status) = signal.kind();
    let (source, user_agent) = super::client_meta(&req);
    let record = PingRecord {
        target,
        kind,
        data: body_data(&body, limit),
        source,
        user_agent,
        at: state.clock.now(),
        rid,
        exit_status,
    };
    state.writer.submit(record).await.map_err(|e| match e {
        StoreError::NotFound(_) => HcError::NotFound,
        other => HcError::Store(other),
    })?;
    let (status, text) = if created {
        (StatusCode::CREATED, "Created")
    } else {
        (StatusCode::OK, "OK")
    };
    Ok(text_response(status)
        .insert_header(("Ping-Body-Limit", limit))
        .body(text))
}

/// The id of the service `slug`, pinged with `key`; with `create`, a new service when
/// there is none (and `true`).
async fn by_slug(
    state: &AppState,
    req: &HttpRequest,
    key: &str,
    slug: &str,
    create: bool,
) -> Result<(String, bool), HcError> {
    let user = users::find_by_ping_key(&state.db, key)
        .await
        .map_err(HcError::Store)?
        .ok_or(HcError::NotFound)?;
    if !user.role.allows(Action::Ping) {
        return Err(HcError::Forbidden("send pings"));
    }
    if let Some(service) = services::by_slug(&state.db, slug)
        .await
        .map_err(HcError::Store)?
    {
        return Ok((service.id, false));
    }
    if !create {
        return Err(HcError::NotFound);
    }
    let slug = parse_slug(slug).map_err(|_| HcError::BadSlug)?;
    let actor = Actor {
        user_id: Some(user.id),
        name: user.name,
        role: user.role,
        scope: KeyScope::Full,
        source: Some(crate::peer::client_ip(req)),
    };
    if !actor.may(Action::EditServices) {
        return Err(HcError::Forbidden("create services"));
    }
    let draft = ServiceDraft {
        name: Some(slug.clone()),
        slug: Some(slug),
        kind: Some("interval".to_owned()),
        period: Some(Amount::Secs(CREATE_PERIOD_SECS)),
        grace: Some(Amount::Secs(CREATE_GRACE_SECS)),
        ..Default::default()
    };
    let row = app::services::create(&state.app, &actor, &draft)
        .await
        .map_err(HcError::Create)?;
    Ok((row.id, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: &str = "5bf66975-d4c7-4e4f-9c4b-7b5e8c8b1a2c";

    fn uuid() -> Address<'static> {
        Address::Uuid(PingUuid::parse(U).unwrap())
    }

    #[test]
    fn url_shapes() {
        assert_eq!(parse_tail(U).unwrap(), (uuid(), Signal::Success));
        assert_eq!(
            parse_tail(&format!("{U}/")).unwrap(),
            (uuid(), Signal::Success)
        );
        let up = U.to_uppercase();
        assert_eq!(parse_tail(&up).unwrap(), (uuid(), Signal::Success));
        for (s, signal) in [
            ("start", Signal::Start),
            ("fail", Signal::Fail),
            ("log", Signal::Log),
            ("0", Signal::Exit(0)),
            ("255", Signal::Exit(255)),
        ] {
            assert_eq!(parse_tail(&format!("{U}/{s}")).unwrap(), (uuid(), signal));
        }
        assert!(matches!(
            parse_tail(&format!("{U}/256")),
            Err(HcError::BadExitStatus)
        ));
        assert!(matches!(parse_tail("not-a-uuid"), Err(HcError::NotFound)));
        assert!(matches!(parse_tail(""), Err(HcError::NotFound)));
        let key = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            parse_tail(&format!("{key}/db-backup")).unwrap(),
            (
                Address::Slug {
                    key,
                    slug: "db-backup"
                },
                Signal::Success
            )
        );
        assert_eq!(
            parse_tail(&format!("{key}/db-backup/3")).unwrap().1,
            Signal::Exit(3)
        );
        // A slug named like a signal is a slug after a key.
        assert_eq!(
            parse_tail(&format!("{key}/start")).unwrap().0,
            Address::Slug { key, slug: "start" }
        );
        assert!(matches!(
            parse_tail(&format!("{key}/db/nope")),
            Err(HcError::NotFound)
        ));
        assert!(matches!(parse_tail("k/db"), Err(HcError::NotFound)));
        assert!(matches!(
            parse_tail(&format!("{key}/a/b/c")),
            Err(HcError::NotFound)
        ));
    }

    #[test]
    fn body_is_cut_on_a_character_boundary() {
        assert_eq!(body_data(b"abc", 10), "abc");
        assert_eq!(body_data("aé".as_bytes(), 2), "a");
        assert_eq!(body_data(b"a\0b", 10), "a\u{FFFD}b");
        assert_eq!(body_data(b"\xffx", 10), "\u{FFFD}x");
    }

    #[test]
    fn query() {
        let q = Query::parse(&format!("rid={U}&create=1")).unwrap();
        assert_eq!(q.rid.as_deref(), Some(U));
        assert!(q.create);
        assert!(!Query::parse("create=true").unwrap().create);
    }
}
