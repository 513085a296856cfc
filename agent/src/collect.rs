//! What a host reports: the collection script (`collect.sh`) and the parser for its
//! sectioned output. Parsing is separate from running so it can be tested on captured
//! outputs of real hosts.

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;

use crate::config::{CollectSettings, Host};
use crate::ssh::{self, RunError};

/// Runs on every host with `sh`; see the file for its output format.
pub const SCRIPT: &str = include_str!("collect.sh");

/// Filesystems that are not disks anyone fills: memory-backed, virtual, or read-only
/// images that are always 100% (squashfs snaps, ISO images).
const SKIPPED_FS: &[&str] = &[
    "tmpfs",
    "devtmpfs",
    "overlay",
    "squashfs",
    "proc",
    "sysfs",
    "devpts",
    "cgroup",
    "cgroup2",
    "ramfs",
    "efivarfs",
    "fuse.lxcfs",
    "nsfs",
    "tracefs",
    "debugfs",
    "securityfs",
    "pstore",
    "bpf",
    "autofs",
    "mqueue",
    "hugetlbfs",
    "configfs",
    "fusectl",
    "binfmt_misc",
    "iso9660",
    "udf",
    "none",
    "shm",
    "rpc_pipefs",
    "fuse.gvfsd-fuse",
    "fuse.portal",
    "selinuxfs",
    "zram",
];

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

/// Parses the script's output. `step` is the df/nvidia-smi limit, for messages.
pub fn parse(output: &str, step: Duration) -> Result<Sample, String> {
    let sections = sections(output);
    if !sections.contains_key("end") {
        return Err("incomplete (no end marker); the script was cut short".into());
    }
    let get = |name: &str| sections.get(name).map(|(_, lines)| lines.as_slice());
    let self_pid = sections
        .get("self")
        .and_then(|(arg, _)| arg.parse::<u32>().ok());
    let cores = get("cores")
        .and_then(|l| l.first())
        .and_then(|l| l.trim().parse::<u32>().ok())
        .filter(|&c| c > 0)
        .unwrap_or(1);
    let cpu = parse_cpu(
        get("stat").unwrap_or_default(),
        get("loadavg").unwrap_or_default(),
        cores,
    )?;
    let (memory, swap) = parse_meminfo(get("meminfo").unwrap_or_default())?;
    let disks = match sections.get("df") {
        Some((unit, lines)) => parse_df(lines, unit == "kib"),
        None => Vec::new(),
    };
    let gpus = match sections.get("gpu") {
        Some((status, lines)) => parse_gpus(status, lines, step),
        None => Gpus::Absent,
    };
    let processes = match sections.get("ps") {
        Some((kind, lines)) => parse_ps(lines, kind == "basic", self_pid),
        None => Vec::new(),
    };
    Ok(Sample {
        cpu,
        memory,
        swap,
        disks,
        gpus,
        processes,
    })
}

/// Splits "@@hb name arg" sections; anything before the first marker (a chatty
/// login shell's motd) is ignored.
fn sections(output: &str) -> HashMap<&str, (String, Vec<&str>)> {
    let mut map: HashMap<&str, (String, Vec<&str>)> = HashMap::new();
    let mut current: Option<&str> = None;
    for line in output.lines() {
        if let Some(rest) = line.strip_prefix("@@hb ") {
            let mut parts = rest.trim().splitn(2, ' ');
            let name = parts.next().unwrap_or_default();
            let arg = parts.next().unwrap_or_default().trim().to_owned();
            map.insert(name, (arg, Vec::new()));
            current = Some(name);
        } else if let Some((_, lines)) = current.and_then(|name| map.get_mut(name)) {
            lines.push(line);
        }
    }
    map
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        round1(part as f64 * 100.0 / whole as f64)
    }
}

fn parse_cpu(stat: &[&str], loadavg: &[&str], cores: u32) -> Result<Cpu, String> {
    let reading = |line: &str| -> Option<(u64, u64)> {
        let fields: Vec<u64> = line
            .strip_prefix("cpu ")?
            .split_whitespace()
            .map(|f| f.parse().ok())
            .collect::<Option<_>>()?;
        // user nice system idle iowait irq softirq steal; guest time is already in user.
        let total: u64 = fields.iter().take(8).sum();
        let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
        Some((total, idle))
    };
    let (Some((t1, i1)), Some((t2, i2))) = (
        stat.first().and_then(|l| reading(l)),
        stat.get(1).and_then(|l| reading(l)),
    ) else {
        return Err("no /proc/stat readings (is this a Linux host?)".into());
    };
    let total = t2.saturating_sub(t1);
    let busy = total.saturating_sub(i2.saturating_sub(i1));
    let load: Vec<f64> = loadavg
        .first()
        .map(|l| {
            l.split_whitespace()
                .take(3)
                .filter_map(|f| f.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    Ok(Cpu {
        percent: percent(busy, total),
        load1: load.first().copied().unwrap_or(0.0),
        load5: load.get(1).copied().unwrap_or(0.0),
        load15: load.get(2).copied().unwrap_or(0.0),
        cores,
    })
}

fn parse_meminfo(lines: &[&str]) -> Result<(Memory, Swap), String> {
    let kib: HashMap<&str, u64> = lines
        .iter()
        .filter_map(|l| {
            let (key, rest) = l.split_once(':')?;
            let value = rest.split_whitespace().next()?.parse().ok()?;
            Some((key, value))
        })
        .collect();
    let field = |k: &str| kib.get(k).map(|v| v * 1024);
    let total = field("MemTotal").ok_or("no MemTotal in /proc/meminfo")?;
    // Kernels before 3.14 have no MemAvailable; free + buffers + cache is the old estimate.
    let available = field("MemAvailable").unwrap_or_else(|| {
        field("MemFree").unwrap_or(0) + field("Buffers").unwrap_or(0) + field("Cached").unwrap_or(0)
    });
    let used = total.saturating_sub(available);
    let swap_total = field("SwapTotal").unwrap_or(0);
    let swap_used = swap_total.saturating_sub(field("SwapFree").unwrap_or(0));
    Ok((
        Memory {
            total_bytes: total,
            used_bytes: used,
            available_bytes: available,
            percent: percent(used, total),
        },
        Swap {
            total_bytes: swap_total,
            used_bytes: swap_used,
            percent: percent(swap_used, swap_total),
        },
    ))
}

/// The first `n` whitespace-separated fields and the rest of the line (which may hold
/// spaces: mount points, command lines).
fn split_fields(line: &str, n: usize) -> Option<(Vec<&str>, &str)> {
    let mut rest = line.trim_start();
    let mut fields = Vec::with_capacity(n);
    for _ in 0..n {
        let end = rest.find(char::is_whitespace)?;
        fields.push(&rest[..end]);
        rest = rest[end..].trim_start();
    }
    Some((fields, rest))
}

fn parse_df(lines: &[&str], kib: bool) -> Vec<Disk> {
    let scale = if kib { 1024 } else { 1 };
    let mut disks: Vec<Disk> = Vec::new();
    for line in lines.iter().filter(|l| !l.starts_with("Filesystem")) {
        let parsed = if kib {
            split_fields(line, 5).map(|(f, m)| (f[0], None, f[1], f[2], f[3], m))
        } else {
            split_fields(line, 6).map(|(f, m)| (f[0], Some(f[1]), f[2], f[3], f[4], m))
        };
        let Some((fs, fstype, size, used, avail, mount)) = parsed else {
            continue;
        };
        let (Ok(total), Ok(used), Ok(avail)) = (
            size.parse::<u64>(),
            used.parse::<u64>(),
            avail.parse::<u64>(),
        ) else {
            continue;
        };
        let kind = fstype.unwrap_or(fs);
        // A host that is itself a container has an overlay root: that is its disk.
        let skipped = SKIPPED_FS.contains(&kind) && !(kind == "overlay" && mount == "/");
        if skipped || total == 0 || mount.is_empty() {
            continue;
        }
        let disk = Disk {
            mount: mount.to_owned(),
            filesystem: fs.to_owned(),
            fstype: fstype.map(str::to_owned),
            total_bytes: total * scale,
            used_bytes: used * scale,
            available_bytes: avail * scale,
            percent: percent(used, used + avail),
        };
        // Bind mounts of one device (containers' /etc/hosts) repeat its numbers; one
        // line per device, under its shortest mount point.
        match disks
            .iter_mut()
            .find(|d| d.filesystem == disk.filesystem && fs.starts_with('/'))
        {
            Some(seen) if disk.mount.len() < seen.mount.len() => *seen = disk,
            Some(_) => {}
            None => disks.push(disk),
        }
    }
    disks
}

fn parse_gpus(status: &str, lines: &[&str], step: Duration) -> Gpus {
    let text: Vec<&str> = lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    match status {
        "absent" => return Gpus::Absent,
        "0" => {}
        "124" if text.is_empty() => {
            return Gpus::Failed(format!("timed out after {}", ssh::human(step)));
        }
        code => {
            let message = text.first().copied().unwrap_or("no message");
            return Gpus::Failed(format!("{} (exit {code})", clip(message, 300)));
        }
    }
    let mut gpus = Vec::new();
    for line in text {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let n = fields.len();
        let index = fields.first().and_then(|f| f.parse::<u32>().ok());
        let (Some(index), true) = (index, n >= 6) else {
            return Gpus::Failed(format!("unexpected output: {}", clip(line, 300)));
        };
        let num = |f: &str| f.parse::<f64>().ok();
        let used = fields[n - 3].parse::<u64>().ok();
        let total = fields[n - 2].parse::<u64>().ok();
        gpus.push(Gpu {
            index,
            name: fields[1..n - 4].join(","),
            utilisation_percent: num(fields[n - 4]),
            memory_used_mib: used,
            memory_total_mib: total,
            memory_percent: match (used, total) {
                (Some(u), Some(t)) if t > 0 => Some(percent(u, t)),
                _ => None,
            },
            temperature_c: num(fields[n - 1]),
        });
    }
    Gpus::Present(gpus)
}

fn clip(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn parse_ps(lines: &[&str], basic: bool, self_pid: Option<u32>) -> Vec<Process> {
    let mut all = Vec::new();
    let mut parents = HashMap::new();
    for line in lines {
        let fields = if basic {
            split_fields(line, 2)
        } else {
            split_fields(line, 5)
        };
        let Some((f, command)) = fields else { continue };
        let (Ok(pid), Ok(ppid)) = (f[0].parse::<u32>(), f[1].parse::<u32>()) else {
            continue; // busybox's header line
        };
        parents.insert(pid, ppid);
        let field = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok());
        all.push(Process {
            pid,
            cpu_percent: field(2),
            mem_percent: field(3),
            rss_bytes: f
                .get(4)
                .and_then(|v| v.parse::<u64>().ok())
                .map(|kib| kib * 1024),
            command: command.to_owned(),
        });
    }
    // The collection's own shell and its children (ps, the command substitution
    // subshells) would otherwise match patterns found in the script itself.
    let ours = |mut pid: u32| {
        for _ in 0..4 {
            if Some(pid) == self_pid {
                return true;
            }
            match parents.get(&pid) {
                Some(&parent) => pid = parent,
                None => return false,
            }
        }
        false
    };
    all.into_iter().filter(|p| !ours(p.pid)).collect()
}

#[cfg(test)]
mod tests;
