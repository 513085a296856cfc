//! Services: create, update, pause, resume, delete.
use chrono_tz::Tz;

use super::channels::{parse_reminders, with_list};
use super::{Actor, App, AppResult, Check};
use crate::domain::role::Action;
use crate::domain::runs::{parse_fail_after, parse_slug};
use crate::domain::schedule::{Schedule, ScheduleKind, parse_timezone};
use crate::domain::{FieldError, Problem, Tags, parse_duration_secs, parse_name, parse_notify};
use crate::entity::services::Model;
use crate::store::channels::Reminders;
use crate::store::services::{self, NewService, ServicePatch};

/// A stored row's reminders.
pub fn reminders_of(m: &Model) -> Reminders {
    Reminders {
        every_secs: m.remind_every_secs,
        max: m.remind_max,
    }
}

/// A length of time as it arrives: seconds from the API, or a number and a unit as a
/// form has them (`"90"`, `"min"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Amount {
    Secs(i64),
    Text { value: String, unit: String },
}

/// The units a form offers, with their size in seconds.
pub const UNITS: [(&str, i64); 4] = [("s", 1), ("min", 60), ("h", 3600), ("d", 86_400)];

impl Amount {
    pub(crate) fn secs(&self, field: &'static str) -> Result<i64, FieldError> {
        let secs = match self {
            Amount::Secs(s) => *s,
            Amount::Text { value, unit } => {
                let value = value.trim();
                if value.is_empty() {
                    return Err(FieldError::new(field, Problem::Required));
                }
                let n: i64 = value
                    .parse()
                    .map_err(|_| FieldError::new(field, Problem::NotANumber))?;
                let size = UNITS
                    .iter()
                    .find(|(u, _)| *u == unit.trim())
                    .map_or(60, |(_, size)| *size);
                n.checked_mul(size).unwrap_or(i64::MAX)
            }
        };
        parse_duration_secs(field, secs)
    }
}

/// A service as typed, from any front end. On create, a missing name or schedule is an
/// error and the rest has defaults; on update, `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ServiceDraft {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub period: Option<Amount>,
    pub at: Option<String>,
    pub cron: Option<String>,
    pub timezone: Option<String>,
    pub grace: Option<Amount>,
    pub tags: Option<Vec<String>>,
    pub notify: Option<Vec<String>>,
    /// Channel ids; on create `None` takes the channels marked "default for new" and an
    /// empty list none.
    pub channels: Option<Vec<String>>,
    /// `Some(None)` (or 0, or an empty form field) turns reminders off.
    pub remind_every: Option<Option<Amount>>,
    pub remind_max: Option<i64>,
    /// On create `None` makes one from the name.
    pub slug: Option<String>,
    /// `Some(None)` (or 0, or an empty form field) removes the bound.
    pub max_run: Option<Option<Amount>>,
    pub min_run: Option<Option<Amount>>,
    /// Go down at this many failures in a row (1–100; default 1).
    pub fail_after: Option<i64>,
    /// Free text about the job, at most 2,000 characters.
    pub description: Option<String>,
}

/// The longest description.
pub const DESCRIPTION_MAX: usize = 2000;

fn parse_description(d: &str) -> Result<String, FieldError> {
    let d = d.trim();
    if d.chars().count() > DESCRIPTION_MAX {
        return Err(FieldError::new(
            "description",
            Problem::TooLong {
                max: DESCRIPTION_MAX,
            },
        ));
    }
    Ok(d.replace('\0', ""))
}

/// A run-time bound as given: `None` not given, `Some(None)` removed.
fn run_bound(
    given: &Option<Option<Amount>>,
    field: &'static str,
) -> Option<Result<Option<i64>, FieldError>> {
    given.as_ref().map(|b| match b {
        None | Some(Amount::Secs(0)) => Ok(None),
        Some(Amount::Text { value, .. }) if value.trim().is_empty() => Ok(None),
        Some(a) => a.secs(field).map(Some),
    })
}

/// The bounds after the change; the minimum may not be above the maximum.
fn check_bounds(check: &mut Check, min: Option<i64>, max: Option<i64>) {
    if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        check.refuse(FieldError::new("min_run", Problem::MinAboveMax));
    }
}

pub const DEFAULT_GRACE_SECS: i64 = 300;

fn blank_to_none(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl ServiceDraft {
    fn touches_schedule(&self) -> bool {
        self.kind.is_some() || self.period.is_some() || self.at.is_some() || self.cron.is_some()
    }

    /// The schedule the draft describes. A part of another kind than the chosen (or
    /// current) one is refused rather than dropped: the caller meant something else.
    fn schedule(&self, current: Option<&Model>) -> Result<Schedule, FieldError> {
        let kind = match blank_to_none(&self.kind) {
            Some(k) => Some(k.to_lowercase().parse::<ScheduleKind>().map_err(|_| {
                FieldError::new(
                    "kind",
                    Problem::UnknownKind {
                        value: k.to_owned(),
                    },
                )
            })?),
            None => current.map(|m| m.kind),
        };
        let given = [
            ("period", ScheduleKind::Interval, self.period.is_some()),
            ("at", ScheduleKind::Daily, blank_to_none(&self.at).is_some()),
            (
                "cron",
                ScheduleKind::Cron,
                blank_to_none(&self.cron).is_some(),
            ),
        ];
        // Without a kind, the part given decides (cron, then at, then period).
        let decided = kind.or_else(|| {
            given
                .iter()
                .rev()
                .find(|(_, _, is_given)| *is_given)
                .map(|(_, k, _)| *k)
        });
        if let Some(kind) = decided
            && let Some((field, _, _)) = given.iter().find(|(_, k, g)| *g && *k != kind)
        {
            return Err(FieldError::new(field, Problem::NotForKind(kind)));
        }
        let at = blank_to_none(&self.at).or(current.and_then(|m| m.at_time.as_deref()));
        let cron = blank_to_none(&self.cron).or(current.and_then(|m| m.cron_expr.as_deref()));
        let period = match (&self.period, kind) {
            (Some(p), Some(ScheduleKind::Interval) | None) => Some(p.secs("period")?),
            _ => current.and_then(|m| m.period_secs),
        };
        match kind {
            Some(kind) => Schedule::of_kind(kind, period, at, cron),
            None => Schedule::from_parts(None, period, at, cron),
        }
    }

    fn timezone(&self) -> Option<Result<Tz, FieldError>> {
        self.timezone
            .as_deref()
            .map(|tz| parse_timezone(tz).map_err(|e| FieldError::new("timezone", e)))
    }

    fn tags(&self) -> Option<Result<Tags, FieldError>> {
        self.tags.as_ref().map(|t| Tags::parse(t))
    }

    fn notify(&self) -> Option<Result<Vec<crate::domain::EmailAddress>, FieldError>> {
        self.notify.as_ref().map(|n| parse_notify(n))
    }

    /// The schedule and its zone, for previews; the first refused field otherwise.
    pub fn schedule_in_zone(&self) -> Result<(Schedule, Tz), FieldError> {
        let tz = self.timezone().unwrap_or(Ok(chrono_tz::UTC))?;
        Ok((self.schedule(None)?, tz))
    }

    /// Validate a new service, collecting every refused field.
    pub fn validate_new(&self, default_tz: Tz) -> AppResult<NewService> {
        let mut check = Check::default();
        let name = check.take(parse_name(self.name.as_deref().unwrap_or_default()));
        let schedule = check.take(self.schedule(None));
        let timezone = check.take(self.timezone().unwrap_or(Ok(default_tz)));
        let grace = check.take(
            self.grace
                .as_ref()
                .map_or(Ok(DEFAULT_GRACE_SECS), |g| g.secs("grace")),
        );
        let tags = check.take(self.tags().unwrap_or(Ok(Tags::default())));
        let notify = check.take(self.notify().unwrap_or(Ok(Vec::new())));
        let reminders = parse_reminders(
            self.remind_every.as_ref(),
            self.remind_max,
            Reminders::default(),
            &mut check,
        )
        .unwrap_or_default();
        let slug = match blank_to_none(&self.slug) {
            Some(s) => check.take(parse_slug(s)),
            None => None,
        };
        let max_run = check
            .take(run_bound(&self.max_run, "max_run").unwrap_or(Ok(None)))
            .flatten();
        let min_run = check
            .take(run_bound(&self.min_run, "min_run").unwrap_or(Ok(None)))
            .flatten();
        check_bounds(&mut check, min_run, max_run);
        let fail_after = self
            .fail_after
            .map_or(Some(1), |n| check.take(parse_fail_after(n)))
            .unwrap_or(1);
        let description = self
            .description
            .as_deref()
            .map_or(Some(String::new()), |d| check.take(parse_description(d)))
            .unwrap_or_default();
        check.finish()?;
        match (name, schedule, timezone, grace, tags, notify) {
            (
                Some(name),
                Some(schedule),
                Some(timezone),
                Some(grace_secs),
                Some(tags),
                Some(notify),
            ) => Ok(NewService {
                name,
                schedule,
                timezone,
                grace_secs,
                tags,
                notify,
                channels: self.channels.clone(),
                reminders,
                slug,
                max_run_secs: max_run,
                min_run_secs: min_run,
                fail_after,
                description,
            }),
            _ => Err(anyhow::anyhow!("a checked draft lost a value").into()),
        }
    }

    /// Validate a change to `current`, collecting every refused field.
    pub fn validate_patch(&self, current: &Model) -> AppResult<ServicePatch> {
        let mut check = Check::default();
        let mut patch = ServicePatch::default();
        if let Some(name) = &self.name {
            patch.name = check.take(parse_name(name));
        }
        if self.touches_schedule() {
            patch.schedule = check.take(self.schedule(Some(current)));
        }
        if let Some(tz) = self.timezone() {
            patch.timezone = check.take(tz);
        }
        if let Some(grace) = &self.grace {
            patch.grace_secs = check.take(grace.secs("grace"));
        }
        if let Some(tags) = self.tags() {
            patch.tags = check.take(tags);
        }
        if let Some(notify) = self.notify() {
            patch.notify = check.take(notify);
        }
        patch.reminders = parse_reminders(
            self.remind_every.as_ref(),
            self.remind_max,
            reminders_of(current),
            &mut check,
        );
        if let Some(slug) = &self.slug {
            patch.slug = check.take(parse_slug(slug));
        }
        if let Some(b) = run_bound(&self.max_run, "max_run") {
            patch.max_run_secs = check.take(b);
        }
        if let Some(b) = run_bound(&self.min_run, "min_run") {
            patch.min_run_secs = check.take(b);
        }
        check_bounds(
            &mut check,
            patch.min_run_secs.unwrap_or(current.min_run_secs),
            patch.max_run_secs.unwrap_or(current.max_run_secs),
        );
        if let Some(n) = self.fail_after {
            patch.fail_after = check.take(parse_fail_after(n));
        }
        if let Some(d) = &self.description {
            patch.description = check.take(parse_description(d));
        }
        check.finish()?;
        if patch.slug.as_deref() == Some(current.slug.as_str()) {
            patch.slug = None;
        }
        // Only what changed: an unchanged schedule keeps its due times as they are.
        if patch.schedule.as_ref() == services::schedule_of(current).ok().as_ref() {
            patch.schedule = None;
        }
        if patch.timezone == Some(services::timezone_of(current)) {
            patch.timezone = None;
        }
        if patch.grace_secs == Some(current.grace_secs) {
            patch.grace_secs = None;
        }
        Ok(patch)
    }
}

fn target(m: &Model) -> String {
    format!("{} {}", m.id, m.name)
}

#[tracing::instrument(skip_all, fields(actor = %actor.name, name = ?draft.name))]
pub async fn create(app: &App, actor: &Actor, draft: &ServiceDraft) -> AppResult<Model> {
    actor.require(Action::EditServices)?;
    let checked = draft.validate_new(app.default_tz);
    let (mut new, channels) = with_list(app, checked, draft.channels.as_deref()).await?;
    if channels.is_some() {
        new.channels = channels;
    }
    let row = services::create(&app.db, new, app.now()).await?;
    tracing::info!(id = %row.id, name = %row.name, "service created");
    app.audit(actor, "service.create", &target(&row), None)
        .await;
    Ok(row)
}

#[tracing::instrument(skip(app, actor, draft), fields(actor = %actor.name))]
pub async fn update(app: &App, actor: &Actor, id: &str, draft: &ServiceDraft) -> AppResult<Model> {
    actor.require(Action::EditServices)?;
    let current = services::get(&app.db, id).await?;
    let checked = draft.validate_patch(&current);
    let (mut patch, channels) = with_list(app, checked, draft.channels.as_deref()).await?;
    patch.channels = channels;
    let row = services::update(&app.db, id, patch, app.now()).await?;
    app.deadlines_changed();
    app.audit(actor, "service.update", &target(&row), None)
        .await;
    Ok(row)
}

#[tracing::instrument(skip(app, actor), fields(actor = %actor.name))]
pub async fn pause(app: &App, actor: &Actor, id: &str) -> AppResult<Model> {
    actor.require(Action::EditServices)?;
    let row = services::set_paused(&app.db, id, true, app.now()).await?;
    app.audit(actor, "service.pause", &target(&row), None).await;
    Ok(row)
}

#[tracing::instrument(skip(app, actor), fields(actor = %actor.name))]
pub async fn resume(app: &App, actor: &Actor, id: &str) -> AppResult<Model> {
    actor.require(Action::EditServices)?;
    let row = services::set_paused(&app.db, id, false, app.now()).await?;
    app.deadlines_changed();
    app.audit(actor, "service.resume", &target(&row), None)
        .await;
    Ok(row)
}

/// Give a service a new ping UUID; its old `/ping/<uuid>` URLs stop working.
#[tracing::instrument(skip(app, actor), fields(actor = %actor.name))]
pub async fn regenerate_ping_uuid(app: &App, actor: &Actor, id: &str) -> AppResult<Model> {
    actor.require(Action::EditServices)?;
    let row = services::regenerate_ping_uuid(&app.db, id, app.now()).await?;
    app.audit(actor, "service.ping_uuid", &target(&row), None)
        .await;
    Ok(row)
}

/// Delete a service with its pings, flips and alerts; returns what was deleted.
#[tracing::instrument(skip(app, actor), fields(actor = %actor.name))]
pub async fn delete(app: &App, actor: &Actor, id: &str) -> AppResult<Model> {
    actor.require(Action::EditServices)?;
    let row = services::get(&app.db, id).await?;
    services::delete(&app.db, id).await?;
    tracing::info!(%id, name = %row.name, "service deleted");
    app.audit(actor, "service.delete", &target(&row), None)
        .await;
    Ok(row)
}

/// Silence the service's alerts for `minutes` or until `until` (1 minute to 30 days). Its
/// status still changes and shows.
#[tracing::instrument(skip(app, actor), fields(actor = %actor.name))]
pub async fn snooze(
    app: &App,
    actor: &Actor,
    id: &str,
    minutes: Option<i64>,
    until: Option<&str>,
) -> AppResult<Model> {
    actor.require(Action::EditServices)?;
    snooze_checked(app, actor, id, minutes, until).await
}

/// The ping URL's `…/snooze?minutes=30`: what a job's own credentials (a ping key) may do.
#[tracing::instrument(skip(app, actor), fields(actor = %actor.name))]
pub async fn snooze_by_ping(
    app: &App,
    actor: &Actor,
    id: &str,
    minutes: Option<i64>,
    until: Option<&str>,
) -> AppResult<Model> {
    actor.require(Action::Ping)?;
    snooze_checked(app, actor, id, minutes, until).await
}

async fn snooze_checked(
    app: &App,
    actor: &Actor,
    id: &str,
    minutes: Option<i64>,
    until: Option<&str>,
) -> AppResult<Model> {
    let now = app.now();
    let until = crate::domain::maintenance::snooze_until(now, minutes, until)?;
    let row = services::set_snoozed_until(&app.db, id, Some(until), now).await?;
    let detail = format!("until {}", until.to_rfc3339());
    app.audit(actor, "service.snooze", &target(&row), Some(&detail))
        .await;
    Ok(row)
}

/// End the service's snooze: alerts go out again.
#[tracing::instrument(skip(app, actor), fields(actor = %actor.name))]
pub async fn unsnooze(app: &App, actor: &Actor, id: &str) -> AppResult<Model> {
    actor.require(Action::EditServices)?;
    let row = services::set_snoozed_until(&app.db, id, None, app.now()).await?;
    app.audit(actor, "service.unsnooze", &target(&row), None)
        .await;
    Ok(row)
}

/// A grace or period in seconds as a form shows it: the largest unit that says it
/// exactly (7200 → 2 h, 90 → 90 s).
pub fn split_secs(secs: i64) -> (String, &'static str) {
    for (unit, size) in UNITS.iter().rev() {
        if secs % size == 0 {
            return ((secs / size).to_string(), unit);
        }
    }
    (secs.to_string(), "s")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(v: &str, u: &str) -> Amount {
        Amount::Text {
            value: v.into(),
            unit: u.into(),
        }
    }

    #[test]
    fn a_new_service_reports_every_refused_field() {
        let draft = ServiceDraft {
            name: Some(" ".into()),
            kind: Some("cron".into()),
            cron: Some("61 * * * *".into()),
            timezone: Some("Mars/Base".into()),
            grace: Some(text("x", "min")),
            notify: Some(vec!["nope".into()]),
            ..Default::default()
        };
        let err = draft.validate_new(chrono_tz::UTC).unwrap_err();
        let fields: Vec<_> = err.fields().iter().map(|e| (e.field, e.code())).collect();
        assert_eq!(
            fields,
            [
                ("name", "required"),
                ("cron", "cron_out_of_range"),
                ("timezone", "unknown_time_zone"),
                ("grace", "not_a_number"),
                ("notify", "bad_email"),
            ]
        );
    }

    #[test]
    fn amounts_in_units() {
        assert_eq!(text("90", "min").secs("period"), Ok(5400));
        assert_eq!(
            text("", "min").secs("period").unwrap_err().code(),
            "required"
        );
        assert_eq!(
            text("367", "d").secs("grace").unwrap_err().code(),
            "out_of_range"
        );
        assert_eq!(
            text("9223372036854775807", "d")
                .secs("grace")
                .unwrap_err()
                .code(),
            "out_of_range"
        );
        assert_eq!(Amount::Secs(0).secs("period").unwrap_err().field, "period");
        assert_eq!(split_secs(7200), ("2".into(), "h"));
        assert_eq!(split_secs(90), ("90".into(), "s"));
    }

    #[test]
    fn parts_of_another_kind_are_refused() {
        let daily = ServiceDraft {
            name: Some("backup".into()),
            kind: Some("daily".into()),
            at: Some("16:05".into()),
            ..Default::default()
        };
        let new = daily.validate_new(chrono_tz::UTC).expect("valid");
        assert_eq!(new.schedule.kind(), ScheduleKind::Daily);
        assert_eq!(new.grace_secs, DEFAULT_GRACE_SECS);
        let with_period = ServiceDraft {
            period: Some(Amount::Secs(60)),
            ..daily.clone()
        };
        let err = with_period.validate_new(chrono_tz::UTC).unwrap_err();
        assert_eq!(
            (err.fields()[0].field, err.fields()[0].code()),
            ("period", "not_for_kind")
        );
        let interval_with_cron = ServiceDraft {
            name: Some("x".into()),
            kind: Some("interval".into()),
            period: Some(Amount::Secs(60)),
            cron: Some("* * * * *".into()),
            ..Default::default()
        };
        let err = interval_with_cron.validate_new(chrono_tz::UTC).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cron: does not belong to an interval service; leave it out or change `kind`"
        );
        // Without a kind, two kinds' parts contradict each other.
        let both = ServiceDraft {
            name: Some("x".into()),
            period: Some(Amount::Secs(60)),
            cron: Some("* * * * *".into()),
            ..Default::default()
        };
        assert_eq!(
            both.validate_new(chrono_tz::UTC).unwrap_err().fields()[0].field,
            "period"
        );
    }
}
