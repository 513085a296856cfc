//! The services list (the home page) and the fragment its script refreshes every 5 s.
//!
//! Search terms are comma-separated; a service is listed when every term is one of its
//! tags or part of its name, any case. The store finds, counts and orders the matches
//! through indexes (down first, then late, then the rest, each by name) and hands over one
//! page of [`PAGE_SIZE`] rows; the pages before and after are links with cursors, so the
//! list works without JavaScript. The rendered rows are cached per search, page and
//! language, and re-rendered only when a service changed (see
//! [`service_index::stamp`], two indexed lookups) or the minute moved on: many open
//! dashboards cost one render, and an unchanged refresh is a 304.
use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

use super::http::encode;
use super::i18n::Lang;
use super::list_cache::CacheEntry;
use super::list_view;
use super::live::{self, Rows, at_param, fragment_response, ms, title_prefix, with_timing};
use super::page::{Chrome, InLang, UiError, UiResult};
use super::session::SignedIn;
use crate::state::AppState;
use crate::store::service_index;
use crate::store::service_list::{self, At, Cursor, ListQuery as StoreQuery, Order, Term};

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub status: String,
    /// `name` lists by name alone; anything else puts what is broken first.
    #[serde(default)]
    pub sort: String,
    /// The page after this cursor (the "next" link).
    pub after: Option<String>,
    /// The page before this cursor (the "previous" link).
    pub before: Option<String>,
}

/// Rows per page.
pub const PAGE_SIZE: u64 = 100;

/// The notice of services that notify nobody names this many; a count says the rest.
const SILENT_NAMED: u64 = 5;

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

/// A parsed search: lower-case terms, and the status filter if it names one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    pub terms: Vec<String>,
    pub status: Option<&'static str>,
    /// By name alone, rather than down, then late, then the rest.
    pub by_name: bool,
}

pub const STATUSES: [&str; 5] = ["down", "late", "up", "new", "paused"];

impl Search {
    /// Terms are separated by commas or spaces: tags hold no spaces, and a name with
    /// spaces is found by its words as well as by the whole.
    pub fn parse(q: &str, status: &str) -> Self {
        let mut terms: Vec<String> = Vec::new();
        for t in q.split(|c: char| c == ',' || c.is_whitespace()) {
            let t = t.trim().to_lowercase();
            if !t.is_empty() && !terms.contains(&t) {
                terms.push(t);
            }
        }
        let status = STATUSES.iter().copied().find(|s| *s == status.trim());
        Self {
            terms,
            status,
            by_name: false,
        }
    }

    /// The order a `sort` parameter asks for.
    pub fn sorted(mut self, sort: &str) -> Self {
        self.by_name = sort.trim() == "name";
        self
    }

    /// A search or a status filter narrows the list.
    pub fn is_filtered(&self) -> bool {
        !self.terms.is_empty() || self.status.is_some()
    }

    /// The search as the box shows it: `cert, sync`.
    pub fn text(&self) -> String {
        self.terms.join(", ")
    }

    /// What the store searches for: each term a whole tag or part of a name.
    fn store_query(&self) -> StoreQuery {
        StoreQuery {
            terms: self.terms.iter().map(|t| Term::tag_or_name(t)).collect(),
            status: self.status.and_then(|s| s.parse().ok()),
            order: if self.by_name {
                Order::Name
            } else {
                Order::Attention
            },
        }
    }

    /// A link to this search with another status filter and, optionally, a cursor.
    pub fn link(&self, status: Option<&str>, cursor: Option<(&str, &str)>) -> String {
        let mut parts = Vec::new();
        if !self.terms.is_empty() {
            parts.push(format!("q={}", encode(&self.terms.join(","))));
        }
        if let Some(s) = status {
            parts.push(format!("status={s}"));
        }
        if self.by_name {
            parts.push("sort=name".to_owned());
        }
        if let Some((name, value)) = cursor {
            parts.push(format!("{name}={value}"));
        }
        if parts.is_empty() {
            "/".into()
        } else {
            format!("/?{}", parts.join("&"))
        }
    }

    fn cache_key(&self, lang: Lang, at: &At) -> String {
        let at = match at {
            At::First => String::new(),
            At::After(c) => format!("a:{}", c.encode()),
            At::Before(c) => format!("b:{}", c.encode()),
        };
        format!(
            "{}|{}|{}|{}|{at}",
            lang.code(),
            self.terms.join(","),
            self.status.unwrap_or(""),
            if self.by_name { "name" } else { "" },
        )
    }
}

#[derive(Template)]
#[template(path = "services.html")]
struct ListPage<'a> {
    c: &'a Chrome,
    q: String,
    status: &'a str,
    by_name: bool,
    query: String,
    rows_html: &'a str,
    title_prefix: &'a str,
    /// The rows' version, which the live refresh sends back to get a 304.
    etag: &'a str,
}

/// Relative times ("3 min ago") are at minute precision; re-render at least this often.
const TIME_BUCKET_MS: i64 = 30_000;

/// The rows for a search: from the cache when nothing changed (or, for a live refresh,
/// when they are younger than the refresh floor), else freshly read and rendered.
pub async fn rows_for(
    state: &AppState,
    search: &Search,
    at: &At,
    lang: Lang,
    live: bool,
) -> Result<Rows, UiError> {
    let now = state.clock.now();
    let started = Instant::now();
    let key = search.cache_key(lang, at);
    let recent = if live {
        state.ui.list_cache.recent(&key)
    } else {
        None
    };
    if let Some(hit) = recent {
        return Ok(Rows {
            etag: hit.etag,
            html: hit.html,
            cached: true,
            db_ms: 0.0,
            render_ms: 0.0,
        });
    }
    let stamp = (
        service_index::stamp(&state.db).await?,
        now.timestamp_millis().div_euclid(TIME_BUCKET_MS),
    );
    if let Some(hit) = state.ui.list_cache.get(&key, &stamp) {
        return Ok(Rows {
            etag: hit.etag,
            html: hit.html,
            cached: true,
            db_ms: ms(started),
            render_ms: 0.0,
        });
    }
    let plan = service_list::plan(&state.db, &state.list_search, search.store_query()).await?;
    let counts = service_list::counts(&state.db, &state.list_search, &plan).await?;
    let page = service_list::page(&state.db, &plan, at, PAGE_SIZE).await?;
    let any = if page.rows.is_empty() && search.is_filtered() {
        service_list::any(&state.db).await?
    } else {
        !page.rows.is_empty() || counts.values().any(|c| c.n > 0)
    };
    let facts = service_list::facts(&state.db, &page.rows).await?;
    let silent = service_list::silent(&state.db, SILENT_NAMED).await?;
    let db_ms = ms(started);
    let rendering = Instant::now();
    let html = web::Bytes::from(list_view::render(
        page, &counts, any, search, &facts, &silent, lang, now,
    )?);
    let etag = live::etag(&key, &html);
    let render_ms = ms(rendering);
    state.ui.list_cache.put(
        key,
        CacheEntry {
            stamp,
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

#[tracing::instrument(skip_all)]
pub async fn page(s: SignedIn, q: web::Query<ListQuery>) -> UiResult {
    let search = Search::parse(&q.q, &q.status).sorted(&q.sort);
    let at = q.at();
    let rows = rows_for(&s.state, &search, &at, s.lang, false)
        .await
        .lang(s.lang)?;
    let c = s.chrome("services");
    let html_str = std::str::from_utf8(&rows.html).unwrap_or_default();
    let resp = s.render(
        StatusCode::OK,
        &ListPage {
            c: &c,
            q: search.text(),
            status: search.status.unwrap_or(""),
            by_name: search.by_name,
            // The live refresh fetches the page being shown.
            query: search
                .link(
                    search.status,
                    at_param(&at).as_ref().map(|(n, v)| (*n, v.as_str())),
                )
                .trim_start_matches('/')
                .trim_start_matches('?')
                .to_owned(),
            title_prefix: title_prefix(html_str),
            rows_html: html_str,
            etag: &rows.etag,
        },
    )?;
    Ok(with_timing(resp, &rows))
}

/// `GET /ui/rows?q=&status=`: the fragment the list's script swaps in.
#[tracing::instrument(skip_all)]
pub async fn fragment(req: HttpRequest, s: SignedIn, q: web::Query<ListQuery>) -> UiResult {
    let search = Search::parse(&q.q, &q.status).sorted(&q.sort);
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
    fn terms_are_trimmed_lower_case_and_unique() {
        let s = |q: &str| Search::parse(q, "");
        assert_eq!(s(" Cert , SYNC ").terms, ["cert", "sync"]);
        assert_eq!(s("a,,b, a").terms, ["a", "b"]);
        assert_eq!(s("db backup  prod").terms, ["db", "backup", "prod"]);
        assert!(s("").terms.is_empty());
        assert_eq!(Search::parse("", "down").status, Some("down"));
        assert_eq!(Search::parse("", "bogus").status, None);
        // Matching itself is the store's (tests/api/paging.rs, on every database).
    }

    #[test]
    fn links_keep_the_search_and_status() {
        let s = Search::parse("db, Backup", "late");
        assert_eq!(s.link(s.status, None), "/?q=db%2Cbackup&status=late");
        assert_eq!(
            s.link(None, Some(("after", "abc"))),
            "/?q=db%2Cbackup&after=abc"
        );
        assert_eq!(Search::parse("", "").link(None, None), "/");
    }
}
