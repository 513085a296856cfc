//! `/account`: change the password; create API keys (shown once) and revoke them.
use actix_web::http::StatusCode;
use actix_web::web;
use askama::Template;
use serde::Deserialize;

use super::format::When;
use super::page::{Chrome, InLang, UiResult};
use super::session::{self, SignedIn};
use crate::store::users;

pub struct KeyRow {
    pub id: i64,
    pub label: String,
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

impl PasswordErrors {
    fn any(&self) -> bool {
        self.current.is_some() || self.new.is_some() || self.confirm.is_some()
    }
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    c: &'a Chrome,
    name: &'a str,
    email: &'a str,
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
    let t = s.lang.t();
    let db = &s.state.db;
    let mut errors = PasswordErrors::default();
    let hash = users::find_by_name(db, &s.user.name)
        .await
        .lang(s.lang)?
        .map(|u| u.password_hash)
        .unwrap_or_default();
    if !users::verify_password(form.current.clone(), hash).await {
        errors.current = Some(t.wrong_current_password.to_owned());
    }
    if let Err(e) = users::validate_password(&form.new) {
        errors.new = Some(match s.lang {
            super::i18n::Lang::En => e.message,
            super::i18n::Lang::Zh => "密码至少 8 个字符，最多 1024 字节。".to_owned(),
        });
    }
    if form.new != form.confirm {
        errors.confirm = Some(t.passwords_differ.to_owned());
    }
    if errors.any() {
        return render(
            &s,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            String::new(),
            errors,
        )
        .await;
    }
    users::set_password(db, &s.user.name, &form.new, s.now())
        .await
        .lang(s.lang)?;
    s.state.auth.invalidate();
    session::delete_others(db, s.user.id, s.session_id)
        .await
        .lang(s.lang)?;
    tracing::info!("password changed from the UI");
    Ok(s.redirect("/account", Some("password")))
}

#[derive(Debug, Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    label: String,
}

#[tracing::instrument(skip_all, fields(user = %s.user.name))]
pub async fn create_key(s: SignedIn, form: web::Form<KeyForm>) -> UiResult {
    s.check_csrf(&form.csrf)?;
    let key = users::create_api_key(&s.state.db, &s.user.name, &form.label, s.now())
        .await
        .lang(s.lang)?;
    s.state.auth.invalidate();
    tracing::info!(prefix = %key.row.prefix, "API key created from the UI");
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
    users::revoke_api_key(&s.state.db, s.user.id, *id)
        .await
        .lang(s.lang)?;
    s.state.auth.invalidate();
    Ok(s.redirect("/account", Some("revoked")))
}
