//! `/audit` (admins): the audit log, newest first, paged, filtered by action.
use actix_web::http::StatusCode;
use actix_web::web;
use askama::Template;
use serde::Deserialize;

use super::format::When;
use super::page::{Chrome, InLang, UiResult};
use super::session::SignedIn;
use crate::app;

/// The actions the log records, for the filter.
pub const ACTIONS: &[&str] = &[
    "signin",
    "signin.failed",
    "service.create",
    "service.update",
    "service.pause",
    "service.resume",
    "service.delete",
    "user.add",
    "user.role",
    "user.password",
    "user.remove",
    "apikey.create",
    "apikey.revoke",
];

const PER_PAGE: u64 = 100;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AuditQuery {
    pub action: String,
    pub before: Option<i64>,
}

pub struct AuditRow {
    pub when: When,
    pub actor: String,
    pub source: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage<'a> {
    c: &'a Chrome,
    rows: Vec<AuditRow>,
    actions: &'static [&'static str],
    action: &'a str,
    older: Option<i64>,
    paged: bool,
}

pub async fn page(s: SignedIn, q: web::Query<AuditQuery>) -> UiResult {
    let lang = s.lang;
    let action = q.action.trim();
    let filter = ACTIONS.iter().copied().find(|a| *a == action);
    let mut entries = app::audit::page(&s.state.app, &s.actor, filter, q.before, PER_PAGE + 1)
        .await
        .lang(lang)?;
    let more = entries.len() as u64 > PER_PAGE;
    entries.truncate(PER_PAGE as usize);
    let older = more.then(|| entries.last().map(|e| e.id)).flatten();
    let tz = s.state.settings.timezone;
    let now = s.now();
    let rows = entries
        .into_iter()
        .map(|e| AuditRow {
            when: When::from_ms(e.at, tz, now, lang),
            actor: e.actor,
            source: e.source.unwrap_or_default(),
            action: e.action,
            target: e.target.unwrap_or_default(),
            detail: e.detail.unwrap_or_default(),
        })
        .collect();
    let c = s.chrome("audit");
    s.render(
        StatusCode::OK,
        &AuditPage {
            c: &c,
            rows,
            actions: ACTIONS,
            action: filter.unwrap_or(""),
            older,
            paged: q.before.is_some(),
        },
    )
}
