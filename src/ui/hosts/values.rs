//! A host's latest values as the pages show them: percentages, sizes, the fullest disk, a
//! GPU summary, failed units, and whether a value is over the host's threshold. Pure
//! functions over the stored report, shared by the overview and the host page.
use heartbeats_wire::hosts::{GpuReport, HostReport};

use crate::domain::host::{Checks, Threshold};
use crate::store::host_reports::Latest;

/// The report a stored snapshot holds; `None` when it cannot be read (never written so).
pub fn report_of(latest: &Latest) -> Option<HostReport> {
    serde_json::from_str(&latest.json).ok()
}

/// `23%`, `0.4%`: whole numbers unless the value is small.
pub fn pct(v: f64) -> String {
    if v > 0.0 && v < 1.0 {
        format!("{v:.1}%")
    } else {
        format!("{v:.0}%")
    }
}

/// `1.23`
pub fn load(v: f64) -> String {
    format!("{v:.2}")
}

/// Binary sizes: `512 MiB`, `12.3 GiB`, `1.8 TiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 || v >= 100.0 {
        format!("{v:.0} {}", UNITS[unit])
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// `12.3 / 31.2 GiB` (both in the larger number's unit would mislead less, but each
/// number reads right on its own).
pub fn used_of(used: Option<u64>, total: Option<u64>) -> Option<String> {
    match (used, total) {
        (Some(u), Some(t)) => Some(format!("{} / {}", bytes(u), bytes(t))),
        (Some(u), None) => Some(bytes(u)),
        _ => None,
    }
}

/// A value beside its limit: how the page marks what breaches.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub text: String,
    /// 0–100, for the bar under a percentage.
    pub level: f64,
    /// Over the host's threshold (whether or not its window has passed).
    pub hot: bool,
}

impl Reading {
    pub fn new(v: f64, limit: Option<Threshold>) -> Self {
        Self {
            text: pct(v),
            level: v.clamp(0.0, 100.0),
            hot: limit.is_some_and(|t| v > t.limit),
        }
    }

    /// The bar's width as CSS.
    pub fn width(&self) -> String {
        format!("{:.0}%", self.level)
    }
}

/// The fullest mount: its reading and its mount point.
pub fn fullest_disk(r: &HostReport, checks: &Checks) -> Option<(Reading, String)> {
    r.disks
        .iter()
        .flatten()
        .filter_map(|d| Some((d.pct()?, d)))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(v, d)| (Reading::new(v, checks.disk_for(&d.mount)), d.mount.clone()))
}

/// Every mount, `/ 93% · /data 41%`, for a title.
pub fn disks_line(r: &HostReport) -> String {
    r.disks
        .iter()
        .flatten()
        .filter_map(|d| Some(format!("{} {}", d.mount, pct(d.pct()?))))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The GPUs at a glance: how many, the busiest one's utilisation and the fullest one's
/// memory.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuSummary {
    pub count: usize,
    pub util: Option<Reading>,
    pub mem: Option<Reading>,
    /// One line per GPU: `GPU0 A100 · 56% · 2.0 / 8.0 GiB · 65 °C · 210 W`.
    pub lines: Vec<String>,
}

fn max_of(gpus: &[GpuReport], f: impl Fn(&GpuReport) -> Option<f64>) -> Option<f64> {
    gpus.iter().filter_map(f).max_by(f64::total_cmp)
}

pub fn gpu_line(g: &GpuReport) -> String {
    let mut parts = vec![match &g.name {
        Some(name) => format!("GPU{} {name}", g.index),
        None => format!("GPU{}", g.index),
    }];
    if let Some(u) = g.util_pct {
        parts.push(pct(u));
    }
    if let (Some(used), Some(total)) = (g.mem_used_mb, g.mem_total_mb) {
        parts.push(format!(
            "{} / {}",
            bytes(used * 1024 * 1024),
            bytes(total * 1024 * 1024)
        ));
    }
    if let Some(t) = g.temp_c {
        parts.push(format!("{t:.0} °C"));
    }
    if let Some(w) = g.power_w {
        parts.push(format!("{w:.0} W"));
    }
    parts.join(" · ")
}

pub fn gpus(r: &HostReport, checks: &Checks) -> Option<GpuSummary> {
    let gpus = r.gpus.as_deref().filter(|g| !g.is_empty())?;
    Some(GpuSummary {
        count: gpus.len(),
        util: max_of(gpus, |g| g.util_pct).map(|v| Reading::new(v, checks.gpu_util_pct)),
        mem: max_of(gpus, GpuReport::mem_pct).map(|v| Reading::new(v, checks.gpu_mem_pct)),
        lines: gpus.iter().map(gpu_line).collect(),
    })
}

/// The watched (or reported) units that have failed.
pub fn failed_units(r: &HostReport) -> Vec<String> {
    r.units
        .iter()
        .flatten()
        .filter(|u| u.active_state == "failed")
        .map(|u| u.name.clone())
        .collect()
}

/// `1.23 · 0.98 · 0.77`, and whether the 5-minute load per core is over the threshold.
pub fn loads(r: &HostReport, checks: &Checks) -> Option<(String, bool)> {
    let parts: Vec<String> = [r.load1, r.load5, r.load15]
        .into_iter()
        .map(|v| v.map(load).unwrap_or_else(|| "–".into()))
        .collect();
    if r.load1.is_none() && r.load5.is_none() && r.load15.is_none() {
        return None;
    }
    let hot = match (r.load5, r.cores, checks.load_per_core) {
        (Some(l), Some(c), Some(t)) if c > 0 => l / f64::from(c) > t.limit,
        _ => false,
    };
    Some((parts.join(" · "), hot))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(json: &str) -> HostReport {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn sizes_and_percentages_read_short() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 * 1024 * 1024 * 1024 / 2), "1.5 GiB");
        assert_eq!(bytes(200 * 1024 * 1024 * 1024), "200 GiB");
        assert_eq!(pct(93.4), "93%");
        assert_eq!(pct(0.42), "0.4%");
        assert_eq!(pct(0.0), "0%");
    }

    #[test]
    fn the_fullest_disk_and_the_busiest_gpu() {
        let r = report(
            r#"{"name":"a","disks":[{"mount":"/","used_pct":41},{"mount":"/data","used_bytes":93,"total_bytes":100}],
            "gpus":[{"index":0,"name":"A100","util_pct":12,"mem_used_mb":1024,"mem_total_mb":4096,"temp_c":61.4},
                    {"index":1,"util_pct":99,"mem_used_mb":512,"mem_total_mb":4096}],
            "units":[{"name":"nginx.service","active_state":"failed"},{"name":"ssh.service","active_state":"active"}],
            "load1":1.5,"load5":9,"load15":0.5,"cores":4}"#,
        );
        let checks = Checks::builtin();
        let (disk, mount) = fullest_disk(&r, &checks).unwrap();
        assert_eq!(
            (disk.text.as_str(), mount.as_str(), disk.hot),
            ("93%", "/data", true)
        );
        assert_eq!(disks_line(&r), "/ 41% · /data 93%");
        let g = gpus(&r, &checks).unwrap();
        assert_eq!(g.count, 2);
        assert_eq!(g.util.unwrap().text, "99%");
        assert_eq!(g.mem.unwrap().text, "25%");
        assert_eq!(g.lines[0], "GPU0 A100 · 12% · 1.0 GiB / 4.0 GiB · 61 °C");
        assert_eq!(failed_units(&r), ["nginx.service"]);
        // 9 / 4 cores > 2 per core.
        assert_eq!(
            loads(&r, &checks),
            Some(("1.50 · 9.00 · 0.50".into(), true))
        );
    }
}
