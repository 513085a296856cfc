//! Mail that is not one flip's alert: a burst (many flips in one mail) and a reminder
//! (still down). Plain text and a simple HTML part; a reminder answers the mail of the
//! flip it reminds of, so it lands in the outage's thread.
use chrono::{DateTime, Utc};
use url::Url;

use super::email::{MailError, Mailer, Thread, message};
use super::message::{AlertItem, MAX_BURST_LINES, SubjectKind};
use crate::domain::zone::local_stamp;

/// `2 h 05 min`, `3 min`, `45 s`, `2 d 3 h`.
pub fn duration_en(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    let (days, hours, mins) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    match (days, hours, mins) {
        (0, 0, 0) => format!("{s} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, m) => format!("{h} h {m:02} min"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

fn when(t: DateTime<Utc>, item: &AlertItem) -> String {
    format!(
        "{} ({})",
        local_stamp(t, item.tz),
        t.format("%Y-%m-%d %H:%M:%S UTC")
    )
}

fn kind_word(item: &AlertItem) -> &'static str {
    match item.subject {
        SubjectKind::Service => "service",
        SubjectKind::Host => "host",
    }
}

/// One line per item: `DOWN backup-db (service, missed) since … <link>`.
fn line(item: &AlertItem) -> String {
    let head = if item.cause.is_up() { "UP  " } else { "DOWN" };
    let mut out = format!(
        "{head} {} ({}, {}) at {}",
        item.name,
        kind_word(item),
        item.status,
        when(item.at, item)
    );
    if let Some(d) = item.outage {
        out.push_str(&format!(", down for {}", duration_en(d)));
    }
    out.push_str(&format!("\n     {}", item.link));
    out
}

/// Subject and text of a burst mail.
pub fn burst_text(items: &[AlertItem]) -> (String, String) {
    let up = items.iter().filter(|i| i.cause.is_up()).count();
    let down = items.len() - up;
    let counts = match (down, up) {
        (d, 0) => format!("{d} down"),
        (0, u) => format!("{u} up"),
        (d, u) => format!("{d} down, {u} up"),
    };
    let mut text = format!("{counts} at once.\n\n");
    for item in items.iter().take(MAX_BURST_LINES) {
        text.push_str(&line(item));
        text.push('\n');
    }
    if items.len() > MAX_BURST_LINES {
        text.push_str(&format!("… and {} more.\n", items.len() - MAX_BURST_LINES));
    }
    (format!("[Heartbeats] {counts}"), text)
}

/// Subject and text of a reminder mail.
pub fn reminder_text(item: &AlertItem) -> (String, String) {
    let down_for = item.down_for.map(duration_en).unwrap_or_default();
    let n = item.reminder.unwrap_or(1);
    let mut text = format!(
        "{} ({}) is still {} after {down_for} (reminder {n}).\n\nDown since {}\n",
        item.name,
        kind_word(item),
        item.status,
        when(item.at, item)
    );
    if let Some(d) = &item.detail {
        let cut: String = d.chars().take(1000).collect();
        text.push_str(&format!("\n{cut}\n"));
    }
    text.push_str(&format!("\n{}\n", item.link));
    (
        format!(
            "[Heartbeats] STILL DOWN: {} for {down_for} (reminder {n})",
            item.name
        ),
        text,
    )
}

fn html_of(text: &str) -> String {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!("<pre style=\"font-family:inherit;white-space:pre-wrap\">{escaped}</pre>")
}

impl Mailer {
    /// A burst: one mail listing `items`. Its id names the first alert it carries.
    pub async fn send_burst(
        &self,
        to: &str,
        items: &[AlertItem],
        first_alert: i64,
        base_url: &Url,
        tag: &str,
    ) -> Result<(), MailError> {
        let (subject, text) = burst_text(items);
        let host = base_url.host_str().unwrap_or("heartbeats.invalid");
        let thread = Thread {
            id: format!("<burst.{first_alert}.{}@{host}>", items.len()),
            answers: None,
        };
        let html = html_of(&text);
        let msg = message(self.from_address(), to, &subject, text, html, &thread)?;
        self.send(msg, tag).await
    }

    /// A reminder, answering the mail of the flip it is about.
    pub async fn send_reminder(
        &self,
        to: &str,
        item: &AlertItem,
        flip: (&str, i64),
        alert: i64,
        base_url: &Url,
        tag: &str,
    ) -> Result<(), MailError> {
        let (subject, text) = reminder_text(item);
        let (kind, flip_id) = flip;
        let of_flip = Thread::of_flip(kind, flip_id, &item.id, None, base_url);
        let host = base_url.host_str().unwrap_or("heartbeats.invalid");
        let thread = Thread {
            id: format!("<reminder.{alert}.{}@{host}>", item.id),
            answers: Some(of_flip.id),
        };
        let html = html_of(&text);
        let msg = message(self.from_address(), to, &subject, text, html, &thread)?;
        self.send(msg, tag).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        let d = chrono::Duration::seconds;
        assert_eq!(duration_en(d(45)), "45 s");
        assert_eq!(duration_en(d(180)), "3 min");
        assert_eq!(duration_en(d(2 * 3600 + 5 * 60)), "2 h 05 min");
        assert_eq!(duration_en(d(2 * 86_400 + 3 * 3600 + 59)), "2 d 3 h");
    }
}
