//! The host state machine: what a snapshot, an error report or the passing of time does
//! to a host. Pure functions over [`HostTracking`], so the report writer, the staleness
//! job and the tests share one definition of up, degraded and down.
//!
//! Thresholds are evaluated from the previous state alone: each failing check remembers
//! when its breach started ([`Breaches`]); a breach counts once it has lasted its window,
//! and the host is degraded while any check counts.
use chrono::{DateTime, Duration, Utc};

use super::host::{Checks, DEFAULT_TIMEOUT_SECS, EventKind, HostReason, HostStatus};
pub use super::host_checks::{Breach, Breaches, GpuValues, Processes, Snapshot, evaluate};

/// The time-dependent part of a host's row.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTracking {
    pub status: HostStatus,
    pub status_since: Option<DateTime<Utc>>,
    pub last_report_at: Option<DateTime<Utc>>,
    pub last_ok_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub report_interval_secs: Option<i64>,
    pub report_timeout_secs: Option<i64>,
    pub breaches: Breaches,
    /// What is wrong while degraded or down.
    pub problems: Vec<String>,
    /// The offline deadline.
    pub next_check_at: Option<DateTime<Utc>>,
}

impl HostTracking {
    pub fn new_host() -> Self {
        Self {
            status: HostStatus::New,
            status_since: None,
            last_report_at: None,
            last_ok_at: None,
            last_error: None,
            report_interval_secs: None,
            report_timeout_secs: None,
            breaches: Breaches::default(),
            problems: Vec::new(),
            next_check_at: None,
        }
    }
}

/// A host's status change, as stored in `host_flips`.
#[derive(Debug, Clone, PartialEq)]
pub struct HostFlip {
    pub from: HostStatus,
    pub to: HostStatus,
    pub reason: HostReason,
    pub at: DateTime<Utc>,
    /// What is wrong; on a recovery, what was.
    pub detail: Option<String>,
    /// When the problem started; on a recovery, when the outage started.
    pub since: Option<DateTime<Utc>>,
    pub last_ok_at: Option<DateTime<Utc>>,
}

/// An entry for the events log.
#[derive(Debug, Clone, PartialEq)]
pub struct HostEvent {
    pub kind: EventKind,
    pub at: DateTime<Utc>,
    pub check: Option<String>,
    pub detail: Option<String>,
}

/// What a report or a tick did.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub next: HostTracking,
    pub flip: Option<HostFlip>,
    pub events: Vec<HostEvent>,
}

/// How long a host stays online after a successful snapshot: 2 × interval + timeout.
pub fn online_window(interval_secs: i64, timeout_secs: i64) -> Duration {
    Duration::seconds(2 * interval_secs.max(1) + timeout_secs.max(0))
}

/// The offline deadline after a successful snapshot at `at`: the report's interval and
/// timeout when it gave them, else the host's interval and 5 s.
pub fn offline_at(
    at: DateTime<Utc>,
    host_interval_secs: i64,
    report_interval_secs: Option<i64>,
    report_timeout_secs: Option<i64>,
) -> DateTime<Utc> {
    at + online_window(
        report_interval_secs.unwrap_or(host_interval_secs),
        report_timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS),
    )
}

pub(super) fn event(
    kind: EventKind,
    at: DateTime<Utc>,
    check: Option<&str>,
    detail: Option<String>,
) -> HostEvent {
    HostEvent {
        kind,
        at,
        check: check.map(str::to_owned),
        detail,
    }
}

/// The settings of a host that its status depends on.
#[derive(Debug, Clone, Copy)]
pub struct HostTiming<'a> {
    pub interval_secs: i64,
    pub checks: &'a Checks,
}

/// Apply a successful snapshot collected at `at`.
pub fn on_snapshot(
    current: &HostTracking,
    timing: HostTiming<'_>,
    s: &Snapshot,
    at: DateTime<Utc>,
) -> Change {
    let mut next = HostTracking {
        last_report_at: Some(at),
        last_ok_at: Some(at),
        last_error: None,
        report_interval_secs: s.interval_secs,
        report_timeout_secs: s.timeout_secs,
        ..current.clone()
    };
    if current.status == HostStatus::Paused {
        return Change {
            next,
            flip: None,
            events: Vec::new(),
        };
    }
    let (breaches, mut events) = evaluate(timing.checks, &current.breaches, s, at);
    let problems = breaches.problems();
    let to = if problems.is_empty() {
        HostStatus::Up
    } else {
        HostStatus::Degraded
    };
    next.next_check_at = Some(offline_at(
        at,
        timing.interval_secs,
        s.interval_secs,
        s.timeout_secs,
    ));
    next.breaches = breaches;
    next.problems = problems.clone();
    let from = current.status;
    let detail = |lines: &[String]| (!lines.is_empty()).then(|| lines.join("\n"));
    let flip = |to, reason, detail, since| HostFlip {
        from,
        to,
        reason,
        at,
        detail,
        since,
        last_ok_at: current.last_ok_at,
    };
    let flip = match (from, to) {
        (HostStatus::Down, _) => {
            events.push(event(
                EventKind::Up,
                at,
                None,
                current.problems.first().cloned(),
            ));
            if to == HostStatus::Degraded {
                events.push(event(EventKind::Degraded, at, None, detail(&problems)));
            }
            // Back online: the recovery alert says how long the outage lasted, and what
            // is still wrong if anything is.
            Some(flip(
                to,
                HostReason::Recovered,
                detail(&problems),
                current.status_since,
            ))
        }
        (HostStatus::New, _) => {
            events.push(event(EventKind::Up, at, None, None));
            (to == HostStatus::Degraded).then(|| {
                events.push(event(EventKind::Degraded, at, None, detail(&problems)));
                flip(
                    to,
                    HostReason::Degraded,
                    detail(&problems),
                    since_of(&next.breaches),
                )
            })
        }
        (HostStatus::Up, HostStatus::Degraded) => {
            events.push(event(EventKind::Degraded, at, None, detail(&problems)));
            Some(flip(
                to,
                HostReason::Degraded,
                detail(&problems),
                since_of(&next.breaches),
            ))
        }
        (HostStatus::Degraded, HostStatus::Up) => {
            events.push(event(
                EventKind::Recovered,
                at,
                None,
                detail(&current.problems),
            ));
            Some(flip(
                to,
                HostReason::Cleared,
                detail(&current.problems),
                current.status_since,
            ))
        }
        _ => None,
    };
    if flip.is_some() || from == HostStatus::New {
        next.status = to;
        next.status_since = Some(at);
    }
    Change { next, flip, events }
}

fn since_of(b: &Breaches) -> Option<DateTime<Utc>> {
    b.earliest_counted()
        .and_then(DateTime::from_timestamp_millis)
}

/// Apply an error report (the host could not be collected): offline at once.
pub fn on_error(current: &HostTracking, error: &str, at: DateTime<Utc>) -> Change {
    let mut next = HostTracking {
        last_report_at: Some(at),
        last_error: Some(error.to_owned()),
        ..current.clone()
    };
    if matches!(current.status, HostStatus::Paused | HostStatus::Down) {
        return Change {
            next,
            flip: None,
            events: Vec::new(),
        };
    }
    let line = format!("offline: {error}");
    next.status = HostStatus::Down;
    next.status_since = Some(at);
    next.next_check_at = None;
    next.problems = vec![line.clone()];
    Change {
        flip: Some(HostFlip {
            from: current.status,
            to: HostStatus::Down,
            reason: HostReason::Unreachable,
            at,
            detail: Some(line.clone()),
            since: Some(at),
            last_ok_at: current.last_ok_at,
        }),
        events: vec![event(EventKind::Down, at, None, Some(line))],
        next,
    }
}

/// Let time pass: the staleness job calls this for a host whose deadline is due.
/// `None` when nothing changes (a report moved the deadline, or another process flipped).
pub fn on_tick(current: &HostTracking, now: DateTime<Utc>) -> Option<Change> {
    if !matches!(current.status, HostStatus::Up | HostStatus::Degraded) {
        return None;
    }
    let deadline = current.next_check_at?;
    if now < deadline {
        return None;
    }
    let silent = current
        .last_ok_at
        .map(|t| describe_secs((now - t).num_seconds()))
        .unwrap_or_else(|| "ever".into());
    let line = format!("offline: no report for {silent}");
    let next = HostTracking {
        status: HostStatus::Down,
        status_since: Some(now),
        next_check_at: None,
        problems: vec![line.clone()],
        ..current.clone()
    };
    Some(Change {
        flip: Some(HostFlip {
            from: current.status,
            to: HostStatus::Down,
            reason: HostReason::Offline,
            at: now,
            detail: Some(line.clone()),
            since: Some(now),
            last_ok_at: current.last_ok_at,
        }),
        events: vec![event(EventKind::Down, now, None, Some(line))],
        next,
    })
}

/// Pausing stops tracking; no alerts while paused.
pub fn paused(current: &HostTracking, at: DateTime<Utc>) -> Change {
    let next = HostTracking {
        status: HostStatus::Paused,
        status_since: Some(at),
        next_check_at: None,
        problems: Vec::new(),
        ..current.clone()
    };
    Change {
        flip: Some(HostFlip {
            from: current.status,
            to: HostStatus::Paused,
            reason: HostReason::Paused,
            at,
            detail: None,
            since: None,
            last_ok_at: current.last_ok_at,
        }),
        events: vec![event(EventKind::Paused, at, None, None)],
        next,
    }
}

/// Resuming a host that has reported before expects its next report within the online
/// window from now; checks start afresh. One that never reported is new again.
pub fn resumed(current: &HostTracking, timing: HostTiming<'_>, now: DateTime<Utc>) -> Change {
    let reported = current.last_report_at.is_some();
    let next = HostTracking {
        status: if reported {
            HostStatus::Up
        } else {
            HostStatus::New
        },
        status_since: Some(now),
        breaches: Breaches::default(),
        problems: Vec::new(),
        next_check_at: reported.then(|| {
            offline_at(
                now,
                timing.interval_secs,
                current.report_interval_secs,
                current.report_timeout_secs,
            )
        }),
        ..current.clone()
    };
    Change {
        flip: Some(HostFlip {
            from: HostStatus::Paused,
            to: next.status,
            reason: HostReason::Resumed,
            at: now,
            detail: None,
            since: None,
            last_ok_at: current.last_ok_at,
        }),
        events: vec![event(EventKind::Resumed, now, None, None)],
        next,
    }
}

/// The offline deadline after the host's interval changed.
pub fn reschedule(current: &HostTracking, interval_secs: i64) -> HostTracking {
    let mut next = current.clone();
    if matches!(current.status, HostStatus::Up | HostStatus::Degraded)
        && let Some(ok) = current.last_ok_at
    {
        next.next_check_at = Some(offline_at(
            ok,
            interval_secs,
            current.report_interval_secs,
            current.report_timeout_secs,
        ));
    }
    next
}

/// `2 h 5 min`, `3 min 10 s`, `45 s`: how long an outage lasted.
pub fn describe_secs(secs: i64) -> String {
    let secs = secs.max(0);
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s} s"),
        (0, 0, _) if s > 0 => format!("{m} min {s} s"),
        (0, 0, _) => format!("{m} min"),
        (0, _, 0) => format!("{h} h"),
        (0, _, _) => format!("{h} h {m} min"),
        (_, 0, _) => format!("{d} d {m} min"),
        _ => format!("{d} d {h} h"),
    }
}

#[cfg(test)]
#[path = "host_status_test.rs"]
mod tests;
