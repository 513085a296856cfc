//! `/alerts`: every alert with its delivery state, newest first, and a test email button,
//! so an operator sees at once when mail is broken.
use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::web;
use askama::Template;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use super::format::When;
use super::i18n::Lang;
use super::page::{Chrome, InLang, UiResult};
use super::session::SignedIn;
use crate::domain::EmailAddress;
use crate::domain::role::Action;
use crate::domain::status::Reason;
use crate::entity::alerts::Model as Alert;
use crate::notify::Mailer;
use crate::store::alerts::{FAILED, PENDING, SENT};
use crate::store::views::{self, MailHealth};

const PER_PAGE: u64 = 100;

/// An alert's delivery as shown: sent (when), retrying (next attempt, last error), queued,
/// or failed (the SMTP error).
pub struct AlertState {
    pub recipient: String,
    pub key: &'static str,
    pub label: &'static str,
    pub when: Option<When>,
    pub attempts: String,
    pub error: Option<String>,
}

pub fn alert_state(a: &Alert, tz: Tz, now: DateTime<Utc>, lang: Lang) -> AlertState {
    let t = lang.t();
    let (key, label, when) = match a.state {
        SENT => ("sent", t.state_sent, a.sent_at),
        FAILED => ("failed", t.state_failed, None),
        PENDING if a.attempts > 0 => ("retrying", t.state_retrying, Some(a.next_attempt_at)),
        _ => ("queued", t.state_queued, None),
    };
    AlertState {
        recipient: a.recipient.clone(),
        key,
        label,
        when: when.map(|ms| When::from_ms(ms, tz, now, lang)),
        attempts: if a.attempts > 0 && key != "sent" {
            lang.attempts(a.attempts)
        } else {
            String::new()
        },
        error: a.last_error.clone().filter(|_| key != "sent"),
    }
}

pub struct AlertRow {
    pub created: When,
    pub service_id: String,
    pub service_name: String,
    pub reason: &'static str,
    pub reason_key: &'static str,
    pub state: AlertState,
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage<'a> {
    c: &'a Chrome,
    mail: String,
    health: MailHealth,
    broken: bool,
    rows: Vec<AlertRow>,
    older: Option<i64>,
    paged: bool,
    to: String,
    test_result: Option<(bool, String)>,
}

#[derive(Debug, Deserialize)]
pub struct AlertsQuery {
    before: Option<i64>,
}

async fn render(
    s: &SignedIn,
    before: Option<i64>,
    to: String,
    test_result: Option<(bool, String)>,
) -> UiResult {
    let lang = s.lang;
    let db = &s.state.db;
    let now = s.now();
    let mut page = views::alerts_page(db, before, PER_PAGE + 1)
        .await
        .lang(lang)?;
    let more = page.len() as u64 > PER_PAGE;
    page.truncate(PER_PAGE as usize);
    let older = if more {
        page.last().map(|(a, _)| a.id)
    } else {
        None
    };
    let mut ids: Vec<String> = page.iter().map(|(a, _)| a.service_id.clone()).collect();
    ids.sort_unstable();
    ids.dedup();
    let zones = views::service_zones(db, &ids).await.lang(lang)?;
    let mut tz_cache: HashMap<&str, Tz> = HashMap::new();
    let default_tz = s.state.settings.timezone;
    let rows = page
        .iter()
        .map(|(a, flip)| {
            let tz = *tz_cache.entry(a.service_id.as_str()).or_insert_with(|| {
                zones
                    .get(&a.service_id)
                    .and_then(|z| z.parse().ok())
                    .unwrap_or(default_tz)
            });
            let reason = flip.as_ref().map(|f| f.reason);
            AlertRow {
                created: When::from_ms(a.created_at, tz, now, lang),
                service_id: a.service_id.clone(),
                service_name: flip
                    .as_ref()
                    .map(|f| f.service_name.clone())
                    .unwrap_or_else(|| a.service_id.clone()),
                reason: reason.map_or("", |r| lang.reason(r)),
                reason_key: reason.map_or("", Reason::as_str),
                state: alert_state(a, tz, now, lang),
            }
        })
        .collect();
    let health = views::mail_health(db, (now - Duration::days(7)).timestamp_millis())
        .await
        .lang(lang)?;
    let mail = Mailer::from_settings(&s.state.settings)
        .map(|m| lang.mail_destination(&m))
        .unwrap_or_else(|e| e.to_string());
    let c = s.chrome("alerts");
    s.render(
        StatusCode::OK,
        &AlertsPage {
            c: &c,
            mail,
            broken: health.retrying > 0 || health.last_finished_failed,
            health,
            rows,
            older,
            paged: before.is_some(),
            to,
            test_result,
        },
    )
}

pub async fn page(s: SignedIn, q: web::Query<AlertsQuery>) -> UiResult {
    let to = s.user.email.clone().unwrap_or_default();
    render(&s, q.before, to, None).await
}

#[derive(Debug, Deserialize)]
pub struct TestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    to: String,
}

#[tracing::instrument(skip_all, fields(to = %form.to))]
pub async fn send_test(s: SignedIn, form: web::Form<TestForm>) -> UiResult {
    s.check_csrf(&form.csrf)?;
    s.actor.require(Action::SendTestMail).lang(s.lang)?;
    let t = s.lang.t();
    let to = form.to.trim().to_owned();
    let result = match EmailAddress::parse(&to) {
        Err(e) => (false, s.lang.labelled(t.test_failed, &s.lang.problem(&e))),
        Ok(addr) => match Mailer::from_settings(&s.state.settings) {
            Err(e) => (false, s.lang.labelled(t.test_failed, &e.to_string())),
            Ok(mailer) => match mailer
                .send_test(addr.as_str(), &s.state.settings.base_url)
                .await
            {
                Ok(()) => (
                    true,
                    s.lang
                        .test_sent(addr.as_str(), &s.lang.mail_destination(&mailer)),
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "test email failed");
                    (false, s.lang.labelled(t.test_failed, &e.to_string()))
                }
            },
        },
    };
    render(&s, None, to, Some(result)).await
}
