//! `/api/v1/users` and `/api/v1/audit`: users and roles, and the audit log (admins only;
//! the rules are in `app::users` and `app::audit`).
use actix_web::{HttpResponse, web};
use heartbeats_wire::api;
use serde::Deserialize;

use super::Caller;
use super::services::ServiceError;
use crate::app::users::{PasswordChange, UserDraft};
use crate::app::{self, AppError};
use crate::clock::from_ms;
use crate::domain::FieldError;
use crate::domain::role::Role;
use crate::entity::{audit_log, users};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/users")
            .route(web::get().to(list))
            .route(web::post().to(add)),
    )
    .service(
        web::resource("/users/{name}")
            .route(web::patch().to(update))
            .route(web::delete().to(remove)),
    )
    .service(web::resource("/audit").route(web::get().to(audit)));
}

fn user_json(u: users::Model) -> api::User {
    api::User {
        created_at: from_ms(u.created_at),
        role: u.role.to_string(),
        email: u.email,
        name: u.name,
    }
}

fn role(text: &str) -> Result<Role, AppError> {
    text.trim()
        .to_lowercase()
        .parse()
        .map_err(|e| FieldError::new("role", e).into())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    name: String,
    email: Option<String>,
    password: String,
    role: Option<String>,
}

async fn list(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ServiceError> {
    let rows = app::users::list(&state.app, &caller.0).await?;
    Ok(HttpResponse::Ok().json(rows.into_iter().map(user_json).collect::<Vec<_>>()))
}

#[tracing::instrument(skip_all)]
async fn add(
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Json<NewUser>,
) -> Result<HttpResponse, ServiceError> {
    let body = body.into_inner();
    let draft = UserDraft {
        name: body.name,
        email: body.email,
        password: body.password,
        role: body
            .role
            .as_deref()
            .map(role)
            .transpose()?
            .unwrap_or_default(),
    };
    let user = app::users::add(&state.app, &caller.0, &draft).await?;
    Ok(HttpResponse::Created().json(user_json(user)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    role: Option<String>,
    password: Option<String>,
}

#[tracing::instrument(skip_all)]
async fn update(
    caller: Caller,
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: web::Json<UserPatch>,
) -> Result<HttpResponse, ServiceError> {
    let body = body.into_inner();
    if let Some(text) = &body.role {
        app::users::set_role(&state.app, &caller.0, &name, role(text)?).await?;
    }
    if let Some(password) = &body.password {
        let change = PasswordChange {
            new: password,
            ..Default::default()
        };
        app::users::change_password(&state.app, &caller.0, &name, &change).await?;
    }
    let user = app::users::list(&state.app, &caller.0)
        .await?
        .into_iter()
        .find(|u| u.name == *name)
        .ok_or(AppError::NotFound("user"))?;
    Ok(HttpResponse::Ok().json(user_json(user)))
}

async fn remove(
    caller: Caller,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    app::users::remove(&state.app, &caller.0, &name).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    action: Option<String>,
    before: Option<i64>,
    limit: Option<u64>,
}

fn audit_json(e: audit_log::Model) -> api::AuditEntry {
    api::AuditEntry {
        id: e.id,
        at: from_ms(e.at),
        actor: e.actor,
        source: e.source,
        action: e.action,
        target: e.target,
        detail: e.detail,
    }
}

async fn audit(
    caller: Caller,
    state: web::Data<AppState>,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, ServiceError> {
    let rows = app::audit::page(
        &state.app,
        &caller.0,
        q.action.as_deref().filter(|a| !a.is_empty()),
        q.before,
        q.limit.unwrap_or(100),
    )
    .await?;
    Ok(HttpResponse::Ok().json(rows.into_iter().map(audit_json).collect::<Vec<_>>()))
}
