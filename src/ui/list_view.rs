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
use crate::domain::status::{PingKind, Reason, Status};
use crate::entity::services::Model;
use crate::store::service_list::{Count, Counts, Facts, Page, Silent};

pub struct Chip {
    pub tag: String,
    pub href: String,
    pub active: bool,
    /// `down` or `late` when some of the tag's services are: the chip is coloured, and
    /// says so in words to screen readers and on hover.
    pub worst: Option<Worst>,
}

/// A chip's warning: its class (`down`, `late`), a mark that is not colour alone, and
/// words.
pub struct Worst {
    pub class: &'static str,
    pub mark: &'static str,
    pub said: &'static str,
}

/// Why a row needs attention, in words: `2 h 14 min · backup failed: disk full`.
pub struct Why {
    pub text: String,
    /// The whole error text, when the row shows only its first line.
    pub title: String,
}

/// The services that notify nobody, named in a notice above the list.
pub struct SilentView {
    pub links: Vec<(String, String)>,
    /// "and 12 more", when there are more than the notice names.
    pub more: Option<String>,
}

/// The two orders, as links keeping the search.
pub struct OrderLink {
    pub label: &'static str,
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
    /// The last finished run's duration, compact, with its title.
    pub last_run: Option<(String, String)>,
    /// A run is open.
    pub running: bool,
    pub due: Due,
    pub why: Option<Why>,
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
    pub silent: Option<SilentView>,
    pub orders: [OrderLink; 2],
}

/// The first line of a job's error text, cut to fit a row.
fn first_line(text: &str) -> String {
    const MAX: usize = 100;
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if line.chars().count() > MAX {
        let cut: String = line.chars().take(MAX - 1).collect();
        format!("{}…", cut.trim_end())
    } else {
        line.to_owned()
    }
}

/// Why a row needs attention: how long a down service has been down and what its job
/// said (or that no ping came); a late row's lateness is in its due column.
fn why(row: &Model, facts: &Facts, lang: Lang, now: DateTime<Utc>) -> Option<Why> {
    if row.status != Status::Down {
        return None;
    }
    let t = lang.t();
    let down = facts.down.get(&row.id);
    let since = down
        .map(|d| lang.down_for((now.timestamp_millis() - d.at).max(0) / 1000))
        .map(|s| format!("{s} · "))
        .unwrap_or_default();
    let (what, title) = match down.and_then(|d| d.error.as_deref()) {
        Some(error) if !error.trim().is_empty() => {
            let line = first_line(error);
            let title = if line.len() < error.trim().len() {
                error.trim().to_owned()
            } else {
                String::new()
            };
            (line, title)
        }
        Some(_) => (lang.reason(Reason::Error).to_owned(), String::new()),
        None => (t.no_ping_in_time.to_owned(), String::new()),
    };
    Some(Why {
        text: format!("{since}{what}"),
        title,
    })
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
#[allow(clippy::too_many_arguments)]
pub fn render(
    page: Page,
    counts: &Counts,
    any: bool,
    search: &Search,
    facts: &Facts,
    silent: &Silent,
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
    let mut chip_suffix = search
        .status
        .map(|s| format!("&status={s}"))
        .unwrap_or_default();
    if search.by_name {
        chip_suffix.push_str("&sort=name");
    }
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
                (&chip_prefix, &chip_suffix),
                facts,
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
        silent: silent_view(silent, lang),
        orders: [
            OrderLink {
                label: t.order_attention,
                href: Search {
                    by_name: false,
                    ..search.clone()
                }
                .link(search.status, None),
                active: !search.by_name,
            },
            OrderLink {
                label: t.order_name,
                href: Search {
                    by_name: true,
                    ..search.clone()
                }
                .link(search.status, None),
                active: search.by_name,
            },
        ],
    }
    .render()
}

fn silent_view(silent: &Silent, lang: Lang) -> Option<SilentView> {
    if silent.first.is_empty() {
        return None;
    }
    let named = silent.first.len() as u64;
    let more = (silent.count.n > named || silent.count.more).then(|| {
        let rest = Count {
            n: silent.count.n.saturating_sub(named),
            more: silent.count.more,
        };
        lang.and_more(&count_text(rest))
    });
    Some(SilentView {
        links: silent
            .first
            .iter()
            .map(|(id, name)| (format!("/services/{id}"), name.clone()))
            .collect(),
        more,
    })
}

#[allow(clippy::too_many_arguments)]
fn row_view(
    row: Model,
    tz: Tz,
    zone_said: bool,
    search: &Search,
    (chip_prefix, chip_suffix): (&str, &str),
    facts: &Facts,
    lang: Lang,
    now: DateTime<Utc>,
) -> RowView {
    let t = lang.t();
    let why = why(&row, facts, lang, now);
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
            let worst = match facts.worst.get(&tag) {
                Some(Status::Down) => Some(Worst {
                    class: "down",
                    mark: "●",
                    said: t.tag_has_down,
                }),
                Some(Status::Late) => Some(Worst {
                    class: "late",
                    mark: "◐",
                    said: t.tag_has_late,
                }),
                _ => None,
            };
            Chip {
                active,
                href,
                tag,
                worst,
            }
        })
        .collect();
    RowView {
        last: row.last_ping_at.map(|ms| When::from_ms(ms, tz, now, lang)),
        last_error: row.last_ping_kind == Some(PingKind::Error),
        last_run: row.last_run_ms.map(|ms| {
            let took = lang.run_duration(ms);
            let title = lang.last_run_took(&took);
            (took, title)
        }),
        running: row.open_runs > 0,
        status,
        status_label: lang.status(row.status),
        schedule,
        chips,
        due,
        why,
        id: row.id,
        name: row.name,
    }
}
