//! Host checks: the values of a snapshot that checks look at, and their evaluation. Each
//! failing check remembers when its breach started ([`Breaches`], stored with the host);
//! a breach counts once it has lasted its window. Pure: the state machine in
//! [`super::host_status`] calls [`evaluate`] with the previous breaches.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::host::{Checks, EventKind, RequiredProcess, Threshold};
use super::host_status::{HostEvent, event};

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
    /// Checks the sender could not run (`disk check failed: df timed out after 6 s`).
    pub failures: Vec<String>,
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
    /// A check the collector could not run; over when a report no longer says so.
    Failure,
}

impl CheckKind {
    fn events(self) -> (EventKind, EventKind) {
        match self {
            CheckKind::Threshold => (EventKind::ThresholdBreached, EventKind::ThresholdCleared),
            CheckKind::Unit => (EventKind::UnitFailed, EventKind::UnitRecovered),
            CheckKind::Process => (EventKind::ProcessMissing, EventKind::ProcessBack),
            CheckKind::Failure => (EventKind::CheckFailed, EventKind::CheckRecovered),
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
    // Every snapshot speaks for failures: one not repeated is over.
    covered.push("fail:");
    for line in &s.failures {
        let key = format!("fail:{}", failure_key(line));
        if out.iter().any(|o| o.key == key) {
            continue;
        }
        out.push(Outcome {
            key,
            failing: true,
            line: line.clone(),
            window_secs: 0,
            kind: CheckKind::Failure,
        });
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

/// What a failure line is about: `disk` for `disk check failed: df timed out after 6 s`,
/// the text before the first `:` otherwise; so the same failure keeps one breach while its
/// detail changes.
fn failure_key(line: &str) -> &str {
    let head = line.split(':').next().unwrap_or(line);
    head.split(" check").next().unwrap_or(head).trim()
}

fn kind_of_key(key: &str) -> CheckKind {
    if key.starts_with("fail:") {
        CheckKind::Failure
    } else if key.starts_with("unit:") {
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
