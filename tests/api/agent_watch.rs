//! `hb-agent watch` against the real server and a real sshd: hosts added through the API
//! are collected, removed ones are not; sshd stopped → the host is down and one alert is
//! mailed; sshd back → recovery; the server away for a few cycles → the buffered
//! snapshots arrive afterwards; stopping leaves no ssh process.
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hb_agent::watch::{self, Control, Stats, WatchArgs};
use heartbeats::domain::role::KeyScope;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::helpers::{ADMIN, Options, SmtpServer, TestApp};
use crate::sshd::{Gpu, TestSshd};
use crate::tcp_proxy::TcpProxy;

/// Generous: the test machine has 2 cores shared with builds.
const PATIENCE: Duration = Duration::from_secs(120);

/// A server whose clock follows the real one (the agent stamps reports with real time).
async fn app(vars: Vec<(&'static str, String)>) -> TestApp {
    let app = TestApp::spawn_with(
        crate::helpers::Backend::Sqlite,
        Options {
            start: chrono::Utc::now(),
            vars,
        },
    )
    .await;
    let clock = app.clock.clone();
    tokio::spawn(async move {
        loop {
            clock.set(chrono::Utc::now());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    app
}

async fn collector_key(app: &TestApp) -> String {
    heartbeats::app::keys::create(
        &app.state.app,
        &heartbeats::app::Actor::cli(),
        ADMIN,
        "watch",
        KeyScope::Ping,
    )
    .await
    .expect("key")
    .key
}

/// A running `watch`, as the library runs it under the binary.
struct Watch {
    control: mpsc::UnboundedSender<Control>,
    task: JoinHandle<Result<Stats, watch::WatchError>>,
}

impl Watch {
    /// Collects for `server` with `sshd`'s user key and known_hosts.
    fn start(sshd: &TestSshd, server: &str, key: &str) -> Watch {
        let config = sshd.path("watch.yaml");
        std::fs::write(
            &config,
            format!(
                "server:\n  url: {server}\n  api_key: {key}\n  timeout: 5s\n\
                 ssh:\n  user: {user}\n  private_key: {pk}\n  known_hosts: {kh}\n  command_timeout: 20s\n\
                 collect:\n  sample_interval: 0.2s\n",
                user = sshd.user,
                pk = sshd.path("user_key").display(),
                kh = sshd.known_hosts().display(),
            ),
        )
        .unwrap();
        let opts = watch::settings::options(&WatchArgs {
            config: Some(config),
            ..Default::default()
        })
        .expect("watch settings");
        let (control, rx) = mpsc::unbounded_channel();
        Watch {
            control,
            task: tokio::spawn(watch::run(opts, rx)),
        }
    }

    async fn stop(self) -> Stats {
        self.control.send(Control::Shutdown).unwrap();
        self.task.await.unwrap().expect("watch ran")
    }
}

async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + PATIENCE;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {PATIENCE:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The host's latest snapshot time, once it has one without an error.
async fn collected_at(app: &TestApp, id: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let host = app.host(id).await;
    host.latest
        .filter(|l| l.error.is_none() && l.cpu_pct.is_some())
        .and_then(|l| l.at)
}

/// ssh master processes connected to `port`.
fn masters(port: u16) -> usize {
    crate::sshd::ssh_clients_for(port)
        .iter()
        .filter(|c| c.contains("ControlMaster=yes"))
        .count()
}

/// Stops sshd and every connection it serves, as a host going away does.
fn stop_sshd(sshd: &TestSshd, restarted: Option<Child>) {
    if let Some(mut child) = restarted {
        kill_tree(child.id());
        let _ = child.wait();
        return;
    }
    let config = sshd.path("sshd_config");
    for pid in pids_with_arg(&config.display().to_string()) {
        kill_tree(pid);
    }
}

/// sshd again, on the same port with the same keys.
fn restart_sshd(sshd: &TestSshd) -> Child {
    Command::new("/usr/sbin/sshd")
        .args(["-D", "-e", "-f"])
        .arg(sshd.path("sshd_config"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sshd")
}

fn pids_with_arg(needle: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        // sshd rewrites its title into one string ("sshd: /usr/sbin/sshd -D -f ... [listener]").
        let raw = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&raw).contains(needle) {
            pids.push(pid);
        }
    }
    pids
}

/// SIGKILL to `pid` and all its descendants (sshd's per-connection processes).
fn kill_tree(pid: u32) {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid)
            && let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>()
        {
            children.push(child);
        }
    }
    signal(pid, "STOP");
    for child in children {
        kill_tree(child);
    }
    signal(pid, "KILL");
}

fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status();
}

fn listening(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_follows_the_inventory_and_a_host_that_goes_down_and_back() {
    let smtp = SmtpServer::start().await;
    let app = app(smtp.vars()).await;
    let key = collector_key(&app).await;
    let sshd = TestSshd::start(Gpu::Busy);
    let host = |name: &str| {
        json!({"name": name, "address": "127.0.0.1", "interval": 2,
               "ssh": {"port": sshd.port}, "notify": ["ops@example.com"]})
    };
    let web = app.create_host(host("web-1")).await;
    let watch = Watch::start(&sshd, &app.address, &key);

    wait_until("web-1 collected", || async {
        collected_at(&app, &web.id).await.is_some()
    })
    .await;
    assert_eq!(app.host_status(&web.id).await, "up");
    let latest = app.host(&web.id).await.latest.unwrap();
    assert_eq!((latest.interval, latest.timeout), (Some(2), Some(20)));
    assert_eq!(latest.gpus.as_ref().map(Vec::len), Some(2));

    // Added while watch runs: collected within a cycle or two (the list is re-read at
    // least once per shortest interval).
    let db = app.create_host(host("db-1")).await;
    wait_until("db-1 collected", || async {
        collected_at(&app, &db.id).await.is_some()
    })
    .await;
    wait_until("a master per host", || async { masters(sshd.port) == 2 }).await;

    // Removed: its connection is closed and it gets no more reports.
    let resp = app.delete(&format!("/api/v1/hosts/{}", db.id)).await;
    assert!(resp.status().is_success(), "{}", resp.status());
    wait_until("db-1's master closed", || async { masters(sshd.port) == 1 }).await;
    let inbox_before = app.inbox().await.len();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        app.inbox().await.len(),
        inbox_before,
        "no report for the removed host (it would land in the inbox)"
    );

    // sshd goes away with its connections: the host is down at once, one alert.
    assert_eq!(app.deliver().await.sent, 0);
    stop_sshd(&sshd, None);
    wait_until("sshd gone", || async { !listening(sshd.port) }).await;
    wait_until("web-1 down", || async {
        app.host_status(&web.id).await == "down"
    })
    .await;
    let latest = app.host(&web.id).await.latest.unwrap();
    assert!(
        latest
            .error
            .as_deref()
            .is_some_and(|e| e.contains("connection refused") || e.starts_with("ssh failed")),
        "{latest:?}"
    );
    assert_eq!(app.deliver().await.sent, 1);
    // Still down a few cycles later (reported from the backoff), and no second alert.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(app.host_status(&web.id).await, "down");
    assert_eq!(app.deliver().await.sent, 0, "one alert");
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("DOWN: web-1"), "{}", mails[0]);

    // sshd back: a new master, a snapshot, recovery.
    let restarted = restart_sshd(&sshd);
    wait_until("sshd listening", || async { listening(sshd.port) }).await;
    wait_until("web-1 up again", || async {
        app.host_status(&web.id).await == "up"
    })
    .await;
    assert_eq!(app.deliver().await.sent, 1);
    assert!(
        smtp.messages().iter().any(|m| m.contains("UP: web-1")),
        "{:?}",
        smtp.messages()
    );

    // Stopping closes every connection: no ssh process left.
    let stats = watch.stop().await;
    assert!(stats.masters_opened >= 3, "{stats}");
    assert!(
        crate::sshd::ssh_clients_for(sshd.port).is_empty(),
        "{:?}",
        crate::sshd::ssh_clients_for(sshd.port)
    );
    stop_sshd(&sshd, Some(restarted));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_taken_while_the_server_is_away_arrive_afterwards() {
    let app = app(Vec::new()).await;
    let key = collector_key(&app).await;
    let sshd = TestSshd::start(Gpu::Absent);
    let upstream = app.address.trim_start_matches("http://").parse().unwrap();
    let proxy = TcpProxy::start(upstream).await;
    let host = app
        .create_host(
            json!({"name": "web-1", "address": "127.0.0.1", "interval": 2,
                            "ssh": {"port": sshd.port}}),
        )
        .await;
    let watch = Watch::start(&sshd, &format!("http://127.0.0.1:{}", proxy.port), &key);
    wait_until("web-1 collected", || async {
        collected_at(&app, &host.id).await.is_some()
    })
    .await;

    // The server is unreachable for three cycles or more.
    proxy.cut();
    let cut_at = chrono::Utc::now();
    tokio::time::sleep(Duration::from_secs(7)).await;
    let back_at = chrono::Utc::now();
    proxy.restore().await;
    wait_until("a snapshot newer than the outage", || async {
        collected_at(&app, &host.id)
            .await
            .is_some_and(|at| at > back_at)
    })
    .await;
    let stats = watch.stop().await;
    assert_eq!(stats.dropped, 0, "{stats}");
    assert_eq!(stats.posted, stats.collections, "{stats}");

    // Every snapshot reached the history, those of the outage included: one CPU sample
    // per successful collection.
    app.advance(chrono::Duration::minutes(2));
    app.run_rollups().await;
    let samples = cpu_samples(&app, &host.id).await;
    assert_eq!(samples, stats.collections - stats.failures, "{stats}");
    // The outage spanned three cycles or more, so that count includes them.
    assert!((back_at - cut_at).num_seconds() >= 6);
    assert!(crate::sshd::ssh_clients_for(sshd.port).is_empty());
}

/// CPU samples stored for `host` (SQLite): one per report with a `cpu_pct`.
async fn cpu_samples(app: &TestApp, host: &str) -> u64 {
    let row = app
        .db
        .query_one_raw(Statement::from_sql_and_values(
            app.db.get_database_backend(),
            "SELECT COALESCE(SUM(n), 0) FROM host_minutes WHERE host_id = ? AND metric = 'cpu_pct'",
            [host.into()],
        ))
        .await
        .expect("query")
        .expect("a row");
    let n: i64 = row.try_get_by_index(0).expect("a count");
    u64::try_from(n).unwrap_or(0)
}

/// `run` posts its snapshots as host reports, with the cron period as their interval.
#[tokio::test]
async fn run_posts_its_snapshots_as_host_reports() {
    use hb_agent::pass::{ReportsOutcome, post_reports};
    let app = app(Vec::new()).await;
    let key = collector_key(&app).await;
    let host = app
        .create_host(json!({"name": "cron-box", "interval": 600}))
        .await;
    let service = app.interval_service("fleet", 300, 60).await;
    let yaml = |auth: &str| {
        format!(
            "server:\n  url: {}\n  service: {service}\n{auth}  retries: 0\n\
             collect:\n  sample_interval: 0.1s\nhosts:\n  - {{name: cron-box, local: true}}\n",
            app.address
        )
    };
    let cfg = hb_agent::Config::from_yaml(&yaml(&format!("  api_key: {key}\n")), "run.yaml")
        .expect("config");
    let outcome = hb_agent::run_pass(
        &cfg,
        &hb_agent::PassOptions {
            ping: true,
            host: None,
        },
    )
    .await
    .expect("pass");
    let sent = post_reports(&cfg, &outcome.report, Some(300)).await;
    assert!(
        matches!(sent, ReportsOutcome::Sent { accepted: 1 }),
        "{sent:?}"
    );
    let latest = app.host(&host.id).await.latest.expect("a snapshot");
    assert_eq!(latest.interval, Some(300));
    assert!(latest.cpu_pct.is_some() && latest.error.is_none());

    // Without credentials nothing is tried.
    let cfg = hb_agent::Config::from_yaml(&yaml(""), "run.yaml").expect("config");
    assert!(matches!(
        post_reports(&cfg, &outcome.report, None).await,
        ReportsOutcome::NoCredentials
    ));
}
