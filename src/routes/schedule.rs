//! `GET /api/v1/schedule/preview`: the next fire times of a schedule, for the UI's live preview.
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use heartbeats_wire::api;
use serde::Deserialize;

use super::{Caller, app_error_response, json_error};
use crate::app::AppError;
use crate::domain::FieldError;
use crate::domain::role::Action;
use crate::domain::schedule::{Schedule, parse_timezone};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct PreviewQuery {
    pub cron: Option<String>,
    pub at: Option<String>,
    pub tz: Option<String>,
    pub count: Option<usize>,
    pub after: Option<DateTime<Utc>>,
}

#[get("/schedule/preview")]
pub async fn preview(
    caller: Caller,
    state: web::Data<AppState>,
    q: web::Query<PreviewQuery>,
) -> HttpResponse {
    if let Err(e) = caller.may(Action::Read) {
        return app_error_response(&e);
    }
    let q = q.into_inner();
    let tz = match q.tz.as_deref().filter(|t| !t.is_empty()) {
        Some(tz) => match parse_timezone(tz) {
            Ok(tz) => tz,
            Err(e) => {
                return app_error_response(&AppError::invalid(FieldError::new("tz", e)));
            }
        },
        None => state.settings.timezone,
    };
    let schedule = match Schedule::from_parts(None, None, q.at.as_deref(), q.cron.as_deref()) {
        Ok(s) => s,
        Err(e) if e.field == "kind" => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "give cron=<expression> or at=HH:MM",
                Some("cron"),
            );
        }
        Err(e) => return app_error_response(&AppError::invalid(e)),
    };
    let count = q.count.unwrap_or(5).clamp(1, 100);
    let after = q.after.unwrap_or_else(|| state.clock.now());
    let times = schedule.upcoming(after, tz).take(count).collect();
    HttpResponse::Ok().json(api::SchedulePreview {
        schedule: schedule.describe(tz),
        timezone: tz.name().to_owned(),
        times,
    })
}
