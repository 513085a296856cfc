use hb_agent::config::Config;

use crate::helpers::*;

/// The old agent's real file shape (issue 11: IPS keyed by address, SSH settings under
/// AGENT.SSH, DESC labels, CHECK_INTERVAL_MIN), pointed at the test sshd through
/// AGENT.SSH.PORT: it collects, and the problem lines are the old ones, under DESC.
#[tokio::test]
async fn old_agents_config_collects_with_desc_labels() {
    let sshd = TestSshd::start(Gpu::Busy);
    let (_proc, pattern) = unique_sleep();
    let yaml = format!(
        r#"SERVER:
  IP: "127.0.0.1:9"            # host, host:port or URL
  USER: ops
  PASSWD: "s3cret!"
  SERVICE: 60y4E
  CHECK_INTERVAL_MIN: 30
AGENT:
  SSH:
    PORT: {port}
    USER: {user}
    KEY: {key}
    KNOWN_HOSTS: {known}
IPS:
    127.0.0.1:
      DESC: "db-primary"
      BASIC:
        MEM: 0
        DISK: 100
        CPU: 100
      PROCESS:
        - "{pattern}"
        - "/usr/sbin/mysqld --defaults-file=/etc/mysql/my.cnf"
"#,
        port = sshd.port,
        user = sshd.user,
        key = sshd.path("user_key").display(),
        known = sshd.known_hosts().display(),
    );
    let cfg = Config::from_yaml(&yaml, "config.yaml").unwrap();
    assert_eq!(cfg.hosts[0].ssh.port, Some(sshd.port));
    assert!(
        cfg.warnings
            .iter()
            .any(|w| w.starts_with("SERVER.CHECK_INTERVAL_MIN is not used")),
        "{:?}",
        cfg.warnings
    );
    let report = check(&yaml).await;
    let h = &report.hosts[0];
    assert!(h.error.is_none(), "{:?}", h.error);
    assert_eq!(h.label, "db-primary");
    assert_eq!(h.gpus.len(), 2);
    assert_problem(&report, r"^db-primary memory \d+(\.\d)?% > 0%$");
    assert_problem(
        &report,
        r#"^db-primary process "/usr/sbin/mysqld --defaults-file=/etc/mysql/my\.cnf" not running$"#,
    );
    assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
    assert!(h.processes.required[0].running);
    // The report goes to the server under DESC too.
    let wire = hb_agent::wire_report::to_wire(h, 1800, 30);
    assert_eq!(wire.name.as_deref(), Some("db-primary"));
}

/// The list shape, with the SSH port under AGENT.SSH: it used to be dropped (port 22).
#[tokio::test]
async fn list_shaped_config_honours_agent_ssh_port() {
    let sshd = TestSshd::start(Gpu::Busy);
    let (_proc, pattern) = unique_sleep();
    let yaml = format!(
        "SERVER:\n  IP: 127.0.0.1\n  PORT: 9\n  USER: admin\n  PASSWD: 123456\n  SERVICE: 60y4E\n\
         AGENT:\n  SSH:\n    USER: {user}\n    PORT: {port}\n    KEY: {key}\n  KNOWN_HOSTS: {known}\n  TIMEOUT: 5\n  THREADS: 4\n  INTERVAL: 300\n\
         IPS:\n  - IP: 127.0.0.1\n    NAME: gpu-01\n    BASIC:\n      MEM: 0\n      DISK: 100\n      CPU: 100\n    PROCESS:\n      - {pattern}\n      - python train.py --hb-agent-test-absent\n",
        user = sshd.user,
        port = sshd.port,
        key = sshd.path("user_key").display(),
        known = sshd.known_hosts().display(),
    );
    let report = check(&yaml).await;
    let h = &report.hosts[0];
    assert!(h.error.is_none(), "{:?}", h.error);
    assert_problem(&report, r"^gpu-01 memory \d+(\.\d)?% > 0%$");
    assert_problem(
        &report,
        r#"^gpu-01 process "python train\.py --hb-agent-test-absent" not running$"#,
    );
    assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
}
