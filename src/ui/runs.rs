//! A service's job runs on its page: the table (paged like the ping log), the duration
//! sparkline drawn on the server as inline SVG with its summary in words, and the
//! streak and open-run lines of the status card.
use std::fmt::Write;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::format::When;
use super::i18n::Lang;
use crate::domain::runs::RunOutcome;
use crate::entity::{runs, services::Model};

/// Runs shown per page of the table.
pub const RUNS_PER_PAGE: u64 = 20;
/// Runs the sparkline draws.
pub const SPARK_RUNS: u64 = 50;

pub struct RunView {
    pub started: When,
    pub ended: Option<When>,
    pub duration: Option<String>,
    pub exit_status: Option<i32>,
    /// The outcome's key, for the colour class.
    pub outcome: &'static str,
    pub outcome_label: &'static str,
    pub output: String,
    pub rid: Option<String>,
    /// Not finished yet (running or hung); an abandoned run never ends.
    pub open: bool,
}

impl RunView {
    pub fn new(r: runs::Model, tz: Tz, now: DateTime<Utc>, lang: Lang) -> Self {
        Self {
            started: When::from_ms(r.started_at, tz, now, lang),
            ended: r.ended_at.map(|ms| When::from_ms(ms, tz, now, lang)),
            duration: r.duration_ms.map(|ms| lang.run_duration(ms)),
            exit_status: r.exit_status,
            outcome: outcome_class(r.outcome),
            outcome_label: lang.run_outcome(r.outcome),
            open: matches!(r.outcome, RunOutcome::Running | RunOutcome::Hung),
            output: r.output,
            rid: r.rid,
        }
    }
}

fn outcome_class(o: RunOutcome) -> &'static str {
    match o {
        RunOutcome::Running => "running",
        RunOutcome::Hung => "hung",
        RunOutcome::Success => "success",
        RunOutcome::Failure => "failure",
        RunOutcome::TooShort => "too-short",
        RunOutcome::TooLong => "too-long",
        RunOutcome::Abandoned => "abandoned",
    }
}

/// The sparkline: the SVG (empty when there is nothing to draw) and its summary.
pub struct Sparkline {
    pub svg: String,
    pub summary: String,
}

const W: f64 = 300.0;
const H: f64 = 48.0;
const PAD: f64 = 4.0;

/// The middle value of sorted durations (the mean of the two middle ones when even).
fn median(sorted: &[i64]) -> i64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }
}

/// Durations (ms, oldest first) as a line over bars from zero, scaled to the longest,
/// with the bounds drawn as dashed lines when they fall in range.
pub fn sparkline(
    durations: &[i64],
    min_run_secs: Option<i64>,
    max_run_secs: Option<i64>,
    lang: Lang,
) -> Option<Sparkline> {
    if durations.is_empty() {
        return None;
    }
    let mut sorted = durations.to_vec();
    sorted.sort_unstable();
    let (lo, hi) = (sorted[0], sorted[sorted.len() - 1]);
    let summary = lang.run_times_summary(
        durations.len(),
        &lang.run_duration(lo),
        &lang.run_duration(median(&sorted)),
        &lang.run_duration(hi),
    );
    let top = hi.max(1) as f64;
    let y = |ms: i64| H - PAD - (ms.max(0) as f64 / top) * (H - 2.0 * PAD);
    let n = durations.len();
    let step = if n > 1 {
        (W - 2.0 * PAD) / (n - 1) as f64
    } else {
        0.0
    };
    let x = |i: usize| {
        if n > 1 {
            PAD + i as f64 * step
        } else {
            W / 2.0
        }
    };
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="spark" viewBox="0 0 {W} {H}" role="img" aria-label="{}"><title>{}</title>"#,
        askama_escape(&summary),
        askama_escape(&summary)
    );
    for (bound, class) in [(min_run_secs, "bound min"), (max_run_secs, "bound max")] {
        if let Some(secs) = bound {
            let ms = secs * 1000;
            if ms <= hi {
                let _ = write!(
                    svg,
                    r#"<line class="{class}" x1="0" x2="{W}" y1="{yy:.1}" y2="{yy:.1}"/>"#,
                    yy = y(ms)
                );
            }
        }
    }
    let mut points = String::new();
    for (i, ms) in durations.iter().enumerate() {
        let _ = write!(points, "{:.1},{:.1} ", x(i), y(*ms));
    }
    let _ = write!(
        svg,
        r#"<polyline class="line" points="{}"/>"#,
        points.trim_end()
    );
    // The newest run stands out.
    let _ = write!(
        svg,
        r#"<circle class="last" cx="{:.1}" cy="{:.1}" r="2.5"/></svg>"#,
        x(n - 1),
        y(durations[n - 1])
    );
    Some(Sparkline { svg, summary })
}

/// Text for an attribute or element of hand-built SVG.
fn askama_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The status card's run lines: the failure streak and the open runs.
pub fn run_lines(
    m: &Model,
    oldest_open: Option<i64>,
    now: DateTime<Utc>,
    lang: Lang,
) -> (Option<String>, Option<String>) {
    let streak = (m.fail_streak > 0).then(|| lang.fail_streak(m.fail_streak, m.fail_after));
    let running = (m.open_runs > 0)
        .then(|| m.run_started_at.or(oldest_open))
        .flatten()
        .map(|ms| lang.running_for((now.timestamp_millis() - ms) / 1000, m.open_runs));
    (streak, running)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sparkline_says_what_it_draws() {
        let s = sparkline(&[3000, 5000, 9000, 4000], None, Some(8), Lang::En).unwrap();
        assert_eq!(
            s.summary,
            "Last 4 runs: shortest 3 s, median 4.5 s, longest 9 s"
        );
        assert!(s.svg.starts_with(r#"<svg class="spark""#));
        assert!(s.svg.contains(r#"role="img" aria-label="Last 4 runs"#));
        let points = s.svg.split(r#"points=""#).nth(1).unwrap();
        let points = &points[..points.find('"').unwrap()];
        assert_eq!(points.split(' ').count(), 4, "four points: {points}");
        assert!(s.svg.contains(r#"class="bound max""#));
        // The longest run touches the top; the bound below it.
        assert!(points.contains("198.7,4.0"), "{points}");
        assert!(points.starts_with("4.0,30.7"), "{points}");
        assert!(sparkline(&[], None, None, Lang::En).is_none());
        let one = sparkline(&[850], Some(60), None, Lang::Zh).unwrap();
        assert_eq!(one.summary, "上次运行：850 毫秒");
        assert!(
            !one.svg.contains("bound"),
            "a bound above every run is left out"
        );
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[1, 2, 3]), 2);
        assert_eq!(median(&[1, 2, 3, 5]), 2);
        assert_eq!(median(&[7]), 7);
    }
}
