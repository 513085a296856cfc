//! Ping retention: pings older than `HB_PING_RETENTION_DAYS` are deleted, hourly and in
//! chunks, so a busy server's ping table stays bounded; so are the finished runs that
//! started before the same cutoff. Flips and alerts are kept: they
//! are the history users look back on.
use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use sea_orm::DatabaseConnection;

use super::Job;
use crate::store::{pings, runs};

/// How often old pings are looked for.
const EVERY: Duration = Duration::hours(1);

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PruneReport {
    pub deleted: u64,
}

pub struct Retention {
    db: DatabaseConnection,
    /// Keep this many days of pings; 0 keeps them forever.
    pub days: u32,
}

impl Retention {
    pub fn new(db: DatabaseConnection, days: u32) -> Self {
        Self { db, days }
    }
}

impl Job for Retention {
    const NAME: &'static str = "retention";
    type Report = PruneReport;

    /// Delete the pings received before `now` minus the retention time.
    #[tracing::instrument(name = "retention", skip(self), fields(days = self.days))]
    async fn run_once(&self, now: DateTime<Utc>) -> anyhow::Result<PruneReport> {
        if self.days == 0 {
            return Ok(PruneReport::default());
        }
        let cutoff = now - Duration::days(i64::from(self.days));
        let deleted = pings::prune(&self.db, cutoff)
            .await
            .with_context(|| format!("cannot delete pings older than {cutoff}"))?;
        if deleted > 0 {
            tracing::info!(deleted, days = self.days, "pruned old pings");
        }
        let runs = runs::prune(&self.db, cutoff)
            .await
            .with_context(|| format!("cannot delete runs started before {cutoff}"))?;
        if runs > 0 {
            tracing::info!(runs, days = self.days, "pruned old runs");
        }
        Ok(PruneReport { deleted })
    }

    async fn next_wake(&self, now: DateTime<Utc>) -> anyhow::Result<Option<DateTime<Utc>>> {
        Ok(Some(now + EVERY))
    }

    fn poll(&self) -> Duration {
        EVERY
    }
}
