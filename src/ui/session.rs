//! Server-side sessions. The `hb_session` cookie holds a random token; the table holds its
//! SHA-256 digest, the user, a per-session CSRF token and a sliding expiry.
use std::future::Future;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;
use chrono::{DateTime, Utc};
use subtle::ConstantTimeEq;

use super::assets;
use super::http::{self, SetCookie};
use super::i18n::Lang;
use super::page::{Chrome, FLASH_COOKIE, UiError, UiErrorKind, flash_from_code, html_builder};
use crate::app::Actor;
use crate::domain::role::Role;
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::sessions::lookup;
pub use crate::store::sessions::{create, delete, delete_others, random_token};

pub const SESSION_COOKIE: &str = "hb_session";
pub use crate::store::sessions::LIFETIME;

pub fn same(a: &str, b: &str) -> bool {
    !a.is_empty() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

pub fn session_cookie(token: &str, secure: bool) -> HeaderValue {
    SetCookie {
        name: SESSION_COOKIE,
        value: token,
        max_age: Some(LIFETIME.num_seconds()),
        http_only: true,
        secure,
    }
    .header()
}

pub fn clear_cookie(name: &str, secure: bool) -> HeaderValue {
    SetCookie {
        name,
        value: "",
        max_age: Some(0),
        http_only: true,
        secure,
    }
    .header()
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub role: Role,
    /// The first part of the user's slug ping URLs.
    pub ping_key: Option<String>,
}

/// A signed-in request: the user, their session and the page chrome.
pub struct SignedIn {
    pub user: User,
    /// The user as the use cases see them: role, and the address they came from.
    pub actor: Actor,
    pub session_id: i64,
    pub csrf: String,
    pub lang: Lang,
    pub secure: bool,
    pub state: web::Data<AppState>,
    token: String,
    renewed: bool,
    flash_code: Option<String>,
    here: String,
}

impl SignedIn {
    pub fn now(&self) -> DateTime<Utc> {
        self.state.clock.now()
    }

    pub fn chrome(&self, nav: &'static str) -> Chrome {
        Chrome {
            t: self.lang.t(),
            lang: self.lang,
            user: Some(self.user.name.clone()),
            role: Some(self.user.role),
            csrf: self.csrf.clone(),
            nav,
            here: self.here.clone(),
            flash: self
                .flash_code
                .as_deref()
                .and_then(|c| flash_from_code(&http::decode(c), self.lang)),
            v: assets::version(),
        }
    }

    /// Refuse a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, given: &str) -> Result<(), UiError> {
        if same(given, &self.csrf) {
            Ok(())
        } else {
            Err(UiError::new(UiErrorKind::Csrf, self.lang))
        }
    }

    pub fn err(&self, kind: UiErrorKind) -> UiError {
        UiError::new(kind, self.lang)
    }

    /// An HTML page; renews the cookie when the session slid and drops a shown flash.
    pub fn html(&self, status: StatusCode, body: String) -> HttpResponse {
        let mut b = html_builder(status);
        if self.renewed {
            b.append_header((header::SET_COOKIE, session_cookie(&self.token, self.secure)));
        }
        if self.flash_code.is_some() {
            b.append_header((header::SET_COOKIE, clear_cookie(FLASH_COOKIE, self.secure)));
        }
        b.body(body)
    }

    pub fn render(
        &self,
        status: StatusCode,
        page: &impl Template,
    ) -> Result<HttpResponse, UiError> {
        let body = page.render().map_err(|e| {
            let mut e = UiError::from(e);
            e.lang = self.lang;
            e
        })?;
        Ok(self.html(status, body))
    }

    pub fn redirect(&self, to: &str, flash: Option<&str>) -> HttpResponse {
        super::page::redirect(to, flash, self.secure)
    }
}

/// Why a request is not signed in.
#[derive(Debug, thiserror::Error)]
pub enum SessionRejection {
    #[error("sign-in required")]
    SignIn { next: String, fragment: bool },
    #[error("cannot check the session: {0}")]
    Unavailable(StoreError, Lang),
}

impl ResponseError for SessionRejection {
    fn status_code(&self) -> StatusCode {
        match self {
            SessionRejection::SignIn { fragment: true, .. } => StatusCode::UNAUTHORIZED,
            SessionRejection::SignIn { .. } => StatusCode::SEE_OTHER,
            SessionRejection::Unavailable(..) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            // Scripts fetching fragments get a status they can act on (reload the page).
            SessionRejection::SignIn { fragment: true, .. } => HttpResponse::Unauthorized()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .body("sign-in required"),
            SessionRejection::SignIn { next, .. } => {
                let to = if next == "/" {
                    "/login".to_owned()
                } else {
                    format!("/login?next={}", http::encode(next))
                };
                super::page::redirect(&to, None, false)
            }
            SessionRejection::Unavailable(e, lang) => UiError::new(
                UiErrorKind::Store(StoreError::Unavailable(e.to_string())),
                *lang,
            )
            .error_response(),
        }
    }
}

impl FromRequest for SignedIn {
    type Error = SessionRejection;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let lang = Lang::from_request(&req);
            let here = http::here(&req);
            let rejected = || SessionRejection::SignIn {
                next: here.clone(),
                fragment: req.path().starts_with("/ui/"),
            };
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(rejected)?;
            let token = http::cookie(&req, SESSION_COOKIE)
                .filter(|t| !t.is_empty() && t.len() <= 128)
                .ok_or_else(rejected)?;
            let now = state.clock.now();
            let (session, user, renewed) = lookup(&state.db, &token, now)
                .await
                .map_err(|e| SessionRejection::Unavailable(e, lang))?
                .ok_or_else(rejected)?;
            let actor = Actor::user(&user, Some(http::client_ip(&req)));
            Ok(SignedIn {
                actor,
                user: User {
                    id: user.id,
                    name: user.name,
                    email: user.email,
                    role: user.role,
                    ping_key: user.ping_key,
                },
                session_id: session.id,
                csrf: session.csrf_token,
                lang,
                secure: http::is_https(&req, &state),
                token,
                renewed,
                flash_code: http::cookie(&req, FLASH_COOKIE).filter(|c| !c.is_empty()),
                here,
                state,
            })
        })
    }
}
