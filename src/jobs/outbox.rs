//! The outbox worker: sends pending alerts, retries failures with backoff, and records
//! every attempt, so an SMTP outage or a restart loses no alert.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use futures::StreamExt;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use tokio::sync::Notify;
use url::Url;

use super::email::{AlertView, MailError, Mailer, message};
use crate::clock::{SharedClock, to_ms};
use crate::entity::{alerts as alert_rows, flips, services};
use crate::store::{StoreResult, alerts};

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
            concurrency: super::smtp::MAX_CONNECTIONS,
            max_attempts: 10,
            poll: StdDuration::from_secs(10),
        }
    }

    pub fn mailer(&self) -> &Mailer {
        &self.mailer
    }

    /// Deliver every alert that is ready at `now`.
    #[tracing::instrument(skip(self))]
    pub async fn run_once(&self, now: DateTime<Utc>) -> StoreResult<DeliveryReport> {
        let mut report = DeliveryReport::default();
        loop {
            let ready = alerts::ready(&self.db, now, BATCH).await?;
            if ready.is_empty() {
                break;
            }
            let full = ready.len() as u64 == BATCH;
            // Claim one round of connections at a time, so that a claim's lease covers the
            // sending it stands for even when every message runs into its timeouts.
            for chunk in ready.chunks(self.concurrency.max(1)) {
                let ids: Vec<i64> = chunk.iter().map(|a| a.id).collect();
                let claim = alerts::claim(&self.db, &ids, self.clock.now()).await?;
                self.deliver(claim, &mut report).await?;
            }
            if !full {
                break;
            }
        }
        Ok(report)
    }

    async fn deliver(&self, claim: alerts::Claim, report: &mut DeliveryReport) -> StoreResult<()> {
        let context = self.load_context(&claim.alerts).await?;
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
        alerts::mark_sent(&self.db, &claim.token, &sent, self.clock.now()).await?;
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

    /// The flips and time zones the batch's messages need, in two queries.
    async fn load_context(
        &self,
        batch: &[alert_rows::Model],
    ) -> StoreResult<HashMap<i64, (flips::Model, Tz)>> {
        let flip_ids: Vec<i64> = batch.iter().map(|a| a.flip_id).collect();
        let service_ids: Vec<String> = batch.iter().map(|a| a.service_id.clone()).collect();
        let zones: HashMap<String, Tz> = services::Entity::find()
            .filter(services::Column::Id.is_in(service_ids))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|s| {
                let tz = s.timezone.parse().unwrap_or(self.default_tz);
                (s.id, tz)
            })
            .collect();
        Ok(flips::Entity::find()
            .filter(flips::Column::Id.is_in(flip_ids))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|f| {
                let tz = zones.get(&f.service_id).copied().unwrap_or(self.default_tz);
                (f.id, (f, tz))
            })
            .collect())
    }

    async fn attempt(
        &self,
        alert: &alert_rows::Model,
        context: &HashMap<i64, (flips::Model, Tz)>,
    ) -> Attempt {
        let Some((flip, tz)) = context.get(&alert.flip_id) else {
            return Attempt::Fatal("the flip behind this alert is gone".into());
        };
        let view = AlertView::new(flip, *tz, &self.base_url);
        let composed = view.render().and_then(|(text, html)| {
            message(
                self.mailer.from_address(),
                &alert.recipient,
                &view.subject,
                text,
                html,
            )
        });
        let msg = match composed {
            Ok(m) => m,
            Err(e) => return Attempt::Fatal(e.to_string()),
        };
        match self.mailer.send(msg, &format!("alert{}", alert.id)).await {
            Ok(()) => Attempt::Sent,
            Err(e @ MailError::Compose(_)) => Attempt::Fatal(e.to_string()),
            Err(e) => Attempt::Retry(e.to_string()),
        }
    }

    pub async fn run(self) {
        tracing::info!(mailer = %self.mailer.describe(), "alert delivery started");
        loop {
            let now = self.clock.now();
            if let Err(e) = self.run_once(now).await {
                tracing::error!(error = %e, "outbox run failed; retrying in 5 s");
                tokio::time::sleep(StdDuration::from_secs(5)).await;
                continue;
            }
            let next = alerts::next_attempt(&self.db, self.clock.now())
                .await
                .ok()
                .flatten();
            let poll = Duration::from_std(self.poll).unwrap_or(Duration::seconds(10));
            let wake_at = next.map_or(now + poll, |n| Ord::min(n, now + poll));
            let wait =
                StdDuration::from_millis((to_ms(wake_at) - to_ms(self.clock.now())).max(20) as u64);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.notify.notified() => {}
            }
        }
    }
}
