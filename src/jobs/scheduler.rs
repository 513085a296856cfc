//! Finds services whose deadline passed and flips them (late, then down with an alert).
//!
//! Deadlines live in the indexed `services.next_check_at` column, so each run reads only
//! what is due. Every flip is a compare-and-set on the row's `version`: when several
//! `heartbeats` processes share one database, exactly one of them wins each flip.
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use tokio::sync::Notify;

use crate::clock::{SharedClock, to_ms};
use crate::domain::status::on_tick;
use crate::entity::services as svc;
use crate::store::services::{earliest_check, tracking_of};
use crate::store::{StoreResult, alerts, services};

/// Wakes the scheduler early when a deadline earlier than the one it sleeps towards appears.
#[derive(Debug)]
pub struct Wakeup {
    notify: Notify,
    sleeping_until: AtomicI64,
}

impl Default for Wakeup {
    fn default() -> Self {
        Self {
            notify: Notify::new(),
            sleeping_until: AtomicI64::new(i64::MAX),
        }
    }
}

impl Wakeup {
    pub fn hint(&self, deadline: Option<DateTime<Utc>>) {
        if let Some(d) = deadline
            && to_ms(d) < self.sleeping_until.load(Ordering::Acquire)
        {
            self.notify.notify_one();
        }
    }

    /// Always wake (an edit moved a deadline in some unknown direction).
    pub fn poke(&self) {
        self.notify.notify_one();
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RunReport {
    pub flips: usize,
    pub alerts_queued: usize,
    /// Flips another process made first.
    pub lost_races: usize,
}

pub struct Scheduler {
    db: DatabaseConnection,
    clock: SharedClock,
    pub wake: Arc<Wakeup>,
    outbox: Arc<Notify>,
    /// Longest sleep: other processes may add deadlines this one is not told about.
    pub poll: StdDuration,
}

const BATCH: u64 = 500;

impl Scheduler {
    pub fn new(
        db: DatabaseConnection,
        clock: SharedClock,
        wake: Arc<Wakeup>,
        outbox: Arc<Notify>,
    ) -> Self {
        Self {
            db,
            clock,
            wake,
            outbox,
            poll: StdDuration::from_secs(10),
        }
    }

    /// Flip everything due at `now`.
    #[tracing::instrument(skip(self))]
    pub async fn run_once(&self, now: DateTime<Utc>) -> StoreResult<RunReport> {
        let mut report = RunReport::default();
        // Bounded: rows another process holds may stay due until it commits.
        for _ in 0..1000 {
            let mut due = services::due(&self.db, now, BATCH).await?;
            if due.is_empty() {
                break;
            }
            let full = due.len() as u64 == BATCH;
            // One lock order for every process.
            due.sort_by(|a, b| a.id.cmp(&b.id));
            let txn = services::begin_write(&self.db).await?;
            for mut row in due {
                let current = tracking_of(&row);
                let change = on_tick(&current, now);
                let mut update = svc::Entity::update_many()
                    .col_expr(svc::Column::Version, Expr::col(svc::Column::Version).add(1))
                    .col_expr(svc::Column::UpdatedAt, Expr::val(to_ms(now)))
                    .filter(svc::Column::Id.eq(row.id.clone()))
                    .filter(svc::Column::Version.eq(row.version));
                update = match &change {
                    Some((next, _)) => update
                        .col_expr(svc::Column::Status, Expr::val(next.status.as_str()))
                        .col_expr(
                            svc::Column::NextCheckAt,
                            Expr::val(next.next_check_at.map(to_ms)),
                        ),
                    // Due but nothing to do (e.g. a deadline left by an edit): clear it so
                    // it is not read again.
                    None => {
                        update.col_expr(svc::Column::NextCheckAt, Expr::val(Option::<i64>::None))
                    }
                };
                let res = update.exec(&txn).await?;
                if res.rows_affected != 1 {
                    report.lost_races += 1;
                    continue;
                }
                if let Some((next, flip)) = change {
                    row.status = next.status;
                    report.flips += 1;
                    report.alerts_queued += alerts::record_flip(&txn, &row, &flip).await?;
                }
            }
            txn.commit().await?;
            if !full {
                break;
            }
        }
        if report.alerts_queued > 0 {
            self.outbox.notify_one();
        }
        Ok(report)
    }

    /// Run until the process stops.
    pub async fn run(self) {
        loop {
            let now = self.clock.now();
            if let Err(e) = self.run_once(now).await {
                tracing::error!(error = %e, "scheduler run failed; retrying in 5 s");
                tokio::time::sleep(StdDuration::from_secs(5)).await;
                continue;
            }
            let next = match earliest_check(&self.db).await {
                Ok(next) => next,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the next deadline");
                    None
                }
            };
            let poll = Duration::from_std(self.poll).unwrap_or(Duration::seconds(10));
            let wake_at = next.map_or(now + poll, |n| Ord::min(n, now + poll));
            self.wake
                .sleeping_until
                .store(to_ms(wake_at), Ordering::Release);
            let wait = (wake_at - self.clock.now())
                .to_std()
                .unwrap_or_default()
                .max(StdDuration::from_millis(20));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.wake.notify.notified() => {}
            }
            // While running, any hint counts: it leaves a permit that makes the next sleep short.
            self.wake.sleeping_until.store(i64::MAX, Ordering::Release);
        }
    }
}
