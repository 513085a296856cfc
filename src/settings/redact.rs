//! `Debug` for settings that never shows a secret: settings end up in logs and panic
//! messages, and a database or SMTP password there is a password leaked.
use std::fmt;

use url::Url;

use super::{Settings, SmtpSettings};

/// Stands in for a secret.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A URL with its password, and any query parameter that looks like one, replaced.
pub(crate) fn redact_url(raw: &str) -> String {
    let Ok(mut url) = Url::parse(raw) else {
        // Not a URL, so nothing tells where a secret would be in it.
        return "(not shown)".to_owned();
    };
    if url.password().is_some() {
        // Fails only for URLs that cannot have a password, which this one has.
        let _ = url.set_password(Some("***"));
    }
    let secret = |key: &str| {
        let key = key.to_lowercase();
        ["pass", "secret", "token", "key"]
            .iter()
            .any(|s| key.contains(s))
    };
    if url.query_pairs().any(|(k, _)| secret(&k)) {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if secret(&k) {
                    "***".into()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Destructured so that a new field cannot be forgotten here.
        let Settings {
            listen,
            database_url,
            timezone,
            base_url,
            admin_user,
            admin_password,
            max_ping_data,
            max_report_bytes,
            agent_grace_secs,
            agent_idle_secs,
            data_dir,
            sqlite_synchronous,
            db_timeout,
            ping_retention_days,
            minute_rollup_days,
            hour_rollup_days,
            smtp,
            mail_dir,
            smtp_from,
            mail_burst_threshold,
            mail_burst_window_secs,
            channel_timeout_secs,
            metrics_listen,
            metrics_token,
        } = self;
        f.debug_struct("Settings")
            .field("listen", listen)
            .field("database_url", &redact_url(database_url))
            .field("timezone", timezone)
            .field("base_url", &redact_url(base_url.as_str()))
            .field("admin_user", admin_user)
            .field("admin_password", &admin_password.as_ref().map(|_| Redacted))
            .field("max_ping_data", max_ping_data)
            .field("max_report_bytes", max_report_bytes)
            .field("agent_grace_secs", agent_grace_secs)
            .field("agent_idle_secs", agent_idle_secs)
            .field("data_dir", data_dir)
            .field("sqlite_synchronous", sqlite_synchronous)
            .field("db_timeout", db_timeout)
            .field("ping_retention_days", ping_retention_days)
            .field("minute_rollup_days", minute_rollup_days)
            .field("hour_rollup_days", hour_rollup_days)
            .field("smtp", smtp)
            .field("mail_dir", mail_dir)
            .field("smtp_from", smtp_from)
            .field("mail_burst_threshold", mail_burst_threshold)
            .field("mail_burst_window_secs", mail_burst_window_secs)
            .field("channel_timeout_secs", channel_timeout_secs)
            .field("metrics_listen", metrics_listen)
            .field("metrics_token", &metrics_token.as_ref().map(|_| Redacted))
            .finish()
    }
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let SmtpSettings {
            host,
            port,
            username,
            password,
            tls,
            timeout_secs,
        } = self;
        f.debug_struct("SmtpSettings")
            .field("host", host)
            .field("port", port)
            .field("username", username)
            .field("password", &password.as_ref().map(|_| Redacted))
            .field("tls", tls)
            .field("timeout_secs", timeout_secs)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Settings {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_vars(&vars).unwrap()
    }

    #[test]
    fn debug_shows_no_password() {
        let s = settings(&[
            (
                "DATABASE_URL",
                "postgres://hb:db-Secret-1@db.lan:5432/hb?sslmode=require&password=db-Secret-2",
            ),
            ("HB_ADMIN_PASSWORD", "admin-Secret-3"),
            ("SMTP_HOST", "mail.lan"),
            ("SMTP_USERNAME", "alerts"),
            ("SMTP_PASSWORD", "smtp-Secret-4"),
            ("HB_METRICS_TOKEN", "metrics-Secret-6-abcdef"),
        ]);
        let shown = format!("{s:?} {s:#?} {:?}", s.smtp);
        assert!(!shown.contains("Secret"), "{shown}");
        // Everything else is still there to debug with.
        assert!(
            shown.contains("postgres://hb:***@db.lan:5432/hb?sslmode=require&password=***"),
            "{shown}"
        );
        assert!(shown.contains("admin_password: Some(***)"), "{shown}");
        assert!(shown.contains("password: Some(***)"), "{shown}");
        assert!(shown.contains("metrics_token: Some(***)"), "{shown}");
        assert!(shown.contains("\"alerts\""), "{shown}");
        assert!(shown.contains("mail.lan"), "{shown}");
    }

    #[test]
    fn legacy_database_password_is_hidden_too() {
        let s = settings(&[
            ("DB_HOST", "db.lan"),
            ("DB_NAME", "heartbeats"),
            ("DB_USER", "hb"),
            ("DB_PASSWORD", "p@ss:Secret/5"),
        ]);
        assert!(s.database_url.contains("Secret"));
        let shown = format!("{s:?}");
        assert!(!shown.contains("Secret"), "{shown}");
        assert!(
            shown.contains("mysql://hb:***@db.lan:3306/heartbeats"),
            "{shown}"
        );
    }

    #[test]
    fn urls_without_secrets_are_shown_as_they_are() {
        assert_eq!(
            redact_url("sqlite://data/heartbeats.db"),
            "sqlite://data/heartbeats.db"
        );
        assert_eq!(
            redact_url("mysql://root@127.0.0.1/hb"),
            "mysql://root@127.0.0.1/hb"
        );
        assert_eq!(redact_url("not a url :pw@x"), "(not shown)");
    }
}
