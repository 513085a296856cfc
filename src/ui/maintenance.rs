//! `/maintenance`: the maintenance windows, whether each is open now or when it opens
//! next; add, edit, delete. Also the snooze control the service and host pages share.
use actix_web::http::StatusCode;
use actix_web::web;
use askama::Template;
use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;

use super::format::When;
use super::i18n::Lang;
use super::login::CsrfForm;
use super::page::{Chrome, InLang, UiResult};
use super::service_form::{Errors, field_errors};
use super::session::SignedIn;
use crate::app::{self, AppError};
use crate::domain::maintenance::{Repeat, Window, WindowDraft};
use crate::domain::{FieldError, Problem};

/// The snooze card of a service or host page.
pub struct SnoozeView {
    /// `/services/{id}/snooze`; unsnooze posts to `…/unsnooze`.
    pub action: String,
    /// Set while a snooze lasts.
    pub until: Option<When>,
    /// `(minutes, label)` for each button.
    pub choices: [(i64, &'static str); 4],
    /// Whether the reader may snooze (else the card only says until when).
    pub editable: bool,
}

impl SnoozeView {
    pub fn new(
        action: String,
        editable: bool,
        until_ms: Option<i64>,
        tz: Tz,
        now: DateTime<Utc>,
        lang: Lang,
    ) -> Self {
        let t = lang.t();
        Self {
            action,
            until: until_ms
                .filter(|ms| *ms > now.timestamp_millis())
                .map(|ms| When::from_ms(ms, tz, now, lang)),
            choices: [
                (30, t.snooze_30m),
                (60, t.snooze_1h),
                (240, t.snooze_4h),
                (1440, t.snooze_1d),
            ],
            editable,
        }
    }
}

/// The snooze buttons' form: how many minutes.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct SnoozeForm {
    pub csrf: String,
    pub minutes: String,
}

impl SnoozeForm {
    pub fn minutes(&self) -> Result<i64, AppError> {
        self.minutes
            .trim()
            .parse()
            .map_err(|_| FieldError::new("minutes", Problem::NotANumber).into())
    }
}

struct Row {
    id: String,
    name: String,
    tags: String,
    applies: &'static str,
    when: String,
    active_until: Option<When>,
    next: Option<When>,
}

/// The add / edit form as typed.
#[derive(Debug, Clone, Default)]
struct FormView {
    name: String,
    tags: String,
    applies_to: String,
    repeat: String,
    days: Vec<String>,
    start_time: String,
    duration: String,
    duration_unit: String,
    timezone: String,
    starts_at: String,
    ends_at: String,
}

const UNITS: [(&str, i64); 3] = [("min", 60), ("h", 3600), ("d", 86_400)];
const DAY_VALUES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl FormView {
    fn blank(tz: Tz) -> Self {
        Self {
            applies_to: "all".into(),
            repeat: "weekly".into(),
            days: vec!["sun".into()],
            start_time: "02:00".into(),
            duration: "2".into(),
            duration_unit: "h".into(),
            timezone: tz.name().into(),
            ..Self::default()
        }
    }

    fn of(w: &Window) -> Self {
        let d = w.draft();
        let (duration, duration_unit) = match d.duration {
            Some(secs) => {
                let (unit, size) = UNITS
                    .iter()
                    .rev()
                    .find(|(_, size)| secs % size == 0)
                    .copied()
                    .unwrap_or(("min", 60));
                ((secs / size).to_string(), unit.to_owned())
            }
            None => ("2".into(), "h".into()),
        };
        let local = |t: Option<&DateTime<Utc>>| {
            t.map(|t| t.with_timezone(&w.tz).format("%Y-%m-%dT%H:%M").to_string())
                .unwrap_or_default()
        };
        let (starts_at, ends_at) = match &w.repeat {
            Repeat::Once { starts_at, ends_at } => (local(Some(starts_at)), local(Some(ends_at))),
            _ => (String::new(), String::new()),
        };
        Self {
            name: d.name,
            tags: d.tags.join(", "),
            applies_to: d.applies_to.unwrap_or_default(),
            repeat: d.repeat,
            days: d.days,
            start_time: d.start_time.unwrap_or_else(|| "02:00".into()),
            duration,
            duration_unit,
            timezone: d.timezone.unwrap_or_default(),
            starts_at,
            ends_at,
        }
    }

    fn from_pairs(pairs: &[(String, String)]) -> (Self, String) {
        let mut f = Self::default();
        let mut csrf = String::new();
        for (k, v) in pairs {
            let v = v.clone();
            match k.as_str() {
                "csrf" => csrf = v,
                "name" => f.name = v,
                "tags" => f.tags = v,
                "applies_to" => f.applies_to = v,
                "repeat" => f.repeat = v,
                "days" => f.days.push(v),
                "start_time" => f.start_time = v,
                "duration" => f.duration = v,
                "duration_unit" => f.duration_unit = v,
                "timezone" => f.timezone = v,
                "starts_at" => f.starts_at = v,
                "ends_at" => f.ends_at = v,
                _ => {}
            }
        }
        (f, csrf)
    }

    /// The draft, or the duration's own refusal (the rest is the use case's to check).
    fn draft(&self) -> Result<WindowDraft, FieldError> {
        let repeating = self.repeat != "once";
        let duration = if repeating && !self.duration.trim().is_empty() {
            let n: i64 = self
                .duration
                .trim()
                .parse()
                .map_err(|_| FieldError::new("duration", Problem::NotANumber))?;
            let size = UNITS
                .iter()
                .find(|(u, _)| *u == self.duration_unit)
                .map_or(60, |(_, s)| *s);
            Some(n.saturating_mul(size))
        } else {
            None
        };
        let text = |s: &str| Some(s.to_owned()).filter(|s| !s.trim().is_empty());
        Ok(WindowDraft {
            name: self.name.clone(),
            tags: vec![self.tags.clone()],
            applies_to: text(&self.applies_to),
            repeat: self.repeat.clone(),
            starts_at: text(&self.starts_at),
            ends_at: text(&self.ends_at),
            days: self.days.clone(),
            start_time: text(&self.start_time),
            duration,
            timezone: text(&self.timezone),
        })
    }

    fn has_day(&self, day: &str) -> bool {
        self.days.iter().any(|d| d == day)
    }
}

#[derive(Template)]
#[template(path = "maintenance.html")]
struct MaintenancePage<'a> {
    c: &'a Chrome,
    rows: Vec<Row>,
    /// The id of the window being edited; `None`: the form adds one.
    editing: Option<String>,
    form: FormView,
    errors: &'a Errors,
    applies: [(&'static str, &'static str); 3],
    repeats: [(&'static str, &'static str); 3],
    days: Vec<(&'static str, &'static str)>,
    units: [(&'static str, &'static str); 3],
}

impl MaintenancePage<'_> {
    fn err(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }
}

fn describe(w: &Window, lang: Lang) -> String {
    let t = lang.t();
    let zone = w.tz.name();
    match &w.repeat {
        Repeat::Once { starts_at, ends_at } => {
            let f = |d: &DateTime<Utc>| d.with_timezone(&w.tz).format("%Y-%m-%d %H:%M").to_string();
            format!("{} → {} ({zone})", f(starts_at), f(ends_at))
        }
        Repeat::Daily { start, duration } => format!(
            "{} {} · {} ({zone})",
            t.maint_daily,
            start.format("%H:%M"),
            lang.duration(duration.num_seconds())
        ),
        Repeat::Weekly {
            days,
            start,
            duration,
        } => {
            let names: Vec<&str> = days
                .iter()
                .map(|d| t.weekdays[d.num_days_from_monday() as usize])
                .collect();
            format!(
                "{} {} · {} ({zone})",
                names.join(", "),
                start.format("%H:%M"),
                lang.duration(duration.num_seconds())
            )
        }
    }
}

/// `Sun 2026-11-08 02:00:00 UTC+8`: the weekday matters for a weekly window.
fn when_with_day(at: DateTime<Utc>, tz: Tz, now: DateTime<Utc>, lang: Lang) -> When {
    let mut w = When::new(at, tz, now, lang);
    let day = at.with_timezone(&tz).weekday().num_days_from_monday() as usize;
    w.local = format!("{} {}", lang.t().weekdays[day], w.local);
    w
}

async fn render(
    s: &SignedIn,
    status: StatusCode,
    editing: Option<String>,
    form: FormView,
    errors: &Errors,
) -> UiResult {
    let lang = s.lang;
    let t = lang.t();
    let now = s.now();
    let windows = app::maintenance::list(&s.state.app, &s.actor)
        .await
        .lang(lang)?;
    let applies = [
        ("all", t.maint_applies_all),
        ("services", t.maint_applies_services),
        ("hosts", t.maint_applies_hosts),
    ];
    let rows = windows
        .iter()
        .map(|w| Row {
            id: w.id.clone(),
            name: w.name.clone(),
            tags: if w.tags.is_empty() {
                t.maint_everything.to_owned()
            } else {
                w.tags.join(", ")
            },
            applies: applies
                .iter()
                .find(|(v, _)| *v == w.applies_to.as_str())
                .map_or("", |(_, l)| l),
            when: describe(w, lang),
            active_until: w.covering(now).map(|e| when_with_day(e, w.tz, now, lang)),
            next: w.next_start(now).map(|e| when_with_day(e, w.tz, now, lang)),
        })
        .collect();
    let c = s.chrome("maintenance");
    s.render(
        status,
        &MaintenancePage {
            c: &c,
            rows,
            editing,
            form,
            errors,
            applies,
            repeats: [
                ("once", t.maint_once),
                ("daily", t.maint_daily),
                ("weekly", t.maint_weekly),
            ],
            days: DAY_VALUES.iter().copied().zip(t.weekdays).collect(),
            units: match lang {
                Lang::Zh => [("min", "分钟"), ("h", "小时"), ("d", "天")],
                Lang::En => [("min", "min"), ("h", "h"), ("d", "d")],
            },
        },
    )
}

pub async fn page(s: SignedIn) -> UiResult {
    let form = FormView::blank(s.state.settings.timezone);
    render(&s, StatusCode::OK, None, form, &Errors::new()).await
}

pub async fn edit_form(s: SignedIn, id: web::Path<String>) -> UiResult {
    let w = app::maintenance::get(&s.state.app, &s.actor, &id)
        .await
        .lang(s.lang)?;
    render(
        &s,
        StatusCode::OK,
        Some(w.id.clone()),
        FormView::of(&w),
        &Errors::new(),
    )
    .await
}

async fn save(s: SignedIn, id: Option<String>, pairs: Vec<(String, String)>) -> UiResult {
    let (form, csrf) = FormView::from_pairs(&pairs);
    s.check_csrf(&csrf)?;
    let result = match form.draft() {
        Err(e) => Err(AppError::from(e)),
        Ok(draft) => match &id {
            None => app::maintenance::create(&s.state.app, &s.actor, &draft).await,
            Some(id) => app::maintenance::update(&s.state.app, &s.actor, id, &draft).await,
        },
    };
    match result {
        Ok(_) => Ok(s.redirect("/maintenance", None)),
        Err(e @ AppError::Invalid(_)) => {
            let errors = field_errors(&e, s.lang);
            render(&s, StatusCode::UNPROCESSABLE_ENTITY, id, form, &errors).await
        }
        Err(e) => Err(e).lang(s.lang),
    }
}

pub async fn create(s: SignedIn, pairs: web::Form<Vec<(String, String)>>) -> UiResult {
    save(s, None, pairs.into_inner()).await
}

pub async fn update(
    s: SignedIn,
    id: web::Path<String>,
    pairs: web::Form<Vec<(String, String)>>,
) -> UiResult {
    save(s, Some(id.into_inner()), pairs.into_inner()).await
}

pub async fn delete(s: SignedIn, id: web::Path<String>, form: web::Form<CsrfForm>) -> UiResult {
    s.check_csrf(&form.csrf)?;
    app::maintenance::delete(&s.state.app, &s.actor, &id)
        .await
        .lang(s.lang)?;
    Ok(s.redirect("/maintenance", None))
}
