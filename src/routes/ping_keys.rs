//! The secrets in the healthchecks-compatible ping URLs: a service's ping UUID
//! (`POST /api/v1/services/{id}/ping-uuid` makes a new one and answers the service) and a
//! user's ping key (`GET /api/v1/users/{name}/ping-key` reads it, `POST` makes a new one).
//! A new secret stops the old URLs at once.
use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::Caller;
use super::services::{ServiceError, service_json};
use crate::app;
use crate::entity::users;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/services/{id}/ping-uuid").route(web::post().to(regenerate_ping_uuid)),
    )
    .service(
        web::resource("/users/{name}/ping-key")
            .route(web::get().to(ping_key))
            .route(web::post().to(regenerate_ping_key)),
    );
}

/// A user's ping key and the start of their slug ping URLs.
#[derive(Debug, Serialize)]
pub struct PingKey {
    pub name: String,
    pub ping_key: String,
    /// `<base>/ping/<ping_key>/`: add a service's slug.
    pub ping_url: String,
}

fn ping_key_json(u: users::Model, state: &AppState) -> PingKey {
    let key = u.ping_key.unwrap_or_default();
    let mut url = state.settings.base_url.clone();
    url.set_path(&format!(
        "{}/ping/{key}/",
        state.settings.base_url.path().trim_end_matches('/')
    ));
    PingKey {
        name: u.name,
        ping_key: key,
        ping_url: url.to_string(),
    }
}

#[tracing::instrument(skip_all)]
async fn regenerate_ping_uuid(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    let row = app::services::regenerate_ping_uuid(&state.app, &caller.0, &id).await?;
    Ok(HttpResponse::Ok().json(service_json(row, &state, &caller.0)))
}

async fn ping_key(
    caller: Caller,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    let user = app::users::ping_key(&state.app, &caller.0, &name).await?;
    Ok(HttpResponse::Ok().json(ping_key_json(user, &state)))
}

#[tracing::instrument(skip_all)]
async fn regenerate_ping_key(
    caller: Caller,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    let user = app::users::regenerate_ping_key(&state.app, &caller.0, &name).await?;
    Ok(HttpResponse::Ok().json(ping_key_json(user, &state)))
}
