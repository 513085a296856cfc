//! The host state machine: what a snapshot, an error report or the passing of time does
//! to a host. Pure functions over [`HostTracking`], so the report writer, the staleness
//! job and the tests share one definition of up, degraded and down.
//!
//! Thresholds are evaluated from the previous state alone: each failing check remembers
//! when its breach started ([`Breaches`]); a breach counts once it has lasted its window,
//! and the host is degraded while any check counts.
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::host::{
    Checks, DEFAULT_TIMEOUT_SECS, EventKind, HostReason, HostStatus, RequiredProcess, Threshold,
};

/// The values of one successful snapshot that checks look at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub cpu_pct: Option<f64>,
    pub load5: Option<f64>,
    pub cores: Option<u32>,
    pub mem_pct: Option<f64>,
    pub swap_pct: Option<f64>,
    /// Mount and used %; `None`: the report said nothing about disks.
    pub disks: Option<Vec<(String, f64)>>,
    pub gpus: Option<Vec<GpuValues>>,
    /// Unit name and ActiveState.
    pub units: Option<Vec<(String, String)>>,
    /// The processes the report listed; `None`: it said nothing about processes.
    pub processes: Option<Processes>,
    /// The sender's interval and timeout, when it said.
    pub interval_secs: Option<i64>,
    pub timeout_secs: Option<i64>,
}

/// What a report said about processes: the command lines it listed, and the matches it
/// counted itself for the patterns it was given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Processes {
    pub commands: Vec<String>,
    pub counted: BTreeMap<String, u32>,
}

impl Processes {
    /// How many processes match `rule`: the sender's count for its pattern when it sent
    /// one (it saw every process), else the listed command lines that match.
    pub fn count(&self, rule: &RequiredProcess) -> u32 {
        if let Some(n) = self.counted.get(&rule.pattern) {
            return *n;
        }
        let hits = if rule.regex {
            match regex::Regex::new(&rule.pattern) {
                Ok(re) => self.commands.iter().filter(|c| re.is_match(c)).count(),
                // Patterns are checked when saved; a bad one matches nothing.
                Err(_) => 0,
            }
        } else {
            self.commands
                .iter()
                .filter(|c| c.contains(rule.pattern.as_str()))
                .count()
        };
        u32::try_from(hits).unwrap_or(u32::MAX)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct GpuValues {
    pub index: u32,
    pub util_pct: Option<f64>,
    pub mem_pct: Option<f64>,
    pub temp_c: Option<f64>,
}

/// A failing check: since when, whether it has lasted its window, and what it says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breach {
    /// Unix ms of the first snapshot that failed.
    pub since: i64,
    pub counted: bool,
    pub line: String,
}

/// Failing checks by key (`cpu`, `disk:/`, `gpu1.util`, `unit:nginx.service`,
/// `proc:nginx`), stored as JSON in `hosts.breaches`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Breaches(pub BTreeMap<String, Breach>);

impl Breaches {
    /// The lines of the breaches that count, in key order.
    pub fn problems(&self) -> Vec<String> {
        self.0
            .values()
            .filter(|b| b.counted)
            .map(|b| b.line.clone())
            .collect()
    }

    /// When the oldest counting breach started.
    pub fn earliest_counted(&self) -> Option<i64> {
        self.0.values().filter(|b| b.counted).map(|b| b.since).min()
    }
}

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

fn event(
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

/// A number as a problem line shows it: whole when it is, else one decimal.
fn num(v: f64) -> String {
    if (v - v.round()).abs() < 0.05 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

/// One evaluated check: its key, what it is, whether it fails now and what to say.
struct Outcome {
    key: String,
    failing: bool,
    /// The line without the duration (`disk / 93% > 90%`).
    line: String,
    window_secs: i64,
    /// Units and processes have no window and their own event kinds.
    kind: CheckKind,
}

#[derive(Clone, Copy, PartialEq)]
enum CheckKind {
    Threshold,
    Unit,
    Process,
}

impl CheckKind {
    fn events(self) -> (EventKind, EventKind) {
        match self {
            CheckKind::Threshold => (EventKind::ThresholdBreached, EventKind::ThresholdCleared),
            CheckKind::Unit => (EventKind::UnitFailed, EventKind::UnitRecovered),
            CheckKind::Process => (EventKind::ProcessMissing, EventKind::ProcessBack),
        }
    }
}

fn threshold(key: String, what: String, unit: &str, value: f64, t: Threshold) -> Outcome {
    Outcome {
        key,
        failing: value > t.limit,
        line: format!("{what} {}{unit} > {}{unit}", num(value), num(t.limit)),
        window_secs: t.for_secs,
        kind: CheckKind::Threshold,
    }
}

/// Every check the snapshot has values for, and the key prefixes it speaks for (a check
/// under such a prefix that is not evaluated now has gone: its disk was unmounted).
fn outcomes(checks: &Checks, s: &Snapshot) -> (Vec<Outcome>, Vec<&'static str>) {
    let mut out = Vec::new();
    let mut covered = Vec::new();
    let mut single =
        |key: &'static str, what: &str, unit: &str, v: Option<f64>, t: Option<Threshold>| {
            if let Some(v) = v {
                covered.push(key);
                if let Some(t) = t {
                    out.push(threshold(key.into(), what.into(), unit, v, t));
                }
            }
        };
    single("cpu", "cpu", "%", s.cpu_pct, checks.cpu_pct);
    single("mem", "memory", "%", s.mem_pct, checks.mem_pct);
    single("swap", "swap", "%", s.swap_pct, checks.swap_pct);
    let per_core = match (s.load5, s.cores) {
        (Some(load), Some(cores)) if cores > 0 => Some(load / f64::from(cores)),
        _ => None,
    };
    single("load", "load per core", "", per_core, checks.load_per_core);
    if let Some(disks) = &s.disks {
        covered.push("disk:");
        for (mount, pct) in disks {
            if let Some(t) = checks.disk_for(mount) {
                out.push(threshold(
                    format!("disk:{mount}"),
                    format!("disk {mount}"),
                    "%",
                    *pct,
                    t,
                ));
            }
        }
    }
    if let Some(gpus) = &s.gpus {
        covered.push("gpu");
        for g in gpus {
            let i = g.index;
            for (suffix, what, unit, v, t) in [
                ("util", "util", "%", g.util_pct, checks.gpu_util_pct),
                ("mem", "memory", "%", g.mem_pct, checks.gpu_mem_pct),
                ("temp", "temperature", " °C", g.temp_c, checks.gpu_temp_c),
            ] {
                if let (Some(v), Some(t)) = (v, t) {
                    out.push(threshold(
                        format!("gpu{i}.{suffix}"),
                        format!("GPU{i} {what}"),
                        unit,
                        v,
                        t,
                    ));
                }
            }
        }
    }
    if let Some(units) = &s.units {
        covered.push("unit:");
        for name in &checks.units {
            let state = units
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, st)| st.as_str());
            let failing = !matches!(state, Some("active" | "activating" | "reloading"));
            out.push(Outcome {
                key: format!("unit:{name}"),
                failing,
                line: format!("{name} {}", state.unwrap_or("not found")),
                window_secs: 0,
                kind: CheckKind::Unit,
            });
        }
    }
    if let Some(procs) = &s.processes {
        covered.push("proc:");
        for rule in &checks.processes {
            out.push(process(rule, procs.count(rule)));
        }
    }
    (out, covered)
}

fn process(rule: &RequiredProcess, count: u32) -> Outcome {
    let line = if count == 0 {
        format!("process {} missing", rule.pattern)
    } else {
        format!("process {} {count} running < {}", rule.pattern, rule.min)
    };
    Outcome {
        key: format!("proc:{}", rule.pattern),
        failing: count < rule.min,
        line,
        window_secs: 0,
        kind: CheckKind::Process,
    }
}

fn kind_of_key(key: &str) -> CheckKind {
    if key.starts_with("unit:") {
        CheckKind::Unit
    } else if key.starts_with("proc:") {
        CheckKind::Process
    } else {
        CheckKind::Threshold
    }
}

/// Evaluate the checks on a snapshot taken at `at`, from the breaches before it.
pub fn evaluate(
    checks: &Checks,
    before: &Breaches,
    s: &Snapshot,
    at: DateTime<Utc>,
) -> (Breaches, Vec<HostEvent>) {
    let at_ms = at.timestamp_millis();
    let (outcomes, covered) = outcomes(checks, s);
    let mut next = Breaches::default();
    let mut events = Vec::new();
    for o in &outcomes {
        let prev = before.0.get(&o.key);
        let (on, off) = o.kind.events();
        if o.failing {
            let since = prev.map_or(at_ms, |p| p.since);
            let lasted = (at_ms - since).max(0) / 1000;
            let counted = lasted >= o.window_secs;
            let line = match o.kind {
                CheckKind::Threshold => format!("{} for {} min", o.line, lasted / 60),
                _ => o.line.clone(),
            };
            if counted && !prev.is_some_and(|p| p.counted) {
                events.push(event(on, at, Some(&o.key), Some(line.clone())));
            }
            next.0.insert(
                o.key.clone(),
                Breach {
                    since,
                    counted,
                    line,
                },
            );
        } else if let Some(p) = prev.filter(|p| p.counted) {
            events.push(event(off, at, Some(&o.key), Some(p.line.clone())));
        }
    }
    // Checks this snapshot said nothing about keep their state; those it should have
    // covered and did not (a disk unmounted, a check removed) are over.
    for (key, b) in &before.0 {
        if next.0.contains_key(key) || outcomes.iter().any(|o| &o.key == key) {
            continue;
        }
        if covered.iter().any(|prefix| key.starts_with(prefix)) || !still_checked(checks, key) {
            if b.counted {
                let (_, off) = kind_of_key(key).events();
                events.push(event(off, at, Some(key), Some(b.line.clone())));
            }
        } else {
            next.0.insert(key.clone(), b.clone());
        }
    }
    (next, events)
}

/// Whether a breach's key still names something the checks look at.
fn still_checked(checks: &Checks, key: &str) -> bool {
    match key {
        "cpu" => checks.cpu_pct.is_some(),
        "mem" => checks.mem_pct.is_some(),
        "swap" => checks.swap_pct.is_some(),
        "load" => checks.load_per_core.is_some(),
        k if k.starts_with("disk:") => checks.disk_for(&k["disk:".len()..]).is_some(),
        k if k.ends_with(".util") => checks.gpu_util_pct.is_some(),
        k if k.ends_with(".mem") => checks.gpu_mem_pct.is_some(),
        k if k.ends_with(".temp") => checks.gpu_temp_c.is_some(),
        k if k.starts_with("unit:") => checks.units.iter().any(|u| k["unit:".len()..] == *u),
        k if k.starts_with("proc:") => checks
            .processes
            .iter()
            .any(|p| k["proc:".len()..] == p.pattern),
        _ => false,
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
