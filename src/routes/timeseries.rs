//! Host history for charts: `GET /api/v1/hosts/{id}/timeseries` (one host) and
//! `GET /api/v1/timeseries?tag=` (one series per host with the tag), from the roll-ups.
//!
//! Query: `metric` (required: `cpu_pct`, `load1`, `mem_pct`, `swap_pct`, `disk_used_pct`,
//! `gpu_util_pct`, `gpu_mem_pct`, `gpu_temp_c`, …), `from` and `to` (RFC 3339 or Unix
//! seconds; the last hour by default), `agg` (`avg`, the default, `max`, `min`, `last`),
//! `step` (60 or 3600; by default 1-minute points up to 48 h and hourly beyond), `mount`
//! for a disk and `gpu` for a GPU (without them, the highest over all of them).
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use heartbeats_wire::hosts::{HostSeries, TagTimeseries, TimePoint, Timeseries};
use serde::Deserialize;

use super::Caller;
use super::services::ServiceError;
use crate::clock::from_ms;
use crate::domain::metrics::{self, Agg, Metric, Part};
use crate::domain::role::Action;
use crate::domain::{FieldError, Problem};
use crate::state::AppState;
use crate::store::host_list::{self, HostFilter};
use crate::store::hosts;
use crate::store::rollups::{self, Point, SeriesQuery};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/hosts/{id}/timeseries").route(web::get().to(of_host)))
        .service(web::resource("/timeseries").route(web::get().to(of_tag)));
}

/// The most points one series may have.
pub const MAX_POINTS: i64 = 20_000;
/// The most hosts a by-tag answer holds.
pub const MAX_HOSTS: u64 = 500;

#[derive(Debug, Default, Deserialize)]
pub struct SeriesParams {
    pub metric: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub agg: Option<String>,
    pub step: Option<String>,
    pub mount: Option<String>,
    pub gpu: Option<String>,
    pub tag: Option<String>,
}

/// A parsed, checked question.
struct Asked {
    metric: Metric,
    part: Option<String>,
    agg: Agg,
    step: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

/// `2026-01-17T10:00:00Z` or Unix seconds.
fn time(field: &'static str, raw: &str) -> Result<DateTime<Utc>, FieldError> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&Utc));
    }
    raw.parse::<i64>()
        .ok()
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .ok_or(FieldError::new(field, Problem::BadTime))
}

impl SeriesParams {
    fn check(&self, now: DateTime<Utc>) -> Result<Asked, FieldError> {
        let metric: Metric = self
            .metric
            .as_deref()
            .ok_or(FieldError::new("metric", Problem::Required))?
            .trim()
            .parse()
            .map_err(|e| FieldError::new("metric", Problem::Unknown(e)))?;
        let agg = match self.agg.as_deref().map(str::trim) {
            None | Some("") => Agg::Avg,
            Some(a) => a
                .parse()
                .map_err(|e| FieldError::new("agg", Problem::Unknown(e)))?,
        };
        let to = match self.to.as_deref() {
            Some(t) => time("to", t)?,
            None => now,
        };
        let from = match self.from.as_deref() {
            Some(t) => time("from", t)?,
            None => to - Duration::hours(1),
        };
        if from >= to {
            return Err(FieldError::new("from", Problem::TimeOrder));
        }
        let asked_step = match self.step.as_deref() {
            None => None,
            Some(s) => Some(s.trim().parse::<i64>().map_err(|_| step_problem(s))?),
        };
        let step = metrics::step_for(from, to, asked_step)
            .ok_or_else(|| step_problem(self.step.as_deref().unwrap_or_default()))?;
        if (to - from).num_seconds() / step > MAX_POINTS {
            return Err(FieldError::new(
                "step",
                Problem::TooManyPoints { max: MAX_POINTS },
            ));
        }
        let part = match metric.part() {
            Part::Host => None,
            Part::Mount => self.mount.clone().filter(|m| !m.is_empty()),
            Part::Gpu => match self.gpu.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(g) => Some(
                    g.parse::<u32>()
                        .map_err(|_| FieldError::new("gpu", Problem::NotANumber))?
                        .to_string(),
                ),
            },
        };
        Ok(Asked {
            metric,
            part,
            agg,
            step,
            from,
            to,
        })
    }
}

fn step_problem(raw: &str) -> FieldError {
    FieldError::new(
        "step",
        Problem::Unknown(crate::domain::UnknownValue {
            what: "step",
            value: raw.trim().to_owned(),
            allowed: "60, 3600".to_owned(),
        }),
    )
}

fn data(points: Vec<Point>) -> Vec<TimePoint> {
    points
        .into_iter()
        .map(|(ms, value)| TimePoint {
            ts: from_ms(ms),
            value,
        })
        .collect()
}

async fn read(state: &AppState, host_id: &str, a: &Asked) -> Result<Vec<Point>, ServiceError> {
    Ok(rollups::series(
        &state.db,
        &state.rollups,
        &SeriesQuery {
            host_id,
            metric: a.metric,
            part: a.part.as_deref(),
            agg: a.agg,
            step: a.step,
            from: a.from,
            to: a.to,
        },
    )
    .await?)
}

#[tracing::instrument(skip_all)]
async fn of_host(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    params: web::Query<SeriesParams>,
) -> Result<HttpResponse, ServiceError> {
    caller.may(Action::Read)?;
    let asked = params.check(state.clock.now())?;
    let host = hosts::get(&state.db, &id).await?;
    let points = read(&state, &host.id, &asked).await?;
    Ok(HttpResponse::Ok().json(Timeseries {
        host_id: host.id,
        metric: asked.metric.to_string(),
        part: asked.part,
        agg: asked.agg.to_string(),
        step: asked.step,
        data: data(points),
    }))
}

#[tracing::instrument(skip_all)]
async fn of_tag(
    caller: Caller,
    state: web::Data<AppState>,
    params: web::Query<SeriesParams>,
) -> Result<HttpResponse, ServiceError> {
    caller.may(Action::Read)?;
    let tag = params
        .tag
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(FieldError::new("tag", Problem::Required))?
        .to_lowercase();
    let asked = params.check(state.clock.now())?;
    let filter = HostFilter {
        tags: vec![tag.clone()],
        ..Default::default()
    };
    let mut series = Vec::new();
    for host in host_list::page(&state.db, &filter, None, MAX_HOSTS).await? {
        let points = read(&state, &host.id, &asked).await?;
        series.push(HostSeries {
            host_id: host.id,
            name: host.name,
            data: data(points),
        });
    }
    Ok(HttpResponse::Ok().json(TagTimeseries {
        tag,
        metric: asked.metric.to_string(),
        part: asked.part,
        agg: asked.agg.to_string(),
        step: asked.step,
        series,
    }))
}
