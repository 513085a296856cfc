//! Create and edit a service (`/services/new`, `/services/{id}/edit`), and the schedule
//! preview the form's script asks for (`/ui/preview`). Errors are shown next to their
//! fields, with what the user typed kept.
use std::collections::BTreeMap;
use std::sync::OnceLock;

use actix_web::http::StatusCode;
use actix_web::web;
use askama::Template;
use chrono_tz::Tz;
use serde::Deserialize;

use super::format::COMMON_ZONES;
use super::i18n::Lang;
use super::page::{Chrome, InLang, UiErrorKind, UiResult};
use super::preview::{Preview, preview};
use super::session::SignedIn;
use crate::domain::schedule::{Schedule, parse_timezone};
use crate::domain::{
    FieldError, Tags, notify_from_column, parse_duration_secs, parse_name, parse_notify,
};
use crate::entity::services::Model;
use crate::routes::services::build_schedule;
use crate::store::StoreError;
use crate::store::services::{self, NewService, ServicePatch, schedule_of, timezone_of};

/// The form as typed: every field a string, so a bad value can be shown back unchanged.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct ServiceForm {
    pub csrf: String,
    pub name: String,
    pub kind: String,
    pub period: String,
    pub period_unit: String,
    pub at: String,
    pub cron: String,
    pub timezone: String,
    pub grace: String,
    pub grace_unit: String,
    pub tags: String,
    pub notify: String,
}

pub type Errors = BTreeMap<&'static str, String>;

pub const UNITS: [(&str, i64); 4] = [("s", 1), ("min", 60), ("h", 3600), ("d", 86_400)];

/// The largest unit that says `secs` exactly: 7200 → (2, h), 90 → (90, s).
fn split_secs(secs: i64) -> (String, &'static str) {
    for (unit, size) in UNITS.iter().rev() {
        if secs % size == 0 {
            return ((secs / size).to_string(), unit);
        }
    }
    (secs.to_string(), "s")
}

impl ServiceForm {
    pub(super) fn blank(default_tz: Tz) -> Self {
        Self {
            kind: "interval".into(),
            period: "60".into(),
            period_unit: "min".into(),
            timezone: default_tz.name().into(),
            grace: "5".into(),
            grace_unit: "min".into(),
            ..Default::default()
        }
    }

    fn from_model(m: &Model) -> Self {
        let (period, period_unit) = split_secs(m.period_secs.unwrap_or(3600));
        let (grace, grace_unit) = split_secs(m.grace_secs);
        Self {
            csrf: String::new(),
            name: m.name.clone(),
            kind: m.kind.clone(),
            period,
            period_unit: period_unit.into(),
            at: m.at_time.clone().unwrap_or_default(),
            cron: m.cron_expr.clone().unwrap_or_default(),
            timezone: m.timezone.clone(),
            grace,
            grace_unit: grace_unit.into(),
            tags: Tags::from_column(&m.tags).as_slice().join(", "),
            notify: notify_from_column(&m.notify).join(", "),
        }
    }
}

fn unit_size(unit: &str) -> i64 {
    UNITS
        .iter()
        .find(|(u, _)| *u == unit)
        .map_or(60, |(_, size)| *size)
}

/// A number with a unit → seconds, within the API's 1 s … 366 d.
fn parse_amount(field: &'static str, value: &str, unit: &str, lang: Lang) -> Result<i64, String> {
    let t = lang.t();
    let value = value.trim();
    if value.is_empty() {
        return Err(t.required.into());
    }
    let n: i64 = value.parse().map_err(|_| t.must_be_number.to_owned())?;
    let secs = n
        .checked_mul(unit_size(unit))
        .ok_or_else(|| t.duration_range.to_owned())?;
    parse_duration_secs(field, secs).map_err(|_| t.duration_range.to_owned())
}

fn field_message(e: &FieldError, lang: Lang) -> String {
    if e.message.starts_with("is required") {
        lang.t().required.to_owned()
    } else {
        e.message.clone()
    }
}

pub(super) fn schedule_from(
    form: &ServiceForm,
    lang: Lang,
) -> Result<Schedule, (&'static str, String)> {
    let kind = form.kind.trim();
    let period = if kind == "interval" {
        Some(
            parse_amount("period", &form.period, &form.period_unit, lang)
                .map_err(|m| ("period", m))?,
        )
    } else {
        None
    };
    let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let at = opt(&form.at);
    let cron = opt(&form.cron);
    build_schedule(Some(kind), period, at.as_deref(), cron.as_deref())
        .map_err(|e| (e.field, field_message(&e, lang)))
}

/// Check every field, collecting all errors rather than stopping at the first.
pub fn validate(form: &ServiceForm, lang: Lang) -> Result<NewService, Errors> {
    let mut errors = Errors::new();
    let name = parse_name(&form.name).map_err(|e| errors.insert("name", field_message(&e, lang)));
    let schedule = schedule_from(form, lang).map_err(|(f, m)| errors.insert(f, m));
    let timezone =
        parse_timezone(&form.timezone).map_err(|e| errors.insert("timezone", e.to_string()));
    let grace = parse_amount("grace", &form.grace, &form.grace_unit, lang)
        .map_err(|m| errors.insert("grace", m));
    let tags = Tags::parse(&[&form.tags]).map_err(|e| errors.insert("tags", e.message));
    let notify = parse_notify(&[&form.notify]).map_err(|e| errors.insert("notify", e.message));
    match (name, schedule, timezone, grace, tags, notify) {
        (Ok(name), Ok(schedule), Ok(timezone), Ok(grace_secs), Ok(tags), Ok(notify))
            if errors.is_empty() =>
        {
            Ok(NewService {
                name,
                schedule,
                timezone,
                grace_secs,
                tags,
                notify,
            })
        }
        _ => Err(errors),
    }
}

/// Every zone name, sorted, after the common ones.
fn all_zones() -> &'static [&'static str] {
    static ZONES: OnceLock<Vec<&'static str>> = OnceLock::new();
    ZONES.get_or_init(|| {
        let mut v: Vec<&'static str> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
        v.sort_unstable();
        v
    })
}

#[derive(Template)]
#[template(path = "service_form.html")]
struct FormPage<'a> {
    c: &'a Chrome,
    /// `None` for a new service.
    id: Option<&'a str>,
    f: &'a ServiceForm,
    errors: &'a Errors,
    common_zones: &'static [&'static str],
    all_zones: &'static [&'static str],
    preview: Preview,
}

impl FormPage<'_> {
    fn err(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }

    fn unit_label(&self, unit: &str) -> &'static str {
        let t = self.c.t;
        match unit {
            "s" => t.unit_s,
            "h" => t.unit_h,
            "d" => t.unit_d,
            _ => t.unit_min,
        }
    }

    fn units(&self) -> [&'static str; 4] {
        ["s", "min", "h", "d"]
    }

    fn kinds(&self) -> [(&'static str, &'static str, &'static str); 3] {
        let t = self.c.t;
        [
            ("interval", t.kind_interval, t.kind_interval_help),
            ("daily", t.kind_daily, t.kind_daily_help),
            ("cron", t.kind_cron, t.kind_cron_help),
        ]
    }

    /// The form's zone is selected once: among the common zones if it is one, else in
    /// the full list.
    fn zone_selected(&self, zone: &str, in_common: bool) -> bool {
        self.f.timezone == zone && in_common == self.common_zones.contains(&zone)
    }

    fn is_kind(&self, kind: &str) -> bool {
        let current = self.f.kind.as_str();
        current == kind || (kind == "interval" && !["daily", "cron"].contains(&current))
    }
}

fn render_form(
    s: &SignedIn,
    status: StatusCode,
    id: Option<&str>,
    form: &ServiceForm,
    errors: &Errors,
) -> UiResult {
    let c = s.chrome("services");
    s.render(
        status,
        &FormPage {
            c: &c,
            id,
            f: form,
            errors,
            common_zones: COMMON_ZONES,
            all_zones: all_zones(),
            preview: preview(form, s.now(), s.lang),
        },
    )
}

pub async fn new_form(s: SignedIn) -> UiResult {
    let form = ServiceForm::blank(s.state.settings.timezone);
    render_form(&s, StatusCode::OK, None, &form, &Errors::new())
}

fn conflict_or(s: &SignedIn, e: StoreError, errors: &mut Errors) -> Option<super::page::UiError> {
    match e {
        StoreError::Conflict { field, .. } => {
            errors.insert(field, s.lang.t().name_taken.to_owned());
            None
        }
        StoreError::Invalid(fe) => {
            errors.insert(fe.field, fe.message);
            None
        }
        StoreError::NotFound(_) => Some(s.err(UiErrorKind::NotFound)),
        other => Some(s.err(UiErrorKind::Store(other))),
    }
}

#[tracing::instrument(skip_all)]
pub async fn create(s: SignedIn, form: web::Form<ServiceForm>) -> UiResult {
    s.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    let new = match validate(&form, s.lang) {
        Ok(new) => new,
        Err(errors) => {
            return render_form(&s, StatusCode::UNPROCESSABLE_ENTITY, None, &form, &errors);
        }
    };
    match services::create(&s.state.db, new, s.now()).await {
        Ok(m) => {
            s.state.ui.list_cache.clear();
            tracing::info!(id = %m.id, name = %m.name, user = %s.user.name, "service created from the UI");
            Ok(s.redirect(&format!("/services/{}", m.id), Some("created")))
        }
        Err(e) => {
            let mut errors = Errors::new();
            match conflict_or(&s, e, &mut errors) {
                Some(fatal) => Err(fatal),
                None => render_form(&s, StatusCode::UNPROCESSABLE_ENTITY, None, &form, &errors),
            }
        }
    }
}

pub async fn edit_form(s: SignedIn, id: web::Path<String>) -> UiResult {
    let m = services::get(&s.state.db, &id).await.lang(s.lang)?;
    let form = ServiceForm::from_model(&m);
    render_form(&s, StatusCode::OK, Some(&m.id), &form, &Errors::new())
}

#[tracing::instrument(skip_all, fields(id = %id))]
pub async fn update(s: SignedIn, id: web::Path<String>, form: web::Form<ServiceForm>) -> UiResult {
    s.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    let current = services::get(&s.state.db, &id).await.lang(s.lang)?;
    let new = match validate(&form, s.lang) {
        Ok(new) => new,
        Err(errors) => {
            return render_form(
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&current.id),
                &form,
                &errors,
            );
        }
    };
    // Only what changed: an unchanged schedule keeps its due times as they are.
    let patch = ServicePatch {
        schedule: (schedule_of(&current).ok().as_ref() != Some(&new.schedule))
            .then_some(new.schedule),
        timezone: (timezone_of(&current) != new.timezone).then_some(new.timezone),
        grace_secs: (current.grace_secs != new.grace_secs).then_some(new.grace_secs),
        name: Some(new.name),
        tags: Some(new.tags),
        notify: Some(new.notify),
    };
    match services::update(&s.state.db, &current.id, patch, s.now()).await {
        Ok(m) => {
            s.state.wake.poke();
            s.state.ui.list_cache.clear();
            Ok(s.redirect(&format!("/services/{}", m.id), Some("saved")))
        }
        Err(e) => {
            let mut errors = Errors::new();
            match conflict_or(&s, e, &mut errors) {
                Some(fatal) => Err(fatal),
                None => render_form(
                    &s,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Some(&current.id),
                    &form,
                    &errors,
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(kind: &str) -> ServiceForm {
        ServiceForm {
            name: "backup".into(),
            kind: kind.into(),
            ..ServiceForm::blank(chrono_tz::Asia::Shanghai)
        }
    }

    #[test]
    fn units_round_trip() {
        assert_eq!(split_secs(7200), ("2".into(), "h"));
        assert_eq!(split_secs(300), ("5".into(), "min"));
        assert_eq!(split_secs(90), ("90".into(), "s"));
        assert_eq!(split_secs(2 * 86_400), ("2".into(), "d"));
    }

    #[test]
    fn every_error_is_reported_at_its_field() {
        let f = ServiceForm {
            name: " ".into(),
            kind: "cron".into(),
            cron: "61 * * * *".into(),
            grace: "abc".into(),
            tags: "a b".into(),
            notify: "nope".into(),
            timezone: "Mars/Base".into(),
            ..form("cron")
        };
        let errors = validate(&f, Lang::En).unwrap_err();
        let fields: Vec<_> = errors.keys().copied().collect();
        assert_eq!(
            fields,
            ["cron", "grace", "name", "notify", "tags", "timezone"]
        );
        assert_eq!(errors["cron"], "minute field: 61 is out of range 0-59");
    }

    #[test]
    fn periods_take_units() {
        let f = ServiceForm {
            period: "2".into(),
            period_unit: "h".into(),
            ..form("interval")
        };
        let new = validate(&f, Lang::En).unwrap();
        assert_eq!(
            new.schedule,
            Schedule::interval(chrono::TimeDelta::hours(2)).unwrap()
        );
        let f = ServiceForm {
            period: "0".into(),
            ..form("interval")
        };
        assert_eq!(
            validate(&f, Lang::En).unwrap_err()["period"],
            "must be between 1 second and 366 days"
        );
    }
}
