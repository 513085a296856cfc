//! Add and edit a host (`/hosts/new`, `/hosts/{id}/edit`): every field of the API, each
//! refusal shown at its field and listed in a summary that takes the focus.
use actix_web::http::StatusCode;
use actix_web::web;
use askama::Template;

use super::actions;
use super::form::{self, HostForm, THRESHOLDS, ThresholdInput};
use crate::app::AppError;
use crate::domain::FieldError;
use crate::domain::host::ThresholdKind;
use crate::domain::role::Action;
use crate::store::hosts;
use crate::ui::i18n::Lang;
use crate::ui::page::{Chrome, InLang, UiResult};
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

fn render_form(
    s: &SignedIn,
    status: StatusCode,
    editing: Option<(&str, &str)>,
    f: &HostForm,
    errors: &Errors,
) -> UiResult {
    let c = s.chrome("hosts");
    let f = f.clone().with_blank_rows();
    s.render(
        status,
        &FormPage {
            c: &c,
            editing,
            f: &f,
            errors,
            thresholds: threshold_rows(&f, s.lang),
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
fn refused(
    s: &SignedIn,
    editing: Option<(&str, &str)>,
    f: &HostForm,
    mut fields: Vec<FieldError>,
    e: Option<AppError>,
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
    )
}

pub async fn new_form(s: SignedIn) -> UiResult {
    s.actor.require(Action::EditHosts).lang(s.lang)?;
    let d = hosts::defaults(&s.state.db).await.lang(s.lang)?;
    let f = HostForm::with_checks(d.interval_secs, &d.checks);
    render_form(&s, StatusCode::OK, None, &f, &Errors::new())
}

pub async fn create(s: SignedIn, pairs: web::Form<Vec<(String, String)>>) -> UiResult {
    let f = HostForm::from_pairs(&pairs);
    s.check_csrf(&f.csrf)?;
    s.actor.require(Action::EditHosts).lang(s.lang)?;
    let (draft, unread) = f.draft();
    if !unread.is_empty() {
        // Show what else is wrong as well, without creating anything.
        let d = hosts::defaults(&s.state.db).await.lang(s.lang)?;
        return refused(&s, None, &f, unread, draft.validate_new(&d).err());
    }
    match actions::create(&s, &draft).await {
        Ok(m) => Ok(s.redirect(&format!("/hosts/{}", m.id), Some("host_created"))),
        Err(e) => refused(&s, None, &f, Vec::new(), Some(e)),
    }
}

pub async fn edit_form(s: SignedIn, id: web::Path<String>) -> UiResult {
    s.actor.require(Action::EditHosts).lang(s.lang)?;
    let m = hosts::get(&s.state.db, &id).await.lang(s.lang)?;
    let f = HostForm::from_model(&m);
    render_form(
        &s,
        StatusCode::OK,
        Some((&m.id, &m.name)),
        &f,
        &Errors::new(),
    )
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
        return refused(&s, editing, &f, unread, draft.validate_patch(&m).err());
    }
    match actions::update(&s, &m.id, &draft).await {
        Ok(m) => Ok(s.redirect(&format!("/hosts/{}", m.id), Some("saved"))),
        Err(e) => refused(&s, editing, &f, Vec::new(), Some(e)),
    }
}
