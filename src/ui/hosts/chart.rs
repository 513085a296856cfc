//! Charts as inline SVG drawn on the server: no script, no chart library, nothing from a
//! CDN (LAN users may be offline). A chart is a 0–100 % plot with a path per series,
//! gridlines with a few labelled ticks, times in the page's zone (`UTC+8` said once), a
//! dashed line at the host's threshold, and words for screen readers: the SVG's title and
//! description say what it shows ("CPU over 24 h: avg 34%, max 98%").
use std::fmt::Write;

use chrono::{DateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use super::values::pct;

/// Width and height of the drawing, in SVG units (it scales to the page).
const W: f64 = 520.0;
const H: f64 = 200.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 24.0;
/// More points than a chart this wide can show are merged.
const MAX_POINTS: usize = 480;

/// One line of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    /// `CPU`, `/data`, `GPU1`.
    pub label: String,
    /// Bucket start (ms) and value, oldest first.
    pub points: Vec<(i64, f64)>,
    /// The highest value in the range, when a separate series of maxima was read (the
    /// peak, rather than the highest average).
    pub peak: Option<f64>,
    /// Drawn as a faint line under the others (the per-minute peaks).
    pub faint: bool,
}

/// What a chart is about, and the range drawn.
pub struct Chart<'a> {
    /// Unique on the page: `cpu`, `gpu-util`.
    pub id: &'a str,
    /// `CPU over 24 h`.
    pub title: &'a str,
    pub series: Vec<Series>,
    /// The threshold's limit, drawn as a dashed line.
    pub limit: Option<f64>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Seconds per point: gaps longer than a few steps are not bridged.
    pub step: i64,
    pub tz: Tz,
}

/// The words of one series: `GPU1: avg 34%, max 98%`.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub label: String,
    pub avg: f64,
    pub max: f64,
    /// Which colour the legend's swatch takes (`s0` …).
    pub class: String,
}

/// A drawn chart: the SVG markup and the legend.
pub struct Drawn {
    pub svg: String,
    pub legend: Vec<Summary>,
    /// `UTC+8`: the zone the time axis is in.
    pub zone: String,
}

/// `avg 34%, max 98%` in the reader's words.
pub type SummaryWords<'a> = &'a dyn Fn(&Summary) -> String;

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// At most `max` points: runs of neighbours merged (their mean, or their maximum for a
/// series of maxima), so a 30-day chart stays a few kilobytes.
pub fn thin(points: &[(i64, f64)], max: usize, keep_max: bool) -> Vec<(i64, f64)> {
    if points.len() <= max || max == 0 {
        return points.to_vec();
    }
    let per = points.len().div_ceil(max);
    points
        .chunks(per)
        .map(|run| {
            let v = if keep_max {
                run.iter().map(|p| p.1).fold(f64::MIN, f64::max)
            } else {
                run.iter().map(|p| p.1).sum::<f64>() / run.len() as f64
            };
            (run[0].0, v)
        })
        .collect()
}

/// The longest gap a line is drawn across: three of the series' usual spacing (a host
/// reporting every 5 minutes fills one 1-minute bucket in five), so a line breaks where
/// reports stopped, not between every report.
fn bridge(points: &[(i64, f64)], step_ms: i64) -> i64 {
    let mut gaps: Vec<i64> = points.windows(2).map(|w| w[1].0 - w[0].0).collect();
    gaps.sort_unstable();
    let usual = gaps
        .get(gaps.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or(step_ms);
    3 * usual.max(step_ms)
}

/// The tick spacing for a range: at most six labelled ticks.
fn tick_step(range_secs: i64) -> i64 {
    const STEPS: [i64; 11] = [
        300,
        900,
        1800,
        3600,
        3 * 3600,
        6 * 3600,
        12 * 3600,
        86_400,
        2 * 86_400,
        7 * 86_400,
        14 * 86_400,
    ];
    STEPS
        .into_iter()
        .find(|s| range_secs / s <= 6)
        .unwrap_or(30 * 86_400)
}

/// Tick times (Unix seconds) on round local times, and their labels.
fn ticks(from: DateTime<Utc>, to: DateTime<Utc>, tz: Tz) -> Vec<(i64, String)> {
    let (a, b) = (from.timestamp(), to.timestamp());
    let step = tick_step(b - a);
    let offset = i64::from(
        tz.offset_from_utc_datetime(&from.naive_utc())
            .fix()
            .local_minus_utc(),
    );
    let format = if step < 86_400 { "%H:%M" } else { "%m-%d" };
    let mut out = Vec::new();
    let mut local = (a + offset).div_euclid(step) * step + step;
    while local - offset <= b {
        let t = local - offset;
        if let Some(at) = DateTime::from_timestamp(t, 0) {
            out.push((t, at.with_timezone(&tz).format(format).to_string()));
        }
        local += step;
    }
    out
}

fn summary(s: &Series, class: String) -> Option<Summary> {
    if s.points.is_empty() {
        return None;
    }
    let avg = s.points.iter().map(|p| p.1).sum::<f64>() / s.points.len() as f64;
    let max = s
        .peak
        .unwrap_or_else(|| s.points.iter().map(|p| p.1).fold(f64::MIN, f64::max));
    Some(Summary {
        label: s.label.clone(),
        avg,
        max,
        class,
    })
}

impl Chart<'_> {
    fn x(&self, ms: i64) -> f64 {
        let (a, b) = (self.from.timestamp_millis(), self.to.timestamp_millis());
        let span = (b - a).max(1) as f64;
        LEFT + (ms - a) as f64 / span * (W - LEFT - RIGHT)
    }

    fn y(v: f64) -> f64 {
        TOP + (1.0 - v.clamp(0.0, 100.0) / 100.0) * (H - TOP - BOTTOM)
    }

    /// One path per series, broken where buckets are missing.
    fn path(&self, points: &[(i64, f64)], bridge_ms: i64) -> String {
        let mut d = String::new();
        let mut last: Option<i64> = None;
        for &(t, v) in points {
            let cmd = match last {
                Some(prev) if t - prev <= bridge_ms => 'L',
                _ => 'M',
            };
            let _ = write!(d, "{cmd}{:.1} {:.1}", self.x(t), Self::y(v));
            if cmd == 'M' {
                // A lone point still shows: a zero-length segment with round caps.
                let _ = write!(d, "h0");
            }
            last = Some(t);
        }
        d
    }

    /// Draw it; `None` when no series has a point in the range.
    pub fn draw(&self, words: SummaryWords<'_>) -> Option<Drawn> {
        if self.series.iter().all(|s| s.points.is_empty()) {
            return None;
        }
        let zone = crate::domain::zone::offset_label(&self.to.with_timezone(&self.tz));
        let mut legend = Vec::new();
        let mut paths = String::new();
        let step_ms = self.step * 1000;
        let mut colour = 0;
        for s in &self.series {
            let class = if s.faint {
                "faint".to_owned()
            } else {
                let c = format!("s{}", colour % 8);
                colour += 1;
                c
            };
            let points = thin(&s.points, MAX_POINTS, s.faint);
            if !points.is_empty() {
                let _ = write!(
                    paths,
                    r#"<path class="line {class}" d="{}"/>"#,
                    self.path(&points, bridge(&points, step_ms))
                );
            }
            if !s.faint
                && let Some(sum) = summary(s, class)
            {
                legend.push(sum);
            }
        }
        let said: Vec<String> = legend.iter().map(words).collect();
        let desc = format!("{} ({zone})", said.join("; "));
        let mut svg = String::new();
        let _ = write!(
            svg,
            r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-labelledby="{id}-t {id}-d"><title id="{id}-t">{title}</title><desc id="{id}-d">{desc}</desc>"#,
            id = esc(self.id),
            title = esc(self.title),
            desc = esc(&desc),
        );
        svg.push_str(r#"<g class="grid" aria-hidden="true">"#);
        for v in [0.0, 25.0, 50.0, 75.0, 100.0] {
            let y = Self::y(v);
            let _ = write!(
                svg,
                r#"<line x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}"/><text class="yl" x="{:.1}" y="{:.1}">{}</text>"#,
                W - RIGHT,
                LEFT - 4.0,
                y + 3.5,
                pct(v)
            );
        }
        for (t, label) in ticks(self.from, self.to, self.tz) {
            let x = self.x(t * 1000);
            let _ = write!(
                svg,
                r#"<line class="xt" x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{:.1}"/><text class="xl" x="{x:.1}" y="{:.1}">{}</text>"#,
                H - BOTTOM,
                H - 8.0,
                esc(&label)
            );
        }
        svg.push_str("</g>");
        if let Some(limit) = self.limit.filter(|l| (0.0..=100.0).contains(l)) {
            let y = Self::y(limit);
            let _ = write!(
                svg,
                r#"<line class="limit" aria-hidden="true" x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}"/>"#,
                W - RIGHT
            );
        }
        svg.push_str(&paths);
        svg.push_str("</svg>");
        Some(Drawn { svg, legend, zone })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn ticks_fall_on_round_local_times() {
        let shanghai = chrono_tz::Asia::Shanghai;
        let t = ticks(
            at("2026-01-17T01:07:00Z"),
            at("2026-01-17T02:07:00Z"),
            shanghai,
        );
        let labels: Vec<&str> = t.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["09:15", "09:30", "09:45", "10:00"]);
        let day = ticks(
            at("2026-01-16T02:07:00Z"),
            at("2026-01-17T02:07:00Z"),
            shanghai,
        );
        let labels: Vec<&str> = day.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["12:00", "18:00", "00:00", "06:00"]);
        let month = ticks(
            at("2026-01-01T00:00:00Z"),
            at("2026-01-31T00:00:00Z"),
            shanghai,
        );
        assert!(month.len() <= 6 && month.len() >= 3, "{month:?}");
    }

    #[test]
    fn lines_bridge_the_usual_spacing_but_not_an_outage() {
        let every_5_min: Vec<(i64, f64)> = (0..10).map(|i| (i * 300_000, 1.0)).collect();
        assert_eq!(bridge(&every_5_min, 60_000), 900_000);
        assert_eq!(bridge(&[(0, 1.0)], 60_000), 180_000);
    }

    #[test]
    fn thinning_keeps_means_or_maxima() {
        let pts: Vec<(i64, f64)> = (0..10).map(|i| (i, i as f64)).collect();
        assert_eq!(
            thin(&pts, 5, false),
            [(0, 0.5), (2, 2.5), (4, 4.5), (6, 6.5), (8, 8.5)]
        );
        assert_eq!(thin(&pts, 5, true)[0], (0, 1.0));
        assert_eq!(thin(&pts, 20, false).len(), 10);
    }

    #[test]
    fn a_chart_says_what_it_shows() {
        let from = at("2026-01-17T00:00:00Z");
        let to = at("2026-01-17T01:00:00Z");
        let m = |min: i64| from.timestamp_millis() + min * 60_000;
        let chart = Chart {
            id: "cpu",
            title: "CPU <over> 1 h",
            series: vec![
                Series {
                    label: "CPU".into(),
                    points: vec![(m(0), 20.0), (m(1), 40.0), (m(30), 60.0)],
                    peak: Some(98.0),
                    faint: false,
                },
                Series {
                    label: "peak".into(),
                    points: vec![(m(0), 98.0)],
                    peak: None,
                    faint: true,
                },
            ],
            limit: Some(90.0),
            from,
            to,
            step: 60,
            tz: chrono_tz::Asia::Shanghai,
        };
        let words = |s: &Summary| format!("{}: avg {}, max {}", s.label, pct(s.avg), pct(s.max));
        let drawn = chart.draw(&words).unwrap();
        assert_eq!(drawn.zone, "UTC+8");
        assert_eq!(drawn.legend.len(), 1);
        assert!(
            drawn
                .svg
                .contains("<title id=\"cpu-t\">CPU &lt;over&gt; 1 h</title>")
        );
        assert!(
            drawn
                .svg
                .contains("<desc id=\"cpu-d\">CPU: avg 40%, max 98% (UTC+8)</desc>")
        );
        // The gap between minute 1 and minute 30 is not bridged.
        let line = drawn.svg.split("class=\"line s0\" d=\"").nth(1).unwrap();
        let line = line.split('"').next().unwrap();
        assert_eq!(line.matches('M').count(), 2, "{line}");
        assert!(drawn.svg.contains("class=\"limit\""));
        let empty = Chart {
            series: vec![],
            ..chart
        };
        assert!(empty.draw(&words).is_none());
    }
}
