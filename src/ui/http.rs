//! Small HTTP helpers: cookies (read and written by hand; the UI needs four), the client's
//! address, whether the request came over https, and safe `next` redirects.

use actix_web::HttpRequest;
use actix_web::http::header::{self, HeaderValue};

use crate::state::AppState;

/// The value of cookie `name`, if the request carries it.
pub fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_owned())
}

pub struct SetCookie<'a> {
    pub name: &'a str,
    pub value: &'a str,
    /// Seconds; `Some(0)` deletes the cookie, `None` makes it last for the browser session.
    pub max_age: Option<i64>,
    pub http_only: bool,
    pub secure: bool,
}

impl SetCookie<'_> {
    pub fn header(&self) -> HeaderValue {
        let mut s = format!("{}={}; Path=/; SameSite=Lax", self.name, self.value);
        if let Some(age) = self.max_age {
            s.push_str(&format!("; Max-Age={age}"));
        }
        if self.http_only {
            s.push_str("; HttpOnly");
        }
        if self.secure {
            s.push_str("; Secure");
        }
        // Names and values are ours: tokens, codes and percent-encoded text.
        HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static("x=; Max-Age=0"))
    }
}

/// Percent-encode text for a cookie value.
pub fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub fn decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("v={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Whether cookies must be `Secure`: the public URL is https, or a proxy says the request
/// came over https, or it did.
pub fn is_https(req: &HttpRequest, state: &AppState) -> bool {
    state.settings.base_url.scheme() == "https"
        || req.connection_info().scheme() == "https"
        || req
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').next().is_some_and(|p| p.trim() == "https"))
}

pub use crate::peer::client_ip;

/// A redirect target that stays on this site: a path, not `//host` or a URL.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.chars().any(|c| c.is_control()) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// Path and query of this request, for `?next=` and the language links.
pub fn here(req: &HttpRequest) -> String {
    match req.uri().query() {
        Some(q) if !q.is_empty() => format!("{}?{q}", req.path()),
        _ => req.path().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/services/abc?x=1")), "/services/abc?x=1");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn cookie_text_round_trips() {
        assert_eq!(decode(&encode("a; b=c 中文")), "a; b=c 中文");
    }
}
