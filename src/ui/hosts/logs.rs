//! The events log (`/events`: every host, or one, newest first, paged by id) and the
//! unmanaged inbox (`/hosts/inbox`: names that report but are not configured, each with
//! one-click Adopt and Dismiss).
use actix_web::http::StatusCode;
use actix_web::web;
use askama::Template;
use serde::Deserialize;

use super::values::{self, pct};
use crate::domain::host::Checks;
use crate::store::{StoreError, host_events, host_inbox, hosts};
use crate::ui::format::When;
use crate::ui::page::{Chrome, InLang, UiResult};
use crate::ui::session::SignedIn;

const EVENTS_PER_PAGE: u64 = 100;
const INBOX_SHOWN: u64 = 500;

#[derive(Debug, Default, Deserialize)]
pub struct EventsQuery {
    #[serde(default)]
    host: String,
    before: Option<i64>,
}

pub struct EventRow {
    pub when: When,
    pub host_id: String,
    pub host: String,
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub check: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "events.html")]
struct EventsPage<'a> {
    c: &'a Chrome,
    host: &'a str,
    /// The host the filter names, when it names one: `(id, name)`.
    found: Option<(String, String)>,
    unknown: bool,
    rows: Vec<EventRow>,
    older: Option<String>,
    paged: bool,
    zone: String,
}

pub async fn events(s: SignedIn, q: web::Query<EventsQuery>) -> UiResult {
    let lang = s.lang;
    let db = &s.state.db;
    let tz = s.state.settings.timezone;
    let now = s.now();
    let wanted = q.host.trim();
    // The filter takes a host's id or its name.
    let found = if wanted.is_empty() {
        None
    } else {
        match hosts::get(db, wanted).await {
            Ok(m) => Some(m),
            Err(StoreError::NotFound(_)) => hosts::by_name(db, wanted).await.lang(lang)?,
            Err(e) => return Err(e).lang(lang),
        }
    };
    let unknown = !wanted.is_empty() && found.is_none();
    let mut rows = if unknown {
        Vec::new()
    } else {
        host_events::events(
            db,
            found.as_ref().map(|m| m.id.as_str()),
            q.before,
            EVENTS_PER_PAGE + 1,
        )
        .await
        .lang(lang)?
    };
    let more = rows.len() as u64 > EVENTS_PER_PAGE;
    rows.truncate(EVENTS_PER_PAGE as usize);
    let older = match (more, rows.last()) {
        (true, Some(last)) => {
            let mut link = format!("/events?before={}", last.id);
            if let Some(m) = &found {
                link.push_str(&format!("&host={}", m.id));
            }
            Some(link)
        }
        _ => None,
    };
    let rows = rows
        .into_iter()
        .map(|e| EventRow {
            when: When::from_ms(e.at, tz, now, lang),
            host_id: e.host_id,
            host: e.host_name,
            kind: e.kind.as_str(),
            kind_label: lang.event_kind(e.kind),
            check: e.check_key.unwrap_or_default(),
            detail: e.detail.unwrap_or_default(),
        })
        .collect();
    let c = s.chrome("hosts");
    s.render(
        StatusCode::OK,
        &EventsPage {
            c: &c,
            host: wanted,
            found: found.map(|m| (m.id, m.name)),
            unknown,
            rows,
            older,
            paged: q.before.is_some(),
            zone: crate::domain::zone::offset_label(&now.with_timezone(&tz)),
        },
    )
}

pub struct InboxRow {
    pub name: String,
    pub first: When,
    pub last: When,
    pub reports: i64,
    pub source: String,
    /// `CPU 23% · memory 41% · disk 93% /data`, from the latest report.
    pub summary: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "hosts_inbox.html")]
struct InboxPage<'a> {
    c: &'a Chrome,
    rows: Vec<InboxRow>,
    more: bool,
}

pub async fn inbox(s: SignedIn) -> UiResult {
    let lang = s.lang;
    let t = lang.t();
    let tz = s.state.settings.timezone;
    let now = s.now();
    let mut entries = host_inbox::list(&s.state.db, INBOX_SHOWN + 1)
        .await
        .lang(lang)?;
    let more = entries.len() as u64 > INBOX_SHOWN;
    entries.truncate(INBOX_SHOWN as usize);
    let checks = Checks::default();
    let rows = entries
        .into_iter()
        .map(|e| {
            let report = e
                .snapshot
                .as_deref()
                .and_then(|j| serde_json::from_str::<heartbeats_wire::hosts::HostReport>(j).ok());
            let mut parts = Vec::new();
            if let Some(r) = report.as_ref().filter(|r| r.error.is_none()) {
                if let Some(v) = r.cpu_pct {
                    parts.push(format!("{} {}", t.col_cpu, pct(v)));
                }
                if let Some(v) = r.mem_pct() {
                    parts.push(format!("{} {}", t.col_mem, pct(v)));
                }
                if let Some((d, mount)) = values::fullest_disk(r, &checks) {
                    parts.push(format!("{} {} {mount}", t.col_disk, d.text));
                }
                if let Some(g) = values::gpus(r, &checks) {
                    parts.push(format!("{}× GPU", g.count));
                }
            }
            InboxRow {
                first: When::from_ms(e.first_seen_at, tz, now, lang),
                last: When::from_ms(e.last_seen_at, tz, now, lang),
                reports: e.reports,
                source: e.source.unwrap_or_default(),
                summary: parts.join(" · "),
                error: report.and_then(|r| r.error),
                name: e.name,
            }
        })
        .collect();
    let c = s.chrome("hosts");
    s.render(StatusCode::OK, &InboxPage { c: &c, rows, more })
}
