//! A service's schedule and the times its pings are due.
//!
//! # Early pings
//!
//! Clocks drift, and a job that finishes at 16:04:58 for a 16:05 run has not missed it.
//! A ping therefore satisfies every occurrence `o` with `o <= ping + tol(o)`, where
//! `tol(o) = min(EARLY_TOLERANCE, gap_to_next_occurrence(o) / 4)`. The quarter-gap cap
//! keeps a ping for one run of a frequent schedule (every minute) from also counting as
//! the next run.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use sea_orm::DeriveValueType;
use serde::{Deserialize, Serialize};

use super::closed_set;
use super::cron::{CronError, CronExpr};
use super::problem::{FieldError, Problem};

/// How early a ping may arrive and still count for the upcoming daily or cron occurrence.
pub const EARLY_TOLERANCE: TimeDelta = TimeDelta::seconds(60);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error(transparent)]
    Cron(#[from] CronError),
    #[error("expected HH:MM, e.g. 16:05")]
    BadTimeOfDay,
    #[error("unknown time zone '{0}'; use an IANA name such as Asia/Shanghai")]
    UnknownTimeZone(String),
    #[error("the interval must be at least one second")]
    IntervalTooShort,
}

/// A wall-clock time of day at minute precision, 00:00 to 23:59.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LocalTime {
    hour: u8,
    minute: u8,
}

impl LocalTime {
    pub fn new(hour: u8, minute: u8) -> Result<LocalTime, ScheduleError> {
        if hour < 24 && minute < 60 {
            Ok(LocalTime { hour, minute })
        } else {
            Err(ScheduleError::BadTimeOfDay)
        }
    }

    /// Strict `HH:MM`: `9:05` and `16:5` are refused so that what is stored is what is shown.
    pub fn parse(s: &str) -> Result<LocalTime, ScheduleError> {
        let two_digits = |t: &str| {
            (t.len() == 2 && t.bytes().all(|b| b.is_ascii_digit()))
                .then(|| t.parse::<u8>().ok())
                .flatten()
        };
        let (h, m) = s
            .trim()
            .split_once(':')
            .ok_or(ScheduleError::BadTimeOfDay)?;
        match (two_digits(h), two_digits(m)) {
            (Some(hour), Some(minute)) => Self::new(hour, minute),
            _ => Err(ScheduleError::BadTimeOfDay),
        }
    }

    pub fn hour(&self) -> u8 {
        self.hour
    }

    pub fn minute(&self) -> u8 {
        self.minute
    }

    /// The equivalent `M H * * *`, so a daily schedule shares cron's DST handling.
    fn as_cron(&self) -> Option<CronExpr> {
        CronExpr::parse(&format!("{} {} * * *", self.minute, self.hour)).ok()
    }
}

impl FromStr for LocalTime {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for LocalTime {
    type Error = ScheduleError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<LocalTime> for String {
    fn from(time: LocalTime) -> String {
        time.to_string()
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

/// Which of the three schedules a service has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, DeriveValueType)]
#[serde(rename_all = "lowercase")]
#[sea_orm(value_type = "String")]
pub enum ScheduleKind {
    Interval,
    Daily,
    Cron,
}

closed_set!(ScheduleKind, "kind", {
    Interval => "interval",
    Daily => "daily",
    Cron => "cron",
});

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    Interval { period: TimeDelta },
    Daily { at: LocalTime },
    Cron { expr: CronExpr },
}

impl Schedule {
    pub fn interval(period: TimeDelta) -> Result<Schedule, ScheduleError> {
        if period < TimeDelta::seconds(1) {
            return Err(ScheduleError::IntervalTooShort);
        }
        Ok(Schedule::Interval { period })
    }

    pub fn daily(at: &str) -> Result<Schedule, ScheduleError> {
        Ok(Schedule::Daily {
            at: LocalTime::parse(at)?,
        })
    }

    pub fn cron(expr: &str) -> Result<Schedule, ScheduleError> {
        Ok(Schedule::Cron {
            expr: CronExpr::parse(expr)?,
        })
    }

    /// Build a schedule from its parts as a request, a form or a stored row has them.
    /// Without a kind, the part given decides (`cron`, then `at`, then `period`).
    /// The error names the field that is wrong.
    pub fn from_parts(
        kind: Option<&str>,
        period_secs: Option<i64>,
        at: Option<&str>,
        cron: Option<&str>,
    ) -> Result<Schedule, FieldError> {
        let kind = match kind.map(|k| k.trim().to_lowercase()) {
            Some(k) => k
                .parse::<ScheduleKind>()
                .map_err(|_| FieldError::new("kind", Problem::UnknownKind { value: k }))?,
            None if cron.is_some() => ScheduleKind::Cron,
            None if at.is_some() => ScheduleKind::Daily,
            None if period_secs.is_some() => ScheduleKind::Interval,
            None => return Err(FieldError::new("kind", Problem::KindRequired)),
        };
        Self::of_kind(kind, period_secs, at, cron)
    }

    /// Build a schedule of a known kind; parts of other kinds are ignored.
    pub fn of_kind(
        kind: ScheduleKind,
        period_secs: Option<i64>,
        at: Option<&str>,
        cron: Option<&str>,
    ) -> Result<Schedule, FieldError> {
        let missing = |field| FieldError::new(field, Problem::RequiredFor(kind));
        match kind {
            ScheduleKind::Interval => {
                let secs = period_secs.ok_or_else(|| missing("period"))?;
                let secs = super::parse_duration_secs("period", secs)?;
                Ok(Schedule::Interval {
                    period: TimeDelta::seconds(secs),
                })
            }
            ScheduleKind::Daily => {
                let at = at.ok_or_else(|| missing("at"))?;
                Schedule::daily(at).map_err(|e| FieldError::new("at", e))
            }
            ScheduleKind::Cron => {
                let cron = cron.ok_or_else(|| missing("cron"))?;
                Schedule::cron(cron).map_err(|e| FieldError::new("cron", e))
            }
        }
    }

    /// The fixed occurrences after `after`, in order: what the previews list. Intervals
    /// have none.
    pub fn upcoming(
        &self,
        after: DateTime<Utc>,
        tz: Tz,
    ) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        let mut cursor = after;
        std::iter::from_fn(move || {
            let next = self.next_occurrence_after(cursor, tz)?;
            cursor = next;
            Some(next)
        })
    }

    pub fn kind(&self) -> ScheduleKind {
        match self {
            Schedule::Interval { .. } => ScheduleKind::Interval,
            Schedule::Daily { .. } => ScheduleKind::Daily,
            Schedule::Cron { .. } => ScheduleKind::Cron,
        }
    }

    /// The first fixed occurrence strictly after `after`; intervals have none.
    pub fn next_occurrence_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Interval { .. } => None,
            Schedule::Daily { at } => at.as_cron()?.next_after(after, tz),
            Schedule::Cron { expr } => expr.next_after(after, tz),
        }
    }

    /// When the next ping is due after one arrived at `ping_at`: for daily and cron, the
    /// first occurrence the ping does not satisfy (see the module docs on early pings).
    pub fn next_due_after_ping(&self, ping_at: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        if let Schedule::Interval { period } = self {
            return ping_at.checked_add_signed(*period);
        }
        let mut occurrence = self.next_occurrence_after(ping_at, tz)?;
        // Each pass moves past a satisfied occurrence, and only occurrences within
        // EARLY_TOLERANCE of the ping can be satisfied, so this ends within a few passes.
        loop {
            if occurrence > ping_at.checked_add_signed(EARLY_TOLERANCE)? {
                return Some(occurrence);
            }
            let next = self.next_occurrence_after(occurrence, tz);
            let tolerance = next.map_or(EARLY_TOLERANCE, |n| {
                ((n - occurrence) / 4).min(EARLY_TOLERANCE)
            });
            if occurrence > ping_at.checked_add_signed(tolerance)? {
                return Some(occurrence);
            }
            occurrence = next?;
        }
    }

    /// The first due time when nothing has been heard yet in this schedule: after the
    /// service is resumed or its schedule is edited.
    pub fn first_due(&self, now: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Interval { period } => now.checked_add_signed(*period),
            _ => self.next_occurrence_after(now, tz),
        }
    }

    /// A short English description, e.g. "every 90 min" or "daily 16:05 Asia/Shanghai".
    pub fn describe(&self, tz: Tz) -> String {
        match self {
            Schedule::Interval { period } => format!("every {}", describe_period(*period)),
            Schedule::Daily { at } => format!("daily {at} {}", tz.name()),
            Schedule::Cron { expr } => format!("cron `{expr}` {}", tz.name()),
        }
    }
}

pub fn parse_timezone(name: &str) -> Result<Tz, ScheduleError> {
    name.trim()
        .parse::<Tz>()
        .map_err(|_| ScheduleError::UnknownTimeZone(name.to_owned()))
}

/// One unit when it says the period exactly and reads well ("90 min", "2 h", "3 d"),
/// otherwise the non-zero parts largest first ("1 d 2 h", "2 min 5 s").
fn describe_period(period: TimeDelta) -> String {
    const MINUTE: i64 = 60;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;
    let secs = period.num_seconds();
    if secs > 0 && secs % DAY == 0 {
        return format!("{} d", secs / DAY);
    }
    if secs < DAY && secs % HOUR == 0 {
        return format!("{} h", secs / HOUR);
    }
    if secs < DAY && secs % MINUTE == 0 {
        return format!("{} min", secs / MINUTE);
    }
    if secs < 2 * MINUTE {
        return format!("{secs} s");
    }
    let parts = [
        (secs / DAY, "d"),
        (secs % DAY / HOUR, "h"),
        (secs % HOUR / MINUTE, "min"),
        (secs % MINUTE, "s"),
    ];
    parts
        .iter()
        .filter(|(n, _)| *n != 0)
        .map(|(n, unit)| format!("{n} {unit}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;

    const SHANGHAI: Tz = chrono_tz::Asia::Shanghai;
    const BERLIN: Tz = chrono_tz::Europe::Berlin;

    fn utc(s: &str) -> DateTime<Utc> {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
            .expect("test timestamp")
            .and_utc()
    }

    fn daily(at: &str) -> Schedule {
        Schedule::daily(at).expect("valid time")
    }

    fn cron(expr: &str) -> Schedule {
        Schedule::cron(expr).expect("valid expression")
    }

    #[test]
    fn local_time_is_strict_hh_mm() {
        assert_eq!(
            LocalTime::parse("16:05").map(|t| t.to_string()),
            Ok("16:05".into())
        );
        assert_eq!(
            LocalTime::parse("00:00").map(|t| (t.hour(), t.minute())),
            Ok((0, 0))
        );
        assert_eq!(
            LocalTime::parse(" 23:59 ").map(|t| t.to_string()),
            Ok("23:59".into())
        );
        for bad in [
            "9:05", "16:5", "24:00", "12:60", "ab:cd", "", "1605", "16:05:00", "+1:05",
        ] {
            assert_eq!(
                LocalTime::parse(bad).map_err(|e| e.to_string()),
                Err("expected HH:MM, e.g. 16:05".into()),
                "for {bad:?}"
            );
        }
        assert_eq!("07:30".parse::<LocalTime>(), LocalTime::new(7, 30));
        assert_eq!(LocalTime::new(24, 0), Err(ScheduleError::BadTimeOfDay));
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert_eq!(parse_timezone("Asia/Shanghai"), Ok(SHANGHAI));
        assert_eq!(parse_timezone("UTC"), Ok(Tz::UTC));
        assert_eq!(
            parse_timezone("Mars/Base").map_err(|e| e.to_string()),
            Err("unknown time zone 'Mars/Base'; use an IANA name such as Asia/Shanghai".into())
        );
    }

    #[test]
    fn constructors_report_what_is_wrong() {
        assert_eq!(
            Schedule::cron("61 * * * *").map_err(|e| e.to_string()),
            Err("minute field: 61 is out of range 0-59".into())
        );
        assert_eq!(
            Schedule::daily("4pm").map_err(|e| e.to_string()),
            Err("expected HH:MM, e.g. 16:05".into())
        );
        assert_eq!(
            Schedule::interval(TimeDelta::zero()),
            Err(ScheduleError::IntervalTooShort)
        );
        assert_eq!(daily("16:05").kind(), ScheduleKind::Daily);
        assert_eq!(cron("* * * * *").kind(), ScheduleKind::Cron);
    }

    #[test]
    fn daily_is_local_wall_clock_time() {
        let schedule = daily("16:05");
        let first = schedule.next_occurrence_after(utc("2026-06-01 00:00:00"), SHANGHAI);
        assert_eq!(first, Some(utc("2026-06-01 08:05:00")));
        let second = schedule.next_occurrence_after(utc("2026-06-01 08:05:00"), SHANGHAI);
        assert_eq!(second, Some(utc("2026-06-02 08:05:00")));
        assert_eq!(
            schedule.first_due(utc("2026-06-01 09:00:00"), SHANGHAI),
            Some(utc("2026-06-02 08:05:00"))
        );
    }

    #[test]
    fn a_ping_shortly_before_an_occurrence_counts_for_it() {
        let schedule = daily("16:05");
        let due = |ping: &str| schedule.next_due_after_ping(utc(ping), SHANGHAI);
        let today = Some(utc("2026-06-01 08:05:00"));
        let tomorrow = Some(utc("2026-06-02 08:05:00"));
        assert_eq!(due("2026-06-01 08:04:58"), tomorrow);
        assert_eq!(due("2026-06-01 08:04:00"), tomorrow);
        assert_eq!(due("2026-06-01 08:03:59"), today);
        assert_eq!(due("2026-06-01 04:00:00"), today);
        assert_eq!(due("2026-06-01 08:05:00"), tomorrow);
        assert_eq!(due("2026-06-01 08:10:00"), tomorrow);
    }

    #[test]
    fn tolerance_shrinks_for_frequent_schedules() {
        let every_minute = cron("* * * * *");
        let due = |ping: &str| every_minute.next_due_after_ping(utc(ping), Tz::UTC);
        assert_eq!(due("2026-06-01 12:00:30"), Some(utc("2026-06-01 12:01:00")));
        // A quarter of the one-minute gap is 15 s.
        assert_eq!(due("2026-06-01 12:00:45"), Some(utc("2026-06-01 12:02:00")));
        assert_eq!(due("2026-06-01 12:00:44"), Some(utc("2026-06-01 12:01:00")));

        let every_five = cron("*/5 * * * *");
        let due = |ping: &str| every_five.next_due_after_ping(utc(ping), Tz::UTC);
        assert_eq!(due("2026-06-01 12:04:10"), Some(utc("2026-06-01 12:10:00")));
        assert_eq!(due("2026-06-01 12:03:59"), Some(utc("2026-06-01 12:05:00")));
    }

    #[test]
    fn interval_is_due_one_period_after_the_ping() {
        let schedule = Schedule::interval(TimeDelta::minutes(120)).expect("valid interval");
        let ping = utc("2026-06-01 12:00:30");
        assert_eq!(
            schedule.next_due_after_ping(ping, SHANGHAI),
            Some(utc("2026-06-01 14:00:30"))
        );
        assert_eq!(
            schedule.first_due(ping, SHANGHAI),
            Some(utc("2026-06-01 14:00:30"))
        );
        assert_eq!(schedule.next_occurrence_after(ping, SHANGHAI), None);
    }

    #[test]
    fn daily_and_cron_follow_cron_dst_rules() {
        for schedule in [daily("02:30"), cron("30 2 * * *")] {
            let next = |s: &str| schedule.next_occurrence_after(utc(s), BERLIN);
            // Spring forward: once, right after the gap.
            assert_eq!(
                next("2026-03-28 12:00:00"),
                Some(utc("2026-03-29 01:00:00"))
            );
            assert_eq!(
                next("2026-03-29 01:00:00"),
                Some(utc("2026-03-30 00:30:00"))
            );
            // Fall back: the first 02:30 only.
            assert_eq!(
                next("2026-10-24 12:00:00"),
                Some(utc("2026-10-25 00:30:00"))
            );
            assert_eq!(
                next("2026-10-25 00:30:00"),
                Some(utc("2026-10-26 01:30:00"))
            );
        }
        let hourly = cron("0 * * * *");
        assert_eq!(
            hourly.next_due_after_ping(utc("2026-10-25 00:59:30"), BERLIN),
            Some(utc("2026-10-25 02:00:00"))
        );
    }

    #[test]
    fn built_from_parts_naming_the_wrong_field() {
        let err = |k: Option<&str>, p, a, c| Schedule::from_parts(k, p, a, c).unwrap_err();
        assert_eq!(
            err(None, None, None, None).to_string(),
            "kind: is required: interval, daily or cron"
        );
        assert_eq!(err(Some("hourly"), None, None, None).field, "kind");
        assert_eq!(
            err(Some("interval"), None, None, None).to_string(),
            "period: is required for an interval service (seconds)"
        );
        assert_eq!(err(Some("interval"), Some(0), None, None).field, "period");
        assert_eq!(
            err(Some("daily"), None, Some("4pm"), None).to_string(),
            "at: expected HH:MM, e.g. 16:05"
        );
        assert_eq!(
            err(None, None, None, Some("61 * * * *")).to_string(),
            "cron: minute field: 61 is out of range 0-59"
        );
        assert_eq!(
            Schedule::from_parts(Some(" Daily "), None, Some("16:05"), None),
            Ok(daily("16:05"))
        );
        assert_eq!(
            Schedule::from_parts(None, Some(60), None, None),
            Schedule::interval(TimeDelta::seconds(60)).map_err(|_| unreachable!())
        );
    }

    #[test]
    fn upcoming_lists_occurrences_in_order() {
        let times: Vec<_> = cron("0 */6 * * *")
            .upcoming(utc("2026-06-01 05:00:00"), Tz::UTC)
            .take(3)
            .collect();
        assert_eq!(
            times,
            [
                utc("2026-06-01 06:00:00"),
                utc("2026-06-01 12:00:00"),
                utc("2026-06-01 18:00:00")
            ]
        );
        let interval = Schedule::interval(TimeDelta::seconds(60)).expect("valid interval");
        assert_eq!(
            interval
                .upcoming(utc("2026-06-01 05:00:00"), Tz::UTC)
                .next(),
            None
        );
    }

    #[test]
    fn descriptions() {
        let every = |secs: i64| {
            Schedule::interval(TimeDelta::seconds(secs))
                .expect("valid interval")
                .describe(SHANGHAI)
        };
        assert_eq!(every(2 * 3600), "every 2 h");
        assert_eq!(every(90 * 60), "every 90 min");
        assert_eq!(every(45), "every 45 s");
        assert_eq!(every(90), "every 90 s");
        assert_eq!(every(125), "every 2 min 5 s");
        assert_eq!(every(26 * 3600), "every 1 d 2 h");
        assert_eq!(every(2 * 86_400), "every 2 d");
        assert_eq!(every(86_400 + 30 * 60), "every 1 d 30 min");
        assert_eq!(
            daily("16:05").describe(SHANGHAI),
            "daily 16:05 Asia/Shanghai"
        );
        assert_eq!(
            cron("0 3 * * 1-5").describe(BERLIN),
            "cron `0 3 * * 1-5` Europe/Berlin"
        );
    }
}
