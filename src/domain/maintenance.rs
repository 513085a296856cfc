//! Maintenance windows and snoozes: periods in which a service or host alerts nobody.
//! Its status still changes and shows; only the messages wait (the outbox asks
//! [`silenced_until`] and, when the silence ends, sends what is still down once).
//!
//! # Times
//!
//! A repeating window starts at a wall-clock time in its own zone and lasts a fixed
//! elapsed duration, so "Sat 23:00 for 3 h" covers Sunday 01:30, and a window never grows
//! or shrinks because the clocks changed inside it. A start that does not exist (a
//! spring-forward gap) begins when the gap ends, as a fixed-time cron job fires then; a
//! start that exists twice (fall back) takes the first, as cron does. The weekday is the
//! day the occurrence starts, in the window's zone.
use chrono::{
    DateTime, Datelike, MappedLocalTime, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc,
    Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::alert::SubjectKind;
use super::schedule::{LocalTime, ScheduleError, parse_timezone};
use super::zone::gap_end;
use super::{FieldError, Problem, Tags, UnknownValue, closed_set, parse_name};

/// Shortest repeating window, and the longest of each kind.
pub const MIN_DURATION: TimeDelta = TimeDelta::seconds(60);
pub const MAX_DAILY: TimeDelta = TimeDelta::seconds(24 * 3600);
pub const MAX_WEEKLY: TimeDelta = TimeDelta::seconds(7 * 24 * 3600);
/// Longest one-off window.
pub const MAX_ONCE_DAYS: i64 = 31;
/// Longest snooze: 30 days.
pub const MAX_SNOOZE_MINUTES: i64 = 30 * 24 * 60;
/// Back-to-back windows followed by [`silenced_until`] before it stops looking.
const MAX_CHAIN: usize = 64;

/// Which subjects a window silences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppliesTo {
    All,
    Services,
    Hosts,
}

closed_set!(AppliesTo, "applies_to", {
    All => "all",
    Services => "services",
    Hosts => "hosts",
});

/// The text form of [`Repeat`]'s variants, as stored (`repeat_kind`) and in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RepeatKind {
    Once,
    Daily,
    Weekly,
}

closed_set!(RepeatKind, "repeat", {
    Once => "once",
    Daily => "daily",
    Weekly => "weekly",
});

/// When a window is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repeat {
    Once {
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
    },
    Daily {
        start: NaiveTime,
        duration: TimeDelta,
    },
    /// `days`: the local days an occurrence starts on, Monday first, no repeats.
    Weekly {
        days: Vec<Weekday>,
        start: NaiveTime,
        duration: TimeDelta,
    },
}

impl Repeat {
    pub fn kind(&self) -> RepeatKind {
        match self {
            Repeat::Once { .. } => RepeatKind::Once,
            Repeat::Daily { .. } => RepeatKind::Daily,
            Repeat::Weekly { .. } => RepeatKind::Weekly,
        }
    }
}

/// A validated maintenance window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub id: String,
    pub name: String,
    /// Lower-case; empty: every service or host.
    pub tags: Vec<String>,
    pub applies_to: AppliesTo,
    pub repeat: Repeat,
    pub tz: Tz,
}

impl Window {
    /// Whether the window silences this subject: its kind matches, and the window names
    /// no tag or one of the subject's tags.
    pub fn applies(&self, subject: SubjectKind, tags: &[String]) -> bool {
        let kind = match self.applies_to {
            AppliesTo::All => true,
            AppliesTo::Services => subject == SubjectKind::Service,
            AppliesTo::Hosts => subject == SubjectKind::Host,
        };
        kind && (self.tags.is_empty()
            || tags
                .iter()
                .any(|t| self.tags.iter().any(|w| w.eq_ignore_ascii_case(t))))
    }

    /// The end of the occurrence open at `at` (start inclusive, end exclusive); the
    /// latest end when occurrences overlap.
    pub fn covering(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.repeat {
            Repeat::Once { starts_at, ends_at } => {
                (*starts_at <= at && at < *ends_at).then_some(*ends_at)
            }
            Repeat::Daily { start, duration } => self.covering_repeat(at, *start, *duration, None),
            Repeat::Weekly {
                days,
                start,
                duration,
            } => self.covering_repeat(at, *start, *duration, Some(days)),
        }
    }

    fn covering_repeat(
        &self,
        at: DateTime<Utc>,
        start: NaiveTime,
        duration: TimeDelta,
        days: Option<&[Weekday]>,
    ) -> Option<DateTime<Utc>> {
        let today = at.with_timezone(&self.tz).date_naive();
        // An occurrence covering `at` started at most `duration` earlier; one more day
        // for the offset change a DST switch makes.
        let back = duration.num_days() + 1;
        (0..=back)
            .filter_map(|n| today.checked_sub_signed(TimeDelta::days(n)))
            .filter(|d| days.is_none_or(|days| days.contains(&d.weekday())))
            .filter_map(|d| resolve(d.and_time(start), self.tz))
            .map(|s| (s, s + duration))
            .filter(|(s, e)| *s <= at && at < *e)
            .map(|(_, e)| e)
            .max()
    }

    /// The first start strictly after `after`, for "next: Sun 02:00".
    pub fn next_start(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let (start, days) = match &self.repeat {
            Repeat::Once { starts_at, .. } => return (*starts_at > after).then_some(*starts_at),
            Repeat::Daily { start, .. } => (*start, None),
            Repeat::Weekly { days, start, .. } => (*start, Some(days.as_slice())),
        };
        // Yesterday too: a DST gap can move a start across midnight in UTC terms.
        let today = after.with_timezone(&self.tz).date_naive();
        (-1..=8)
            .filter_map(|n| today.checked_add_signed(TimeDelta::days(n)))
            .filter(|d| days.is_none_or(|days| days.contains(&d.weekday())))
            .filter_map(|d| resolve(d.and_time(start), self.tz))
            .find(|s| *s > after)
    }
}

impl Window {
    /// The draft this window validates from, for edits that change some fields only.
    pub fn draft(&self) -> WindowDraft {
        let mut d = WindowDraft {
            name: self.name.clone(),
            tags: self.tags.clone(),
            applies_to: Some(self.applies_to.as_str().to_owned()),
            repeat: self.repeat.kind().as_str().to_owned(),
            timezone: Some(self.tz.name().to_owned()),
            ..WindowDraft::default()
        };
        match &self.repeat {
            Repeat::Once { starts_at, ends_at } => {
                d.starts_at = Some(starts_at.to_rfc3339());
                d.ends_at = Some(ends_at.to_rfc3339());
            }
            Repeat::Daily { start, duration } => {
                d.start_time = Some(time_text(*start));
                d.duration = Some(duration.num_seconds());
            }
            Repeat::Weekly {
                days,
                start,
                duration,
            } => {
                d.days = days.iter().map(|d| day_name(*d).to_owned()).collect();
                d.start_time = Some(time_text(*start));
                d.duration = Some(duration.num_seconds());
            }
        }
        d
    }
}

/// When the silence that covers `at` ends, following windows that meet or overlap (a
/// window ending at 04:00 and another starting at 04:00 make one silence). `None`: no
/// window that applies is open at `at`.
pub fn silenced_until(
    windows: &[Window],
    subject: SubjectKind,
    tags: &[String],
    at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let applying: Vec<&Window> = windows
        .iter()
        .filter(|w| w.applies(subject, tags))
        .collect();
    let mut until = None;
    let mut t = at;
    for _ in 0..MAX_CHAIN {
        match applying.iter().filter_map(|w| w.covering(t)).max() {
            Some(end) if end > t => {
                until = Some(end);
                t = end;
            }
            _ => break,
        }
    }
    until
}

/// The instant a local wall-clock time names in `tz`: the first of two in a fall-back
/// repeat, the end of the gap for a time skipped by spring-forward.
pub fn resolve(local: NaiveDateTime, tz: Tz) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        MappedLocalTime::Single(t) => Some(t.with_timezone(&Utc)),
        MappedLocalTime::Ambiguous(a, b) => Some(a.min(b).with_timezone(&Utc)),
        MappedLocalTime::None => gap_end(local, tz),
    }
}

/// `mon` … `sun`, the stored and wire form of a weekday.
pub fn day_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

const DAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// Days from `mon`…`sun` (any case; items may hold several, comma-separated), Monday
/// first, without repeats.
pub fn parse_days<S: AsRef<str>>(items: &[S]) -> Result<Vec<Weekday>, Problem> {
    let mut seen = [false; 7];
    for item in items {
        for raw in item.as_ref().split(',') {
            let name = raw.trim().to_ascii_lowercase();
            if name.is_empty() {
                continue;
            }
            let i = DAYS
                .iter()
                .position(|d| day_name(*d) == name)
                .ok_or_else(|| {
                    Problem::Unknown(UnknownValue {
                        what: "day",
                        value: name.clone(),
                        allowed: DAYS.map(day_name).join(", "),
                    })
                })?;
            seen[i] = true;
        }
    }
    Ok(DAYS
        .iter()
        .zip(seen)
        .filter(|(_, s)| *s)
        .map(|(d, _)| *d)
        .collect())
}

/// A window as typed into the form or sent to the API, before validation. Fields that
/// the chosen `repeat` does not use are ignored (the form sends them all).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WindowDraft {
    pub name: String,
    pub tags: Vec<String>,
    /// `all` (default), `services` or `hosts`.
    pub applies_to: Option<String>,
    pub repeat: String,
    /// once: RFC 3339, or a local `YYYY-MM-DDTHH:MM` in `timezone`.
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    /// weekly: `mon` … `sun`.
    pub days: Vec<String>,
    /// daily, weekly: `HH:MM` local.
    pub start_time: Option<String>,
    /// daily, weekly: seconds.
    pub duration: Option<i64>,
    /// An IANA zone; empty: the server's default.
    pub timezone: Option<String>,
}

fn given(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl WindowDraft {
    /// The window, or every refused field.
    pub fn validate(&self, id: String, default_tz: Tz) -> Result<Window, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = parse_name(&self.name).map_err(|e| errors.push(e)).ok();
        let tags = Tags::parse(&self.tags).map_err(|e| errors.push(e)).ok();
        let applies_to = match given(&self.applies_to) {
            None => Some(AppliesTo::All),
            Some(s) => s
                .parse::<AppliesTo>()
                .map_err(|e| errors.push(FieldError::new("applies_to", e)))
                .ok(),
        };
        let tz = match given(&self.timezone) {
            None => Some(default_tz),
            Some(s) => parse_timezone(s)
                .map_err(|e| errors.push(FieldError::new("timezone", e)))
                .ok(),
        };
        let kind = match self.repeat.trim() {
            "" => {
                errors.push(FieldError::new("repeat", Problem::Required));
                None
            }
            s => s
                .parse::<RepeatKind>()
                .map_err(|e| errors.push(FieldError::new("repeat", e)))
                .ok(),
        };
        let repeat = match (kind, tz) {
            (Some(RepeatKind::Once), Some(tz)) => self.once(tz, &mut errors),
            (Some(kind), _) if kind != RepeatKind::Once => self.repeating(kind, &mut errors),
            _ => None,
        };
        match (name, tags, applies_to, repeat, tz) {
            (Some(name), Some(tags), Some(applies_to), Some(repeat), Some(tz))
                if errors.is_empty() =>
            {
                Ok(Window {
                    id,
                    name,
                    tags: tags.into_vec(),
                    applies_to,
                    repeat,
                    tz,
                })
            }
            _ => Err(errors),
        }
    }

    fn once(&self, tz: Tz, errors: &mut Vec<FieldError>) -> Option<Repeat> {
        let mut instant = |field: &'static str, value: &Option<String>| match given(value) {
            None => {
                errors.push(FieldError::new(field, Problem::Required));
                None
            }
            Some(s) => parse_instant(s, tz)
                .ok_or(())
                .map_err(|()| errors.push(FieldError::new(field, Problem::BadWindowTime)))
                .ok(),
        };
        let starts_at = instant("starts_at", &self.starts_at);
        let ends_at = instant("ends_at", &self.ends_at);
        let (starts_at, ends_at) = (starts_at?, ends_at?);
        if ends_at <= starts_at {
            errors.push(FieldError::new("ends_at", Problem::EndsBeforeStart));
            return None;
        }
        if ends_at - starts_at > TimeDelta::days(MAX_ONCE_DAYS) {
            errors.push(FieldError::new(
                "ends_at",
                Problem::WindowTooLong {
                    max_days: MAX_ONCE_DAYS,
                },
            ));
            return None;
        }
        Some(Repeat::Once { starts_at, ends_at })
    }

    fn repeating(&self, kind: RepeatKind, errors: &mut Vec<FieldError>) -> Option<Repeat> {
        let start = match given(&self.start_time) {
            None => {
                errors.push(FieldError::new("start_time", Problem::Required));
                None
            }
            Some(s) => LocalTime::parse(s)
                .map_err(|e| errors.push(FieldError::new("start_time", e)))
                .ok()
                .and_then(|t| NaiveTime::from_hms_opt(t.hour().into(), t.minute().into(), 0)),
        };
        let max = if kind == RepeatKind::Weekly {
            MAX_WEEKLY
        } else {
            MAX_DAILY
        };
        let duration = match self.duration {
            None => {
                errors.push(FieldError::new("duration", Problem::Required));
                None
            }
            Some(secs) if (MIN_DURATION.num_seconds()..=max.num_seconds()).contains(&secs) => {
                Some(TimeDelta::seconds(secs))
            }
            Some(_) => {
                errors.push(FieldError::new(
                    "duration",
                    Problem::NumberRange {
                        min: MIN_DURATION.num_seconds(),
                        max: max.num_seconds(),
                    },
                ));
                None
            }
        };
        let days = if kind == RepeatKind::Weekly {
            match parse_days(&self.days) {
                Ok(days) if days.is_empty() => {
                    errors.push(FieldError::new("days", Problem::Required));
                    None
                }
                Ok(days) => Some(days),
                Err(p) => {
                    errors.push(FieldError::new("days", p));
                    None
                }
            }
        } else {
            Some(Vec::new())
        };
        let (start, duration, days) = (start?, duration?, days?);
        Some(if kind == RepeatKind::Weekly {
            Repeat::Weekly {
                days,
                start,
                duration,
            }
        } else {
            Repeat::Daily { start, duration }
        })
    }
}

/// RFC 3339 (`2026-12-06T02:00:00+08:00`), or a wall-clock time in `tz` as a
/// `datetime-local` input sends it (`2026-12-06T02:00`, seconds optional, `T` or space).
pub fn parse_instant(s: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    .and_then(|local| resolve(local, tz))
}

/// The end of a snooze asked for as `minutes` from `now` or as an instant `until` (RFC
/// 3339 or Unix seconds): one minute to 30 days ahead.
pub fn snooze_until(
    now: DateTime<Utc>,
    minutes: Option<i64>,
    until: Option<&str>,
) -> Result<DateTime<Utc>, FieldError> {
    let until = until.map(str::trim).filter(|s| !s.is_empty());
    match (minutes, until) {
        (Some(_), Some(_)) => Err(FieldError::new("until", Problem::MinutesOrUntil)),
        (None, None) => Err(FieldError::new("minutes", Problem::Required)),
        (Some(m), None) => {
            if (1..=MAX_SNOOZE_MINUTES).contains(&m) {
                Ok(now + TimeDelta::minutes(m))
            } else {
                Err(FieldError::new(
                    "minutes",
                    Problem::NumberRange {
                        min: 1,
                        max: MAX_SNOOZE_MINUTES,
                    },
                ))
            }
        }
        (None, Some(text)) => {
            let t = DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&Utc))
                .ok()
                .or_else(|| {
                    text.parse::<i64>()
                        .ok()
                        .and_then(|s| DateTime::from_timestamp(s, 0))
                })
                .ok_or_else(|| FieldError::new("until", Problem::BadTime))?;
            let ahead = t - now;
            if ahead >= TimeDelta::minutes(1) && ahead <= TimeDelta::minutes(MAX_SNOOZE_MINUTES) {
                Ok(t)
            } else {
                Err(FieldError::new("until", Problem::SnoozeRange))
            }
        }
    }
}

/// A stored window's columns read back; `None` if one no longer parses (the caller warns).
pub struct WindowColumns<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub tags: &'a str,
    pub applies_to: &'a str,
    pub repeat_kind: &'a str,
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub days: Option<&'a str>,
    pub start_time: Option<&'a str>,
    pub duration_secs: Option<i64>,
    pub timezone: &'a str,
}

impl WindowColumns<'_> {
    pub fn window(&self) -> Result<Window, String> {
        let tz = parse_timezone(self.timezone).map_err(|e: ScheduleError| e.to_string())?;
        let applies_to = self
            .applies_to
            .parse::<AppliesTo>()
            .map_err(|e| e.to_string())?;
        let ms = |v: Option<i64>, what: &str| {
            v.and_then(DateTime::from_timestamp_millis)
                .ok_or_else(|| format!("{what} missing or out of range"))
        };
        let start = || {
            self.start_time
                .and_then(|s| LocalTime::parse(s).ok())
                .and_then(|t| NaiveTime::from_hms_opt(t.hour().into(), t.minute().into(), 0))
                .ok_or_else(|| "start_time missing or not HH:MM".to_owned())
        };
        let duration = || {
            self.duration_secs
                .filter(|s| *s > 0)
                .map(TimeDelta::seconds)
                .ok_or_else(|| "duration_secs missing or not positive".to_owned())
        };
        let repeat = match self
            .repeat_kind
            .parse::<RepeatKind>()
            .map_err(|e| e.to_string())?
        {
            RepeatKind::Once => Repeat::Once {
                starts_at: ms(self.starts_at, "starts_at")?,
                ends_at: ms(self.ends_at, "ends_at")?,
            },
            RepeatKind::Daily => Repeat::Daily {
                start: start()?,
                duration: duration()?,
            },
            RepeatKind::Weekly => Repeat::Weekly {
                days: parse_days(&[self.days.unwrap_or("")]).map_err(|e| e.to_string())?,
                start: start()?,
                duration: duration()?,
            },
        };
        Ok(Window {
            id: self.id.to_owned(),
            name: self.name.to_owned(),
            tags: Tags::from_column(self.tags).into_vec(),
            applies_to,
            repeat,
            tz,
        })
    }
}

/// `HH:MM` for a start time.
pub fn time_text(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

#[cfg(test)]
#[path = "maintenance_test.rs"]
mod tests;
