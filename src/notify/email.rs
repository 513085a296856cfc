//! Composing alert mail (askama, html + text) and sending it (lettre SMTP or `.eml` files).
use std::path::PathBuf;
use std::sync::Arc;

use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use lettre::Message;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use url::Url;

use super::smtp::SmtpPool;
use crate::clock::from_ms;
use crate::domain::status::Reason;
use crate::entity::flips;
use crate::settings::{Settings, SmtpTls};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("cannot build the message: {0}")]
    Compose(String),
    #[error("SMTP: {0}")]
    Smtp(String),
    #[error("cannot write the mail file: {0}")]
    File(String),
}

impl MailError {
    /// Whether trying again later may succeed: a message that cannot be built never will.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, MailError::Compose(_))
    }
}

/// Times as `2026-11-21 16:05:00 UTC+8` and `2026-11-21 08:05:00 UTC`.
fn local_and_utc(t: DateTime<Utc>, tz: Tz) -> (String, String) {
    (
        crate::domain::zone::local_stamp(t, tz),
        t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

#[derive(Template)]
#[template(path = "email/alert.txt")]
struct AlertText<'a> {
    v: &'a AlertView,
}

#[derive(Template)]
#[template(path = "email/alert.html")]
struct AlertHtml<'a> {
    v: &'a AlertView,
}

/// Everything an alert says, computed once for both parts.
#[derive(Debug, Clone)]
pub struct AlertView {
    pub subject: String,
    pub up: bool,
    pub headline: String,
    pub summary: String,
    pub service_name: String,
    pub service_id: String,
    pub reason: String,
    pub at: (String, String),
    pub due: Option<(String, String)>,
    pub last_seen: Option<(String, String)>,
    pub data: Option<String>,
    pub service_url: String,
    pub base_url: String,
    /// On recovery: how long the outage lasted (`2 h 05 min`).
    pub outage: Option<String>,
}

impl AlertView {
    pub fn new(flip: &flips::Model, tz: Tz, base_url: &Url) -> Self {
        let reason = flip.reason;
        let up = reason == Reason::Recovered;
        let (headline, reason_text, summary) = match reason {
            Reason::Recovered => (
                "UP",
                "recovered: a success ping arrived",
                format!("{} is up again.", flip.service_name),
            ),
            Reason::Error => (
                "DOWN",
                "the job reported an error",
                format!("{} reported an error.", flip.service_name),
            ),
            Reason::Hung => (
                "DOWN",
                "hung: a run is still going past the maximum run time",
                format!("{} is hung: a run has not finished.", flip.service_name),
            ),
            Reason::RunTime => (
                "DOWN",
                "a run took too long or too short a time",
                format!(
                    "{}: a run took longer or shorter than it may.",
                    flip.service_name
                ),
            ),
            _ => (
                "DOWN",
                "missed: no ping arrived before the grace time ran out",
                format!("{} did not ping in time.", flip.service_name),
            ),
        };
        let mut service_url = base_url.clone();
        service_url.set_path(&format!(
            "{}/services/{}",
            base_url.path().trim_end_matches('/'),
            flip.service_id
        ));
        Self {
            subject: format!(
                "[Heartbeats] {headline}: {} ({})",
                flip.service_name,
                reason.as_str()
            ),
            up,
            headline: headline.to_owned(),
            summary,
            service_name: flip.service_name.clone(),
            service_id: flip.service_id.clone(),
            reason: reason_text.to_owned(),
            at: local_and_utc(from_ms(flip.at), tz),
            due: flip.due_at.map(|t| local_and_utc(from_ms(t), tz)),
            last_seen: flip.last_ping_at.map(|t| local_and_utc(from_ms(t), tz)),
            data: flip.data.clone().filter(|d| !d.is_empty()),
            service_url: service_url.to_string(),
            base_url: base_url.to_string(),
            outage: None,
        }
    }

    /// Say how long the outage a recovery ends lasted.
    pub fn with_outage(mut self, outage: Option<chrono::Duration>) -> Self {
        self.outage = outage.map(super::digest::duration_en);
        if let Some(d) = &self.outage {
            self.summary = format!("{} is up again after {d} down.", self.service_name);
        }
        self
    }

    pub fn render(&self) -> Result<(String, String), MailError> {
        let text = AlertText { v: self }
            .render()
            .map_err(|e| MailError::Compose(e.to_string()))?;
        let html = AlertHtml { v: self }
            .render()
            .map_err(|e| MailError::Compose(e.to_string()))?;
        Ok((text, html))
    }
}

/// Where a mail sits in its thread: its own `Message-ID`, and for a recovery the id of
/// the mail about the flip it ends (`In-Reply-To` and `References`), so mail clients show
/// an outage as one conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Thread {
    pub id: String,
    pub answers: Option<String>,
}

impl Thread {
    /// The mail of flip `flip_id` of `subject_id` (a service or host id), answering the
    /// mail of flip `answers` when it ends one. Ids are
    /// `<{kind}.{flip id}.{subject id}@{HB_BASE_URL's host}>`: the same for every attempt
    /// at one flip's mail, unique across flips.
    pub fn of_flip(
        kind: &str,
        flip_id: i64,
        subject_id: &str,
        answers: Option<i64>,
        base_url: &Url,
    ) -> Thread {
        let host = base_url.host_str().unwrap_or("heartbeats.invalid");
        let id = |flip: i64| format!("<{kind}.{flip}.{subject_id}@{host}>");
        Thread {
            id: id(flip_id),
            answers: answers.map(id),
        }
    }
}

/// `Auto-Submitted: auto-generated` (RFC 3834): no vacation replies to alerts.
#[derive(Debug, Clone)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}

pub fn message(
    from: &str,
    to: &str,
    subject: &str,
    text: String,
    html: String,
    thread: &Thread,
) -> Result<Message, MailError> {
    let from: Mailbox = from
        .parse()
        .map_err(|e| MailError::Compose(format!("from address: {e}")))?;
    let to: Mailbox = to
        .parse()
        .map_err(|e| MailError::Compose(format!("recipient '{to}': {e}")))?;
    let mut builder = Message::builder()
        .message_id(Some(thread.id.clone()))
        .header(AutoSubmitted);
    if let Some(parent) = &thread.answers {
        builder = builder
            .in_reply_to(parent.clone())
            .references(parent.clone());
    }
    builder
        .from(from)
        .to(to)
        .subject(literal_subject(subject))
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| MailError::Compose(e.to_string()))
}

/// A subject that mail clients show as written. lettre encodes non-ASCII subjects, but
/// passes an ASCII one through as it is, so a service named
/// `=?utf-8?q?=0D=0ABcc:_x?=` would be decoded by the reader's client into a line break
/// and a fake header. Text that looks like an RFC 2047 encoded word is therefore sent as
/// encoded words itself (base64, at most 45 bytes of text each), which decode to the
/// literal characters.
pub fn literal_subject(subject: &str) -> std::borrow::Cow<'_, str> {
    use base64::Engine;
    if !subject.contains("=?") {
        return std::borrow::Cow::Borrowed(subject);
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in subject.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    words.push(chunk);
    let encoded: Vec<String> = words
        .iter()
        .map(|w| {
            format!(
                "=?utf-8?b?{}?=",
                base64::engine::general_purpose::STANDARD.encode(w.as_bytes())
            )
        })
        .collect();
    std::borrow::Cow::Owned(encoded.join(" "))
}

/// Where mail goes.
#[derive(Clone)]
pub enum Mailer {
    Smtp {
        pool: Arc<SmtpPool>,
        from: String,
        describe: String,
    },
    Files {
        dir: PathBuf,
        from: String,
    },
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Mailer {
    pub fn from_settings(settings: &Settings) -> Result<Self, MailError> {
        let Some(smtp) = &settings.smtp else {
            return Ok(Mailer::Files {
                dir: settings.mail_dir.clone(),
                from: settings.smtp_from.clone(),
            });
        };
        let tls = match smtp.tls {
            SmtpTls::None => "none",
            SmtpTls::StartTls => "starttls",
            SmtpTls::Tls => "tls",
        };
        Ok(Mailer::Smtp {
            pool: Arc::new(SmtpPool::new(smtp.clone())),
            from: settings.smtp_from.clone(),
            describe: format!("smtp://{}:{} (tls: {tls})", smtp.host, smtp.port),
        })
    }

    pub fn describe(&self) -> String {
        match self {
            Mailer::Smtp { describe, .. } => describe.clone(),
            Mailer::Files { dir, .. } => format!("files in {}", dir.display()),
        }
    }

    pub fn from_address(&self) -> &str {
        match self {
            Mailer::Smtp { from, .. } | Mailer::Files { from, .. } => from,
        }
    }

    /// Deliver one message; `tag` makes file names unique.
    pub async fn send(&self, msg: Message, tag: &str) -> Result<(), MailError> {
        match self {
            Mailer::Smtp { pool, .. } => pool
                .send(msg.envelope(), &msg.formatted())
                .await
                .map_err(MailError::Smtp),
            Mailer::Files { dir, .. } => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| MailError::File(format!("{}: {e}", dir.display())))?;
                let name = format!("{}-{tag}.eml", Utc::now().format("%Y%m%dT%H%M%S%.3fZ"));
                let path = dir.join(name);
                tokio::fs::write(&path, msg.formatted())
                    .await
                    .map_err(|e| MailError::File(format!("{}: {e}", path.display())))
            }
        }
    }

    /// Compose the mail for one flip and send it to `recipient`; `tag` as for [`Mailer::send`].
    /// A service flip's mail; `answers` is the flip a recovery ends (its mail is answered),
    /// `outage` how long that outage lasted.
    #[allow(clippy::too_many_arguments)]
    pub async fn send_alert(
        &self,
        recipient: &str,
        flip: &flips::Model,
        answers: Option<i64>,
        outage: Option<chrono::Duration>,
        tz: Tz,
        base_url: &Url,
        tag: &str,
    ) -> Result<(), MailError> {
        let view = AlertView::new(flip, tz, base_url).with_outage(outage);
        let (text, html) = view.render()?;
        let thread = Thread::of_flip("flip", flip.id, &flip.service_id, answers, base_url);
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

    pub async fn send_test(&self, to: &str, base_url: &Url) -> Result<(), MailError> {
        let text = format!(
            "This is a test message from Heartbeats at {base_url}.\nIf you can read it, alert mail reaches {to}.\n"
        );
        let html = format!(
            "<p>This is a test message from Heartbeats at <a href=\"{base_url}\">{base_url}</a>.</p><p>If you can read it, alert mail reaches you.</p>"
        );
        let host = base_url.host_str().unwrap_or("heartbeats.invalid");
        let thread = Thread {
            id: format!(
                "<test.{}.{}@{host}>",
                Utc::now().timestamp_millis(),
                nanoid::nanoid!(8, &nanoid::alphabet::SAFE)
            ),
            answers: None,
        };
        let msg = message(
            self.from_address(),
            to,
            "[Heartbeats] test message",
            text,
            html,
            &thread,
        )?;
        self.send(msg, "test").await
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::*;

    /// Decode `=?utf-8?b?…?=` words the way a mail client does (whitespace between
    /// encoded words is dropped).
    fn decode(header: &str) -> String {
        header
            .split_whitespace()
            .map(|w| {
                let b64 = w
                    .strip_prefix("=?utf-8?b?")
                    .and_then(|w| w.strip_suffix("?="))
                    .expect("an encoded word");
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .expect("base64");
                String::from_utf8(bytes).expect("utf-8")
            })
            .collect()
    }

    #[test]
    fn encoded_words_in_names_reach_the_reader_literally() {
        let name = "DOWN: =?utf-8?q?=0D=0ABcc:_victim@example.com?= backup job with a long name";
        let subject = literal_subject(name);
        assert!(!subject.contains("=?utf-8?q?"), "{subject}");
        assert_eq!(decode(&subject), name);
        assert!(subject.split(' ').all(|w| w.len() <= 75), "{subject}");
        let msg = message(
            "hb@example.com",
            "ops@example.com",
            name,
            "text".into(),
            "<p>html</p>".into(),
            &Thread {
                id: "<flip.7.abc@hb.example.com>".into(),
                answers: None,
            },
        )
        .expect("message");
        let raw = String::from_utf8(msg.formatted()).expect("utf-8");
        assert!(!raw.contains("=0D=0ABcc"), "{raw}");
        assert!(!raw.lines().any(|l| l.starts_with("Bcc:")), "{raw}");
        assert!(
            raw.contains("Message-ID: <flip.7.abc@hb.example.com>"),
            "{raw}"
        );
        assert!(raw.contains("Auto-Submitted: auto-generated"), "{raw}");
        assert!(!raw.contains("In-Reply-To"), "{raw}");
        // Plain subjects are left to lettre.
        assert_eq!(literal_subject("DOWN: backup"), "DOWN: backup");
    }
}
