//! Host values as time series: the metrics there are, which part of a host each is about
//! (the host, a mount, a GPU), the aggregates a chart may ask for, roll-up buckets, and
//! the step a time range gets.
use chrono::{DateTime, Duration, Utc};

use super::closed_set;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    CpuPct,
    Load1,
    Load5,
    Load15,
    MemPct,
    SwapPct,
    DiskUsedPct,
    GpuUtilPct,
    GpuMemPct,
    GpuTempC,
    GpuPowerW,
}

closed_set!(Metric, "metric", {
    CpuPct => "cpu_pct",
    Load1 => "load1",
    Load5 => "load5",
    Load15 => "load15",
    MemPct => "mem_pct",
    SwapPct => "swap_pct",
    DiskUsedPct => "disk_used_pct",
    GpuUtilPct => "gpu_util_pct",
    GpuMemPct => "gpu_mem_pct",
    GpuTempC => "gpu_temp_c",
    GpuPowerW => "gpu_power_w",
});

/// What a metric's `part` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The host as a whole: the part is empty.
    Host,
    /// A mount point (`/`, `/data`).
    Mount,
    /// A GPU's index (`0`, `1`).
    Gpu,
}

impl Metric {
    pub fn part(self) -> Part {
        match self {
            Metric::DiskUsedPct => Part::Mount,
            Metric::GpuUtilPct | Metric::GpuMemPct | Metric::GpuTempC | Metric::GpuPowerW => {
                Part::Gpu
            }
            _ => Part::Host,
        }
    }
}

/// How a bucket's samples become one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agg {
    Avg,
    Max,
    Min,
    Last,
}

closed_set!(Agg, "agg", {
    Avg => "avg",
    Max => "max",
    Min => "min",
    Last => "last",
});

/// One value of one series of a host, at one time.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub metric: Metric,
    /// Empty for the host as a whole, else the mount or the GPU index.
    pub part: String,
    pub value: f64,
}

impl Sample {
    pub fn new(metric: Metric, part: impl Into<String>, value: f64) -> Self {
        Self {
            metric,
            part: part.into(),
            value,
        }
    }
}

/// The two roll-up steps, in seconds.
pub const MINUTE: i64 = 60;
pub const HOUR: i64 = 3600;

/// The start of the bucket of `step` seconds that `at_ms` falls in, in ms.
pub fn bucket(at_ms: i64, step: i64) -> i64 {
    let width = step * 1000;
    at_ms.div_euclid(width) * width
}

/// A range up to this long gets 1-minute points; a longer one hourly points.
pub const MINUTE_POINTS_UP_TO: Duration = Duration::hours(48);

/// The step for a chart of `from..to`: the one asked for (60 or 3600), else 1-minute
/// points for ranges up to 48 h and hourly points beyond. `None` when `asked` is neither.
pub fn step_for(from: DateTime<Utc>, to: DateTime<Utc>, asked: Option<i64>) -> Option<i64> {
    match asked {
        Some(MINUTE) => Some(MINUTE),
        Some(HOUR) => Some(HOUR),
        Some(_) => None,
        None if to - from <= MINUTE_POINTS_UP_TO => Some(MINUTE),
        None => Some(HOUR),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_start_on_the_step() {
        assert_eq!(bucket(0, MINUTE), 0);
        assert_eq!(bucket(59_999, MINUTE), 0);
        assert_eq!(bucket(60_000, MINUTE), 60_000);
        assert_eq!(bucket(7_199_999, HOUR), 3_600_000);
        // Before the epoch, still the start of the bucket, not the end.
        assert_eq!(bucket(-1, MINUTE), -60_000);
    }

    #[test]
    fn the_range_chooses_the_step_unless_asked() {
        let t = |h: i64| DateTime::<Utc>::UNIX_EPOCH + Duration::hours(h);
        assert_eq!(step_for(t(0), t(1), None), Some(MINUTE));
        assert_eq!(step_for(t(0), t(48), None), Some(MINUTE));
        assert_eq!(step_for(t(0), t(49), None), Some(HOUR));
        assert_eq!(step_for(t(0), t(1), Some(HOUR)), Some(HOUR));
        assert_eq!(step_for(t(0), t(400), Some(MINUTE)), Some(MINUTE));
        assert_eq!(step_for(t(0), t(1), Some(30)), None);
    }

    #[test]
    fn metrics_name_their_parts() {
        assert_eq!("gpu_mem_pct".parse::<Metric>().unwrap(), Metric::GpuMemPct);
        assert_eq!(Metric::DiskUsedPct.part(), Part::Mount);
        assert_eq!(Metric::GpuTempC.part(), Part::Gpu);
        assert_eq!(Metric::Load1.part(), Part::Host);
        assert!("cpu".parse::<Metric>().is_err());
    }
}
