//! `GET /api/v1/agent/hosts[?collector=NAME]`: the hosts a `hb-agent watch` instance must
//! collect, asked every cycle. The caller must be allowed to send reports (the rule of
//! `POST /api/v1/hosts/reports`: a `ping` or `full` key of a member or admin), since what
//! it collects it posts there. Thin: the rules are in `app::hosts::agent`.
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use heartbeats_wire::ErrorBody;
use serde::Deserialize;

use super::{Caller, app_error_response, error_body};
use crate::app::{self, AppError};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/agent/hosts").route(web::get().to(list)));
}

#[derive(Debug, Deserialize)]
pub struct AgentHostsQuery {
    /// The collector's name (`hb-agent watch --collector`); absent or empty: the default
    /// collector.
    pub collector: Option<String>,
}

/// Refusals in the agent's terms: a 403 says which keys may ask.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct AgentError(#[from] AppError);

impl actix_web::ResponseError for AgentError {
    fn status_code(&self) -> StatusCode {
        super::app_error_status(&self.0)
    }

    fn error_response(&self) -> HttpResponse {
        match &self.0 {
            AppError::Forbidden(_) => error_body(
                StatusCode::FORBIDDEN,
                ErrorBody {
                    error: "not allowed: the host list is for collectors, which need a key that \
                            may send reports (scope `ping` or `full`, of a member or admin)"
                        .into(),
                    field: None,
                    code: Some("forbidden".into()),
                },
            ),
            other => app_error_response(other),
        }
    }
}

#[tracing::instrument(skip_all, fields(collector = ?query.collector))]
async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<AgentHostsQuery>,
) -> Result<HttpResponse, AgentError> {
    let collector = query.collector.as_deref().filter(|c| !c.trim().is_empty());
    let body = app::hosts::agent::to_collect(&state.app, &caller.0, collector).await?;
    Ok(HttpResponse::Ok().json(body))
}
