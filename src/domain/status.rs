//! The status state machine: what a ping or the passing of time does to a service.
//!
//! Pure functions over [`Tracking`], so the ping writer, the scheduler and the tests share
//! one definition of when a service is late, down or recovered.
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use sea_orm::DeriveValueType;
use serde::{Deserialize, Serialize};

use super::closed_set;
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
        // TODO(issue 13, runs): a start opens a run, a log changes nothing.
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
