//! The pass report: its JSON shape (`--json`, documented in agent/README.md and kept
//! stable: fields are added, never renamed or removed) and the short human rendering.

use std::fmt::Write as _;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::collect::{
    CollectError, Cpu, Disk, Gpu, GpuProcess, Gpus, Memory, Process, Sample, Swap, Unit,
};
use crate::config::Host;
use crate::thresholds::{Evaluation, RequiredProcess};

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub hosts: Vec<HostReport>,
    /// Every problem line of every host, in host order: the ping's data, one per line.
    pub problems: Vec<String>,
    /// True when the server accepted the ping.
    pub pinged: bool,
    /// Why the ping did not get through, when it was attempted and failed.
    pub ping_error: Option<String>,
    /// The service's status after the ping, as the server answered.
    pub service_status: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HostReport {
    pub label: String,
    pub address: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub local: bool,
    /// When the collection finished.
    pub at: DateTime<Utc>,
    /// No problems on this host.
    pub ok: bool,
    /// Why the host could not be collected (then cpu/memory/swap are null).
    pub error: Option<String>,
    pub elapsed_ms: u64,
    pub cpu: Option<Cpu>,
    pub memory: Option<Memory>,
    pub swap: Option<Swap>,
    pub disks: Vec<Disk>,
    pub gpus: Vec<Gpu>,
    /// nvidia-smi's complaint when it is installed but failed.
    pub gpu_error: Option<String>,
    pub processes: ProcessReport,
    pub problems: Vec<String>,
    /// Processes using a GPU, with the GPU's index.
    pub gpu_processes: Vec<GpuProcess>,
    /// The systemd units watched on this host, in the order asked.
    pub units: Vec<Unit>,
    /// Running or enabled service units, when discovery was asked for.
    pub discovered_units: Option<Vec<Unit>>,
    /// Checks that could not run or failed on a host that was reached (df timed out,
    /// no ps, systemctl failed): also in `problems`, with the host label in front.
    pub failures: Vec<String>,
    /// df ran: `disks` is the host's list (else it says nothing, see `failures`).
    #[serde(skip)]
    pub disks_checked: bool,
    /// ps ran: required processes were counted.
    #[serde(skip)]
    pub processes_checked: bool,
    /// Units were asked for and systemctl answered.
    #[serde(skip)]
    pub units_checked: bool,
    /// nvidia-smi listed the GPU processes.
    #[serde(skip)]
    pub gpu_processes_checked: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ProcessReport {
    pub top_cpu: Vec<Process>,
    pub top_mem: Vec<Process>,
    pub required: Vec<RequiredProcess>,
}

impl HostReport {
    fn base(host: &Host, elapsed: Duration) -> HostReport {
        HostReport {
            label: host.label.clone(),
            address: host.address.clone(),
            name: host.name.clone(),
            description: host.description.clone(),
            local: host.local,
            at: Utc::now(),
            ok: true,
            error: None,
            elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            cpu: None,
            memory: None,
            swap: None,
            disks: Vec::new(),
            gpus: Vec::new(),
            gpu_error: None,
            processes: ProcessReport::default(),
            problems: Vec::new(),
            gpu_processes: Vec::new(),
            units: Vec::new(),
            discovered_units: None,
            failures: Vec::new(),
            disks_checked: false,
            processes_checked: false,
            units_checked: false,
            gpu_processes_checked: false,
        }
    }

    pub fn collected(
        host: &Host,
        sample: Sample,
        eval: Evaluation,
        top: usize,
        elapsed: Duration,
    ) -> HostReport {
        let (gpus, gpu_error) = match &sample.gpus {
            Gpus::Absent => (Vec::new(), None),
            Gpus::Present(gpus) => (gpus.clone(), None),
            Gpus::Failed(message) => (Vec::new(), Some(message.clone())),
        };
        HostReport {
            ok: eval.problems.is_empty(),
            processes: ProcessReport {
                top_cpu: sample.top_by_cpu(top),
                top_mem: sample.top_by_memory(top),
                required: eval.required,
            },
            problems: eval.problems,
            gpus,
            gpu_error,
            cpu: Some(sample.cpu),
            memory: Some(sample.memory),
            swap: Some(sample.swap),
            disks_checked: sample.disks.is_some(),
            processes_checked: sample.processes.is_some(),
            units_checked: sample.units.is_some(),
            disks: sample.disks.unwrap_or_default(),
            gpu_processes_checked: sample.gpu_processes.is_some(),
            gpu_processes: sample.gpu_processes.unwrap_or_default(),
            units: sample.units.unwrap_or_default(),
            discovered_units: sample.discovered_units,
            failures: sample.failures,
            ..HostReport::base(host, elapsed)
        }
    }

    pub fn failed(host: &Host, error: &CollectError, elapsed: Duration) -> HostReport {
        let error = error.to_string();
        HostReport {
            ok: false,
            problems: vec![format!("{} {error}", host.label)],
            error: Some(error),
            ..HostReport::base(host, elapsed)
        }
    }
}

impl Report {
    pub fn new(hosts: Vec<HostReport>) -> Report {
        let problems = hosts
            .iter()
            .flat_map(|h| h.problems.iter().cloned())
            .collect();
        Report {
            hosts,
            problems,
            pinged: false,
            ping_error: None,
            service_status: None,
        }
    }

    /// The ping's data: one problem per line, empty when all is well.
    pub fn ping_data(&self) -> String {
        self.problems.join("\n")
    }

    /// One line per host, then the problems.
    pub fn render_text(&self) -> String {
        let width = self.hosts.iter().map(|h| h.label.len()).max().unwrap_or(0);
        let mut out = String::new();
        for h in &self.hosts {
            let status = if h.ok { "OK" } else { "PROBLEM" };
            let _ = writeln!(out, "{:width$}  {}  {status}", h.label, host_summary(h));
        }
        let n = self.problems.len();
        if n == 0 {
            let _ = writeln!(out, "all {} host(s) OK", self.hosts.len());
        } else {
            let _ = writeln!(out, "{n} problem(s):");
            for p in &self.problems {
                let _ = writeln!(out, "  {p}");
            }
        }
        out
    }
}

fn host_summary(h: &HostReport) -> String {
    let (Some(cpu), Some(mem), Some(swap)) = (&h.cpu, &h.memory, &h.swap) else {
        return h.error.clone().unwrap_or_default();
    };
    let mut parts = vec![
        format!("cpu {:.0}%", cpu.percent),
        format!("load {:.2}/core", cpu.load5 / f64::from(cpu.cores.max(1))),
        format!("mem {:.0}%", mem.percent),
    ];
    if swap.total_bytes > 0 {
        parts.push(format!("swap {:.0}%", swap.percent));
    }
    if !h.disks.is_empty() {
        let disks: Vec<String> = h
            .disks
            .iter()
            .map(|d| format!("{}:{:.0}%", d.mount, d.percent))
            .collect();
        parts.push(format!("disks {}", disks.join(" ")));
    }
    if !h.gpus.is_empty() {
        let pct = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.0}%"));
        let gpus: Vec<String> = h
            .gpus
            .iter()
            .map(|g| {
                format!(
                    "{}:{}/{}",
                    g.index,
                    pct(g.utilisation_percent),
                    pct(g.memory_percent)
                )
            })
            .collect();
        parts.push(format!("gpus(util/mem) {}", gpus.join(" ")));
    }
    if h.gpu_error.is_some() {
        parts.push("gpus: nvidia-smi failed".to_owned());
    }
    parts.join("  ")
}
