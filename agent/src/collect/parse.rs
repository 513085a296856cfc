//! The script's output → a [`Sample`]. Tolerant by design: a section a host could not
//! produce (no df, busybox ps) leaves its part empty instead of failing the host.

use std::collections::HashMap;
use std::time::Duration;

use super::{Cpu, Disk, Gpu, Gpus, Memory, Process, Sample, Swap};
use crate::ssh;

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

pub(super) fn parse_gpus(status: &str, lines: &[&str], step: Duration) -> Gpus {
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
