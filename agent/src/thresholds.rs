//! Thresholds → problems: one line per problem, in the shape that goes into the ping
//! (`gpu-02 disk / 93% > 90%`). A value breaches its limit when strictly above it.

use serde::Serialize;

use crate::collect::{Gpus, Process, Sample};
use crate::config::{Host, ProcessRule};

/// How a required process fared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequiredProcess {
    pub pattern: String,
    /// True when `pattern` is a regular expression, false for a substring.
    pub regex: bool,
    pub running: bool,
    /// Matching processes found.
    pub count: u32,
    pub min: u32,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evaluation {
    /// Full problem lines, host label first.
    pub problems: Vec<String>,
    pub required: Vec<RequiredProcess>,
}

pub fn evaluate(host: &Host, sample: &Sample) -> Evaluation {
    let t = &host.thresholds;
    let mut found: Vec<String> = Vec::new();
    let mut check = |what: String, value: f64, limit: Option<f64>| {
        if let Some(limit) = limit.filter(|&l| value > l) {
            found.push(format!(
                "{what} {}% > {}%",
                shown(value, limit),
                number(limit)
            ));
        }
    };
    check("cpu".into(), sample.cpu.percent, t.cpu);
    check("memory".into(), sample.memory.percent, t.memory);
    if sample.swap.total_bytes > 0 {
        check("swap".into(), sample.swap.percent, t.swap);
    }
    for disk in sample.disk_list() {
        check(
            format!("disk {}", disk.mount),
            disk.percent,
            t.for_disk(&disk.mount),
        );
    }
    match &sample.gpus {
        Gpus::Absent => {}
        Gpus::Present(gpus) => {
            for gpu in gpus {
                if let Some(util) = gpu.utilisation_percent {
                    check(format!("gpu{} utilisation", gpu.index), util, t.gpu_util);
                }
                if let Some(mem) = gpu.memory_percent {
                    check(format!("gpu{} memory", gpu.index), mem, t.gpu_memory);
                }
            }
        }
        Gpus::Failed(message) => found.push(format!("nvidia-smi failed: {message}")),
    }
    if let Some(limit) = t.load_per_core {
        // load5: a cron pass every few minutes should not alert on a one-minute spike.
        let per_core = sample.cpu.load5 / f64::from(sample.cpu.cores.max(1));
        if per_core > limit {
            let (value, limit) = load_pair(per_core, limit);
            found.push(format!("load {value}/core > {limit}"));
        }
    }
    // Without a process list (no ps) nothing can be said about required processes: the
    // failure line says so instead of calling each one "not running".
    let required: Vec<RequiredProcess> = match &sample.processes {
        Some(list) => host
            .processes
            .iter()
            .map(|rule| required_status(rule, list))
            .collect(),
        None => Vec::new(),
    };
    for r in &required {
        // {:?}: a pattern's own quotes and backslashes are escaped, so the line reads back.
        if r.count == 0 {
            found.push(format!("process {:?} not running", r.pattern));
        } else if r.count < r.min {
            found.push(format!(
                "process {:?} {} running < {}",
                r.pattern, r.count, r.min
            ));
        }
    }
    for unit in sample.units.iter().flatten() {
        if unit.not_found() {
            found.push(format!("unit {} not found", unit.name));
        } else if !unit.is_active() {
            let state = &unit.active_state;
            match unit.sub_state.as_deref() {
                // `activating (auto-restart)`: a crash loop says more than `activating`.
                Some(sub) if state.ends_with("ing") && !sub.is_empty() => {
                    found.push(format!("unit {} {state} ({sub})", unit.name));
                }
                _ => found.push(format!("unit {} {state}", unit.name)),
            }
        }
    }
    found.extend(sample.failures.iter().cloned());
    Evaluation {
        problems: found
            .into_iter()
            .map(|p| format!("{} {p}", host.label))
            .collect(),
        required,
    }
}

fn required_status(rule: &ProcessRule, processes: &[Process]) -> RequiredProcess {
    let count = processes
        .iter()
        .filter(|p| rule.matches(&p.command))
        .count();
    let count = u32::try_from(count).unwrap_or(u32::MAX);
    RequiredProcess {
        pattern: rule.pattern.clone(),
        regex: rule.regex.is_some(),
        running: count > 0,
        count,
        min: rule.min,
    }
}

/// A whole percent unless rounding would hide the breach (`90.4% > 90%`, not `90% > 90%`).
fn shown(value: f64, limit: f64) -> String {
    if value.round() > limit {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// A load per core and its limit, with as many decimals as the limit needs (at least
/// one: `> 2.0`, `> 0.05`), and more for the value while it would read as equal.
fn load_pair(value: f64, limit: f64) -> (String, String) {
    let decimals = (1..=4)
        .find(|&d| {
            let scaled = limit * 10f64.powi(d);
            (scaled - scaled.round()).abs() < 1e-9
        })
        .unwrap_or(4) as usize;
    let limit_text = format!("{limit:.decimals$}");
    let value_text = (decimals..=decimals + 3)
        .map(|d| format!("{value:.d$}"))
        .find(|v| v.parse::<f64>().is_ok_and(|v| v > limit))
        .unwrap_or_else(|| format!("{value}"));
    (value_text, limit_text)
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::parse;
    use crate::config::Config;
    use std::time::Duration;

    fn host(thresholds: &str, processes: &str) -> Host {
        let yaml = format!(
            "server: {{url: 'http://hb.lan:5827', service: x}}\n\
             hosts:\n  - address: 10.0.0.3\n    name: gpu-01\n    thresholds: {thresholds}\n    processes: {processes}\n"
        );
        Config::from_yaml(&yaml, "test.yaml")
            .unwrap()
            .hosts
            .remove(0)
    }

    fn gpu_server() -> Sample {
        parse(
            include_str!("collect/samples/gpu-server.txt"),
            Duration::from_secs(9),
        )
        .unwrap()
    }

    #[test]
    fn every_threshold_breached_in_the_documented_shape() {
        let h = host(
            "{cpu: 90, memory: 90, swap: 50, disk: 90, disks: {/data: 40}, gpu_util: 95, gpu_memory: 90, load_per_core: 2}",
            "['python train.py', {regex: '^nginx: worker', min: 3}, 'tensorboard']",
        );
        let e = evaluate(&h, &gpu_server());
        assert_eq!(
            e.problems,
            [
                "gpu-01 cpu 96% > 90%",
                "gpu-01 memory 92% > 90%",
                "gpu-01 swap 75% > 50%",
                "gpu-01 disk / 93% > 90%",
                "gpu-01 disk /data 50% > 40%",
                "gpu-01 gpu0 utilisation 99% > 95%",
                "gpu-01 gpu0 memory 94% > 90%",
                "gpu-01 load 3.1/core > 2.0",
                "gpu-01 process \"^nginx: worker\" 2 running < 3",
                "gpu-01 process \"tensorboard\" not running",
            ]
        );
        assert_eq!(
            e.required[0].count, 2,
            "parent and worker of python train.py"
        );
        assert!(e.required[0].running && !e.required[0].regex && e.required[1].regex);
    }

    #[test]
    fn within_limits_no_problems() {
        let h = host(
            "{cpu: 99, memory: 95, swap: 80, disk: 95, gpu_util: 100, gpu_memory: 95, load_per_core: 4}",
            "['python train.py', {match: 'nginx: worker', min: 2}]",
        );
        assert_eq!(evaluate(&h, &gpu_server()).problems, Vec::<String>::new());
    }

    #[test]
    fn off_and_per_mount_overrides() {
        let h = host(
            "{memory: off, disk: 10, disks: {/: off, /boot/efi: off, /mnt/scratch disk: 50}}",
            "[]",
        );
        assert_eq!(
            evaluate(&h, &gpu_server()).problems,
            ["gpu-01 disk /data 50% > 10%"]
        );
    }

    #[test]
    fn rounding_never_hides_a_breach() {
        assert_eq!(shown(90.4, 90.0), "90.4");
        assert_eq!(shown(93.2, 90.0), "93");
        assert_eq!(shown(0.3, 0.0), "0.3");
        assert_eq!(number(92.5), "92.5");
    }

    #[test]
    fn failing_nvidia_smi_is_a_problem_absent_is_not() {
        let h = host("{}", "[]");
        let failed = parse(
            include_str!("collect/samples/nvidia-failed.txt"),
            Duration::from_secs(9),
        )
        .unwrap();
        let problems = evaluate(&h, &failed).problems;
        assert_eq!(problems.len(), 1);
        assert!(problems[0].starts_with("gpu-01 nvidia-smi failed: NVIDIA-SMI has failed"));
        let mut absent = failed;
        absent.gpus = Gpus::Absent;
        assert!(evaluate(&h, &absent).problems.is_empty());
    }

    #[test]
    fn legacy_hosts_are_called_by_their_desc() {
        let cfg = Config::from_yaml(
            "SERVER: {IP: hb.lan, SERVICE: x}\nIPS:\n  10.20.0.11:\n    DESC: db-primary\n    BASIC: {MEM: 90, DISK: 90, CPU: 90}\n    PROCESS:\n      - \"/usr/sbin/mysqld --defaults-file=/etc/mysql/my.cnf\"\n",
            "config.yaml",
        )
        .unwrap();
        assert_eq!(
            evaluate(&cfg.hosts[0], &gpu_server()).problems,
            [
                "db-primary cpu 96% > 90%",
                "db-primary memory 92% > 90%",
                "db-primary disk / 93% > 90%",
                "db-primary process \"/usr/sbin/mysqld --defaults-file=/etc/mysql/my.cnf\" not running",
            ]
        );
    }

    #[test]
    fn quotes_in_patterns_are_escaped() {
        let h = host(
            "{memory: off, disk: off}",
            r#"['say "hi"', {regex: 'a\d'}]"#,
        );
        assert_eq!(
            evaluate(&h, &gpu_server()).problems,
            [
                r#"gpu-01 process "say \"hi\"" not running"#,
                r#"gpu-01 process "a\\d" not running"#,
            ]
        );
    }

    #[test]
    fn small_load_limits_keep_their_precision() {
        assert_eq!(load_pair(3.1, 2.0), ("3.1".into(), "2.0".into()));
        assert_eq!(load_pair(0.0512, 0.05), ("0.051".into(), "0.05".into()));
        assert_eq!(load_pair(0.09, 0.05), ("0.09".into(), "0.05".into()));
        assert_eq!(load_pair(0.29001, 0.29), ("0.29001".into(), "0.29".into()));
        assert_eq!(load_pair(2.04, 2.0), ("2.04".into(), "2.0".into()));
        let h = host("{memory: off, disk: off, load_per_core: 0.05}", "[]");
        // gpu-server: load5 198.02 on 64 cores = 3.09/core.
        assert_eq!(
            evaluate(&h, &gpu_server()).problems,
            ["gpu-01 load 3.09/core > 0.05"]
        );
    }

    #[test]
    fn failed_checks_are_problems_and_not_guesses() {
        let h = host(
            "{memory: off, disk: 10}",
            "['python train.py', 'absent-thing']",
        );
        let mut s = gpu_server();
        s.disks = None;
        s.processes = None;
        s.failures = vec![
            "disk check failed: df timed out after 5 s".into(),
            "process check could not run: ps not found".into(),
        ];
        let e = evaluate(&h, &s);
        assert_eq!(
            e.problems,
            [
                "gpu-01 disk check failed: df timed out after 5 s",
                "gpu-01 process check could not run: ps not found",
            ]
        );
        assert!(e.required.is_empty());
    }

    #[test]
    fn watched_units_not_active_are_problems() {
        let h = host("{memory: off, disk: off}", "[]");
        let s = parse(
            include_str!("collect/samples/systemd-units.txt"),
            Duration::from_secs(9),
        )
        .unwrap();
        assert_eq!(
            evaluate(&h, &s).problems,
            [
                "gpu-01 unit redis-server.service failed",
                "gpu-01 unit nope.service not found",
            ]
        );
        let mut restarting = s.clone();
        let unit = &mut restarting.units.as_mut().unwrap()[0];
        unit.active_state = "activating".into();
        unit.sub_state = Some("auto-restart".into());
        assert_eq!(
            evaluate(&h, &restarting).problems[0],
            "gpu-01 unit nginx.service activating (auto-restart)"
        );
    }
}
