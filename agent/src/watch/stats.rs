//! What `watch` has been doing, for its log: collections and how long they took, what
//! reached the server, what was dropped. A summary goes to the log every so often and
//! once more at exit (the benchmark reads that one).

use std::fmt;
use std::time::Duration;

/// Collection times up to this are told apart at [`BUCKET_MS`] resolution; longer ones
/// all count as this long.
const MAX_MS: u64 = 60_000;
const BUCKET_MS: u64 = 10;
const BUCKETS: usize = (MAX_MS / BUCKET_MS) as usize + 1;

/// Collection times in 10 ms buckets: percentiles without keeping every value.
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max_ms: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
            max_ms: 0,
        }
    }
}

impl Histogram {
    pub fn record(&mut self, d: Duration) {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let bucket = (ms.min(MAX_MS) / BUCKET_MS) as usize;
        self.counts[bucket] += 1;
        self.total += 1;
        self.max_ms = self.max_ms.max(ms);
    }

    pub fn add(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.max_ms = self.max_ms.max(other.max_ms);
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn max(&self) -> Duration {
        Duration::from_millis(self.max_ms)
    }

    /// The `p`-th percentile (0..=100), to the bucket's upper bound.
    pub fn percentile(&self, p: f64) -> Duration {
        if self.total == 0 {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let upper = (i as u64 + 1) * BUCKET_MS;
                return Duration::from_millis(upper.min(self.max_ms));
            }
        }
        self.max()
    }
}

/// Counters over some span of time (the last log period, or the whole run).
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Collections attempted (successful or not).
    pub collections: u64,
    /// Collections that ended in an error (host unreachable, timed out, ...).
    pub failures: u64,
    /// Cycles of a host in backoff, reported with its last error without a try.
    pub backed_off: u64,
    /// Cycles that started late because the previous one ran past the interval.
    pub overruns: u64,
    /// Master connections opened (one per host, plus reopenings).
    pub masters_opened: u64,
    /// How long a collection took, from an open connection (or, without multiplexing,
    /// including the connection).
    pub durations: Histogram,
    /// How long opening a master connection took.
    pub connects: Histogram,
    /// Reports the server accepted.
    pub posted: u64,
    /// Requests to the reports endpoint.
    pub requests: u64,
    /// Reports dropped: buffer full, or refused by the server.
    pub dropped: u64,
}

impl Stats {
    pub fn add(&mut self, other: &Stats) {
        self.collections += other.collections;
        self.failures += other.failures;
        self.backed_off += other.backed_off;
        self.overruns += other.overruns;
        self.masters_opened += other.masters_opened;
        self.posted += other.posted;
        self.requests += other.requests;
        self.dropped += other.dropped;
        for (a, b) in self
            .durations
            .counts
            .iter_mut()
            .zip(&other.durations.counts)
        {
            *a += b;
        }
        self.durations.total += other.durations.total;
        self.durations.max_ms = self.durations.max_ms.max(other.durations.max_ms);
    }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Duration| d.as_millis();
        write!(
            f,
            "collections={} failures={} backed_off={} overruns={} cycle_ms_p50={} cycle_ms_p95={} cycle_ms_max={} masters_opened={} connect_ms_p95={} connect_ms_max={} posted={} requests={} dropped={}",
            self.collections,
            self.failures,
            self.backed_off,
            self.overruns,
            ms(self.durations.percentile(50.0)),
            ms(self.durations.percentile(95.0)),
            ms(self.durations.max()),
            self.masters_opened,
            ms(self.connects.percentile(95.0)),
            ms(self.connects.max()),
            self.posted,
            self.requests,
            self.dropped,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_buckets() {
        let mut h = Histogram::default();
        assert_eq!(h.percentile(95.0), Duration::ZERO);
        for ms in 1..=100 {
            h.record(Duration::from_millis(ms * 10 - 5));
        }
        assert_eq!(h.count(), 100);
        assert_eq!(h.percentile(50.0), Duration::from_millis(500));
        assert_eq!(h.percentile(95.0), Duration::from_millis(950));
        assert_eq!(h.max(), Duration::from_millis(995));
        assert_eq!(h.percentile(100.0), Duration::from_millis(995));
        h.record(Duration::from_secs(3600));
        assert_eq!(h.max(), Duration::from_secs(3600));
    }

    #[test]
    fn summary_line_is_key_value() {
        let mut s = Stats {
            collections: 2,
            posted: 2,
            ..Default::default()
        };
        s.durations.record(Duration::from_millis(1040));
        let mut total = Stats::default();
        total.add(&s);
        total.add(&s);
        let line = total.to_string();
        assert!(line.starts_with("collections=4 failures=0"), "{line}");
        assert!(line.contains("cycle_ms_max=1040"), "{line}");
        assert!(line.contains("posted=4"), "{line}");
    }
}
