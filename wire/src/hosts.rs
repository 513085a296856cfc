//! Host reports (`POST /api/v1/hosts/reports`) and the hosts API's resources.
//!
//! A report is one snapshot of one host. The body is one report, or `{"reports": [...]}`.
//! Field names follow the LAN monitoring plan's agent format, so its reports are accepted
//! as they are: the host is named by `name`, `node_id` or `host` (the first given wins),
//! the collection time is `at` or `ts`, systemd units are `units` or `services`. Fields not
//! listed here are ignored, so senders may send more.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Most reports in one request.
pub const MAX_REPORTS: usize = 1000;
/// Most disks, GPUs, units or processes (per list) in one report.
pub const MAX_ITEMS: usize = 256;
/// Most discovered units (`discovered_units`) in one report: a host may run more services
/// than it has disks or GPUs. A sender with more sends the first ones by name.
pub const MAX_DISCOVERED_UNITS: usize = 1024;

/// One snapshot of one host. Every value is optional; a report must name its host and
/// carry at least one value (or an `error`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct HostReport {
    /// The host's name in the inventory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The LAN monitoring plan's name for `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    /// Also accepted for `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// When the values were collected (RFC 3339); the server's receive time when absent.
    #[serde(default, alias = "ts", skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
    /// The sender's collection interval in seconds, when it knows it: the host is offline
    /// once no successful report came for 2 × interval + timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<u32>,
    /// The collector's timeout in seconds (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    /// Why the host could not be collected (unreachable, auth refused, timeout): the host
    /// counts as offline at once, and the values are ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Busy share of all cores, 0–100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_pct: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load1: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load5: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load15: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cores: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_used_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_total_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap_used_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap_total_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disks: Option<Vec<DiskReport>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpus: Option<Vec<GpuReport>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processes: Option<ProcessesReport>,
    /// systemd units and their states.
    #[serde(default, alias = "services", skip_serializing_if = "Option::is_none")]
    pub units: Option<Vec<UnitReport>>,
    /// Processes using a GPU (`nvidia-smi --query-compute-apps`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_processes: Option<Vec<GpuProcessReport>>,
    /// Every loaded service unit that is running or enabled, sent when the server asked
    /// for discovery (`AgentHost::discover_units`), so the UI can offer them as checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovered_units: Option<Vec<UnitReport>>,
    /// Checks that could not run on a host that was reached, one sentence each
    /// (`disk check failed: df timed out after 5 s`, `process check could not run: ps
    /// not found`). Unlike `error`, the host is online; the values a failed check would
    /// have given are absent (e.g. no `disks`), and each line is a problem to show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures: Option<Vec<String>>,
}

impl HostReport {
    /// The host's name: `name`, else `node_id`, else `host`.
    pub fn host_name(&self) -> Option<&str> {
        [&self.name, &self.node_id, &self.host]
            .into_iter()
            .find_map(|n| n.as_deref().map(str::trim).filter(|n| !n.is_empty()))
    }

    /// Whether the report carries anything beyond the host's name and times.
    pub fn has_values(&self) -> bool {
        self.error.is_some()
            || self.cpu_pct.is_some()
            || self.load1.is_some()
            || self.load5.is_some()
            || self.load15.is_some()
            || self.cores.is_some()
            || self.mem_used_bytes.is_some()
            || self.mem_total_bytes.is_some()
            || self.swap_used_bytes.is_some()
            || self.swap_total_bytes.is_some()
            || self.disks.is_some()
            || self.gpus.is_some()
            || self.processes.is_some()
            || self.units.is_some()
            || self.gpu_processes.is_some()
            || self.discovered_units.is_some()
            || self.failures.is_some()
    }

    /// Memory used, 0–100, when both numbers came and the total is not zero.
    pub fn mem_pct(&self) -> Option<f64> {
        pct(self.mem_used_bytes?, self.mem_total_bytes?)
    }

    pub fn swap_pct(&self) -> Option<f64> {
        pct(self.swap_used_bytes?, self.swap_total_bytes?)
    }
}

fn pct(used: u64, total: u64) -> Option<f64> {
    (total > 0).then(|| (used as f64 / total as f64 * 100.0).min(100.0))
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DiskReport {
    pub mount: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_bytes: Option<u64>,
    /// Used share, 0–100; computed from the bytes when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_pct: Option<f64>,
}

impl DiskReport {
    pub fn pct(&self) -> Option<f64> {
        self.used_pct
            .or_else(|| pct(self.used_bytes?, self.total_bytes?))
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct GpuReport {
    pub index: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub util_pct: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_used_mb: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_total_mb: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temp_c: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_w: Option<f64>,
}

impl GpuReport {
    pub fn mem_pct(&self) -> Option<f64> {
        pct(self.mem_used_mb?, self.mem_total_mb?)
    }
}

/// The busiest processes and how the host's required processes fared.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ProcessesReport {
    #[serde(default)]
    pub top_cpu: Vec<ProcessReport>,
    #[serde(default)]
    pub top_mem: Vec<ProcessReport>,
    /// Matches counted by the sender for the required processes it was given. The server
    /// counts in `top_cpu` and `top_mem` for a pattern not listed here.
    #[serde(default)]
    pub required: Vec<RequiredReport>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ProcessReport {
    pub pid: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_pct: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_pct: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_bytes: Option<u64>,
    #[serde(default)]
    pub command: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RequiredReport {
    pub pattern: String,
    /// Matching processes found.
    pub count: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct UnitReport {
    pub name: String,
    /// systemd's ActiveState: `active`, `failed`, `inactive`, `activating`, …
    pub active_state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_state: Option<String>,
    /// systemd's UnitFileState: `enabled`, `disabled`, `static`, … (discovery sends it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_file_state: Option<String>,
}

/// A process holding GPU memory.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct GpuProcessReport {
    /// The GPU's index, when the sender could map nvidia-smi's UUID to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<u32>,
    pub pid: u32,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_used_mb: Option<u64>,
}

/// The batch form of the body.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ReportBatch {
    pub reports: Vec<HostReport>,
}

/// What the server answers to a batch it stored (all of it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReportsAccepted {
    pub ok: bool,
    /// Reports stored.
    pub accepted: usize,
    /// One per report, in the order sent.
    pub hosts: Vec<ReportOutcome>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReportOutcome {
    pub name: String,
    /// The host's id; `None` when the name is not in the inventory (the report waits in
    /// the unmanaged inbox).
    pub id: Option<String>,
    /// The host's status after the report, or `unmanaged`.
    pub status: String,
}

/// A threshold: the limit (a value strictly above it breaches) and how long a breach
/// must last before it counts (`for`, seconds; 0 counts at once).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Threshold {
    pub limit: f64,
    #[serde(rename = "for", default)]
    pub for_secs: u32,
}

/// A host's checks. A threshold left out (or `null`) is not checked.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Checks {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_pct: Option<Threshold>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_pct: Option<Threshold>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap_pct: Option<Threshold>,
    /// Every mount, unless `disk_mounts` names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_pct: Option<Threshold>,
    /// Per mount: `{"/data": {"limit": 95, "for": 0}}`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub disk_mounts: std::collections::BTreeMap<String, Threshold>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_util_pct: Option<Threshold>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_mem_pct: Option<Threshold>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_temp_c: Option<Threshold>,
    /// 5-minute load divided by the cores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_per_core: Option<Threshold>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<RequiredProcess>,
    /// systemd units that must be active, e.g. `nginx.service`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub units: Vec<String>,
}

/// A process that must run: `pattern` found in its command line (a substring, or a
/// regular expression when `regex`), at least `min` times.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RequiredProcess {
    pub pattern: String,
    #[serde(default)]
    pub regex: bool,
    #[serde(default = "one")]
    pub min: u32,
}

fn one() -> u32 {
    1
}

/// SSH settings the collector uses instead of its own defaults.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SshOverrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// A key path on the collector's machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// A host as the API shows it (`/api/v1/hosts`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Host {
    pub id: String,
    pub name: String,
    pub address: Option<String>,
    pub description: Option<String>,
    /// Expected seconds between reports.
    pub interval: u32,
    pub tags: Vec<String>,
    pub notify: Vec<String>,
    pub ssh: SshOverrides,
    pub checks: Checks,
    /// `new`, `up`, `degraded`, `down` or `paused`.
    pub status: String,
    /// Since when the host has had its status.
    pub status_since: Option<DateTime<Utc>>,
    /// What is wrong while degraded or down, one line each (`disk / 93% > 90% for 0 min`).
    pub problems: Vec<String>,
    pub last_report_at: Option<DateTime<Utc>>,
    pub last_ok_at: Option<DateTime<Utc>>,
    /// When the host goes down if no successful report comes.
    pub offline_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The `hb-agent watch` instance that collects the host (`--collector NAME`); `null`:
    /// the default collector (the one started without `--collector`).
    #[serde(default)]
    pub collector: Option<String>,
    /// Channel ids alerts go to, besides `notify`.
    #[serde(default)]
    pub channels: Vec<String>,
    /// Remind every so many seconds while down (`null`: no reminders), at most `remind_max` times.
    #[serde(default)]
    pub remind_every: Option<i64>,
    #[serde(default)]
    pub remind_max: i32,
    /// No alert goes out before this time; statuses still change.
    #[serde(default)]
    pub snoozed_until: Option<DateTime<Utc>>,
    /// The latest snapshot, on `GET /api/v1/hosts/{id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest: Option<HostReport>,
}

/// Defaults for new hosts (`/api/v1/hosts/defaults`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HostDefaults {
    pub interval: u32,
    pub checks: Checks,
}

/// A status change of a host.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HostFlip {
    pub id: i64,
    pub host_id: String,
    pub at: DateTime<Utc>,
    pub from: String,
    pub to: String,
    /// `offline`, `unreachable`, `degraded`, `recovered`, `cleared`, `paused`, `resumed`.
    pub reason: String,
    pub detail: Option<String>,
}

/// One entry of the events log (`/api/v1/events`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Event {
    pub id: i64,
    pub host_id: String,
    pub host: String,
    pub at: DateTime<Utc>,
    /// `down`, `up`, `degraded`, `recovered`, `unit_failed`, `unit_recovered`,
    /// `process_missing`, `process_back`, `threshold_breached`, `threshold_cleared`,
    /// `paused`, `resumed`, `check_failed`, `check_recovered`.
    pub kind: String,
    /// The check it is about (`cpu`, `disk:/`, `gpu1.util`, `unit:nginx.service`, …).
    pub check: Option<String>,
    pub detail: Option<String>,
}

/// A host name that reports but is not in the inventory.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UnmanagedHost {
    pub name: String,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub reports: i64,
    pub source: Option<String>,
    pub latest: Option<HostReport>,
}

/// One point of a time series: the start of its bucket and the bucket's value.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TimePoint {
    pub ts: DateTime<Utc>,
    pub value: f64,
}

/// `GET /api/v1/hosts/{id}/timeseries`: one host's series of one metric.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Timeseries {
    pub host_id: String,
    pub metric: String,
    /// The mount or GPU index asked for; absent: the highest over all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
    /// `avg`, `max`, `min` or `last`.
    pub agg: String,
    /// Seconds per point: 60 or 3600.
    pub step: i64,
    pub data: Vec<TimePoint>,
}

/// One host's series in a by-tag answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HostSeries {
    pub host_id: String,
    pub name: String,
    pub data: Vec<TimePoint>,
}

/// `GET /api/v1/timeseries?tag=`: one series per host with the tag.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TagTimeseries {
    pub tag: String,
    pub metric: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
    pub agg: String,
    pub step: i64,
    pub series: Vec<HostSeries>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lan_plan_format_reads_as_it_is() {
        let body = r#"{"node_id": "srv-01", "ts": "2026-01-17T10:00:00Z", "cpu_pct": 23.4,
 "disks": [{"mount": "/", "used_bytes": 123, "total_bytes": 456, "used_pct": 27.0}],
 "gpus": [{"index": 0, "util_pct": 56, "mem_used_mb": 2048, "mem_total_mb": 8192}],
 "services": [{"name": "nginx.service", "active_state": "active", "sub_state": "running"}]}"#;
        let r: HostReport = serde_json::from_str(body).unwrap();
        assert_eq!(r.host_name(), Some("srv-01"));
        assert_eq!(r.at.unwrap().to_rfc3339(), "2026-01-17T10:00:00+00:00");
        assert_eq!(r.disks.as_ref().unwrap()[0].pct(), Some(27.0));
        assert_eq!(r.gpus.as_ref().unwrap()[0].mem_pct(), Some(25.0));
        assert_eq!(r.units.as_ref().unwrap()[0].active_state, "active");
        assert!(r.has_values());
        let unknown: HostReport = serde_json::from_str(r#"{"host": "a", "foo": 1}"#).unwrap();
        assert!(!unknown.has_values());
    }
}
