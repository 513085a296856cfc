//! HTTP routes, one module per resource. Each owns its request, response and error types;
//! they share the JSON error shape and the caller extractor defined here.
pub mod agent_hosts;
pub mod agent_ws;
pub mod alerts;
pub mod badges;
pub mod channels;
pub mod events;
pub mod hc_api;
pub mod health;
pub mod hosts;
pub mod maintenance;
pub mod metrics;
pub mod ping_keys;
pub mod pings;
pub mod reports;
pub mod schedule;
pub mod services;
pub mod timeseries;
pub mod users;

use std::future::Future;
use std::pin::Pin;

use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use heartbeats_wire::ErrorBody;

use crate::app::Actor;
use crate::app::AppError;
use crate::auth::{AuthError, Credentials};
use crate::domain::role::Action;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(health::healthz)
        .service(
            web::resource(["/api/pings", "/api/pings/"])
                .route(web::get().to(pings::ping))
                .route(web::post().to(pings::ping)),
        )
        .service(web::scope("/ping").default_service(web::to(pings::hc::ping)))
        .service(web::resource("/api/push/{token}").route(web::route().to(pings::kuma::push)))
        .service(
            web::resource("/api/pings/snooze")
                .route(web::get().to(services::ping_snooze))
                .route(web::post().to(services::ping_snooze)),
        )
        .service(
            web::resource("/api/pings/{kind}")
                .route(web::get().to(pings::ping_suffix))
                .route(web::post().to(pings::ping_suffix)),
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
                                code: Some("bad_json".into()),
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
                        code: Some("bad_query".into()),
                    };
                    actix_web::error::InternalError::from_response(
                        err,
                        HttpResponse::BadRequest().json(body),
                    )
                    .into()
                }))
                .configure(services::configure)
                // Before `hosts`: `/hosts/{id}` would take `/hosts/reports` too.
                .configure(reports::configure)
                .configure(hosts::configure)
                .configure(maintenance::configure)
                .configure(events::configure)
                .configure(alerts::configure)
                .configure(channels::configure)
                .configure(users::configure)
                .configure(ping_keys::configure)
                .configure(timeseries::configure)
                .configure(agent_hosts::configure)
                .configure(agent_ws::configure)
                .configure(hc_api::configure)
                .configure(badges::configure_api)
                .service(schedule::preview),
        )
        // The healthchecks management API's later versions (v1 is inside the scope above).
        .service(web::scope("/api/{version:v[23]}").configure(hc_api::configure))
        .configure(metrics::configure)
        .configure(badges::configure)
        .configure(crate::ui::configure);
}

/// The JSON error every API route answers with.
pub fn json_error(
    status: StatusCode,
    error: impl Into<String>,
    field: Option<&str>,
) -> HttpResponse {
    error_body(
        status,
        ErrorBody {
            error: error.into(),
            field: field.map(str::to_owned),
            code: None,
        },
    )
}

/// Seconds a client is told to wait after a 503. The database is usually back, or the disk
/// freed, within seconds, and the first request after that succeeds.
pub const RETRY_AFTER_SECS: u32 = 5;

/// An error response with `body`; a 503 also says when to try again (`Retry-After`), so
/// cron jobs' retrying clients and load balancers back off instead of hammering.
pub fn error_body(status: StatusCode, body: ErrorBody) -> HttpResponse {
    let mut resp = HttpResponse::build(status);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        resp.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS));
    }
    resp.json(body)
}

/// The status of a use-case failure: 422 for refused input, 409 for a taken name, 404,
/// and 503 when storage is unavailable.
pub fn app_error_status(err: &AppError) -> StatusCode {
    match err {
        AppError::Invalid(fields) if fields.iter().any(|f| f.problem.is_conflict()) => {
            StatusCode::CONFLICT
        }
        AppError::Invalid(_) | AppError::InvalidAt { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        AppError::Other(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Map a use-case failure to HTTP, once for every handler: the first refused field, its
/// English message (`field: message`) and its stable code.
pub fn app_error_response(err: &AppError) -> HttpResponse {
    let status = app_error_status(err);
    let body = match err {
        AppError::Invalid(fields) => {
            let first = fields.first();
            ErrorBody {
                error: first.map(ToString::to_string).unwrap_or_default(),
                field: first.map(|f| f.field.to_owned()),
                code: first.map(|f| f.code().to_owned()),
            }
        }
        AppError::InvalidAt { path, problem } => ErrorBody {
            error: err.to_string(),
            field: Some(path.clone()),
            code: Some(problem.code().to_owned()),
        },
        AppError::Forbidden(_) => ErrorBody {
            error: err.to_string(),
            field: None,
            code: Some("forbidden".into()),
        },
        AppError::NotFound(what) => ErrorBody {
            error: format!("{what} not found"),
            field: None,
            code: Some("not_found".into()),
        },
        AppError::Store(e) => {
            tracing::error!(error = %e, "storage failure");
            ErrorBody {
                error: "storage is unavailable; try again".into(),
                field: None,
                code: Some("unavailable".into()),
            }
        }
        AppError::Other(e) => {
            tracing::error!(error = %format!("{e:#}"), "request failed");
            ErrorBody {
                error: "internal error".into(),
                field: None,
                code: Some("internal".into()),
            }
        }
    };
    error_body(status, body)
}

/// An authenticated caller: HTTP Basic or `Bearer <api key>`.
#[derive(Debug, Clone)]
pub struct Caller(pub Actor);

impl Caller {
    /// The caller, if their role and key scope allow `action`; else a 403.
    pub fn may(&self, action: Action) -> Result<&Actor, AppError> {
        self.0.require(action)?;
        Ok(&self.0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthRejection {
    #[error(
        "authentication required: use HTTP Basic (user:password) or 'Authorization: Bearer <api key>'"
    )]
    Missing,
    #[error("invalid credentials")]
    Invalid,
    #[error(
        "too many failed attempts for this user from this address, or from this address; \
         try again in {0} s"
    )]
    Throttled(u64),
    #[error("too many password checks are waiting; try again shortly")]
    Busy,
    #[error("cannot check credentials right now")]
    Unavailable,
}

impl ResponseError for AuthRejection {
    fn status_code(&self) -> StatusCode {
        match self {
            AuthRejection::Missing | AuthRejection::Invalid => StatusCode::UNAUTHORIZED,
            AuthRejection::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            AuthRejection::Busy | AuthRejection::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let code = match self {
            AuthRejection::Missing => "auth_required",
            AuthRejection::Invalid => "bad_credentials",
            AuthRejection::Throttled(_) => "throttled",
            AuthRejection::Busy => "busy",
            AuthRejection::Unavailable => "unavailable",
        };
        let mut resp = HttpResponse::build(self.status_code()).json(ErrorBody {
            error: self.to_string(),
            field: None,
            code: Some(code.into()),
        });
        let headers = resp.headers_mut();
        match self {
            AuthRejection::Missing | AuthRejection::Invalid => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static(
                        "Basic realm=\"heartbeats\", charset=\"UTF-8\"",
                    ),
                );
            }
            AuthRejection::Throttled(secs) => {
                headers.insert(header::RETRY_AFTER, header::HeaderValue::from(*secs));
            }
            AuthRejection::Busy => {
                headers.insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            }
            AuthRejection::Unavailable => {
                headers.insert(
                    header::RETRY_AFTER,
                    header::HeaderValue::from(RETRY_AFTER_SECS),
                );
            }
        }
        resp
    }
}

impl FromRequest for Caller {
    type Error = AuthRejection;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let source = crate::peer::client_ip(req);
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
            match state.auth.authenticate(&creds, &source).await {
                Ok(user) => Ok(Caller(Actor {
                    user_id: Some(user.id),
                    name: user.name,
                    role: user.role,
                    scope: user.scope,
                    source: Some(source),
                })),
                Err(AuthError::Missing) => Err(AuthRejection::Missing),
                Err(AuthError::Invalid) => Err(AuthRejection::Invalid),
                Err(AuthError::Throttled { retry_after }) => {
                    Err(AuthRejection::Throttled(retry_after.as_secs().max(1)))
                }
                Err(AuthError::Busy) => Err(AuthRejection::Busy),
                Err(e @ (AuthError::Store(_) | AuthError::Other(_))) => {
                    tracing::error!(error = %e, "credential check failed");
                    Err(AuthRejection::Unavailable)
                }
            }
        })
    }
}

#[cfg(test)]
#[path = "status_codes_test.rs"]
mod status_codes_test;
