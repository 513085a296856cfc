//! Why a value was refused, as data: the API shows the English text and a stable code,
//! the UI translates the same value (`ui::i18n`), so every front end says the same thing.
use super::UnknownValue;
use super::schedule::{ScheduleError, ScheduleKind};

/// What is wrong with one value. [`Problem::code`] is stable and documented for API users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("is required")]
    Required,
    #[error("is required: interval, daily or cron")]
    KindRequired,
    #[error("{}", required_for(*.0))]
    RequiredFor(ScheduleKind),
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
    #[error("must not contain control or invisible formatting characters")]
    ControlCharacters,
    #[error("must be 1-16 characters of A-Z, a-z, 0-9, '_' or '-'")]
    BadServiceId,
    #[error("tag '{tag}' is longer than 50 characters")]
    TagTooLong { tag: String },
    #[error("tag '{tag}' may not contain spaces or '%'")]
    TagCharacters { tag: String },
    #[error("at most {max} tags")]
    TooManyTags { max: usize },
    #[error("'{value}' is not an email address")]
    BadEmail { value: String },
    #[error("at most {max} addresses")]
    TooManyAddresses { max: usize },
    #[error("must be between 1 and {max} seconds (366 days), got {got}")]
    DurationRange { got: i64, max: i64 },
    #[error("must be a whole number")]
    NotANumber,
    #[error("{}", not_for_kind(*.0))]
    NotForKind(ScheduleKind),
    #[error("'{value}' is not one of interval, daily, cron")]
    UnknownKind { value: String },
    #[error(transparent)]
    Unknown(#[from] UnknownValue),
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    #[error("user names are 1-64 characters of letters, digits, '_', '-', '.' and '@'")]
    UserName,
    #[error("must be at least {min} characters")]
    PasswordTooShort { min: usize },
    #[error("must be at most {max} bytes")]
    PasswordTooLong { max: usize },
    #[error("the two passwords differ")]
    PasswordMismatch,
    #[error("is not your current password")]
    WrongPassword,
    #[error("a service named '{name}' already exists")]
    ServiceNameTaken { name: String },
    #[error("user '{name}' already exists")]
    UserNameTaken { name: String },
    #[error("is the last admin; make another user admin first")]
    LastAdmin,
    #[error("must be a whole number from 1 to {max}")]
    LimitRange { max: u64 },
    #[error("is not a cursor from this list; start again without it")]
    BadCursor,
    #[error("a host named '{name}' already exists")]
    HostNameTaken { name: String },
    #[error("must be between {min} and {max}")]
    NumberRange { min: i64, max: i64 },
    #[error("must be {expected}")]
    WrongType { expected: &'static str },
    #[error(
        "has none of the fields a report carries (cpu_pct, load1, mem_used_bytes, disks, gpus, \
         processes, units, error, …)"
    )]
    NoKnownFields,
    #[error("at most {max} items")]
    TooManyItems { max: usize },
    #[error("is not a valid regular expression: {error}")]
    BadRegex { error: String },
    #[error("must be a host name or IP address, optionally with :port")]
    BadAddress,
    #[error("is more than {max_secs} s in the future; check the sender's clock")]
    InFuture { max_secs: i64 },
    #[error("must be a time: RFC 3339 (2026-01-17T10:00:00Z) or Unix seconds")]
    BadTime,
    #[error("must be before `to`")]
    TimeOrder,
    #[error("asks for more than {max} points; use a shorter range or step=3600")]
    TooManyPoints { max: i64 },
    #[error(
        "must be 1-64 characters of letters, digits, '.', '_' and '-': the name given to \
         `hb-agent watch --collector`"
    )]
    CollectorName,
    #[error("must be an http:// or https:// URL")]
    BadUrl,
    #[error("must be 1-64 letters, digits, '-' or '_'")]
    BadTopic,
    #[error(
        "header '{name}' is not valid: a name of letters, digits, '-' and '_', a value on one line"
    )]
    BadHeader { name: String },
    #[error("a channel named '{name}' already exists")]
    ChannelNameTaken { name: String },
    #[error("no channel with id '{id}'")]
    UnknownChannel { id: String },
    #[error(
        "must be a time: RFC 3339 (2026-12-06T02:00:00+08:00) or YYYY-MM-DDTHH:MM in the window's time zone"
    )]
    BadWindowTime,
    #[error("must be after starts_at")]
    EndsBeforeStart,
    #[error("must be at most {max_days} days after starts_at")]
    WindowTooLong { max_days: i64 },
    #[error("give either `minutes` or `until`, not both")]
    MinutesOrUntil,
    #[error("must be between 1 minute and 30 days from now")]
    SnoozeRange,
    #[error("must be a UUID (e.g. 5bf66975-d4c7-4e4f-9c4b-7b5e8c8b1a2c)")]
    BadRid,
    #[error("may contain only lower-case letters a-z, digits, '-' and '_'")]
    BadSlug,
    #[error("the slug '{slug}' is taken by another service")]
    SlugTaken { slug: String },
    #[error("must not be more than the maximum run time")]
    MinAboveMax,
}

fn required_for(kind: ScheduleKind) -> &'static str {
    match kind {
        ScheduleKind::Interval => "is required for an interval service (seconds)",
        ScheduleKind::Daily => "is required for a daily service (HH:MM)",
        ScheduleKind::Cron => "is required for a cron service",
    }
}

fn not_for_kind(kind: ScheduleKind) -> String {
    let article = if kind == ScheduleKind::Interval {
        "an"
    } else {
        "a"
    };
    format!("does not belong to {article} {kind} service; leave it out or change `kind`")
}

impl Problem {
    /// A stable, machine-readable name: `required`, `cron_out_of_range`, `name_taken`, …
    pub fn code(&self) -> &'static str {
        use super::cron::CronError as C;
        match self {
            Problem::Required | Problem::KindRequired | Problem::RequiredFor(_) => "required",
            Problem::TooLong { .. } => "too_long",
            Problem::ControlCharacters => "control_characters",
            Problem::BadServiceId => "bad_id",
            Problem::TagTooLong { .. } => "tag_too_long",
            Problem::TagCharacters { .. } => "tag_characters",
            Problem::TooManyTags { .. } => "too_many_tags",
            Problem::BadEmail { .. } => "bad_email",
            Problem::TooManyAddresses { .. } => "too_many_addresses",
            Problem::DurationRange { .. } => "out_of_range",
            Problem::NotANumber => "not_a_number",
            Problem::UnknownKind { .. } | Problem::Unknown(_) => "unknown_value",
            Problem::NotForKind(_) => "not_for_kind",
            Problem::Schedule(e) => match e {
                ScheduleError::BadTimeOfDay => "bad_time_of_day",
                ScheduleError::UnknownTimeZone(_) => "unknown_time_zone",
                ScheduleError::IntervalTooShort => "out_of_range",
                ScheduleError::Cron(c) => match c {
                    C::Empty => "cron_empty",
                    C::FieldCount { .. } => "cron_field_count",
                    C::Reboot => "cron_reboot",
                    C::UnknownMacro(_) => "cron_unknown_macro",
                    C::MissingValue { .. } => "cron_missing_value",
                    C::NotANumber { .. } => "cron_not_a_number",
                    C::UnknownName { .. } => "cron_unknown_name",
                    C::OutOfRange { .. } => "cron_out_of_range",
                    C::ReversedRange { .. } => "cron_reversed_range",
                    C::BadStep { .. } => "cron_bad_step",
                    C::ZeroStep { .. } => "cron_zero_step",
                    C::StepTooLarge { .. } => "cron_step_too_large",
                    C::TooLong { .. } => "cron_too_long",
                    C::NeverFires(_) => "cron_never_fires",
                },
            },
            Problem::UserName => "bad_user_name",
            Problem::PasswordTooShort { .. } => "password_too_short",
            Problem::PasswordTooLong { .. } => "password_too_long",
            Problem::PasswordMismatch => "password_mismatch",
            Problem::WrongPassword => "wrong_password",
            Problem::ServiceNameTaken { .. } | Problem::UserNameTaken { .. } => "name_taken",
            Problem::LastAdmin => "last_admin",
            Problem::LimitRange { .. } | Problem::NumberRange { .. } => "out_of_range",
            Problem::BadCursor => "bad_cursor",
            Problem::HostNameTaken { .. } => "name_taken",
            Problem::WrongType { .. } => "wrong_type",
            Problem::NoKnownFields => "no_known_fields",
            Problem::TooManyItems { .. } => "too_many",
            Problem::BadRegex { .. } => "bad_regex",
            Problem::BadAddress => "bad_address",
            Problem::InFuture { .. } => "in_future",
            Problem::BadTime => "bad_time",
            Problem::TimeOrder => "time_order",
            Problem::TooManyPoints { .. } => "too_many_points",
            Problem::CollectorName => "bad_collector",
            Problem::BadUrl => "bad_url",
            Problem::BadTopic => "bad_topic",
            Problem::BadHeader { .. } => "bad_header",
            Problem::ChannelNameTaken { .. } => "name_taken",
            Problem::UnknownChannel { .. } => "unknown_channel",
            Problem::BadWindowTime => "bad_time",
            Problem::EndsBeforeStart => "time_order",
            Problem::WindowTooLong { .. } | Problem::SnoozeRange => "out_of_range",
            Problem::MinutesOrUntil => "conflicting_fields",
            Problem::BadRid => "bad_rid",
            Problem::BadSlug => "bad_slug",
            Problem::SlugTaken { .. } => "slug_taken",
            Problem::MinAboveMax => "min_above_max",
        }
    }

    /// Whether the value clashes with stored data (HTTP 409) rather than being malformed (422).
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            Problem::ServiceNameTaken { .. }
                | Problem::UserNameTaken { .. }
                | Problem::HostNameTaken { .. }
                | Problem::ChannelNameTaken { .. }
                | Problem::SlugTaken { .. }
        )
    }
}

/// A refused value and the field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct FieldError {
    pub field: &'static str,
    pub problem: Problem,
}

impl FieldError {
    pub fn new(field: &'static str, problem: impl Into<Problem>) -> Self {
        Self {
            field,
            problem: problem.into(),
        }
    }

    /// The English message without the field name, as the API's `error` shows it.
    pub fn message(&self) -> String {
        self.problem.to_string()
    }

    pub fn code(&self) -> &'static str {
        self.problem.code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::schedule::Schedule;

    #[test]
    fn messages_and_codes() {
        let e = FieldError::new("period", Problem::RequiredFor(ScheduleKind::Interval));
        assert_eq!(
            e.to_string(),
            "period: is required for an interval service (seconds)"
        );
        assert_eq!(e.code(), "required");
        let cron = Schedule::cron("61 * * * *").unwrap_err();
        let e = FieldError::new("cron", cron);
        assert_eq!(e.message(), "minute field: 61 is out of range 0-59");
        assert_eq!(e.code(), "cron_out_of_range");
        assert!(Problem::ServiceNameTaken { name: "x".into() }.is_conflict());
    }
}
