//! A pass's [`HostReport`] as the server's report format (`POST /api/v1/hosts/reports`,
//! `heartbeats_wire::hosts::HostReport`): what `watch`, `push` and `run` send.

use heartbeats_wire::hosts as wire;

use crate::collect::Process;
use crate::report::HostReport;

/// The snapshot of `host` for the server. `interval` and `timeout` (seconds) go with it so
/// the server's online rule (2 × interval + timeout) matches how often this agent collects.
pub fn to_wire(host: &HostReport, interval: u32, timeout: u32) -> wire::HostReport {
    let mut out = wire::HostReport {
        name: Some(host.name.clone().unwrap_or_else(|| host.label.clone())),
        at: Some(host.at),
        interval: Some(interval),
        timeout: Some(timeout),
        error: host.error.clone(),
        ..wire::HostReport::default()
    };
    if host.error.is_some() {
        return out;
    }
    if let Some(cpu) = &host.cpu {
        out.cpu_pct = Some(cpu.percent);
        out.load1 = Some(cpu.load1);
        out.load5 = Some(cpu.load5);
        out.load15 = Some(cpu.load15);
        out.cores = Some(cpu.cores);
    }
    if let Some(mem) = &host.memory {
        out.mem_used_bytes = Some(mem.used_bytes);
        out.mem_total_bytes = Some(mem.total_bytes);
    }
    if let Some(swap) = &host.swap {
        out.swap_used_bytes = Some(swap.used_bytes);
        out.swap_total_bytes = Some(swap.total_bytes);
    }
    out.disks = Some(
        host.disks
            .iter()
            .map(|d| wire::DiskReport {
                mount: d.mount.clone(),
                used_bytes: Some(d.used_bytes),
                total_bytes: Some(d.total_bytes),
                used_pct: Some(d.percent),
            })
            .collect(),
    );
    if host.gpu_error.is_none() {
        out.gpus = Some(
            host.gpus
                .iter()
                .map(|g| wire::GpuReport {
                    index: g.index,
                    name: Some(g.name.clone()),
                    util_pct: g.utilisation_percent,
                    mem_used_mb: g.memory_used_mib,
                    mem_total_mb: g.memory_total_mib,
                    temp_c: g.temperature_c,
                    power_w: None,
                })
                .collect(),
        );
    }
    out.processes = Some(wire::ProcessesReport {
        top_cpu: host.processes.top_cpu.iter().map(process).collect(),
        top_mem: host.processes.top_mem.iter().map(process).collect(),
        required: host
            .processes
            .required
            .iter()
            .map(|r| wire::RequiredReport {
                pattern: r.pattern.clone(),
                count: r.count,
            })
            .collect(),
    });
    out
}

fn process(p: &Process) -> wire::ProcessReport {
    wire::ProcessReport {
        pid: p.pid,
        user: None,
        cpu_pct: p.cpu_percent,
        mem_pct: p.mem_percent,
        rss_bytes: p.rss_bytes,
        command: p.command.clone(),
    }
}
