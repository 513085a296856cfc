//! The status state machine: what a ping or the passing of time does to a service.
//!
//! Pure functions over [`Tracking`], so the ping writer, the scheduler and the tests share
//! one definition of when a service is late, down or recovered.
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use sea_orm::DeriveValueType;
use serde::{Deserialize, Serialize};

use super::closed_set;
use super::runs::{RunOutcome, duration_words};
use super::schedule::Schedule;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, DeriveValueType)]
#[serde(rename_all = "lowercase")]
#[sea_orm(value_type = "String")]
pub enum Status {
    New,
    Up,
    Late,
    Down,
    Paused,
}

closed_set!(Status, "status", {
    New => "new",
    Up => "up",
    Late => "late",
    Down => "down",
    Paused => "paused",
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, DeriveValueType)]
#[serde(rename_all = "lowercase")]
#[sea_orm(value_type = "String")]
pub enum PingKind {
    Success,
    /// A failure: native `data=`, `/fail`, an exit status 1–255.
    Error,
    /// A run started.
    Start,
    /// A message that changes nothing.
    Log,
}

closed_set!(PingKind, "ping kind", {
    Success => "success",
    Error => "error",
    Start => "start",
    Log => "log",
});

impl PingKind {
    pub fn from_data(data: &str) -> Self {
        if data.trim().is_empty() {
            PingKind::Success
        } else {
            PingKind::Error
        }
    }
}

/// Why a status changed. Only `Missed`, `Error` and `Recovered` send mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, DeriveValueType)]
#[serde(rename_all = "lowercase")]
#[sea_orm(value_type = "String")]
pub enum Reason {
    /// Past due, still inside the grace time.
    Late,
    /// Grace time ran out with no ping.
    Missed,
    /// The job pinged with data: it reported an error.
    Error,
    /// A success ping on a down service.
    Recovered,
    /// A success ping on a late service, before it went down.
    Back,
    /// Someone paused the service.
    Paused,
    /// Someone resumed it.
    Resumed,
    /// A run stayed open past the maximum run time.
    Hung,
    /// A run finished sooner than the minimum or later than the maximum run time.
    RunTime,
}

closed_set!(Reason, "reason", {
    Late => "late",
    Missed => "missed",
    Error => "error",
    Recovered => "recovered",
    Back => "back",
    Paused => "paused",
    Resumed => "resumed",
    Hung => "hung",
    RunTime => "run_time",
});

impl Reason {
    pub fn alerts(self) -> bool {
        matches!(
            self,
            Reason::Missed | Reason::Error | Reason::Recovered | Reason::Hung | Reason::RunTime
        )
    }
}

/// The time-dependent part of a service's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracking {
    pub status: Status,
    pub last_ping_at: Option<DateTime<Utc>>,
    pub last_ping_kind: Option<PingKind>,
    pub next_due_at: Option<DateTime<Utc>>,
    pub down_at: Option<DateTime<Utc>>,
    /// When the scheduler must look at this service next.
    pub next_check_at: Option<DateTime<Utc>>,
}

impl Tracking {
    pub fn new_service() -> Self {
        Self {
            status: Status::New,
            last_ping_at: None,
            last_ping_kind: None,
            next_due_at: None,
            down_at: None,
            next_check_at: None,
        }
    }
}

/// A status change, as stored in the `flips` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flip {
    pub from: Status,
    pub to: Status,
    pub reason: Reason,
    pub at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub last_ping_at: Option<DateTime<Utc>>,
    pub data: Option<String>,
}

/// What the scheduler needs to know about a service's schedule.
#[derive(Debug, Clone)]
pub struct Timing<'a> {
    pub schedule: &'a Schedule,
    pub tz: Tz,
    pub grace: Duration,
}

impl Timing<'_> {
    fn due_after_ping(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.schedule.next_due_after_ping(at, self.tz)
    }
}

/// Apply a ping received at `at`.
pub fn on_ping(
    current: &Tracking,
    timing: &Timing<'_>,
    kind: PingKind,
    data: &str,
    at: DateTime<Utc>,
) -> (Tracking, Option<Flip>) {
    let next_due = timing.due_after_ping(at);
    let mut next = Tracking {
        status: Status::Up,
        last_ping_at: Some(at),
        last_ping_kind: Some(kind),
        next_due_at: next_due,
        down_at: next_due.map(|d| d + timing.grace),
        next_check_at: next_due,
    };
    let flip = |to: Status, reason: Reason, data: Option<String>| Flip {
        from: current.status,
        to,
        reason,
        at,
        due_at: current.next_due_at,
        last_ping_at: current.last_ping_at,
        data,
    };
    match kind {
        PingKind::Error => {
            next.status = Status::Down;
            next.down_at = None;
            next.next_check_at = None;
            // One alert per flip: a second error report on a down service is stored, not mailed.
            // A reported error is not about a due time, so the flip names none.
            let flip = (current.status != Status::Down).then(|| Flip {
                due_at: None,
                ..flip(Status::Down, Reason::Error, Some(data.to_owned()))
            });
            (next, flip)
        }
        // A start or a log message does not satisfy the schedule nor change the status.
        PingKind::Start | PingKind::Log => (current.clone(), None),
        PingKind::Success => {
            let flip = match current.status {
                Status::Down => Some(flip(Status::Up, Reason::Recovered, None)),
                Status::Late => Some(flip(Status::Up, Reason::Back, None)),
                Status::New | Status::Up | Status::Paused => None,
            };
            (next, flip)
        }
    }
}

/// Let time pass: the scheduler calls this for a service whose `next_check_at` is due.
/// Returns `None` when nothing changes (another process got there first, or a ping moved it).
pub fn on_tick(current: &Tracking, now: DateTime<Utc>) -> Option<(Tracking, Flip)> {
    if !matches!(current.status, Status::Up | Status::Late) {
        return None;
    }
    let due = current.next_due_at?;
    let down_at = current.down_at?;
    let flip = |to: Status, reason: Reason| Flip {
        from: current.status,
        to,
        reason,
        at: now,
        due_at: Some(due),
        last_ping_at: current.last_ping_at,
        data: None,
    };
    if now >= down_at {
        let next = Tracking {
            status: Status::Down,
            next_check_at: None,
            ..current.clone()
        };
        return Some((next, flip(Status::Down, Reason::Missed)));
    }
    if current.status == Status::Up && now >= due {
        let next = Tracking {
            status: Status::Late,
            next_check_at: Some(down_at),
            ..current.clone()
        };
        return Some((next, flip(Status::Late, Reason::Late)));
    }
    None
}

/// Recompute due times after the schedule or grace changed. Never flips by itself: if the
/// new deadline already passed, the scheduler does that on its next run, with an alert.
pub fn reschedule(current: &Tracking, timing: &Timing<'_>, now: DateTime<Utc>) -> Tracking {
    if !matches!(current.status, Status::Up | Status::Late) {
        return current.clone();
    }
    let Some(last) = current.last_ping_at else {
        return current.clone();
    };
    let next_due = timing.due_after_ping(last);
    let down_at = next_due.map(|d| d + timing.grace);
    let late = next_due.is_some_and(|d| now >= d);
    Tracking {
        status: if late && current.status == Status::Late {
            Status::Late
        } else {
            Status::Up
        },
        next_due_at: next_due,
        down_at,
        next_check_at: if current.status == Status::Late && late {
            down_at
        } else {
            next_due
        },
        ..current.clone()
    }
}

/// Pausing stops all tracking.
pub fn paused(current: &Tracking, at: DateTime<Utc>) -> (Tracking, Flip) {
    let next = Tracking {
        status: Status::Paused,
        next_check_at: None,
        down_at: None,
        ..current.clone()
    };
    let flip = Flip {
        from: current.status,
        to: Status::Paused,
        reason: Reason::Paused,
        at,
        due_at: None,
        last_ping_at: current.last_ping_at,
        data: None,
    };
    (next, flip)
}

/// Resuming a service that has pinged before expects its next run as if the pause had
/// never been: due at the schedule's next time after `now`, down after the grace time, so
/// a pause cannot silence a dead job forever. A service that never pinged is new again
/// (a new service does not alert).
pub fn resumed(current: &Tracking, timing: &Timing<'_>, now: DateTime<Utc>) -> (Tracking, Flip) {
    let next = match current.last_ping_at {
        None => Tracking {
            status: Status::New,
            next_due_at: None,
            down_at: None,
            next_check_at: None,
            ..current.clone()
        },
        Some(_) => {
            let due = timing.schedule.first_due(now, timing.tz);
            Tracking {
                status: Status::Up,
                next_due_at: due,
                down_at: due.map(|d| d + timing.grace),
                next_check_at: due,
                ..current.clone()
            }
        }
    };
    let flip = Flip {
        from: Status::Paused,
        to: next.status,
        reason: Reason::Resumed,
        at: now,
        due_at: next.next_due_at,
        last_ping_at: current.last_ping_at,
        data: None,
    };
    (next, flip)
}

/// When the scheduler must look at a service for its schedule alone: an up service when
/// it is due, a late one when it goes down; never for a new, down or paused one.
pub fn schedule_check(t: &Tracking) -> Option<DateTime<Utc>> {
    match t.status {
        Status::Up => t.next_due_at,
        Status::Late => t.down_at,
        Status::New | Status::Down | Status::Paused => None,
    }
}

/// The run a service watches for hanging: the oldest open run not yet reported hung, and
/// the service's maximum run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenRun {
    pub started_at: DateTime<Utc>,
    pub max_run: Duration,
}

impl OpenRun {
    /// `Some` when both a run is open and the service has a maximum run time.
    pub fn of(started_at: Option<DateTime<Utc>>, max_run: Option<Duration>) -> Option<Self> {
        Some(Self {
            started_at: started_at?,
            max_run: max_run?,
        })
    }

    pub fn hung_at(&self) -> DateTime<Utc> {
        self.started_at + self.max_run
    }
}

/// `next_check_at`: the earlier of the schedule's deadline and the hung deadline. Down
/// and paused services are not reported hung (they do not flip again).
pub fn planned_check(t: &Tracking, open: Option<OpenRun>) -> Option<DateTime<Utc>> {
    // A down service's runs are watched too: the scheduler marks them hung without an
    // alert (the service is down already), so that a recovery does not report them again.
    let hung = open
        .filter(|_| {
            matches!(
                t.status,
                Status::New | Status::Up | Status::Late | Status::Down
            )
        })
        .map(|o| o.hung_at());
    match (schedule_check(t), hung) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Let time pass for a service that may have a run open: past the hung deadline a new,
/// up or late service goes down (reason `Hung`); otherwise as [`on_tick`]. The returned
/// tracking's `next_check_at` is the schedule's alone: the caller plans it again with the
/// runs that stay open ([`planned_check`]).
pub fn on_tick_runs(
    current: &Tracking,
    open: Option<OpenRun>,
    now: DateTime<Utc>,
) -> Option<(Tracking, Flip)> {
    if let Some(open) = open
        && now >= open.hung_at()
        && matches!(current.status, Status::New | Status::Up | Status::Late)
    {
        let next = Tracking {
            status: Status::Down,
            next_check_at: None,
            ..current.clone()
        };
        let flip = Flip {
            from: current.status,
            to: Status::Down,
            reason: Reason::Hung,
            at: now,
            due_at: None,
            last_ping_at: current.last_ping_at,
            data: Some(hung_words(now - open.started_at, open.max_run)),
        };
        return Some((next, flip));
    }
    on_tick(current, now)
}

/// "running for 2 h 05 min, longer than 2 h".
pub fn hung_words(running: Duration, max_run: Duration) -> String {
    format!(
        "running for {}, longer than {}",
        duration_words(running),
        duration_words(max_run)
    )
}

/// A service's run-time bounds and failure threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunRules {
    pub min_run: Option<Duration>,
    pub max_run: Option<Duration>,
    /// Go down at this many failures in a row (at least 1).
    pub fail_after: i32,
}

/// The run a finish closed: how long it took, and whether it had been reported hung.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClosedRun {
    pub took: Duration,
    pub was_hung: bool,
}

/// A finish (success or failure), judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// `None`: a success; else why it failed and what the flip says.
    pub failure: Option<(Reason, String)>,
    /// The outcome of the run it closed, if it closed one.
    pub outcome: Option<RunOutcome>,
}

/// Judge a success or failure ping: its kind and exit status, and the run it closed
/// against the bounds. A hung run that finishes is `too_long`, but its finish counts as
/// the job's own word (a success is a recovery): the hang was reported already.
pub fn judge(
    kind: PingKind,
    data: &str,
    exit_status: Option<i32>,
    run: Option<ClosedRun>,
    rules: &RunRules,
) -> Verdict {
    if kind == PingKind::Error {
        let data = match exit_status {
            Some(code) if data.is_empty() => format!("exit status {code}"),
            Some(code) => format!("exit status {code}\n{data}"),
            None => data.to_owned(),
        };
        return Verdict {
            failure: Some((Reason::Error, data)),
            outcome: run.map(|_| RunOutcome::Failure),
        };
    }
    let Some(run) = run else {
        return Verdict {
            failure: None,
            outcome: None,
        };
    };
    let short = rules.min_run.filter(|min| run.took < *min);
    let long = rules.max_run.filter(|max| run.took > *max);
    if run.was_hung {
        return Verdict {
            failure: None,
            outcome: Some(RunOutcome::TooLong),
        };
    }
    if let Some(min) = short {
        return Verdict {
            failure: Some((
                Reason::RunTime,
                format!(
                    "ran {}, shorter than the minimum of {}",
                    duration_words(run.took),
                    duration_words(min)
                ),
            )),
            outcome: Some(RunOutcome::TooShort),
        };
    }
    if let Some(max) = long {
        return Verdict {
            failure: Some((
                Reason::RunTime,
                format!(
                    "ran {}, longer than the maximum of {}",
                    duration_words(run.took),
                    duration_words(max)
                ),
            )),
            outcome: Some(RunOutcome::TooLong),
        };
    }
    Verdict {
        failure: None,
        outcome: Some(RunOutcome::Success),
    }
}

/// Apply a judged finish received at `at`, counting failures in a row. A success sets the
/// streak to 0 and is a success ping as ever. A failure adds 1; at `fail_after` it is a
/// reported error (down, one alert per flip); below it the job still ran: it satisfies
/// the schedule like a success, never brings a down service up, and does not alert.
/// Returns the new tracking, the flip if any, and the new streak.
pub fn on_finish(
    current: &Tracking,
    timing: &Timing<'_>,
    verdict: &Verdict,
    streak: i32,
    fail_after: i32,
    at: DateTime<Utc>,
) -> (Tracking, Option<Flip>, i32) {
    let Some((reason, data)) = &verdict.failure else {
        let (next, flip) = on_ping(current, timing, PingKind::Success, "", at);
        return (next, flip, 0);
    };
    let streak = streak.saturating_add(1);
    if streak >= fail_after.max(1) {
        let (next, flip) = on_ping(current, timing, PingKind::Error, data, at);
        let flip = flip.map(|f| Flip {
            reason: *reason,
            ..f
        });
        return (next, flip, streak);
    }
    let (mut next, flip) = on_ping(current, timing, PingKind::Success, "", at);
    next.last_ping_kind = Some(PingKind::Error);
    if current.status == Status::Down {
        // Not up again until a success: keep it down, with no deadline.
        next.status = Status::Down;
        next.down_at = None;
        next.next_check_at = None;
        return (next, None, streak);
    }
    (next, flip, streak)
}

#[cfg(test)]
#[path = "status_test.rs"]
mod tests;
