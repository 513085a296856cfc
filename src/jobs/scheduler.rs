//! Finds services whose deadline passed and flips them (late, then down with an alert).
//!
//! Deadlines live in the indexed `services.next_check_at` column, so each run reads only
//! what is due. Every flip is a compare-and-set on the row's `version`: when several
//! `heartbeats` processes share one database, exactly one of them wins each flip.
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration as StdDuration;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use sea_orm::DatabaseConnection;
use tokio::sync::Notify;

use super::{Job, Signal};
use crate::clock::{from_ms, to_ms};
use crate::domain::status::{OpenRun, Reason, Status, Tracking, on_tick_runs, planned_check};
use crate::store::services::{open_run_of, tracking_of};
use crate::store::{alerts, runs, service_index, services};

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

    /// Sleep for `wait`, towards `until`, unless an earlier deadline is hinted.
    pub(super) async fn sleep(&self, wait: StdDuration, until: DateTime<Utc>) {
        self.sleeping_until.store(to_ms(until), Ordering::Release);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = self.notify.notified() => {}
        }
        // While running, any hint counts: it leaves a permit that makes the next sleep short.
        self.sleeping_until.store(i64::MAX, Ordering::Release);
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
    pub wake: Arc<Wakeup>,
    outbox: Arc<Notify>,
    /// Longest sleep: other processes may add deadlines this one is not told about.
    pub poll: StdDuration,
}

const BATCH: u64 = 500;

impl Scheduler {
    pub fn new(db: DatabaseConnection, wake: Arc<Wakeup>, outbox: Arc<Notify>) -> Self {
        Self {
            db,
            wake,
            outbox,
            poll: StdDuration::from_secs(10),
        }
    }
}

impl Job for Scheduler {
    const NAME: &'static str = "scheduler";
    type Report = RunReport;

    /// Flip everything due at `now`.
    #[tracing::instrument(name = "scheduler", skip(self))]
    async fn run_once(&self, now: DateTime<Utc>) -> anyhow::Result<RunReport> {
        let mut report = RunReport::default();
        // Bounded: rows another process holds may stay due until it commits.
        for _ in 0..1000 {
            let mut due = services::due(&self.db, now, BATCH)
                .await
                .context("cannot read the services that are due")?;
            crate::telemetry::counters::scheduler_read(now, due.iter().map(|r| r.next_check_at));
            if due.is_empty() {
                break;
            }
            let full = due.len() as u64 == BATCH;
            // One lock order for every process.
            due.sort_by(|a, b| a.id.cmp(&b.id));
            let txn = services::begin_write(&self.db)
                .await
                .context("cannot begin the flips' transaction")?;
            for mut row in due {
                let current = tracking_of(&row);
                let open = open_run_of(&row);
                let change = on_tick_runs(&current, open, now);
                // The runs past their maximum are marked hung: with a flip while the
                // service is new, up or late; without one while it is down (it was
                // alerted already), so that a recovery does not report them again.
                let hung = open
                    .filter(|o| now >= o.hung_at())
                    .filter(|_| match &change {
                        Some((_, flip)) => flip.reason == Reason::Hung,
                        None => current.status == Status::Down,
                    });
                let next = match &change {
                    Some((next, _)) => Tracking {
                        next_check_at: planned_check(next, open),
                        ..next.clone()
                    },
                    // Nothing to do now (a deadline an edit left): keep only a hung
                    // deadline still to come.
                    None => Tracking {
                        next_check_at: planned_check(&current, open).filter(|d| *d > now),
                        ..current.clone()
                    },
                };
                let won = services::apply_tick_cas(&txn, &row, &next, now)
                    .await
                    .with_context(|| format!("cannot update service {}", row.id))?;
                if !won {
                    report.lost_races += 1;
                    continue;
                }
                if let Some(open) = hung {
                    // The runs past the deadline are hung (still open); the next open run
                    // is watched from now on.
                    runs::mark_hung(&txn, &row.id, now - open.max_run)
                        .await
                        .with_context(|| format!("cannot mark the runs of {} hung", row.id))?;
                    let oldest = runs::oldest_running(&txn, &row.id)
                        .await
                        .with_context(|| format!("cannot read the open runs of {}", row.id))?;
                    let watched = OpenRun::of(oldest.map(from_ms), Some(open.max_run));
                    let check = planned_check(&next, watched).filter(|d| *d > now);
                    services::set_open_run(&txn, &row.id, oldest, check.map(to_ms))
                        .await
                        .with_context(|| format!("cannot update service {}", row.id))?;
                }
                if let Some((next, flip)) = change {
                    row.status = next.status;
                    report.flips += 1;
                    report.alerts_queued += alerts::record_flip(&txn, &row, &flip)
                        .await
                        .with_context(|| format!("cannot record the flip of service {}", row.id))?;
                }
            }
            txn.commit().await.context("cannot commit the flips")?;
            service_index::touched();
            if !full {
                break;
            }
        }
        if report.alerts_queued > 0 {
            self.outbox.notify_one();
        }
        Ok(report)
    }

    async fn next_wake(&self, _now: DateTime<Utc>) -> anyhow::Result<Option<DateTime<Utc>>> {
        services::earliest_check(&self.db)
            .await
            .context("cannot read the next deadline")
    }

    fn poll(&self) -> Duration {
        Duration::from_std(self.poll).unwrap_or(Duration::seconds(10))
    }

    fn signal(&self) -> Signal {
        Signal::Wakeup(self.wake.clone())
    }
}
