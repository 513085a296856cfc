//! Bursts: how many messages a destination got lately, and whether the alerts ready for it
//! now go out one by one, as one message, or wait for the window to pass. Kept in memory
//! per process: after a restart, or across several instances, a destination may get a few
//! more messages than its threshold in one window.
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

#[derive(Default)]
pub(super) struct Throttle {
    recent: Mutex<HashMap<String, VecDeque<DateTime<Utc>>>>,
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Plan {
    /// One message per alert.
    Each,
    /// One message for them all.
    Together,
    /// The destination had `threshold` messages within the window: wait until the oldest
    /// leaves it, then go out together.
    Wait(DateTime<Utc>),
}

impl Throttle {
    /// What to do with `n` alerts ready for `key` at `now`. A threshold of 0 turns
    /// grouping off.
    pub fn plan(
        &self,
        key: &str,
        n: usize,
        threshold: u32,
        window_secs: u32,
        now: DateTime<Utc>,
    ) -> Plan {
        if threshold == 0 || n == 0 {
            return Plan::Each;
        }
        let threshold = threshold as usize;
        let window = Duration::seconds(i64::from(window_secs));
        let mut recent = self.recent.lock().expect("throttle lock");
        let sent = recent.entry(key.to_owned()).or_default();
        while sent.front().is_some_and(|t| *t <= now - window) {
            sent.pop_front();
        }
        if sent.len() >= threshold {
            let oldest = *sent.front().expect("non-empty");
            return Plan::Wait(oldest + window);
        }
        if n > 1 && (n >= threshold || sent.len() + n > threshold) {
            Plan::Together
        } else {
            Plan::Each
        }
    }

    /// Remember `messages` messages sent to `key` at `now`.
    pub fn record(&self, key: &str, now: DateTime<Utc>, messages: usize) {
        let mut recent = self.recent.lock().expect("throttle lock");
        let sent = recent.entry(key.to_owned()).or_default();
        sent.extend(std::iter::repeat_n(now, messages));
        // Bounded: only the last `threshold` matter, and thresholds are at most 1000.
        while sent.len() > 1000 {
            sent.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn alerts_ready_together_at_the_threshold_are_one_message() {
        let th = Throttle::default();
        assert_eq!(th.plan("d", 2, 3, 60, t(0)), Plan::Each);
        assert_eq!(th.plan("d", 3, 3, 60, t(0)), Plan::Together);
        assert_eq!(
            th.plan("d", 40, 0, 60, t(0)),
            Plan::Each,
            "0 turns grouping off"
        );
    }

    #[test]
    fn a_destination_that_had_its_share_waits_for_the_window() {
        let th = Throttle::default();
        for s in 0..3 {
            assert_eq!(th.plan("d", 1, 3, 60, t(s)), Plan::Each);
            th.record("d", t(s), 1);
        }
        assert_eq!(th.plan("d", 1, 3, 60, t(10)), Plan::Wait(t(60)));
        // Another destination is not held back.
        assert_eq!(th.plan("e", 1, 3, 60, t(10)), Plan::Each);
        // Once the first message left the window, what waited goes out together.
        assert_eq!(th.plan("d", 37, 3, 60, t(60)), Plan::Together);
        // Two when one more fits would pass the threshold: together.
        let th = Throttle::default();
        th.record("d", t(0), 2);
        assert_eq!(th.plan("d", 2, 3, 60, t(1)), Plan::Together);
    }
}
