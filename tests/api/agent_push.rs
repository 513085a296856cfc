//! `hb-agent push` against the real server: the agent's own push loop (the library function
//! the binary runs), collecting this machine for real, over a real WebSocket.
//!
//! The loop runs in-process as a task rather than as an `hb-agent` child: this crate's
//! tests cannot make Cargo build another package's binary (`CARGO_BIN_EXE_*` is only for a
//! package's own binaries), and a stale `target/debug/hb-agent` would test old code.
//! Aborting the task drops the socket without a close frame, as a killed process does;
//! the CLI around the loop has its own tests in the agent crate, and the benchmark runs the
//! release binary.
//!
//! The server's clock is a manual one started at the real time (the agent stamps reports
//! with the real time): the grace is checked by reading the offline deadline the server
//! set at close, then moving the clock past it and running the staleness job.
use std::time::Duration;

use chrono::Utc;
use futures::{SinkExt, StreamExt};
use hb_agent::client::Auth;
use hb_agent::push::{self, Event, PushOptions};
use heartbeats::domain::role::KeyScope;
use heartbeats_wire::agent::ServerMessage;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use url::Url;

use crate::helpers::{ADMIN, Backend, Options, SmtpServer, TestApp};

/// Generous: a loaded 2-core machine collects, builds and serves at once.
const WAIT: Duration = Duration::from_secs(60);

async fn app_with(backend: Backend, mut vars: Vec<(&'static str, String)>) -> TestApp {
    vars.push(("HB_AGENT_GRACE_SECS", "2".into()));
    TestApp::spawn_with(
        backend,
        Options {
            start: Utc::now(),
            vars,
        },
    )
    .await
}

async fn key(app: &TestApp, scope: KeyScope) -> String {
    heartbeats::store::users::create_api_key(&app.db, ADMIN, "push", scope, app.now())
        .await
        .expect("api key")
        .key
}

fn options(app: &TestApp, key: &str, name: &str) -> PushOptions {
    let mut opts = PushOptions::new(
        Url::parse(&app.address).unwrap(),
        Auth::Bearer(key.into()),
        name.into(),
    );
    opts.collect.sample_interval = Duration::from_millis(200);
    // Long: the report deadline (2 × 60 s + timeout) cannot be what takes the host down.
    opts.interval = Some(60);
    opts.initial_backoff = Duration::from_millis(100);
    opts.max_backoff = Duration::from_millis(400);
    opts
}

struct Agent {
    task: tokio::task::JoinHandle<()>,
    events: mpsc::UnboundedReceiver<Event>,
}

impl Agent {
    fn start(opts: PushOptions) -> Agent {
        let (tx, events) = mpsc::unbounded_channel();
        Agent {
            task: tokio::spawn(push::run(opts, Some(tx))),
            events,
        }
    }

    /// The next event that `pick` takes, skipping others.
    async fn wait_for<T>(&mut self, what: &str, mut pick: impl FnMut(Event) -> Option<T>) -> T {
        let found = tokio::time::timeout(WAIT, async {
            while let Some(e) = self.events.recv().await {
                if let Some(t) = pick(e) {
                    return Some(t);
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(t)) => t,
            Ok(None) => panic!("the agent stopped before {what}"),
            Err(_) => panic!("no {what} within {WAIT:?}"),
        }
    }

    async fn accepted(&mut self) -> String {
        self.wait_for("accepted report", |e| match e {
            Event::Accepted { status } => Some(status),
            _ => None,
        })
        .await
    }

    /// Stops it as `kill -9` would: the socket drops without a close frame.
    async fn kill(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// Polls `check` until it gives a value.
async fn until<T, F: Future<Output = Option<T>>>(what: &str, mut check: impl FnMut() -> F) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(t) = check().await {
            return t;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The name of this test binary: a process that surely runs while the test does.
fn this_process() -> String {
    std::env::current_exe()
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

async fn push_goes_offline_after_the_grace_and_comes_back(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = app_with(backend, smtp.vars()).await;
    let key = key(&app, KeyScope::Ping).await;
    let host = app
        .create_host(json!({
            "name": "push-01", "interval": 60, "notify": ["ops@example.com"],
            "checks": {"cpu_pct": null, "mem_pct": null, "swap_pct": null, "disk_pct": null,
                       "gpu_temp_c": null, "load_per_core": null,
                       "processes": [{"pattern": this_process(), "min": 1}]}
        }))
        .await;

    let mut agent = Agent::start(options(&app, &key, "push-01"));
    let config = agent
        .wait_for("config", |e| match e {
            Event::Connected { host, idle_timeout } => Some((host, idle_timeout)),
            _ => None,
        })
        .await;
    let managed = config.0.expect("the inventory's host in the config");
    assert_eq!(managed.id, host.id);
    assert_eq!(managed.processes[0].pattern, this_process());
    assert_eq!(config.1, 30, "HB_AGENT_IDLE_SECS' default");
    assert_eq!(agent.accepted().await, "up");
    let up = app.host(&host.id).await;
    assert_eq!(up.status, "up", "{:?}", up.problems);
    let latest = up.latest.expect("the snapshot");
    assert!(latest.cpu_pct.is_some() && latest.mem_total_bytes.is_some());
    let required = &latest.processes.expect("processes").required;
    assert_eq!(required[0].pattern, this_process());
    assert!(required[0].count >= 1, "the required process was counted");
    let report_deadline = up.offline_at.expect("an offline deadline");

    // Killed: the socket closes; the host is offline once the grace has passed.
    agent.kill().await;
    let closed_at = app.now();
    let deadline = until("the deadline moved to close + grace", || async {
        let h = app.host(&host.id).await;
        h.offline_at.filter(|at| *at < report_deadline)
    })
    .await;
    assert_eq!(
        deadline.timestamp_millis(),
        (closed_at + chrono::Duration::seconds(2)).timestamp_millis(),
        "close time + HB_AGENT_GRACE_SECS"
    );
    assert_eq!(app.host_status(&host.id).await, "up", "within the grace");
    assert_eq!(app.run_staleness().await.flips, 0, "within the grace");
    app.advance(chrono::Duration::seconds(2));
    let run = app.run_staleness().await;
    assert_eq!((run.flips, run.alerts_queued), (1, 1));
    let down = app.host(&host.id).await;
    assert_eq!(down.status, "down");
    assert!(
        down.problems[0].starts_with("offline"),
        "{:?}",
        down.problems
    );
    assert_eq!(app.deliver().await.sent, 1);
    let mail = smtp.messages().pop().expect("the alert mail");
    assert!(
        mail.contains("To: ops@example.com") && mail.contains("push-01"),
        "{mail}"
    );

    // Back: a new connection's first report brings it up.
    let mut agent = Agent::start(options(&app, &key, "push-01"));
    assert_eq!(agent.accepted().await, "up");
    assert_eq!(app.host_status(&host.id).await, "up");
    let flips = app.host_flips(&host.id).await;
    assert_eq!(flips[0].to, "up", "{flips:?}");
    assert_eq!(flips[1].to, "down", "{flips:?}");
    agent.kill().await;
}

crate::on_every_backend!(push_goes_offline_after_the_grace_and_comes_back);

#[tokio::test]
async fn an_unknown_name_reports_into_the_inbox() {
    let app = app_with(Backend::Sqlite, Vec::new()).await;
    let key = key(&app, KeyScope::Full).await;
    let mut agent = Agent::start(options(&app, &key, "stray-07"));
    let host = agent
        .wait_for("config", |e| match e {
            Event::Connected { host, .. } => Some(host),
            _ => None,
        })
        .await;
    assert_eq!(host, None, "not in the inventory");
    assert_eq!(agent.accepted().await, "unmanaged");
    let inbox = app.inbox().await;
    let stray = inbox
        .iter()
        .find(|h| h.name == "stray-07")
        .expect("in the inbox");
    assert!(stray.latest.as_ref().is_some_and(|r| r.cpu_pct.is_some()));
    agent.kill().await;
}

#[tokio::test]
async fn a_refused_key_is_said_and_retried_with_backoff() {
    let app = app_with(Backend::Sqlite, Vec::new()).await;
    let mut agent = Agent::start(options(&app, "hb_not_a_key", "push-01"));
    let mut delays = Vec::new();
    for _ in 0..4 {
        let (error, retry_in) = agent
            .wait_for("refusal", |e| match e {
                Event::Disconnected { error, retry_in } => Some((error, retry_in)),
                _ => None,
            })
            .await;
        assert!(
            error.starts_with(
                "the server refused the API key (401 Unauthorized: invalid credentials)"
            ),
            "{error}"
        );
        delays.push(retry_in);
    }
    assert!(
        delays.iter().all(|d| *d <= Duration::from_millis(400)),
        "{delays:?}"
    );
    assert!(
        delays[3] >= Duration::from_millis(200),
        "grown to the cap: {delays:?}"
    );
    agent.kill().await;

    // A read-only key may not send reports: refused before the upgrade, with the reason.
    let read = key(&app, KeyScope::Read).await;
    let mut agent = Agent::start(options(&app, &read, "push-01"));
    let error = agent
        .wait_for("refusal", |e| match e {
            Event::Disconnected { error, .. } => Some(error),
            _ => None,
        })
        .await;
    assert!(
        error.contains("(403 Forbidden: not allowed: ping"),
        "{error}"
    );
    agent.kill().await;
}

type Raw =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A bare WebSocket client, to send what no agent would.
async fn raw(app: &TestApp, key: &str) -> Raw {
    let url = app.address.replacen("http://", "ws://", 1) + "/api/v1/agent/ws";
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {key}").parse().unwrap());
    tokio_tungstenite::connect_async(req)
        .await
        .expect("connects")
        .0
}

/// The next server message, skipping pongs; `None` when the server closed (with its reason).
async fn next(ws: &mut Raw) -> Result<ServerMessage, String> {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("the server answers")
            .map(|m| m.expect("a frame"));
        match msg {
            Some(Message::Text(t)) => {
                return Ok(serde_json::from_str(&t).expect("a server message"));
            }
            Some(Message::Close(frame)) => {
                return Err(frame
                    .map(|f| format!("{} {}", u16::from(f.code), f.reason))
                    .unwrap_or_default());
            }
            Some(_) => continue,
            None => return Err(String::new()),
        }
    }
}

async fn send(ws: &mut Raw, v: Value) {
    ws.send(Message::text(v.to_string())).await.expect("sent");
}

async fn error(ws: &mut Raw) -> String {
    match next(ws).await {
        Ok(ServerMessage::Error { error }) => error,
        other => panic!("expected an error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_silent_socket_is_closed_after_the_idle_time() {
    let app = app_with(Backend::Sqlite, vec![("HB_AGENT_IDLE_SECS", "1".into())]).await;
    let key = key(&app, KeyScope::Ping).await;
    let mut ws = raw(&app, &key).await;
    send(
        &mut ws,
        json!({"type": "hello", "name": "quiet-01", "interval": 60}),
    )
    .await;
    assert_eq!(
        next(&mut ws).await,
        Ok(ServerMessage::Config {
            host: None,
            idle_timeout: 1
        })
    );
    // Then nothing: the server closes.
    let closed = next(&mut ws).await.expect_err("closed by the server");
    assert!(closed.contains("nothing received for 1 s"), "{closed}");
}

#[tokio::test]
async fn bad_frames_are_answered_counted_and_survived() {
    let app = app_with(
        Backend::Sqlite,
        vec![("HB_MAX_REPORT_BYTES", "2048".into())],
    )
    .await;
    let key = key(&app, KeyScope::Ping).await;
    let presence = app.state.app.presence.clone();

    // A first frame that is not a hello ends the socket.
    let mut ws = raw(&app, &key).await;
    send(&mut ws, json!({"type": "report", "report": {"cpu_pct": 1}})).await;
    assert!(
        error(&mut ws)
            .await
            .starts_with("the first message must be a hello")
    );
    assert!(next(&mut ws).await.is_err(), "closed");
    let mut ws = raw(&app, &key).await;
    send(
        &mut ws,
        json!({"type": "hello", "name": " ", "interval": 60}),
    )
    .await;
    assert_eq!(error(&mut ws).await, "hello refused: name: is required");

    let mut ws = raw(&app, &key).await;
    send(
        &mut ws,
        json!({"type": "hello", "name": "odd-01", "interval": 60}),
    )
    .await;
    assert!(matches!(
        next(&mut ws).await,
        Ok(ServerMessage::Config { .. })
    ));
    ws.send(Message::text("{not json")).await.unwrap();
    assert!(error(&mut ws).await.starts_with("invalid JSON: "));
    ws.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    assert_eq!(
        error(&mut ws).await,
        "binary frames are not read; send JSON text frames"
    );
    send(
        &mut ws,
        json!({"type": "report", "report": {"cpu_pct": 101}}),
    )
    .await;
    assert_eq!(
        error(&mut ws).await,
        "report refused: cpu_pct: must be between 0 and 100"
    );
    send(
        &mut ws,
        json!({"type": "report", "report": {"name": "other-02", "cpu_pct": 1}}),
    )
    .await;
    assert!(error(&mut ws).await.starts_with(
        "report refused: report.name: must be the name this connection said hello with"
    ));
    send(&mut ws, json!({"type": "bye"})).await;
    assert_eq!(
        error(&mut ws).await,
        "unknown message type \"bye\"; expected \"report\""
    );
    // Still open: a good report is stored.
    send(
        &mut ws,
        json!({"type": "report", "report": {"cpu_pct": 12.5}}),
    )
    .await;
    assert_eq!(
        next(&mut ws).await,
        Ok(ServerMessage::Accepted {
            status: "unmanaged".into()
        })
    );
    assert!(
        presence.refused_frames() >= 7,
        "{}",
        presence.refused_frames()
    );

    // A frame over HB_MAX_REPORT_BYTES breaks the framing: said, then closed (1009).
    let big = json!({"type": "report", "report": {"cpu_pct": 1, "error": "x".repeat(4000)}});
    send(&mut ws, big).await;
    assert_eq!(
        error(&mut ws).await,
        "frame larger than 2048 bytes (HB_MAX_REPORT_BYTES); send one report per frame"
    );
    let closed = next(&mut ws).await.expect_err("closed");
    assert!(closed.starts_with("1009 "), "{closed}");
    // The server is fine.
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn a_newer_socket_for_the_same_name_replaces_the_older() {
    let app = app_with(Backend::Sqlite, Vec::new()).await;
    let key = key(&app, KeyScope::Ping).await;
    let host = app
        .create_host(json!({"name": "twin-01", "interval": 60}))
        .await;
    let hello = json!({"type": "hello", "name": "twin-01", "interval": 60});
    let mut first = raw(&app, &key).await;
    send(&mut first, hello.clone()).await;
    assert!(matches!(
        next(&mut first).await,
        Ok(ServerMessage::Config { host: Some(_), .. })
    ));
    send(
        &mut first,
        json!({"type": "report", "report": {"cpu_pct": 3}}),
    )
    .await;
    assert!(matches!(
        next(&mut first).await,
        Ok(ServerMessage::Accepted { .. })
    ));
    let deadline = app.host(&host.id).await.offline_at;

    let mut second = raw(&app, &key).await;
    send(&mut second, hello).await;
    assert!(matches!(
        next(&mut second).await,
        Ok(ServerMessage::Config { .. })
    ));
    assert_eq!(
        error(&mut first).await,
        "another connection for host twin-01 took over; this one is closed (two agents with one name?)"
    );
    let closed = next(&mut first).await.expect_err("the older is closed");
    assert!(
        closed.contains("replaced by a newer connection"),
        "{closed}"
    );
    // The newer socket is the host's presence: the deadline did not move.
    send(
        &mut second,
        json!({"type": "report", "report": {"cpu_pct": 4}}),
    )
    .await;
    assert!(matches!(
        next(&mut second).await,
        Ok(ServerMessage::Accepted { .. })
    ));
    assert_eq!(app.host(&host.id).await.offline_at, deadline);
    assert_eq!(app.state.app.presence.connected(), 1);
}
