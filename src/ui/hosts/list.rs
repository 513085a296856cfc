//! The hosts overview (`/hosts`) and the fragment its script refreshes every 5 s
//! (`/ui/hosts/rows`).
//!
//! Search terms are separated by commas or spaces; a host is listed when every term is one
//! of its tags or part of its name. Down hosts come first, then degraded ones, then the
//! rest, each by name, a page of [`PAGE_SIZE`] at a time with cursor links, so the list
//! works without JavaScript. A page costs the indexed page query, the status counts and
//! one lookup of the page's latest snapshots (most from memory): no query per row.
//!
//! Host values change with every report, so rendered rows carry no change stamp: a live
//! refresh reuses rows rendered within the refresh floor (many dashboards, one render),
//! and otherwise renders afresh; the ETag is the rows' hash, so an unchanged refresh is
//! still a 304.
use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

use super::rows;
use crate::domain::host::HostStatus;
use crate::state::AppState;
use crate::store::host_live;
use crate::store::host_overview::{self, HostQuery};
use crate::store::service_index::Stamp;
use crate::store::service_list::{At, Cursor};
use crate::ui::http::encode;
use crate::ui::i18n::Lang;
use crate::ui::list_cache::CacheEntry;
use crate::ui::live::{self, Rows, at_param, fragment_response, ms, title_prefix, with_timing};
use crate::ui::page::{Chrome, InLang, UiError, UiResult};
use crate::ui::session::SignedIn;

/// Rows per page.
pub const PAGE_SIZE: u64 = 100;

/// The status tabs, in order.
pub const STATUSES: [HostStatus; 5] = [
    HostStatus::Down,
    HostStatus::Degraded,
    HostStatus::Up,
    HostStatus::New,
    HostStatus::Paused,
];

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub status: String,
    pub after: Option<String>,
    pub before: Option<String>,
}

impl ListQuery {
    /// Which page; a cursor this server did not make (an old bookmark) means the first.
    fn at(&self) -> At {
        let decode = |c: &Option<String>| c.as_deref().and_then(|c| Cursor::decode(c).ok());
        if let Some(c) = decode(&self.after) {
            At::After(c)
        } else if let Some(c) = decode(&self.before) {
            At::Before(c)
        } else {
            At::First
        }
    }
}

/// A parsed search: lower-case terms and the status tab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSearch {
    pub terms: Vec<String>,
    pub status: Option<HostStatus>,
}

impl HostSearch {
    /// Terms are separated by commas or spaces (tags hold no spaces).
    pub fn parse(q: &str, status: &str) -> Self {
        let mut terms: Vec<String> = Vec::new();
        for t in q.split(|c: char| c == ',' || c.is_whitespace()) {
            let t = t.trim().to_lowercase();
            if !t.is_empty() && !terms.contains(&t) {
                terms.push(t);
            }
        }
        Self {
            terms,
            status: status.trim().parse().ok(),
        }
    }

    pub fn text(&self) -> String {
        self.terms.join(", ")
    }

    pub fn is_filtered(&self) -> bool {
        !self.terms.is_empty() || self.status.is_some()
    }

    fn query(&self) -> HostQuery {
        HostQuery {
            terms: self.terms.clone(),
            status: self.status,
        }
    }

    /// The query string of this search with another status and, optionally, a cursor.
    pub fn params(&self, status: Option<HostStatus>, cursor: Option<(&str, &str)>) -> String {
        let mut parts = Vec::new();
        if !self.terms.is_empty() {
            parts.push(format!("q={}", encode(&self.terms.join(","))));
        }
        if let Some(s) = status {
            parts.push(format!("status={s}"));
        }
        if let Some((name, value)) = cursor {
            parts.push(format!("{name}={value}"));
        }
        parts.join("&")
    }

    /// A link to this search on the overview.
    pub fn link(&self, status: Option<HostStatus>, cursor: Option<(&str, &str)>) -> String {
        let params = self.params(status, cursor);
        if params.is_empty() {
            "/hosts".into()
        } else {
            format!("/hosts?{params}")
        }
    }

    fn cache_key(&self, lang: Lang, at: &At) -> String {
        let at = match at {
            At::First => String::new(),
            At::After(c) => format!("a:{}", c.encode()),
            At::Before(c) => format!("b:{}", c.encode()),
        };
        format!(
            "{}|{}|{}|{at}",
            lang.code(),
            self.terms.join(","),
            self.status.map(|s| s.as_str()).unwrap_or("")
        )
    }
}

/// Host rows are not stamped (see the module's comment).
const NO_STAMP: (Stamp, i64) = (
    Stamp {
        local: 0,
        catalog: 0,
        max_updated: 0,
    },
    0,
);

/// The rows of a search: for a live refresh, the ones rendered within the refresh floor
/// when there are; else read and rendered now.
pub async fn rows_for(
    state: &AppState,
    search: &HostSearch,
    at: &At,
    lang: Lang,
    live: bool,
) -> Result<Rows, UiError> {
    let key = search.cache_key(lang, at);
    if live && let Some(hit) = state.ui.host_cache.recent(&key) {
        return Ok(Rows {
            etag: hit.etag,
            html: hit.html,
            cached: true,
            db_ms: 0.0,
            render_ms: 0.0,
        });
    }
    let now = state.clock.now();
    let started = Instant::now();
    let db = &state.db;
    let page = host_overview::page(db, &search.query(), at, PAGE_SIZE).await?;
    let counts = host_overview::counts(db, &search.terms).await?;
    let latest = host_live::latest_of(db, &state.app.live, &page.rows).await?;
    let inbox = host_overview::inbox_count(db).await?;
    let any = if page.rows.is_empty() && search.is_filtered() {
        host_overview::any(db).await?
    } else {
        !page.rows.is_empty() || counts.values().any(|n| *n > 0)
    };
    let db_ms = ms(started);
    let rendering = Instant::now();
    let html = web::Bytes::from(rows::render(rows::Input {
        page,
        counts: &counts,
        latest: &latest,
        inbox,
        any,
        search,
        lang,
        tz: state.settings.timezone,
        now,
    })?);
    let etag = live::etag(&key, &html);
    let render_ms = ms(rendering);
    state.ui.host_cache.put(
        key,
        CacheEntry {
            stamp: NO_STAMP,
            etag: etag.clone(),
            html: html.clone(),
            rendered: Instant::now(),
        },
    );
    Ok(Rows {
        etag,
        html,
        cached: false,
        db_ms,
        render_ms,
    })
}

#[derive(Template)]
#[template(path = "hosts.html")]
struct ListPage<'a> {
    c: &'a Chrome,
    q: String,
    status: &'a str,
    /// The query the live refresh fetches: this search and page.
    query: String,
    rows_html: &'a str,
    title_prefix: &'a str,
    etag: &'a str,
}

#[tracing::instrument(skip_all)]
pub async fn page(s: SignedIn, q: web::Query<ListQuery>) -> UiResult {
    let search = HostSearch::parse(&q.q, &q.status);
    let at = q.at();
    let rows = rows_for(&s.state, &search, &at, s.lang, false)
        .await
        .lang(s.lang)?;
    let c = s.chrome("hosts");
    let html = std::str::from_utf8(&rows.html).unwrap_or_default();
    let resp = s.render(
        StatusCode::OK,
        &ListPage {
            c: &c,
            q: search.text(),
            status: search.status.map(|s| s.as_str()).unwrap_or(""),
            query: search.params(
                search.status,
                at_param(&at).as_ref().map(|(n, v)| (*n, v.as_str())),
            ),
            title_prefix: title_prefix(html),
            rows_html: html,
            etag: &rows.etag,
        },
    )?;
    Ok(with_timing(resp, &rows))
}

/// `GET /ui/hosts/rows?q=&status=`: the rows the overview's script swaps in.
#[tracing::instrument(skip_all)]
pub async fn fragment(req: HttpRequest, s: SignedIn, q: web::Query<ListQuery>) -> UiResult {
    let search = HostSearch::parse(&q.q, &q.status);
    let rows = rows_for(&s.state, &search, &q.at(), s.lang, true)
        .await
        .lang(s.lang)?;
    let resp = fragment_response(&req, &rows.etag, rows.html.clone());
    Ok(with_timing(resp, &rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_parse_and_link() {
        let s = HostSearch::parse(" room:725, GPU  gpu ", "down");
        assert_eq!(s.terms, ["room:725", "gpu"]);
        assert_eq!(s.status, Some(HostStatus::Down));
        assert_eq!(
            s.link(s.status, None),
            "/hosts?q=room%3A725%2Cgpu&status=down"
        );
        assert_eq!(
            HostSearch::parse("", "bogus").link(None, Some(("after", "x"))),
            "/hosts?after=x"
        );
        assert_eq!(HostSearch::parse("", "").link(None, None), "/hosts");
    }
}
