//! `/users` (admins): who can sign in and their roles; add, change role, remove.
use actix_web::http::StatusCode;
use actix_web::web;
use askama::Template;
use serde::Deserialize;

use super::format::When;
use super::page::{Chrome, InLang, UiResult};
use super::service_form::{Errors, field_errors};
use super::session::SignedIn;
use crate::app::users::UserDraft;
use crate::app::{self, AppError};
use crate::domain::role::Role;

pub struct UserRow {
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub created: When,
    pub me: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AddForm {
    pub csrf: String,
    pub name: String,
    pub email: String,
    pub role: String,
    pub password: String,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage<'a> {
    c: &'a Chrome,
    rows: Vec<UserRow>,
    roles: Vec<(&'static str, &'static str)>,
    form: FormView,
    errors: &'a Errors,
    row_error: Option<String>,
}

/// What the add form shows back: never the password.
#[derive(Default)]
struct FormView {
    name: String,
    email: String,
    role: Role,
}

impl UsersPage<'_> {
    fn err(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }
}

async fn render(
    s: &SignedIn,
    status: StatusCode,
    form: FormView,
    errors: &Errors,
    row_error: Option<String>,
) -> UiResult {
    let lang = s.lang;
    let tz = s.state.settings.timezone;
    let now = s.now();
    let rows = app::users::list(&s.state.app, &s.actor)
        .await
        .lang(lang)?
        .into_iter()
        .map(|u| UserRow {
            me: u.id == s.user.id,
            role: u.role.as_str(),
            created: When::from_ms(u.created_at, tz, now, lang),
            email: u.email.unwrap_or_default(),
            name: u.name,
        })
        .collect();
    let roles = Role::ALL
        .iter()
        .map(|r| (r.as_str(), lang.role(*r)))
        .collect();
    let c = s.chrome("users");
    s.render(
        status,
        &UsersPage {
            c: &c,
            rows,
            roles,
            form,
            errors,
            row_error,
        },
    )
}

pub async fn page(s: SignedIn) -> UiResult {
    render(
        &s,
        StatusCode::OK,
        FormView::default(),
        &Errors::new(),
        None,
    )
    .await
}

#[tracing::instrument(skip_all, fields(actor = %s.user.name))]
pub async fn add(s: SignedIn, form: web::Form<AddForm>) -> UiResult {
    s.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    let role = form.role.parse().unwrap_or(Role::Member);
    let draft = UserDraft {
        name: form.name.clone(),
        email: Some(form.email.clone()),
        password: form.password,
        role,
    };
    match app::users::add(&s.state.app, &s.actor, &draft).await {
        Ok(_) => Ok(s.redirect("/users", Some("user_added"))),
        Err(e @ AppError::Invalid(_)) => {
            let view = FormView {
                name: form.name,
                email: form.email,
                role,
            };
            let errors = field_errors(&e, s.lang);
            render(&s, StatusCode::UNPROCESSABLE_ENTITY, view, &errors, None).await
        }
        Err(e) => Err(e).lang(s.lang),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RoleForm {
    pub csrf: String,
    pub role: String,
}

/// A refusal about one row (the last admin) is shown above the table.
async fn row_refused(s: &SignedIn, e: AppError) -> UiResult {
    match e.fields().first() {
        Some(f) => {
            let text = s.lang.problem(&f.problem);
            render(
                s,
                StatusCode::UNPROCESSABLE_ENTITY,
                FormView::default(),
                &Errors::new(),
                Some(text),
            )
            .await
        }
        None => Err(e).lang(s.lang),
    }
}

pub async fn set_role(s: SignedIn, name: web::Path<String>, form: web::Form<RoleForm>) -> UiResult {
    s.check_csrf(&form.csrf)?;
    let role = match form.role.parse::<Role>() {
        Ok(r) => r,
        Err(e) => return row_refused(&s, crate::domain::FieldError::new("role", e).into()).await,
    };
    match app::users::set_role(&s.state.app, &s.actor, &name, role).await {
        Ok(_) => Ok(s.redirect("/users", Some("role_changed"))),
        Err(e) => row_refused(&s, e).await,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RemoveForm {
    pub csrf: String,
}

pub async fn remove(s: SignedIn, name: web::Path<String>, form: web::Form<RemoveForm>) -> UiResult {
    s.check_csrf(&form.csrf)?;
    match app::users::remove(&s.state.app, &s.actor, &name).await {
        Ok(()) => Ok(s.redirect("/users", Some("user_removed"))),
        Err(e) => row_refused(&s, e).await,
    }
}
