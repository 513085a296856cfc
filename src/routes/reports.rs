//! `POST /api/v1/hosts/reports`: host snapshots in, one report or `{"reports": [...]}`.
//! Needs a user or API key that may send pings (a `ping` or `full` key of a member or
//! admin). All of a request's reports are stored, or none.
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use futures::StreamExt;
use heartbeats_wire::ErrorBody;
use heartbeats_wire::hosts::{ReportOutcome, ReportsAccepted};

use super::{Caller, app_error_response, app_error_status, error_body};
use crate::app::{self, AppError};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/hosts/reports").route(web::post().to(receive)));
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(
        "the request body is larger than {limit} bytes (HB_MAX_REPORT_BYTES); send fewer reports at a time"
    )]
    TooLarge { limit: usize },
    #[error("invalid JSON body: {0}")]
    BadJson(String),
    #[error("cannot read the request body: {0}")]
    BadRequest(String),
    #[error(transparent)]
    App(#[from] AppError),
}

impl ResponseError for ReportError {
    fn status_code(&self) -> StatusCode {
        match self {
            ReportError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ReportError::BadJson(_) | ReportError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ReportError::App(e) => app_error_status(e),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (field, code) = match self {
            ReportError::TooLarge { .. } => (Some("reports"), "too_large"),
            ReportError::BadJson(_) => (None, "bad_json"),
            ReportError::BadRequest(_) => (None, "bad_request"),
            ReportError::App(e) => return app_error_response(e),
        };
        error_body(
            self.status_code(),
            ErrorBody {
                error: self.to_string(),
                field: field.map(str::to_owned),
                code: Some(code.to_owned()),
            },
        )
    }
}

/// Read the body, refusing to buffer more than `limit` bytes.
async fn read_body(mut payload: web::Payload, limit: usize) -> Result<web::BytesMut, ReportError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ReportError::BadRequest(e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(ReportError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[tracing::instrument(skip_all)]
async fn receive(
    caller: Caller,
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ReportError> {
    let limit = state.settings.max_report_bytes;
    // A declared length over the limit is refused before reading any of it.
    if req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > limit)
    {
        return Err(ReportError::TooLarge { limit });
    }
    let body = read_body(payload, limit).await?;
    let value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| ReportError::BadJson(e.to_string()))?;
    let source = crate::peer::client_ip(&req);
    let stored = app::reports::ingest(&state.app, &caller.0, value, Some(&source)).await?;
    let hosts: Vec<ReportOutcome> = stored
        .into_iter()
        .map(|s| ReportOutcome {
            status: s
                .status
                .map_or_else(|| "unmanaged".to_owned(), |st| st.to_string()),
            name: s.name,
            id: s.host_id,
        })
        .collect();
    Ok(HttpResponse::Ok().json(ReportsAccepted {
        ok: true,
        accepted: hosts.len(),
        hosts,
    }))
}
