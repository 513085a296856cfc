//! `hb-agent watch` against a real sshd: the master connection is reused, a killed one is
//! reopened, an unreachable host is reported, and SIGTERM leaves no ssh process and no
//! control socket behind.
//!
//! The host list and the reports endpoint come from `Inventory` below, a few lines of
//! HTTP standing in for the server, which cannot be built into the agent's tests; the
//! end-to-end tests against the real server are in tests/api/agent_watch.rs.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hb_agent::collect;
use hb_agent::config::{Config, Host};
use hb_agent::watch::master::{ControlDir, Master};
use hb_agent::watch::session::Session;
use hb_agent::watch::{self, Control, WatchArgs};
use heartbeats_wire::agent::{AgentHost, AgentHosts};
use heartbeats_wire::hosts::{HostReport, ReportBatch, SshOverrides};
use tokio::sync::mpsc;

use crate::helpers::*;

/// Generous: the test machine has 2 cores shared with builds.
const PATIENCE: Duration = Duration::from_secs(90);

/// The host list to serve and the reports received.
#[derive(Default)]
struct State {
    hosts: Vec<AgentHost>,
    reports: Vec<HostReport>,
    /// Answer 503 to everything (the server is "down").
    down: bool,
    /// `collector=` of the last host-list request.
    collector: Option<String>,
}

struct Inventory {
    url: String,
    state: Arc<Mutex<State>>,
}

impl Inventory {
    fn start() -> Inventory {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = shared.clone();
                std::thread::spawn(move || serve(stream, &state));
            }
        });
        Inventory { url, state }
    }

    fn set_hosts(&self, hosts: Vec<AgentHost>) {
        self.state.lock().unwrap().hosts = hosts;
    }

    fn set_down(&self, down: bool) {
        self.state.lock().unwrap().down = down;
    }

    fn reports(&self) -> Vec<HostReport> {
        self.state.lock().unwrap().reports.clone()
    }

    /// Waits until `pred` holds for the reports received.
    fn wait_reports(&self, what: &str, pred: impl Fn(&[HostReport]) -> bool) -> Vec<HostReport> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let reports = self.reports();
            if pred(&reports) {
                return reports;
            }
            assert!(
                Instant::now() < deadline,
                "no {what} within {PATIENCE:?}; reports: {reports:#?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut length = 0usize;
    let mut auth = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("authorization:") {
            auth = line["authorization:".len()..].trim().to_owned();
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, reply) = {
        let mut s = state.lock().unwrap();
        if s.down {
            (503, r#"{"error":"maintenance"}"#.to_owned())
        } else if auth != "Bearer test-key" {
            (401, r#"{"error":"bad key"}"#.to_owned())
        } else if method == "GET" && target.starts_with("/api/v1/agent/hosts") {
            s.collector = target.split_once("collector=").map(|(_, c)| c.to_owned());
            let list = AgentHosts {
                hosts: s.hosts.clone(),
            };
            (200, serde_json::to_string(&list).unwrap())
        } else if method == "POST" && target == "/api/v1/hosts/reports" {
            let batch: ReportBatch = serde_json::from_slice(&body).expect("a report batch");
            let n = batch.reports.len();
            s.reports.extend(batch.reports);
            (200, format!(r#"{{"ok":true,"accepted":{n},"hosts":[]}}"#))
        } else {
            (404, r#"{"error":"not found"}"#.to_owned())
        }
    };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
        reply.len()
    );
}

fn agent_host(id: &str, name: &str, port: Option<u16>) -> AgentHost {
    AgentHost {
        id: id.into(),
        name: name.into(),
        address: Some("127.0.0.1".into()),
        interval: 2,
        ssh: SshOverrides {
            port,
            ..Default::default()
        },
        processes: Vec::new(),
        units: Vec::new(),
        discover_units: false,
    }
}

/// A `watch` config for `sshd`, reporting to `inventory`.
fn watch_config(sshd: &TestSshd, inventory: &Inventory) -> PathBuf {
    let yaml = sshd.config("  - address: 127.0.0.1\n", "").replace(
        "  url: http://127.0.0.1:9\n",
        &format!("  url: {}\n  api_key: test-key\n", inventory.url),
    );
    let path = sshd.path("watch.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

fn first_host(sshd: &TestSshd) -> Host {
    let yaml = sshd.config("  - address: 127.0.0.1\n    name: box\n", "");
    Config::from_yaml(&yaml, "test.yaml")
        .unwrap()
        .hosts
        .remove(0)
}

/// Client ports of TCP connections to `port` on 127.0.0.1 that exist or closed less
/// than a minute ago (TIME_WAIT): one per SSH connection made.
fn tcp_connections(port: u16) -> BTreeSet<u16> {
    let text = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let mut clients = BTreeSet::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let port_of =
            |addr: &str| u16::from_str_radix(addr.rsplit(':').next().unwrap(), 16).unwrap();
        let (local, remote) = (port_of(f[1]), port_of(f[2]));
        // The listening socket has remote port 0.
        if local == port && remote != 0 {
            clients.insert(remote);
        } else if remote == port {
            clients.insert(local);
        }
    }
    clients
}

/// Pids of `ssh` processes whose command line mentions `needle`.
fn ssh_pids(needle: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = raw
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let is_ssh = args
            .first()
            .is_some_and(|a| a == "ssh" || a.ends_with("/ssh"));
        if is_ssh && args.iter().any(|a| a.contains(needle)) {
            pids.push(pid);
        }
    }
    pids
}

fn wait_for(what: &str, mut pred: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !pred() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {PATIENCE:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn collections_reuse_one_master_connection() {
    let sshd = TestSshd::start(Gpu::Absent);
    let host = first_host(&sshd);
    let before = tcp_connections(sshd.port);
    let dir = ControlDir::create_in(sshd.dir.path()).unwrap();
    let master = Master::open(&host, dir.socket_path())
        .await
        .expect("master");
    let mut routed = host.clone();
    routed.ssh.control_path = Some(master.path().to_owned());
    let settings = hb_agent::config::CollectSettings {
        sample_interval: Duration::from_millis(100),
        top: 3,
    };
    for _ in 0..3 {
        let sample = collect::collect(&routed, &settings)
            .await
            .expect("collected");
        assert!(sample.cpu.cores >= 1);
    }
    let check = hb_agent::ssh::control_check_command(&host, master.path())
        .output()
        .await
        .unwrap();
    assert!(check.status.success(), "ssh -O check: {check:?}");
    let made = tcp_connections(sshd.port).difference(&before).count();
    assert_eq!(made, 1, "three collections over one connection");

    // The same three without the master: three connections.
    let before = tcp_connections(sshd.port);
    for _ in 0..3 {
        collect::collect(&host, &settings).await.expect("collected");
    }
    assert_eq!(tcp_connections(sshd.port).difference(&before).count(), 3);

    let socket = master.path().to_owned();
    master.close().await;
    assert!(!socket.exists(), "the socket is removed");
    assert!(sshd.ssh_clients().is_empty(), "{:?}", sshd.ssh_clients());
    let dir_path = dir.path().to_owned();
    drop(dir);
    assert!(!dir_path.exists());
}

/// Pids of processes whose command line is exactly `args`.
fn pids_running(args: &[&str]) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let got: Vec<String> = raw
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if got == args {
            pids.push(pid);
        }
    }
    pids
}

#[tokio::test]
async fn a_session_collects_each_cycle_without_a_new_process() {
    let sshd = TestSshd::start(Gpu::Absent);
    let host = first_host(&sshd);
    let before = tcp_connections(sshd.port);
    let dir = ControlDir::create_in(sshd.dir.path()).unwrap();
    let master = Master::open(&host, dir.socket_path())
        .await
        .expect("master");
    let socket = master.path().to_string_lossy().into_owned();
    let mut routed = host.clone();
    routed.ssh.control_path = Some(master.path().to_owned());
    let settings = hb_agent::config::CollectSettings {
        sample_interval: Duration::from_millis(100),
        top: 3,
    };
    let mut session = Session::open(&routed, collect::SCRIPT)
        .await
        .expect("session");
    let clients = ssh_pids(&socket);
    assert_eq!(clients.len(), 2, "the master and the session: {clients:?}");
    let limit = routed.ssh.command_timeout;
    let mut selves = BTreeSet::new();
    for _ in 0..3 {
        let prepared = collect::Prepared::new(&routed, &settings);
        let out = session.run(&prepared.args, limit).await.expect("ran");
        let sample = prepared.finish(&out, session.loop_pid()).expect("parsed");
        assert!(sample.cpu.cores >= 1);
        assert!(sample.disks.is_some() && sample.processes.is_some());
        // Neither the remote loop nor the collection's own shell is in the list.
        assert!(session.loop_pid().is_some());
        let listed = |pid| sample.process_list().iter().any(|p| p.pid == pid);
        assert!(!listed(session.loop_pid().unwrap()));
        let own: u32 = out
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("@@hb self "))
            .unwrap()
            .parse()
            .unwrap();
        assert!(!listed(own));
        selves.insert(own);
    }
    assert_eq!(selves.len(), 3, "a new shell per request: {selves:?}");
    assert_eq!(ssh_pids(&socket), clients, "no new ssh process per cycle");
    assert_eq!(tcp_connections(sshd.port).difference(&before).count(), 1);

    // A request that outlives the limit kills the session, and what it ran remotely.
    let slow = hb_agent::config::CollectSettings {
        sample_interval: Duration::from_millis(4321),
        top: 3,
    };
    let prepared = collect::Prepared::new(&routed, &slow);
    let err = session
        .run(&prepared.args, Duration::from_millis(1500))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "collection timed out after 1.5 s");
    session.close().await;
    wait_for("the session's ssh client to end", || {
        ssh_pids(&socket).len() == 1
    });
    wait_for("the remote sleep to end", || {
        pids_running(&["sleep", "4.321"]).is_empty()
    });
    // A new session on the same master works.
    let mut again = Session::open(&routed, collect::SCRIPT)
        .await
        .expect("session");
    let prepared = collect::Prepared::new(&routed, &settings);
    let out = again.run(&prepared.args, limit).await.expect("ran");
    prepared.finish(&out, again.loop_pid()).expect("parsed");
    again.close().await;
    master.close().await;
    wait_for("no ssh client left", || sshd.ssh_clients().is_empty());
}

#[tokio::test]
async fn a_master_that_cannot_connect_says_why() {
    let sshd = TestSshd::start(Gpu::Absent);
    let mut host = first_host(&sshd);
    host.ssh.port = Some(free_port());
    let dir = ControlDir::create_in(sshd.dir.path()).unwrap();
    let err = Master::open(&host, dir.socket_path()).await.unwrap_err();
    assert_eq!(err.to_string(), "unreachable: connection refused");
    assert!(sshd.ssh_clients().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_reports_reopens_a_killed_master_and_follows_the_list() {
    let sshd = TestSshd::start(Gpu::Busy);
    let inventory = Inventory::start();
    let closed = free_port();
    inventory.set_hosts(vec![
        agent_host("h1", "gpu-01", None),
        agent_host("h2", "down-1", Some(closed)),
    ]);
    let config = watch_config(&sshd, &inventory);
    let opts = watch::settings::options(&WatchArgs {
        config: Some(config),
        collector: Some("rack-7".into()),
        ..Default::default()
    })
    .unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let run = tokio::spawn(watch::run(opts, rx));

    let ok = |r: &HostReport| r.name.as_deref() == Some("gpu-01") && r.error.is_none();
    let reports = tokio::task::block_in_place(|| {
        inventory.wait_reports("two snapshots of gpu-01 and an error for down-1", |rs| {
            rs.iter().filter(|r| ok(r)).count() >= 2
                && rs.iter().any(|r| r.name.as_deref() == Some("down-1"))
        })
    });
    assert_eq!(
        inventory.state.lock().unwrap().collector.as_deref(),
        Some("rack-7")
    );
    let snapshot = reports.iter().find(|r| ok(r)).unwrap();
    assert_eq!((snapshot.interval, snapshot.timeout), (Some(2), Some(20)));
    assert_eq!(snapshot.gpus.as_ref().map(Vec::len), Some(2));
    assert!(snapshot.cpu_pct.is_some() && snapshot.mem_total_bytes.is_some());
    let down = reports
        .iter()
        .find(|r| r.name.as_deref() == Some("down-1"))
        .unwrap();
    assert_eq!(
        down.error.as_deref(),
        Some("unreachable: connection refused")
    );

    // One master for gpu-01 (down-1 has none: its connection is refused).
    let masters = ssh_pids(&format!("{}", sshd.port));
    let masters: Vec<u32> = masters.into_iter().filter(|pid| is_master(*pid)).collect();
    assert_eq!(masters.len(), 1, "{masters:?}");
    let connections = tcp_connections(sshd.port).len();
    tokio::task::block_in_place(|| {
        let seen = inventory.reports().iter().filter(|r| ok(r)).count();
        inventory.wait_reports("more snapshots", |rs| {
            rs.iter().filter(|r| ok(r)).count() >= seen + 2
        });
    });
    assert_eq!(
        tcp_connections(sshd.port).len(),
        connections,
        "later cycles open no new connection"
    );

    // The master dies: the next cycles open a new one and collect again.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(masters[0] as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    tokio::task::block_in_place(|| {
        wait_for("a new master", || {
            ssh_pids(&format!("{}", sshd.port))
                .into_iter()
                .any(|p| is_master(p) && p != masters[0])
        });
        let seen = inventory.reports().len();
        inventory.wait_reports("a snapshot after the reopening", |rs| {
            rs[seen..].iter().any(ok)
        });
    });

    // gpu-01 leaves the list: its master goes, down-1 is still reported.
    inventory.set_hosts(vec![agent_host("h2", "down-1", Some(closed))]);
    tokio::task::block_in_place(|| {
        wait_for("gpu-01's master to end", || {
            !ssh_pids(&format!("{}", sshd.port))
                .into_iter()
                .any(is_master)
        });
        let seen = inventory.reports().len();
        inventory.wait_reports("two more reports of down-1", |rs| {
            rs[seen..]
                .iter()
                .filter(|r| r.name.as_deref() == Some("down-1"))
                .count()
                >= 2
        });
        let after = inventory.reports().len();
        std::thread::sleep(Duration::from_secs(3));
        assert!(
            !inventory.reports()[after..]
                .iter()
                .any(|r| r.name.as_deref() == Some("gpu-01")),
            "gpu-01 is no longer collected"
        );
    });

    tx.send(Control::Shutdown).unwrap();
    let stats = run.await.unwrap().expect("watch ran");
    assert!(stats.masters_opened >= 2, "{stats}");
    assert!(sshd.ssh_clients().is_empty(), "{:?}", sshd.ssh_clients());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_wait_for_the_server_and_arrive_in_order() {
    let sshd = TestSshd::start(Gpu::Absent);
    let inventory = Inventory::start();
    inventory.set_hosts(vec![agent_host("h1", "box", None)]);
    let opts = watch::settings::options(&WatchArgs {
        config: Some(watch_config(&sshd, &inventory)),
        ..Default::default()
    })
    .unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let run = tokio::spawn(watch::run(opts, rx));
    tokio::task::block_in_place(|| {
        inventory.wait_reports("a first report", |rs| !rs.is_empty());
    });
    inventory.set_down(true);
    let down_since = chrono::Utc::now();
    tokio::time::sleep(Duration::from_secs(7)).await;
    let up_since = chrono::Utc::now();
    inventory.set_down(false);
    // Collected while every request was refused: they can only have come from the buffer.
    let reports = tokio::task::block_in_place(|| {
        inventory.wait_reports("the reports collected while the server was down", |rs| {
            rs.iter()
                .filter(|r| {
                    r.at.is_some_and(|at| at > down_since && at < up_since) && r.error.is_none()
                })
                .count()
                >= 2
        })
    });
    let times: Vec<_> = reports.iter().filter_map(|r| r.at).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "oldest first");
    tx.send(Control::Shutdown).unwrap();
    let stats = run.await.unwrap().unwrap();
    assert_eq!(stats.dropped, 0, "{stats}");
    assert!(sshd.ssh_clients().is_empty());
}

fn is_master(pid: u32) -> bool {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    raw.split(|b| *b == 0).any(|a| a == b"ControlMaster=yes")
}

/// The binary, stopped with SIGTERM: exit 0, no ssh process left, no control socket
/// or directory left.
#[test]
fn sigterm_leaves_no_ssh_process_and_no_socket() {
    let sshd = TestSshd::start(Gpu::Absent);
    let inventory = Inventory::start();
    inventory.set_hosts(vec![
        agent_host("h1", "box", None),
        agent_host("h2", "box-2", None),
    ]);
    let config = watch_config(&sshd, &inventory);
    let runtime_dir = tempfile::tempdir().unwrap();
    let log = sshd.path("watch.log");
    let mut agent = Command::new(env!("CARGO_BIN_EXE_hb-agent"))
        .args(["watch", "--config"])
        .arg(&config)
        .env("XDG_RUNTIME_DIR", runtime_dir.path())
        .env("RUST_LOG", "info")
        .env_remove("HB_API_KEY")
        .env_remove("HB_SERVER")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let masters = || {
        ssh_pids(&format!("{}", sshd.port))
            .into_iter()
            .filter(|p| is_master(*p))
            .count()
    };
    inventory.wait_reports("reports of both hosts", |rs| {
        ["box", "box-2"].iter().all(|n| {
            rs.iter()
                .any(|r| r.name.as_deref() == Some(n) && r.error.is_none())
        })
    });
    wait_for("two masters", || masters() == 2);
    let sockets = control_sockets(runtime_dir.path());
    assert_eq!(sockets.len(), 2, "{sockets:?}");

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(agent.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = agent.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the agent did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(0), "{text}");
    assert!(text.contains("SIGTERM: stopping"), "{text}");
    assert!(sshd.ssh_clients().is_empty(), "{:?}", sshd.ssh_clients());
    let left: Vec<_> = std::fs::read_dir(runtime_dir.path())
        .unwrap()
        .flatten()
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Sockets in the agent's control directory under `runtime`.
fn control_sockets(runtime: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for dir in std::fs::read_dir(runtime).unwrap().flatten() {
        if let Ok(entries) = std::fs::read_dir(dir.path()) {
            found.extend(entries.flatten().map(|e| e.path()));
        }
    }
    found
}
