//! `/badges`: the status badges to put in README files and wiki pages, for all services,
//! each tag and each service (paged), with the Markdown and HTML to paste and the JSON URL
//! for shields.io's endpoint badges.
use actix_web::http::StatusCode;
use actix_web::web;
use askama::Template;
use serde::Deserialize;

use super::page::{Chrome, InLang, UiResult};
use super::session::SignedIn;
use crate::app::AppError;
use crate::domain::badge::{self, Format, Subject};
use crate::domain::role::Action;
use crate::store::badges as store;

const PER_PAGE: u64 = 100;
const MAX_TAGS: usize = 1000;

/// One badge: what it is about, its image and what to paste.
pub struct BadgeRow {
    /// Unique on the page, for the copy buttons.
    pub key: String,
    pub label: String,
    pub svg: String,
    pub json: String,
    pub markdown: String,
    pub html: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BadgesQuery {
    pub after: Option<String>,
}

#[derive(Template)]
#[template(path = "badges.html")]
struct BadgesPage<'a> {
    c: &'a Chrome,
    all: BadgeRow,
    tags: Vec<BadgeRow>,
    services: Vec<BadgeRow>,
    next: Option<String>,
    paged: bool,
}

fn row(base: &str, key: &str, subject: &Subject, label: String, n: usize) -> BadgeRow {
    let svg = format!("{base}{}", badge::path(key, subject, Format::Svg));
    let json = format!("{base}{}", badge::path(key, subject, Format::Json));
    let alt = label.replace(['[', ']'], "");
    let html_alt = alt
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    BadgeRow {
        key: format!("b{n}"),
        markdown: format!("![{alt}]({svg})"),
        html: format!("<img src=\"{svg}\" alt=\"{html_alt}\">"),
        label,
        svg,
        json,
    }
}

pub async fn page(s: SignedIn, q: web::Query<BadgesQuery>) -> UiResult {
    let lang = s.lang;
    s.actor.require(Action::Read).lang(lang)?;
    let db = &s.state.db;
    let key = store::badge_key(db)
        .await
        .map_err(AppError::from)
        .lang(lang)?;
    let base = s
        .state
        .settings
        .base_url
        .as_str()
        .trim_end_matches('/')
        .to_owned();
    let all_label = s.lang.t().badges_all.to_owned();
    let all = row(&base, &key, &Subject::All, all_label, 0);
    let tags = store::tags(db, MAX_TAGS)
        .await
        .map_err(AppError::from)
        .lang(lang)?
        .into_iter()
        .enumerate()
        .map(|(i, t)| row(&base, &key, &Subject::Tag(t.clone()), t, i + 1))
        .collect::<Vec<_>>();
    let mut page = store::services_page(db, q.after.as_deref(), PER_PAGE + 1)
        .await
        .map_err(AppError::from)
        .lang(lang)?;
    let more = page.len() as u64 > PER_PAGE;
    page.truncate(PER_PAGE as usize);
    let next = more
        .then(|| page.last().map(|(id, _, _)| id.clone()))
        .flatten();
    let offset = tags.len() + 1;
    let services = page
        .into_iter()
        .enumerate()
        .map(|(i, (id, name, _))| row(&base, &key, &Subject::Service(id), name, offset + i))
        .collect();
    let c = s.chrome("badges");
    s.render(
        StatusCode::OK,
        &BadgesPage {
            c: &c,
            all,
            tags,
            services,
            next,
            paged: q.after.is_some(),
        },
    )
}
