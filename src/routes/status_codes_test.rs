//! Every error type's `status_code()` is the status its `error_response()` sends, for
//! every variant: middleware and logs read the first, clients see the second.
use actix_web::ResponseError;

use super::AuthRejection;
use super::pings::PingError;
use super::services::ServiceError;
use crate::app::AppError;
use crate::domain::{FieldError, Problem};
use crate::store::StoreError;
use crate::ui::i18n::Lang;
use crate::ui::page::{UiError, UiErrorKind};
use crate::ui::session::SessionRejection;

fn same(e: &dyn ResponseError) {
    assert_eq!(e.error_response().status(), e.status_code(), "{e}");
}

fn app_errors() -> Vec<AppError> {
    vec![
        AppError::invalid(FieldError::new("name", Problem::Required)),
        AppError::invalid(FieldError::new(
            "name",
            Problem::ServiceNameTaken { name: "x".into() },
        )),
        AppError::NotFound("service"),
        AppError::Store(StoreError::Unavailable("down".into())),
        AppError::Other(anyhow::anyhow!("boom")),
    ]
}

#[test]
fn status_codes_match_responses() {
    for e in [
        AuthRejection::Missing,
        AuthRejection::Invalid,
        AuthRejection::Throttled(60),
        AuthRejection::Busy,
        AuthRejection::Unavailable,
    ] {
        same(&e);
    }
    for e in [
        PingError::MissingService,
        PingError::UnknownService("x".into()),
        PingError::TooLarge { size: 2, limit: 1 },
        PingError::BodyTooLarge { limit: 1 },
        PingError::BadRequest("x".into()),
        PingError::UnsupportedBody("multipart".into()),
        PingError::Store(StoreError::Unavailable("down".into())),
        PingError::Store(StoreError::NotFound("service")),
    ] {
        same(&e);
    }
    for e in app_errors() {
        same(&ServiceError::from(e));
    }
    for e in app_errors() {
        same(&UiError::from(e));
    }
    same(&UiError::new(UiErrorKind::Csrf, Lang::Zh));
    for e in [
        SessionRejection::SignIn {
            next: "/".into(),
            fragment: false,
        },
        SessionRejection::SignIn {
            next: "/".into(),
            fragment: true,
        },
        SessionRejection::Unavailable(StoreError::Unavailable("down".into()), Lang::En),
    ] {
        same(&e);
    }
}
