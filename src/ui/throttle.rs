//! Failed sign-ins, counted per user name and per client address in a sliding window.
//! In memory: a restart forgets them, which costs an attacker a restart of our process.
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

pub const MAX_FAILURES: usize = 5;
pub const WINDOW: Duration = Duration::minutes(15);
/// Past this many tracked keys, stale ones are swept; the map never grows without bound.
const MAX_KEYS: usize = 50_000;

pub struct Throttle {
    failures: Mutex<HashMap<String, VecDeque<DateTime<Utc>>>>,
}

impl Default for Throttle {
    fn default() -> Self {
        Self {
            failures: Mutex::new(HashMap::new()),
        }
    }
}

impl Throttle {
    /// `Err(wait)` when any key has had too many failures within the window.
    pub fn check(&self, keys: &[String], now: DateTime<Utc>) -> Result<(), Duration> {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = Duration::zero();
        for key in keys {
            let Some(times) = map.get(key) else { continue };
            let recent: Vec<_> = times.iter().filter(|t| now - **t < WINDOW).collect();
            if recent.len() >= MAX_FAILURES {
                // Free again when the oldest of the last MAX_FAILURES leaves the window.
                let oldest = *recent[recent.len() - MAX_FAILURES];
                wait = wait.max(oldest + WINDOW - now);
            }
        }
        if wait > Duration::zero() {
            Err(wait)
        } else {
            Ok(())
        }
    }

    pub fn record_failure(&self, keys: &[String], now: DateTime<Utc>) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_KEYS {
            map.retain(|_, times| times.back().is_some_and(|t| now - *t < WINDOW));
            if map.len() >= MAX_KEYS {
                map.clear();
            }
        }
        for key in keys {
            let times = map.entry(key.clone()).or_default();
            while times.front().is_some_and(|t| now - *t >= WINDOW) {
                times.pop_front();
            }
            times.push_back(now);
            while times.len() > MAX_FAILURES {
                times.pop_front();
            }
        }
    }

    pub fn clear(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn five_failures_block_for_the_rest_of_the_window() {
        let t = Throttle::default();
        let t0 = Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap();
        let keys = vec!["user:admin".to_owned()];
        for i in 0..5 {
            assert!(t.check(&keys, t0).is_ok());
            t.record_failure(&keys, t0 + Duration::minutes(i));
        }
        let at = t0 + Duration::minutes(5);
        assert_eq!(t.check(&keys, at), Err(Duration::minutes(10)));
        assert!(t.check(&["user:other".to_owned()], at).is_ok());
        assert!(t.check(&keys, t0 + Duration::minutes(15)).is_ok());
        // Failures at minutes 1-4 are still in the window: one more blocks again.
        t.record_failure(&keys, t0 + Duration::minutes(15));
        assert!(t.check(&keys, t0 + Duration::minutes(15)).is_err());
        t.clear("user:admin");
        assert!(t.check(&keys, t0 + Duration::minutes(15)).is_ok());
    }
}
