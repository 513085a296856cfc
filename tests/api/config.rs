//! Settings and the command line.
use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};

use heartbeats::settings::{Settings, SmtpTls};

fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults() {
    let s = Settings::from_vars(&HashMap::new()).unwrap();
    assert_eq!(s.listen.to_string(), "127.0.0.1:5827");
    assert_eq!(s.database_url, "sqlite://data/heartbeats.db");
    assert_eq!(s.timezone, chrono_tz::Asia::Shanghai);
    assert!(s.smtp.is_none());
    assert_eq!(s.max_ping_data, 100 * 1024);
    assert_eq!(s.ping_retention_days, 90);
}

#[test]
fn old_tool_names_are_understood() {
    let s = Settings::from_vars(&vars(&[
        ("EMAIL_HOST", "smtp.example.com"),
        ("EMAIL_PORT", "465"),
        ("EMAIL_HOST_USER", "alerts"),
        ("EMAIL_HOST_PASSWORD", "pw"),
        ("EMAIL_USE_SSL", "True"),
        ("DEFAULT_FROM_EMAIL", "alerts@example.com"),
        ("DB_HOST", "db"),
        ("DB_PORT", "3306"),
        ("DB_NAME", "heartbeats"),
        ("DB_USER", "hb"),
        ("DB_PASSWORD", "p@ss word"),
    ]))
    .unwrap();
    let smtp = s.smtp.unwrap();
    assert_eq!(
        (smtp.host.as_str(), smtp.port, smtp.tls),
        ("smtp.example.com", 465, SmtpTls::Tls)
    );
    assert_eq!(smtp.username.as_deref(), Some("alerts"));
    assert_eq!(s.smtp_from, "alerts@example.com");
    assert_eq!(
        s.database_url,
        "mysql://hb:p%40ss%20word@db:3306/heartbeats"
    );
}

#[test]
fn environment_wins_over_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("email.env"),
        "SMTP_HOST=from-file\nSMTP_PORT=2525\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("db.env"),
        "DATABASE_URL=postgres://file/db\n",
    )
    .unwrap();
    let s = Settings::load_with(dir.path(), vars(&[("SMTP_HOST", "from-env")])).unwrap();
    let smtp = s.smtp.unwrap();
    assert_eq!(smtp.host, "from-env");
    assert_eq!(smtp.port, 2525);
    assert_eq!(s.database_url, "postgres://file/db");
}

#[test]
fn bad_values_name_the_variable() {
    let cases = [
        ("HB_TIMEZONE", "Mars/Base"),
        ("HB_LISTEN", "localhost"),
        ("DATABASE_URL", "redis://x"),
        ("HB_BASE_URL", "hb.lan"),
        ("HB_MAX_PING_DATA", "lots"),
        ("SMTP_FROM", "not an address"),
        ("HB_SQLITE_SYNCHRONOUS", "sometimes"),
        ("HB_PING_RETENTION_DAYS", "-1"),
    ];
    for (k, v) in cases {
        let err = Settings::from_vars(&vars(&[(k, v)]))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(k), "{k}={v}: {err}");
    }
    let err = Settings::from_vars(&vars(&[("SMTP_HOST", "x"), ("SMTP_TLS", "maybe")])).unwrap_err();
    assert!(err.to_string().starts_with("SMTP_TLS"));
    let err =
        Settings::from_vars(&vars(&[("SMTP_HOST", "x"), ("SMTP_PORT", "99999")])).unwrap_err();
    assert!(err.to_string().starts_with("SMTP_PORT"));
}

fn heartbeats(dir: &std::path::Path, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_heartbeats"))
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn schedule_command_prints_fire_times() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, _) = heartbeats(
        dir.path(),
        &[
            "schedule",
            "5 16 * * *",
            "--tz",
            "Asia/Shanghai",
            "--after",
            "2026-11-21T00:00:00Z",
            "--count",
            "2",
        ],
        None,
    );
    assert!(ok);
    assert_eq!(out, "2026-11-21T08:05:00Z\n2026-11-22T08:05:00Z\n");
    let (ok, _, err) = heartbeats(dir.path(), &["schedule", "61 * * * *"], None);
    assert!(!ok);
    assert!(err.contains("minute"), "{err}");
    let (ok, _, err) = heartbeats(
        dir.path(),
        &["schedule", "* * * * *", "--tz", "Mars/Base"],
        None,
    );
    assert!(!ok);
    assert!(err.contains("--tz"), "{err}");
}

#[test]
fn user_and_apikey_commands() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = heartbeats(
        dir.path(),
        &[
            "user",
            "add",
            "ci",
            "--email",
            "ci@example.com",
            "--password-stdin",
        ],
        Some("s3cret-pass\n"),
    );
    assert!(ok, "{err}");
    assert!(out.contains("user 'ci' added"));
    // The first start of any command created the database with the default SQLite path.
    assert!(dir.path().join("data/heartbeats.db").exists());
    let (ok, out, _) = heartbeats(dir.path(), &["user", "list"], None);
    assert!(ok);
    // The first user is an admin, whatever was asked: someone must administer.
    assert!(out.contains("ci\tadmin\tci@example.com"), "{out}");
    let (ok, _, err) = heartbeats(dir.path(), &["user", "role", "ci", "viewer"], None);
    assert!(!ok, "the last admin cannot be demoted");
    assert!(err.contains("last admin"), "{err}");
    let (ok, out, err) = heartbeats(
        dir.path(),
        &["user", "add", "dev", "--password-stdin"],
        Some("dev-password-1\n"),
    );
    assert!(ok, "{err}");
    assert!(out.contains("(member)"), "{out}");
    let (ok, out, err) = heartbeats(
        dir.path(),
        &["user", "add", "ops", "--role", "admin", "--password-stdin"],
        Some("ops-password-1\n"),
    );
    assert!(ok, "{err}");
    assert!(out.contains("(admin)"), "{out}");
    let (ok, out, err) = heartbeats(dir.path(), &["user", "role", "ci", "viewer"], None);
    assert!(ok, "{err}");
    assert!(out.contains("'ci' is now viewer"), "{out}");
    let (ok, _, err) = heartbeats(dir.path(), &["user", "role", "ci", "root"], None);
    assert!(!ok);
    assert!(
        err.contains("ROLE: unknown role 'root'; use one of admin, member, viewer"),
        "{err}"
    );

    let (ok, _, err) = heartbeats(
        dir.path(),
        &["user", "add", "ci", "--password-stdin"],
        Some("another-pass\n"),
    );
    assert!(!ok);
    assert!(err.contains("already exists"), "{err}");
    let (ok, _, err) = heartbeats(
        dir.path(),
        &["user", "add", "short", "--password-stdin"],
        Some("abc\n"),
    );
    assert!(!ok);
    assert!(err.contains("at least 8"), "{err}");
    let (ok, _, _) = heartbeats(
        dir.path(),
        &["user", "passwd", "ci", "--password-stdin"],
        Some("new-pass-123\n"),
    );
    assert!(ok);
    let (ok, out, _) = heartbeats(
        dir.path(),
        &["apikey", "create", "--user", "ci", "--name", "backup job"],
        None,
    );
    assert!(ok);
    assert!(out.trim().starts_with("hb_"));
    let (ok, out, err) = heartbeats(
        dir.path(),
        &["apikey", "create", "--user", "ci", "--scope", "ping"],
        None,
    );
    assert!(ok, "{err}");
    assert!(out.trim().starts_with("hb_"));
    let (ok, _, err) = heartbeats(
        dir.path(),
        &["apikey", "create", "--user", "ci", "--scope", "everything"],
        None,
    );
    assert!(!ok);
    assert!(err.contains("--scope: unknown scope 'everything'"), "{err}");
    let (ok, _, err) = heartbeats(dir.path(), &["apikey", "create", "--user", "ghost"], None);
    assert!(!ok);
    assert!(err.contains("user not found"), "{err}");
    let (ok, _, _) = heartbeats(dir.path(), &["user", "remove", "ci"], None);
    assert!(ok);
    let (ok, _, _) = heartbeats(dir.path(), &["user", "remove", "ci"], None);
    assert!(!ok);
    let (ok, out, _) = heartbeats(dir.path(), &["migrate"], None);
    assert!(ok);
    assert!(out.contains("migrations applied"));
}
