//! Finds hosts whose offline deadline passed (no successful report for 2 × interval +
//! timeout) and marks them down, with an alert.
//!
//! Deadlines live in the indexed `hosts.next_check_at` column, so each run reads only the
//! hosts that are due, never all of them. Every flip is a compare-and-set on the row's
//! `version`: a report or another `heartbeats` process that got there first wins, and the
//! host flips once.
use std::sync::Arc;
use std::time::Duration as StdDuration;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use sea_orm::DatabaseConnection;
use tokio::sync::Notify;

use super::scheduler::Wakeup;
use super::{Job, Signal};
use crate::domain::host_status::on_tick;
use crate::store::hosts::{self, apply_tracking, tracking_of};
use crate::store::{host_events, services::begin_write};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StalenessReport {
    pub flips: usize,
    pub alerts_queued: usize,
    /// Hosts a report or another process changed first.
    pub lost_races: usize,
}

pub struct Staleness {
    db: DatabaseConnection,
    pub wake: Arc<Wakeup>,
    outbox: Arc<Notify>,
    /// Longest sleep: other processes move deadlines this one is not told about.
    pub poll: StdDuration,
}

const BATCH: u64 = 500;

impl Staleness {
    pub fn new(db: DatabaseConnection, wake: Arc<Wakeup>, outbox: Arc<Notify>) -> Self {
        Self {
            db,
            wake,
            outbox,
            poll: StdDuration::from_secs(10),
        }
    }
}

impl Job for Staleness {
    const NAME: &'static str = "host staleness";
    type Report = StalenessReport;

    #[tracing::instrument(name = "staleness", skip(self))]
    async fn run_once(&self, now: DateTime<Utc>) -> anyhow::Result<StalenessReport> {
        let mut report = StalenessReport::default();
        // Bounded: rows another process holds may stay due until it commits.
        for _ in 0..1000 {
            let mut due = hosts::due(&self.db, now, BATCH)
                .await
                .context("cannot read the hosts that are due")?;
            if due.is_empty() {
                break;
            }
            let full = due.len() as u64 == BATCH;
            due.sort_by(|a, b| a.id.cmp(&b.id));
            let txn = begin_write(&self.db)
                .await
                .context("cannot begin the host flips' transaction")?;
            let mut moved = false;
            for mut row in due {
                let change = on_tick(&tracking_of(&row), now);
                let won = hosts::apply_tick_cas(&txn, &row, change.as_ref().map(|c| &c.next), now)
                    .await
                    .with_context(|| format!("cannot update host {}", row.id))?;
                if !won {
                    report.lost_races += 1;
                    continue;
                }
                if let Some(change) = change {
                    apply_tracking(&mut row, &change.next);
                    moved = true;
                    report.flips += usize::from(change.flip.is_some());
                    report.alerts_queued += host_events::record(&txn, &row, &change)
                        .await
                        .with_context(|| format!("cannot record the flip of host {}", row.id))?;
                }
            }
            if moved {
                hosts::bump(&txn)
                    .await
                    .context("cannot bump the hosts revision")?;
            }
            txn.commit().await.context("cannot commit the host flips")?;
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
        hosts::earliest_check(&self.db)
            .await
            .context("cannot read the next offline deadline")
    }

    fn poll(&self) -> Duration {
        Duration::from_std(self.poll).unwrap_or(Duration::seconds(10))
    }

    fn signal(&self) -> Signal {
        Signal::Wakeup(self.wake.clone())
    }
}
