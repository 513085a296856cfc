use crate::helpers::*;

/// An old-format file, as the old agent's users have it, pointed at the test sshd.
#[tokio::test]
async fn legacy_config_collects_and_checks() {
    let sshd = TestSshd::start(Gpu::Busy);
    let (_proc, pattern) = unique_sleep();
    let yaml = format!(
        "SERVER:\n  IP: 127.0.0.1\n  PORT: 9\n  USER: admin\n  PASSWD: 123456\n  SERVICE: 60y4E\n\
         AGENT:\n  USER: {user}\n  PORT: {port}\n  KEY: {key}\n  KNOWN_HOSTS: {known}\n  TIMEOUT: 5\n  THREADS: 4\n  INTERVAL: 300\n\
         IPS:\n  - IP: 127.0.0.1\n    NAME: gpu-01\n    BASIC:\n      MEM: 0\n      DISK: 100\n      CPU: 100\n    PROCESS:\n      - {pattern}\n      - python train.py --hb-agent-test-absent\n",
        user = sshd.user,
        port = sshd.port,
        key = sshd.path("user_key").display(),
        known = sshd.known_hosts().display(),
    );
    let report = check(&yaml).await;
    let h = &report.hosts[0];
    assert!(h.error.is_none(), "{:?}", h.error);
    assert_eq!(h.gpus.len(), 2);
    assert_problem(&report, r"^gpu-01 memory \d+(\.\d)?% > 0%$");
    assert_problem(
        &report,
        r#"^gpu-01 process "python train\.py --hb-agent-test-absent" not running$"#,
    );
    assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
    assert!(h.processes.required[0].running);
}
