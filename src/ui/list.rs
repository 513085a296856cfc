//! The services list (the home page) and the fragment its script refreshes every 5 s.
//!
//! Search terms are comma-separated; a service is listed when every term is one of its
//! tags or part of its name, any case. One query reads every service; filtering, counting
//! and sorting happen here. The rendered rows are cached per search and language and
//! re-rendered only when a service changed (see [`queries::fingerprint`]) or the minute
//! moved on, so many open dashboards cost one render, and an unchanged refresh is a 304.
use std::collections::HashMap;
use std::time::Instant;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::format::{self, ScheduleCols, When};
use super::http::encode;
use super::i18n::{Lang, Tr};
use super::list_cache::CacheEntry;
use super::page::{Chrome, InLang, UiResult};
use super::queries::{self, ListRow};
use super::session::SignedIn;
use crate::domain::Tags;
use crate::domain::status::{PingKind, Status};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub status: String,
}

/// A parsed search: lower-case terms, and the status filter if it names one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    pub terms: Vec<String>,
    pub status: Option<&'static str>,
}

pub const STATUSES: [&str; 5] = ["down", "late", "up", "new", "paused"];

impl Search {
    pub fn parse(q: &str, status: &str) -> Self {
        let mut terms: Vec<String> = Vec::new();
        for t in q.split(',') {
            let t = t.trim().to_lowercase();
            if !t.is_empty() && !terms.contains(&t) {
                terms.push(t);
            }
        }
        let status = STATUSES.iter().copied().find(|s| *s == status.trim());
        Self { terms, status }
    }

    /// The search as the box shows it: `cert, sync`.
    pub fn text(&self) -> String {
        self.terms.join(", ")
    }

    /// Every term is a tag of the service or part of its name.
    pub fn matches(&self, name_lower: &str, tags: &Tags) -> bool {
        self.terms
            .iter()
            .all(|t| tags.as_slice().contains(t) || name_lower.contains(t.as_str()))
    }

    /// Query string for a link to this search with another status.
    fn query(&self, status: Option<&str>) -> String {
        let mut parts = Vec::new();
        if !self.terms.is_empty() {
            parts.push(format!("q={}", encode(&self.terms.join(","))));
        }
        if let Some(s) = status {
            parts.push(format!("status={s}"));
        }
        parts.join("&")
    }

    fn cache_key(&self, lang: Lang) -> String {
        format!(
            "{}|{}|{}",
            lang.code(),
            self.terms.join(","),
            self.status.unwrap_or("")
        )
    }
}

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
    pub count: usize,
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
    pub total: usize,
    pub search_text: &'a str,
}

#[derive(Template)]
#[template(path = "services.html")]
struct ListPage<'a> {
    c: &'a Chrome,
    q: String,
    status: &'a str,
    query: String,
    rows_html: &'a str,
}

/// Filter, count, sort and render the rows: the part of the page that changes.
pub fn render_rows(rows: Vec<ListRow>, search: &Search, lang: Lang, now: DateTime<Utc>) -> String {
    let t = lang.t();
    let total = rows.len();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    let mut matched: Vec<(String, ListRow, Tags)> = Vec::new();
    for row in rows {
        let tags = Tags::from_column(&row.tags);
        let lower = row.name.to_lowercase();
        if !search.matches(&lower, &tags) {
            continue;
        }
        *counts.entry(row.status.as_str()).or_default() += 1;
        if search.status.is_none_or(|s| s == row.status.as_str()) {
            matched.push((lower, row, tags));
        }
    }
    let all: usize = counts.values().sum();
    matched.sort_by(|a, b| (&a.0, &a.1.name).cmp(&(&b.0, &b.1.name)));

    let mut tabs = vec![Tab {
        key: "all",
        label: t.all,
        count: all,
        href: link(&search.query(None)),
        active: search.status.is_none(),
    }];
    for key in STATUSES {
        tabs.push(Tab {
            key,
            label: lang.status(status_of(key)),
            count: counts.get(key).copied().unwrap_or(0),
            href: link(&search.query(Some(key))),
            active: search.status == Some(key),
        });
    }

    // A chip adds its tag to the current search.
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
    let views = matched
        .into_iter()
        .map(|(_, row, tags)| {
            let tz = *zones
                .entry(row.timezone.clone())
                .or_insert_with(|| row.timezone.parse().unwrap_or(chrono_tz::UTC));
            row_view(row, tags, tz, search, &chip_prefix, &chip_suffix, lang, now)
        })
        .collect();
    RowsFragment {
        t,
        tabs,
        rows: views,
        searching: !search.terms.is_empty() || search.status.is_some(),
        total,
        search_text: &search.text(),
    }
    .render()
    .unwrap_or_else(|e| format!("<p>template error: {e}</p>"))
}

fn link(query: &str) -> String {
    if query.is_empty() {
        "/".into()
    } else {
        format!("/?{query}")
    }
}

fn status_of(key: &str) -> Status {
    key.parse().unwrap_or(Status::New)
}

#[allow(clippy::too_many_arguments)]
fn row_view(
    row: ListRow,
    tags: Tags,
    tz: Tz,
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
            timezone: &row.timezone,
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
    let chips = tags
        .into_vec()
        .into_iter()
        .map(|tag| Chip {
            active: search.terms.contains(&tag),
            href: format!("{chip_prefix}{}{chip_suffix}", encode(&tag)),
            tag,
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

/// Rendered rows and how they were had, for the `Server-Timing` header.
pub struct Rows {
    pub etag: String,
    /// UTF-8 HTML; `Bytes` so a cached list is sent without copying.
    pub html: web::Bytes,
    pub cached: bool,
    pub db_ms: f64,
    pub render_ms: f64,
}

impl Rows {
    /// `Server-Timing`: where the time went, visible in the browser's network panel.
    fn server_timing(&self) -> String {
        format!(
            "db;dur={:.1}, render;dur={:.1}, cache;desc={}",
            self.db_ms,
            self.render_ms,
            if self.cached { "hit" } else { "miss" }
        )
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// Relative times ("3 min ago") are at minute precision; re-render at least this often.
const TIME_BUCKET_MS: i64 = 30_000;

/// The rows for a search: from the cache when nothing changed (or, for a live refresh,
/// when they are younger than the refresh floor), else freshly rendered.
pub async fn rows_for(
    state: &AppState,
    search: &Search,
    lang: Lang,
    live: bool,
) -> Result<Rows, crate::store::StoreError> {
    let now = state.clock.now();
    let started = Instant::now();
    let key = search.cache_key(lang);
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
    let fp = queries::fingerprint(&state.db).await?;
    let stamp = (fp, now.timestamp_millis().div_euclid(TIME_BUCKET_MS));
    if let Some(hit) = state.ui.list_cache.get(&key, &stamp) {
        return Ok(Rows {
            etag: hit.etag,
            html: hit.html,
            cached: true,
            db_ms: ms(started),
            render_ms: 0.0,
        });
    }
    let rows = queries::list_rows(&state.db).await?;
    let db_ms = ms(started);
    let rendering = Instant::now();
    let html = web::Bytes::from(render_rows(rows, search, lang, now));
    let etag = {
        let mut h = Sha256::new();
        h.update(key.as_bytes());
        h.update(&html);
        format!("\"{}\"", hex::encode(&h.finalize()[..12]))
    };
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
    let search = Search::parse(&q.q, &q.status);
    let rows = rows_for(&s.state, &search, s.lang, false)
        .await
        .lang(s.lang)?;
    let c = s.chrome("services");
    let mut resp = s.render(
        StatusCode::OK,
        &ListPage {
            c: &c,
            q: search.text(),
            status: search.status.unwrap_or(""),
            query: search.query(search.status),
            rows_html: std::str::from_utf8(&rows.html).unwrap_or_default(),
        },
    )?;
    if let Ok(v) = header::HeaderValue::from_str(&rows.server_timing()) {
        resp.headers_mut()
            .insert(header::HeaderName::from_static("server-timing"), v);
    }
    Ok(resp)
}

/// `GET /ui/rows?q=&status=`: the fragment the list's script swaps in.
#[tracing::instrument(skip_all)]
pub async fn fragment(req: HttpRequest, s: SignedIn, q: web::Query<ListQuery>) -> UiResult {
    let search = Search::parse(&q.q, &q.status);
    let rows = rows_for(&s.state, &search, s.lang, true)
        .await
        .lang(s.lang)?;
    let unchanged = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == rows.etag)
        });
    let mut b = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    b.insert_header((header::ETAG, rows.etag.clone()))
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .insert_header((header::VARY, "Cookie, Accept-Language"))
        .insert_header(("server-timing", rows.server_timing()));
    if unchanged {
        return Ok(b.finish());
    }
    Ok(b.content_type("text/html; charset=utf-8").body(rows.html))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_term_must_be_a_tag_or_part_of_the_name() {
        let tags = Tags::parse(&["cert", "sync"]).unwrap();
        let s = |q: &str| Search::parse(q, "");
        assert!(s("cert,sync").matches("tls renew", &tags));
        assert!(s(" Cert , SYNC ").matches("tls renew", &tags));
        assert!(s("cert,renew").matches("tls renew", &tags));
        assert!(!s("cert,nosuchtag").matches("tls renew", &tags));
        assert!(!s("nosuchtag").matches("tls renew", &tags));
        // A tag must match whole; a name may match in part.
        assert!(!s("cer").matches("backup", &tags));
        assert!(s("").matches("anything", &Tags::default()));
        assert_eq!(s("a,,b, a").terms, ["a", "b"]);
        assert_eq!(Search::parse("", "down").status, Some("down"));
        assert_eq!(Search::parse("", "bogus").status, None);
    }
}
