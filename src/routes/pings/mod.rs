//! The ping URLs: the native `/api/pings` (credentials, the old tool's), the
//! healthchecks-compatible `/ping/<uuid>` and `/ping/<ping-key>/<slug>` (the URL is the
//! secret), and Uptime Kuma's `/api/push/<uuid>`.
pub mod hc;
pub mod kuma;
pub mod native;

use actix_web::HttpRequest;
use actix_web::http::header;

pub use native::{PingError, ping, ping_suffix};

/// Where a ping came from, as every ping URL records it: the peer's address and the
/// `User-Agent` (at most 512 characters, NUL replaced).
pub(super) fn client_meta(req: &HttpRequest) -> (Option<String>, Option<String>) {
    let source = req.peer_addr().map(|a| a.ip().to_string());
    let user_agent = req.headers().get(header::USER_AGENT).map(|v| {
        String::from_utf8_lossy(v.as_bytes())
            .chars()
            .take(512)
            .map(|c| if c == '\0' { '\u{FFFD}' } else { c })
            .collect()
    });
    (source, user_agent)
}
