//! How times and schedules read on the page: local time in the service's zone (always with
//! the zone named), UTC on hover, and relative times at minute precision.
use crate::domain::schedule::ScheduleKind;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::i18n::Lang;
use crate::clock::from_ms;

/// One moment as the templates show it.
#[derive(Debug, Clone)]
pub struct When {
    /// `2026-11-21 16:05:02 UTC+8`, in the service's zone.
    pub local: String,
    /// `2026-11-21 08:05:02 UTC`, for the title attribute.
    pub utc: String,
    /// RFC 3339, for `<time datetime>`.
    pub iso: String,
    /// "3 min ago", "in 5 min".
    pub rel: String,
}

impl When {
    pub fn new(t: DateTime<Utc>, tz: Tz, now: DateTime<Utc>, lang: Lang) -> Self {
        Self {
            local: local(t, tz),
            utc: utc(t),
            iso: t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            rel: lang.relative((t - now).num_seconds()),
        }
    }

    pub fn from_ms(ms: i64, tz: Tz, now: DateTime<Utc>, lang: Lang) -> Self {
        Self::new(from_ms(ms), tz, now, lang)
    }
}

pub fn local(t: DateTime<Utc>, tz: Tz) -> String {
    crate::domain::zone::local_stamp(t, tz)
}

pub fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The stored columns of a schedule, as read from a service row.
pub struct ScheduleCols<'a> {
    pub kind: ScheduleKind,
    pub period_secs: Option<i64>,
    pub at_time: Option<&'a str>,
    pub cron_expr: Option<&'a str>,
    pub timezone: &'a str,
    pub grace_secs: i64,
}

/// "every 2 h, grace 5 min", "daily 16:05 Asia/Shanghai, grace 10 min",
/// "cron `0 3 * * 1-5` Europe/Berlin, grace 5 min". Built from the columns, without
/// parsing the cron expression again: the list renders thousands of these.
pub fn describe(s: &ScheduleCols<'_>, lang: Lang) -> String {
    // An empty zone means the page names it once for every row.
    let zone = |text: String| {
        if s.timezone.is_empty() {
            text
        } else {
            format!("{text} · {}", s.timezone)
        }
    };
    let mut out = match s.kind {
        ScheduleKind::Interval => lang.every(&lang.duration(s.period_secs.unwrap_or(0))),
        ScheduleKind::Daily => lang
            .daily(s.at_time.unwrap_or("?"), s.timezone)
            .trim_end()
            .to_owned(),
        ScheduleKind::Cron => {
            let expr = s.cron_expr.unwrap_or("?");
            match super::cron_words::describe(expr, lang) {
                Some(words) => zone(format!("{words} · {expr}")),
                None => zone(format!("cron {expr}")),
            }
        }
    };
    out.push_str(&lang.grace_suffix(&lang.duration(s.grace_secs)));
    out
}

/// The most used zones first in the picker; the full list follows.
pub const COMMON_ZONES: &[&str] = &[
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Asia/Kolkata",
    "Asia/Dubai",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Moscow",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Australia/Sydney",
    "UTC",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::schedule::Schedule;

    fn cols<'a>(
        kind: &'a str,
        period: Option<i64>,
        at: Option<&'a str>,
        cron: Option<&'a str>,
        tz: &'a str,
    ) -> ScheduleCols<'a> {
        ScheduleCols {
            kind: kind.parse().expect("test kind"),
            period_secs: period,
            at_time: at,
            cron_expr: cron,
            timezone: tz,
            grace_secs: 300,
        }
    }

    #[test]
    fn english_matches_the_api_description_plus_grace() {
        let berlin = chrono_tz::Europe::Berlin;
        let cases = [
            (
                cols("interval", Some(7200), None, None, "Europe/Berlin"),
                Schedule::interval(chrono::TimeDelta::seconds(7200)).unwrap(),
            ),
            (
                cols("interval", Some(125), None, None, "Europe/Berlin"),
                Schedule::interval(chrono::TimeDelta::seconds(125)).unwrap(),
            ),
            (
                cols("daily", None, Some("16:05"), None, "Europe/Berlin"),
                Schedule::daily("16:05").unwrap(),
            ),
        ];
        for (c, schedule) in cases {
            assert_eq!(
                describe(&c, Lang::En),
                format!("{}, grace 5 min", schedule.describe(berlin))
            );
        }
        assert_eq!(
            describe(
                &cols("daily", None, Some("16:05"), None, "Asia/Shanghai"),
                Lang::Zh
            ),
            "每天 16:05 Asia/Shanghai，宽限 5 分钟"
        );
        // Cron in words beside the expression, no backticks.
        let weekdays = cols("cron", None, None, Some("30 2 * * 1-5"), "Europe/Berlin");
        assert_eq!(
            describe(&weekdays, Lang::En),
            "weekdays at 02:30 · 30 2 * * 1-5 · Europe/Berlin, grace 5 min"
        );
        assert_eq!(
            describe(&weekdays, Lang::Zh),
            "工作日 02:30 · 30 2 * * 1-5 · Europe/Berlin，宽限 5 分钟"
        );
        let odd = cols("cron", None, None, Some("0 3 1-7 * 1"), "UTC");
        assert_eq!(
            describe(&odd, Lang::En),
            "cron 0 3 1-7 * 1 · UTC, grace 5 min"
        );
    }

    #[test]
    fn common_zones_are_real() {
        for z in COMMON_ZONES {
            assert!(z.parse::<Tz>().is_ok(), "{z}");
        }
    }
}
