//! The ping client: one POST to `{server}/api/pings` with the service id and the data
//! as a form body; and the hosts API client (`watch`'s host list, reports). Independent
//! of the agent's config so the server's own tests (and anything else) can use them.

use std::fmt;
use std::time::Duration;

use heartbeats_wire::agent::AgentHosts;
use heartbeats_wire::hosts::{HostReport, ReportsAccepted};
use heartbeats_wire::{ErrorBody, PingAccepted};
use reqwest::StatusCode;
use url::Url;

/// How the client proves who it is.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    None,
    /// HTTP Basic with a user's name and password, as the old tool did.
    Basic {
        user: String,
        password: String,
    },
    /// `Authorization: Bearer <api key>`.
    Bearer(String),
}

// Hand-written so a password or key never reaches a log line through `{:?}`.
impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic { user, .. } => write!(f, "Basic({user}:***)"),
            Auth::Bearer(_) => f.write_str("Bearer(***)"),
        }
    }
}

/// Network errors, 5xx and 429 are retried: the server may be restarting, and a ping
/// lost to a blip would make the service look late for a whole cron period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Total tries, the first included (at least 1).
    pub attempts: u32,
    /// Wait before the second try; doubled after each failure up to `max_backoff`.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PingError {
    #[error("bad server URL {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error(
        "the server at {url} refused the credentials (401 Unauthorized{detail}); check the user and password or the API key"
    )]
    Unauthorized { url: String, detail: String },
    #[error("service {service:?} not found at {url} (404 Not Found{detail}); check the service id")]
    UnknownService {
        url: String,
        service: String,
        detail: String,
    },
    #[error("no Heartbeats ping endpoint at {url} (404 Not Found); check the server URL")]
    NoEndpoint { url: String },
    #[error("the server refused the ping ({status}): {message}")]
    Rejected { status: StatusCode, message: String },
    #[error("could not reach {url} after {attempts} attempt(s): {cause}")]
    Unreachable {
        url: String,
        attempts: u32,
        cause: String,
    },
    #[error("unexpected answer from {url}: {detail}")]
    BadResponse { url: String, detail: String },
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
}

impl PingError {
    /// True when the server could not be reached at all (as opposed to answering no).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, PingError::Unreachable { .. })
    }
}

#[derive(Debug, Clone)]
pub struct PingClient {
    http: reqwest::Client,
    endpoint: Url,
    auth: Auth,
    retry: RetryPolicy,
    timeout: Duration,
}

impl PingClient {
    /// `server` is the base URL (`http://hb.lan:5827`, or with a path prefix when the
    /// server sits behind a proxy: `https://ops.example.com/heartbeats/`).
    pub fn new(server: &str, auth: Auth) -> Result<PingClient, PingError> {
        let base = base_url(server)?;
        let endpoint = base.join("api/pings").map_err(|e| PingError::BadUrl {
            url: server.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(PingClient {
            http: http_client()?,
            endpoint,
            auth,
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(10),
        })
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> PingClient {
        self.retry = retry;
        self
    }

    /// Limit for one request, answer included.
    pub fn with_timeout(mut self, timeout: Duration) -> PingClient {
        self.timeout = timeout;
        self
    }

    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// Sends one ping: empty `data` reports success, anything else an error.
    #[tracing::instrument(skip(self, data), fields(endpoint = %self.endpoint, data_len = data.len()))]
    pub async fn ping(&self, service: &str, data: &str) -> Result<PingAccepted, PingError> {
        let attempts = self.retry.attempts.max(1);
        let mut backoff = self.retry.initial_backoff;
        let mut cause = String::new();
        for attempt in 1..=attempts {
            if attempt > 1 {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(self.retry.max_backoff.max(backoff));
            }
            match self.request(service, data).send().await {
                Err(e) => cause = error_chain(&e),
                Ok(resp) if resp.status().is_server_error() || resp.status() == 429 => {
                    let status = resp.status();
                    cause = format!("{status}{}", server_message(&body_text(resp).await));
                }
                Ok(resp) => return self.answer(service, resp).await,
            }
            tracing::warn!(attempt, attempts, %cause, "ping failed");
        }
        Err(PingError::Unreachable {
            url: self.endpoint.to_string(),
            attempts,
            cause,
        })
    }

    /// The request without sending it; tests inspect its encoding and headers.
    pub fn request(&self, service: &str, data: &str) -> reqwest::RequestBuilder {
        let req = self
            .http
            .post(self.endpoint.clone())
            .timeout(self.timeout)
            .form(&[("service", service), ("data", data)]);
        match &self.auth {
            Auth::None => req,
            Auth::Basic { user, password } => req.basic_auth(user, Some(password)),
            Auth::Bearer(key) => req.bearer_auth(key),
        }
    }

    async fn answer(
        &self,
        service: &str,
        resp: reqwest::Response,
    ) -> Result<PingAccepted, PingError> {
        let status = resp.status();
        let body = body_text(resp).await;
        let url = self.endpoint.to_string();
        match status {
            s if s.is_success() => {
                serde_json::from_str(&body).map_err(|e| PingError::BadResponse {
                    url,
                    detail: format!("{e} in {:?}", truncate(&body, 200)),
                })
            }
            StatusCode::UNAUTHORIZED => Err(PingError::Unauthorized {
                url,
                detail: server_message(&body),
            }),
            // A 404 with the API's JSON error is about the service; any other 404 means
            // the URL does not lead to a Heartbeats server at all.
            StatusCode::NOT_FOUND => match serde_json::from_str::<ErrorBody>(&body) {
                Ok(err) => Err(PingError::UnknownService {
                    url,
                    service: service.to_owned(),
                    detail: format!(": {}", err.error),
                }),
                Err(_) => Err(PingError::NoEndpoint { url }),
            },
            s => Err(PingError::Rejected {
                status: s,
                message: match serde_json::from_str::<ErrorBody>(&body) {
                    Ok(err) => err.error,
                    Err(_) => truncate(&body, 200).to_owned(),
                },
            }),
        }
    }
}

/// Why a call to the hosts API (`watch`'s host list, reports) did not go through.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// Network error, timeout, 5xx or 429: worth retrying later.
    #[error("cannot reach {url}: {cause}")]
    Unreachable { url: String, cause: String },
    #[error(
        "the server at {url} refused the credentials ({status}{detail}); check the API key (`server.api_key`, --key or HB_API_KEY)"
    )]
    Unauthorized {
        url: String,
        status: StatusCode,
        detail: String,
    },
    /// The endpoint does not exist: a server older than this agent, or a wrong URL.
    #[error(
        "no {what} at {url} (404 Not Found): the server is older than this agent, or the URL is wrong"
    )]
    NotFound { url: String, what: &'static str },
    /// The request itself was refused (400, 413, 422, ...): sending it again won't help.
    #[error("the server refused {what} ({status}): {message}")]
    Rejected {
        what: &'static str,
        status: StatusCode,
        message: String,
    },
    #[error("unexpected answer from {url}: {detail}")]
    BadResponse { url: String, detail: String },
}

impl ApiError {
    /// Network trouble or an overloaded server, rather than a refusal.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ApiError::Unreachable { .. })
    }
}

/// The hosts API as a collector uses it: the host list (`GET /api/v1/agent/hosts`) and
/// the reports endpoint (`POST /api/v1/hosts/reports`). One try per call: the callers
/// (`watch`'s loops, `run`'s single post) decide when to try again.
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    hosts: Url,
    reports: Url,
    auth: Auth,
    timeout: Duration,
}

impl ApiClient {
    pub fn new(server: &str, auth: Auth) -> Result<ApiClient, PingError> {
        let base = base_url(server)?;
        let join = |path: &str| {
            base.join(path).map_err(|e| PingError::BadUrl {
                url: server.to_owned(),
                reason: e.to_string(),
            })
        };
        Ok(ApiClient {
            http: http_client()?,
            hosts: join("api/v1/agent/hosts")?,
            reports: join("api/v1/hosts/reports")?,
            auth,
            timeout: Duration::from_secs(10),
        })
    }

    /// Limit for one request, answer included.
    pub fn with_timeout(mut self, timeout: Duration) -> ApiClient {
        self.timeout = timeout;
        self
    }

    pub fn reports_url(&self) -> &Url {
        &self.reports
    }

    /// The hosts this collector must collect: those assigned to `collector`, or without
    /// it those assigned to no collector.
    #[tracing::instrument(skip(self))]
    pub async fn agent_hosts(&self, collector: Option<&str>) -> Result<AgentHosts, ApiError> {
        let mut url = self.hosts.clone();
        if let Some(name) = collector {
            url.query_pairs_mut().append_pair("collector", name);
        }
        let req = self.authorize(self.http.get(url.clone()).timeout(self.timeout));
        let body = self.send(req, &url, "agent host list").await?;
        serde_json::from_slice(&body).map_err(|e| ApiError::BadResponse {
            url: url.to_string(),
            detail: format!(
                "{e} in {:?}",
                truncate(&String::from_utf8_lossy(&body), 200)
            ),
        })
    }

    /// Posts reports already serialised as a `{"reports": [...]}` body.
    #[tracing::instrument(skip_all, fields(bytes = body.len()))]
    pub async fn post_report_body(&self, body: Vec<u8>) -> Result<ReportsAccepted, ApiError> {
        let req = self.authorize(
            self.http
                .post(self.reports.clone())
                .timeout(self.timeout)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body),
        );
        let answer = self.send(req, &self.reports, "reports endpoint").await?;
        serde_json::from_slice(&answer).map_err(|e| ApiError::BadResponse {
            url: self.reports.to_string(),
            detail: format!(
                "{e} in {:?}",
                truncate(&String::from_utf8_lossy(&answer), 200)
            ),
        })
    }

    /// Posts `reports` in one request (at most `MAX_REPORTS` of them).
    pub async fn post_reports(&self, reports: &[HostReport]) -> Result<ReportsAccepted, ApiError> {
        let encoded = reports
            .iter()
            .map(serde_json::to_vec)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ApiError::BadResponse {
                url: self.reports.to_string(),
                detail: format!("cannot encode the reports: {e}"),
            })?;
        self.post_report_body(batch_body(encoded.iter().map(Vec::as_slice)))
            .await
    }

    fn authorize(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.auth {
            Auth::None => req,
            Auth::Basic { user, password } => req.basic_auth(user, Some(password)),
            Auth::Bearer(key) => req.bearer_auth(key),
        }
    }

    async fn send(
        &self,
        req: reqwest::RequestBuilder,
        url: &Url,
        what: &'static str,
    ) -> Result<Vec<u8>, ApiError> {
        let url_text = url.to_string();
        let resp = req.send().await.map_err(|e| ApiError::Unreachable {
            url: url_text.clone(),
            cause: error_chain(&e),
        })?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| ApiError::Unreachable {
            url: url_text.clone(),
            cause: error_chain(&e),
        })?;
        let text = || String::from_utf8_lossy(&body).into_owned();
        match status {
            s if s.is_success() => Ok(body.to_vec()),
            s if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS => {
                Err(ApiError::Unreachable {
                    url: url_text,
                    cause: format!("{s}{}", server_message(&text())),
                })
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(ApiError::Unauthorized {
                url: url_text,
                status,
                detail: server_message(&text()),
            }),
            StatusCode::NOT_FOUND => Err(ApiError::NotFound {
                url: url_text,
                what,
            }),
            s => Err(ApiError::Rejected {
                what,
                status: s,
                message: match serde_json::from_slice::<ErrorBody>(&body) {
                    Ok(err) => err.error,
                    Err(_) => truncate(&text(), 200).to_owned(),
                },
            }),
        }
    }
}

/// `{"reports":[...]}` from reports already encoded as JSON objects, so a buffer of
/// encoded reports is sent without decoding and encoding them again.
pub fn batch_body<'a>(reports: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut body = b"{\"reports\":[".to_vec();
    for (i, report) in reports.into_iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(report);
    }
    body.extend_from_slice(b"]}");
    body
}

/// The server's base URL, ending in `/` so paths join under any prefix.
fn base_url(server: &str) -> Result<Url, PingError> {
    let bad = |reason: String| PingError::BadUrl {
        url: server.to_owned(),
        reason,
    };
    let mut base = Url::parse(server.trim()).map_err(|e| bad(e.to_string()))?;
    if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
        return Err(bad("use http://host:port or https://host".into()));
    }
    // Url::join replaces the last path segment unless the base ends in '/'.
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    Ok(base)
}

fn http_client() -> Result<reqwest::Client, PingError> {
    reqwest::Client::builder()
        .user_agent(concat!("hb-agent/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| PingError::Client(e.to_string()))
}

async fn body_text(resp: reqwest::Response) -> String {
    resp.text().await.unwrap_or_default()
}

/// ": <error>" from a JSON error body, or nothing.
fn server_message(body: &str) -> String {
    serde_json::from_str::<ErrorBody>(body)
        .map(|e| format!(": {}", e.error))
        .unwrap_or_default()
}

/// reqwest's top-level message is "error sending request for url (…)"; what helps
/// ("tcp connect error: Connection refused") is the last two links of the chain.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        chain.push(s.to_string());
        source = s.source();
    }
    chain[chain.len().saturating_sub(2)..].join(": ")
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(req: &reqwest::Request) -> String {
        let bytes = req.body().and_then(|b| b.as_bytes()).unwrap_or_default();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn data_goes_in_an_encoded_form_body_not_the_url() {
        let client = PingClient::new("http://hb.lan:5827", Auth::None).unwrap();
        let data = "gpu-02 disk / 93% > 90%\nweb-1 process \"a&b=c\" not running é";
        let req = client.request("60y4E", data).build().unwrap();
        assert_eq!(req.method(), reqwest::Method::POST);
        assert_eq!(req.url().as_str(), "http://hb.lan:5827/api/pings");
        assert_eq!(req.url().query(), None);
        assert_eq!(
            req.headers()["content-type"],
            "application/x-www-form-urlencoded"
        );
        let sent = body(&req);
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(sent.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("service".into(), "60y4E".into()),
                ("data".into(), data.into())
            ]
        );
        assert!(!sent.contains(' ') && !sent.contains('\n') && !sent.contains("&b="));
    }

    #[test]
    fn basic_and_bearer_auth_headers() {
        let basic = PingClient::new(
            "http://hb.lan:5827/",
            Auth::Basic {
                user: "admin".into(),
                password: "s3cret".into(),
            },
        )
        .unwrap();
        let req = basic.request("x", "").build().unwrap();
        // base64("admin:s3cret")
        assert_eq!(req.headers()["authorization"], "Basic YWRtaW46czNjcmV0");
        let bearer = PingClient::new("http://hb.lan", Auth::Bearer("k3y".into())).unwrap();
        let req = bearer.request("x", "").build().unwrap();
        assert_eq!(req.headers()["authorization"], "Bearer k3y");
        assert!(!format!("{:?}", basic.auth).contains("s3cret"));
    }

    #[test]
    fn endpoint_keeps_a_path_prefix() {
        let c = PingClient::new("https://ops.example.com/heartbeats", Auth::None).unwrap();
        assert_eq!(
            c.endpoint().as_str(),
            "https://ops.example.com/heartbeats/api/pings"
        );
        assert!(PingClient::new("hb.lan:5827", Auth::None).is_err());
    }

    #[test]
    fn batch_body_is_a_report_batch() {
        let reports = [
            heartbeats_wire::hosts::HostReport {
                name: Some("a".into()),
                cpu_pct: Some(1.5),
                ..Default::default()
            },
            heartbeats_wire::hosts::HostReport {
                name: Some("b\"c".into()),
                error: Some("unreachable: connection refused".into()),
                ..Default::default()
            },
        ];
        let encoded: Vec<Vec<u8>> = reports
            .iter()
            .map(|r| serde_json::to_vec(r).unwrap())
            .collect();
        let body = batch_body(encoded.iter().map(Vec::as_slice));
        let back: heartbeats_wire::hosts::ReportBatch = serde_json::from_slice(&body).unwrap();
        assert_eq!(back.reports, reports);
        let empty: heartbeats_wire::hosts::ReportBatch =
            serde_json::from_slice(&batch_body([])).unwrap();
        assert!(empty.reports.is_empty());
    }

    #[test]
    fn api_urls_keep_a_path_prefix_and_name_the_collector() {
        let c = ApiClient::new("https://ops.example.com/hb", Auth::Bearer("k".into())).unwrap();
        assert_eq!(
            c.hosts.as_str(),
            "https://ops.example.com/hb/api/v1/agent/hosts"
        );
        assert_eq!(
            c.reports_url().as_str(),
            "https://ops.example.com/hb/api/v1/hosts/reports"
        );
        assert!(ApiClient::new("hb.lan:5827", Auth::None).is_err());
    }

    #[tokio::test]
    async fn api_client_says_when_the_server_is_unreachable() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let c = ApiClient::new(&format!("http://127.0.0.1:{port}"), Auth::None).unwrap();
        let err = c.agent_hosts(Some("rack 7")).await.unwrap_err();
        assert!(err.is_unreachable(), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("/api/v1/agent/hosts?collector=rack+7"),
            "{text}"
        );
        assert!(text.to_lowercase().contains("connection refused"), "{text}");
    }

    #[tokio::test]
    async fn closed_port_is_unreachable_after_retries() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let client = PingClient::new(&format!("http://127.0.0.1:{port}"), Auth::None)
            .unwrap()
            .with_retry(RetryPolicy {
                attempts: 3,
                initial_backoff: Duration::from_millis(10),
                max_backoff: Duration::from_millis(20),
            });
        let err = client.ping("x", "").await.unwrap_err();
        assert!(err.is_unreachable(), "{err}");
        let text = err.to_string();
        assert!(text.contains("after 3 attempt(s)"), "{text}");
        assert!(text.to_lowercase().contains("connection refused"), "{text}");
    }
}
