//! Background work: every job does one round at a given time (`run_once`) and says when it
//! wants the next one (`next_wake`); one [`Runner`] does the sleeping, the waking and the
//! retrying for all of them.
//!
//! Keeping the loop in one place means tests drive each job round by round with a clock
//! they move, and a new job (roll-ups, host staleness) is a `run_once` and a wake-up time,
//! not another hand-written loop.
pub mod outbox;
pub mod retention;
pub mod rollups;
pub mod scheduler;
pub mod staleness;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use futures::future::BoxFuture;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::clock::SharedClock;
use scheduler::Wakeup;

/// One kind of background work.
pub trait Job: Send + Sync + 'static {
    /// Names the job in logs.
    const NAME: &'static str;
    /// What one round did.
    type Report: fmt::Debug + Send;

    /// Do one round of work as of `now`.
    fn run_once(
        &self,
        now: DateTime<Utc>,
    ) -> impl Future<Output = anyhow::Result<Self::Report>> + Send;

    /// When the next round is due, asked after each round. `None`: no work is known, so the
    /// job sleeps until it is signalled or [`Job::poll`] has passed.
    fn next_wake(
        &self,
        now: DateTime<Utc>,
    ) -> impl Future<Output = anyhow::Result<Option<DateTime<Utc>>>> + Send;

    /// The longest sleep: work may appear that this process is not told about (another
    /// `heartbeats` process on the same database).
    fn poll(&self) -> Duration;

    /// What wakes the job before its time.
    fn signal(&self) -> Signal {
        Signal::None
    }
}

/// What wakes a sleeping job early.
#[derive(Debug, Clone)]
pub enum Signal {
    /// Only time.
    None,
    /// Any notification (e.g. alerts were queued).
    Notify(Arc<Notify>),
    /// A notification naming a deadline earlier than the one the job sleeps towards.
    Wakeup(Arc<Wakeup>),
}

impl Signal {
    /// Sleep until `until` (a wall-clock time, `wait` from now) or an earlier signal.
    async fn sleep(&self, wait: StdDuration, until: DateTime<Utc>) {
        match self {
            Signal::None => tokio::time::sleep(wait).await,
            Signal::Notify(notify) => {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = notify.notified() => {}
                }
            }
            Signal::Wakeup(wakeup) => wakeup.sleep(wait, until).await,
        }
    }
}

/// When to wake after a round: the job's own next time, but no later than `poll` from now.
pub fn wake_at(now: DateTime<Utc>, next: Option<DateTime<Utc>>, poll: Duration) -> DateTime<Utc> {
    let latest = now + poll;
    next.map_or(latest, |n| n.min(latest))
}

/// The shortest sleep: a job whose wake-up time has passed (or that keeps being signalled)
/// still yields, so the runner never spins.
pub const MIN_SLEEP: StdDuration = StdDuration::from_millis(20);

/// How long to sleep from `now` until `wake_at`.
pub fn sleep_for(now: DateTime<Utc>, wake_at: DateTime<Utc>) -> StdDuration {
    (wake_at - now).to_std().unwrap_or_default().max(MIN_SLEEP)
}

/// The wait after the `failures`-th failed round in a row: 5 s, 10 s, 20 s, … capped at
/// 5 min, so a database outage is retried promptly at first and is not hammered after.
pub fn backoff(failures: u32) -> StdDuration {
    let exp = failures.clamp(1, 7) - 1;
    (StdDuration::from_secs(5) * 2u32.pow(exp)).min(StdDuration::from_secs(300))
}

/// Drives every job: each in its own task, round after round, until the runner is dropped.
pub struct Runner {
    clock: SharedClock,
    loops: Vec<BoxFuture<'static, ()>>,
}

impl Runner {
    pub fn new(clock: SharedClock) -> Self {
        Self {
            clock,
            loops: Vec::new(),
        }
    }

    pub fn with<J: Job>(mut self, job: J) -> Self {
        self.loops.push(Box::pin(drive(job, self.clock.clone())));
        self
    }

    /// Start every job. Dropping the returned set stops them.
    pub fn start(self) -> JoinSet<()> {
        let mut set = JoinSet::new();
        for job in self.loops {
            set.spawn(job);
        }
        set
    }
}

/// The one loop: a round, then sleep until the job's next time or a signal; after a
/// failure, log and back off (signals do not cut a backoff short, or a busy ping stream
/// would turn a database outage into a tight retry loop).
async fn drive<J: Job>(job: J, clock: SharedClock) {
    tracing::info!(job = J::NAME, "job started");
    let signal = job.signal();
    let mut failures = 0u32;
    loop {
        let now = clock.now();
        match job.run_once(now).await {
            Ok(report) => {
                failures = 0;
                tracing::debug!(job = J::NAME, ?report, "round done");
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                let wait = backoff(failures);
                tracing::error!(job = J::NAME, error = format!("{e:#}"), retry_in = ?wait, "job round failed");
                tokio::time::sleep(wait).await;
                continue;
            }
        }
        let now = clock.now();
        let next = job.next_wake(now).await.unwrap_or_else(|e| {
            tracing::error!(
                job = J::NAME,
                error = format!("{e:#}"),
                "cannot tell the next wake-up; polling"
            );
            None
        });
        let until = wake_at(now, next, job.poll());
        signal.sleep(sleep_for(clock.now(), until), until).await;
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::mpsc;

    use super::*;
    use crate::clock::ManualClock;

    /// Reports each round's time; otherwise sleeps for an hour unless signalled.
    struct Rounds {
        tx: mpsc::UnboundedSender<DateTime<Utc>>,
        notify: Arc<Notify>,
    }

    impl Job for Rounds {
        const NAME: &'static str = "rounds";
        type Report = ();

        async fn run_once(&self, now: DateTime<Utc>) -> anyhow::Result<()> {
            self.tx.send(now)?;
            Ok(())
        }

        async fn next_wake(&self, _now: DateTime<Utc>) -> anyhow::Result<Option<DateTime<Utc>>> {
            Ok(None)
        }

        fn poll(&self) -> Duration {
            Duration::hours(1)
        }

        fn signal(&self) -> Signal {
            Signal::Notify(self.notify.clone())
        }
    }

    #[tokio::test]
    async fn runs_at_once_then_when_signalled_at_the_clock_time() {
        let clock = ManualClock::new(t(0));
        let (tx, mut rx) = mpsc::unbounded_channel();
        let notify = Arc::new(Notify::new());
        let job = Rounds {
            tx,
            notify: notify.clone(),
        };
        let running = Runner::new(Arc::new(clock.clone())).with(job).start();
        let limit = StdDuration::from_secs(10);
        assert_eq!(
            tokio::time::timeout(limit, rx.recv()).await.unwrap(),
            Some(t(0))
        );
        clock.set(t(42));
        notify.notify_one();
        assert_eq!(
            tokio::time::timeout(limit, rx.recv()).await.unwrap(),
            Some(t(42))
        );
        // Dropping the set stops the job (and with it the only sender).
        drop(running);
        assert_eq!(tokio::time::timeout(limit, rx.recv()).await.unwrap(), None);
    }

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn wakes_at_the_job_time_capped_by_poll() {
        let poll = Duration::seconds(10);
        assert_eq!(wake_at(t(0), None, poll), t(10));
        assert_eq!(wake_at(t(0), Some(t(3)), poll), t(3));
        assert_eq!(wake_at(t(0), Some(t(3600)), poll), t(10));
        // Already due: wake at once (the sleep floor keeps this from spinning).
        assert_eq!(wake_at(t(0), Some(t(-5)), poll), t(-5));
    }

    #[test]
    fn never_sleeps_less_than_the_floor() {
        assert_eq!(sleep_for(t(0), t(-5)), MIN_SLEEP);
        assert_eq!(sleep_for(t(0), t(0)), MIN_SLEEP);
        assert_eq!(sleep_for(t(0), t(2)), StdDuration::from_secs(2));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let secs = |n| backoff(n).as_secs();
        assert_eq!(secs(0), 5);
        assert_eq!(secs(1), 5);
        assert_eq!(secs(2), 10);
        assert_eq!(secs(3), 20);
        assert_eq!(secs(6), 160);
        assert_eq!(secs(7), 300);
        assert_eq!(secs(1000), 300);
    }
}
