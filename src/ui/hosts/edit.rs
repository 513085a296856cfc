//! Add and edit a host (`/hosts/new`, `/hosts/{id}/edit`): every field of the API, each
//! refusal shown at its field and listed in a summary that takes the focus.
use actix_web::http::StatusCode;
use actix_web::web;
use askama::Template;
use heartbeats_wire::hosts::UnitReport;

use super::actions;
use super::form::{self, HostForm, THRESHOLDS, ThresholdInput};
use crate::app::AppError;
use crate::domain::FieldError;
use crate::domain::host::ThresholdKind;
use crate::domain::role::Action;
use crate::entity::hosts::Model;
use crate::store::hosts;
use crate::ui::channels::{self, ChannelFields, ChannelInputs};
use crate::ui::format::When;
use crate::ui::i18n::Lang;
use crate::ui::page::{Chrome, InLang, UiError, UiResult};
use crate::ui::session::SignedIn;

/// Refused fields with their messages, in the form's order.
pub type Errors = Vec<(&'static str, String)>;

/// One threshold row as the template shows it.
pub struct ThresholdRow<'a> {
    pub name: &'static str,
    pub field: &'static str,
    pub label: &'static str,
    pub unit: &'static str,
    pub max: i64,
    pub input: &'a ThresholdInput,
}

#[derive(Template)]
#[template(path = "host_form.html")]
struct FormPage<'a> {
    c: &'a Chrome,
    /// The host's id and name when editing.
    editing: Option<(&'a str, &'a str)>,
    f: &'a HostForm,
    errors: &'a Errors,
    thresholds: Vec<ThresholdRow<'a>>,
    /// When the offered units were discovered (`None`: never, or a new list is asked for).
    units_found: Option<When>,
    ch: ChannelFields,
}

/// A host's discovered units as the form offers them.
#[derive(Default)]
struct Discovery {
    units: Vec<UnitReport>,
    at: Option<i64>,
    /// The units the host watches now: offered even when not discovered.
    stored: Vec<String>,
}

async fn discovery(s: &SignedIn, m: &Model) -> Result<Discovery, UiError> {
    let found = hosts::discovered_units(&s.state.db, &m.id)
        .await
        .lang(s.lang)?;
    let (units, at) = match found {
        // A list the agent sent is validated on the way in; one that does not read is
        // offered as none.
        Some((json, at)) => (serde_json::from_str(&json).unwrap_or_default(), at),
        None => (Vec::new(), None),
    };
    Ok(Discovery {
        units,
        at,
        stored: hosts::checks_of(m).units,
    })
}

impl FormPage<'_> {
    fn err(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    fn anchor(&self, field: &str) -> String {
        form::anchor(field)
    }

    fn units(&self) -> [(&'static str, &'static str); 3] {
        let t = self.c.t;
        [("s", t.unit_s), ("min", t.unit_min), ("h", t.unit_h)]
    }
}

fn threshold_rows(f: &HostForm, lang: Lang) -> Vec<ThresholdRow<'_>> {
    let t = lang.t();
    THRESHOLDS
        .iter()
        .zip(&f.thresholds)
        .map(|((name, field, kind), input)| {
            let (label, unit) = match kind {
                ThresholdKind::Cpu => (t.col_cpu, "%"),
                ThresholdKind::Mem => (t.col_mem, "%"),
                ThresholdKind::Swap => (t.swap, "%"),
                ThresholdKind::Disk => (t.disk_any_mount, "%"),
                ThresholdKind::GpuUtil => (t.gpu_util, "%"),
                ThresholdKind::GpuMem => (t.gpu_mem, "%"),
                ThresholdKind::GpuTemp => (t.gpu_temp, "°C"),
                ThresholdKind::Load => (t.load_per_core, ""),
            };
            ThresholdRow {
                name,
                field,
                label,
                unit,
                max: kind.max_limit(),
                input,
            }
        })
        .collect()
}

async fn render_form(
    s: &SignedIn,
    status: StatusCode,
    editing: Option<(&str, &str)>,
    f: &HostForm,
    errors: &Errors,
    d: &Discovery,
) -> UiResult {
    let err = |field: &str| {
        errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.clone())
    };
    let ch = f.ch.fields(s, err).await?;
    let c = s.chrome("hosts");
    let f = f.clone().offer_units(&d.units, &d.stored).with_blank_rows();
    let units_found =
        d.at.map(|ms| When::from_ms(ms, s.state.settings.timezone, s.now(), s.lang));
    s.render(
        status,
        &FormPage {
            c: &c,
            editing,
            f: &f,
            errors,
            thresholds: threshold_rows(&f, s.lang),
            units_found,
            ch,
        },
    )
}

/// Every refused field in the reader's language, in the form's order; the first refusal
/// of a field wins.
fn errors(fields: &[FieldError], lang: Lang) -> Errors {
    let mut out: Errors = Vec::new();
    for e in fields {
        if !out.iter().any(|(f, _)| *f == e.field) {
            out.push((e.field, lang.problem(&e.problem)));
        }
    }
    out.sort_by_key(|(f, _)| form::field_rank(f));
    out
}

/// Show the form again with what was refused, or fail the page for anything else.
async fn refused(
    s: &SignedIn,
    editing: Option<(&str, &str)>,
    f: &HostForm,
    mut fields: Vec<FieldError>,
    e: Option<AppError>,
    d: &Discovery,
) -> UiResult {
    if let Some(e) = e {
        if e.fields().is_empty() {
            return Err(e).lang(s.lang);
        }
        fields.extend(e.fields().iter().cloned());
    }
    render_form(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        editing,
        f,
        &errors(&fields, s.lang),
        d,
    )
    .await
}

pub async fn new_form(s: SignedIn) -> UiResult {
    s.actor.require(Action::EditHosts).lang(s.lang)?;
    let d = hosts::defaults(&s.state.db).await.lang(s.lang)?;
    let f = HostForm {
        ch: ChannelInputs {
            offered: true,
            picked: channels::default_ids(&s).await?,
            ..Default::default()
        },
        ..HostForm::with_checks(d.interval_secs, &d.checks)
    };
    render_form(
        &s,
        StatusCode::OK,
        None,
        &f,
        &Errors::new(),
        &Discovery::default(),
    )
    .await
}

pub async fn create(s: SignedIn, pairs: web::Form<Vec<(String, String)>>) -> UiResult {
    let f = HostForm::from_pairs(&pairs);
    s.check_csrf(&f.csrf)?;
    s.actor.require(Action::EditHosts).lang(s.lang)?;
    let (draft, unread) = f.draft();
    if !unread.is_empty() {
        // Show what else is wrong as well, without creating anything.
        let d = hosts::defaults(&s.state.db).await.lang(s.lang)?;
        let e = draft.validate_new(&d).err();
        return refused(&s, None, &f, unread, e, &Discovery::default()).await;
    }
    match actions::create(&s, &draft).await {
        Ok(m) => Ok(s.redirect(&format!("/hosts/{}", m.id), Some("host_created"))),
        Err(e) => refused(&s, None, &f, Vec::new(), Some(e), &Discovery::default()).await,
    }
}

pub async fn edit_form(s: SignedIn, id: web::Path<String>) -> UiResult {
    s.actor.require(Action::EditHosts).lang(s.lang)?;
    let m = hosts::get(&s.state.db, &id).await.lang(s.lang)?;
    let f = HostForm::from_model(&m);
    let d = discovery(&s, &m).await?;
    render_form(
        &s,
        StatusCode::OK,
        Some((&m.id, &m.name)),
        &f,
        &Errors::new(),
        &d,
    )
    .await
}

pub async fn update(
    s: SignedIn,
    id: web::Path<String>,
    pairs: web::Form<Vec<(String, String)>>,
) -> UiResult {
    let f = HostForm::from_pairs(&pairs);
    s.check_csrf(&f.csrf)?;
    s.actor.require(Action::EditHosts).lang(s.lang)?;
    let m = hosts::get(&s.state.db, &id).await.lang(s.lang)?;
    let editing = Some((m.id.as_str(), m.name.as_str()));
    let (draft, unread) = f.draft();
    if !unread.is_empty() {
        let d = discovery(&s, &m).await?;
        return refused(&s, editing, &f, unread, draft.validate_patch(&m).err(), &d).await;
    }
    match actions::update(&s, &m.id, &draft).await {
        Ok(m) => Ok(s.redirect(&format!("/hosts/{}", m.id), Some("saved"))),
        Err(e) => {
            let d = discovery(&s, &m).await?;
            refused(&s, editing, &f, Vec::new(), Some(e), &d).await
        }
    }
}
