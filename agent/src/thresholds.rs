//! Thresholds → problems: one line per problem, in the shape that goes into the ping
//! (`gpu-02 disk / 93% > 90%`). A value breaches its limit when strictly above it.

use serde::Serialize;

use crate::collect::{Gpus, Sample};
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
    for disk in &sample.disks {
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
            let value = if format!("{per_core:.1}") == format!("{limit:.1}") {
                format!("{per_core:.2}")
            } else {
                format!("{per_core:.1}")
            };
            found.push(format!("load {value}/core > {limit:.1}"));
        }
    }
    let required: Vec<RequiredProcess> = host
        .processes
        .iter()
        .map(|rule| required_status(rule, sample))
        .collect();
    for r in &required {
        if r.count == 0 {
            found.push(format!("process \"{}\" not running", r.pattern));
        } else if r.count < r.min {
            found.push(format!(
                "process \"{}\" {} running < {}",
                r.pattern, r.count, r.min
            ));
        }
    }
    Evaluation {
        problems: found
            .into_iter()
            .map(|p| format!("{} {p}", host.label))
            .collect(),
        required,
    }
}

fn required_status(rule: &ProcessRule, sample: &Sample) -> RequiredProcess {
    let count = sample
        .processes
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
}
