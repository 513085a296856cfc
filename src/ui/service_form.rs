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

use super::channels::{self, ChannelFields, ChannelInputs, PICK_PREFIX};
use super::format::COMMON_ZONES;
use super::i18n::Lang;
use super::page::{Chrome, InLang, UiResult};
use super::preview::{Preview, preview};
use super::session::SignedIn;
use crate::app::services::{Amount, ServiceDraft, split_secs};
use crate::app::{self, AppError};
use crate::domain::role::Action;
use crate::domain::runs::slugify;
use crate::domain::{Tags, notify_from_column};
use crate::entity::services::Model;
use crate::store::services;

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
    pub channels_offered: String,
    pub remind_every: String,
    pub remind_every_unit: String,
    pub remind_max: String,
    /// Empty: made from the name.
    pub slug: String,
    pub description: String,
    /// Empty: no bound.
    pub max_run: String,
    pub max_run_unit: String,
    pub min_run: String,
    pub min_run_unit: String,
    pub fail_after: String,
    /// The rest: the channel checkboxes (`channel.<id>`).
    #[serde(flatten)]
    pub rest: BTreeMap<String, String>,
}

pub type Errors = BTreeMap<&'static str, String>;

impl ServiceForm {
    pub(super) fn blank(default_tz: Tz) -> Self {
        Self {
            kind: "interval".into(),
            period: "60".into(),
            period_unit: "min".into(),
            timezone: default_tz.name().into(),
            grace: "5".into(),
            grace_unit: "min".into(),
            max_run_unit: "min".into(),
            min_run_unit: "s".into(),
            fail_after: "1".into(),
            ..Default::default()
        }
    }

    fn from_model(m: &Model) -> Self {
        let (period, period_unit) = split_secs(m.period_secs.unwrap_or(3600));
        let (grace, grace_unit) = split_secs(m.grace_secs);
        let bound = |secs: Option<i64>, unit: &'static str| match secs {
            Some(secs) => split_secs(secs),
            None => (String::new(), unit),
        };
        let max_run = bound(m.max_run_secs, "min");
        let min_run = bound(m.min_run_secs, "s");
        Self {
            csrf: String::new(),
            name: m.name.clone(),
            kind: m.kind.to_string(),
            period,
            period_unit: period_unit.into(),
            at: m.at_time.clone().unwrap_or_default(),
            cron: m.cron_expr.clone().unwrap_or_default(),
            timezone: m.timezone.clone(),
            grace,
            grace_unit: grace_unit.into(),
            tags: Tags::from_column(&m.tags).as_slice().join(", "),
            notify: notify_from_column(&m.notify).join(", "),
            slug: m.slug.clone(),
            description: m.description.clone(),
            max_run: max_run.0,
            max_run_unit: max_run.1.into(),
            min_run: min_run.0,
            min_run_unit: min_run.1.into(),
            fail_after: m.fail_after.to_string(),
            ..Default::default()
        }
        .with_channels(&ChannelInputs::of(
            &m.channels,
            m.remind_every_secs,
            m.remind_max,
        ))
    }

    fn with_channels(mut self, ch: &ChannelInputs) -> Self {
        self.channels_offered = if ch.offered {
            "1".into()
        } else {
            String::new()
        };
        self.remind_every = ch.remind_every.clone();
        self.remind_every_unit = ch.remind_unit.clone();
        self.remind_max = ch.remind_max.clone();
        self.rest = ch
            .picked
            .iter()
            .map(|id| (format!("{PICK_PREFIX}{id}"), "1".to_owned()))
            .collect();
        self
    }

    /// The channel checkboxes and reminder inputs.
    pub fn channel_inputs(&self) -> ChannelInputs {
        let mut pairs: Vec<(&str, &str)> = vec![
            ("channels_offered", &self.channels_offered),
            ("remind_every", &self.remind_every),
            ("remind_every_unit", &self.remind_every_unit),
            ("remind_max", &self.remind_max),
        ];
        pairs.extend(self.rest.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        ChannelInputs::from_pairs(pairs)
    }
}

impl ServiceForm {
    /// The form as a draft for the use cases: every field given, so an edit is a full
    /// replacement. The form keeps the inputs of every schedule kind (switching back and
    /// forth loses nothing); only the chosen kind's go into the draft.
    pub fn draft(&self) -> ServiceDraft {
        let list = |s: &str| vec![s.to_owned()];
        let kind = self.kind.trim();
        let kind = if kind.is_empty() { "interval" } else { kind };
        let (channels, remind_every, remind_max) = self.channel_inputs().draft();
        ServiceDraft {
            name: Some(self.name.clone()),
            kind: Some(kind.to_owned()),
            period: (kind == "interval").then(|| Amount::Text {
                value: self.period.clone(),
                unit: self.period_unit.clone(),
            }),
            at: (kind == "daily").then(|| self.at.clone()),
            cron: (kind == "cron").then(|| self.cron.clone()),
            timezone: Some(self.timezone.clone()),
            grace: Some(Amount::Text {
                value: self.grace.clone(),
                unit: self.grace_unit.clone(),
            }),
            tags: Some(list(&self.tags)),
            notify: Some(list(&self.notify)),
            channels,
            remind_every,
            remind_max,
            slug: Some(self.slug.trim().to_owned()).filter(|s| !s.is_empty()),
            max_run: Some(Some(Amount::Text {
                value: self.max_run.clone(),
                unit: self.max_run_unit.clone(),
            })),
            min_run: Some(Some(Amount::Text {
                value: self.min_run.clone(),
                unit: self.min_run_unit.clone(),
            })),
            // Empty: the default, the first failure alerts; not a number: out of range.
            fail_after: Some(match self.fail_after.trim() {
                "" => 1,
                n => n.parse().unwrap_or(0),
            }),
            description: Some(self.description.clone()),
        }
    }

    /// The slug an emptied slug field stands for when editing: one made from the name,
    /// else from the id, as a new service gets.
    fn edit_draft(&self, id: &str) -> ServiceDraft {
        let mut d = self.draft();
        if d.slug.is_none() {
            let from_name = slugify(&self.name);
            d.slug = Some(if from_name.is_empty() {
                id.to_ascii_lowercase()
            } else {
                from_name
            });
        }
        d
    }

    /// The slug field's placeholder: the one the name makes.
    pub fn slug_placeholder(&self) -> String {
        let s = slugify(&self.name);
        if s.is_empty() {
            "nightly-backup".into()
        } else {
            s
        }
    }
}

/// Each refused field with its message in the reader's language.
pub fn field_errors(e: &AppError, lang: Lang) -> Errors {
    e.fields()
        .iter()
        .map(|f| (f.field, lang.problem(&f.problem)))
        .collect()
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
    ch: ChannelFields,
}

impl FormPage<'_> {
    /// The input an error summary links to.
    fn anchor(&self, field: &str) -> String {
        match field {
            "kind" => "kind-interval".into(),
            other => other.to_owned(),
        }
    }

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

async fn render_form(
    s: &SignedIn,
    status: StatusCode,
    id: Option<&str>,
    form: &ServiceForm,
    errors: &Errors,
) -> UiResult {
    let ch = form
        .channel_inputs()
        .fields(s, |f| errors.get(f).cloned())
        .await?;
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
            ch,
        },
    )
}

pub async fn new_form(s: SignedIn) -> UiResult {
    s.actor.require(Action::EditServices).lang(s.lang)?;
    let defaults = ChannelInputs {
        offered: true,
        picked: channels::default_ids(&s).await?,
        ..Default::default()
    };
    let form = ServiceForm::blank(s.state.settings.timezone).with_channels(&defaults);
    render_form(&s, StatusCode::OK, None, &form, &Errors::new()).await
}

/// Show the form again with what was refused, or fail the page for anything else.
async fn refused(s: &SignedIn, id: Option<&str>, form: &ServiceForm, e: AppError) -> UiResult {
    if e.fields().is_empty() {
        return Err(e).lang(s.lang);
    }
    let errors = field_errors(&e, s.lang);
    render_form(s, StatusCode::UNPROCESSABLE_ENTITY, id, form, &errors).await
}

#[tracing::instrument(skip_all, fields(user = %s.user.name))]
pub async fn create(s: SignedIn, form: web::Form<ServiceForm>) -> UiResult {
    s.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    match app::services::create(&s.state.app, &s.actor, &form.draft()).await {
        Ok(m) => {
            s.state.ui.list_cache.clear();
            Ok(s.redirect(&format!("/services/{}", m.id), Some("created")))
        }
        Err(e) => refused(&s, None, &form, e).await,
    }
}

pub async fn edit_form(s: SignedIn, id: web::Path<String>) -> UiResult {
    s.actor.require(Action::EditServices).lang(s.lang)?;
    let m = services::get(&s.state.db, &id).await.lang(s.lang)?;
    let form = ServiceForm::from_model(&m);
    render_form(&s, StatusCode::OK, Some(&m.id), &form, &Errors::new()).await
}

#[tracing::instrument(skip_all, fields(id = %id, user = %s.user.name))]
pub async fn update(s: SignedIn, id: web::Path<String>, form: web::Form<ServiceForm>) -> UiResult {
    s.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    match app::services::update(&s.state.app, &s.actor, &id, &form.edit_draft(&id)).await {
        Ok(m) => {
            s.state.ui.list_cache.clear();
            Ok(s.redirect(&format!("/services/{}", m.id), Some("saved")))
        }
        Err(e) => refused(&s, Some(&id), &form, e).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::schedule::Schedule;

    fn form(kind: &str) -> ServiceForm {
        ServiceForm {
            name: "backup".into(),
            kind: kind.into(),
            ..ServiceForm::blank(chrono_tz::Asia::Shanghai)
        }
    }

    fn errors(f: &ServiceForm, lang: Lang) -> Errors {
        let e = f.draft().validate_new(chrono_tz::UTC).unwrap_err();
        field_errors(&e, lang)
    }

    #[test]
    fn every_error_is_reported_at_its_field_in_both_languages() {
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
        let en = errors(&f, Lang::En);
        let fields: Vec<_> = en.keys().copied().collect();
        assert_eq!(
            fields,
            ["cron", "grace", "name", "notify", "tags", "timezone"]
        );
        assert_eq!(en["cron"], "minute field: 61 is out of range 0-59");
        let zh = errors(&f, Lang::Zh);
        assert_eq!(zh["cron"], "分钟字段：61 超出范围 0-59");
        assert_eq!(zh["name"], "必填");
        assert_eq!(zh["grace"], "必须是整数");
        assert_eq!(zh["tags"], "标签 'a b' 不能包含空格或 '%'");
        assert_eq!(zh["notify"], "'nope' 不是有效的邮箱地址");
        assert!(
            zh["timezone"].starts_with("未知时区 'Mars/Base'"),
            "{}",
            zh["timezone"]
        );
    }

    #[test]
    fn periods_take_units() {
        let f = ServiceForm {
            period: "2".into(),
            period_unit: "h".into(),
            ..form("interval")
        };
        let new = f.draft().validate_new(chrono_tz::UTC).unwrap();
        assert_eq!(
            new.schedule,
            Schedule::interval(chrono::TimeDelta::hours(2)).unwrap()
        );
        let f = ServiceForm {
            period: "0".into(),
            ..form("interval")
        };
        assert_eq!(
            errors(&f, Lang::En)["period"],
            "must be between 1 second and 366 days"
        );
        assert_eq!(errors(&f, Lang::Zh)["period"], "必须在 1 秒到 366 天之间");
    }
}
