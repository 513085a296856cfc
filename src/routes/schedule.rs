//! `GET /api/v1/schedule/preview`: the next fire times of a schedule, for the UI's live preview.
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Caller, json_error};
use crate::domain::schedule::parse_timezone;
use crate::routes::services::build_schedule;
use crate::startup::AppState;

#[derive(Debug, Deserialize)]
pub struct PreviewQuery {
    pub cron: Option<String>,
    pub at: Option<String>,
    pub tz: Option<String>,
    pub count: Option<usize>,
    pub after: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
pub struct Preview {
    pub schedule: String,
    pub timezone: String,
    pub times: Vec<DateTime<Utc>>,
}

#[get("/schedule/preview")]
pub async fn preview(
    _: Caller,
    state: web::Data<AppState>,
    q: web::Query<PreviewQuery>,
) -> HttpResponse {
    let q = q.into_inner();
    let tz = match q.tz.as_deref().filter(|t| !t.is_empty()) {
        Some(tz) => match parse_timezone(tz) {
            Ok(tz) => tz,
            Err(e) => {
                return json_error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string(), Some("tz"));
            }
        },
        None => state.settings.timezone,
    };
    let schedule = match build_schedule(None, None, q.at.as_deref(), q.cron.as_deref()) {
        Ok(s) => s,
        Err(e) if e.field == "kind" => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "give cron=<expression> or at=HH:MM",
                Some("cron"),
            );
        }
        Err(e) => {
            return json_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                e.to_string(),
                Some(e.field),
            );
        }
    };
    let count = q.count.unwrap_or(5).clamp(1, 100);
    let mut times = Vec::with_capacity(count);
    let mut cursor = q.after.unwrap_or_else(|| state.clock.now());
    while times.len() < count {
        match schedule.next_occurrence_after(cursor, tz) {
            Some(t) => {
                times.push(t);
                cursor = t;
            }
            None => break,
        }
    }
    HttpResponse::Ok().json(Preview {
        schedule: schedule.describe(tz),
        timezone: tz.name().to_owned(),
        times,
    })
}
