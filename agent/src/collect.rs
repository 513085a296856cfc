//! What a host reports: the collection script (`collect.sh`) and the parser for its
//! sectioned output. Parsing is separate from running so it can be tested on captured
//! outputs of real hosts.

mod parse;

pub use parse::{Request, parse, parse_request};

use std::time::Duration;

use serde::Serialize;

use crate::config::{CollectSettings, Host};
use crate::ssh::{self, RunError};

/// Runs on every host with `sh`; see the file for its output format.
pub const SCRIPT: &str = include_str!("collect.sh");

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cpu {
    /// Busy share of all cores over the sampling interval, 0..=100.
    pub percent: f64,
    pub load1: f64,
    pub load5: f64,
    pub load15: f64,
    pub cores: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Memory {
    pub total_bytes: u64,
    /// total − MemAvailable: what programs hold, page cache excluded.
    pub used_bytes: u64,
    pub available_bytes: u64,
    pub percent: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Swap {
    pub total_bytes: u64,
    pub used_bytes: u64,
    /// 0 when the host has no swap.
    pub percent: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Disk {
    pub mount: String,
    pub filesystem: String,
    /// `None` on hosts whose df cannot print types (old busybox).
    pub fstype: Option<String>,
    pub total_bytes: u64,
    pub used_bytes: u64,
    pub available_bytes: u64,
    /// used / (used + available), as df computes it (root-reserved blocks excluded).
    pub percent: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gpu {
    pub index: u32,
    pub name: String,
    /// `None` where nvidia-smi says `[N/A]` or `[Not Supported]`.
    pub utilisation_percent: Option<f64>,
    pub memory_used_mib: Option<u64>,
    pub memory_total_mib: Option<u64>,
    pub memory_percent: Option<f64>,
    pub temperature_c: Option<f64>,
    /// `power.draw`, watts.
    pub power_w: Option<f64>,
    /// nvidia-smi's `GPU-…` id, which `gpu_processes` refer to.
    pub uuid: Option<String>,
}

/// A process holding memory on a GPU (`nvidia-smi --query-compute-apps`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpuProcess {
    /// The index of the GPU whose uuid nvidia-smi gave; `None` if it matched none.
    pub gpu: Option<u32>,
    pub gpu_uuid: String,
    pub pid: u32,
    pub name: String,
    pub memory_used_mib: Option<u64>,
}

/// A systemd unit's state (`systemctl show`, or the discovery listing).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unit {
    /// As asked for (`nginx` and `nginx.service` both work), or as systemd lists it.
    pub name: String,
    /// systemd's ActiveState: `active`, `failed`, `inactive`, `activating`, ...; a unit
    /// systemd does not know is `inactive`, as systemd itself says.
    pub active_state: String,
    pub sub_state: Option<String>,
    /// `enabled`, `disabled`, `static`, ...; `None` where systemd gives none.
    pub unit_file_state: Option<String>,
    /// systemd's LoadState: `loaded`, or `not-found` for a unit it does not know.
    pub load_state: Option<String>,
}

impl Unit {
    /// systemd has no unit of that name.
    pub fn not_found(&self) -> bool {
        self.load_state.as_deref() == Some("not-found")
    }

    /// Running as it should: `active`, or `reloading` (still serving).
    pub fn is_active(&self) -> bool {
        matches!(self.active_state.as_str(), "active" | "reloading")
    }
}

/// What nvidia-smi said.
#[derive(Debug, Clone, PartialEq)]
pub enum Gpus {
    /// No nvidia-smi on the host: it has no NVIDIA GPUs, which is fine.
    Absent,
    Present(Vec<Gpu>),
    /// nvidia-smi is installed but failed (driver gone, GPU fallen off the bus, …).
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Process {
    pub pid: u32,
    /// `None` where ps cannot tell (busybox).
    pub cpu_percent: Option<f64>,
    pub mem_percent: Option<f64>,
    pub rss_bytes: Option<u64>,
    pub command: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub cpu: Cpu,
    pub memory: Memory,
    pub swap: Swap,
    /// `None`: df could not run (see `failures`).
    pub disks: Option<Vec<Disk>>,
    pub gpus: Gpus,
    /// `None` without GPUs, or when the query failed (see `failures`).
    pub gpu_processes: Option<Vec<GpuProcess>>,
    /// Every process on the host except the collection's own; `None`: ps could not run.
    pub processes: Option<Vec<Process>>,
    /// The units asked for, in that order; `None` when none were asked for or
    /// systemctl could not run.
    pub units: Option<Vec<Unit>>,
    /// Running or enabled service units, when discovery was asked for.
    pub discovered_units: Option<Vec<Unit>>,
    /// Checks that could not run or failed, as the rest of a problem line
    /// (`disk check failed: df timed out after 5 s`). nvidia-smi's failure is in `gpus`.
    pub failures: Vec<String>,
}

impl Sample {
    pub fn top_by_cpu(&self, n: usize) -> Vec<Process> {
        top(self.process_list(), n, |p| p.cpu_percent.unwrap_or(0.0))
    }

    pub fn top_by_memory(&self, n: usize) -> Vec<Process> {
        top(self.process_list(), n, |p| p.rss_bytes.unwrap_or(0) as f64)
    }

    pub fn process_list(&self) -> &[Process] {
        self.processes.as_deref().unwrap_or_default()
    }

    pub fn disk_list(&self) -> &[Disk] {
        self.disks.as_deref().unwrap_or_default()
    }
}

fn top(processes: &[Process], n: usize, key: impl Fn(&Process) -> f64) -> Vec<Process> {
    let mut sorted: Vec<&Process> = processes.iter().collect();
    sorted.sort_by(|a, b| key(b).total_cmp(&key(a)).then(a.pid.cmp(&b.pid)));
    sorted.into_iter().take(n).cloned().collect()
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CollectError {
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("collection output unreadable: {0}")]
    Parse(String),
}

/// Collects one host: one session, one run of the script, then parsing. The host's
/// `units` are read with `systemctl show`; `discover_units` adds the running and
/// enabled service units.
#[tracing::instrument(skip_all, fields(host = %host.label))]
pub async fn collect(host: &Host, settings: &CollectSettings) -> Result<Sample, CollectError> {
    let prepared = Prepared::new(host, settings);
    let out = ssh::run_script(host, SCRIPT, &prepared.args).await?;
    prepared.finish(&out, None)
}

/// One collection's request: the script's arguments, and what parsing its output needs.
pub struct Prepared {
    pub args: Vec<String>,
    step: Duration,
    units: Vec<String>,
    bad_units: Vec<String>,
}

impl Prepared {
    pub fn new(host: &Host, settings: &CollectSettings) -> Prepared {
        let step = step_limit(host.ssh.command_timeout, settings.sample_interval);
        let (units, bad_units) = unit_names(&host.units);
        let args = vec![
            format!("{:.3}", settings.sample_interval.as_secs_f64()),
            step.as_secs().to_string(),
            if units.is_empty() {
                "-".to_owned()
            } else {
                units.join(",")
            },
            if host.discover_units { "1" } else { "0" }.to_owned(),
        ];
        Prepared {
            args,
            step,
            units,
            bad_units,
        }
    }

    /// Parses the script's output; `runner_pid` is a process on the host that ran the
    /// script for us (a session's loop), left out of the process list like the
    /// collection's own.
    pub fn finish(
        self,
        out: &ssh::Output,
        runner_pid: Option<u32>,
    ) -> Result<Sample, CollectError> {
        if !out.stderr.trim().is_empty() {
            tracing::debug!(stderr = %out.stderr.trim(), "collection stderr");
        }
        let mut sample = parse_request(
            &out.stdout,
            &Request {
                step: self.step,
                units: &self.units,
            },
        )
        .map_err(CollectError::Parse)?;
        if let (Some(pid), Some(processes)) = (runner_pid, sample.processes.as_mut()) {
            processes.retain(|p| p.pid != pid);
        }
        let mut bad_units = self.bad_units;
        sample.failures.append(&mut bad_units);
        Ok(sample)
    }
}

/// The unit names that can go to the host as they are (systemd's own character set,
/// minus `\` escapes), and a failure for each one that cannot.
pub fn unit_names(units: &[String]) -> (Vec<String>, Vec<String>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for unit in units {
        let plain = !unit.is_empty()
            && unit.len() <= 256
            && !unit.starts_with('-')
            && unit
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '.' | '@' | '-'));
        if plain {
            ok.push(unit.clone());
        } else {
            bad.push(format!(
                "units check could not run for {unit:?}: not a systemd unit name"
            ));
        }
    }
    (ok, bad)
}

/// How long each outside tool (df, nvidia-smi, ps, systemctl) may take: a share of
/// what the command timeout leaves after sampling, minus the second SIGKILL may need,
/// so a hung one still lets the rest of the report through.
fn step_limit(command_timeout: Duration, sample: Duration) -> Duration {
    let left = command_timeout.saturating_sub(sample).as_secs();
    Duration::from_secs((left / 4).saturating_sub(1).max(1))
}

#[cfg(test)]
mod tests;
