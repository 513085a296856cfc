//! A pass's [`HostReport`] as the server's report format (`POST /api/v1/hosts/reports`,
//! `heartbeats_wire::hosts::HostReport`): what `watch`, `push` and `run` send.

use heartbeats_wire::hosts as wire;

use crate::collect::{Process, Unit};
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
    // A check that could not run says nothing (not "no disks", not "no processes"):
    // the server then keeps its own counts out of it, and shows `failures` instead.
    if host.disks_checked {
        out.disks = Some(
            host.disks
                .iter()
                .take(wire::MAX_ITEMS)
                .map(|d| wire::DiskReport {
                    mount: d.mount.clone(),
                    used_bytes: Some(d.used_bytes),
                    total_bytes: Some(d.total_bytes),
                    used_pct: Some(d.percent),
                })
                .collect(),
        );
    }
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
                    power_w: g.power_w,
                })
                .collect(),
        );
    }
    if host.gpu_processes_checked {
        out.gpu_processes = Some(
            host.gpu_processes
                .iter()
                .take(wire::MAX_ITEMS)
                .map(|p| wire::GpuProcessReport {
                    gpu: p.gpu,
                    pid: p.pid,
                    name: p.name.clone(),
                    mem_used_mb: p.memory_used_mib,
                })
                .collect(),
        );
    }
    if host.units_checked {
        out.units = Some(host.units.iter().take(wire::MAX_ITEMS).map(unit).collect());
    }
    out.discovered_units = host
        .discovered_units
        .as_ref()
        .map(|units| units.iter().take(wire::MAX_ITEMS).map(unit).collect());
    if !host.failures.is_empty() {
        out.failures = Some(host.failures.clone());
    }
    if !host.processes_checked {
        return out;
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

fn unit(u: &Unit) -> wire::UnitReport {
    wire::UnitReport {
        name: u.name.clone(),
        active_state: u.active_state.clone(),
        // A unit systemd does not know: `inactive`, with `not-found` (its LoadState) as
        // the sub-state, so the server can tell it from a stopped one.
        sub_state: if u.not_found() {
            u.load_state.clone()
        } else {
            u.sub_state.clone()
        },
        unit_file_state: u.unit_file_state.clone(),
    }
}

/// The most characters of a command line the server takes (longer refuses the report).
pub const MAX_COMMAND_CHARS: usize = 4096;

fn process(p: &Process) -> wire::ProcessReport {
    wire::ProcessReport {
        pid: p.pid,
        user: None,
        cpu_pct: p.cpu_percent,
        mem_pct: p.mem_percent,
        rss_bytes: p.rss_bytes,
        // A compiler's or a JVM's command line can be far longer.
        command: p.command.chars().take(MAX_COMMAND_CHARS).collect(),
    }
}

#[cfg(test)]
mod command_tests {
    use super::*;

    #[test]
    fn long_command_lines_are_cut_to_what_the_server_takes() {
        let p = Process {
            pid: 7,
            cpu_percent: Some(1.0),
            mem_percent: None,
            rss_bytes: None,
            command: "rustc ".to_owned() + &"--cfg feature=\"x\" ".repeat(1000),
        };
        let w = process(&p);
        assert_eq!(w.command.chars().count(), MAX_COMMAND_CHARS);
        assert!(p.command.starts_with(&w.command));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::collect::{Request, parse_request};
    use crate::config::Config;
    use crate::thresholds::evaluate;

    fn report(
        sample_text: &str,
        units: &[String],
        edit: impl FnOnce(&mut crate::collect::Sample),
    ) -> HostReport {
        let cfg = Config::from_yaml(
            "server: {url: 'http://hb.lan', service: x}\nhosts: [{address: 10.0.0.3, name: gpu-01}]\n",
            "t.yaml",
        )
        .unwrap();
        let host = &cfg.hosts[0];
        let mut sample = parse_request(
            sample_text,
            &Request {
                step: Duration::from_secs(5),
                units,
            },
        )
        .unwrap();
        edit(&mut sample);
        let eval = evaluate(host, &sample);
        HostReport::collected(host, sample, eval, 5, Duration::from_millis(10))
    }

    #[test]
    fn gpus_power_processes_and_units_reach_the_wire() {
        let h = report(include_str!("collect/samples/gpu-server.txt"), &[], |_| {});
        let w = to_wire(&h, 60, 10);
        assert_eq!(w.name.as_deref(), Some("gpu-01"));
        let gpus = w.gpus.unwrap();
        assert_eq!(gpus[0].power_w, Some(387.42));
        let apps = w.gpu_processes.unwrap();
        assert_eq!((apps[0].gpu, apps[0].pid), (Some(0), 401122));
        assert_eq!(w.units, None, "none asked for");
        assert_eq!(w.failures, None);
        assert!(w.processes.is_some() && w.disks.is_some());

        let asked = ["nginx".to_owned(), "redis".to_owned(), "nope".to_owned()];
        let h = report(
            include_str!("collect/samples/systemd-units.txt"),
            &asked,
            |_| {},
        );
        let w = to_wire(&h, 60, 10);
        let units = w.units.unwrap();
        assert_eq!(units[1].active_state, "failed");
        assert_eq!(
            (
                units[2].active_state.as_str(),
                units[2].sub_state.as_deref()
            ),
            ("inactive", Some("not-found"))
        );
        assert_eq!(w.discovered_units.unwrap().len(), 6);
        assert_eq!(w.gpu_processes, None, "no GPUs");
    }

    #[test]
    fn failed_checks_are_failures_not_errors_and_say_nothing_else() {
        let h = report(include_str!("collect/samples/gpu-server.txt"), &[], |s| {
            s.disks = None;
            s.processes = None;
            s.failures = vec![
                "disk check failed: df timed out after 5 s".into(),
                "process check could not run: ps not found".into(),
            ];
        });
        let w = to_wire(&h, 60, 10);
        assert_eq!(w.error, None, "the host was reached: it is online");
        assert_eq!(w.failures.as_deref().unwrap(), h.failures.as_slice());
        assert_eq!(w.disks, None, "not an empty disk list");
        assert_eq!(w.processes, None, "not every process missing");
        assert!(w.cpu_pct.is_some());
        let json = serde_json::to_value(&w).unwrap();
        assert_eq!(
            json["failures"][0],
            "disk check failed: df timed out after 5 s"
        );
    }
}
