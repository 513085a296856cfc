//! The script's output → a [`Sample`]. Tolerant by design: a section a host could not
//! produce (no df, busybox ps) leaves its part empty instead of failing the host.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use heartbeats_wire::hosts::MAX_ITEMS;

use super::{Cpu, Disk, Gpu, GpuProcess, Gpus, Memory, Process, Sample, Swap, Unit};
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

/// What the agent asked the script for, to read its answer.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The limit each outside tool ran under, for messages.
    pub step: Duration,
    /// The units passed to `systemctl show`, in order.
    pub units: &'a [String],
}

/// Parses the script's output. `step` is the limit each outside tool ran under.
pub fn parse(output: &str, step: Duration) -> Result<Sample, String> {
    parse_request(output, &Request { step, units: &[] })
}

pub fn parse_request(output: &str, request: &Request) -> Result<Sample, String> {
    let step = request.step;
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
    let mut failures = Vec::new();
    let disks = match sections.get("df") {
        Some((arg, lines)) => {
            let (kind, status) = split_status(arg);
            let (disks, failure) = parse_df(lines, kind == "kib", status, step);
            failures.extend(failure);
            disks
        }
        None => None,
    };
    let gpus = match sections.get("gpu") {
        Some((status, lines)) => parse_gpus(status, lines, step),
        None => Gpus::Absent,
    };
    let gpu_processes = match (&gpus, sections.get("gpuapps")) {
        (Gpus::Present(gpus), Some((status, lines))) => {
            match tool_failure("nvidia-smi", status, lines, step) {
                Some(why) => {
                    failures.push(format!("gpu process check failed: {why}"));
                    None
                }
                None => Some(parse_gpu_processes(lines, gpus)),
            }
        }
        _ => None,
    };
    let processes = match sections.get("ps") {
        Some((arg, lines)) => {
            let (kind, status) = split_status(arg);
            match check_failure("process", "ps", status, lines, step) {
                Some(why) => {
                    failures.push(why);
                    None
                }
                None => Some(parse_ps(lines, kind == "basic", self_pid)),
            }
        }
        None => None,
    };
    let units = match sections.get("units") {
        Some((status, lines)) => match check_failure("units", "systemctl", status, lines, step) {
            Some(why) => {
                failures.push(why);
                None
            }
            None => Some(parse_units(lines, request.units)),
        },
        None => None,
    };
    let discovered_units = match sections.get("loaded") {
        // No systemd on the host: nothing to offer, and nothing wrong.
        Some((status, _)) if matches!(status.as_str(), "absent" | "127") => Some(Vec::new()),
        Some((status, lines)) if status != "0" && no_systemd(lines) => Some(Vec::new()),
        Some((status, lines)) => match tool_failure("systemctl", status, lines, step) {
            Some(why) => {
                failures.push(format!("unit discovery failed: {why}"));
                None
            }
            None => {
                let enabled = sections.get("enabled");
                match enabled.and_then(|(st, l)| tool_failure("systemctl", st, l, step)) {
                    Some(why) => {
                        failures.push(format!("unit discovery failed: {why}"));
                        None
                    }
                    None => Some(parse_discovered(
                        lines,
                        enabled.map(|(_, l)| l.as_slice()).unwrap_or_default(),
                    )),
                }
            }
        },
        None => None,
    };
    Ok(Sample {
        cpu,
        memory,
        swap,
        disks,
        gpus,
        gpu_processes,
        processes,
        units,
        discovered_units,
        failures,
    })
}

/// `"bytes 0"` → `("bytes", "0")`; `"absent"` → `("absent", "absent")`.
fn split_status(arg: &str) -> (&str, &str) {
    match arg.rsplit_once(' ') {
        Some((kind, status)) => (kind, status),
        None => (arg, arg),
    }
}

/// The first line of a tool's complaint, clipped.
fn first_message<'a>(lines: &[&'a str]) -> &'a str {
    lines
        .iter()
        .map(|l| l.trim())
        .find(|l| !l.is_empty())
        .map_or("no message", |l| clip(l, 300))
}

/// Why a tool's section carries no usable output, or `None` when it ran fine.
fn tool_failure(tool: &str, status: &str, lines: &[&str], step: Duration) -> Option<String> {
    match status {
        "0" => None,
        "absent" | "127" => Some(format!("{tool} not found")),
        "124" => Some(format!("{tool} timed out after {}", ssh::human(step))),
        code => Some(format!(
            "{tool} failed: {} (exit {code})",
            first_message(lines)
        )),
    }
}

/// A check's failure line: `<check> check could not run: <tool> not found` when the
/// tool is missing, `<check> check failed: <why>` when it failed or timed out.
fn check_failure(
    check: &str,
    tool: &str,
    status: &str,
    lines: &[&str],
    step: Duration,
) -> Option<String> {
    let why = tool_failure(tool, status, lines, step)?;
    Some(match status {
        "absent" | "127" => format!("{check} check could not run: {why}"),
        _ => format!("{check} check failed: {why}"),
    })
}

/// systemctl on a machine not booted with systemd (a container, an OpenRC or SysV host).
fn no_systemd(lines: &[&str]) -> bool {
    lines.iter().any(|l| {
        l.contains("has not been booted with systemd") || l.contains("Failed to connect to bus")
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

/// df's rows, and a failure when df timed out, failed outright, or complained about a
/// mount (a stale NFS handle) while listing the rest. Mounts this user may not read
/// (`Permission denied`: another user's FUSE mount) are not disks it watches.
fn parse_df(
    lines: &[&str],
    kib: bool,
    status: &str,
    step: Duration,
) -> (Option<Vec<Disk>>, Option<String>) {
    if matches!(status, "absent" | "127" | "124") {
        return (None, check_failure("disk", "df", status, lines, step));
    }
    let scale = if kib { 1024 } else { 1 };
    let mut disks: Vec<Disk> = Vec::new();
    let mut complaints: Vec<&str> = Vec::new();
    let mut header = false;
    for line in lines {
        if line.starts_with("Filesystem") {
            header = true;
            continue;
        }
        let parsed = if kib {
            split_fields(line, 5).map(|(f, m)| (f[0], None, f[1], f[2], f[3], m))
        } else {
            split_fields(line, 6).map(|(f, m)| (f[0], Some(f[1]), f[2], f[3], f[4], m))
        };
        let numbers = parsed.and_then(|(fs, fstype, size, used, avail, mount)| {
            Some((
                fs,
                fstype,
                size.parse::<u64>().ok()?,
                used.parse::<u64>().ok()?,
                avail.parse::<u64>().ok()?,
                mount,
            ))
        });
        let Some((fs, fstype, total, used, avail, mount)) = numbers else {
            let text = line.trim();
            let benign =
                text.ends_with("Permission denied") || text.ends_with("Operation not permitted");
            if !text.is_empty() && !benign {
                complaints.push(text);
            }
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
    let failed = status != "0";
    if failed && !header {
        let why = format!(
            "disk check failed: df failed: {} (exit {status})",
            first_message(&complaints)
        );
        return (None, Some(why));
    }
    let failure = (failed && !complaints.is_empty()).then(|| {
        let shown: Vec<&str> = complaints.iter().take(3).map(|c| clip(c, 200)).collect();
        let more = match complaints.len() {
            n if n > 3 => format!(" (and {} more)", n - 3),
            _ => String::new(),
        };
        format!("disk check failed: df failed: {}{more}", shown.join("; "))
    });
    (Some(disks), failure)
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
    // index, uuid, utilization.gpu, memory.used, memory.total, temperature.gpu,
    // power.draw, name (last: a name may hold commas).
    let mut gpus = Vec::new();
    for line in text {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let index = fields.first().and_then(|f| f.parse::<u32>().ok());
        let (Some(index), true) = (index, fields.len() >= 8) else {
            return Gpus::Failed(format!("unexpected output: {}", clip(line, 300)));
        };
        let num = |f: &str| f.parse::<f64>().ok();
        let used = fields[3].parse::<u64>().ok();
        let total = fields[4].parse::<u64>().ok();
        gpus.push(Gpu {
            index,
            name: fields[7..].join(", "),
            utilisation_percent: num(fields[2]),
            memory_used_mib: used,
            memory_total_mib: total,
            memory_percent: match (used, total) {
                (Some(u), Some(t)) if t > 0 => Some(percent(u, t)),
                _ => None,
            },
            temperature_c: num(fields[5]),
            power_w: num(fields[6]),
            uuid: Some(fields[1].to_owned()).filter(|u| u.starts_with("GPU-")),
        });
    }
    Gpus::Present(gpus)
}

/// `gpu_uuid, pid, used_memory, process_name` lines (name last: it may hold commas).
fn parse_gpu_processes(lines: &[&str], gpus: &[Gpu]) -> Vec<GpuProcess> {
    lines
        .iter()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if fields.len() < 4 {
                return None;
            }
            let pid = fields[1].parse::<u32>().ok()?;
            let uuid = fields[0];
            Some(GpuProcess {
                gpu: gpus
                    .iter()
                    .find(|g| g.uuid.as_deref() == Some(uuid))
                    .map(|g| g.index),
                gpu_uuid: uuid.to_owned(),
                pid,
                name: fields[3..].join(", "),
                memory_used_mib: fields[2].parse::<u64>().ok(),
            })
        })
        .take(MAX_ITEMS)
        .collect()
}

/// `systemctl show` answers one block of `Key=Value` lines per unit, blank-line
/// separated, in the order asked; each block is named as it was asked for.
fn parse_units(lines: &[&str], asked: &[String]) -> Vec<Unit> {
    let mut blocks: Vec<HashMap<&str, &str>> = Vec::new();
    let mut current: HashMap<&str, &str> = HashMap::new();
    for line in lines {
        match line.split_once('=') {
            Some((key, value)) => {
                current.insert(key.trim(), value.trim());
            }
            None if line.trim().is_empty() && !current.is_empty() => {
                blocks.push(std::mem::take(&mut current));
            }
            None => {}
        }
    }
    if !current.is_empty() {
        blocks.push(current);
    }
    let some = |v: Option<&&str>| v.filter(|v| !v.is_empty()).map(|v| (*v).to_owned());
    blocks
        .iter()
        .enumerate()
        .map(|(i, b)| Unit {
            name: asked
                .get(i)
                .cloned()
                .or_else(|| some(b.get("Id")))
                .unwrap_or_default(),
            active_state: some(b.get("ActiveState")).unwrap_or_else(|| "unknown".into()),
            sub_state: some(b.get("SubState")),
            unit_file_state: some(b.get("UnitFileState")),
            load_state: some(b.get("LoadState")),
        })
        .collect()
}

/// `list-units --all --plain` lines (`UNIT LOAD ACTIVE SUB DESCRIPTION`) and
/// `list-unit-files --state=enabled` lines (`UNIT STATE [PRESET]`) → the units that are
/// running or enabled, by name, at most [`MAX_ITEMS`]. An enabled unit that is not
/// loaded is not running: `inactive`.
fn parse_discovered(loaded: &[&str], enabled: &[&str]) -> Vec<Unit> {
    // Failed units may come with a `●` (or `*`) before the name.
    let row = |line: &str| -> Option<[String; 4]> {
        let f: Vec<&str> = line
            .split_whitespace()
            .skip_while(|t| matches!(*t, "\u{25cf}" | "*"))
            .take(4)
            .collect();
        match f[..] {
            [name, load, active, sub] => Some([name, load, active, sub].map(str::to_owned)),
            _ => None,
        }
    };
    let rows: Vec<[String; 4]> = loaded.iter().filter_map(|l| row(l)).collect();
    let mut units: BTreeMap<String, Unit> = BTreeMap::new();
    for [name, load, active, sub] in &rows {
        if sub == "running" {
            units.insert(
                name.clone(),
                Unit {
                    name: name.clone(),
                    active_state: active.clone(),
                    sub_state: Some(sub.clone()),
                    unit_file_state: None,
                    load_state: Some(load.clone()),
                },
            );
        }
    }
    let states: HashMap<&str, (&str, &str, &str)> = rows
        .iter()
        .map(|[name, load, active, sub]| {
            (
                name.as_str(),
                (load.as_str(), active.as_str(), sub.as_str()),
            )
        })
        .collect();
    for line in enabled {
        let mut f = line.split_whitespace();
        let (Some(name), Some(state)) = (f.next(), f.next()) else {
            continue;
        };
        // Templates (`getty@.service`) are enabled through their instances.
        if name.contains("@.") {
            continue;
        }
        let unit = units.entry(name.to_owned()).or_insert_with(|| {
            let (load, active, sub) = states
                .get(name)
                .copied()
                .unwrap_or(("loaded", "inactive", "dead"));
            Unit {
                name: name.to_owned(),
                active_state: active.to_owned(),
                sub_state: Some(sub.to_owned()),
                unit_file_state: None,
                load_state: Some(load.to_owned()),
            }
        });
        unit.unit_file_state = Some(state.to_owned());
    }
    if units.len() > MAX_ITEMS {
        tracing::info!(
            found = units.len(),
            "more running or enabled units than a report carries; the first {MAX_ITEMS} by name are sent"
        );
    }
    units.into_values().take(MAX_ITEMS).collect()
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
        // sh → subshell → timeout → ps.
        for _ in 0..6 {
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
