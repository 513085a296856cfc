//! What the outbox does with one claimed alert: send it (and what it says), hold it while
//! its subject is snoozed or in maintenance, skip it when what it announces no longer
//! stands, or give up on it.
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use url::Url;

use crate::clock::from_ms;
use crate::domain::Tags;
use crate::domain::alert::{AlertPurpose, AlertState, SubjectKind};
use crate::entity::alerts;
use crate::notify::message::{AlertItem, Cause};
use crate::store::outbox_context::Context;

pub(super) enum Decision {
    Send(Box<AlertItem>),
    /// Wait, `Held`, until the silence ends.
    Hold {
        until: DateTime<Utc>,
        note: String,
    },
    /// Close without sending.
    Skip(String),
    /// Give up: it can never be sent.
    Fatal(String),
}

/// When the maintenance silence covering a time ends, for a subject with these tags.
pub(super) type Windows<'a> =
    &'a (dyn Fn(SubjectKind, &[String], DateTime<Utc>) -> Option<DateTime<Utc>> + Sync);

/// Everything a decision reads besides the alert.
pub(super) struct Inputs<'a> {
    pub cx: &'a Context,
    pub windows: Windows<'a>,
    pub base_url: &'a Url,
    pub default_tz: Tz,
    pub now: DateTime<Utc>,
}

pub(super) fn decide(alert: &alerts::Model, inp: &Inputs<'_>) -> Decision {
    let cx = inp.cx;
    let item = match item(alert, inp) {
        Ok(item) => item,
        Err(fatal) => return Decision::Fatal(fatal),
    };
    if let Some(channel) = &alert.channel_id
        && !cx.targets.contains_key(channel)
    {
        return Decision::Fatal("the channel this alert was for is gone".into());
    }
    if let Some((until, note)) = silence(alert, &item, inp) {
        return Decision::Hold { until, note };
    }
    let up = item.cause.is_up();
    let was_held = alert.state == AlertState::Held;
    let reminder = alert.purpose == AlertPurpose::Reminder;
    if (was_held || reminder) && !cx.still_stands(alert) {
        let what = if up { "down again" } else { "back up" };
        return Decision::Skip(format!(
            "not sent: {} was {what} before it was due",
            item.name
        ));
    }
    if reminder && remind_every(alert, cx).is_none() {
        return Decision::Skip("not sent: reminders were turned off".into());
    }
    Decision::Send(Box::new(item))
}

/// The snooze or maintenance window covering `now` for the alert's subject, and when it
/// ends.
fn silence(
    alert: &alerts::Model,
    item: &AlertItem,
    inp: &Inputs<'_>,
) -> Option<(DateTime<Utc>, String)> {
    let snoozed = match item.subject {
        SubjectKind::Service => alert
            .service_id
            .as_ref()
            .and_then(|id| inp.cx.services.get(id))
            .and_then(|s| s.snoozed_until),
        SubjectKind::Host => alert
            .host_id
            .as_ref()
            .and_then(|id| inp.cx.hosts.get(id))
            .and_then(|h| h.snoozed_until),
    }
    .map(from_ms)
    .filter(|until| *until > inp.now);
    let window = (inp.windows)(item.subject, &item.tags, inp.now);
    match (snoozed, window) {
        (None, None) => None,
        (Some(s), None) => Some((s, format!("held: snoozed until {}", stamp(s)))),
        (s, Some(w)) => {
            let until = s.map_or(w, |s| s.max(w));
            Some((
                until,
                format!("held: in a maintenance window until {}", stamp(until)),
            ))
        }
    }
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The subject's reminder interval, when it has reminders on.
pub(super) fn remind_every(alert: &alerts::Model, cx: &Context) -> Option<(i64, i32)> {
    let (every, max) = if let Some(id) = &alert.service_id {
        let s = cx.services.get(id)?;
        (s.remind_every_secs?, s.remind_max)
    } else {
        let h = cx.hosts.get(alert.host_id.as_ref()?)?;
        (h.remind_every_secs?, h.remind_max)
    };
    (every > 0 && max > 0).then_some((every, max))
}

fn link(base_url: &Url, path: &str) -> String {
    let mut url = base_url.clone();
    url.set_path(&format!("{}{path}", base_url.path().trim_end_matches('/')));
    url.to_string()
}

/// The flip behind an alert as a channel tells it.
fn item(alert: &alerts::Model, inp: &Inputs<'_>) -> Result<AlertItem, String> {
    let cx = inp.cx;
    let reminder = (alert.purpose == AlertPurpose::Reminder).then_some(alert.seq.max(1) as u32);
    if let Some(id) = alert.host_flip_id {
        let flip = cx
            .host_flips
            .get(&id)
            .ok_or("the host flip behind this alert is gone")?;
        let host = cx.hosts.get(&flip.host_id);
        let at = from_ms(flip.at);
        let cause = Cause::Host(flip.reason);
        let since = flip.since.map(from_ms);
        return Ok(AlertItem {
            subject: SubjectKind::Host,
            id: flip.host_id.clone(),
            name: host.map_or_else(|| flip.host_name.clone(), |h| h.name.clone()),
            cause,
            status: flip.to_status.to_string(),
            detail: flip.detail.clone().filter(|d| !d.is_empty()),
            at,
            due_at: None,
            last_seen: flip.last_ok_at.map(from_ms),
            tz: inp.default_tz,
            link: link(inp.base_url, &format!("/hosts/{}", flip.host_id)),
            tags: host.map_or_else(Vec::new, |h| Tags::from_column(&h.tags).into_vec()),
            outage: cause.is_up().then(|| since.map(|s| at - s)).flatten(),
            reminder,
            down_for: reminder.map(|_| inp.now - since.unwrap_or(at)),
        });
    }
    let (flip, tz) = alert
        .flip_id
        .and_then(|id| cx.service_flips.get(&id))
        .ok_or("the flip behind this alert is gone")?;
    let service = cx.services.get(&flip.service_id);
    let at = from_ms(flip.at);
    let cause = Cause::Service(flip.reason);
    let outage = cx
        .service_ends
        .get(&flip.id)
        .and_then(|ended| cx.ended_at.get(ended))
        .filter(|_| cause.is_up())
        .map(|start| at - *start);
    Ok(AlertItem {
        subject: SubjectKind::Service,
        id: flip.service_id.clone(),
        name: service.map_or_else(|| flip.service_name.clone(), |s| s.name.clone()),
        cause,
        status: flip.to_status.to_string(),
        detail: flip.data.clone().filter(|d| !d.is_empty()),
        at,
        due_at: flip.due_at.map(from_ms),
        last_seen: flip.last_ping_at.map(from_ms),
        tz: tz.unwrap_or(inp.default_tz),
        link: link(inp.base_url, &format!("/services/{}", flip.service_id)),
        tags: service.map_or_else(Vec::new, |s| Tags::from_column(&s.tags).into_vec()),
        outage,
        reminder,
        down_for: reminder.map(|_| inp.now - at),
    })
}
