//! What every page shares: the chrome (language, user, CSRF token, flash message), the
//! HTML response with its security headers, and the UI's error type.
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, ResponseError};
use askama::Template;

use super::assets;
use super::http::{self, SetCookie};
use super::i18n::{Lang, Tr};
use crate::app::AppError;
use crate::domain::FieldError;
use crate::domain::role::{Action, Role};
use crate::store::StoreError;

pub const FLASH_COOKIE: &str = "hb_flash";

/// A one-time message shown after a redirect (saved, deleted, ...).
#[derive(Debug, Clone)]
pub struct Flash {
    pub kind: &'static str,
    pub text: String,
}

/// Flash messages travel in a cookie as a code, never as HTML.
pub fn flash_from_code(code: &str, lang: Lang) -> Option<Flash> {
    let t = lang.t();
    let ok = |text: &str| {
        Some(Flash {
            kind: "ok",
            text: text.to_owned(),
        })
    };
    match code.split_once(':') {
        Some(("deleted", name)) => Some(Flash {
            kind: "ok",
            text: lang.deleted(&http::decode(name)),
        }),
        Some(("dismissed", name)) => Some(Flash {
            kind: "ok",
            text: lang.dismissed(&http::decode(name)),
        }),
        _ => match code {
            "saved" => ok(t.saved),
            "created" => ok(t.created_flash),
            "paused" => ok(t.paused_flash),
            "resumed" => ok(t.resumed_flash),
            "password" => ok(t.password_changed),
            "revoked" => ok(t.key_revoked),
            "user_added" => ok(t.user_added),
            "role_changed" => ok(t.role_changed),
            "user_removed" => ok(t.user_removed),
            "signed_out" => ok(t.signed_out),
            "host_created" => ok(t.host_created_flash),
            "host_paused" => ok(t.host_paused_flash),
            "host_resumed" => ok(t.host_resumed_flash),
            "adopted" => ok(t.adopted_flash),
            "units_refresh" => ok(t.units_refresh_flash),
            "channel_created" => ok(t.channel_created_flash),
            "channel_deleted" => ok(t.channel_deleted_flash),
            "ping_uuid" => ok(t.ping_uuid_flash),
            "ping_key" => ok(t.ping_key_flash),
            _ => None,
        },
    }
}

/// The frame around every page.
pub struct Chrome {
    pub t: &'static Tr,
    pub lang: Lang,
    /// The signed-in user's name; `None` on the sign-in and error pages.
    pub user: Option<String>,
    /// The signed-in user's role: decides which links and buttons show.
    pub role: Option<Role>,
    pub csrf: String,
    /// Which main menu entry is current: "services", "alerts", "account" or "".
    pub nav: &'static str,
    /// This page's path and query, for the language links.
    pub here: String,
    pub flash: Option<Flash>,
    /// Asset version for cache busting.
    pub v: &'static str,
}

impl Chrome {
    pub fn anonymous(req: &HttpRequest) -> Self {
        let lang = Lang::from_request(req);
        Self {
            t: lang.t(),
            lang,
            user: None,
            role: None,
            csrf: String::new(),
            nav: "",
            here: http::here(req),
            flash: None,
            v: assets::version(),
        }
    }

    /// Whether the user may change services (members and admins).
    pub fn can_edit(&self) -> bool {
        self.role.is_some_and(|r| r.allows(Action::EditServices))
    }

    /// Whether the user may send pings: only they see the secret ping UUID URLs.
    pub fn can_ping(&self) -> bool {
        self.role.is_some_and(|r| r.allows(Action::Ping))
    }

    /// Whether the user may change hosts (members and admins).
    pub fn can_edit_hosts(&self) -> bool {
        self.role.is_some_and(|r| r.allows(Action::EditHosts))
    }

    pub fn is_admin(&self) -> bool {
        self.role.is_some_and(|r| r.allows(Action::ManageUsers))
    }

    pub fn is(&self, nav: &str) -> bool {
        self.nav == nav
    }

    pub fn is_zh(&self) -> bool {
        self.lang == Lang::Zh
    }
}

/// Headers every HTML page carries: no caching of signed-in pages, no framing, and scripts
/// only from our own `/static/`.
pub fn html_builder(status: StatusCode) -> HttpResponseBuilder {
    let mut b = HttpResponse::build(status);
    b.content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; \
             frame-ancestors 'none'",
        ));
    b
}

/// A 303 redirect, optionally leaving a flash message for the next page.
pub fn redirect(to: &str, flash: Option<&str>, secure: bool) -> HttpResponse {
    let mut b = HttpResponse::SeeOther();
    b.insert_header((
        header::LOCATION,
        HeaderValue::from_str(to).unwrap_or_else(|_| HeaderValue::from_static("/")),
    ));
    if let Some(code) = flash {
        b.append_header((
            header::SET_COOKIE,
            SetCookie {
                name: FLASH_COOKIE,
                value: &http::encode(code),
                max_age: Some(60),
                http_only: true,
                secure,
            }
            .header(),
        ));
    }
    b.finish()
}

#[derive(Debug, thiserror::Error)]
pub enum UiErrorKind {
    #[error("not found")]
    NotFound,
    #[error("CSRF token missing or wrong")]
    Csrf,
    #[error("not allowed for this role")]
    Forbidden,
    #[error("storage: {0}")]
    Store(StoreError),
    /// Refused input that no form shows next to its field.
    #[error("{}", .0.first().map(ToString::to_string).unwrap_or_default())]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// A failure shown as an HTML page in the user's language.
#[derive(Debug, thiserror::Error)]
#[error("{kind}")]
pub struct UiError {
    pub kind: UiErrorKind,
    pub lang: Lang,
}

impl UiError {
    pub fn new(kind: UiErrorKind, lang: Lang) -> Self {
        Self { kind, lang }
    }
}

impl From<StoreError> for UiError {
    fn from(e: StoreError) -> Self {
        let kind = match e {
            StoreError::NotFound(_) => UiErrorKind::NotFound,
            other => UiErrorKind::Store(other),
        };
        Self::new(kind, Lang::En)
    }
}

impl From<AppError> for UiError {
    fn from(e: AppError) -> Self {
        let kind = match e {
            AppError::NotFound(_) => UiErrorKind::NotFound,
            AppError::Forbidden(_) => UiErrorKind::Forbidden,
            AppError::Invalid(fields) => UiErrorKind::Invalid(fields),
            AppError::InvalidAt { problem, .. } => {
                UiErrorKind::Invalid(vec![FieldError::new("report", problem)])
            }
            AppError::Store(e) => UiErrorKind::Store(e),
            AppError::Other(e) => UiErrorKind::Internal(e),
        };
        Self::new(kind, Lang::En)
    }
}

impl From<anyhow::Error> for UiError {
    fn from(e: anyhow::Error) -> Self {
        Self::new(UiErrorKind::Internal(e), Lang::En)
    }
}

impl From<askama::Error> for UiError {
    fn from(e: askama::Error) -> Self {
        Self::new(
            UiErrorKind::Internal(anyhow::anyhow!("template: {e}")),
            Lang::En,
        )
    }
}

/// `.lang(l)?` turns a storage error into a page in the user's language.
pub trait InLang<T> {
    fn lang(self, lang: Lang) -> Result<T, UiError>;
}

impl<T, E: Into<UiError>> InLang<T> for Result<T, E> {
    fn lang(self, lang: Lang) -> Result<T, UiError> {
        self.map_err(|e| {
            let mut e = e.into();
            e.lang = lang;
            e
        })
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    c: &'a Chrome,
    message: &'a str,
}

impl ResponseError for UiError {
    fn status_code(&self) -> StatusCode {
        match &self.kind {
            UiErrorKind::NotFound => StatusCode::NOT_FOUND,
            UiErrorKind::Csrf | UiErrorKind::Forbidden => StatusCode::FORBIDDEN,
            UiErrorKind::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            UiErrorKind::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            UiErrorKind::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let t = self.lang.t();
        let invalid;
        let message = match &self.kind {
            UiErrorKind::NotFound => t.not_found,
            UiErrorKind::Csrf => t.csrf_failed,
            UiErrorKind::Forbidden => t.forbidden,
            UiErrorKind::Invalid(fields) => {
                invalid = fields
                    .first()
                    .map(|f| self.lang.labelled(f.field, &self.lang.problem(&f.problem)))
                    .unwrap_or_default();
                &invalid
            }
            UiErrorKind::Store(e) => {
                tracing::error!(error = %e, "UI storage failure");
                t.unavailable
            }
            UiErrorKind::Internal(e) => {
                tracing::error!(error = %format!("{e:#}"), "UI failure");
                t.error_title
            }
        };
        let c = Chrome {
            t,
            lang: self.lang,
            user: None,
            role: None,
            csrf: String::new(),
            nav: "",
            here: "/".into(),
            flash: None,
            v: assets::version(),
        };
        let body = ErrorPage { c: &c, message }
            .render()
            .unwrap_or_else(|_| message.to_owned());
        html_builder(self.status_code()).body(body)
    }
}

pub type UiResult = Result<HttpResponse, UiError>;
