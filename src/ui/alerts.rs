//! `/alerts`: every alert with its delivery state, newest first, and a test email button,
//! so an operator sees at once when mail is broken. The button is rate-limited: it sends
//! to any address, and twenty clicks a second would make the server a mail cannon.
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use actix_web::http::{StatusCode, header};
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
use crate::domain::ServiceId;
use crate::domain::role::Action;
use crate::domain::status::Reason;
use crate::entity::alerts::Model as Alert;
use crate::notify::Mailer;
use crate::store::alerts::{FAILED, PENDING, SENT};
use crate::store::views::{self, AlertFilter, Delivery, MailHealth};

const PER_PAGE: u64 = 100;

/// Test mails one user may send per [`TEST_MAIL_WINDOW`].
pub const TEST_MAILS_PER_USER: usize = 3;
/// Test mails everyone together may send per [`TEST_MAIL_WINDOW`].
pub const TEST_MAILS_IN_ALL: usize = 10;
pub const TEST_MAIL_WINDOW: Duration = Duration::minutes(1);

/// The test mails sent in the last window, by user id; never more than the overall limit.
#[derive(Default)]
pub struct TestMailLimit {
    sent: Mutex<VecDeque<(i64, DateTime<Utc>)>>,
}

impl TestMailLimit {
    /// Count a test mail for `user` now (before it is sent, so parallel clicks cannot all
    /// pass), or say how long to wait.
    pub fn take(&self, user: i64, now: DateTime<Utc>) -> Result<(), Duration> {
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        while sent
            .front()
            .is_some_and(|(_, at)| now - *at >= TEST_MAIL_WINDOW)
        {
            sent.pop_front();
        }
        let mine: Vec<DateTime<Utc>> = sent
            .iter()
            .filter(|(u, _)| *u == user)
            .map(|(_, at)| *at)
            .collect();
        let oldest_counted = if mine.len() >= TEST_MAILS_PER_USER {
            Some(mine[mine.len() - TEST_MAILS_PER_USER])
        } else if sent.len() >= TEST_MAILS_IN_ALL {
            Some(sent[sent.len() - TEST_MAILS_IN_ALL].1)
        } else {
            None
        };
        if let Some(oldest) = oldest_counted {
            return Err(oldest + TEST_MAIL_WINDOW - now);
        }
        sent.push_back((user, now));
        Ok(())
    }
}

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
    /// The service's or host's page.
    pub href: String,
    pub service_name: String,
    /// A reminder's number (`reminder #2`); empty for a flip's alert.
    pub purpose: String,
    pub reason: &'static str,
    pub reason_key: &'static str,
    /// What the job reported, for an error.
    pub data: Option<String>,
    pub state: AlertState,
}

/// The filters as the URL carries them, so a filtered view can be bookmarked and paged.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct AlertsQuery {
    before: Option<i64>,
    state: String,
    service: String,
    since: String,
    channel: String,
}

/// The choices of the time filter, in hours.
const SINCE: [(&str, i64); 3] = [("24h", 24), ("7d", 24 * 7), ("30d", 24 * 30)];

impl AlertsQuery {
    fn filter(&self, now: DateTime<Utc>) -> AlertFilter {
        let delivery = match self.state.as_str() {
            "sent" => Some(Delivery::Sent),
            "failed" => Some(Delivery::Failed),
            "retrying" => Some(Delivery::Retrying),
            "queued" => Some(Delivery::Queued),
            _ => None,
        };
        let service = self.service.trim();
        AlertFilter {
            delivery,
            service_id: ServiceId::parse(service).ok().map(|id| id.to_string()),
            channel_id: Some(self.channel.trim())
                .filter(|c| !c.is_empty() && c.len() <= 16)
                .map(str::to_owned),
            since_ms: SINCE
                .iter()
                .find(|(k, _)| *k == self.since)
                .map(|(_, h)| (now - Duration::hours(*h)).timestamp_millis()),
        }
    }

    /// The query string of this filter (without the page), for the pager's links.
    fn filter_query(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("state", &self.state),
            ("service", &self.service),
            ("since", &self.since),
            ("channel", &self.channel),
        ] {
            if !v.trim().is_empty() {
                parts.push(format!("{k}={}", super::http::encode(v.trim())));
            }
        }
        parts.join("&")
    }
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
    q: AlertsQuery,
    /// `&state=…` etc., appended to the pager's links.
    keep: String,
    states: [(&'static str, &'static str); 4],
    since: [(&'static str, &'static str); 3],
    /// The channel filter's choices: id and `name (kind)`.
    channels: Vec<(String, String)>,
}

impl AlertsPage<'_> {
    /// The first page of the same filter.
    fn newest_href(&self) -> String {
        match self.q.filter_query() {
            f if f.is_empty() => "/alerts".into(),
            f => format!("/alerts?{f}"),
        }
    }
}

async fn render(
    s: &SignedIn,
    status: StatusCode,
    q: AlertsQuery,
    to: String,
    test_result: Option<(bool, String)>,
) -> UiResult {
    let lang = s.lang;
    let t = lang.t();
    let db = &s.state.db;
    let now = s.now();
    let before = q.before;
    let mut page = views::alerts_page(db, &q.filter(now), before, PER_PAGE + 1)
        .await
        .lang(lang)?;
    let more = page.len() as u64 > PER_PAGE;
    page.truncate(PER_PAGE as usize);
    let older = if more {
        page.last().map(|(a, _)| a.id)
    } else {
        None
    };
    let mut ids: Vec<String> = page
        .iter()
        .filter_map(|(a, _)| a.service_id.clone())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let zones = views::service_zones(db, &ids).await.lang(lang)?;
    let mut tz_cache: HashMap<String, Tz> = HashMap::new();
    let default_tz = s.state.settings.timezone;
    let channels: Vec<(String, String)> = crate::app::channels::list(&s.state.app, &s.actor)
        .await
        .lang(lang)?
        .into_iter()
        .map(|m| {
            let label = format!("{} ({})", m.name, super::channels::kind_label(m.kind, t));
            (m.id, label)
        })
        .collect();
    let channel_label = |id: &str| {
        channels
            .iter()
            .find(|(c, _)| c == id)
            .map_or_else(|| id.to_owned(), |(_, l)| l.clone())
    };
    let rows = page
        .iter()
        .map(|(a, flip)| {
            let service_id = a.service_id.clone().unwrap_or_default();
            let tz = *tz_cache.entry(service_id.clone()).or_insert_with(|| {
                zones
                    .get(&service_id)
                    .and_then(|z| z.parse().ok())
                    .unwrap_or(default_tz)
            });
            let reason = flip.as_ref().map(|f| f.reason);
            let mut state = alert_state(a, tz, now, lang);
            if let Some(channel) = &a.channel_id {
                state.recipient = channel_label(channel);
            }
            let (href, fallback_name) = match &a.host_id {
                Some(host) if a.service_id.is_none() => (format!("/hosts/{host}"), host.clone()),
                _ => (format!("/services/{service_id}"), service_id.clone()),
            };
            AlertRow {
                created: When::from_ms(a.created_at, tz, now, lang),
                service_name: flip
                    .as_ref()
                    .map(|f| f.service_name.clone())
                    .unwrap_or(fallback_name),
                href,
                purpose: if a.purpose == crate::domain::alert::AlertPurpose::Reminder {
                    format!("{} #{}", t.reminder_no, a.seq)
                } else {
                    String::new()
                },
                reason: reason.map_or("", |r| lang.reason(r)),
                reason_key: reason.map_or("", Reason::as_str),
                data: flip
                    .as_ref()
                    .and_then(|f| f.data.clone())
                    .filter(|d| !d.is_empty()),
                state,
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
        status,
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
            keep: match q.filter_query() {
                f if f.is_empty() => f,
                f => format!("&{f}"),
            },
            q,
            states: [
                ("sent", t.state_sent),
                ("retrying", t.state_retrying),
                ("queued", t.state_queued),
                ("failed", t.state_failed),
            ],
            since: [("24h", t.last_24h), ("7d", t.last_7d), ("30d", t.last_30d)],
            channels,
        },
    )
}

pub async fn page(s: SignedIn, q: web::Query<AlertsQuery>) -> UiResult {
    let to = s.user.email.clone().unwrap_or_default();
    render(&s, StatusCode::OK, q.into_inner(), to, None).await
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
    let addr = match EmailAddress::parse(&to) {
        Err(e) => {
            let result = (false, s.lang.labelled(t.test_failed, &s.lang.problem(&e)));
            return render(&s, StatusCode::OK, AlertsQuery::default(), to, Some(result)).await;
        }
        Ok(addr) => addr,
    };
    if let Err(wait) = s.state.ui.test_mail.take(s.user.id, s.now()) {
        let seconds = wait.num_seconds().max(1).unsigned_abs();
        tracing::warn!(user = %s.user.name, "test email refused: rate limit");
        let result = (false, s.lang.test_mail_limited(seconds));
        let mut resp = render(
            &s,
            StatusCode::TOO_MANY_REQUESTS,
            AlertsQuery::default(),
            to,
            Some(result),
        )
        .await?;
        resp.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        return Ok(resp);
    }
    let result = match Mailer::from_settings(&s.state.settings) {
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
    };
    render(&s, StatusCode::OK, AlertsQuery::default(), to, Some(result)).await
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn test_mails_are_limited_per_user_and_in_all() {
        let limit = TestMailLimit::default();
        let t0 = Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap();
        for i in 0..TEST_MAILS_PER_USER {
            assert!(limit.take(1, t0 + Duration::seconds(i as i64)).is_ok());
        }
        assert_eq!(
            limit.take(1, t0 + Duration::seconds(10)),
            Err(Duration::seconds(50))
        );
        // Others still may, until everyone together reaches the overall limit.
        let mut user = 2;
        let mut sent = TEST_MAILS_PER_USER;
        while sent < TEST_MAILS_IN_ALL {
            if limit.take(user, t0 + Duration::seconds(10)).is_err() {
                user += 1;
                continue;
            }
            sent += 1;
        }
        assert!(limit.take(99, t0 + Duration::seconds(10)).is_err());
        assert!(limit.take(99, t0 + TEST_MAIL_WINDOW).is_ok());
    }
}
