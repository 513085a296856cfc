//! What the live lists (services, hosts) and the host page's live values share: rendered
//! rows with their cost for `Server-Timing`, an ETag for a rendering, and the fragment
//! reply that is a 304 when the client already has it.
use std::time::Instant;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use sha2::{Digest, Sha256};

use crate::store::service_list::At;

/// Rendered rows and how they were had, for the `Server-Timing` header.
pub struct Rows {
    pub etag: String,
    /// UTF-8 HTML; `Bytes` so a cached list is sent without copying.
    pub html: web::Bytes,
    pub cached: bool,
    pub db_ms: f64,
    pub render_ms: f64,
}

impl Rows {
    /// `Server-Timing`: where the time went, visible in the browser's network panel.
    pub fn server_timing(&self) -> String {
        format!(
            "db;dur={:.1}, render;dur={:.1}, cache;desc={}",
            self.db_ms,
            self.render_ms,
            if self.cached { "hit" } else { "miss" }
        )
    }
}

/// Milliseconds since `since`.
pub fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// The ETag of a rendering under its cache key.
pub fn etag(key: &str, html: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(key.as_bytes());
    h.update(html);
    format!("\"{}\"", hex::encode(&h.finalize()[..12]))
}

/// The title lead the rendered rows carry (`data-title-prefix="(3 down) "`), so cached
/// rows need nothing stored beside them.
pub fn title_prefix(rows_html: &str) -> &str {
    rows_html
        .split_once("data-title-prefix=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(prefix, _)| prefix)
        .filter(|p| !p.contains('&'))
        .unwrap_or("")
}

/// A page's cursor as a query parameter.
pub fn at_param(at: &At) -> Option<(&'static str, String)> {
    match at {
        At::First => None,
        At::After(c) => Some(("after", c.encode())),
        At::Before(c) => Some(("before", c.encode())),
    }
}

/// `resp` with the rows' `Server-Timing`.
pub fn with_timing(mut resp: HttpResponse, rows: &Rows) -> HttpResponse {
    if let Ok(v) = header::HeaderValue::from_str(&rows.server_timing()) {
        resp.headers_mut()
            .insert(header::HeaderName::from_static("server-timing"), v);
    }
    resp
}

/// Whether the client already has this rendering.
pub fn not_modified(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == etag)
        })
}

/// A fragment for the live refresh: 304 when the client has it, else the HTML.
pub fn fragment_response(req: &HttpRequest, etag: &str, html: web::Bytes) -> HttpResponse {
    let unchanged = not_modified(req, etag);
    let mut b = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    b.insert_header((header::ETAG, etag.to_owned()))
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .insert_header((header::VARY, "Cookie, Accept-Language"));
    if unchanged {
        return b.finish();
    }
    b.content_type("text/html; charset=utf-8").body(html)
}
