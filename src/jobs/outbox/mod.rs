//! The outbox job: sends pending alerts to their addresses and channels, retries failures
//! with backoff, and records every attempt, so an SMTP or chat outage or a restart loses no
//! alert. Claims make several processes on one database send each alert once. Per batch it
//! decides (`compose`) what each alert becomes: sent, held while its subject is snoozed or
//! in maintenance, skipped when what it announces no longer stands; groups a destination's
//! alerts into one message when they come in a burst (`bursts`); and queues the next
//! reminder after a down alert went out. Writing and sending each message is
//! `crate::notify`'s.
mod bursts;
mod compose;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use anyhow::Context as _;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use futures::StreamExt;
use sea_orm::DatabaseConnection;
use tokio::sync::Notify;
use url::Url;

use self::bursts::{Plan, Throttle};
use self::compose::{Decision, Inputs, decide, remind_every};
use super::{Job, Signal};
use crate::clock::SharedClock;
use crate::domain::alert::{AlertPurpose, AlertState};
use crate::entity::alerts as alert_rows;
use crate::notify::Mailer;
use crate::notify::chat::Sender;
use crate::notify::message::{AlertItem, Message, SendError, Target};
use crate::notify::smtp::MAX_CONNECTIONS;
use crate::store::alerts;
use crate::store::outbox_context::{self, Context};
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Alerts delivered (an alert in a burst message counts once).
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
    /// Alerts put aside: held by a snooze or window, or waiting to be grouped.
    pub held: usize,
    pub skipped: usize,
    /// Alerts put back for the next round (more messages than one claim may send).
    pub requeued: usize,
}

pub struct Outbox {
    db: DatabaseConnection,
    mailer: Mailer,
    chat: Sender,
    clock: SharedClock,
    pub notify: Arc<Notify>,
    base_url: Url,
    default_tz: Tz,
    pub concurrency: usize,
    pub max_attempts: i32,
    pub poll: StdDuration,
    /// Bursts to one `notify` address (`HB_MAIL_BURST_THRESHOLD`, `…_WINDOW_SECS`).
    pub mail_burst: (u32, u32),
    throttle: Throttle,
}

/// 30 s, 1 min, 2 min, … capped at 1 h.
pub fn backoff(attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 8) - 1;
    (Duration::seconds(30) * 2i32.pow(exp as u32)).min(Duration::hours(1))
}

/// Alerts read per round. A destination's ready alerts are claimed together, so a burst
/// of up to this many becomes one message.
const BATCH: u64 = 5000;

enum Attempt {
    Sent,
    Retry(String),
    Fatal(String),
}

impl From<Result<(), SendError>> for Attempt {
    fn from(r: Result<(), SendError>) -> Self {
        match r {
            Ok(()) => Attempt::Sent,
            Err(e) if e.retryable => Attempt::Retry(e.text),
            Err(e) => Attempt::Fatal(e.text),
        }
    }
}

impl From<Result<(), crate::notify::MailError>> for Attempt {
    fn from(r: Result<(), crate::notify::MailError>) -> Self {
        match r {
            Ok(()) => Attempt::Sent,
            Err(e) if e.is_retryable() => Attempt::Retry(e.to_string()),
            Err(e) => Attempt::Fatal(e.to_string()),
        }
    }
}

/// Where an alert goes: a channel, or one `notify` address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Destination {
    Channel(String),
    Mail(String),
}

fn destination(a: &alert_rows::Model) -> Destination {
    match &a.channel_id {
        Some(id) => Destination::Channel(id.clone()),
        None => Destination::Mail(a.recipient.clone()),
    }
}

/// One message to send: one alert, or a burst of a destination's alerts.
struct Outgoing {
    dest: Destination,
    alerts: Vec<alert_rows::Model>,
    items: Vec<AlertItem>,
}

impl Outbox {
    pub fn new(
        db: DatabaseConnection,
        mailer: Mailer,
        clock: SharedClock,
        notify: Arc<Notify>,
        base_url: Url,
        default_tz: Tz,
    ) -> Self {
        Self {
            db,
            mailer,
            chat: Sender::new(StdDuration::from_secs(10)),
            clock,
            notify,
            base_url,
            default_tz,
            concurrency: MAX_CONNECTIONS,
            max_attempts: 10,
            poll: StdDuration::from_secs(10),
            mail_burst: (
                crate::domain::channel::DEFAULT_BURST_THRESHOLD,
                crate::domain::channel::DEFAULT_BURST_WINDOW_SECS,
            ),
            throttle: Throttle::default(),
        }
    }

    /// How long a chat robot or webhook may take (`HB_CHANNEL_TIMEOUT_SECS`).
    pub fn with_channel_timeout(mut self, timeout: StdDuration) -> Self {
        self.chat = Sender::new(timeout);
        self
    }

    pub fn with_mail_burst(mut self, threshold: u32, window_secs: u32) -> Self {
        self.mail_burst = (threshold, window_secs);
        self
    }

    /// The destinations among `ready` that group bursts (a threshold above 0).
    async fn grouping(&self, ready: &[alert_rows::Model]) -> anyhow::Result<HashSet<Destination>> {
        let channels: Vec<String> = ready
            .iter()
            .filter_map(|a| a.channel_id.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let targets = crate::store::channels::targets(&self.db, &channels)
            .await
            .context("cannot read the channels of the alerts")?;
        Ok(ready
            .iter()
            .map(destination)
            .filter(|d| match d {
                Destination::Mail(_) => self.mail_burst.0 > 0,
                Destination::Channel(id) => targets
                    .get(id)
                    .is_some_and(|t| t.settings.burst_threshold() > 0),
            })
            .collect())
    }

    /// Single alerts claimed per round: four rounds of connections, so that even if every
    /// message waits out its timeout the lease covers the round.
    fn round_width(&self) -> usize {
        self.concurrency.max(1) * 4
    }

    pub fn mailer(&self) -> &Mailer {
        &self.mailer
    }

    pub fn chat(&self) -> &Sender {
        &self.chat
    }

    async fn deliver(
        &self,
        claim: alerts::Claim,
        report: &mut DeliveryReport,
    ) -> anyhow::Result<()> {
        let cx = outbox_context::load(&self.db, &claim.alerts)
            .await
            .context("cannot read what the alerts are about")?;
        let windows = crate::store::maintenance::all_windows(&self.db)
            .await
            .context("cannot read the maintenance windows")?;
        let silenced = |subject, tags: &[String], at| {
            crate::domain::maintenance::silenced_until(&windows, subject, tags, at)
        };
        let now = self.clock.now();
        let inputs = Inputs {
            cx: &cx,
            windows: &silenced,
            base_url: &self.base_url,
            default_tz: self.default_tz,
            now,
        };
        let mut held: Vec<(i64, DateTime<Utc>, String)> = Vec::new();
        let mut skipped: Vec<(i64, String)> = Vec::new();
        let mut fatal: Vec<(alert_rows::Model, String)> = Vec::new();
        let mut sendable: Vec<(alert_rows::Model, AlertItem)> = Vec::new();
        for alert in claim.alerts {
            match decide(&alert, &inputs) {
                Decision::Send(item) => sendable.push((alert, *item)),
                Decision::Hold { until, note } => held.push((alert.id, until, note)),
                Decision::Skip(note) => skipped.push((alert.id, note)),
                Decision::Fatal(e) => fatal.push((alert, e)),
            }
        }
        let sendable = self
            .drop_untold_recoveries(sendable, &cx, &mut skipped)
            .await?;
        // Alerts that were held stay held when they are put aside again, so that the checks
        // a held alert gets (does it still stand?) are not lost.
        let was_held: HashSet<i64> = sendable
            .iter()
            .filter(|(a, _)| a.state == AlertState::Held)
            .map(|(a, _)| a.id)
            .collect();
        let (outgoing, waiting) = self.group(sendable, &cx, now);
        report.requeued += waiting
            .iter()
            .filter(|(until, _, _)| *until <= now)
            .map(|(_, _, ids)| ids.len())
            .sum::<usize>();
        let outcomes: Vec<(Outgoing, Attempt)> = futures::stream::iter(outgoing)
            .map(|out| {
                let cx = &cx;
                async move {
                    let attempt = self.attempt(&out, cx).await;
                    (out, attempt)
                }
            })
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await;
        crate::telemetry::counters::alerts_delivered(outcomes.iter().map(|(o, a)| {
            (
                match &o.dest {
                    Destination::Channel(id) => Some(id.as_str()),
                    Destination::Mail(_) => None,
                },
                o.alerts.len(),
                matches!(a, Attempt::Sent),
            )
        }));
        // Record what went out before anything else can fail: a delivered alert left
        // pending would be sent again when its claim runs out.
        let sent: Vec<&alert_rows::Model> = outcomes
            .iter()
            .filter(|(_, a)| matches!(a, Attempt::Sent))
            .flat_map(|(out, _)| out.alerts.iter())
            .collect();
        let sent_ids: Vec<i64> = sent.iter().map(|a| a.id).collect();
        alerts::mark_sent(&self.db, &claim.token, &sent_ids, self.clock.now())
            .await
            .context("cannot record the alerts that were sent")?;
        report.sent += sent_ids.len();
        self.queue_reminders(&sent, &cx, now).await;
        for (until, note, ids) in waiting {
            if until > now {
                report.held += ids.len();
            }
            let (held_ids, pending_ids): (Vec<i64>, Vec<i64>) =
                ids.into_iter().partition(|id| was_held.contains(id));
            for (ids, state) in [
                (held_ids, AlertState::Held),
                (pending_ids, AlertState::Pending),
            ] {
                alerts::set_aside(&self.db, &claim.token, &ids, state, until, &note)
                    .await
                    .context("cannot put the alerts of a burst aside")?;
            }
        }
        for (id, until, note) in held {
            report.held += 1;
            let until = until.max(now + Duration::seconds(1));
            alerts::set_aside(
                &self.db,
                &claim.token,
                &[id],
                AlertState::Held,
                until,
                &note,
            )
            .await
            .context("cannot hold an alert")?;
        }
        for (id, note) in skipped {
            report.skipped += 1;
            alerts::skip(&self.db, &claim.token, &[id], &note)
                .await
                .context("cannot skip an alert")?;
        }
        let failures = outcomes
            .into_iter()
            .flat_map(|(out, attempt)| {
                let err = match attempt {
                    Attempt::Sent => return Vec::new(),
                    Attempt::Retry(e) => (e, true),
                    Attempt::Fatal(e) => (e, false),
                };
                out.alerts
                    .into_iter()
                    .map(move |a| (a, err.clone()))
                    .collect()
            })
            .chain(fatal.into_iter().map(|(a, e)| (a, (e, false))));
        for (alert, (err, retryable)) in failures {
            let retry_at = if retryable && alert.attempts + 1 < self.max_attempts {
                let at = now + backoff(alert.attempts + 1);
                tracing::warn!(alert = alert.id, to = %alert.recipient, error = %err, retry_at = %at, "alert not delivered; will retry");
                report.retrying += 1;
                Some(at)
            } else {
                tracing::error!(alert = alert.id, to = %alert.recipient, error = %err, "alert not delivered; giving up");
                report.failed += 1;
                None
            };
            // A failure to record a failure leaves the alert claimed: it is retried when
            // the lease ends, which is what recording it would have arranged anyway.
            if let Err(e) =
                alerts::mark_failed(&self.db, &claim.token, alert.id, &err, retry_at).await
            {
                tracing::error!(alert = alert.id, error = %e, "cannot record the failed attempt");
            }
        }
        Ok(())
    }

    /// A recovery held through a silence goes out only when the outage it ends was told
    /// at the same destination; otherwise nobody heard of the outage.
    async fn drop_untold_recoveries(
        &self,
        sendable: Vec<(alert_rows::Model, AlertItem)>,
        cx: &Context,
        skipped: &mut Vec<(i64, String)>,
    ) -> anyhow::Result<Vec<(alert_rows::Model, AlertItem)>> {
        let ended = |a: &alert_rows::Model| -> Option<(bool, i64)> {
            if let Some(f) = a.flip_id {
                cx.service_ends.get(&f).map(|e| (true, *e))
            } else {
                a.host_flip_id
                    .and_then(|f| cx.host_ends.get(&f))
                    .map(|e| (false, *e))
            }
        };
        let doubtful: Vec<(bool, i64)> = sendable
            .iter()
            .filter(|(a, item)| a.state == AlertState::Held && item.cause.is_up())
            .filter_map(|(a, _)| ended(a))
            .collect();
        if doubtful.is_empty() {
            return Ok(sendable);
        }
        let service_flips: Vec<i64> = doubtful.iter().filter(|d| d.0).map(|d| d.1).collect();
        let host_flips: Vec<i64> = doubtful.iter().filter(|d| !d.0).map(|d| d.1).collect();
        let told: HashSet<(bool, i64, Destination)> =
            alerts::sent_for(&self.db, &service_flips, &host_flips)
                .await
                .context("cannot read which outages were told")?
                .into_iter()
                .filter_map(|a| {
                    let dest = destination(&a);
                    match (a.flip_id, a.host_flip_id) {
                        (Some(f), _) => Some((true, f, dest)),
                        (None, Some(f)) => Some((false, f, dest)),
                        _ => None,
                    }
                })
                .collect();
        let mut keep = Vec::with_capacity(sendable.len());
        for (alert, item) in sendable {
            let untold = alert.state == AlertState::Held
                && item.cause.is_up()
                && ended(&alert)
                    .is_some_and(|(svc, f)| !told.contains(&(svc, f, destination(&alert))));
            if untold {
                skipped.push((
                    alert.id,
                    "not sent: the outage it ends was not told (it began while silenced)".into(),
                ));
            } else {
                keep.push((alert, item));
            }
        }
        Ok(keep)
    }

    /// Group a batch's sendable alerts by destination into messages, as each destination's
    /// burst settings say. Also returns the alerts that wait for the end of a window.
    #[allow(clippy::type_complexity)]
    fn group(
        &self,
        sendable: Vec<(alert_rows::Model, AlertItem)>,
        cx: &Context,
        now: DateTime<Utc>,
    ) -> (Vec<Outgoing>, Vec<(DateTime<Utc>, String, Vec<i64>)>) {
        let mut by_dest: BTreeMap<Destination, Vec<(alert_rows::Model, AlertItem)>> =
            BTreeMap::new();
        for (alert, item) in sendable {
            by_dest
                .entry(destination(&alert))
                .or_default()
                .push((alert, item));
        }
        let mut outgoing = Vec::new();
        let mut waiting = Vec::new();
        // A claim's lease must cover its sending even when every message runs into its
        // timeouts: messages past a round's share go back, ready at once, for the next round
        // (and are not counted as sent to their destination).
        let share = self.round_width();
        let mut next_round: Vec<i64> = Vec::new();
        for (dest, mut items) in by_dest {
            if outgoing.len() >= share {
                next_round.extend(items.iter().map(|(a, _)| a.id));
                continue;
            }
            let (threshold, window) = match &dest {
                Destination::Channel(id) => cx.targets.get(id).map_or((0, 60), |t| {
                    (t.settings.burst_threshold(), t.settings.burst_window_secs())
                }),
                Destination::Mail(_) => self.mail_burst,
            };
            let key = format!("{dest:?}");
            match self
                .throttle
                .plan(&key, items.len(), threshold, window, now)
            {
                Plan::Each => {
                    let room = share - outgoing.len();
                    if items.len() > room {
                        next_round.extend(items.split_off(room).iter().map(|(a, _)| a.id));
                    }
                    self.throttle.record(&key, now, items.len());
                    for (alert, item) in items {
                        outgoing.push(Outgoing {
                            dest: dest.clone(),
                            alerts: vec![alert],
                            items: vec![item],
                        });
                    }
                }
                Plan::Together => {
                    self.throttle.record(&key, now, 1);
                    let (alerts, items) = items.into_iter().unzip();
                    outgoing.push(Outgoing {
                        dest: dest.clone(),
                        alerts,
                        items,
                    });
                }
                Plan::Wait(until) => {
                    let note = format!(
                        "waiting to be grouped: this destination had {threshold} messages in {window} s"
                    );
                    waiting.push((until, note, items.iter().map(|(a, _)| a.id).collect()));
                }
            }
        }
        if !next_round.is_empty() {
            waiting.push((now, "next round".to_owned(), next_round));
        }
        (outgoing, waiting)
    }

    /// Queue the next reminder after each sent down alert whose subject asks for them.
    async fn queue_reminders(&self, sent: &[&alert_rows::Model], cx: &Context, now: DateTime<Utc>) {
        let next: Vec<(&alert_rows::Model, DateTime<Utc>)> = sent
            .iter()
            .filter_map(|alert| {
                let (every, max) = remind_every(alert, cx)?;
                if alert.seq >= max {
                    return None;
                }
                let flip_at = match (alert.flip_id, alert.host_flip_id) {
                    (Some(f), _) => {
                        let (flip, _) = cx.service_flips.get(&f)?;
                        (flip.to_status == crate::domain::status::Status::Down)
                            .then(|| crate::clock::from_ms(flip.at))?
                    }
                    (None, Some(f)) => {
                        let flip = cx.host_flips.get(&f)?;
                        // Not after a recovery, even one into `degraded`.
                        use crate::domain::host::HostReason;
                        let recovery =
                            matches!(flip.reason, HostReason::Recovered | HostReason::Cleared);
                        (flip.reason.alerts() && !recovery).then_some(())?;
                        (flip.to_status != crate::domain::host::HostStatus::Up)
                            .then(|| crate::clock::from_ms(flip.at))?
                    }
                    _ => return None,
                };
                let every = Duration::seconds(every);
                let mut at = flip_at + every * (alert.seq + 1);
                if at <= now {
                    at = now + every;
                }
                Some((*alert, at))
            })
            .collect();
        if let Err(e) = alerts::queue_reminders(&self.db, &next, now).await {
            tracing::error!(error = %e, "cannot queue reminders");
        }
    }

    async fn attempt(&self, out: &Outgoing, cx: &Context) -> Attempt {
        let first = &out.alerts[0];
        let tag = format!("alert{}", first.id);
        match &out.dest {
            Destination::Mail(to) => self.mail(to, out, cx, &tag).await,
            Destination::Channel(id) => {
                let Some(target) = cx.targets.get(id) else {
                    return Attempt::Fatal("the channel this alert was for is gone".into());
                };
                self.to_channel(target, out, cx, &tag).await
            }
        }
    }

    async fn to_channel(
        &self,
        target: &Target,
        out: &Outgoing,
        cx: &Context,
        tag: &str,
    ) -> Attempt {
        if target.kind == crate::domain::channel::ChannelKind::Email {
            for (i, to) in target.settings.to.iter().enumerate() {
                // One `.eml` file per address, even within one millisecond.
                let attempt = self.mail(to, out, cx, &format!("{tag}-{i}")).await;
                if !matches!(attempt, Attempt::Sent) {
                    return attempt;
                }
            }
            return Attempt::Sent;
        }
        let msg = if out.items.len() == 1 {
            Message::One(out.items[0].clone())
        } else {
            Message::Burst(out.items.clone())
        };
        self.chat.send(target, &msg).await.into()
    }

    /// One mail to `to`: a flip's alert (threaded with the outage), a reminder, or a burst.
    async fn mail(&self, to: &str, out: &Outgoing, cx: &Context, tag: &str) -> Attempt {
        let alert = &out.alerts[0];
        let item = &out.items[0];
        if out.items.len() > 1 {
            return self
                .mailer
                .send_burst(to, &out.items, alert.id, &self.base_url, tag)
                .await
                .into();
        }
        if alert.purpose == AlertPurpose::Reminder {
            let flip = match (alert.flip_id, alert.host_flip_id) {
                (Some(f), _) => ("flip", f),
                (None, Some(f)) => ("hostflip", f),
                _ => return Attempt::Fatal("the flip behind this alert is gone".into()),
            };
            return self
                .mailer
                .send_reminder(to, item, flip, alert.id, &self.base_url, tag)
                .await
                .into();
        }
        if let Some(id) = alert.host_flip_id {
            let Some(flip) = cx.host_flips.get(&id) else {
                return Attempt::Fatal("the host flip behind this alert is gone".into());
            };
            // Hosts have no zone of their own: times in the server's default zone.
            return self
                .mailer
                .send_host_alert(
                    to,
                    flip,
                    cx.host_ends.get(&flip.id).copied(),
                    self.default_tz,
                    &self.base_url,
                    tag,
                )
                .await
                .into();
        }
        let Some((flip, tz)) = alert.flip_id.and_then(|id| cx.service_flips.get(&id)) else {
            return Attempt::Fatal("the flip behind this alert is gone".into());
        };
        self.mailer
            .send_alert(
                to,
                flip,
                cx.service_ends.get(&flip.id).copied(),
                item.outage,
                tz.unwrap_or(self.default_tz),
                &self.base_url,
                tag,
            )
            .await
            .into()
    }
}

/// The ready alerts in claim rounds: the alerts of a destination that groups bursts
/// together (they may become one message; `deliver` puts back what one round may not
/// send), the rest `width` at a time.
fn claim_rounds(
    ready: Vec<alert_rows::Model>,
    width: usize,
    grouping: &HashSet<Destination>,
) -> Vec<Vec<i64>> {
    let mut by_dest: BTreeMap<Destination, Vec<i64>> = BTreeMap::new();
    for a in &ready {
        by_dest.entry(destination(a)).or_default().push(a.id);
    }
    let (many, single): (Vec<_>, Vec<_>) = by_dest
        .into_iter()
        .partition(|(dest, ids)| ids.len() > 1 && grouping.contains(dest));
    let many: Vec<Vec<i64>> = many.into_iter().map(|(_, ids)| ids).collect();
    let single: Vec<Vec<i64>> = single.into_iter().map(|(_, ids)| ids).collect();
    let mut rounds = many;
    let singles: Vec<i64> = single.into_iter().flatten().collect();
    rounds.extend(singles.chunks(width).map(<[i64]>::to_vec));
    rounds
}

impl Job for Outbox {
    const NAME: &'static str = "outbox";
    type Report = DeliveryReport;

    /// Deliver every alert that is ready at `now`.
    #[tracing::instrument(name = "outbox", skip(self))]
    async fn run_once(&self, now: DateTime<Utc>) -> anyhow::Result<DeliveryReport> {
        let mut report = DeliveryReport::default();
        loop {
            let ready = alerts::ready(&self.db, now, BATCH)
                .await
                .context("cannot read the alerts that are ready")?;
            if ready.is_empty() {
                break;
            }
            let full = ready.len() as u64 == BATCH;
            let requeued = report.requeued;
            let grouping = self.grouping(&ready).await?;
            for ids in claim_rounds(ready, self.round_width(), &grouping) {
                let claim = alerts::claim(&self.db, &ids, self.clock.now())
                    .await
                    .context("cannot claim alerts")?;
                self.deliver(claim, &mut report).await?;
            }
            if !full && report.requeued == requeued {
                break;
            }
        }
        Ok(report)
    }

    /// When the next pending alert becomes ready. Claims are leased from the live clock,
    /// so the runner asks with the time after the round, not the round's `now`.
    async fn next_wake(&self, now: DateTime<Utc>) -> anyhow::Result<Option<DateTime<Utc>>> {
        alerts::next_attempt(&self.db, now)
            .await
            .context("cannot read when the next alert is due")
    }

    fn poll(&self) -> Duration {
        Duration::from_std(self.poll).unwrap_or(Duration::seconds(10))
    }

    fn signal(&self) -> Signal {
        Signal::Notify(self.notify.clone())
    }
}
