//! HTTP routes, one module per resource. Each owns its request, response and error types;
//! they share the JSON error shape and the caller extractor defined here.
pub mod health;
pub mod pings;
pub mod schedule;
pub mod services;

use std::future::Future;
use std::pin::Pin;

use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use heartbeats_wire::ErrorBody;

use crate::auth::{AuthError, AuthUser, Credentials};
use crate::startup::AppState;
use crate::store::StoreError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(health::healthz)
        .service(
            web::resource(["/api/pings", "/api/pings/"])
                .route(web::get().to(pings::ping))
                .route(web::post().to(pings::ping)),
        )
        .service(
            web::scope("/api/v1")
                .app_data(
                    web::JsonConfig::default()
                        .limit(64 * 1024)
                        .error_handler(|err, _| {
                            let body = ErrorBody {
                                error: format!("invalid JSON body: {err}"),
                                field: None,
                            };
                            actix_web::error::InternalError::from_response(
                                err,
                                HttpResponse::BadRequest().json(body),
                            )
                            .into()
                        }),
                )
                .app_data(web::QueryConfig::default().error_handler(|err, _| {
                    let body = ErrorBody {
                        error: format!("invalid query string: {err}"),
                        field: None,
                    };
                    actix_web::error::InternalError::from_response(
                        err,
                        HttpResponse::BadRequest().json(body),
                    )
                    .into()
                }))
                .configure(services::configure)
                .service(schedule::preview),
        )
        .configure(crate::ui::configure);
}

/// The JSON error every API route answers with.
pub fn json_error(
    status: StatusCode,
    error: impl Into<String>,
    field: Option<&str>,
) -> HttpResponse {
    HttpResponse::build(status).json(ErrorBody {
        error: error.into(),
        field: field.map(str::to_owned),
    })
}

/// Map a storage error to HTTP, once for every handler.
pub fn store_error_response(err: &StoreError) -> HttpResponse {
    match err {
        StoreError::NotFound(what) => {
            json_error(StatusCode::NOT_FOUND, format!("{what} not found"), None)
        }
        StoreError::Conflict { field, message } => {
            json_error(StatusCode::CONFLICT, message.clone(), Some(field))
        }
        StoreError::Invalid(e) => json_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            e.to_string(),
            Some(e.field),
        ),
        StoreError::Db(_) | StoreError::Unavailable(_) => {
            tracing::error!(error = %err, "storage failure");
            json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage is unavailable; try again",
                None,
            )
        }
    }
}

/// An authenticated caller: HTTP Basic or `Bearer <api key>`.
#[derive(Debug, Clone)]
pub struct Caller(pub AuthUser);

#[derive(Debug, thiserror::Error)]
pub enum AuthRejection {
    #[error(
        "authentication required: use HTTP Basic (user:password) or 'Authorization: Bearer <api key>'"
    )]
    Missing,
    #[error("invalid credentials")]
    Invalid,
    #[error("cannot check credentials right now")]
    Unavailable,
}

impl ResponseError for AuthRejection {
    fn status_code(&self) -> StatusCode {
        match self {
            AuthRejection::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut resp = json_error(self.status_code(), self.to_string(), None);
        if self.status_code() == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Basic realm=\"heartbeats\", charset=\"UTF-8\""),
            );
        }
        resp
    }
}

impl FromRequest for Caller {
    type Error = AuthRejection;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let creds = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(Credentials::from_header);
        Box::pin(async move {
            let state = state.ok_or(AuthRejection::Unavailable)?;
            let creds = match creds {
                None => return Err(AuthRejection::Missing),
                Some(None) => return Err(AuthRejection::Invalid),
                Some(Some(c)) => c,
            };
            match state.auth.authenticate(&creds).await {
                Ok(user) => Ok(Caller(user)),
                Err(AuthError::Missing) => Err(AuthRejection::Missing),
                Err(AuthError::Invalid) => Err(AuthRejection::Invalid),
                Err(AuthError::Store(e)) => {
                    tracing::error!(error = %e, "credential check failed");
                    Err(AuthRejection::Unavailable)
                }
            }
        })
    }
}
