//! Who is on the other end of a request, for throttles, logs and the audit log.
use std::net::IpAddr;

use actix_web::HttpRequest;

/// The client's address for throttling. `X-Forwarded-For` is believed only from a proxy on
/// this machine (its last hop is the one that proxy saw); anyone else could forge it.
pub fn client_ip(req: &HttpRequest) -> String {
    let peer = req.peer_addr().map(|a| a.ip());
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next_back())
        .and_then(|v| v.trim().parse::<IpAddr>().ok());
    if let Some(forwarded) = forwarded.filter(|_| peer.is_some_and(|ip| ip.is_loopback())) {
        return forwarded.to_string();
    }
    peer.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}
