//! Five-field crontab expressions with the semantics of Vixie cron as shipped by Debian
//! (and cronie), so that Heartbeats expects a job exactly when the real `cron` runs it.
//!
//! # Day-of-month and day-of-week
//!
//! Vixie cron marks a day field as "star" when its text *begins* with `*`; this includes
//! `*/2` and `*,5`, not only a bare `*`. When either day field is star, a day must match
//! both fields; when both are restricted, a day matches if *either* does. So
//! `0 0 1,15 * mon` runs on the 1st, the 15th and every Monday, while `0 0 */2 * mon`
//! runs only on Mondays with an odd day of the month.
//!
//! # Daylight saving time
//!
//! Vixie cron calls a job "wildcard" when its minute or hour field begins with `*`
//! (`0 * * * *`, `*/15 2 * * *`) and "fixed-time" otherwise (`30 2 * * *`). It treats the
//! two differently when the wall clock jumps, and so do we:
//!
//! * Spring forward (a local time that does not exist): a fixed-time job fires once,
//!   at the instant the gap ends (02:30 in a 02:00→03:00 gap fires at 03:00). A wildcard
//!   job simply has no run at the skipped wall-clock times; its other runs carry on, so
//!   an hourly job still runs every real hour.
//! * Fall back (a local time that occurs twice): a fixed-time job fires once, at the
//!   first occurrence. A wildcard job fires at both occurrences, so `0 * * * *` runs
//!   every real hour and `*/15 * * * *` every real quarter-hour through the repeat.

use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, MappedLocalTime, NaiveDate, NaiveDateTime, Offset, TimeDelta, TimeZone,
    Timelike, Utc,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::zone::gap_end;

/// How far ahead [`CronExpr::next_after`] looks before concluding that an expression
/// never fires (e.g. `0 0 30 2 *`). Five years covers every leap day.
const SEARCH_DAYS: u64 = 5 * 366;

/// Vixie cron treats a backward clock jump of up to three hours as a DST change, so a
/// fall-back whose repeated wall-clock times still matter lies at most this far ahead.
const MAX_REPEAT: TimeDelta = TimeDelta::hours(3);

const MONTH_NAMES: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAY_NAMES: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    #[error("empty cron expression")]
    Empty,
    #[error("expected 5 fields (minute hour day-of-month month day-of-week), found {found}")]
    FieldCount { found: usize },
    #[error("@reboot is not supported: it runs at boot, not on a schedule that can be watched")]
    Reboot,
    #[error(
        "unknown macro '{0}'; use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly"
    )]
    UnknownMacro(String),
    #[error("{field} field: missing value")]
    MissingValue { field: &'static str },
    #[error("{field} field: '{text}' is not a number")]
    NotANumber { field: &'static str, text: String },
    #[error("{field} field: unknown name '{name}'")]
    UnknownName { field: &'static str, name: String },
    #[error("{field} field: {value} is out of range {min}-{max}")]
    OutOfRange {
        field: &'static str,
        value: String,
        min: u8,
        max: u8,
    },
    #[error("{field} field: range {start}-{end} is reversed; the start must not be after the end")]
    ReversedRange {
        field: &'static str,
        start: u8,
        end: u8,
    },
    #[error("{field} field: step '{text}' is not a number")]
    BadStep { field: &'static str, text: String },
    #[error("{field} field: step must be at least 1")]
    ZeroStep { field: &'static str },
    #[error("{field} field: step {step} is larger than the field's {max} values")]
    StepTooLarge {
        field: &'static str,
        step: String,
        max: u8,
    },
    #[error("the expression is longer than {max} characters")]
    TooLong { max: usize },
    #[error(
        "'{0}' never fires (no fire time in the next five years, e.g. 30 February): the service could never alert"
    )]
    NeverFires(String),
}

/// Longer than any real crontab line; keeps a pasted list from being stored and parsed.
pub const MAX_LEN: usize = 200;

struct FieldSpec {
    name: &'static str,
    min: u8,
    max: u8,
    /// Names for the values `min`, `min + 1`, ... (months start at 1, weekdays at 0).
    names: &'static [&'static str],
}

impl FieldSpec {
    const fn new(name: &'static str, min: u8, max: u8, names: &'static [&'static str]) -> Self {
        FieldSpec {
            name,
            min,
            max,
            names,
        }
    }
}

const MINUTE: FieldSpec = FieldSpec::new("minute", 0, 59, &[]);
const HOUR: FieldSpec = FieldSpec::new("hour", 0, 23, &[]);
const DAY_OF_MONTH: FieldSpec = FieldSpec::new("day-of-month", 1, 31, &[]);
const MONTH: FieldSpec = FieldSpec::new("month", 1, 12, &MONTH_NAMES);
const DAY_OF_WEEK: FieldSpec = FieldSpec::new("day-of-week", 0, 7, &DAY_NAMES);

/// A parsed crontab schedule. Each field is a bit set indexed by the field's value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CronExpr {
    text: String,
    minutes: u64,
    hours: u64,
    days_of_month: u64,
    months: u64,
    /// Sunday is bit 0 only; a `7` in the text is folded into it.
    days_of_week: u64,
    dom_star: bool,
    dow_star: bool,
    /// Vixie's MIN_STAR | HR_STAR: decides how DST jumps treat the job.
    wildcard: bool,
}

impl CronExpr {
    /// Parse a crontab expression that fires at least once in five years.
    pub fn parse(s: &str) -> Result<CronExpr, CronError> {
        let expr = Self::parse_fields(s)?;
        // A fixed reference time, so validity does not depend on when it is checked;
        // five years hold every day-of-month, month and weekday combination but 29 Feb
        // on a given weekday, which no one schedules.
        let reference = DateTime::<Utc>::from_timestamp(946_684_800, 0)
            .ok_or_else(|| CronError::NeverFires(expr.text.clone()))?;
        if expr.next_after(reference, Tz::UTC).is_none() {
            return Err(CronError::NeverFires(expr.text));
        }
        Ok(expr)
    }

    fn parse_fields(s: &str) -> Result<CronExpr, CronError> {
        if s.chars().count() > MAX_LEN {
            return Err(CronError::TooLong { max: MAX_LEN });
        }
        let lowered = s.trim().to_ascii_lowercase();
        let fields: Vec<&str> = lowered.split_whitespace().collect();
        let first = *fields.first().ok_or(CronError::Empty)?;
        if first.starts_with('@') {
            if fields.len() != 1 {
                return Err(CronError::FieldCount {
                    found: fields.len(),
                });
            }
            let expanded = expand_macro(first)?;
            let mut expr = Self::from_fields(&expanded.split(' ').collect::<Vec<_>>())?;
            expr.text = first.to_owned();
            return Ok(expr);
        }
        Self::from_fields(&fields)
    }

    fn from_fields(fields: &[&str]) -> Result<CronExpr, CronError> {
        let [minute, hour, dom, month, dow] = fields else {
            return Err(CronError::FieldCount {
                found: fields.len(),
            });
        };
        let mut days_of_week = parse_field(dow, &DAY_OF_WEEK)?;
        if days_of_week & (1 << 7) != 0 {
            days_of_week = (days_of_week & !(1 << 7)) | 1;
        }
        Ok(CronExpr {
            text: fields.join(" "),
            minutes: parse_field(minute, &MINUTE)?,
            hours: parse_field(hour, &HOUR)?,
            days_of_month: parse_field(dom, &DAY_OF_MONTH)?,
            months: parse_field(month, &MONTH)?,
            days_of_week,
            dom_star: dom.starts_with('*'),
            dow_star: dow.starts_with('*'),
            wildcard: minute.starts_with('*') || hour.starts_with('*'),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first fire time strictly after `after`, with the fields read as wall-clock time
    /// in `tz` and DST handled as described in the module documentation. `None` when the
    /// expression does not fire within about five years.
    pub fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        // A wildcard job's second pass through a repeated hour lies at wall-clock times
        // *before* the wall clock at `after`, so start that much earlier when a fall-back
        // is coming up.
        let now_offset = utc_offset(tz, after);
        let later_offset = utc_offset(tz, after.checked_add_signed(MAX_REPEAT)?);
        let rewind = TimeDelta::seconds(i64::from((now_offset - later_offset).max(0)));
        let start = after
            .with_timezone(&tz)
            .naive_local()
            .checked_sub_signed(rewind)?
            .with_second(0)?
            .with_nanosecond(0)?;
        let limit = start
            .date()
            .checked_add_days(chrono::Days::new(SEARCH_DAYS))?;

        let mut best: Option<DateTime<Utc>> = None;
        let mut from = start;
        while let Some(local) = self.next_local_match(from, limit) {
            let (earliest, latest) = self.instants(local, tz);
            for instant in [earliest, latest].into_iter().flatten() {
                if instant > after && best.is_none_or(|b| instant < b) {
                    best = Some(instant);
                }
            }
            // Instants only run backwards inside a repeated stretch, and only for second
            // occurrences; once an earliest instant is past `after`, nothing later can beat
            // what we have.
            if earliest.is_some_and(|e| e > after) {
                break;
            }
            from = local.checked_add_signed(TimeDelta::minutes(1))?;
        }
        best
    }

    /// The instants at which the wall-clock minute `local` fires: none, one, or (for a
    /// wildcard job in a repeated stretch) two, earliest first.
    fn instants(
        &self,
        local: NaiveDateTime,
        tz: Tz,
    ) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        match tz.from_local_datetime(&local) {
            MappedLocalTime::Single(t) => (Some(t.to_utc()), None),
            MappedLocalTime::Ambiguous(a, b) => {
                let (first, second) = if a <= b { (a, b) } else { (b, a) };
                let second = self.wildcard.then(|| second.to_utc());
                (Some(first.to_utc()), second)
            }
            MappedLocalTime::None if self.wildcard => (None, None),
            MappedLocalTime::None => (gap_end(local, tz), None),
        }
    }

    /// The first wall-clock minute at or after `from` that the fields match, skipping
    /// whole months, days and hours that cannot match.
    fn next_local_match(&self, from: NaiveDateTime, limit: NaiveDate) -> Option<NaiveDateTime> {
        let mut date = from.date();
        let mut hour = from.hour();
        let mut minute = from.minute();
        loop {
            if date > limit {
                return None;
            }
            if !has_bit(self.months, date.month()) {
                date = first_of_next_month(date)?;
                (hour, minute) = (0, 0);
                continue;
            }
            if !self.day_matches(date) {
                date = date.succ_opt()?;
                (hour, minute) = (0, 0);
                continue;
            }
            let Some(h) = next_bit(self.hours, hour) else {
                date = date.succ_opt()?;
                (hour, minute) = (0, 0);
                continue;
            };
            if h != hour {
                (hour, minute) = (h, 0);
            }
            match next_bit(self.minutes, minute) {
                Some(m) => return date.and_hms_opt(hour, m, 0),
                None if hour == 23 => {
                    date = date.succ_opt()?;
                    (hour, minute) = (0, 0);
                }
                None => (hour, minute) = (hour + 1, 0),
            }
        }
    }

    fn day_matches(&self, date: NaiveDate) -> bool {
        let dom = has_bit(self.days_of_month, date.day());
        let dow = has_bit(self.days_of_week, date.weekday().num_days_from_sunday());
        if self.dom_star || self.dow_star {
            dom && dow
        } else {
            dom || dow
        }
    }
}

impl FromStr for CronExpr {
    type Err = CronError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for CronExpr {
    type Error = CronError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<CronExpr> for String {
    fn from(expr: CronExpr) -> String {
        expr.text
    }
}

impl fmt::Display for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn expand_macro(name: &str) -> Result<&'static str, CronError> {
    Ok(match name {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        "@reboot" => return Err(CronError::Reboot),
        other => return Err(CronError::UnknownMacro(other.to_owned())),
    })
}

fn parse_field(text: &str, spec: &FieldSpec) -> Result<u64, CronError> {
    let mut bits = 0u64;
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => (range, Some(parse_step(step, spec)?)),
            None => (item, None),
        };
        let (start, end) = if range == "*" {
            (spec.min, spec.max)
        } else if let Some((a, b)) = range.split_once('-') {
            let (start, end) = (parse_value(a, spec)?, parse_value(b, spec)?);
            if start > end {
                return Err(CronError::ReversedRange {
                    field: spec.name,
                    start,
                    end,
                });
            }
            (start, end)
        } else {
            let value = parse_value(range, spec)?;
            // Debian cron reads `a/n` as `a-max/n`.
            (value, if step.is_some() { spec.max } else { value })
        };
        let step = usize::from(step.unwrap_or(1));
        for value in (start..=end).step_by(step) {
            bits |= 1 << value;
        }
    }
    Ok(bits)
}

fn parse_step(text: &str, spec: &FieldSpec) -> Result<u8, CronError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CronError::BadStep {
            field: spec.name,
            text: text.to_owned(),
        });
    }
    // A step as wide as the field still selects its start (`10/60` is minute 10); wider
    // ones are typos or garbage.
    let span = spec.max - spec.min + 1;
    match text.parse::<u64>() {
        Ok(0) => Err(CronError::ZeroStep { field: spec.name }),
        Ok(step) if step <= u64::from(span) => Ok(step as u8),
        _ => Err(CronError::StepTooLarge {
            field: spec.name,
            step: text.to_owned(),
            max: span,
        }),
    }
}

fn parse_value(text: &str, spec: &FieldSpec) -> Result<u8, CronError> {
    if text.is_empty() {
        return Err(CronError::MissingValue { field: spec.name });
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        let out_of_range = || CronError::OutOfRange {
            field: spec.name,
            value: text.to_owned(),
            min: spec.min,
            max: spec.max,
        };
        let value = text.parse::<u8>().map_err(|_| out_of_range())?;
        return if (spec.min..=spec.max).contains(&value) {
            Ok(value)
        } else {
            Err(out_of_range())
        };
    }
    if !spec.names.is_empty() && text.bytes().all(|b| b.is_ascii_alphabetic()) {
        return spec
            .names
            .iter()
            .zip(spec.min..)
            .find_map(|(name, value)| (*name == text).then_some(value))
            .ok_or_else(|| CronError::UnknownName {
                field: spec.name,
                name: text.to_owned(),
            });
    }
    Err(CronError::NotANumber {
        field: spec.name,
        text: text.to_owned(),
    })
}

fn has_bit(bits: u64, index: u32) -> bool {
    index < 64 && bits & (1 << index) != 0
}

fn next_bit(bits: u64, from: u32) -> Option<u32> {
    let rest = bits.checked_shr(from)?.checked_shl(from)?;
    (rest != 0).then(|| rest.trailing_zeros())
}

fn first_of_next_month(date: NaiveDate) -> Option<NaiveDate> {
    match date.month() {
        12 => NaiveDate::from_ymd_opt(date.year().checked_add(1)?, 1, 1),
        m => NaiveDate::from_ymd_opt(date.year(), m + 1, 1),
    }
}

fn utc_offset(tz: Tz, at: DateTime<Utc>) -> i32 {
    tz.offset_from_utc_datetime(&at.naive_utc())
        .fix()
        .local_minus_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
            .expect("test timestamp")
            .and_utc()
    }

    fn cron(s: &str) -> CronExpr {
        CronExpr::parse(s).expect("valid expression")
    }

    /// The next `n` fire times after `from`, as "YYYY-MM-DD HH:MM" in UTC.
    fn fires(expr: &str, from: &str, tz: Tz, n: usize) -> Vec<String> {
        let expr = cron(expr);
        let mut at = utc(from);
        let mut out = Vec::new();
        for _ in 0..n {
            at = expr.next_after(at, tz).expect("fires");
            out.push(at.format("%Y-%m-%d %H:%M").to_string());
        }
        out
    }

    fn error(s: &str) -> String {
        CronExpr::parse(s)
            .expect_err("invalid expression")
            .to_string()
    }

    const BERLIN: Tz = chrono_tz::Europe::Berlin;

    #[test]
    fn display_is_the_normalized_text() {
        assert_eq!(
            cron("  */5   *  * *\tMON-fri ").to_string(),
            "*/5 * * * mon-fri"
        );
        assert_eq!(cron("@Daily").to_string(), "@daily");
        assert_eq!("0 3 * * 1-5".parse::<CronExpr>(), Ok(cron("0 3 * * 1-5")));
        assert_eq!(cron("0 3 * * 1-5").as_str(), "0 3 * * 1-5");
    }

    #[test]
    fn month_and_day_names_are_case_insensitive_and_work_in_ranges() {
        assert_eq!(cron("0 0 1 JAN-Mar *").months, 0b1110);
        assert_eq!(cron("0 0 * * mon-fri").days_of_week, 0b011_1110);
        assert_eq!(cron("0 0 * dec sun").months, 1 << 12);
        assert_eq!(cron("0 0 * * sat,sun").days_of_week, 0b100_0001);
    }

    #[test]
    fn ranges_steps_and_lists() {
        let expr = cron("*/15 9-17/4 1,10-12 * *");
        assert_eq!(expr.minutes, 1 | 1 << 15 | 1 << 30 | 1 << 45);
        assert_eq!(expr.hours, 1 << 9 | 1 << 13 | 1 << 17);
        assert_eq!(expr.days_of_month, 1 << 1 | 1 << 10 | 1 << 11 | 1 << 12);
        // `a/n` is `a-max/n`.
        assert_eq!(cron("5/20 * * * *").minutes, 1 << 5 | 1 << 25 | 1 << 45);
        assert_eq!(
            cron("1-10/3 * * * *").minutes,
            1 << 1 | 1 << 4 | 1 << 7 | 1 << 10
        );
        assert_eq!(cron("0 0 1 */5 *").months, 1 << 1 | 1 << 6 | 1 << 11);
        assert_eq!(cron("10/60 * * * *").minutes, 1 << 10);
        assert_eq!(
            fires("*/20 9-10 * * *", "2026-06-01 09:30:00", Tz::UTC, 4),
            [
                "2026-06-01 09:40",
                "2026-06-01 10:00",
                "2026-06-01 10:20",
                "2026-06-01 10:40"
            ]
        );
    }

    #[test]
    fn seven_is_sunday() {
        assert_eq!(cron("0 0 * * 7"), {
            let mut e = cron("0 0 * * 0");
            e.text = "0 0 * * 7".into();
            e
        });
        assert_eq!(cron("0 0 * * 5-7").days_of_week, 0b110_0001);
        // 2026-06-07 is a Sunday.
        assert_eq!(
            fires("0 0 * * 7", "2026-06-01 00:00:00", Tz::UTC, 2),
            ["2026-06-07 00:00", "2026-06-14 00:00"]
        );
    }

    #[test]
    fn restricted_day_of_month_and_day_of_week_match_either() {
        // 2026-06-01 is a Monday.
        assert_eq!(
            fires("0 0 1,15 * mon", "2026-05-31 00:00:00", Tz::UTC, 10),
            [
                "2026-06-01 00:00",
                "2026-06-08 00:00",
                "2026-06-15 00:00",
                "2026-06-22 00:00",
                "2026-06-29 00:00",
                "2026-07-01 00:00",
                "2026-07-06 00:00",
                "2026-07-13 00:00",
                "2026-07-15 00:00",
                "2026-07-20 00:00"
            ]
        );
    }

    #[test]
    fn a_day_field_starting_with_star_makes_both_day_fields_required() {
        // Odd days of the month that are also Mondays.
        assert_eq!(
            fires("0 0 */2 * mon", "2026-05-31 00:00:00", Tz::UTC, 3),
            ["2026-06-01 00:00", "2026-06-15 00:00", "2026-06-29 00:00"]
        );
        // Only day-of-week restricted: every Monday.
        assert_eq!(
            fires("0 0 * * mon", "2026-05-31 00:00:00", Tz::UTC, 2),
            ["2026-06-01 00:00", "2026-06-08 00:00"]
        );
        // Only day-of-month restricted: whatever the weekday.
        assert_eq!(
            fires("0 0 2 * *", "2026-05-31 00:00:00", Tz::UTC, 2),
            ["2026-06-02 00:00", "2026-07-02 00:00"]
        );
    }

    #[test]
    fn macros() {
        assert_eq!(
            fires("@daily", "2026-06-01 12:00:00", Tz::UTC, 2),
            ["2026-06-02 00:00", "2026-06-03 00:00"]
        );
        assert_eq!(
            fires("@midnight", "2026-06-01 12:00:00", Tz::UTC, 1),
            ["2026-06-02 00:00"]
        );
        assert_eq!(
            fires("@hourly", "2026-06-01 12:00:00", Tz::UTC, 2),
            ["2026-06-01 13:00", "2026-06-01 14:00"]
        );
        assert_eq!(
            fires("@weekly", "2026-06-01 12:00:00", Tz::UTC, 2),
            ["2026-06-07 00:00", "2026-06-14 00:00"]
        );
        assert_eq!(
            fires("@monthly", "2026-06-01 12:00:00", Tz::UTC, 2),
            ["2026-07-01 00:00", "2026-08-01 00:00"]
        );
        for yearly in ["@yearly", "@annually"] {
            assert_eq!(
                fires(yearly, "2026-06-01 12:00:00", Tz::UTC, 1),
                ["2027-01-01 00:00"]
            );
        }
    }

    #[test]
    fn next_is_strictly_after_and_in_the_given_zone() {
        assert_eq!(
            fires("0 12 * * *", "2026-06-01 12:00:00", Tz::UTC, 1),
            ["2026-06-02 12:00"]
        );
        assert_eq!(
            fires("* * * * *", "2026-06-01 12:00:30", Tz::UTC, 2),
            ["2026-06-01 12:01", "2026-06-01 12:02"]
        );
        assert_eq!(
            fires(
                "5 16 * * *",
                "2026-06-01 00:00:00",
                chrono_tz::Asia::Shanghai,
                1
            ),
            ["2026-06-01 08:05"]
        );
        assert_eq!(
            fires("59 23 31 12 *", "2026-06-01 00:00:00", Tz::UTC, 1),
            ["2026-12-31 23:59"]
        );
    }

    #[test]
    fn impossible_dates_are_refused() {
        for expr in ["0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 30,31 feb *"] {
            assert!(
                matches!(CronExpr::parse(expr), Err(CronError::NeverFires(_))),
                "{expr}"
            );
        }
        // Either day field may fire when both are restricted: 30 Feb or any Monday.
        assert!(CronExpr::parse("0 0 30 2 mon").is_ok());
        assert_eq!(
            fires("0 0 29 2 *", "2026-01-01 00:00:00", Tz::UTC, 1),
            ["2028-02-29 00:00"]
        );
    }

    #[test]
    fn error_messages_name_the_field_and_the_problem() {
        let cases = [
            ("", "empty cron expression"),
            ("   ", "empty cron expression"),
            (
                "* * * * * *",
                "expected 5 fields (minute hour day-of-month month day-of-week), found 6",
            ),
            (
                "* * *",
                "expected 5 fields (minute hour day-of-month month day-of-week), found 3",
            ),
            (
                "@daily *",
                "expected 5 fields (minute hour day-of-month month day-of-week), found 2",
            ),
            ("61 * * * *", "minute field: 61 is out of range 0-59"),
            ("* 24 * * *", "hour field: 24 is out of range 0-23"),
            ("* * 0 * *", "day-of-month field: 0 is out of range 1-31"),
            ("* * 32 * *", "day-of-month field: 32 is out of range 1-31"),
            ("* * * 13 *", "month field: 13 is out of range 1-12"),
            ("* * * * 8", "day-of-week field: 8 is out of range 0-7"),
            ("* * * * 1-9", "day-of-week field: 9 is out of range 0-7"),
            ("9999 * * * *", "minute field: 9999 is out of range 0-59"),
            ("* * * * fuu", "day-of-week field: unknown name 'fuu'"),
            ("* * * foo *", "month field: unknown name 'foo'"),
            ("* * * * monday", "day-of-week field: unknown name 'monday'"),
            ("mon * * * *", "minute field: 'mon' is not a number"),
            ("1x * * * *", "minute field: '1x' is not a number"),
            ("*-5 * * * *", "minute field: '*' is not a number"),
            (
                "5-1 * * * *",
                "minute field: range 5-1 is reversed; the start must not be after the end",
            ),
            (
                "* * * * sat-sun",
                "day-of-week field: range 6-0 is reversed; the start must not be after the end",
            ),
            ("*/0 * * * *", "minute field: step must be at least 1"),
            (
                "10/1000 * * * *",
                "minute field: step 1000 is larger than the field's 60 values",
            ),
            (
                "*/99999999999999999999 * * * *",
                "minute field: step 99999999999999999999 is larger than the field's 60 values",
            ),
            (
                "0 0 31 2 *",
                "'0 0 31 2 *' never fires (no fire time in the next five years, e.g. 30 February): \
                 the service could never alert",
            ),
            (
                "0 0 30,31 2 *",
                "'0 0 30,31 2 *' never fires (no fire time in the next five years, e.g. 30 February): \
                 the service could never alert",
            ),
            ("* 1-5/0 * * *", "hour field: step must be at least 1"),
            ("*/x * * * *", "minute field: step 'x' is not a number"),
            ("*/ * * * *", "minute field: step '' is not a number"),
            ("1,,2 * * * *", "minute field: missing value"),
            ("1- * * * *", "minute field: missing value"),
            ("* * , * *", "day-of-month field: missing value"),
            (
                "@reboot",
                "@reboot is not supported: it runs at boot, not on a schedule that can be watched",
            ),
            (
                "@often",
                "unknown macro '@often'; use @yearly, @annually, @monthly, @weekly, @daily, \
                 @midnight or @hourly",
            ),
        ];
        for (input, message) in cases {
            assert_eq!(error(input), message, "for {input:?}");
        }
    }

    #[test]
    fn fixed_time_in_a_spring_forward_gap_fires_once_when_the_gap_ends() {
        // Berlin, 2026-03-29: 02:00 CET becomes 03:00 CEST at 01:00 UTC.
        assert_eq!(
            fires("30 2 * * *", "2026-03-28 12:00:00", BERLIN, 3),
            ["2026-03-29 01:00", "2026-03-30 00:30", "2026-03-31 00:30"]
        );
        // Several fixed times inside the gap collapse into that one instant.
        assert_eq!(
            fires("0,30 2 * * *", "2026-03-29 00:00:00", BERLIN, 2),
            ["2026-03-29 01:00", "2026-03-30 00:00"]
        );
    }

    #[test]
    fn fixed_time_in_a_fall_back_repeat_fires_at_the_first_occurrence_only() {
        // Berlin, 2026-10-25: 03:00 CEST becomes 02:00 CET at 01:00 UTC.
        assert_eq!(
            fires("30 2 * * *", "2026-10-24 12:00:00", BERLIN, 2),
            ["2026-10-25 00:30", "2026-10-26 01:30"]
        );
        assert_eq!(
            fires("30 2 * * *", "2026-10-25 00:45:00", BERLIN, 1),
            ["2026-10-26 01:30"]
        );
    }

    #[test]
    fn wildcard_jobs_fire_every_real_hour_through_dst_changes() {
        assert_eq!(
            fires("0 * * * *", "2026-10-24 22:30:00", BERLIN, 5),
            [
                "2026-10-24 23:00",
                "2026-10-25 00:00",
                "2026-10-25 01:00",
                "2026-10-25 02:00",
                "2026-10-25 03:00"
            ]
        );
        assert_eq!(
            fires("0 * * * *", "2026-03-28 23:30:00", BERLIN, 3),
            ["2026-03-29 00:00", "2026-03-29 01:00", "2026-03-29 02:00"]
        );
        // 02:30 does not exist on the spring day; there is no extra run at 03:00.
        assert_eq!(
            fires("30 * * * *", "2026-03-28 23:45:00", BERLIN, 2),
            ["2026-03-29 00:30", "2026-03-29 01:30"]
        );
    }

    #[test]
    fn wildcard_minutes_in_a_fixed_hour_follow_vixie() {
        // Skipped on the spring day, run in both passes on the autumn day.
        assert_eq!(
            fires("*/30 2 * * *", "2026-03-28 12:00:00", BERLIN, 2),
            ["2026-03-30 00:00", "2026-03-30 00:30"]
        );
        assert_eq!(
            fires("*/30 2 * * *", "2026-10-24 12:00:00", BERLIN, 5),
            [
                "2026-10-25 00:00",
                "2026-10-25 00:30",
                "2026-10-25 01:00",
                "2026-10-25 01:30",
                "2026-10-26 01:00"
            ]
        );
    }

    #[test]
    fn second_pass_of_a_repeat_is_found_from_inside_the_first_pass() {
        // 00:30 UTC is 02:30 CEST; 02:15 CET (01:15 UTC) is still ahead.
        assert_eq!(
            fires("15 * * * *", "2026-10-25 00:30:00", BERLIN, 3),
            ["2026-10-25 01:15", "2026-10-25 02:15", "2026-10-25 03:15"]
        );
    }

    #[test]
    fn non_whole_hour_offsets() {
        // Lord Howe Island moves its clocks by 30 minutes: 02:00 -> 02:30 on 2026-10-04
        // (15:30 UTC the day before) and 02:00 -> 01:30 on 2026-04-05 (15:00 UTC).
        let lord_howe = chrono_tz::Australia::Lord_Howe;
        assert_eq!(
            fires("15 2 * * *", "2026-10-03 12:00:00", lord_howe, 1),
            ["2026-10-03 15:30"]
        );
        assert_eq!(
            fires("45 1 * * *", "2026-04-04 12:00:00", lord_howe, 2),
            ["2026-04-04 14:45", "2026-04-05 15:15"]
        );
    }

    /// Minute-by-minute over real instants: the rules of the module docs, stated directly.
    fn brute_force_next(expr: &CronExpr, after: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        let matches = |t: NaiveDateTime| {
            has_bit(expr.minutes, t.minute())
                && has_bit(expr.hours, t.hour())
                && has_bit(expr.months, t.month())
                && expr.day_matches(t.date())
        };
        let wall = |u: DateTime<Utc>| u.with_timezone(&tz).naive_local();
        let mut u = after.with_second(0).expect("second 0") + TimeDelta::minutes(1);
        loop {
            let now = wall(u);
            let before = wall(u - TimeDelta::minutes(1));
            let first_pass = tz
                .from_local_datetime(&now)
                .earliest()
                .is_some_and(|e| e.to_utc() == u);
            if matches(now) && (expr.wildcard || first_pass) {
                return u;
            }
            let mut skipped = before + TimeDelta::minutes(1);
            while !expr.wildcard && skipped < now {
                if matches(skipped) {
                    return u;
                }
                skipped += TimeDelta::minutes(1);
            }
            u += TimeDelta::minutes(1);
        }
    }

    #[test]
    fn agrees_with_a_minute_by_minute_search_around_dst_changes() {
        let exprs = [
            "30 2 * * *",
            "0,30 2,3 * * *",
            "0 * * * *",
            "*/7 * * * *",
            "15 1-3 * * *",
            "*/20 2 * * *",
            "59 1 * * *",
            "0 3 * * *",
            "0 0 1,25 * sun",
        ];
        let starts = [
            "2026-03-28 21:00:00",
            "2026-03-29 00:59:30",
            "2026-10-24 21:00:00",
            "2026-10-25 00:20:00",
            "2026-10-25 01:05:00",
        ];
        for text in exprs {
            let expr = cron(text);
            for start in starts {
                let mut at = utc(start);
                for _ in 0..8 {
                    let expected = brute_force_next(&expr, at, BERLIN);
                    assert_eq!(
                        expr.next_after(at, BERLIN),
                        Some(expected),
                        "{text} after {at}"
                    );
                    at = expected;
                }
            }
        }
    }
}
