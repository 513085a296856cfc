//! What this process did since it started, for `/metrics`: pings accepted, alerts sent and
//! failed per destination, the scheduler's lag. Process-wide statics, so the ping writer,
//! the scheduler and the outbox count with one line each and without a handle; two
//! applications in one process (tests under `cargo test`) share them.
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use chrono::{DateTime, Utc};

static PINGS_ACCEPTED: AtomicU64 = AtomicU64::new(0);
/// Milliseconds; -1 until the scheduler first read its due services.
static SCHEDULER_LAG_MS: AtomicI64 = AtomicI64::new(-1);
static SCHEDULER_RUNS: AtomicU64 = AtomicU64::new(0);
static ALERTS: Mutex<BTreeMap<Option<String>, Delivered>> = Mutex::new(BTreeMap::new());

/// Alerts one destination took (`sent`) or refused (`failed`, retried or not).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    pub sent: u64,
    pub failed: u64,
}

/// Pings stored by the ping writer.
pub fn pings_accepted(n: usize) {
    PINGS_ACCEPTED.fetch_add(n as u64, Ordering::Relaxed);
}

/// The scheduler read `due` at `now`: its lag is how long ago the most overdue of them
/// was due (`next_check_at`, Unix ms), 0 when none was.
pub fn scheduler_read(now: DateTime<Utc>, due: impl IntoIterator<Item = Option<i64>>) {
    let oldest = due.into_iter().flatten().min();
    let lag = oldest.map_or(0, |at| (now.timestamp_millis() - at).max(0));
    SCHEDULER_LAG_MS.store(lag, Ordering::Relaxed);
    SCHEDULER_RUNS.fetch_add(1, Ordering::Relaxed);
}

/// Messages the outbox tried: per destination (`Some(channel id)`, `None` for mail to a
/// `notify` address), how many alerts each carried, and whether it went out.
pub fn alerts_delivered<'a>(outcomes: impl IntoIterator<Item = (Option<&'a str>, usize, bool)>) {
    let mut map = ALERTS.lock().unwrap_or_else(|e| e.into_inner());
    for (channel, alerts, sent) in outcomes {
        let entry = map.entry(channel.map(str::to_owned)).or_default();
        if sent {
            entry.sent += alerts as u64;
        } else {
            entry.failed += alerts as u64;
        }
    }
}

/// A copy of every counter at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub pings_accepted: u64,
    /// `None` before the scheduler's first read.
    pub scheduler_lag_ms: Option<i64>,
    pub scheduler_reads: u64,
    /// Per channel id; `None`: mail to `notify` addresses.
    pub alerts: BTreeMap<Option<String>, Delivered>,
}

pub fn snapshot() -> Snapshot {
    let lag = SCHEDULER_LAG_MS.load(Ordering::Relaxed);
    Snapshot {
        pings_accepted: PINGS_ACCEPTED.load(Ordering::Relaxed),
        scheduler_lag_ms: (lag >= 0).then_some(lag),
        scheduler_reads: SCHEDULER_RUNS.load(Ordering::Relaxed),
        alerts: ALERTS.lock().unwrap_or_else(|e| e.into_inner()).clone(),
    }
}
