//! The outbox job: sends pending alerts, retries failures with backoff, and records
//! every attempt, so an SMTP outage or a restart loses no alert. Claims make several
//! processes on one database send each alert once; composing and sending the mail is
//! `crate::notify`'s.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use futures::StreamExt;
use sea_orm::DatabaseConnection;
use tokio::sync::Notify;
use url::Url;

use super::{Job, Signal};
use crate::clock::SharedClock;
use crate::entity::{alerts as alert_rows, flips, host_flips};
use crate::notify::Mailer;
use crate::notify::smtp::MAX_CONNECTIONS;
use crate::store::{alerts, host_events};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
}

pub struct Outbox {
    db: DatabaseConnection,
    mailer: Mailer,
    clock: SharedClock,
    pub notify: Arc<Notify>,
    base_url: Url,
    default_tz: Tz,
    pub concurrency: usize,
    pub max_attempts: i32,
    pub poll: StdDuration,
}

/// 30 s, 1 min, 2 min, … capped at 1 h.
pub fn backoff(attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 8) - 1;
    (Duration::seconds(30) * 2i32.pow(exp as u32)).min(Duration::hours(1))
}

const BATCH: u64 = 256;

/// What a batch of alerts is about: services' flips (with their zones) and hosts' flips.
struct Subjects {
    services: HashMap<i64, (flips::Model, Option<Tz>)>,
    hosts: HashMap<i64, host_flips::Model>,
    /// Recovery flip id → the flip it ends, per kind: for mail threading.
    service_ends: HashMap<i64, i64>,
    host_ends: HashMap<i64, i64>,
}

enum Attempt {
    Sent,
    Retry(String),
    Fatal(String),
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
            clock,
            notify,
            base_url,
            default_tz,
            concurrency: MAX_CONNECTIONS,
            max_attempts: 10,
            poll: StdDuration::from_secs(10),
        }
    }

    pub fn mailer(&self) -> &Mailer {
        &self.mailer
    }

    async fn deliver(
        &self,
        claim: alerts::Claim,
        report: &mut DeliveryReport,
    ) -> anyhow::Result<()> {
        let services = alerts::delivery_context(&self.db, &claim.alerts)
            .await
            .context("cannot read the flips behind the alerts")?;
        let hosts = host_events::flips_for_alerts(&self.db, &claim.alerts)
            .await
            .context("cannot read the host flips behind the alerts")?;
        let service_ends = alerts::ended_flips(&self.db, services.values().map(|(f, _)| f))
            .await
            .context("cannot read the flips the recoveries end")?;
        let host_ends = host_events::ended_flips(&self.db, hosts.values())
            .await
            .context("cannot read the host flips the recoveries end")?;
        let context = Subjects {
            services,
            hosts,
            service_ends,
            host_ends,
        };
        let outcomes: Vec<(alert_rows::Model, Attempt)> = futures::stream::iter(claim.alerts)
            .map(|alert| {
                let context = &context;
                async move {
                    let attempt = self.attempt(&alert, context).await;
                    (alert, attempt)
                }
            })
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await;
        // Record what went out before anything else can fail: a delivered alert left
        // pending would be mailed again when its claim runs out.
        let sent: Vec<i64> = outcomes
            .iter()
            .filter(|(_, a)| matches!(a, Attempt::Sent))
            .map(|(alert, _)| alert.id)
            .collect();
        alerts::mark_sent(&self.db, &claim.token, &sent, self.clock.now())
            .await
            .context("cannot record the alerts that were sent")?;
        report.sent += sent.len();
        let now = self.clock.now();
        for (alert, attempt) in outcomes {
            let (err, retry_at) = match attempt {
                Attempt::Sent => continue,
                Attempt::Retry(err) if alert.attempts + 1 < self.max_attempts => {
                    let at = now + backoff(alert.attempts + 1);
                    tracing::warn!(alert = alert.id, to = %alert.recipient, error = %err, retry_at = %at, "alert not delivered; will retry");
                    report.retrying += 1;
                    (err, Some(at))
                }
                Attempt::Retry(err) | Attempt::Fatal(err) => {
                    tracing::error!(alert = alert.id, to = %alert.recipient, error = %err, "alert not delivered; giving up");
                    report.failed += 1;
                    (err, None)
                }
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

    async fn attempt(&self, alert: &alert_rows::Model, context: &Subjects) -> Attempt {
        let tag = format!("alert{}", alert.id);
        let sending = if let Some(id) = alert.host_flip_id {
            let Some(flip) = context.hosts.get(&id) else {
                return Attempt::Fatal("the host flip behind this alert is gone".into());
            };
            // Hosts have no zone of their own: times in the server's default zone.
            self.mailer
                .send_host_alert(
                    &alert.recipient,
                    flip,
                    context.host_ends.get(&flip.id).copied(),
                    self.default_tz,
                    &self.base_url,
                    &tag,
                )
                .await
        } else {
            let Some((flip, tz)) = alert.flip_id.and_then(|id| context.services.get(&id)) else {
                return Attempt::Fatal("the flip behind this alert is gone".into());
            };
            let tz = tz.unwrap_or(self.default_tz);
            self.mailer
                .send_alert(
                    &alert.recipient,
                    flip,
                    context.service_ends.get(&flip.id).copied(),
                    tz,
                    &self.base_url,
                    &tag,
                )
                .await
        };
        match sending {
            Ok(()) => Attempt::Sent,
            Err(e) if e.is_retryable() => Attempt::Retry(e.to_string()),
            Err(e) => Attempt::Fatal(e.to_string()),
        }
    }
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
            // Claim one round of connections at a time, so that a claim's lease covers the
            // sending it stands for even when every message runs into its timeouts.
            for chunk in ready.chunks(self.concurrency.max(1)) {
                let ids: Vec<i64> = chunk.iter().map(|a| a.id).collect();
                let claim = alerts::claim(&self.db, &ids, self.clock.now())
                    .await
                    .context("cannot claim alerts")?;
                self.deliver(claim, &mut report).await?;
            }
            if !full {
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
