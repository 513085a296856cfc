//! `/api/v1/maintenance`: list, create, read, update, delete maintenance windows. Thin:
//! the rules are in `app::maintenance` and `domain::maintenance`.
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use heartbeats_wire::maintenance as wire;

use super::Caller;
use super::services::ServiceError;
use crate::app;
use crate::domain::maintenance::{Repeat, Window, WindowDraft, day_name, time_text};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/maintenance")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/maintenance/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(update))
            .route(web::delete().to(delete)),
    );
}

/// A window as the API shows it, with whether it is open at `now` and when it next opens.
pub fn window_json(w: &Window, now: DateTime<Utc>) -> wire::Window {
    let (days, start_time, duration, starts_at, ends_at) = match &w.repeat {
        Repeat::Once { starts_at, ends_at } => {
            (vec![], None, None, Some(*starts_at), Some(*ends_at))
        }
        Repeat::Daily { start, duration } => (
            vec![],
            Some(time_text(*start)),
            Some(duration.num_seconds()),
            None,
            None,
        ),
        Repeat::Weekly {
            days,
            start,
            duration,
        } => (
            days.iter().map(|d| day_name(*d).to_owned()).collect(),
            Some(time_text(*start)),
            Some(duration.num_seconds()),
            None,
            None,
        ),
    };
    wire::Window {
        id: w.id.clone(),
        name: w.name.clone(),
        tags: w.tags.clone(),
        applies_to: w.applies_to.as_str().to_owned(),
        repeat: w.repeat.kind().as_str().to_owned(),
        days,
        start_time,
        duration,
        timezone: w.tz.name().to_owned(),
        starts_at,
        ends_at,
        active_until: w.covering(now),
        next_start: w.next_start(now),
    }
}

/// `input` laid over `base`: what was sent replaces, what was left out stays.
fn overlay(base: WindowDraft, input: wire::WindowInput) -> WindowDraft {
    WindowDraft {
        name: input.name.unwrap_or(base.name),
        tags: input.tags.unwrap_or(base.tags),
        applies_to: input.applies_to.or(base.applies_to),
        repeat: input.repeat.unwrap_or(base.repeat),
        starts_at: input.starts_at.or(base.starts_at),
        ends_at: input.ends_at.or(base.ends_at),
        days: input.days.unwrap_or(base.days),
        start_time: input.start_time.or(base.start_time),
        duration: input.duration.or(base.duration),
        timezone: input.timezone.or(base.timezone),
    }
}

async fn list(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ServiceError> {
    let windows = app::maintenance::list(&state.app, &caller.0).await?;
    let now = state.app.now();
    let body: Vec<wire::Window> = windows.iter().map(|w| window_json(w, now)).collect();
    Ok(HttpResponse::Ok().json(body))
}

#[tracing::instrument(skip_all)]
async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Json<wire::WindowInput>,
) -> Result<HttpResponse, ServiceError> {
    let draft = overlay(WindowDraft::default(), body.into_inner());
    let w = app::maintenance::create(&state.app, &caller.0, &draft).await?;
    Ok(HttpResponse::Created().json(window_json(&w, state.app.now())))
}

async fn get(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    let w = app::maintenance::get(&state.app, &caller.0, &id).await?;
    Ok(HttpResponse::Ok().json(window_json(&w, state.app.now())))
}

#[tracing::instrument(skip_all)]
async fn update(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<wire::WindowInput>,
) -> Result<HttpResponse, ServiceError> {
    let current = app::maintenance::get(&state.app, &caller.0, &id).await?;
    let draft = overlay(current.draft(), body.into_inner());
    let w = app::maintenance::update(&state.app, &caller.0, &id, &draft).await?;
    Ok(HttpResponse::Ok().json(window_json(&w, state.app.now())))
}

async fn delete(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    app::maintenance::delete(&state.app, &caller.0, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}
