//! `/account`: change the password; create API keys (shown once) and revoke them; the
//! ping key of the slug ping URLs, and a new one.
use actix_web::http::StatusCode;
use actix_web::web;
use askama::Template;
use serde::Deserialize;

use super::format::When;
use super::page::{Chrome, InLang, UiResult};
use super::session::SignedIn;
use crate::app::users::PasswordChange;
use crate::app::{self, AppError};
use crate::domain::role::KeyScope;
use crate::store::users;

pub struct KeyRow {
    pub id: i64,
    pub label: String,
    pub scope: &'static str,
    pub prefix: String,
    pub created: When,
    pub last_used: Option<When>,
}

#[derive(Default)]
pub struct PasswordErrors {
    pub current: Option<String>,
    pub new: Option<String>,
    pub confirm: Option<String>,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    c: &'a Chrome,
    name: &'a str,
    email: &'a str,
    ping_key: Option<&'a str>,
    /// An example slug URL with the key.
    ping_key_url: Option<String>,
    keys: Vec<KeyRow>,
    new_key: Option<String>,
    label: String,
    pw: PasswordErrors,
}

async fn render(
    s: &SignedIn,
    status: StatusCode,
    new_key: Option<String>,
    label: String,
    pw: PasswordErrors,
) -> UiResult {
    let lang = s.lang;
    let tz = s.state.settings.timezone;
    let now = s.now();
    let keys = users::list_api_keys(&s.state.db, s.user.id)
        .await
        .lang(lang)?
        .into_iter()
        .map(|k| KeyRow {
            id: k.id,
            label: k.label,
            scope: lang.scope(k.scope),
            prefix: k.prefix,
            created: When::from_ms(k.created_at, tz, now, lang),
            last_used: k.last_used_at.map(|ms| When::from_ms(ms, tz, now, lang)),
        })
        .collect();
    let c = s.chrome("account");
    s.render(
        status,
        &AccountPage {
            c: &c,
            name: &s.user.name,
            email: s.user.email.as_deref().unwrap_or(""),
            ping_key: s.user.ping_key.as_deref(),
            ping_key_url: s
                .user
                .ping_key
                .as_deref()
                .map(|k| super::snippets::slug_url(&s.state.settings.base_url, k, "<slug>")),
            keys,
            new_key,
            label,
            pw,
        },
    )
}

pub async fn page(s: SignedIn) -> UiResult {
    render(
        &s,
        StatusCode::OK,
        None,
        String::new(),
        PasswordErrors::default(),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

#[tracing::instrument(skip_all, fields(user = %s.user.name))]
pub async fn change_password(s: SignedIn, form: web::Form<PasswordForm>) -> UiResult {
    s.check_csrf(&form.csrf)?;
    let change = PasswordChange {
        new: &form.new,
        confirm: Some(&form.confirm),
        current: Some(&form.current),
        keep_session: Some(s.session_id),
    };
    match app::users::change_password(&s.state.app, &s.actor, &s.user.name, &change).await {
        Ok(()) => {}
        Err(AppError::Invalid(fields)) => {
            let mut errors = PasswordErrors::default();
            for e in &fields {
                let text = Some(s.lang.problem(&e.problem));
                match e.field {
                    "current" => errors.current = text,
                    "confirm" => errors.confirm = text,
                    _ => errors.new = text,
                }
            }
            return render(
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                String::new(),
                errors,
            )
            .await;
        }
        Err(e) => return Err(e).lang(s.lang),
    }
    tracing::info!("password changed from the UI");
    Ok(s.redirect("/account", Some("password")))
}

#[derive(Debug, Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    scope: String,
}

#[tracing::instrument(skip_all, fields(user = %s.user.name))]
pub async fn create_key(s: SignedIn, form: web::Form<KeyForm>) -> UiResult {
    s.check_csrf(&form.csrf)?;
    let scope = form.scope.parse().unwrap_or(KeyScope::Full);
    let key = app::keys::create(&s.state.app, &s.actor, &s.user.name, &form.label, scope)
        .await
        .lang(s.lang)?;
    // Shown in this response only; never stored in clear, never in a redirect.
    render(
        &s,
        StatusCode::OK,
        Some(key.key),
        String::new(),
        PasswordErrors::default(),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
}

pub async fn revoke_key(s: SignedIn, id: web::Path<i64>, form: web::Form<RevokeForm>) -> UiResult {
    s.check_csrf(&form.csrf)?;
    app::keys::revoke(&s.state.app, &s.actor, s.user.id, *id)
        .await
        .lang(s.lang)?;
    Ok(s.redirect("/account", Some("revoked")))
}

/// A new ping key: every slug URL of the user changes at once (the page asks first, in a
/// fold with the warning).
#[tracing::instrument(skip_all, fields(user = %s.user.name))]
pub async fn regenerate_ping_key(s: SignedIn, form: web::Form<RevokeForm>) -> UiResult {
    s.check_csrf(&form.csrf)?;
    app::users::regenerate_ping_key(&s.state.app, &s.actor, &s.user.name)
        .await
        .lang(s.lang)?;
    Ok(s.redirect("/account#ping-key-h", Some("ping_key")))
}
