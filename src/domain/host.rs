//! Hosts: their statuses, checks (thresholds with `for` windows, required processes,
//! watched units) and the defaults new hosts start with. The rules that turn snapshots
//! and the passing of time into statuses are in [`super::host_status`].
use sea_orm::DeriveValueType;
use serde::{Deserialize, Serialize};

use super::closed_set;

/// A host's status. `new` until its first report; `paused` never alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, DeriveValueType)]
#[serde(rename_all = "lowercase")]
#[sea_orm(value_type = "String")]
pub enum HostStatus {
    New,
    Up,
    /// A threshold breach outlasted its window, a watched unit failed, or a required
    /// process is missing.
    Degraded,
    /// No successful report within the online window, or the last report was an error.
    Down,
    Paused,
}

closed_set!(HostStatus, "host status", {
    New => "new",
    Up => "up",
    Degraded => "degraded",
    Down => "down",
    Paused => "paused",
});

/// Why a host's status changed. Every reason but `paused` and `resumed` alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, DeriveValueType)]
#[serde(rename_all = "lowercase")]
#[sea_orm(value_type = "String")]
pub enum HostReason {
    /// No successful report for 2 × interval + timeout.
    Offline,
    /// The collector reported an error (unreachable, auth refused, timeout).
    Unreachable,
    /// A check failed (a breach outlasted its window, a unit failed, a process is missing).
    Degraded,
    /// A report arrived for a down host.
    Recovered,
    /// Every failed check passes again.
    Cleared,
    Paused,
    Resumed,
}

closed_set!(HostReason, "host reason", {
    Offline => "offline",
    Unreachable => "unreachable",
    Degraded => "degraded",
    Recovered => "recovered",
    Cleared => "cleared",
    Paused => "paused",
    Resumed => "resumed",
});

impl HostReason {
    pub fn alerts(self) -> bool {
        !matches!(self, HostReason::Paused | HostReason::Resumed)
    }
}

/// What an entry of the events log says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, DeriveValueType)]
#[serde(rename_all = "snake_case")]
#[sea_orm(value_type = "String")]
pub enum EventKind {
    Down,
    Up,
    Degraded,
    Recovered,
    UnitFailed,
    UnitRecovered,
    ProcessMissing,
    ProcessBack,
    ThresholdBreached,
    ThresholdCleared,
    Paused,
    Resumed,
    /// A check the collector could not run (`df` timed out, no `ps`).
    CheckFailed,
    CheckRecovered,
}

closed_set!(EventKind, "event kind", {
    Down => "down",
    Up => "up",
    Degraded => "degraded",
    Recovered => "recovered",
    UnitFailed => "unit_failed",
    UnitRecovered => "unit_recovered",
    ProcessMissing => "process_missing",
    ProcessBack => "process_back",
    ThresholdBreached => "threshold_breached",
    ThresholdCleared => "threshold_cleared",
    Paused => "paused",
    Resumed => "resumed",
    CheckFailed => "check_failed",
    CheckRecovered => "check_recovered",
});

/// A limit (a value strictly above it breaches) and the window a breach must last before
/// it counts (0: at once).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    pub limit: f64,
    #[serde(rename = "for")]
    pub for_secs: i64,
}

impl Threshold {
    pub const fn new(limit: f64, for_secs: i64) -> Self {
        Self { limit, for_secs }
    }
}

/// The default windows: CPU, load and GPU values swing, so a breach must last 5 minutes;
/// a full disk or memory matters at once.
pub const WINDOW_CPU: i64 = 300;
pub const WINDOW_LOAD: i64 = 300;
pub const WINDOW_GPU: i64 = 300;
pub const WINDOW_DISK: i64 = 0;
pub const WINDOW_MEMORY: i64 = 0;

/// The expected report interval of a new host, seconds.
pub const DEFAULT_INTERVAL_SECS: i64 = 60;
/// The collector's timeout when a report does not say, seconds.
pub const DEFAULT_TIMEOUT_SECS: i64 = 5;

/// How a required process is matched against command lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequiredProcess {
    pub pattern: String,
    #[serde(default)]
    pub regex: bool,
    pub min: u32,
}

/// A host's checks, stored as JSON in `hosts.checks`. `None`: not checked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checks {
    #[serde(default)]
    pub cpu_pct: Option<Threshold>,
    #[serde(default)]
    pub mem_pct: Option<Threshold>,
    #[serde(default)]
    pub swap_pct: Option<Threshold>,
    /// Every mount not named in `disk_mounts`.
    #[serde(default)]
    pub disk_pct: Option<Threshold>,
    #[serde(default)]
    pub disk_mounts: Vec<(String, Threshold)>,
    #[serde(default)]
    pub gpu_util_pct: Option<Threshold>,
    #[serde(default)]
    pub gpu_mem_pct: Option<Threshold>,
    #[serde(default)]
    pub gpu_temp_c: Option<Threshold>,
    /// The 5-minute load per core.
    #[serde(default)]
    pub load_per_core: Option<Threshold>,
    #[serde(default)]
    pub processes: Vec<RequiredProcess>,
    #[serde(default)]
    pub units: Vec<String>,
}

impl Checks {
    /// What a new host checks unless the editable defaults say otherwise: CPU over 90 %
    /// for 5 min, memory and every disk over 90 % at once, a GPU over 85 °C for 5 min,
    /// load over 2 per core for 5 min. GPU utilisation is not checked: a busy GPU is a
    /// GPU server doing its job.
    pub fn builtin() -> Self {
        Self {
            cpu_pct: Some(Threshold::new(90.0, WINDOW_CPU)),
            mem_pct: Some(Threshold::new(90.0, WINDOW_MEMORY)),
            swap_pct: None,
            disk_pct: Some(Threshold::new(90.0, WINDOW_DISK)),
            disk_mounts: Vec::new(),
            gpu_util_pct: None,
            gpu_mem_pct: None,
            gpu_temp_c: Some(Threshold::new(85.0, WINDOW_GPU)),
            load_per_core: Some(Threshold::new(2.0, WINDOW_LOAD)),
            processes: Vec::new(),
            units: Vec::new(),
        }
    }

    /// The threshold that applies to a mount.
    pub fn disk_for(&self, mount: &str) -> Option<Threshold> {
        self.disk_mounts
            .iter()
            .find(|(m, _)| m == mount)
            .map(|(_, t)| *t)
            .or(self.disk_pct)
    }
}

/// The default window of a threshold kind, for a threshold given without `for`.
pub fn default_window(kind: ThresholdKind) -> i64 {
    match kind {
        ThresholdKind::Cpu => WINDOW_CPU,
        ThresholdKind::Load => WINDOW_LOAD,
        ThresholdKind::GpuUtil | ThresholdKind::GpuMem | ThresholdKind::GpuTemp => WINDOW_GPU,
        ThresholdKind::Disk => WINDOW_DISK,
        ThresholdKind::Mem | ThresholdKind::Swap => WINDOW_MEMORY,
    }
}

/// The kinds of threshold, with their valid limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThresholdKind {
    Cpu,
    Mem,
    Swap,
    Disk,
    GpuUtil,
    GpuMem,
    GpuTemp,
    Load,
}

impl ThresholdKind {
    /// The largest sensible limit: percentages to 100, temperatures to 150 °C, load per
    /// core to 1000.
    pub fn max_limit(self) -> i64 {
        match self {
            ThresholdKind::GpuTemp => 150,
            ThresholdKind::Load => 1000,
            _ => 100,
        }
    }
}

/// The host defaults stored in `host_defaults`: what a new host (and an adopted one)
/// starts with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostDefaults {
    pub interval_secs: i64,
    pub checks: Checks,
}

impl Default for HostDefaults {
    fn default() -> Self {
        Self {
            interval_secs: DEFAULT_INTERVAL_SECS,
            checks: Checks::builtin(),
        }
    }
}

/// A host's short public id, generated like a service's.
pub fn generate_host_id() -> String {
    super::ServiceId::generate().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_sets_round_trip() {
        for s in HostStatus::ALL {
            assert_eq!(s.as_str().parse::<HostStatus>(), Ok(*s));
        }
        for k in EventKind::ALL {
            assert_eq!(k.as_str().parse::<EventKind>(), Ok(*k));
        }
        assert!("late".parse::<HostStatus>().is_err());
        assert!(!HostReason::Paused.alerts());
        assert!(HostReason::Offline.alerts());
    }

    #[test]
    fn default_windows() {
        let c = Checks::builtin();
        assert_eq!(c.cpu_pct.map(|t| t.for_secs), Some(300));
        assert_eq!(c.disk_pct.map(|t| t.for_secs), Some(0));
        assert_eq!(c.mem_pct.map(|t| t.for_secs), Some(0));
        assert_eq!(default_window(ThresholdKind::GpuUtil), 300);
        assert_eq!(default_window(ThresholdKind::Load), 300);
        let mut c = c;
        c.disk_mounts
            .push(("/data".into(), Threshold::new(95.0, 0)));
        assert_eq!(c.disk_for("/data").map(|t| t.limit), Some(95.0));
        assert_eq!(c.disk_for("/").map(|t| t.limit), Some(90.0));
    }
}
