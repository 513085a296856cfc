//! `hb-agent push`: the agent runs on the host it watches, collects locally every interval
//! and sends each snapshot over a WebSocket it keeps open to the server
//! (`/api/v1/agent/ws`, messages in `heartbeats_wire::agent`). The open socket is the
//! host's presence; the agent pings well inside the server's idle timeout, and reconnects
//! with jittered exponential backoff when the socket drops or is refused.

mod backoff;
pub mod cli;

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use heartbeats_wire::ErrorBody;
use heartbeats_wire::agent::{AgentHost, ClientMessage, ServerMessage};
use heartbeats_wire::hosts as wire;
use tokio::sync::mpsc::UnboundedSender;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use url::Url;

pub use backoff::Backoff;

use crate::client::Auth;
use crate::collect;
use crate::config::{CollectSettings, Host, HostKeyPolicy, ProcessRule, SshOptions, Thresholds};
use crate::report::HostReport;
use crate::thresholds;
use crate::wire_report::to_wire;

/// Seconds between reports when neither `--interval` nor the server says.
pub const DEFAULT_INTERVAL: u32 = 60;

/// How `push` runs.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// The server's base URL (`http://…` or `https://…`).
    pub server: Url,
    pub auth: Auth,
    /// The host's name in the inventory.
    pub name: String,
    /// Seconds between reports; `None`: the host's interval as the server stores it.
    pub interval: Option<u32>,
    pub collect: CollectSettings,
    /// First reconnect delay, doubled up to `max_backoff`.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl PushOptions {
    pub fn new(server: Url, auth: Auth, name: String) -> Self {
        PushOptions {
            server,
            auth,
            name,
            interval: None,
            collect: CollectSettings {
                sample_interval: Duration::from_secs(1),
                top: 5,
            },
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// What happened, for whoever watches the agent (tests; the log says the same).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The server accepted the hello and said what to collect.
    Connected {
        host: Option<AgentHost>,
        idle_timeout: u32,
    },
    /// A report was stored; the host's status after it.
    Accepted { status: String },
    /// The server refused a frame.
    Refused { error: String },
    /// The connection failed or ended; the next try is in `retry_in`.
    Disconnected { error: String, retry_in: Duration },
}

/// `ws://host/prefix/api/v1/agent/ws` for `http://host/prefix`.
pub fn ws_url(server: &Url) -> Result<Url, String> {
    let scheme = match server.scheme() {
        "http" | "ws" => "ws",
        "https" | "wss" => "wss",
        other => {
            return Err(format!(
                "server URL {server}: scheme {other:?} is not supported; use http:// or https://"
            ));
        }
    };
    let mut url = server.clone();
    url.set_scheme(scheme)
        .map_err(|()| format!("server URL {server}: cannot use it for a WebSocket"))?;
    let path = format!("{}/api/v1/agent/ws", url.path().trim_end_matches('/'));
    url.set_path(&path);
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// The machine's host name, as the kernel has it (`/proc/sys/kernel/hostname`), else
/// `/etc/hostname`.
pub fn hostname() -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_owned())
        .find(|s| !s.is_empty())
}

/// The local host to collect: named `name`, with the required processes and units the
/// server's config lists. A pattern marked `regex` that does not compile is skipped with a
/// warning (the server checks patterns when they are saved, so this is a version skew).
pub fn local_host(name: &str, server: Option<&AgentHost>, interval: u32) -> Host {
    let command_timeout = Duration::from_secs(u64::from(interval.clamp(10, 30)));
    let processes = server
        .map(|h| {
            h.processes
                .iter()
                .filter_map(|p| {
                    let regex = match p.regex {
                        false => None,
                        true => match regex::Regex::new(&p.pattern) {
                            Ok(re) => Some(re),
                            Err(e) => {
                                tracing::warn!(pattern = %p.pattern, error = %e, "required process pattern skipped: not a regular expression");
                                return None;
                            }
                        },
                    };
                    Some(ProcessRule {
                        pattern: p.pattern.clone(),
                        regex,
                        min: p.min,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Host {
        label: name.to_owned(),
        address: "localhost".into(),
        name: Some(name.to_owned()),
        description: None,
        local: true,
        ssh: SshOptions {
            user: None,
            port: None,
            private_key: None,
            known_hosts: None,
            host_key_policy: HostKeyPolicy::default(),
            connect_timeout: Duration::from_secs(5),
            command_timeout,
            options: Vec::new(),
            control_path: None,
        },
        // The server evaluates the checks; the agent only counts required processes.
        thresholds: Thresholds::default(),
        processes,
        units: server.map(|h| h.units.clone()).unwrap_or_default(),
        discover_units: server.is_some_and(|h| h.discover_units),
    }
}

/// One collection of the local host, in the server's report format.
pub async fn collect_report(
    host: &Host,
    settings: &CollectSettings,
    interval: u32,
) -> wire::HostReport {
    let started = Instant::now();
    let report = match collect::collect(host, settings).await {
        Ok(sample) => {
            let eval = thresholds::evaluate(host, &sample);
            HostReport::collected(host, sample, eval, settings.top, started.elapsed())
        }
        Err(e) => {
            tracing::warn!(error = %e, "local collection failed");
            HostReport::failed(host, &e, started.elapsed())
        }
    };
    let timeout = u32::try_from(host.ssh.command_timeout.as_secs()).unwrap_or(30);
    to_wire(&report, interval, timeout)
}

fn emit(events: &Option<UnboundedSender<Event>>, event: Event) {
    if let Some(tx) = events {
        let _ = tx.send(event);
    }
}

/// Connects, reports, reconnects; returns only when the runtime drops it.
pub async fn run(opts: PushOptions, events: Option<UnboundedSender<Event>>) {
    let mut backoff = Backoff::new(opts.initial_backoff, opts.max_backoff);
    loop {
        let mut connected = None;
        let error = match session(&opts, &events, &mut connected).await {
            Ok(never) => match never {},
            Err(e) => e,
        };
        // A connection that held for a while starts the delays afresh; one that keeps
        // failing (refused key, server down) or ending fast (two agents with one name)
        // waits longer each time.
        if connected.is_some_and(|at: Instant| at.elapsed() >= opts.max_backoff) {
            backoff.reset();
        }
        let retry_in = backoff.next_delay();
        tracing::warn!(server = %opts.server, error = %error, retry_in = ?retry_in, "push connection ended; reconnecting");
        emit(&events, Event::Disconnected { error, retry_in });
        tokio::time::sleep(retry_in).await;
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The API's error text in a refused handshake's body, when it has one.
fn body_error(body: Option<&Vec<u8>>) -> String {
    body.and_then(|b| serde_json::from_slice::<ErrorBody>(b).ok())
        .map(|e| format!(": {}", e.error))
        .unwrap_or_default()
}

fn handshake_error(url: &Url, e: tungstenite::Error) -> String {
    match e {
        tungstenite::Error::Http(resp) => {
            let detail = body_error(resp.body().as_ref());
            match resp.status() {
                StatusCode::UNAUTHORIZED => format!(
                    "the server refused the API key (401 Unauthorized{detail}); check --key, --key-file or HB_API_KEY"
                ),
                StatusCode::FORBIDDEN => format!(
                    "the API key may not send reports (403 Forbidden{detail}); use a key with the ping or full scope of a member or admin"
                ),
                StatusCode::NOT_FOUND => format!(
                    "no agent WebSocket at {url} (404 Not Found); check --server, and that the server is a Heartbeats version with push support"
                ),
                status => format!("the server refused the connection ({status}{detail})"),
            }
        }
        tungstenite::Error::Io(io) => format!("cannot connect to {url}: {io}"),
        other => format!("cannot open the WebSocket at {url}: {other}"),
    }
}

async fn connect(opts: &PushOptions) -> Result<Ws, String> {
    let url = ws_url(&opts.server)?;
    let mut req = url
        .as_str()
        .into_client_request()
        .map_err(|e| format!("server URL {url}: {e}"))?;
    let auth = match &opts.auth {
        Auth::None => None,
        Auth::Bearer(key) => Some(format!("Bearer {key}")),
        Auth::Basic { user, password } => {
            use base64::Engine as _;
            let pair = format!("{user}:{password}");
            Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            ))
        }
    };
    if let Some(auth) = auth {
        let value = HeaderValue::from_str(&auth)
            .map_err(|_| "the API key has characters a header cannot carry".to_owned())?;
        req.headers_mut().insert(header::AUTHORIZATION, value);
    }
    // Small buffers: frames are a few kilobytes each way.
    let config = WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(16 * 1024)
        .max_write_buffer_size(4 * 1024 * 1024)
        .max_message_size(Some(4 * 1024 * 1024))
        .max_frame_size(Some(4 * 1024 * 1024));
    let connecting = tokio_tungstenite::connect_async_with_config(req, Some(config), true);
    match tokio::time::timeout(Duration::from_secs(20), connecting).await {
        Err(_) => Err(format!("cannot connect to {url}: no answer within 20 s")),
        Ok(Err(e)) => Err(handshake_error(&url, e)),
        Ok(Ok((ws, _))) => Ok(ws),
    }
}

fn text(msg: &ClientMessage) -> Message {
    // The wire types always serialise.
    Message::text(serde_json::to_string(msg).unwrap_or_default())
}

type Collecting = Pin<Box<dyn Future<Output = wire::HostReport> + Send>>;

/// One connection, from handshake to its end; the error says why it ended.
/// `connected` is set when the server accepted the hello.
async fn session(
    opts: &PushOptions,
    events: &Option<UnboundedSender<Event>>,
    connected: &mut Option<Instant>,
) -> Result<std::convert::Infallible, String> {
    let ws = connect(opts).await?;
    let (mut tx, mut rx) = ws.split();
    let mut interval = opts.interval.unwrap_or(DEFAULT_INTERVAL);
    tx.send(text(&ClientMessage::Hello {
        name: opts.name.clone(),
        interval,
        version: Some(env!("CARGO_PKG_VERSION").to_owned()),
    }))
    .await
    .map_err(|e| format!("cannot send the hello: {e}"))?;
    let (server_host, idle_timeout) = loop {
        let first = tokio::time::timeout(Duration::from_secs(30), rx.next())
            .await
            .map_err(|_| "the server did not answer the hello within 30 s".to_owned())?;
        match first {
            Some(Ok(Message::Text(t))) => match serde_json::from_str::<ServerMessage>(&t) {
                Ok(ServerMessage::Config { host, idle_timeout }) => break (host, idle_timeout),
                Ok(ServerMessage::Error { error }) => {
                    return Err(format!("the server refused the hello: {error}"));
                }
                Ok(other) => return Err(format!("expected the server's config, got {other:?}")),
                Err(e) => return Err(format!("unreadable answer to the hello: {e}")),
            },
            Some(Ok(Message::Close(frame))) => return Err(closed_text(frame)),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(format!("connection lost: {e}")),
            None => return Err("the server closed the connection after the hello".into()),
        }
    };
    *connected = Some(Instant::now());
    if opts.interval.is_none()
        && let Some(h) = &server_host
    {
        interval = h.interval.max(1);
    }
    let mut host = local_host(&opts.name, server_host.as_ref(), interval);
    tracing::info!(
        name = %opts.name,
        managed = server_host.is_some(),
        interval,
        idle_timeout,
        "connected; reporting every {interval} s"
    );
    if server_host.is_none() {
        tracing::warn!(name = %opts.name, "this name is not in the server's inventory: its reports wait in the unmanaged inbox until the host is adopted");
    }
    emit(
        events,
        Event::Connected {
            host: server_host,
            idle_timeout,
        },
    );
    // Ping well inside the idle timeout: three chances before the server gives up.
    let ping_every = Duration::from_secs(u64::from((idle_timeout / 3).max(1)));
    let mut pings = tokio::time::interval(ping_every);
    pings.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    pings.tick().await;
    let mut ticks = tokio::time::interval(Duration::from_secs(u64::from(interval)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut collecting: Option<Collecting> = None;
    let mut last_heard = Instant::now();
    loop {
        tokio::select! {
            _ = ticks.tick(), if collecting.is_none() => {
                let (h, settings) = (host.clone(), opts.collect.clone());
                collecting = Some(Box::pin(async move { collect_report(&h, &settings, interval).await }));
            }
            report = async { collecting.as_mut().expect("guarded").await }, if collecting.is_some() => {
                collecting = None;
                let msg = ClientMessage::Report { report: Box::new(report) };
                tx.send(text(&msg)).await.map_err(|e| format!("cannot send a report: {e}"))?;
            }
            _ = pings.tick() => {
                let silent = last_heard.elapsed();
                if silent > ping_every * 3 {
                    return Err(format!("no answer from the server for {} s", silent.as_secs()));
                }
                tx.send(Message::Ping(Vec::new().into())).await.map_err(|e| format!("cannot send a ping: {e}"))?;
            }
            msg = rx.next() => {
                last_heard = Instant::now();
                match msg {
                    Some(Ok(Message::Text(t))) => match serde_json::from_str::<ServerMessage>(&t) {
                        Ok(ServerMessage::Accepted { status }) => {
                            tracing::debug!(%status, "report accepted");
                            emit(events, Event::Accepted { status });
                        }
                        Ok(ServerMessage::Error { error }) => {
                            tracing::warn!(%error, "the server refused a frame");
                            emit(events, Event::Refused { error });
                        }
                        Ok(ServerMessage::Config { host: server_host, idle_timeout: _ }) => {
                            let new_interval = opts.interval.unwrap_or_else(|| {
                                server_host.as_ref().map_or(interval, |h| h.interval.max(1))
                            });
                            if new_interval != interval {
                                interval = new_interval;
                                ticks = tokio::time::interval_at(
                                    tokio::time::Instant::now() + Duration::from_secs(u64::from(interval)),
                                    Duration::from_secs(u64::from(interval)),
                                );
                                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                            }
                            host = local_host(&opts.name, server_host.as_ref(), interval);
                            tracing::info!(interval, managed = server_host.is_some(), "new config from the server");
                            emit(events, Event::Connected { host: server_host, idle_timeout });
                        }
                        Err(e) => tracing::warn!(error = %e, "unreadable message from the server, ignored"),
                    },
                    Some(Ok(Message::Close(frame))) => return Err(closed_text(frame)),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(format!("connection lost: {e}")),
                    None => return Err("the server closed the connection".into()),
                }
            }
        }
    }
}

fn closed_text(frame: Option<tungstenite::protocol::CloseFrame>) -> String {
    match frame {
        Some(f) if !f.reason.is_empty() => {
            format!("the server closed the connection: {}", f.reason)
        }
        Some(f) => format!(
            "the server closed the connection (code {})",
            u16::from(f.code)
        ),
        None => "the server closed the connection".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_url_follows_the_server_url() {
        let ws = |s: &str| ws_url(&Url::parse(s).unwrap()).map(|u| u.to_string());
        assert_eq!(
            ws("http://hb.lan:5827").unwrap(),
            "ws://hb.lan:5827/api/v1/agent/ws"
        );
        assert_eq!(
            ws("https://example.com/heartbeats/?x=1").unwrap(),
            "wss://example.com/heartbeats/api/v1/agent/ws"
        );
        assert!(
            ws("ftp://hb.lan")
                .unwrap_err()
                .contains("use http:// or https://")
        );
    }

    #[test]
    fn the_local_host_takes_what_the_server_asks_for() {
        let server = AgentHost {
            id: "h1".into(),
            name: "gpu-01".into(),
            address: None,
            interval: 5,
            ssh: Default::default(),
            processes: vec![
                wire::RequiredProcess {
                    pattern: "nginx".into(),
                    regex: false,
                    min: 2,
                },
                wire::RequiredProcess {
                    pattern: "python3? .*train".into(),
                    regex: true,
                    min: 1,
                },
                wire::RequiredProcess {
                    pattern: "(".into(),
                    regex: true,
                    min: 1,
                },
            ],
            units: vec!["nginx.service".into()],
            discover_units: true,
        };
        let host = local_host("gpu-01", Some(&server), 5);
        assert!(host.local);
        assert_eq!(host.name.as_deref(), Some("gpu-01"));
        assert_eq!(
            host.processes.len(),
            2,
            "the pattern that is no regex is skipped"
        );
        assert_eq!(host.processes[0].min, 2);
        assert!(host.processes[1].matches("python3 /srv/train.py"));
        assert_eq!(host.units, ["nginx.service"]);
        assert!(host.discover_units);
        assert_eq!(host.ssh.command_timeout, Duration::from_secs(10));
        let unmanaged = local_host("new-box", None, 60);
        assert!(unmanaged.processes.is_empty() && unmanaged.units.is_empty());
        assert_eq!(unmanaged.ssh.command_timeout, Duration::from_secs(30));
    }

    #[test]
    fn the_hostname_is_read_from_the_kernel() {
        let name = hostname().expect("Linux has a host name");
        assert!(!name.is_empty() && !name.contains('\n'));
    }

    #[test]
    fn refused_handshakes_say_what_to_fix() {
        let url = Url::parse("ws://hb.lan/api/v1/agent/ws").unwrap();
        let refused = |status: u16, body: &str| {
            let resp = tungstenite::http::Response::builder()
                .status(status)
                .body(Some(body.as_bytes().to_vec()))
                .unwrap();
            handshake_error(&url, tungstenite::Error::Http(Box::new(resp)))
        };
        let e = refused(
            401,
            r#"{"error":"invalid credentials","code":"bad_credentials"}"#,
        );
        assert!(
            e.contains("refused the API key (401 Unauthorized: invalid credentials)"),
            "{e}"
        );
        assert!(e.contains("--key"), "{e}");
        assert!(refused(403, "{}").contains("ping or full scope"));
        assert!(refused(404, "").contains("check --server"));
    }
}
