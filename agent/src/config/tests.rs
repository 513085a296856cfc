use super::values::{Limit, Seconds};
use super::*;

fn load(yaml: &str) -> Result<Config, String> {
    Config::from_yaml(yaml, "config.yaml").map_err(|e| e.to_string())
}

const SERVER: &str =
    "server: {url: 'http://hb.lan:5827', service: 60y4E, user: admin, password: pw}\n";

#[test]
fn example_configs_load() {
    let cfg = Config::from_yaml(
        include_str!("../../config.example.yaml"),
        "config.example.yaml",
    )
    .unwrap();
    assert_eq!(cfg.format, Format::Current);
    assert!(cfg.hosts.len() >= 3);
    let legacy = Config::from_yaml(
        include_str!("../../config.legacy.example.yaml"),
        "legacy.yaml",
    )
    .unwrap();
    assert_eq!(legacy.format, Format::Legacy);
}

#[test]
fn hosts_inherit_defaults_and_override_them() {
    let cfg = load(&format!(
        "{SERVER}ssh: {{user: ops, port: 2222, connect_timeout: 3s, parallelism: 4}}\n\
         defaults:\n  thresholds: {{cpu: 80, disks: {{/data: 95}}}}\n  processes: [sshd]\n\
         hosts:\n  - address: 10.0.0.1\n  - address: 10.0.0.2\n    name: gpu-02\n    ssh: {{user: root}}\n    thresholds: {{cpu: off, disk: 70}}\n    processes: [python train.py]\n"
    ))
    .unwrap();
    assert_eq!(cfg.parallelism, 4);
    let (a, b) = (&cfg.hosts[0], &cfg.hosts[1]);
    assert_eq!((a.label.as_str(), b.label.as_str()), ("10.0.0.1", "gpu-02"));
    assert_eq!(a.ssh.user.as_deref(), Some("ops"));
    assert_eq!(b.ssh.user.as_deref(), Some("root"));
    assert_eq!(b.ssh.port, Some(2222));
    assert_eq!(b.ssh.connect_timeout, Duration::from_secs(3));
    assert_eq!(a.thresholds.cpu, Some(80.0));
    assert_eq!(b.thresholds.cpu, None);
    assert_eq!(a.thresholds.memory, Some(BUILTIN_MEMORY));
    assert_eq!(a.thresholds.for_disk("/"), Some(BUILTIN_DISK));
    assert_eq!(b.thresholds.for_disk("/"), Some(70.0));
    assert_eq!(b.thresholds.for_disk("/data"), Some(95.0));
    let patterns: Vec<&str> = b.processes.iter().map(|p| p.pattern.as_str()).collect();
    assert_eq!(patterns, ["sshd", "python train.py"]);
    assert_eq!(
        cfg.server.auth,
        crate::client::Auth::Basic {
            user: "admin".into(),
            password: "pw".into()
        }
    );
}

#[test]
fn ssh_options_host_first() {
    let cfg = load(&format!(
        "{SERVER}ssh: {{options: ['KexAlgorithms=curve25519-sha256', 'Compression yes']}}\n\
         hosts:\n  - address: a\n    ssh: {{options: [ProxyJump=bastion]}}\n  - address: b\n"
    ))
    .unwrap();
    assert_eq!(
        cfg.hosts[0].ssh.options,
        [
            "ProxyJump=bastion",
            "KexAlgorithms=curve25519-sha256",
            "Compression yes"
        ]
    );
    assert_eq!(
        cfg.hosts[1].ssh.options,
        ["KexAlgorithms=curve25519-sha256", "Compression yes"]
    );
    let err = load(&format!(
        "{SERVER}ssh: {{options: ['-v']}}\nhosts: [{{address: a}}]\n"
    ))
    .unwrap_err();
    assert!(
        err.contains("ssh.options[0]: \"-v\" is not an ssh option"),
        "{err}"
    );
}

#[test]
fn errors_name_file_line_and_key() {
    let err = load(&format!(
        "{SERVER}hosts:\n  - address: a\n  - address: b\n  - address: c\n    thresholds:\n      cpu: 150\n"
    ))
    .unwrap_err();
    assert_eq!(
        err,
        "config.yaml:7:12: hosts[2].thresholds.cpu: 150 is out of range: use 0..=100, or `off`"
    );
    let err = load(&format!(
        "{SERVER}hosts:\n  - address: a\n    thresholds: {{cpux: 1}}\n"
    ))
    .unwrap_err();
    assert!(
        err.starts_with("config.yaml:4:18: hosts[0].thresholds: unknown field `cpux`"),
        "{err}"
    );
    let err = load(&format!(
        "{SERVER}hosts:\n  - address: a\n    thresholds:\n      cpu: lots\n"
    ))
    .unwrap_err();
    assert!(
        err.starts_with("config.yaml:5:12: hosts[0].thresholds.cpu: invalid value"),
        "{err}"
    );
}

#[test]
fn validation() {
    let no_hosts = load(&format!("{SERVER}hosts: []\n")).unwrap_err();
    assert_eq!(
        no_hosts,
        "config.yaml: hosts: no hosts listed; add at least one"
    );
    let bad_url =
        load("server: {url: 'hb.lan:5827', service: x}\nhosts: [{address: a}]\n").unwrap_err();
    assert!(bad_url.starts_with("config.yaml:1:"), "{bad_url}");
    assert!(
        bad_url.contains("server: bad server URL \"hb.lan:5827\""),
        "{bad_url}"
    );
    let no_service = load("server: {url: 'http://hb.lan'}\nhosts: [{address: a}]\n").unwrap_err();
    assert!(
        no_service.contains("server: missing field `service`"),
        "{no_service}"
    );
    let half_auth =
        load("server: {url: 'http://hb.lan', service: x, user: u}\nhosts: [{address: a}]\n")
            .unwrap_err();
    assert!(
        half_auth.contains("`user` is set without `password`"),
        "{half_auth}"
    );
    let no_address = load(&format!("{SERVER}hosts: [{{name: x}}]\n")).unwrap_err();
    assert!(
        no_address.contains("hosts[0]: `address` is missing"),
        "{no_address}"
    );
    let dup = load(&format!(
        "{SERVER}hosts: [{{address: a}}, {{address: a}}]\n"
    ))
    .unwrap_err();
    assert!(dup.contains("hosts[1]: \"a\" is also hosts[0]"), "{dup}");
    let syntax = load("server: [\n").unwrap_err();
    assert!(syntax.starts_with("config.yaml:2:1: "), "{syntax}");
    assert_eq!(load("").unwrap_err(), "config.yaml: the file is empty");
    let missing = Config::load("/nonexistent/hb.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        missing.starts_with("/nonexistent/hb.yaml: cannot read the config file"),
        "{missing}"
    );
}

#[test]
fn local_host_needs_no_address() {
    let cfg = load(&format!(
        "{SERVER}hosts: [{{local: true, name: agent-box}}]\n"
    ))
    .unwrap();
    assert!(cfg.hosts[0].local);
    assert_eq!(cfg.hosts[0].label, "agent-box");
}

/// The old agent's config.yaml exactly as quoted in issue 11.
const OLD_AGENT_CONFIG: &str = r#"SERVER:
  IP: "10.20.0.1"            # host, host:port or URL
  USER: ops
  PASSWD: "s3cret!"
  SERVICE: 60y4E
  CHECK_INTERVAL_MIN: 30
AGENT:
  SSH:
    PORT: 22
    USER: root
    KEY: /root/.ssh/id_rsa
IPS:
    10.20.0.11:
      DESC: "db-primary"
      BASIC:
        MEM: 90
        DISK: 90
        CPU: 90
      PROCESS:
        - "/usr/sbin/mysqld --defaults-file=/etc/mysql/my.cnf"
    10.20.0.12:
      DESC: "gpu-03"
      BASIC: {MEM: 90, DISK: 90, CPU: 90}
      PROCESS: []
"#;

#[test]
fn the_old_agents_real_config_loads() {
    let cfg = load(OLD_AGENT_CONFIG).unwrap();
    assert_eq!(cfg.format, Format::Legacy);
    assert_eq!(cfg.server.url.as_str(), "http://10.20.0.1/");
    assert_eq!(cfg.server.service, "60y4E");
    assert_eq!(
        cfg.server.auth,
        crate::client::Auth::Basic {
            user: "ops".into(),
            password: "s3cret!".into()
        }
    );
    let labels: Vec<(&str, &str)> = cfg
        .hosts
        .iter()
        .map(|h| (h.label.as_str(), h.address.as_str()))
        .collect();
    assert_eq!(
        labels,
        [("db-primary", "10.20.0.11"), ("gpu-03", "10.20.0.12")]
    );
    for h in &cfg.hosts {
        assert_eq!(h.name.as_deref(), Some(h.label.as_str()), "the report name");
        assert_eq!(h.ssh.port, Some(22));
        assert_eq!(h.ssh.user.as_deref(), Some("root"));
        assert_eq!(
            h.ssh.private_key.as_deref(),
            Some(Path::new("/root/.ssh/id_rsa"))
        );
        assert_eq!(
            (h.thresholds.memory, h.thresholds.disk, h.thresholds.cpu),
            (Some(90.0), Some(90.0), Some(90.0))
        );
    }
    let db = &cfg.hosts[0];
    assert_eq!(db.processes.len(), 1);
    assert_eq!(
        db.processes[0].pattern,
        "/usr/sbin/mysqld --defaults-file=/etc/mysql/my.cnf"
    );
    assert!(
        db.processes[0]
            .matches("/usr/sbin/mysqld --defaults-file=/etc/mysql/my.cnf --basedir=/usr")
    );
    assert!(cfg.hosts[1].processes.is_empty());
    // The shipped example is this file, with comments.
    let example = Config::from_yaml(
        include_str!("../../config.legacy.example.yaml"),
        "config.legacy.example.yaml",
    )
    .unwrap();
    assert_eq!(example.hosts.len(), 2);
    assert_eq!(example.hosts[0].label, "db-primary");
    assert_eq!(example.warnings, cfg.warnings);
}

#[test]
fn unused_legacy_keys_are_named_in_warnings() {
    let cfg = load(OLD_AGENT_CONFIG).unwrap();
    assert_eq!(cfg.warnings.len(), 1, "{:?}", cfg.warnings);
    let w = &cfg.warnings[0];
    assert!(
        w.starts_with("SERVER.CHECK_INTERVAL_MIN is not used: ") && w.contains("cron"),
        "{w}"
    );
    let cfg = load(
        "SERVER: {IP: hb.lan, SERVICE: x, INTERVAL: 60}\n\
         AGENT:\n  INTERVAL: 300\n  LOG_LEVEL: debug\n  SSH: {PORT: 2222, PASSWORD: pw}\n  Threads: 3\n\
         LOG_FILE: /var/log/agent.log\n\
         IPS:\n  10.0.0.1:\n    DESC: a\n    GPU_TEMP: 80\n    BASIC: {MEM: 80, IO: 50}\n",
    )
    .unwrap();
    let w = cfg.warnings.join("\n");
    for expected in [
        "LOG_FILE is not used: hb-agent logs to stderr",
        "SERVER.INTERVAL is not used: the old daemon's loop period",
        "AGENT.INTERVAL is not used: the old daemon's loop period",
        "AGENT.LOG_LEVEL is not used: hb-agent logs to stderr",
        "AGENT.Threads is ignored: write it as THREADS",
        "AGENT.SSH.PASSWORD is not used: SSH passwords are not used",
        "IPS.10.0.0.1.GPU_TEMP is ignored: hb-agent does not know this key",
        "IPS.10.0.0.1.BASIC.IO is ignored: hb-agent does not know this key",
    ] {
        assert!(w.contains(expected), "no {expected:?} in:\n{w}");
    }
    assert_eq!(cfg.warnings.len(), 8, "{w}");
    assert_eq!(cfg.hosts[0].ssh.port, Some(2222));
    // The current format has no such leniency: unknown keys are errors there.
    assert!(
        load(&format!("{SERVER}hosts: [{{address: a}}]\n"))
            .unwrap()
            .warnings
            .is_empty()
    );
}

#[test]
fn legacy_list_shape_maps_onto_the_current_one() {
    let cfg = load(
        "SERVER:\n  IP: 192.168.1.10\n  PORT: 8000\n  USER: admin\n  PASSWD: 123456\n  SERVICE: 60y4E\n\
         AGENT:\n  USER: root\n  KEY: /root/.ssh/id_rsa\n  THREADS: 8\n  INTERVAL: 300\n\
         IPS:\n  - IP: 10.0.0.3\n    BASIC: {MEM: 80, DISK: '85%', CPU: 95}\n    PROCESS:\n      - python train.py\n  - 10.0.0.4\n  - IP: 10.0.0.5\n    NAME: gpu-05\n    DESC: the big one\n",
    )
    .unwrap();
    assert_eq!(cfg.format, Format::Legacy);
    assert_eq!(cfg.server.url.as_str(), "http://192.168.1.10:8000/");
    assert_eq!(cfg.server.service, "60y4E");
    assert_eq!(
        cfg.server.auth,
        crate::client::Auth::Basic {
            user: "admin".into(),
            password: "123456".into()
        }
    );
    assert_eq!(cfg.parallelism, 8);
    let h = &cfg.hosts[0];
    assert_eq!(h.label, "10.0.0.3");
    assert_eq!(h.ssh.user.as_deref(), Some("root"));
    assert_eq!(h.ssh.port, None);
    assert_eq!(
        h.ssh.private_key.as_deref(),
        Some(Path::new("/root/.ssh/id_rsa"))
    );
    assert_eq!(
        (h.thresholds.memory, h.thresholds.disk, h.thresholds.cpu),
        (Some(80.0), Some(85.0), Some(95.0))
    );
    assert_eq!(h.processes[0].pattern, "python train.py");
    assert_eq!(cfg.hosts[1].address, "10.0.0.4");
    assert_eq!(cfg.hosts[1].thresholds.disk, Some(BUILTIN_DISK));
    // NAME names the host; DESC then stays a description.
    assert_eq!(cfg.hosts[2].label, "gpu-05");
    assert_eq!(cfg.hosts[2].description.as_deref(), Some("the big one"));
    assert_eq!(cfg.warnings.len(), 1, "{:?}", cfg.warnings);
    assert!(cfg.warnings[0].starts_with("AGENT.INTERVAL is not used"));
}

#[test]
fn legacy_ssh_port_applies_in_either_place() {
    let list = |agent: &str| {
        load(&format!(
            "SERVER: {{IP: hb.lan, SERVICE: x}}\nAGENT:\n{agent}IPS:\n  - IP: 10.0.0.3\n  - IP: 10.0.0.4\n    PORT: 2200\n"
        ))
        .unwrap()
    };
    // The bug: AGENT.SSH.PORT in a list-shaped file was dropped and port 22 used.
    let cfg = list("  SSH:\n    PORT: 2222\n    USER: ops\n");
    assert_eq!(cfg.hosts[0].ssh.port, Some(2222));
    assert_eq!(cfg.hosts[0].ssh.user.as_deref(), Some("ops"));
    assert_eq!(cfg.hosts[1].ssh.port, Some(2200), "a host's own PORT wins");
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
    let cfg = list("  PORT: 2022\n");
    assert_eq!(cfg.hosts[0].ssh.port, Some(2022));
    // Both: AGENT.SSH wins, and the disagreement is said.
    let cfg = list("  PORT: 2022\n  SSH: {PORT: 2222}\n");
    assert_eq!(cfg.hosts[0].ssh.port, Some(2222));
    assert_eq!(
        cfg.warnings,
        ["AGENT.SSH.PORT (2222) and AGENT.PORT (2022) disagree: using AGENT.SSH.PORT"]
    );
}

#[test]
fn legacy_desc_labels() {
    let cfg = load(
        "SERVER: {IP: hb.lan, SERVICE: x}\nIPS:\n  10.0.0.1: {DESC: web}\n  10.0.0.2: {DESC: web}\n  10.0.0.3:\n  10.0.0.4: {DESC: '  '}\n",
    )
    .unwrap();
    let labels: Vec<&str> = cfg.hosts.iter().map(|h| h.label.as_str()).collect();
    // The old tool let hosts share a DESC; their problems must still be told apart.
    assert_eq!(
        labels,
        ["web (10.0.0.1)", "web (10.0.0.2)", "10.0.0.3", "10.0.0.4"]
    );
    assert_eq!(cfg.warnings.len(), 1, "{:?}", cfg.warnings);
    assert!(cfg.warnings[0].contains("DESC \"web\" is shared"));
    let err =
        load("SERVER: {IP: hb.lan, SERVICE: x}\nIPS:\n  10.0.0.1: {IP: 10.0.0.9}\n").unwrap_err();
    assert!(err.contains("differs from the key"), "{err}");
    let err = load("SERVER: {IP: hb.lan, SERVICE: x}\nIPS:\n").unwrap_err();
    assert_eq!(err, "config.yaml: IPS: no hosts listed; add at least one");
    let err = load("SERVER: {IP: hb.lan, SERVICE: x}\nIPS: [{IP: a, NAME: x}, {IP: b, NAME: x}]\n")
        .unwrap_err();
    assert!(
        err.contains("IPS: \"x\" is listed twice (entries 1 and 2)"),
        "{err}"
    );
}

#[test]
fn legacy_map_errors_are_located() {
    let err = load(
        "SERVER: {IP: hb.lan, SERVICE: x}\nIPS:\n  10.0.0.1:\n    DESC: a\n    BASIC: {MEM: 200}\n",
    )
    .unwrap_err();
    assert!(
        err.starts_with("config.yaml:5:18: IPS.10.0.0.1.BASIC.MEM: 200 is out of range"),
        "{err}"
    );
}

#[test]
fn legacy_server_ip_forms() {
    let url =
        |ip: &str, port: Option<&str>| legacy::legacy_server_url(ip, port).map(|u| u.to_string());
    assert_eq!(url("hb.lan", None).unwrap(), "http://hb.lan/");
    assert_eq!(url("hb.lan", Some("5827")).unwrap(), "http://hb.lan:5827/");
    assert_eq!(
        url("hb.lan:5827", Some("80")).unwrap(),
        "http://hb.lan:5827/"
    );
    assert_eq!(url("10.0.0.2:8000", None).unwrap(), "http://10.0.0.2:8000/");
    assert_eq!(
        url("https://ops.example.com/hb/", None).unwrap(),
        "https://ops.example.com/hb"
    );
    assert_eq!(url("::1", Some("5827")).unwrap(), "http://[::1]:5827/");
    assert!(url("hb.lan", Some("http")).unwrap_err().contains("PORT"));
}

#[test]
fn legacy_errors_are_located_too() {
    let err = load("SERVER: {IP: hb.lan, SERVICE: x}\nIPS:\n  - IP: a\n    BASIC: {MEM: 200}\n")
        .unwrap_err();
    assert!(
        err.starts_with("config.yaml:4:18: IPS[0].BASIC.MEM: 200 is out of range"),
        "{err}"
    );
    let err = load("SERVER: {IP: hb.lan}\nIPS: [a]\n").unwrap_err();
    assert!(err.contains("SERVER: missing field `SERVICE`"), "{err}");
}

// Value types read from YAML on their own.
fn limit(yaml: &str) -> Result<Limit, String> {
    serde_norway::from_str::<Limit>(yaml).map_err(|e| e.to_string())
}

#[test]
fn limits_accept_numbers_percent_strings_and_off() {
    assert_eq!(limit("90").unwrap(), Limit::At(90.0));
    assert_eq!(limit("92.5").unwrap(), Limit::At(92.5));
    assert_eq!(limit("'90%'").unwrap(), Limit::At(90.0));
    assert_eq!(limit("off").unwrap(), Limit::Off);
    assert!(limit("101").unwrap_err().contains("out of range"));
    assert!(limit("-1").unwrap_err().contains("out of range"));
    assert!(limit("lots").is_err());
}

#[test]
fn durations_accept_units() {
    let d = |y: &str| serde_norway::from_str::<Seconds>(y).map(|s| s.0);
    assert_eq!(d("5").unwrap(), Duration::from_secs(5));
    assert_eq!(d("0.5").unwrap(), Duration::from_millis(500));
    assert_eq!(d("500ms").unwrap(), Duration::from_millis(500));
    assert_eq!(d("2m").unwrap(), Duration::from_secs(120));
    assert!(d("5 fortnights").is_err());
}

#[test]
fn process_rules_from_string_or_map() {
    let p = |y: &str| serde_norway::from_str::<ProcessRule>(y);
    let plain = p("python train.py").unwrap();
    assert!(plain.matches("/usr/bin/python train.py --epochs 3"));
    assert!(!plain.matches("python eval.py"));
    let re = p("{regex: '^nginx: worker', min: 4}").unwrap();
    assert_eq!(re.min, 4);
    assert!(re.matches("nginx: worker process"));
    assert!(!re.matches("/bin/nginx: worker"));
    assert!(
        p("{regex: '('}")
            .unwrap_err()
            .to_string()
            .contains("bad regex")
    );
    assert!(p("{match: a, regex: b}").is_err());
}
