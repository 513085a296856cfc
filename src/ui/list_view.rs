//! The services list's changing part as the template shows it: status tabs with their
//! counts, one page of rows, and links to the pages before and after.
use std::collections::HashMap;

use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::format::{self, ScheduleCols, When};
use super::http::encode;
use super::i18n::{Lang, Tr};
use super::list::{STATUSES, Search};
use crate::domain::Tags;
use crate::domain::status::{PingKind, Status};
use crate::entity::services::Model;
use crate::store::service_list::{Count, Counts, Page};

pub struct Chip {
    pub tag: String,
    pub href: String,
    pub active: bool,
}

pub struct Due {
    pub text: String,
    pub title: String,
}

pub struct RowView {
    pub id: String,
    pub name: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub chips: Vec<Chip>,
    pub schedule: String,
    pub last: Option<When>,
    pub last_error: bool,
    pub due: Due,
}

pub struct Tab {
    pub key: &'static str,
    pub label: &'static str,
    /// "12", or "10000+" past the counting cap.
    pub count: String,
    pub has: bool,
    pub href: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "partials/service_rows.html")]
pub struct RowsFragment<'a> {
    pub t: &'static Tr,
    pub tabs: Vec<Tab>,
    pub rows: Vec<RowView>,
    pub searching: bool,
    /// Whether any service exists at all (for the empty list's message).
    pub any: bool,
    pub search_text: &'a str,
    pub prev_href: Option<String>,
    pub next_href: Option<String>,
    /// `(3 down) `: what the page title starts with, so a tab in the background says
    /// something is broken; the live refresh copies it into `document.title`.
    pub title_prefix: String,
    /// The one zone of every row on the page, named once above the table.
    pub shared_zone: Option<String>,
}

/// "12", or "10000+" for a count that stopped early.
fn count_text(c: Count) -> String {
    if c.more {
        format!("{}+", c.n)
    } else {
        c.n.to_string()
    }
}

/// Everything the fragment shows, rendered.
pub fn render(
    page: Page,
    counts: &Counts,
    any: bool,
    search: &Search,
    lang: Lang,
    now: DateTime<Utc>,
) -> Result<String, askama::Error> {
    let t = lang.t();
    let all = Count {
        n: counts.values().map(|c| c.n).sum(),
        more: counts.values().any(|c| c.more),
    };
    let mut tabs = vec![Tab {
        key: "all",
        label: t.all,
        count: count_text(all),
        has: all.n > 0,
        href: search.link(search.status, None),
        active: search.status.is_none(),
    }];
    for key in STATUSES {
        let status: Status = key.parse().unwrap_or(Status::New);
        let c = counts.get(&status).copied().unwrap_or_default();
        tabs.push(Tab {
            key,
            label: lang.status(status),
            count: count_text(c),
            has: c.n > 0,
            href: search.link(Some(key), None),
            active: search.status == Some(key),
        });
    }

    // A chip adds its tag to the current search (and starts from its first page).
    let chip_prefix = if search.terms.is_empty() {
        "/?q=".to_owned()
    } else {
        format!("/?q={}%2C", encode(&search.terms.join(",")))
    };
    let chip_suffix = search
        .status
        .map(|s| format!("&status={s}"))
        .unwrap_or_default();
    let mut zones: HashMap<String, Tz> = HashMap::new();
    let prev_href = page
        .prev
        .map(|c| search.link(search.status, Some(("before", &c.encode()))));
    let next_href = page
        .next
        .map(|c| search.link(search.status, Some(("after", &c.encode()))));
    // When every row is in one zone, the page says it once instead of on each row.
    let shared_zone = match page.rows.first() {
        Some(first) if page.rows.iter().all(|r| r.timezone == first.timezone) => {
            Some(first.timezone.clone())
        }
        _ => None,
    };
    let rows = page
        .rows
        .into_iter()
        .map(|row| {
            let tz = *zones
                .entry(row.timezone.clone())
                .or_insert_with(|| row.timezone.parse().unwrap_or(chrono_tz::UTC));
            row_view(
                row,
                tz,
                shared_zone.is_some(),
                search,
                &chip_prefix,
                &chip_suffix,
                lang,
                now,
            )
        })
        .collect();
    let down = counts.get(&Status::Down).copied().unwrap_or_default();
    let title_prefix = if down.n > 0 {
        lang.down_prefix(&count_text(down))
    } else {
        String::new()
    };
    RowsFragment {
        t,
        title_prefix,
        tabs,
        rows,
        searching: !search.terms.is_empty() || search.status.is_some(),
        any,
        search_text: &search.text(),
        prev_href,
        next_href,
        shared_zone,
    }
    .render()
}

#[allow(clippy::too_many_arguments)]
fn row_view(
    row: Model,
    tz: Tz,
    zone_said: bool,
    search: &Search,
    chip_prefix: &str,
    chip_suffix: &str,
    lang: Lang,
    now: DateTime<Utc>,
) -> RowView {
    let t = lang.t();
    let schedule = format::describe(
        &ScheduleCols {
            kind: row.kind,
            period_secs: row.period_secs,
            at_time: row.at_time.as_deref(),
            cron_expr: row.cron_expr.as_deref(),
            timezone: if zone_said { "" } else { &row.timezone },
            grace_secs: row.grace_secs,
        },
        lang,
    );
    let status = row.status.as_str();
    let due = match (status, row.next_due_at) {
        ("new", _) => Due {
            text: t.waiting_first_ping.to_owned(),
            title: String::new(),
        },
        ("up", Some(ms)) => {
            let w = When::from_ms(ms, tz, now, lang);
            Due {
                text: w.rel,
                title: format!("{} ({})", w.local, w.utc),
            }
        }
        ("late", Some(ms)) => {
            let w = When::from_ms(ms, tz, now, lang);
            Due {
                text: lang.overdue((now.timestamp_millis() - ms).max(0) / 1000),
                title: format!("{} ({})", w.local, w.utc),
            }
        }
        _ => Due {
            text: t.none.to_owned(),
            title: String::new(),
        },
    };
    let chips = Tags::from_column(&row.tags)
        .into_vec()
        .into_iter()
        .map(|tag| {
            let active = search.terms.contains(&tag);
            // An active chip takes its tag back out of the search.
            let href = if active {
                let rest: Vec<&str> = search
                    .terms
                    .iter()
                    .filter(|t| **t != tag)
                    .map(String::as_str)
                    .collect();
                match (rest.is_empty(), chip_suffix.strip_prefix('&')) {
                    (true, None) => "/".to_owned(),
                    (true, Some(status)) => format!("/?{status}"),
                    (false, _) => format!("/?q={}{chip_suffix}", encode(&rest.join(","))),
                }
            } else {
                format!("{chip_prefix}{}{chip_suffix}", encode(&tag))
            };
            Chip { active, href, tag }
        })
        .collect();
    RowView {
        last: row.last_ping_at.map(|ms| When::from_ms(ms, tz, now, lang)),
        last_error: row.last_ping_kind == Some(PingKind::Error),
        status,
        status_label: lang.status(row.status),
        schedule,
        chips,
        due,
        id: row.id,
        name: row.name,
    }
}
