//! The roll-up job: writes each finished minute of host values into the 1-minute and
//! hourly tables (see `store::rollups`), and deletes buckets past their age:
//! `HB_MINUTE_ROLLUP_DAYS` (7) and `HB_HOUR_ROLLUP_DAYS` (400).
use std::sync::{Arc, Mutex};

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use sea_orm::DatabaseConnection;

use super::Job;
use crate::clock::{from_ms, to_ms};
use crate::domain::metrics::{self, MINUTE};
use crate::store::rollups::{self, Rollups};

/// Old buckets are looked for this often.
const PRUNE_EVERY: Duration = Duration::hours(1);

/// A minute is written this long after it ends, so reports collected in its last seconds
/// (and still on their way) are in it.
const SETTLE: Duration = Duration::seconds(5);

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RollupReport {
    /// Minute rows written (each also added to its hour).
    pub written: usize,
    /// Buckets deleted for their age.
    pub pruned: u64,
}

pub struct RollupJob {
    db: DatabaseConnection,
    rollups: Arc<Rollups>,
    /// Keep this many days of 1-minute and of hourly buckets; 0 keeps them forever.
    minute_days: u32,
    hour_days: u32,
    last_prune: Mutex<Option<DateTime<Utc>>>,
}

impl RollupJob {
    pub fn new(
        db: DatabaseConnection,
        rollups: Arc<Rollups>,
        minute_days: u32,
        hour_days: u32,
    ) -> Self {
        Self {
            db,
            rollups,
            minute_days,
            hour_days,
            last_prune: Mutex::new(None),
        }
    }
}

fn age(now: DateTime<Utc>, days: u32) -> Option<DateTime<Utc>> {
    (days > 0).then(|| now - Duration::days(i64::from(days)))
}

impl Job for RollupJob {
    const NAME: &'static str = "rollups";
    type Report = RollupReport;

    #[tracing::instrument(name = "rollups", skip(self))]
    async fn run_once(&self, now: DateTime<Utc>) -> anyhow::Result<RollupReport> {
        let written = self
            .rollups
            .flush(&self.db, Some(now - SETTLE))
            .await
            .context("cannot write host roll-ups")?;
        let prune_due = {
            let last = self.last_prune.lock().unwrap_or_else(|e| e.into_inner());
            last.is_none_or(|t| now - t >= PRUNE_EVERY)
        };
        let mut pruned = 0;
        if prune_due {
            pruned = rollups::prune(
                &self.db,
                age(now, self.minute_days),
                age(now, self.hour_days),
            )
            .await
            .context("cannot delete old host roll-ups")?;
            *self.last_prune.lock().unwrap_or_else(|e| e.into_inner()) = Some(now);
            if pruned > 0 {
                tracing::info!(pruned, "deleted old host roll-ups");
            }
        }
        Ok(RollupReport { written, pruned })
    }

    /// Just after the current minute has settled.
    async fn next_wake(&self, now: DateTime<Utc>) -> anyhow::Result<Option<DateTime<Utc>>> {
        let next_minute = metrics::bucket(to_ms(now - SETTLE), MINUTE) + MINUTE * 1000;
        Ok(Some(from_ms(next_minute) + SETTLE))
    }

    fn poll(&self) -> Duration {
        Duration::minutes(1)
    }
}
