//! Status badges for README files and wiki pages: `/badge/<sig>/….svg` (flat, as
//! shields.io draws them) and `.json` (shields.io's endpoint format), per service, per tag
//! and for all services, with no credentials: the signature in the URL is the secret, and
//! a wrong one is a 404. `GET /api/v1/badges` (read) lists the URLs.
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Caller, app_error_response, json_error};
use crate::app::AppError;
use crate::domain::badge::{self, Format, Shown, Subject};
use crate::domain::role::Action;
use crate::state::AppState;
use crate::store::badges as store;

/// Tags listed by `GET /api/v1/badges`.
const MAX_TAGS: usize = 1000;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/badge/{rest:.*}", web::get().to(badge));
}

/// Inside `/api/v1`.
pub fn configure_api(cfg: &mut web::ServiceConfig) {
    cfg.route("/badges", web::get().to(list));
}

fn not_found() -> HttpResponse {
    json_error(StatusCode::NOT_FOUND, "no such badge", None)
}

#[tracing::instrument(skip_all)]
async fn badge(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    // The raw path: a tag may hold `/` (sent as `%2F`), which the router leaves encoded.
    let Some(rest) = req.uri().path().strip_prefix("/badge/") else {
        return not_found();
    };
    let Some((sig, subject, format)) = badge::parse_path(rest) else {
        return not_found();
    };
    let result: Result<Option<(String, Shown)>, AppError> = async {
        let key = store::badge_key(&state.db).await?;
        if !badge::verify(&key, &subject, &sig) {
            return Ok(None);
        }
        Ok(match &subject {
            Subject::Service(id) => store::service(&state.db, id)
                .await?
                .map(|(name, status)| (name, Shown(Some(status)))),
            Subject::Tag(tag) => Some((
                tag.clone(),
                Shown(store::worst(&state.db, Some(tag)).await?),
            )),
            Subject::All => Some((
                "heartbeats".to_owned(),
                Shown(store::worst(&state.db, None).await?),
            )),
        })
    }
    .await;
    let (label, shown) = match result {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(),
        Err(e) => return app_error_response(&e),
    };
    let mut resp = HttpResponse::Ok();
    resp.insert_header((header::CACHE_CONTROL, "no-cache, max-age=0"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"));
    match format {
        Format::Svg => resp
            .content_type("image/svg+xml; charset=utf-8")
            .body(badge::svg(&label, shown)),
        Format::Json => resp.json(json!({
            "schemaVersion": 1,
            "label": label,
            "message": shown.message(),
            "color": shown.color_name(),
        })),
    }
}

/// A badge's two URLs.
#[derive(Debug, Serialize)]
pub struct Urls {
    pub svg: String,
    pub json: String,
}

#[derive(Debug, Serialize)]
pub struct ServiceBadge {
    pub id: String,
    pub name: String,
    pub svg: String,
    pub json: String,
}

#[derive(Debug, Serialize)]
pub struct BadgeList {
    pub all: Urls,
    /// By tag, in byte order.
    pub tags: std::collections::BTreeMap<String, Urls>,
    /// A page of services in id order.
    pub services: Vec<ServiceBadge>,
    /// Pass as `after` for the next page of services; `null` on the last.
    pub next_after: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    after: Option<String>,
    limit: Option<u64>,
}

/// The full URLs of a subject's badges.
pub fn urls(base: &url::Url, key: &str, subject: &Subject) -> Urls {
    let base = base.as_str().trim_end_matches('/');
    Urls {
        svg: format!("{base}{}", badge::path(key, subject, Format::Svg)),
        json: format!("{base}{}", badge::path(key, subject, Format::Json)),
    }
}

#[tracing::instrument(skip_all)]
async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    if let Err(e) = caller.may(Action::Read) {
        return app_error_response(&e);
    }
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return super::error_body(
            StatusCode::BAD_REQUEST,
            heartbeats_wire::ErrorBody {
                error: "limit: must be 1-1000".into(),
                field: Some("limit".into()),
                code: Some("out_of_range".into()),
            },
        );
    }
    let result: Result<BadgeList, AppError> = async {
        let key = store::badge_key(&state.db).await?;
        let base = &state.settings.base_url;
        let tags = store::tags(&state.db, MAX_TAGS)
            .await?
            .into_iter()
            .map(|t| {
                let u = urls(base, &key, &Subject::Tag(t.clone()));
                (t, u)
            })
            .collect();
        let page = store::services_page(&state.db, query.after.as_deref(), limit).await?;
        let next_after = (page.len() as u64 == limit)
            .then(|| page.last().map(|(id, _, _)| id.clone()))
            .flatten();
        let services = page
            .into_iter()
            .map(|(id, name, _)| {
                let u = urls(base, &key, &Subject::Service(id.clone()));
                ServiceBadge {
                    id,
                    name,
                    svg: u.svg,
                    json: u.json,
                }
            })
            .collect();
        Ok(BadgeList {
            all: urls(base, &key, &Subject::All),
            tags,
            services,
            next_after,
        })
    }
    .await;
    match result {
        Ok(list) => HttpResponse::Ok().json(list),
        Err(e) => app_error_response(&e),
    }
}
