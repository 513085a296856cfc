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
        .replace("sample_interval: 0.5s", "sample_interval: 10s");
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
