//! One typed settings tree: defaults < `db.env` / `email.env` < the process environment.
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use chrono_tz::Tz;
use url::Url;

mod redact;

/// `Debug` is hand-written (in `redact`) so that no password reaches a log line.
#[derive(Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub database_url: String,
    pub timezone: Tz,
    pub base_url: Url,
    pub admin_user: String,
    pub admin_password: Option<String>,
    pub max_ping_data: usize,
    /// Largest body of `POST /api/v1/hosts/reports`, bytes.
    pub max_report_bytes: usize,
    /// Seconds a push agent's host stays up after its socket closed (`HB_AGENT_GRACE_SECS`).
    pub agent_grace_secs: u32,
    /// Seconds of silence after which the server closes a push agent's socket
    /// (`HB_AGENT_IDLE_SECS`).
    pub agent_idle_secs: u32,
    pub data_dir: PathBuf,
    pub sqlite_synchronous: SqliteSync,
    /// How long a request waits for a database connection before it is answered 503.
    pub db_timeout: Duration,
    /// Pings older than this many days are deleted; 0 keeps them forever.
    pub ping_retention_days: u32,
    /// Days of 1-minute host roll-ups kept (0: forever).
    pub minute_rollup_days: u32,
    /// Days of hourly host roll-ups kept (0: forever).
    pub hour_rollup_days: u32,
    pub smtp: Option<SmtpSettings>,
    /// Where mail goes when no SMTP server is configured.
    pub mail_dir: PathBuf,
    pub smtp_from: String,
    /// Mail bursts to one `notify` address: this many alerts ready together (or sent within
    /// the window) become one mail (`HB_MAIL_BURST_THRESHOLD`, 0: off).
    pub mail_burst_threshold: u32,
    pub mail_burst_window_secs: u32,
    /// How long a chat robot or webhook may take to answer (`HB_CHANNEL_TIMEOUT_SECS`).
    pub channel_timeout_secs: u32,
    /// A second listener serving only `/metrics`, without credentials
    /// (`HB_METRICS_LISTEN`); `None`: metrics only on the main port, with credentials.
    pub metrics_listen: Option<SocketAddr>,
    /// A bearer token that may read `/metrics` besides read-capable API keys
    /// (`HB_METRICS_TOKEN`). `Debug` never shows it.
    pub metrics_token: Option<String>,
}

/// The default `HB_MAX_REPORT_BYTES`: 8 MiB, a thousand snapshots of 8 KiB.
pub const DEFAULT_MAX_REPORT_BYTES: usize = 8 * 1024 * 1024;

/// The default `HB_AGENT_IDLE_SECS`: agents ping every 10 s, so three missed pings.
pub const DEFAULT_AGENT_IDLE_SECS: u32 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqliteSync {
    Full,
    Normal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    None,
    StartTls,
    Tls,
}

/// `Debug` is hand-written (in `redact`): the password is not shown.
#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    pub tls: SmtpTls,
    pub timeout_secs: u64,
}

/// A cron job's `curl -m 10` and a load balancer's health check both need an answer while
/// the database is away; 2 s is long enough for a busy pool, short enough for both.
pub const DEFAULT_DB_TIMEOUT: Duration = Duration::from_secs(2);

/// The variables a user may set, with what each means, for `--help` and the README.
pub const VARIABLES: &[(&str, &str)] = &[
    ("HB_LISTEN", "address to listen on (default 127.0.0.1:5827)"),
    (
        "DATABASE_URL",
        "sqlite://…, postgres://… or mysql://… (default sqlite://data/heartbeats.db)",
    ),
    (
        "HB_TIMEZONE",
        "default time zone for new services (default Asia/Shanghai)",
    ),
    (
        "HB_BASE_URL",
        "public URL used in mail links (default http://<HB_LISTEN>)",
    ),
    (
        "HB_ADMIN_USER",
        "name of the admin created on first start (default admin)",
    ),
    (
        "HB_ADMIN_PASSWORD",
        "its password (default: generated and printed once)",
    ),
    (
        "HB_MAX_PING_DATA",
        "largest ping data accepted, in bytes (default 102400)",
    ),
    (
        "HB_MAX_REPORT_BYTES",
        "largest body of a host report request, in bytes (default 8388608)",
    ),
    (
        "HB_AGENT_GRACE_SECS",
        "seconds a push agent's host stays up after its WebSocket closed, waiting for it to reconnect (default 30)",
    ),
    (
        "HB_AGENT_IDLE_SECS",
        "seconds without any frame (report or ping) after which a push agent's WebSocket is closed (default 30)",
    ),
    (
        "HB_MAIL_BURST_THRESHOLD",
        "alerts to one notify address that are ready together (or sent within the window) from which on they go out as one mail listing them; 0 turns grouping off (default 3)",
    ),
    (
        "HB_MAIL_BURST_WINDOW_SECS",
        "the window of HB_MAIL_BURST_THRESHOLD, seconds (default 60)",
    ),
    (
        "HB_CHANNEL_TIMEOUT_SECS",
        "seconds a chat robot, webhook, ntfy or Gotify server may take to answer before the alert is retried (default 10)",
    ),
    (
        "HB_METRICS_LISTEN",
        "a second address serving only /metrics (Prometheus), without credentials, e.g. 127.0.0.1:9101 (default: none; /metrics on HB_LISTEN needs a read API key or HB_METRICS_TOKEN)",
    ),
    (
        "HB_METRICS_TOKEN",
        "a bearer token Prometheus may send to read /metrics on HB_LISTEN, besides API keys that may read (default: none; at least 16 characters)",
    ),
    (
        "HB_DATA_DIR",
        "directory for the SQLite file and mail files (default data)",
    ),
    (
        "HB_SQLITE_SYNCHRONOUS",
        "full (default: every ping is on disk before the reply) or normal",
    ),
    (
        "HB_DB_TIMEOUT",
        "seconds a request waits for the database before it gets 503 (default 2)",
    ),
    (
        "HB_PING_RETENTION_DAYS",
        "pings older than this are deleted, hourly (default 90; 0 keeps them forever)",
    ),
    (
        "HB_MINUTE_ROLLUP_DAYS",
        "days of 1-minute host history (average, maximum per minute) kept (default 7; 0 keeps it forever)",
    ),
    (
        "HB_HOUR_ROLLUP_DAYS",
        "days of hourly host history (average, maximum, minimum per hour) kept (default 400; 0 keeps it forever)",
    ),
    (
        "SMTP_HOST",
        "SMTP server; unset means mail is written to <HB_DATA_DIR>/mail/*.eml",
    ),
    (
        "SMTP_PORT",
        "default 25 (none), 587 (starttls) or 465 (tls)",
    ),
    ("SMTP_USERNAME", "SMTP login, optional"),
    ("SMTP_PASSWORD", "SMTP password, optional"),
    (
        "SMTP_TLS",
        "none, starttls or tls (default starttls when a username is set, else none)",
    ),
    ("SMTP_FROM", "sender address (default heartbeats@localhost)"),
    (
        "SMTP_TIMEOUT",
        "seconds to wait for the SMTP server (default 10)",
    ),
];

/// The old tool's names, accepted in `email.env`, `db.env` and the environment.
const LEGACY_NAMES: &[(&str, &str)] = &[
    ("EMAIL_HOST", "SMTP_HOST"),
    ("EMAIL_PORT", "SMTP_PORT"),
    ("EMAIL_HOST_USER", "SMTP_USERNAME"),
    ("EMAIL_HOST_PASSWORD", "SMTP_PASSWORD"),
    ("DEFAULT_FROM_EMAIL", "SMTP_FROM"),
];

impl Settings {
    /// Read `db.env` and `email.env` from `dir` when present, then the process environment.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        Self::load_with(dir, std::env::vars().collect())
    }

    /// As [`Settings::load`], with `env` standing for the process environment.
    pub fn load_with(dir: &Path, env: HashMap<String, String>) -> anyhow::Result<Self> {
        let mut vars = HashMap::new();
        for file in ["db.env", "email.env"] {
            let path = dir.join(file);
            if path.exists() {
                for item in dotenvy::from_path_iter(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?
                {
                    let (k, v) =
                        item.with_context(|| format!("{}: syntax error", path.display()))?;
                    vars.insert(k, v);
                }
            }
        }
        vars.extend(env);
        Self::from_vars(&vars)
    }

    /// Build settings from a map of variables, applying legacy names and defaults.
    pub fn from_vars(raw: &HashMap<String, String>) -> anyhow::Result<Self> {
        let mut vars: HashMap<&str, String> = HashMap::new();
        for (legacy, name) in LEGACY_NAMES {
            if let Some(v) = raw.get(*legacy) {
                vars.insert(name, v.clone());
            }
        }
        for (name, _) in VARIABLES {
            if let Some(v) = raw.get(*name) {
                vars.insert(name, v.clone());
            }
        }
        let get = |name: &str| {
            vars.get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let listen_raw = get("HB_LISTEN").unwrap_or_else(|| "127.0.0.1:5827".into());
        let listen: SocketAddr = listen_raw.parse().map_err(|_| {
            anyhow::anyhow!("HB_LISTEN: '{listen_raw}' is not an address; use e.g. 127.0.0.1:5827 or 0.0.0.0:5827")
        })?;

        let data_dir = PathBuf::from(get("HB_DATA_DIR").unwrap_or_else(|| "data".into()));
        let database_url = match get("DATABASE_URL") {
            Some(url) => url,
            None => match legacy_database_url(raw)? {
                Some(url) => url,
                None => format!("sqlite://{}/heartbeats.db", data_dir.display()),
            },
        };
        if !["sqlite:", "postgres:", "postgresql:", "mysql:", "mariadb:"]
            .iter()
            .any(|p| database_url.starts_with(p))
        {
            bail!(
                "DATABASE_URL: '{database_url}' is not supported; use sqlite://path, postgres://… or mysql://…"
            );
        }
        let database_url = database_url.replacen("mariadb:", "mysql:", 1);

        let tz_raw = get("HB_TIMEZONE").unwrap_or_else(|| "Asia/Shanghai".into());
        let timezone: Tz = tz_raw.parse().map_err(|_| {
            anyhow::anyhow!(
                "HB_TIMEZONE: unknown time zone '{tz_raw}'; use an IANA name such as Asia/Shanghai"
            )
        })?;

        let base_raw = get("HB_BASE_URL").unwrap_or_else(|| format!("http://{listen}"));
        let base_url = Url::parse(&base_raw)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "HB_BASE_URL: '{base_raw}' is not an http(s) URL; use e.g. http://hb.lan:5827"
                )
            })?;

        let max_ping_data = match get("HB_MAX_PING_DATA") {
            None => heartbeats_wire::DEFAULT_MAX_PING_DATA,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=16 * 1024 * 1024).contains(n))
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "HB_MAX_PING_DATA: '{v}' must be a number of bytes between 1 and 16777216"
                    )
                })?,
        };

        let max_report_bytes = match get("HB_MAX_REPORT_BYTES") {
            None => DEFAULT_MAX_REPORT_BYTES,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1024..=256 * 1024 * 1024).contains(n))
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "HB_MAX_REPORT_BYTES: '{v}' must be a number of bytes between 1024 and 268435456"
                    )
                })?,
        };

        let agent_secs = |name: &str, default: u32| match get(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=3600).contains(n))
                .ok_or_else(|| anyhow::anyhow!("{name}: '{v}' must be 1-3600 seconds")),
        };
        let agent_grace_secs = agent_secs(
            "HB_AGENT_GRACE_SECS",
            crate::app::presence::DEFAULT_GRACE_SECS,
        )?;
        let agent_idle_secs = agent_secs("HB_AGENT_IDLE_SECS", DEFAULT_AGENT_IDLE_SECS)?;
        let mail_burst_threshold = match get("HB_MAIL_BURST_THRESHOLD") {
            None => crate::domain::channel::DEFAULT_BURST_THRESHOLD,
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= 1000)
                .ok_or_else(|| anyhow::anyhow!("HB_MAIL_BURST_THRESHOLD: '{v}' must be 0-1000"))?,
        };
        let mail_burst_window_secs = agent_secs(
            "HB_MAIL_BURST_WINDOW_SECS",
            crate::domain::channel::DEFAULT_BURST_WINDOW_SECS,
        )?;
        let channel_timeout_secs = match get("HB_CHANNEL_TIMEOUT_SECS") {
            None => 10,
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=120).contains(n))
                .ok_or_else(|| {
                    anyhow::anyhow!("HB_CHANNEL_TIMEOUT_SECS: '{v}' must be 1-120 seconds")
                })?,
        };

        let sqlite_synchronous = match get("HB_SQLITE_SYNCHRONOUS")
            .as_deref()
            .map(str::to_lowercase)
            .as_deref()
        {
            None | Some("full") => SqliteSync::Full,
            Some("normal") => SqliteSync::Normal,
            Some(other) => bail!("HB_SQLITE_SYNCHRONOUS: '{other}' must be full or normal"),
        };

        let db_timeout = match get("HB_DB_TIMEOUT") {
            None => DEFAULT_DB_TIMEOUT,
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|s| (0.1..=300.0).contains(s))
                .map(Duration::from_secs_f64)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "HB_DB_TIMEOUT: '{v}' must be a number of seconds between 0.1 and 300, e.g. 2"
                    )
                })?,
        };

        let ping_retention_days = match get("HB_PING_RETENTION_DAYS") {
            None => 90,
            Some(v) => v.parse::<u32>().ok().filter(|d| *d <= 36_600).ok_or_else(|| {
                anyhow::anyhow!("HB_PING_RETENTION_DAYS: '{v}' must be a number of days (0 keeps pings forever)")
            })?,
        };

        let days = |name: &str, default: u32| -> anyhow::Result<u32> {
            match get(name) {
                None => Ok(default),
                Some(v) => v
                    .parse::<u32>()
                    .ok()
                    .filter(|d| *d <= 36_600)
                    .ok_or_else(|| {
                        anyhow::anyhow!(
                            "{name}: '{v}' must be a number of days (0 keeps it forever)"
                        )
                    }),
            }
        };
        let minute_rollup_days = days("HB_MINUTE_ROLLUP_DAYS", 7)?;
        let hour_rollup_days = days("HB_HOUR_ROLLUP_DAYS", 400)?;

        let metrics_listen = match get("HB_METRICS_LISTEN") {
            None => None,
            Some(v) => Some(v.parse::<SocketAddr>().map_err(|_| {
                anyhow::anyhow!(
                    "HB_METRICS_LISTEN: '{v}' is not an address; use e.g. 127.0.0.1:9101"
                )
            })?),
        };
        if metrics_listen.is_some_and(|m| m == listen && m.port() != 0) {
            bail!(
                "HB_METRICS_LISTEN: '{listen}' is HB_LISTEN's address; use another port, e.g. 127.0.0.1:9101"
            );
        }
        let metrics_token = get("HB_METRICS_TOKEN");
        if let Some(t) = &metrics_token
            && (t.chars().count() < 16 || t.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            bail!(
                "HB_METRICS_TOKEN: must be at least 16 characters without spaces; make one with e.g. `openssl rand -hex 24`"
            );
        }

        let smtp_from = get("SMTP_FROM").unwrap_or_else(|| "heartbeats@localhost".into());
        // Django-style "Name <addr>" is fine; lettre parses mailboxes.
        if smtp_from.parse::<lettre::message::Mailbox>().is_err() {
            bail!(
                "SMTP_FROM: '{smtp_from}' is not an email address; use e.g. heartbeats@example.com"
            );
        }
        let smtp = smtp_settings(&get, raw)?;

        Ok(Self {
            listen,
            database_url,
            timezone,
            base_url,
            admin_user: get("HB_ADMIN_USER").unwrap_or_else(|| "admin".into()),
            admin_password: get("HB_ADMIN_PASSWORD"),
            max_ping_data,
            max_report_bytes,
            agent_grace_secs,
            agent_idle_secs,
            mail_burst_threshold,
            mail_burst_window_secs,
            channel_timeout_secs,
            mail_dir: data_dir.join("mail"),
            data_dir,
            sqlite_synchronous,
            db_timeout,
            ping_retention_days,
            minute_rollup_days,
            hour_rollup_days,
            smtp,
            smtp_from,
            metrics_listen,
            metrics_token,
        })
    }
}

fn smtp_settings(
    get: &dyn Fn(&str) -> Option<String>,
    raw: &HashMap<String, String>,
) -> anyhow::Result<Option<SmtpSettings>> {
    let Some(host) = get("SMTP_HOST") else {
        return Ok(None);
    };
    let username = get("SMTP_USERNAME");
    let legacy_flag = |name: &str| {
        raw.get(name).is_some_and(|v| {
            matches!(
                v.trim().to_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            )
        })
    };
    let tls = match get("SMTP_TLS").map(|v| v.to_lowercase()).as_deref() {
        Some("none") | Some("plain") | Some("off") => SmtpTls::None,
        Some("starttls") => SmtpTls::StartTls,
        Some("tls") | Some("ssl") => SmtpTls::Tls,
        Some(other) => bail!("SMTP_TLS: '{other}' must be none, starttls or tls"),
        None if legacy_flag("EMAIL_USE_SSL") => SmtpTls::Tls,
        None if legacy_flag("EMAIL_USE_TLS") => SmtpTls::StartTls,
        None if username.is_some() => SmtpTls::StartTls,
        None => SmtpTls::None,
    };
    let port =
        match get("SMTP_PORT") {
            Some(p) => p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                anyhow::anyhow!("SMTP_PORT: '{p}' is not a port number (1-65535)")
            })?,
            None => match tls {
                SmtpTls::None => 25,
                SmtpTls::StartTls => 587,
                SmtpTls::Tls => 465,
            },
        };
    let timeout_secs = match get("SMTP_TIMEOUT") {
        Some(t) => t
            .parse::<u64>()
            .ok()
            .filter(|t| (1..=600).contains(t))
            .ok_or_else(|| anyhow::anyhow!("SMTP_TIMEOUT: '{t}' must be 1-600 seconds"))?,
        None => 10,
    };
    Ok(Some(SmtpSettings {
        host,
        port,
        username,
        password: get("SMTP_PASSWORD"),
        tls,
        timeout_secs,
    }))
}

/// The old tool's `db.env` named a MySQL server with `DB_HOST`, `DB_PORT`, `DB_NAME`,
/// `DB_USER`, `DB_PASSWORD` (and optionally `DB_ENGINE`).
fn legacy_database_url(raw: &HashMap<String, String>) -> anyhow::Result<Option<String>> {
    let get = |k: &str| {
        raw.get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let Some(host) = get("DB_HOST") else {
        return Ok(None);
    };
    let engine = get("DB_ENGINE")
        .unwrap_or_else(|| "mysql".into())
        .to_lowercase();
    let (scheme, default_port) = if engine.contains("postgres") {
        ("postgres", 5432)
    } else if engine.contains("mysql") || engine.contains("maria") {
        ("mysql", 3306)
    } else {
        bail!("DB_ENGINE: '{engine}' is not supported; use mysql or postgres");
    };
    let port = match get("DB_PORT") {
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| anyhow::anyhow!("DB_PORT: '{p}' is not a port number"))?,
        None => default_port,
    };
    let name =
        get("DB_NAME").ok_or_else(|| anyhow::anyhow!("DB_NAME: required when DB_HOST is set"))?;
    let mut url = Url::parse(&format!("{scheme}://{host}:{port}/"))
        .map_err(|_| anyhow::anyhow!("DB_HOST: '{host}' is not a host name"))?;
    url.set_path(&name);
    if let Some(user) = get("DB_USER") {
        url.set_username(&user)
            .map_err(|_| anyhow::anyhow!("DB_USER: cannot be used in a URL"))?;
    }
    if let Some(pw) = raw.get("DB_PASSWORD").filter(|p| !p.is_empty()) {
        url.set_password(Some(pw))
            .map_err(|_| anyhow::anyhow!("DB_PASSWORD: cannot be used in a URL"))?;
    }
    Ok(Some(url.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> anyhow::Result<Settings> {
        Settings::from_vars(
            &vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn metrics_settings_are_optional_and_checked() {
        let s = load(&[]).unwrap();
        assert_eq!((s.metrics_listen, s.metrics_token), (None, None));
        let s = load(&[
            ("HB_METRICS_LISTEN", "127.0.0.1:9101"),
            ("HB_METRICS_TOKEN", "0123456789abcdef"),
        ])
        .unwrap();
        assert_eq!(s.metrics_listen, Some("127.0.0.1:9101".parse().unwrap()));
        assert_eq!(s.metrics_token.as_deref(), Some("0123456789abcdef"));
        for (vars, names) in [
            (vec![("HB_METRICS_LISTEN", "9101")], "HB_METRICS_LISTEN"),
            (
                vec![
                    ("HB_LISTEN", "127.0.0.1:9101"),
                    ("HB_METRICS_LISTEN", "127.0.0.1:9101"),
                ],
                "HB_METRICS_LISTEN",
            ),
            (vec![("HB_METRICS_TOKEN", "short")], "HB_METRICS_TOKEN"),
            (
                vec![("HB_METRICS_TOKEN", "has a space in it, long")],
                "HB_METRICS_TOKEN",
            ),
        ] {
            let err = load(&vars).unwrap_err().to_string();
            assert!(err.starts_with(names), "{err}");
        }
    }
}
