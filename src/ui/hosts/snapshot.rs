//! A host's status and latest snapshot as its page shows them (and refreshes every 5 s):
//! why it has its status and since when, then CPU, load, memory, swap, each disk, each
//! GPU, the busiest processes, required processes and watched units.
use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use heartbeats_wire::hosts::{HostReport, ProcessReport};

use super::values::{self, Reading, pct};
use crate::clock::from_ms;
use crate::domain::host::{Checks, HostStatus};
use crate::entity::hosts::Model;
use crate::store::host_reports::Latest;
use crate::store::hosts::{checks_of, problems_of};
use crate::ui::format::When;
use crate::ui::i18n::{Lang, Tr};

pub struct Fact {
    pub label: &'static str,
    pub when: When,
}

pub struct DiskView {
    pub mount: String,
    pub size: String,
    pub reading: Option<Reading>,
    pub limit: Option<String>,
}

pub struct GpuView {
    pub label: String,
    pub util: Option<Reading>,
    pub mem: Option<Reading>,
    pub mem_text: String,
    pub temp: String,
    pub power: String,
}

/// A process holding GPU memory.
pub struct GpuProcView {
    /// `GPU0`, or empty when the sender could not tell which GPU.
    pub gpu: String,
    pub pid: u32,
    pub name: String,
    pub mem: String,
}

/// Most GPU processes shown.
const GPU_PROCS_SHOWN: usize = 50;

pub struct ProcView {
    pub pid: u32,
    pub user: String,
    pub cpu: String,
    pub mem: String,
    pub rss: String,
    pub command: String,
}

pub struct RequiredView {
    pub pattern: String,
    pub regex: bool,
    pub min: u32,
    /// `None`: the report said nothing about it.
    pub count: Option<u32>,
    pub ok: bool,
}

pub struct UnitView {
    pub name: String,
    pub active: String,
    pub sub: String,
    pub failed: bool,
    pub watched: bool,
}

/// The values of the latest successful snapshot.
pub struct Values {
    pub at: When,
    pub cpu: Option<Reading>,
    pub load: Option<(String, bool)>,
    pub cores: Option<u32>,
    pub mem: Option<Reading>,
    pub mem_text: Option<String>,
    pub swap: Option<Reading>,
    pub swap_text: Option<String>,
    pub disks: Vec<DiskView>,
    pub gpus: Vec<GpuView>,
    pub top_cpu: Vec<ProcView>,
    pub top_mem: Vec<ProcView>,
    pub gpu_procs: Vec<GpuProcView>,
}

#[derive(Template)]
#[template(path = "partials/host_live.html")]
pub struct LiveView {
    pub t: &'static Tr,
    pub status: &'static str,
    pub status_label: &'static str,
    pub why: &'static str,
    pub problems: Vec<String>,
    pub facts: Vec<Fact>,
    /// The last report said the host could not be collected.
    pub error: Option<String>,
    pub values: Option<Values>,
    pub required: Vec<RequiredView>,
    pub units: Vec<UnitView>,
    pub silent: bool,
}

fn proc_view(p: &ProcessReport) -> ProcView {
    ProcView {
        pid: p.pid,
        user: p.user.clone().unwrap_or_default(),
        cpu: p.cpu_pct.map(pct).unwrap_or_default(),
        mem: p.mem_pct.map(pct).unwrap_or_default(),
        rss: p.rss_bytes.map(values::bytes).unwrap_or_default(),
        command: super::rows::cut(&p.command, 160),
    }
}

fn limit_text(t: Option<crate::domain::host::Threshold>) -> Option<String> {
    t.map(|t| format!("> {}", pct(t.limit)))
}

fn values_of(r: &HostReport, checks: &Checks, at: When) -> Values {
    Values {
        at,
        cpu: r.cpu_pct.map(|v| Reading::new(v, checks.cpu_pct)),
        load: values::loads(r, checks),
        cores: r.cores,
        mem: r.mem_pct().map(|v| Reading::new(v, checks.mem_pct)),
        mem_text: values::used_of(r.mem_used_bytes, r.mem_total_bytes),
        swap: r.swap_pct().map(|v| Reading::new(v, checks.swap_pct)),
        swap_text: values::used_of(r.swap_used_bytes, r.swap_total_bytes),
        disks: r
            .disks
            .iter()
            .flatten()
            .map(|d| DiskView {
                mount: d.mount.clone(),
                size: values::used_of(d.used_bytes, d.total_bytes).unwrap_or_default(),
                reading: d.pct().map(|v| Reading::new(v, checks.disk_for(&d.mount))),
                limit: limit_text(checks.disk_for(&d.mount)),
            })
            .collect(),
        gpus: r
            .gpus
            .iter()
            .flatten()
            .map(|g| GpuView {
                label: match &g.name {
                    Some(n) => format!("GPU{} · {n}", g.index),
                    None => format!("GPU{}", g.index),
                },
                util: g.util_pct.map(|v| Reading::new(v, checks.gpu_util_pct)),
                mem: g.mem_pct().map(|v| Reading::new(v, checks.gpu_mem_pct)),
                mem_text: match (g.mem_used_mb, g.mem_total_mb) {
                    (Some(u), Some(t)) => format!(
                        "{} / {}",
                        values::bytes(u * 1024 * 1024),
                        values::bytes(t * 1024 * 1024)
                    ),
                    _ => String::new(),
                },
                temp: g.temp_c.map(|t| format!("{t:.0} °C")).unwrap_or_default(),
                power: g.power_w.map(|w| format!("{w:.0} W")).unwrap_or_default(),
            })
            .collect(),
        top_cpu: r
            .processes
            .iter()
            .flat_map(|p| p.top_cpu.iter().take(10))
            .map(proc_view)
            .collect(),
        top_mem: r
            .processes
            .iter()
            .flat_map(|p| p.top_mem.iter().take(10))
            .map(proc_view)
            .collect(),
        gpu_procs: r
            .gpu_processes
            .iter()
            .flatten()
            .take(GPU_PROCS_SHOWN)
            .map(|p| GpuProcView {
                gpu: p.gpu.map(|g| format!("GPU{g}")).unwrap_or_default(),
                pid: p.pid,
                name: super::rows::cut(&p.name, 160),
                mem: p
                    .mem_used_mb
                    .map(|mb| values::bytes(mb * 1024 * 1024))
                    .unwrap_or_default(),
            })
            .collect(),
    }
}

/// The required processes with what the report counted (the server's own rule: the
/// sender's count for the pattern, else the listed command lines that match).
fn required(r: Option<&HostReport>, checks: &Checks) -> Vec<RequiredView> {
    let procs = r.and_then(|r| crate::app::reports::snapshot_of(r).processes);
    checks
        .processes
        .iter()
        .map(|rule| {
            let count = procs.as_ref().map(|p| p.count(rule));
            RequiredView {
                pattern: rule.pattern.clone(),
                regex: rule.regex,
                min: rule.min,
                ok: count.is_some_and(|c| c >= rule.min),
                count,
            }
        })
        .collect()
}

/// Reported units, watched ones first; a watched unit the report left out says so.
fn units(r: Option<&HostReport>, checks: &Checks, t: &Tr) -> Vec<UnitView> {
    let reported = r.and_then(|r| r.units.as_ref());
    let mut out: Vec<UnitView> = checks
        .units
        .iter()
        .map(
            |name| match reported.and_then(|us| us.iter().find(|u| &u.name == name)) {
                Some(u) => UnitView {
                    name: u.name.clone(),
                    active: u.active_state.clone(),
                    sub: u.sub_state.clone().unwrap_or_default(),
                    failed: u.active_state != "active",
                    watched: true,
                },
                None => UnitView {
                    name: name.clone(),
                    active: t.not_reported.to_owned(),
                    sub: String::new(),
                    failed: r.is_some(),
                    watched: true,
                },
            },
        )
        .collect();
    for u in reported.into_iter().flatten() {
        if !checks.units.contains(&u.name) {
            out.push(UnitView {
                name: u.name.clone(),
                active: u.active_state.clone(),
                sub: u.sub_state.clone().unwrap_or_default(),
                failed: u.active_state == "failed",
                watched: false,
            });
        }
    }
    out
}

/// The status, why, and the latest values of a host.
pub fn live_view(
    m: &Model,
    latest: Option<&Latest>,
    lang: Lang,
    tz: Tz,
    now: DateTime<Utc>,
) -> LiveView {
    let t = lang.t();
    let checks = checks_of(m);
    let when = |ms: i64| When::from_ms(ms, tz, now, lang);
    let report = latest.and_then(values::report_of);
    let mut facts = Vec::new();
    let mut fact = |label, ms: Option<i64>| {
        if let Some(ms) = ms {
            facts.push(Fact {
                label,
                when: when(ms),
            });
        }
    };
    fact(t.status_since, m.status_since);
    fact(t.last_report, m.last_report_at);
    if m.last_ok_at != m.last_report_at {
        fact(t.last_ok_report, m.last_ok_at);
    }
    if matches!(m.status, HostStatus::Up | HostStatus::Degraded) {
        fact(t.offline_at, m.next_check_at);
    }
    let why = match m.status {
        HostStatus::New => t.host_why_new,
        HostStatus::Up => t.host_why_up,
        HostStatus::Degraded => t.host_why_degraded,
        HostStatus::Down => t.host_why_down,
        HostStatus::Paused => t.host_why_paused,
    };
    let mut problems = if matches!(m.status, HostStatus::Down | HostStatus::Degraded) {
        problems_of(m)
    } else {
        Vec::new()
    };
    if m.status == HostStatus::Down
        && problems.is_empty()
        && let Some(e) = &m.last_error
    {
        problems.push(e.clone());
    }
    let error = report.as_ref().and_then(|r| r.error.clone());
    // The values shown are those of the last successful snapshot: an error report has
    // none, and then the page says so rather than showing old numbers as current.
    let ok = report.as_ref().filter(|r| r.error.is_none());
    let values = ok.map(|r| {
        values_of(
            r,
            &checks,
            When::new(latest.map_or(now, |l| l.at), tz, now, lang),
        )
    });
    LiveView {
        t,
        status: m.status.as_str(),
        status_label: lang.host_status(m.status),
        why,
        problems,
        facts,
        error,
        values,
        required: required(ok, &checks),
        units: units(ok, &checks, t),
        silent: crate::domain::notify_from_column(&m.notify).is_empty(),
    }
}

/// When a host was created, for the details card.
pub fn created(m: &Model, lang: Lang, tz: Tz, now: DateTime<Utc>) -> When {
    When::new(from_ms(m.created_at), tz, now, lang)
}
