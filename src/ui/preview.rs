//! The schedule preview of the service form: the next five due times in the chosen zone,
//! or what is wrong with the schedule. Rendered with the form, then refreshed by its
//! script from `/ui/preview`.
use actix_web::HttpResponse;
use actix_web::web;
use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::format;
use super::i18n::Lang;
use super::service_form::ServiceForm;
use super::session::SignedIn;
use crate::domain::schedule::Schedule;
use crate::domain::zone::offset_label;

#[derive(Debug, Serialize)]
pub struct PreviewTime {
    pub local: String,
    pub utc: String,
}

/// The preview the form shows, server-side at first and then from `/ui/preview`.
#[derive(Debug, Serialize)]
pub struct Preview {
    pub ok: bool,
    pub summary: String,
    pub times: Vec<PreviewTime>,
    pub error: Option<String>,
    pub field: Option<&'static str>,
}

const WEEKDAYS_ZH: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];

fn preview_time(t: DateTime<Utc>, tz: Tz, lang: Lang) -> PreviewTime {
    let local = t.with_timezone(&tz);
    let weekday = match lang {
        Lang::En => local.format("%a").to_string(),
        Lang::Zh => WEEKDAYS_ZH[local.weekday().num_days_from_monday() as usize].to_owned(),
    };
    PreviewTime {
        local: format!(
            "{} {weekday} {} {}",
            local.format("%Y-%m-%d"),
            local.format("%H:%M"),
            offset_label(&local)
        ),
        utc: format::utc(t),
    }
}

pub fn preview(form: &ServiceForm, now: DateTime<Utc>, lang: Lang) -> Preview {
    let t = lang.t();
    let fail = |field: &'static str, error: String| Preview {
        ok: false,
        summary: t.preview_invalid.to_owned(),
        times: Vec::new(),
        error: Some(error),
        field: Some(field),
    };
    let (schedule, tz) = match form.draft().schedule_in_zone() {
        Ok(found) => found,
        Err(e) => return fail(e.field, lang.problem(&e.problem)),
    };
    if let Schedule::Interval { period } = schedule {
        return Preview {
            ok: true,
            summary: lang.interval_preview(&lang.duration(period.num_seconds())),
            times: Vec::new(),
            error: None,
            field: None,
        };
    }
    let times = schedule
        .upcoming(now, tz)
        .take(5)
        .map(|t| preview_time(t, tz, lang))
        .collect();
    let summary = match &schedule {
        Schedule::Daily { at } => lang.daily(&at.to_string(), tz.name()),
        Schedule::Cron { expr } => match super::cron_words::describe(expr.as_str(), lang) {
            Some(words) => format!("{words} · {expr} · {}", tz.name()),
            None => format!("cron {expr} · {}", tz.name()),
        },
        Schedule::Interval { .. } => schedule.describe(tz),
    };
    Preview {
        ok: true,
        summary,
        times,
        error: None,
        field: None,
    }
}

/// `GET /ui/preview?kind=&period=&period_unit=&at=&cron=&timezone=`: the next five due
/// times in the chosen zone, or what is wrong with the schedule.
pub async fn preview_json(s: SignedIn, q: web::Query<ServiceForm>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(preview(&q, s.now(), s.lang))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn form(kind: &str) -> ServiceForm {
        ServiceForm {
            name: "backup".into(),
            kind: kind.into(),
            ..ServiceForm::blank(chrono_tz::Asia::Shanghai)
        }
    }

    #[test]
    fn preview_lists_the_next_five_in_the_zone() {
        let f = ServiceForm {
            cron: "0 3 * * 1-5".into(),
            timezone: "Europe/Berlin".into(),
            ..form("cron")
        };
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap();
        let p = preview(&f, now, Lang::En);
        assert!(p.ok);
        let local: Vec<_> = p.times.iter().map(|t| t.local.as_str()).collect();
        assert_eq!(
            local,
            [
                "2026-11-23 Mon 03:00 UTC+1",
                "2026-11-24 Tue 03:00 UTC+1",
                "2026-11-25 Wed 03:00 UTC+1",
                "2026-11-26 Thu 03:00 UTC+1",
                "2026-11-27 Fri 03:00 UTC+1"
            ]
        );
        assert_eq!(p.times[0].utc, "2026-11-23 02:00:00 UTC");
        let bad = preview(
            &ServiceForm {
                cron: "* * *".into(),
                ..f
            },
            now,
            Lang::En,
        );
        assert!(!bad.ok);
        assert_eq!(bad.field, Some("cron"));
    }
}
