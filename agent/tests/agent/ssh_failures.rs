use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::helpers::*;

#[tokio::test]
async fn closed_port_is_unreachable() {
    let sshd = TestSshd::start(Gpu::Absent);
    let port = free_port();
    let report = check(&sshd.config(
        &format!("  - address: 127.0.0.1\n    ssh: {{port: {port}}}\n"),
        "",
    ))
    .await;
    assert_eq!(
        report.problems,
        ["127.0.0.1 unreachable: connection refused"]
    );
    let h = &report.hosts[0];
    assert_eq!(h.error.as_deref(), Some("unreachable: connection refused"));
    assert!(h.cpu.is_none() && !h.ok);
}

#[tokio::test]
async fn silent_server_times_out_on_connect() {
    let sshd = TestSshd::start(Gpu::Absent);
    // The kernel completes TCP handshakes into the backlog; nobody ever says "SSH-2.0".
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let started = Instant::now();
    let report = check(&sshd.config(
        &format!("  - address: 127.0.0.1\n    name: 10.0.0.7\n    ssh: {{port: {port}, connect_timeout: 1}}\n"),
        "",
    ))
    .await;
    assert_eq!(
        report.problems,
        ["10.0.0.7 unreachable: connection timed out after 1 s"]
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn changed_host_key_is_refused() {
    let sshd = TestSshd::start(Gpu::Absent);
    keygen(&sshd.path("other_key"));
    let other = std::fs::read_to_string(sshd.path("other_key.pub")).unwrap();
    let known = sshd.path("wrong_known_hosts");
    std::fs::write(&known, format!("[127.0.0.1]:{} {other}", sshd.port)).unwrap();
    for policy in ["strict", "accept-new"] {
        let report = check(&sshd.config(
            &format!("  - address: 127.0.0.1\n    name: web-1\n    ssh: {{known_hosts: {}, host_key_policy: {policy}}}\n", known.display()),
            "",
        ))
        .await;
        assert_eq!(
            report.problems,
            ["web-1 host key mismatch (refused; possible man-in-the-middle)"],
            "{policy}"
        );
    }
}

#[tokio::test]
async fn unknown_host_key_strict_refuses_accept_new_records() {
    let sshd = TestSshd::start(Gpu::Absent);
    let known = sshd.path("empty_known_hosts");
    std::fs::write(&known, "").unwrap();
    let host = |policy: &str| {
        format!(
            "  - address: 127.0.0.1\n    name: web-1\n    ssh: {{known_hosts: {}, host_key_policy: {policy}}}\n",
            known.display()
        )
    };
    let report = check(&sshd.config(&host("strict"), "")).await;
    assert_eq!(report.problems.len(), 1);
    assert!(
        report.problems[0].starts_with("web-1 host key unknown"),
        "{:?}",
        report.problems
    );

    let report = check(&sshd.config(&host("accept-new"), "")).await;
    assert!(report.hosts[0].error.is_none(), "{:?}", report.problems);
    // Debian's ssh_config hashes known_hosts entries; ssh-keygen -F finds them either way.
    let lookup = std::process::Command::new("ssh-keygen")
        .arg("-F")
        .arg(format!("[127.0.0.1]:{}", sshd.port))
        .arg("-f")
        .arg(&known)
        .output()
        .unwrap();
    assert!(
        lookup.status.success(),
        "{:?}",
        std::fs::read_to_string(&known)
    );
    let report = check(&sshd.config(&host("strict"), "")).await;
    assert!(
        report.hosts[0].error.is_none(),
        "recorded key accepted later: {:?}",
        report.problems
    );
}

#[tokio::test]
async fn wrong_user_key_fails_authentication() {
    let sshd = TestSshd::start(Gpu::Absent);
    keygen(&sshd.path("stranger_key"));
    let report = check(&sshd.config(
        &format!(
            "  - address: 127.0.0.1\n    ssh: {{private_key: {}}}\n",
            sshd.path("stranger_key").display()
        ),
        "",
    ))
    .await;
    // ssh-agent keys would be tried too; none are authorised here either.
    assert_eq!(
        report.problems,
        [format!(
            "127.0.0.1 authentication failed for user {}",
            sshd.user
        )]
    );
}

#[tokio::test]
async fn command_timeout_kills_the_session() {
    let sshd = TestSshd::start(Gpu::Absent);
    let yaml = sshd
        .config(
            "  - address: 127.0.0.1\n    ssh: {command_timeout: 1s}\n",
            "",
        )
        .replace("sample_interval: 0.5s", "sample_interval: 9.25s");
    let started = Instant::now();
    let report = check(&yaml).await;
    assert_eq!(
        report.problems,
        ["127.0.0.1 collection timed out after 1 s"]
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(
        sshd.ssh_clients().is_empty(),
        "left behind: {:?}",
        sshd.ssh_clients()
    );
}

#[tokio::test]
async fn command_timeout_kills_the_local_script_and_its_children() {
    let sshd = TestSshd::start(Gpu::Absent);
    let yaml = sshd
        .config(
            "  - local: true\n    name: monitor\n    ssh: {command_timeout: 1s}\n",
            "",
        )
        .replace("sample_interval: 0.5s", "sample_interval: 9.125s");
    let report = check(&yaml).await;
    assert_eq!(report.problems, ["monitor collection timed out after 1 s"]);
    // The script's whole process group goes, its `sleep 9.125` included.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let ps = std::process::Command::new("ps")
        .args(["-eo", "args="])
        .output()
        .unwrap();
    let ps = String::from_utf8_lossy(&ps.stdout);
    assert!(!ps.lines().any(|l| l.trim() == "sleep 9.125"), "{ps}");
}

/// Not a failure: the other key types, and a key that only ssh-agent holds.
#[test]
fn ecdsa_rsa_and_ssh_agent_keys() {
    use std::process::{Command, Stdio};
    let sshd = TestSshd::start(Gpu::Absent);
    let mut authorized = std::fs::read_to_string(sshd.path("authorized_keys")).unwrap();
    for (name, kind, bits) in [
        ("ecdsa_key", "ecdsa", "256"),
        ("rsa_key", "rsa", "3072"),
        ("agent_key", "ed25519", "256"),
    ] {
        let out = Command::new("ssh-keygen")
            .args(["-q", "-t", kind, "-b", bits, "-N", "", "-f"])
            .arg(sshd.path(name))
            .output()
            .unwrap();
        assert!(out.status.success());
        authorized.push_str(&std::fs::read_to_string(sshd.path(&format!("{name}.pub"))).unwrap());
    }
    std::fs::write(sshd.path("authorized_keys"), authorized).unwrap();

    let socket = sshd.path("agent.sock");
    let agent = Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&socket)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let _agent = Running::from(agent);
    for _ in 0..100 {
        if socket.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let added = Command::new("ssh-add")
        .arg(sshd.path("agent_key"))
        .env("SSH_AUTH_SOCK", &socket)
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );

    let hosts = format!(
        "  - {{address: 127.0.0.1, name: ecdsa, ssh: {{private_key: {}}}}}\n  - {{address: 127.0.0.1, name: rsa, ssh: {{private_key: {}}}}}\n  - {{address: 127.0.0.1, name: agent, ssh: {{private_key: {}}}}}\n",
        sshd.path("ecdsa_key").display(),
        sshd.path("rsa_key").display(),
        // A file that does not exist: only the agent can offer the key.
        sshd.path("no_such_key").display(),
    );
    let config = sshd.path("keys.yaml");
    std::fs::write(
        &config,
        sshd.config(
            &hosts,
            "defaults:\n  thresholds: {memory: 100, disk: 100}\n",
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hb-agent"))
        .args(["check", "--json", "--config"])
        .arg(&config)
        .env("SSH_AUTH_SOCK", &socket)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for h in v["hosts"].as_array().unwrap() {
        assert_eq!(
            h["error"],
            serde_json::Value::Null,
            "{}: {}",
            h["label"],
            h["error"]
        );
    }
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
