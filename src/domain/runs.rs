//! Job runs and the identifiers of the healthchecks-compatible ping URLs: ping UUIDs,
//! run ids (`rid`), slugs and ping keys.
//!
//! The rules that open, pair and close runs, decide hung, too short and too long, and
//! count failures in a row live with the status machine (`domain::status`); this module
//! holds the values they work on.
use chrono::Duration;
use sea_orm::DeriveValueType;
use serde::{Deserialize, Serialize};

use super::{FieldError, Problem, closed_set};

/// Starts older than this are not paired with a finish.
pub const PAIR_WINDOW: Duration = Duration::hours(72);

/// How a run ended (or that it has not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, DeriveValueType)]
#[serde(rename_all = "snake_case")]
#[sea_orm(value_type = "String")]
pub enum RunOutcome {
    /// Started, not finished.
    Running,
    /// Still open past the maximum run time; reported as hung.
    Hung,
    Success,
    /// The job reported a failure (`/fail`, an exit status 1–255, native `data=`).
    Failure,
    /// Finished, but sooner than the minimum run time.
    TooShort,
    /// Finished, but later than the maximum run time.
    TooLong,
    /// A newer start with no rid replaced it, or it was older than 72 h when the
    /// service's runs were tidied: it will never be paired.
    Abandoned,
}

closed_set!(RunOutcome, "run outcome", {
    Running => "running",
    Hung => "hung",
    Success => "success",
    Failure => "failure",
    TooShort => "too_short",
    TooLong => "too_long",
    Abandoned => "abandoned",
});

impl RunOutcome {
    /// Whether the run counts as failed (the service's failure streak grows).
    pub fn failed(self) -> bool {
        matches!(
            self,
            RunOutcome::Failure | RunOutcome::TooShort | RunOutcome::TooLong | RunOutcome::Hung
        )
    }
}

/// The longest output kept with a run (its last characters).
pub const OUTPUT_MAX: usize = 10_000;

/// The last [`OUTPUT_MAX`] characters of a finishing ping's data.
pub fn run_output(data: &str) -> &str {
    match data.char_indices().rev().nth(OUTPUT_MAX - 1) {
        Some((i, _)) => &data[i..],
        None => data,
    }
}

/// A length of time in words, to the minute above a minute: "3 s", "1 min",
/// "2 h 05 min", "2 h", "1 d 3 h".
pub fn duration_words(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    let (days, hours, mins) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    match (days, hours, mins) {
        (0, 0, 0) => format!("{s} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m:02} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// A service's ping UUID: a random v4 UUID, lower-case, hyphenated.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PingUuid(String);

impl PingUuid {
    pub fn generate() -> Self {
        let mut b: [u8; 16] = rand::random();
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex::encode(b);
        Self(format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        ))
    }

    /// Any UUID in its hyphenated text form, any case (healthchecks' own are v4, but a
    /// client may pin one it made). `None` when `s` is not one.
    pub fn parse(s: &str) -> Option<Self> {
        parse_uuid(s).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PingUuid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A hyphenated UUID (8-4-4-4-12 hex digits), lower-cased.
fn parse_uuid(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() != 36 {
        return None;
    }
    for (i, c) in b.iter().enumerate() {
        let ok = if matches!(i, 8 | 13 | 18 | 23) {
            *c == b'-'
        } else {
            c.is_ascii_hexdigit()
        };
        if !ok {
            return None;
        }
    }
    Some(s.to_ascii_lowercase())
}

/// A run id, as healthchecks takes it: a UUID. Refused otherwise (`400`).
pub fn parse_rid(s: &str) -> Result<String, FieldError> {
    parse_uuid(s.trim()).ok_or_else(|| FieldError::new("rid", Problem::BadRid))
}

/// A user's ping key: 32 random lower-case hex digits (healthchecks' are 22 characters of
/// URL-safe base64; both are accepted in URLs, as any `[A-Za-z0-9_-]{8,64}`).
pub fn generate_ping_key() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// The longest slug.
pub const SLUG_MAX: usize = 100;

/// A slug from a name: ASCII letters and digits lower-cased, every other run of
/// characters one `-`, at most 100 characters. Empty when the name has no ASCII letter or
/// digit (a Chinese name): the caller then uses the service id.
pub fn slugify(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out: String = out.chars().take(SLUG_MAX).collect();
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// A slug as typed: healthchecks' rule, `^[a-z0-9-_]+$`, at most 100 characters.
pub fn parse_slug(s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(FieldError::new("slug", Problem::Required));
    }
    if s.len() > SLUG_MAX {
        return Err(FieldError::new("slug", Problem::TooLong { max: SLUG_MAX }));
    }
    if !s
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_')
    {
        return Err(FieldError::new("slug", Problem::BadSlug));
    }
    Ok(s.to_owned())
}

/// The most failures in a row a service may wait for before it goes down.
pub const FAIL_AFTER_MAX: i64 = 100;

/// `fail_after`: 1 (the first failure alerts) to 100.
pub fn parse_fail_after(n: i64) -> Result<i32, FieldError> {
    if (1..=FAIL_AFTER_MAX).contains(&n) {
        Ok(n as i32)
    } else {
        Err(FieldError::new(
            "fail_after",
            Problem::NumberRange {
                min: 1,
                max: FAIL_AFTER_MAX,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_v4_and_parse_back() {
        let u = PingUuid::generate();
        assert_eq!(u.as_str().len(), 36);
        assert_eq!(&u.as_str()[14..15], "4");
        assert!("89ab".contains(&u.as_str()[19..20]));
        assert_eq!(PingUuid::parse(u.as_str()), Some(u.clone()));
        assert_eq!(
            PingUuid::parse(&u.as_str().to_uppercase()).map(|p| p.0),
            Some(u.as_str().to_owned())
        );
        assert_ne!(PingUuid::generate(), u);
        assert_eq!(PingUuid::parse("not-a-uuid"), None);
        assert_eq!(PingUuid::parse("5bf66975d4c74e4f9c4b7b5e8c8b1a2c"), None);
    }

    #[test]
    fn rids_must_be_uuids() {
        assert!(parse_rid("5bf66975-d4c7-4e4f-9c4b-7b5e8c8b1a2c").is_ok());
        assert_eq!(parse_rid("run-1").unwrap_err().problem, Problem::BadRid);
    }

    #[test]
    fn slugs() {
        assert_eq!(slugify("Nightly Backup (db1)"), "nightly-backup-db1");
        assert_eq!(slugify("数据库备份"), "");
        assert_eq!(slugify(&"a".repeat(150)).len(), SLUG_MAX);
        assert_eq!(parse_slug("db-backup_2").unwrap(), "db-backup_2");
        assert_eq!(parse_slug("DB").unwrap_err().problem, Problem::BadSlug);
        assert_eq!(parse_slug(" ").unwrap_err().problem, Problem::Required);
    }

    #[test]
    fn durations_in_words() {
        assert_eq!(duration_words(Duration::seconds(3)), "3 s");
        assert_eq!(duration_words(Duration::seconds(60)), "1 min");
        assert_eq!(duration_words(Duration::seconds(7500)), "2 h 05 min");
        assert_eq!(duration_words(Duration::hours(2)), "2 h");
        assert_eq!(duration_words(Duration::hours(27)), "1 d 3 h");
        assert_eq!(duration_words(Duration::hours(48)), "2 d");
    }

    #[test]
    fn output_keeps_the_end() {
        assert_eq!(run_output("short"), "short");
        let long = format!("{}{}", "x".repeat(5), "数".repeat(OUTPUT_MAX));
        assert_eq!(run_output(&long).chars().count(), OUTPUT_MAX);
        assert!(run_output(&long).starts_with('数'));
    }

    #[test]
    fn fail_after_range() {
        assert_eq!(parse_fail_after(1).unwrap(), 1);
        assert_eq!(parse_fail_after(100).unwrap(), 100);
        assert!(parse_fail_after(0).is_err());
        assert!(parse_fail_after(101).is_err());
    }
}
