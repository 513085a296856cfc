//! Typed helpers for the list tests: services made in bulk in a given state, the API's
//! pages with their cursors, and the UI page's rows and links.
use chrono::{DateTime, Duration, Utc};
use heartbeats::domain::schedule::Schedule;
use heartbeats::domain::status::{self, PingKind, Status, Timing, Tracking};
use heartbeats::domain::{Tags, parse_notify};
use heartbeats::entity::services::Model;
use heartbeats::store::service_import::import;
use heartbeats::store::services::NewService;
use serde::Deserialize;

use crate::helpers::TestApp;

/// A service as `GET /api/v1/services` lists it (the fields these tests look at).
#[derive(Debug, Clone, Deserialize)]
pub struct Listed {
    pub id: String,
    pub name: String,
    pub status: String,
    pub tags: Vec<String>,
}

/// One page of the API's list.
#[derive(Debug)]
pub struct ApiPage {
    pub status: u16,
    pub items: Vec<Listed>,
    pub next_cursor: Option<String>,
    /// The `Link` header's `rel="next"` target.
    pub next_link: Option<String>,
    pub error_field: Option<String>,
}

impl ApiPage {
    pub fn names(&self) -> Vec<String> {
        self.items.iter().map(|s| s.name.clone()).collect()
    }
}

impl TestApp {
    pub async fn list_api(&self, path: &str) -> ApiPage {
        let resp = self.get(path).await;
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let next_cursor = header("x-next-cursor");
        let next_link = header("link").map(|l| {
            assert!(l.ends_with(r#">; rel="next""#), "{l}");
            l.trim_start_matches('<')
                .trim_end_matches(r#">; rel="next""#)
                .to_owned()
        });
        if status != 200 {
            let body: heartbeats_wire::ErrorBody = resp.json().await.expect("error body");
            return ApiPage {
                status,
                items: Vec::new(),
                next_cursor,
                next_link,
                error_field: body.field,
            };
        }
        ApiPage {
            status,
            items: resp.json().await.expect("a JSON array of services"),
            next_cursor,
            next_link,
            error_field: None,
        }
    }

    /// Every service the API lists for `path`, following `Link` headers; and how many
    /// pages that took.
    pub async fn list_api_all(&self, path: &str) -> (Vec<Listed>, usize) {
        let mut out = Vec::new();
        let mut next = Some(path.to_owned());
        let mut pages = 0;
        while let Some(path) = next {
            let page = self.list_api(&path).await;
            assert_eq!(page.status, 200, "{path}");
            assert_eq!(page.next_cursor.is_some(), page.next_link.is_some());
            for item in page.items {
                assert!(
                    !out.iter().any(|s: &Listed| s.id == item.id),
                    "{} twice",
                    item.name
                );
                out.push(item);
            }
            next = page.next_link;
            pages += 1;
            assert!(pages < 1000, "the pages never end");
        }
        (out, pages)
    }

    /// Store `services` (name, tags, status) at once, each in the state its status names.
    pub async fn seed(&self, services: &[(String, Vec<&str>, Status)]) -> Vec<Model> {
        let now = self.now();
        let items = services
            .iter()
            .map(|(name, tags, status)| seeded(name, tags, *status, now))
            .collect();
        import(&self.db, items, now).await.expect("import")
    }
}

/// An interval service (10 min, grace 5 min) whose last ping leaves it in `status`.
pub fn seeded(
    name: &str,
    tags: &[&str],
    want: Status,
    now: DateTime<Utc>,
) -> (NewService, Tracking) {
    let period = Duration::minutes(10);
    let grace = Duration::minutes(5);
    let schedule = Schedule::Interval { period };
    let timing = Timing {
        schedule: &schedule,
        tz: chrono_tz::UTC,
        grace,
    };
    let ping = |at, kind| status::on_ping(&Tracking::new_service(), &timing, kind, "x", at).0;
    let mut tracking = match want {
        Status::New => Tracking::new_service(),
        Status::Up => ping(now - Duration::minutes(1), PingKind::Success),
        Status::Down => ping(now - Duration::minutes(1), PingKind::Error),
        Status::Late => ping(now - period - Duration::minutes(1), PingKind::Success),
        Status::Paused => status::paused(&ping(now, PingKind::Success), now).0,
    };
    if let Some((next, _)) = status::on_tick(&tracking, now) {
        tracking = next;
    }
    assert_eq!(tracking.status, want);
    let new = NewService {
        grace_secs: grace.num_seconds(),
        tags: Tags::parse(tags).expect("tags"),
        notify: parse_notify(&["ops@example.com"]).expect("address"),
        ..NewService::new(name.to_owned(), schedule.clone())
    };
    (new, tracking)
}

/// The UI's order: down, late, then the rest; each by lower-cased name, then id.
pub fn attention_order(models: &[Model]) -> Vec<String> {
    let group = |s: &Status| match s {
        Status::Down => 0,
        Status::Late => 1,
        _ => 2,
    };
    let mut sorted: Vec<&Model> = models.iter().collect();
    sorted.sort_by_key(|m| (group(&m.status), m.name.to_lowercase(), m.id.clone()));
    sorted.into_iter().map(|m| m.name.clone()).collect()
}

/// The service names a list page shows, in order.
pub fn row_names(body: &str) -> Vec<String> {
    body.split("class=\"svc\" href=\"/services/")
        .skip(1)
        .map(|s| {
            let start = s.find('>').expect("link text") + 1;
            s[start..start + s[start..].find('<').expect("end of link")].to_owned()
        })
        .collect()
}

/// The target of the page's `rel` ("prev" or "next") link, unescaped.
pub fn pager_link(body: &str, rel: &str) -> Option<String> {
    let marker = format!("rel=\"{rel}\" href=\"");
    let start = body.find(&marker)? + marker.len();
    let end = body[start..].find('"')? + start;
    Some(body[start..end].replace("&#38;", "&").replace("&amp;", "&"))
}
