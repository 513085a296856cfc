//! The host page's charts: CPU, memory, disk, GPU utilisation and GPU memory over the
//! last hour, day, week or month, read from the roll-ups (1-minute points up to 48 h,
//! hourly beyond) and drawn by [`super::chart`].
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use heartbeats_wire::hosts::HostReport;

use super::chart::{Chart, Series, Summary};
use super::values::pct;
use crate::domain::host::Checks;
use crate::domain::metrics::{self, Agg, Metric};
use crate::state::AppState;
use crate::store::StoreResult;
use crate::store::rollups::{self, SeriesQuery};
use crate::ui::i18n::Lang;

/// Most mounts or GPUs drawn as lines of their own; more share one line (the highest).
const MAX_PARTS: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    Hour,
    Day,
    Week,
    Month,
}

impl Range {
    pub const ALL: [Range; 4] = [Range::Hour, Range::Day, Range::Week, Range::Month];

    pub fn parse(s: &str) -> Self {
        match s {
            "1h" => Range::Hour,
            "7d" => Range::Week,
            "30d" => Range::Month,
            _ => Range::Day,
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Range::Hour => "1h",
            Range::Day => "24h",
            Range::Week => "7d",
            Range::Month => "30d",
        }
    }

    fn span(self) -> Duration {
        match self {
            Range::Hour => Duration::hours(1),
            Range::Day => Duration::hours(24),
            Range::Week => Duration::days(7),
            Range::Month => Duration::days(30),
        }
    }
}

/// A chart as the template shows it.
pub struct ChartView {
    pub id: &'static str,
    pub title: String,
    /// The SVG markup (escaped where it holds text); empty when there is no data.
    pub svg: String,
    pub legend: Vec<(String, String)>,
    pub zone: String,
}

struct Spec {
    id: &'static str,
    metric: Metric,
    label: &'static str,
    limit: Option<f64>,
    /// Also read the per-bucket maxima (the peak line and the summary's max).
    peaks: bool,
    /// The parts to draw, each its own line; empty: one line (the host, or the highest
    /// part per bucket).
    parts: Vec<(String, String)>,
}

async fn read(
    state: &AppState,
    host_id: &str,
    metric: Metric,
    part: Option<&str>,
    agg: Agg,
    (from, to, step): (DateTime<Utc>, DateTime<Utc>, i64),
) -> StoreResult<Vec<(i64, f64)>> {
    rollups::series(
        &state.db,
        &state.rollups,
        &SeriesQuery {
            host_id,
            metric,
            part,
            agg,
            step,
            from,
            to,
        },
    )
    .await
}

/// Every chart of a host for a range, from the parts its latest report names.
pub async fn charts(
    state: &AppState,
    host_id: &str,
    report: Option<&HostReport>,
    checks: &Checks,
    range: Range,
    lang: Lang,
    tz: Tz,
) -> StoreResult<Vec<ChartView>> {
    let t = lang.t();
    let to = state.clock.now();
    let from = to - range.span();
    let step = metrics::step_for(from, to, None).unwrap_or(metrics::HOUR);
    let mounts: Vec<(String, String)> = report
        .and_then(|r| r.disks.as_ref())
        .filter(|d| d.len() <= MAX_PARTS)
        .map(|d| {
            d.iter()
                .map(|d| (d.mount.clone(), d.mount.clone()))
                .collect()
        })
        .unwrap_or_default();
    let gpus: Vec<(String, String)> = report
        .and_then(|r| r.gpus.as_ref())
        .filter(|g| g.len() <= MAX_PARTS)
        .map(|g| {
            g.iter()
                .map(|g| (g.index.to_string(), format!("GPU{}", g.index)))
                .collect()
        })
        .unwrap_or_default();
    let has_gpus = report.is_some_and(|r| r.gpus.as_ref().is_some_and(|g| !g.is_empty()));
    let mut specs = vec![
        Spec {
            id: "cpu",
            metric: Metric::CpuPct,
            label: t.col_cpu,
            limit: checks.cpu_pct.map(|t| t.limit),
            peaks: true,
            parts: Vec::new(),
        },
        Spec {
            id: "mem",
            metric: Metric::MemPct,
            label: t.col_mem,
            limit: checks.mem_pct.map(|t| t.limit),
            peaks: true,
            parts: Vec::new(),
        },
        Spec {
            id: "disk",
            metric: Metric::DiskUsedPct,
            label: t.col_disk,
            limit: checks.disk_pct.map(|t| t.limit),
            peaks: false,
            parts: mounts,
        },
    ];
    if has_gpus {
        specs.push(Spec {
            id: "gpu-util",
            metric: Metric::GpuUtilPct,
            label: t.gpu_util,
            limit: checks.gpu_util_pct.map(|t| t.limit),
            peaks: false,
            parts: gpus.clone(),
        });
        specs.push(Spec {
            id: "gpu-mem",
            metric: Metric::GpuMemPct,
            label: t.gpu_mem,
            limit: checks.gpu_mem_pct.map(|t| t.limit),
            peaks: false,
            parts: gpus,
        });
    }
    let window = (from, to, step);
    let words = |s: &Summary| lang.chart_summary(&s.label, &pct(s.avg), &pct(s.max));
    let mut out = Vec::new();
    for spec in specs {
        let mut series = Vec::new();
        if spec.parts.is_empty() {
            let points = read(state, host_id, spec.metric, None, Agg::Avg, window).await?;
            let peaks = if spec.peaks {
                read(state, host_id, spec.metric, None, Agg::Max, window).await?
            } else {
                Vec::new()
            };
            let peak = peaks.iter().map(|p| p.1).reduce(f64::max);
            if !peaks.is_empty() {
                series.push(Series {
                    label: t.peak.to_owned(),
                    points: peaks,
                    peak: None,
                    faint: true,
                });
            }
            series.push(Series {
                label: spec.label.to_owned(),
                points,
                peak,
                faint: false,
            });
        } else {
            for (part, label) in &spec.parts {
                let points =
                    read(state, host_id, spec.metric, Some(part), Agg::Avg, window).await?;
                series.push(Series {
                    label: label.clone(),
                    points,
                    peak: None,
                    faint: false,
                });
            }
        }
        let title = lang.chart_title(spec.label, &lang.range_label(range.key()));
        let chart = Chart {
            id: spec.id,
            title: &title,
            series,
            limit: spec.limit,
            from,
            to,
            step,
            tz,
        };
        let drawn = chart.draw(&words);
        out.push(match drawn {
            Some(d) => ChartView {
                id: spec.id,
                svg: d.svg,
                legend: d
                    .legend
                    .iter()
                    .map(|s| (s.class.clone(), words(s)))
                    .collect(),
                zone: d.zone,
                title,
            },
            None => ChartView {
                id: spec.id,
                svg: String::new(),
                legend: Vec::new(),
                zone: String::new(),
                title,
            },
        });
    }
    Ok(out)
}
