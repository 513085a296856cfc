//! What a host reports: the collection script (`collect.sh`) and the parser for its
//! sectioned output. Parsing is separate from running so it can be tested on captured
//! outputs of real hosts.

mod parse;

pub use parse::parse;

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
    pub disks: Vec<Disk>,
    pub gpus: Gpus,
    /// Every process on the host except the collection's own.
    pub processes: Vec<Process>,
}

impl Sample {
    pub fn top_by_cpu(&self, n: usize) -> Vec<Process> {
        top(&self.processes, n, |p| p.cpu_percent.unwrap_or(0.0))
    }

    pub fn top_by_memory(&self, n: usize) -> Vec<Process> {
        top(&self.processes, n, |p| p.rss_bytes.unwrap_or(0) as f64)
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

/// Collects one host: one session, one run of the script, then parsing.
#[tracing::instrument(skip_all, fields(host = %host.label))]
pub async fn collect(host: &Host, settings: &CollectSettings) -> Result<Sample, CollectError> {
    let step = step_limit(host.ssh.command_timeout, settings.sample_interval);
    let args = [
        format!("{:.3}", settings.sample_interval.as_secs_f64()),
        step.as_secs().to_string(),
    ];
    let out = ssh::run_script(host, SCRIPT, &args).await?;
    if !out.stderr.trim().is_empty() {
        tracing::debug!(stderr = %out.stderr.trim(), "collection stderr");
    }
    parse(&out.stdout, step).map_err(CollectError::Parse)
}

/// How long df and nvidia-smi may each take: a share of what the command timeout
/// leaves after sampling, so a hung one still lets the rest of the report through.
fn step_limit(command_timeout: Duration, sample: Duration) -> Duration {
    let left = command_timeout.saturating_sub(sample).as_secs();
    Duration::from_secs((left / 3).max(1))
}

#[cfg(test)]
mod tests;
