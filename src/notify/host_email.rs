//! Alert mail for a host's flip: which host, what is wrong (one line per failing check),
//! since when, and on recovery how long it lasted.
use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use url::Url;

use super::email::{MailError, Mailer, Thread, message};
use crate::clock::from_ms;
use crate::domain::host::{HostReason, HostStatus};
use crate::domain::host_status::describe_secs;
use crate::entity::host_flips;

#[derive(Template)]
#[template(path = "email/host_alert.txt")]
struct HostAlertText<'a> {
    v: &'a HostAlertView,
}

#[derive(Template)]
#[template(path = "email/host_alert.html")]
struct HostAlertHtml<'a> {
    v: &'a HostAlertView,
}

/// Everything a host alert says, computed once for both parts.
#[derive(Debug, Clone)]
pub struct HostAlertView {
    pub subject: String,
    pub headline: String,
    pub colour: &'static str,
    pub summary: String,
    pub host_name: String,
    pub host_id: String,
    pub from: String,
    pub to: String,
    pub reason: &'static str,
    /// What is wrong (or, on recovery, what still is).
    pub lines: Vec<String>,
    pub at: (String, String),
    pub since: Option<(String, String)>,
    /// On recovery: how long the outage or degradation lasted.
    pub lasted: Option<String>,
    pub last_seen: Option<(String, String)>,
    pub host_url: String,
    pub base_url: String,
}

fn local_and_utc(t: DateTime<Utc>, tz: Tz) -> (String, String) {
    (
        crate::domain::zone::local_stamp(t, tz),
        t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

impl HostAlertView {
    pub fn new(flip: &host_flips::Model, tz: Tz, base_url: &Url) -> Self {
        let name = &flip.host_name;
        let lines: Vec<String> = flip
            .detail
            .as_deref()
            .map(|d| d.lines().map(str::to_owned).collect())
            .unwrap_or_default();
        let lasted = match flip.reason {
            HostReason::Recovered | HostReason::Cleared => flip
                .since
                .map(|since| describe_secs((flip.at - since) / 1000)),
            _ => None,
        };
        let first = lines.first().cloned().unwrap_or_default();
        let (headline, colour, reason, summary, short) = match flip.reason {
            HostReason::Offline | HostReason::Unreachable => (
                "DOWN",
                "#e03131",
                "offline",
                format!("{name} is {first}."),
                first.clone(),
            ),
            HostReason::Degraded => (
                "DEGRADED",
                "#f08c00",
                "degraded",
                format!("{name} is degraded: {}.", lines.join("; ")),
                first.clone(),
            ),
            HostReason::Recovered => {
                let after = lasted.clone().unwrap_or_default();
                let still = if flip.to_status == HostStatus::Degraded {
                    format!(" It is still degraded: {}.", lines.join("; "))
                } else {
                    String::new()
                };
                (
                    "UP",
                    "#2f9e44",
                    "recovered",
                    format!("{name} is back online after {after}.{still}"),
                    format!("recovered after {after}"),
                )
            }
            HostReason::Cleared => {
                let after = lasted.clone().unwrap_or_default();
                (
                    "UP",
                    "#2f9e44",
                    "checks pass again",
                    format!("{name} is healthy again after {after} degraded."),
                    format!("recovered after {after}"),
                )
            }
            HostReason::Paused | HostReason::Resumed => (
                "INFO",
                "#1c7ed6",
                flip.reason.as_str(),
                format!("{name} was {}.", flip.reason),
                flip.reason.to_string(),
            ),
        };
        let mut host_url = base_url.clone();
        host_url.set_path(&format!(
            "{}/hosts/{}",
            base_url.path().trim_end_matches('/'),
            flip.host_id
        ));
        Self {
            subject: format!("[Heartbeats] {headline}: {name} ({short})"),
            headline: headline.to_owned(),
            colour,
            summary,
            host_name: name.clone(),
            host_id: flip.host_id.clone(),
            from: flip.from_status.to_string(),
            to: flip.to_status.to_string(),
            reason,
            // A recovery lists what was wrong in its summary only when something still is.
            lines: match flip.reason {
                HostReason::Cleared => Vec::new(),
                _ => lines,
            },
            at: local_and_utc(from_ms(flip.at), tz),
            since: flip.since.map(|t| local_and_utc(from_ms(t), tz)),
            lasted,
            last_seen: flip.last_ok_at.map(|t| local_and_utc(from_ms(t), tz)),
            host_url: host_url.to_string(),
            base_url: base_url.to_string(),
        }
    }

    pub fn render(&self) -> Result<(String, String), MailError> {
        let text = HostAlertText { v: self }
            .render()
            .map_err(|e| MailError::Compose(e.to_string()))?;
        let html = HostAlertHtml { v: self }
            .render()
            .map_err(|e| MailError::Compose(e.to_string()))?;
        Ok((text, html))
    }
}

impl Mailer {
    /// Compose the mail for one host flip and send it to `recipient`.
    pub async fn send_host_alert(
        &self,
        recipient: &str,
        flip: &host_flips::Model,
        answers: Option<i64>,
        tz: Tz,
        base_url: &Url,
        tag: &str,
    ) -> Result<(), MailError> {
        let view = HostAlertView::new(flip, tz, base_url);
        let (text, html) = view.render()?;
        let thread = Thread::of_flip("hostflip", flip.id, &flip.host_id, answers, base_url);
        let msg = message(
            self.from_address(),
            recipient,
            &view.subject,
            text,
            html,
            &thread,
        )?;
        self.send(msg, tag).await
    }
}
