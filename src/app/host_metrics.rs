//! The values of a host report as time-series samples: what the roll-ups sum and the
//! charts draw. A report that says the host could not be collected has none.
use heartbeats_wire::hosts::HostReport;

use crate::domain::metrics::{Metric, Sample};

pub fn samples(r: &HostReport) -> Vec<Sample> {
    let mut out = Vec::new();
    if r.error.is_some() {
        return out;
    }
    let mut host = |metric, v: Option<f64>| {
        if let Some(v) = v {
            out.push(Sample::new(metric, "", v));
        }
    };
    host(Metric::CpuPct, r.cpu_pct);
    host(Metric::Load1, r.load1);
    host(Metric::Load5, r.load5);
    host(Metric::Load15, r.load15);
    host(Metric::MemPct, r.mem_pct());
    host(Metric::SwapPct, r.swap_pct());
    for d in r.disks.iter().flatten() {
        if let Some(v) = d.pct() {
            out.push(Sample::new(Metric::DiskUsedPct, d.mount.as_str(), v));
        }
    }
    for g in r.gpus.iter().flatten() {
        let part = g.index.to_string();
        for (metric, v) in [
            (Metric::GpuUtilPct, g.util_pct),
            (Metric::GpuMemPct, g.mem_pct()),
            (Metric::GpuTempC, g.temp_c),
            (Metric::GpuPowerW, g.power_w),
        ] {
            if let Some(v) = v {
                out.push(Sample::new(metric, part.as_str(), v));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lan_plan_report_gives_its_series() {
        let r: HostReport = serde_json::from_str(
            r#"{"node_id": "srv-01", "ts": "2026-01-17T10:00:00Z", "cpu_pct": 23.4,
 "disks": [{"mount": "/", "used_bytes": 123, "total_bytes": 456, "used_pct": 27.0}],
 "gpus": [{"index": 0, "util_pct": 56, "mem_used_mb": 2048, "mem_total_mb": 8192}],
 "services": [{"name": "nginx.service", "active_state": "active", "sub_state": "running"}]}"#,
        )
        .unwrap();
        assert_eq!(
            samples(&r),
            [
                Sample::new(Metric::CpuPct, "", 23.4),
                Sample::new(Metric::DiskUsedPct, "/", 27.0),
                Sample::new(Metric::GpuUtilPct, "0", 56.0),
                Sample::new(Metric::GpuMemPct, "0", 25.0),
            ]
        );
        let failed: HostReport =
            serde_json::from_str(r#"{"host": "a", "error": "timeout", "cpu_pct": 5}"#).unwrap();
        assert!(samples(&failed).is_empty());
    }
}
