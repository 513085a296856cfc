//! Reconnect delays: exponential with jitter, so a fleet that lost its server together
//! does not come back in one burst.

use std::time::Duration;

/// Doubles from `initial` up to `max`; each delay is drawn uniformly from the upper half of
/// the current step ("equal jitter"): never less than half the step, never more than it.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    /// Failures since the last reset.
    failures: u32,
    rng: XorShift,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ (u64::from(std::process::id()) << 32);
        Self::with_seed(initial, max, seed)
    }

    /// The same, with a fixed random sequence (tests).
    pub fn with_seed(initial: Duration, max: Duration, seed: u64) -> Self {
        Backoff {
            initial: initial.max(Duration::from_millis(1)),
            max: max.max(initial),
            failures: 0,
            rng: XorShift(seed | 1),
        }
    }

    /// The step (the most the next delay can be) after `failures` failures.
    pub fn step(&self) -> Duration {
        let factor = 2u32.saturating_pow(self.failures.min(30));
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// The wait before the next try; counts a failure.
    pub fn next_delay(&mut self) -> Duration {
        let step = self.step();
        self.failures = self.failures.saturating_add(1);
        let half = step / 2;
        let spread = u64::try_from((step - half).as_millis()).unwrap_or(u64::MAX);
        let extra = if spread == 0 {
            0
        } else {
            self.rng.next() % (spread + 1)
        };
        half + Duration::from_millis(extra)
    }

    /// After a connection that held: the next failure waits `initial` again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

/// xorshift64: enough randomness for jitter without a dependency.
#[derive(Debug, Clone)]
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn delays_double_within_their_jitter_up_to_the_cap() {
        let mut b = Backoff::with_seed(S, 60 * S, 42);
        let mut steps = Vec::new();
        for _ in 0..10 {
            let step = b.step();
            let d = b.next_delay();
            assert!(
                d >= step / 2 && d <= step,
                "{d:?} outside [{:?}, {step:?}]",
                step / 2
            );
            steps.push(step.as_secs());
        }
        assert_eq!(steps, [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]);
    }

    #[test]
    fn jitter_spreads_agents_that_failed_together() {
        // Ten agents, same failure count: their delays are not all the same.
        let delays: Vec<Duration> = (0..10)
            .map(|seed| {
                let mut b = Backoff::with_seed(S, 60 * S, seed * 7919);
                for _ in 0..5 {
                    b.next_delay();
                }
                b.next_delay()
            })
            .collect();
        let first = delays[0];
        assert!(delays.iter().any(|d| *d != first), "{delays:?}");
        assert!(
            delays.iter().all(|d| *d >= 16 * S && *d <= 32 * S),
            "{delays:?}"
        );
    }

    #[test]
    fn reset_starts_again_from_the_initial_delay() {
        let mut b = Backoff::with_seed(S, 60 * S, 1);
        for _ in 0..20 {
            b.next_delay();
        }
        assert_eq!(b.step(), 60 * S);
        b.reset();
        assert_eq!(b.step(), S);
        assert!(b.next_delay() <= S);
    }

    #[test]
    fn many_failures_do_not_overflow() {
        let mut b = Backoff::with_seed(Duration::from_millis(500), 60 * S, 3);
        for _ in 0..10_000 {
            assert!(b.next_delay() <= 60 * S);
        }
    }
}
