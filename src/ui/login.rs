//! `/login` and `/logout`, and the language switch.
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::http::{self, SetCookie};
use super::i18n::{LANG_COOKIE, Lang};
use super::page::{
    Chrome, FLASH_COOKIE, UiError, UiErrorKind, UiResult, flash_from_code, html_builder, redirect,
};
use super::session::{self, SESSION_COOKIE, SignedIn};
use crate::auth::AuthError;
use crate::state::AppState;

/// Double-submit token for the sign-in form, which has no session yet to carry one.
const LOGIN_CSRF_COOKIE: &str = "hb_login";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    c: &'a Chrome,
    username: &'a str,
    next: &'a str,
    csrf: &'a str,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

fn login_page(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    username: &str,
    next: &str,
    error: Option<String>,
) -> UiResult {
    let mut c = Chrome::anonymous(req);
    let flash_code = http::cookie(req, FLASH_COOKIE).filter(|v| !v.is_empty());
    c.flash = flash_code
        .as_deref()
        .and_then(|code| flash_from_code(&http::decode(code), c.lang));
    let secure = http::is_https(req, state);
    // Keep the browser's token if it has one, so two open tabs both work.
    let token = http::cookie(req, LOGIN_CSRF_COOKIE)
        .filter(|t| t.len() >= 32 && t.len() <= 64)
        .unwrap_or_else(session::random_token);
    let body = LoginPage {
        c: &c,
        username,
        next,
        csrf: &token,
        error,
    }
    .render()
    .map_err(|e| {
        let mut e = UiError::from(e);
        e.lang = c.lang;
        e
    })?;
    let mut b = html_builder(status);
    b.append_header((
        header::SET_COOKIE,
        SetCookie {
            name: LOGIN_CSRF_COOKIE,
            value: &token,
            max_age: None,
            http_only: true,
            secure,
        }
        .header(),
    ));
    if flash_code.is_some() {
        b.append_header((
            header::SET_COOKIE,
            session::clear_cookie(FLASH_COOKIE, secure),
        ));
    }
    Ok(b.body(body))
}

pub async fn form(
    req: HttpRequest,
    state: web::Data<AppState>,
    q: web::Query<NextQuery>,
    signed_in: Option<SignedIn>,
) -> UiResult {
    let next = http::safe_next(q.next.as_deref());
    if signed_in.is_some() {
        return Ok(redirect(&next, None, false));
    }
    login_page(&req, &state, StatusCode::OK, "", &next, None)
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    csrf: String,
}

#[tracing::instrument(skip_all, fields(user = ?form.username))]
pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> UiResult {
    let form = form.into_inner();
    let lang = Lang::from_request(&req);
    let t = lang.t();
    let next = http::safe_next(Some(&form.next));
    let username = form.username.trim();
    let cookie_token = http::cookie(&req, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if !session::same(&form.csrf, &cookie_token) {
        return login_page(
            &req,
            &state,
            StatusCode::FORBIDDEN,
            username,
            &next,
            Some(t.login_expired.to_owned()),
        );
    }

    let from = http::client_ip(&req);
    let refused = |status: StatusCode, message: String, retry_after: u64| {
        let mut resp = login_page(&req, &state, status, username, &next, Some(message))?;
        resp.headers_mut().insert(
            header::RETRY_AFTER,
            header::HeaderValue::from(retry_after.max(1)),
        );
        Ok(resp)
    };
    let user = match state.auth.sign_in(username, &form.password, &from).await {
        Ok(user) => user,
        Err(AuthError::Throttled { retry_after }) => {
            let minutes = retry_after.as_secs().div_ceil(60).max(1);
            return refused(
                StatusCode::TOO_MANY_REQUESTS,
                lang.throttled(minutes),
                retry_after.as_secs(),
            );
        }
        Err(AuthError::Busy) => {
            return refused(
                StatusCode::SERVICE_UNAVAILABLE,
                t.sign_in_busy.to_owned(),
                1,
            );
        }
        Err(e) => return Err(UiError::new(anyhow::Error::from(e).into(), lang)),
    };
    let Some(user) = user else {
        crate::app::audit::sign_in(&state.app, username, None, &from, false).await;
        return login_page(
            &req,
            &state,
            StatusCode::UNAUTHORIZED,
            username,
            &next,
            Some(t.bad_credentials.to_owned()),
        );
    };
    let now = state.clock.now();
    let token = session::create(&state.db, user.id, now)
        .await
        .map_err(|e| UiError::new(UiErrorKind::Store(e), lang))?;
    let secure = http::is_https(&req, &state);
    let mut resp = redirect(&next, None, secure);
    let headers = resp.headers_mut();
    headers.append(header::SET_COOKIE, session::session_cookie(&token, secure));
    headers.append(
        header::SET_COOKIE,
        session::clear_cookie(LOGIN_CSRF_COOKIE, secure),
    );
    tracing::info!(user = %user.name, "signed in");
    crate::app::audit::sign_in(&state.app, &user.name, Some(user.id), &from, true).await;
    Ok(resp)
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

pub async fn logout(s: SignedIn, form: web::Form<CsrfForm>) -> UiResult {
    s.check_csrf(&form.csrf)?;
    session::delete(&s.state.db, s.session_id)
        .await
        .map_err(|e| s.err(UiErrorKind::Store(e)))?;
    let mut resp = s.redirect("/login", Some("signed_out"));
    resp.headers_mut().append(
        header::SET_COOKIE,
        session::clear_cookie(SESSION_COOKIE, s.secure),
    );
    Ok(resp)
}

/// `GET /lang/{en|zh}?next=/path`: remember the language for a year and go back.
pub async fn switch_language(
    req: HttpRequest,
    state: web::Data<AppState>,
    code: web::Path<String>,
    q: web::Query<NextQuery>,
) -> HttpResponse {
    let next = http::safe_next(q.next.as_deref());
    let mut resp = redirect(&next, None, false);
    if let Some(lang) = Lang::parse(&code) {
        resp.headers_mut().append(
            header::SET_COOKIE,
            SetCookie {
                name: LANG_COOKIE,
                value: lang.code(),
                max_age: Some(365 * 24 * 3600),
                http_only: false,
                secure: http::is_https(&req, &state),
            }
            .header(),
        );
    }
    resp
}
