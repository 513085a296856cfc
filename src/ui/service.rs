//! `/services/{id}`: status and why, the ping URLs with snippets, the job runs with their
//! sparkline, the ping log, flips with their alerts; pause, resume, a new ping UUID and
//! delete (with a confirmation page).
use actix_web::http::StatusCode;
use actix_web::web;
use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use super::alerts::{AlertState, alert_state};
use super::format::{self, ScheduleCols, When};
use super::http::encode;
use super::i18n::Lang;
use super::login::CsrfForm;
use super::maintenance::{SnoozeForm, SnoozeView};
use super::page::{Chrome, InLang, UiResult};
use super::runs::{self as run_views, RUNS_PER_PAGE, RunView, SPARK_RUNS, Sparkline};
use super::session::SignedIn;
use super::snippets::{self, Snippet};
use crate::app;
use crate::clock::from_ms;
use crate::domain::role::Action;
use crate::domain::runs::RunOutcome;
use crate::domain::status::{Reason, Status};
use crate::domain::{Tags, notify_from_column};
use crate::entity::{flips, services::Model};
use crate::store::services::timezone_of;
use crate::store::views;
use crate::store::{alerts, pings, runs, services};

const PINGS_PER_PAGE: u64 = 50;
const FLIPS_SHOWN: u64 = 50;

#[derive(Debug, Deserialize)]
pub struct PingPage {
    before: Option<i64>,
    /// The runs table's page: runs older than this id.
    runs_before: Option<i64>,
}

pub struct Fact {
    pub label: &'static str,
    pub when: When,
}

pub struct PingView {
    pub when: When,
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub source: String,
    pub user_agent: String,
    pub data: String,
    pub exit_status: Option<i32>,
    pub rid: Option<String>,
}

pub struct FlipView {
    pub when: When,
    pub from: &'static str,
    pub from_label: &'static str,
    pub to: &'static str,
    pub to_label: &'static str,
    pub reason: &'static str,
    pub data: Option<String>,
    pub alerts: Vec<AlertState>,
}

#[derive(Template)]
#[template(path = "service.html")]
struct ServicePage<'a> {
    c: &'a Chrome,
    svc: &'a Model,
    status: &'static str,
    status_label: &'static str,
    why: &'static str,
    facts: Vec<Fact>,
    reported: Option<String>,
    schedule: String,
    tags: Vec<String>,
    notify: Vec<String>,
    grace: String,
    created: When,
    ping_url: String,
    uuid_url: String,
    /// `None` while the user has no ping key.
    slug_url: Option<String>,
    max_run: Option<String>,
    min_run: Option<String>,
    fail_after: String,
    streak: Option<String>,
    running: Option<String>,
    runs: Vec<RunView>,
    older_runs: Option<i64>,
    runs_paged: bool,
    spark: Option<Sparkline>,
    snippets: Vec<Snippet>,
    pings: Vec<PingView>,
    older: Option<i64>,
    paged: bool,
    flips: Vec<FlipView>,
    snooze: SnoozeView,
}

pub fn schedule_text(m: &Model, lang: Lang) -> String {
    format::describe(
        &ScheduleCols {
            kind: m.kind,
            period_secs: m.period_secs,
            at_time: m.at_time.as_deref(),
            cron_expr: m.cron_expr.as_deref(),
            timezone: &m.timezone,
            grace_secs: m.grace_secs,
        },
        lang,
    )
}

/// What the status means for this service right now, and the times that explain it.
fn explain(
    m: &Model,
    last_down: Option<&flips::Model>,
    waiting: bool,
    tz: Tz,
    now: DateTime<Utc>,
    lang: Lang,
) -> (&'static str, Vec<Fact>, Option<String>) {
    let t = lang.t();
    let when = |ms: i64| When::from_ms(ms, tz, now, lang);
    let mut facts = Vec::new();
    let mut push = |label, ms: Option<i64>| {
        if let Some(ms) = ms {
            facts.push(Fact {
                label,
                when: when(ms),
            });
        }
    };
    let (why, reported) = match m.status.as_str() {
        "up" => {
            push(t.last_ping, m.last_ping_at);
            push(t.next_due, m.next_due_at);
            push(t.goes_down_at, m.down_at);
            (if waiting { t.why_resumed } else { t.why_up }, None)
        }
        "late" => {
            push(t.was_due, m.next_due_at);
            push(t.goes_down_at, m.down_at);
            push(t.last_ping, m.last_ping_at);
            (t.why_late, None)
        }
        "down" => {
            let error = last_down.is_some_and(|f| f.reason == Reason::Error);
            push(t.down_since, last_down.map(|f| f.at));
            push(t.was_due, last_down.and_then(|f| f.due_at));
            push(t.last_ping, m.last_ping_at);
            if error {
                (
                    t.why_down_error,
                    last_down
                        .and_then(|f| f.data.clone())
                        .filter(|d| !d.is_empty()),
                )
            } else {
                (t.why_down_missed, None)
            }
        }
        "paused" => {
            push(t.last_ping, m.last_ping_at);
            (t.why_paused, None)
        }
        _ => (t.why_new, None),
    };
    (why, facts, reported)
}

#[tracing::instrument(skip_all, fields(id = %id))]
pub async fn page(s: SignedIn, id: web::Path<String>, q: web::Query<PingPage>) -> UiResult {
    let lang = s.lang;
    let t = lang.t();
    let db = &s.state.db;
    let m = services::get(db, &id).await.lang(lang)?;
    let tz = timezone_of(&m);
    let now = s.now();

    let mut ping_rows = pings::list(db, &m.id, q.before, PINGS_PER_PAGE + 1)
        .await
        .lang(lang)?;
    let more = ping_rows.len() as u64 > PINGS_PER_PAGE;
    ping_rows.truncate(PINGS_PER_PAGE as usize);
    let older = if more {
        ping_rows.last().map(|p| p.id)
    } else {
        None
    };
    let pings = ping_rows
        .into_iter()
        .map(|p| PingView {
            when: When::from_ms(p.at, tz, now, lang),
            kind: p.kind.as_str(),
            kind_label: lang.kind(p.kind),
            source: p.source.unwrap_or_default(),
            user_agent: p.user_agent.unwrap_or_default(),
            data: p.data,
            exit_status: p.exit_status,
            rid: p.rid,
        })
        .collect();

    let mut run_rows = runs::list(db, &m.id, q.runs_before, RUNS_PER_PAGE + 1)
        .await
        .lang(lang)?;
    let more_runs = run_rows.len() as u64 > RUNS_PER_PAGE;
    run_rows.truncate(RUNS_PER_PAGE as usize);
    let older_runs = if more_runs {
        run_rows.last().map(|r| r.id)
    } else {
        None
    };
    let oldest_open = run_rows
        .iter()
        .filter(|r| matches!(r.outcome, RunOutcome::Running | RunOutcome::Hung))
        .map(|r| r.started_at)
        .min();
    let (streak, running) = run_views::run_lines(&m, oldest_open, now, lang);
    let run_list = run_rows
        .into_iter()
        .map(|r| RunView::new(r, tz, now, lang))
        .collect();
    let durations = runs::recent_durations(db, &m.id, SPARK_RUNS)
        .await
        .lang(lang)?;
    let spark = run_views::sparkline(&durations, m.min_run_secs, m.max_run_secs, lang);

    let flip_rows = alerts::list_flips(db, &m.id, FLIPS_SHOWN)
        .await
        .lang(lang)?;
    let ids: Vec<i64> = flip_rows.iter().map(|f| f.id).collect();
    let mut by_flip = views::alerts_for_flips(db, &ids).await.lang(lang)?;
    let last_down = flip_rows.iter().find(|f| f.to_status == Status::Down);
    // Resumed and not heard from since: say so, rather than "pinging on time".
    let waiting = flip_rows
        .first()
        .is_some_and(|f| f.reason == Reason::Resumed && m.last_ping_at.is_none_or(|p| p <= f.at));
    let (why, facts, reported) = explain(&m, last_down, waiting, tz, now, lang);
    let flips = flip_rows
        .iter()
        .map(|f| FlipView {
            when: When::from_ms(f.at, tz, now, lang),
            from: f.from_status.as_str(),
            from_label: lang.status(f.from_status),
            to: f.to_status.as_str(),
            to_label: lang.status(f.to_status),
            reason: lang.reason(f.reason),
            data: f.data.clone().filter(|d| !d.is_empty()),
            alerts: by_flip
                .remove(&f.id)
                .unwrap_or_default()
                .iter()
                .map(|a| alert_state(a, tz, now, lang))
                .collect(),
        })
        .collect();

    let status = m.status.as_str();
    let base_url = &s.state.settings.base_url;
    let mut snippets = snippets::for_service(
        &m,
        base_url,
        [
            t.snippet_curl,
            t.snippet_curl_error,
            t.snippet_crontab,
            t.snippet_python,
            t.snippet_agent,
            t.snippet_uuid_run,
            t.snippet_runitor,
            t.snippet_native_run,
        ],
    );
    let c = s.chrome("services");
    // The ping UUID is a credential: who may not ping (viewers) does not see it.
    let may_ping = c.can_ping();
    if !may_ping {
        snippets.retain(|x| !matches!(x.id, "uuid-run" | "runitor"));
    }
    s.render(
        StatusCode::OK,
        &ServicePage {
            c: &c,
            status,
            status_label: lang.status(m.status),
            why,
            facts,
            reported,
            schedule: schedule_text(&m, lang),
            tags: Tags::from_column(&m.tags).into_vec(),
            notify: notify_from_column(&m.notify),
            grace: lang.duration(m.grace_secs),
            created: When::new(from_ms(m.created_at), tz, now, lang),
            ping_url: snippets::ping_url(base_url, &m.id),
            uuid_url: if may_ping {
                snippets::uuid_url(base_url, &m.ping_uuid)
            } else {
                String::new()
            },
            slug_url: s
                .user
                .ping_key
                .as_deref()
                .map(|key| snippets::slug_url(base_url, key, &m.slug)),
            max_run: m.max_run_secs.map(|secs| lang.duration(secs)),
            min_run: m.min_run_secs.map(|secs| lang.duration(secs)),
            fail_after: lang.fail_after_text(m.fail_after),
            streak,
            running,
            runs: run_list,
            older_runs,
            runs_paged: q.runs_before.is_some(),
            spark,
            snippets,
            pings,
            older,
            paged: q.before.is_some(),
            flips,
            snooze: SnoozeView::new(
                format!("/services/{}/snooze", m.id),
                s.actor.may(Action::EditServices),
                m.snoozed_until,
                tz,
                now,
                lang,
            ),
            svc: &m,
        },
    )
}

async fn set_paused(s: SignedIn, id: &str, csrf: &str, pause: bool) -> UiResult {
    s.check_csrf(csrf)?;
    let m = if pause {
        app::services::pause(&s.state.app, &s.actor, id).await
    } else {
        app::services::resume(&s.state.app, &s.actor, id).await
    }
    .lang(s.lang)?;
    s.state.ui.list_cache.clear();
    Ok(s.redirect(
        &format!("/services/{}", m.id),
        Some(if pause { "paused" } else { "resumed" }),
    ))
}

pub async fn pause(s: SignedIn, id: web::Path<String>, form: web::Form<CsrfForm>) -> UiResult {
    set_paused(s, &id, &form.csrf, true).await
}

pub async fn resume(s: SignedIn, id: web::Path<String>, form: web::Form<CsrfForm>) -> UiResult {
    set_paused(s, &id, &form.csrf, false).await
}

/// A new ping UUID: the old `/ping/<uuid>` URL stops working at once (the page asks
/// first, in a fold with the warning).
#[tracing::instrument(skip_all, fields(id = %id, user = %s.user.name))]
pub async fn regenerate_ping_uuid(
    s: SignedIn,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> UiResult {
    s.check_csrf(&form.csrf)?;
    let m = app::services::regenerate_ping_uuid(&s.state.app, &s.actor, &id)
        .await
        .lang(s.lang)?;
    Ok(s.redirect(&format!("/services/{}#urls", m.id), Some("ping_uuid")))
}

pub async fn snooze(s: SignedIn, id: web::Path<String>, form: web::Form<SnoozeForm>) -> UiResult {
    s.check_csrf(&form.csrf)?;
    let minutes = form.minutes().lang(s.lang)?;
    let m = app::services::snooze(&s.state.app, &s.actor, &id, Some(minutes), None)
        .await
        .lang(s.lang)?;
    Ok(s.redirect(&format!("/services/{}", m.id), None))
}

pub async fn unsnooze(s: SignedIn, id: web::Path<String>, form: web::Form<CsrfForm>) -> UiResult {
    s.check_csrf(&form.csrf)?;
    let m = app::services::unsnooze(&s.state.app, &s.actor, &id)
        .await
        .lang(s.lang)?;
    Ok(s.redirect(&format!("/services/{}", m.id), None))
}

#[derive(Template)]
#[template(path = "delete.html")]
struct DeletePage<'a> {
    c: &'a Chrome,
    svc: &'a Model,
}

pub async fn confirm_delete(s: SignedIn, id: web::Path<String>) -> UiResult {
    s.actor.require(Action::EditServices).lang(s.lang)?;
    let m = services::get(&s.state.db, &id).await.lang(s.lang)?;
    let c = s.chrome("services");
    s.render(StatusCode::OK, &DeletePage { c: &c, svc: &m })
}

pub async fn delete(s: SignedIn, id: web::Path<String>, form: web::Form<CsrfForm>) -> UiResult {
    s.check_csrf(&form.csrf)?;
    let m = app::services::delete(&s.state.app, &s.actor, &id)
        .await
        .lang(s.lang)?;
    s.state.ui.list_cache.clear();
    Ok(s.redirect("/", Some(&format!("deleted:{}", encode(&m.name)))))
}
