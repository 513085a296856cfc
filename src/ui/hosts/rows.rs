//! The overview's changing part: status tabs with counts, the unmanaged-inbox notice, one
//! page of host rows (a card each on a phone) and the links to the pages around it.
use std::collections::HashMap;

use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::list::{HostSearch, STATUSES};
use super::values::{self, GpuSummary, Reading};
use crate::domain::Tags;
use crate::domain::host::HostStatus;
use crate::entity::hosts::Model;
use crate::store::host_overview::HostPage;
use crate::store::host_reports::Latest;
use crate::store::hosts::{checks_of, problems_of};
use crate::ui::format::When;
use crate::ui::http::encode;
use crate::ui::i18n::{Lang, Tr};

pub struct Chip {
    pub tag: String,
    pub href: String,
    pub active: bool,
}

/// Why a row needs attention: `2 h 14 min · disk / 93% > 90% for 0 min`.
pub struct Why {
    pub text: String,
    /// Every problem, when the row shows fewer.
    pub title: String,
}

pub struct Tab {
    pub key: &'static str,
    pub label: &'static str,
    pub count: u64,
    pub href: String,
    pub active: bool,
}

pub struct RowView {
    pub id: String,
    pub name: String,
    pub address: Option<String>,
    pub status: &'static str,
    pub status_label: &'static str,
    pub why: Option<Why>,
    pub chips: Vec<Chip>,
    /// The values are from before the host went down or was paused.
    pub old: bool,
    pub cpu: Option<Reading>,
    pub mem: Option<Reading>,
    pub disk: Option<(Reading, String)>,
    /// Every mount, for the disk cell's title.
    pub disks: String,
    pub gpu: Option<GpuSummary>,
    pub load: Option<(String, bool)>,
    pub cores: Option<u32>,
    pub failed: Vec<String>,
    /// "and 4 more", past [`FAILED_NAMED`].
    pub failed_more: Option<String>,
    pub seen: Option<When>,
}

#[derive(Template)]
#[template(path = "partials/host_rows.html")]
pub struct RowsFragment<'a> {
    pub t: &'static Tr,
    pub tabs: Vec<Tab>,
    pub rows: Vec<RowView>,
    pub any: bool,
    pub search_text: &'a str,
    pub prev_href: Option<String>,
    pub next_href: Option<String>,
    pub title_prefix: String,
    /// "3 hosts report but are not configured".
    pub inbox: Option<String>,
    /// The zone the page's times are in: `Asia/Shanghai (UTC+8)`.
    pub zone: String,
}

pub struct Input<'a> {
    pub page: HostPage,
    pub counts: &'a HashMap<HostStatus, u64>,
    pub latest: &'a HashMap<String, Latest>,
    pub inbox: u64,
    /// Whether any host exists at all.
    pub any: bool,
    pub search: &'a HostSearch,
    pub lang: Lang,
    pub tz: Tz,
    pub now: DateTime<Utc>,
}

/// At most `max` characters, with an ellipsis when cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() > max {
        let cut: String = text.chars().take(max - 1).collect();
        format!("{}…", cut.trim_end())
    } else {
        text.to_owned()
    }
}

/// What is wrong with a down or degraded host, and for how long.
pub fn why(m: &Model, lang: Lang, now: DateTime<Utc>) -> Option<Why> {
    if !matches!(m.status, HostStatus::Down | HostStatus::Degraded) {
        return None;
    }
    let mut problems = problems_of(m);
    if problems.is_empty()
        && let Some(e) = m.last_error.as_deref().filter(|e| !e.trim().is_empty())
    {
        problems.push(e.trim().to_owned());
    }
    let since = m
        .status_since
        .map(|ms| lang.down_for((now.timestamp_millis() - ms).max(0) / 1000));
    let all = problems.join("; ");
    let shown = cut(&all, 140);
    let text = match since {
        Some(s) if shown.is_empty() => s,
        Some(s) => format!("{s} · {shown}"),
        None => shown.clone(),
    };
    Some(Why {
        title: if shown.len() < all.len() {
            all
        } else {
            String::new()
        },
        text,
    })
}

fn chips(tags: &str, search: &HostSearch) -> Vec<Chip> {
    let status = search
        .status
        .map(|s| format!("&status={s}"))
        .unwrap_or_default();
    Tags::from_column(tags)
        .into_vec()
        .into_iter()
        .map(|tag| {
            let active = search.terms.contains(&tag);
            let terms: Vec<&str> = if active {
                // An active chip takes its tag back out of the search.
                search
                    .terms
                    .iter()
                    .filter(|t| **t != tag)
                    .map(String::as_str)
                    .collect()
            } else {
                search
                    .terms
                    .iter()
                    .map(String::as_str)
                    .chain([tag.as_str()])
                    .collect()
            };
            let href = match (terms.is_empty(), status.strip_prefix('&')) {
                (true, None) => "/hosts".to_owned(),
                (true, Some(st)) => format!("/hosts?{st}"),
                (false, _) => format!("/hosts?q={}{status}", encode(&terms.join(","))),
            };
            Chip { tag, href, active }
        })
        .collect()
}

/// Failed units a row names; a count says the rest.
const FAILED_NAMED: usize = 3;

fn row_view(m: Model, input: &Input<'_>) -> RowView {
    let lang = input.lang;
    let checks = checks_of(&m);
    let report = input.latest.get(&m.id).and_then(values::report_of);
    let r = report.as_ref().filter(|r| r.error.is_none());
    let mut failed = r.map(values::failed_units).unwrap_or_default();
    let failed_more = (failed.len() > FAILED_NAMED).then(|| {
        let more = failed.len() - FAILED_NAMED;
        failed.truncate(FAILED_NAMED);
        lang.and_more(&more.to_string())
    });
    RowView {
        why: why(&m, lang, input.now),
        chips: chips(&m.tags, input.search),
        old: matches!(m.status, HostStatus::Down | HostStatus::Paused),
        cpu: r
            .and_then(|r| r.cpu_pct)
            .map(|v| Reading::new(v, checks.cpu_pct)),
        mem: r
            .and_then(|r| r.mem_pct())
            .map(|v| Reading::new(v, checks.mem_pct)),
        disk: r.and_then(|r| values::fullest_disk(r, &checks)),
        disks: r.map(values::disks_line).unwrap_or_default(),
        gpu: r.and_then(|r| values::gpus(r, &checks)),
        load: r.and_then(|r| values::loads(r, &checks)),
        cores: r.and_then(|r| r.cores),
        failed,
        failed_more,
        seen: m
            .last_report_at
            .map(|ms| When::from_ms(ms, input.tz, input.now, lang)),
        status: m.status.as_str(),
        status_label: lang.host_status(m.status),
        id: m.id,
        name: m.name,
        address: m.address,
    }
}

/// The fragment, rendered.
pub fn render(mut input: Input<'_>) -> Result<String, askama::Error> {
    let lang = input.lang;
    let t = lang.t();
    let search = input.search;
    let count = |s: HostStatus| input.counts.get(&s).copied().unwrap_or(0);
    let all: u64 = input.counts.values().sum();
    let mut tabs = vec![Tab {
        key: "all",
        label: t.all,
        count: all,
        href: search.link(None, None),
        active: search.status.is_none(),
    }];
    tabs.extend(STATUSES.into_iter().map(|s| Tab {
        key: s.as_str(),
        label: lang.host_status(s),
        count: count(s),
        href: search.link(Some(s), None),
        active: search.status == Some(s),
    }));
    let down = count(HostStatus::Down);
    let page_link = |name: &str, c: &crate::store::service_list::Cursor| {
        search.link(search.status, Some((name, &c.encode())))
    };
    let prev_href = input.page.prev.as_ref().map(|c| page_link("before", c));
    let next_href = input.page.next.as_ref().map(|c| page_link("after", c));
    let page_rows = std::mem::take(&mut input.page.rows);
    let rows: Vec<RowView> = page_rows.into_iter().map(|m| row_view(m, &input)).collect();
    let zone = crate::domain::zone::offset_label(&input.now.with_timezone(&input.tz));
    RowsFragment {
        t,
        tabs,
        any: input.any,
        rows,
        search_text: &search.text(),
        prev_href,
        next_href,
        title_prefix: if down > 0 {
            lang.down_prefix(&down.to_string())
        } else {
            String::new()
        },
        inbox: (input.inbox > 0).then(|| lang.inbox_notice(input.inbox)),
        zone: format!("{} ({zone})", input.tz.name()),
    }
    .render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chips_add_and_remove_their_tag() {
        let s = HostSearch::parse("gpu", "down");
        let c = chips(",gpu,room:725,", &s);
        assert_eq!(c[0].tag, "gpu");
        assert!(c[0].active);
        assert_eq!(c[0].href, "/hosts?status=down");
        assert_eq!(c[1].href, "/hosts?q=gpu%2Croom%3A725&status=down");
        assert_eq!(cut("abcdef", 4), "abc…");
    }
}
