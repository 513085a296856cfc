//! `/hosts/{id}`: the host's status and why, its latest values (refreshed every 5 s from
//! `/ui/hosts/{id}/live`), charts over 1 h to 30 d, thresholds in force, recent events and
//! flips, and its settings.
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::charts::{self, ChartView, Range};
use super::snapshot::{self, LiveView};
use super::values::{self, pct};
use crate::domain::host::{Checks, Threshold};
use crate::domain::{Tags, notify_from_column};
use crate::entity::hosts::Model;
use crate::store::host_reports::Latest;
use crate::store::hosts::{checks_of, ssh_of};
use crate::store::{host_events, host_live, hosts};
use crate::ui::format::When;
use crate::ui::i18n::Lang;
use crate::ui::live::fragment_response;
use crate::ui::page::{Chrome, InLang, UiError, UiResult};
use crate::ui::session::SignedIn;

const EVENTS_SHOWN: u64 = 10;
const FLIPS_SHOWN: u64 = 10;

#[derive(Debug, Default, Deserialize)]
pub struct HostQuery {
    #[serde(default)]
    range: String,
}

pub struct RangeLink {
    pub key: &'static str,
    pub label: String,
    pub active: bool,
}

/// A check in force: `CPU`, `> 90% for 5 min`.
pub struct CheckRow {
    pub label: String,
    pub rule: String,
}

pub struct EventView {
    pub when: When,
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub check: String,
    pub detail: String,
}

pub struct FlipView {
    pub when: When,
    pub from: &'static str,
    pub from_label: &'static str,
    pub to: &'static str,
    pub to_label: &'static str,
    pub reason: &'static str,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "host.html")]
struct HostPage<'a> {
    c: &'a Chrome,
    host: &'a Model,
    live_html: String,
    live_etag: String,
    status: &'static str,
    status_label: &'static str,
    ranges: Vec<RangeLink>,
    charts: Vec<ChartView>,
    checks: Vec<CheckRow>,
    events: Vec<EventView>,
    flips: Vec<FlipView>,
    tags: Vec<String>,
    notify: Vec<String>,
    interval: String,
    ssh: Vec<(&'static str, String)>,
    created: When,
    /// The discovered units: how many and when; `None`: none yet.
    units_found: Option<(usize, Option<When>)>,
    snooze: crate::ui::maintenance::SnoozeView,
}

fn rule(t: Threshold, lang: Lang, unit: &str) -> String {
    let limit = if unit == "%" {
        pct(t.limit)
    } else {
        format!(
            "{}{unit}",
            values::load(t.limit)
                .trim_end_matches('0')
                .trim_end_matches('.')
        )
    };
    lang.threshold_rule(&limit, &lang.duration(t.for_secs))
}

/// The checks in force, in words.
pub fn check_rows(c: &Checks, lang: Lang) -> Vec<CheckRow> {
    let t = lang.t();
    let mut out = Vec::new();
    let mut one = |label: &str, th: Option<Threshold>, unit: &str| {
        out.push(CheckRow {
            label: label.to_owned(),
            rule: th.map_or_else(|| t.not_checked.to_owned(), |th| rule(th, lang, unit)),
        });
    };
    one(t.col_cpu, c.cpu_pct, "%");
    one(t.col_mem, c.mem_pct, "%");
    one(t.swap, c.swap_pct, "%");
    one(t.disk_any_mount, c.disk_pct, "%");
    for (mount, th) in &c.disk_mounts {
        one(&format!("{} {mount}", t.col_disk), Some(*th), "%");
    }
    one(t.gpu_util, c.gpu_util_pct, "%");
    one(t.gpu_mem, c.gpu_mem_pct, "%");
    one(t.gpu_temp, c.gpu_temp_c, " °C");
    one(t.load_per_core, c.load_per_core, "");
    for p in &c.processes {
        out.push(CheckRow {
            label: t.required_process.to_owned(),
            rule: lang.process_rule(&p.pattern, p.regex, p.min),
        });
    }
    for u in &c.units {
        out.push(CheckRow {
            label: t.watched_unit.to_owned(),
            rule: lang.unit_rule(u),
        });
    }
    out
}

/// A host's latest snapshot: from memory when fresh, else from the database.
async fn latest(s: &SignedIn, m: &Model) -> Result<Option<Latest>, UiError> {
    let mut map = host_live::latest_of(&s.state.db, &s.state.app.live, std::slice::from_ref(m))
        .await
        .lang(s.lang)?;
    Ok(map.remove(&m.id))
}

/// The live part of the page, rendered, and its version.
fn live_part(
    s: &SignedIn,
    m: &Model,
    latest: Option<&Latest>,
) -> Result<(String, String), UiError> {
    let view: LiveView = snapshot::live_view(m, latest, s.lang, s.state.settings.timezone, s.now());
    let html = view.render().map_err(|e| {
        let mut e = UiError::from(e);
        e.lang = s.lang;
        e
    })?;
    let mut h = Sha256::new();
    h.update(html.as_bytes());
    let etag = format!("\"{}\"", hex::encode(&h.finalize()[..12]));
    Ok((html, etag))
}

#[tracing::instrument(skip_all, fields(id = %id))]
pub async fn page(s: SignedIn, id: web::Path<String>, q: web::Query<HostQuery>) -> UiResult {
    let lang = s.lang;
    let t = lang.t();
    let db = &s.state.db;
    let tz = s.state.settings.timezone;
    let now = s.now();
    let m = hosts::get(db, &id).await.lang(lang)?;
    let checks = checks_of(&m);
    let latest = latest(&s, &m).await?;
    let (live_html, live_etag) = live_part(&s, &m, latest.as_ref())?;
    let report = latest
        .as_ref()
        .and_then(values::report_of)
        .filter(|r| r.error.is_none());
    let range = Range::parse(q.range.trim());
    let charts = charts::charts(&s.state, &m.id, report.as_ref(), &checks, range, lang, tz)
        .await
        .lang(lang)?;
    let events = host_events::events(db, Some(&m.id), None, EVENTS_SHOWN)
        .await
        .lang(lang)?
        .into_iter()
        .map(|e| EventView {
            when: When::from_ms(e.at, tz, now, lang),
            kind: e.kind.as_str(),
            kind_label: lang.event_kind(e.kind),
            check: e.check_key.unwrap_or_default(),
            detail: e.detail.unwrap_or_default(),
        })
        .collect();
    let flips = host_events::flips(db, &m.id, FLIPS_SHOWN)
        .await
        .lang(lang)?
        .into_iter()
        .map(|f| FlipView {
            when: When::from_ms(f.at, tz, now, lang),
            from: f.from_status.as_str(),
            from_label: lang.host_status(f.from_status),
            to: f.to_status.as_str(),
            to_label: lang.host_status(f.to_status),
            reason: lang.host_reason(f.reason),
            detail: f.detail.unwrap_or_default(),
        })
        .collect();
    let ssh = ssh_of(&m);
    let ssh = [
        (t.ssh_user, ssh.user),
        (t.ssh_port, ssh.port.map(|p| p.to_string())),
        (t.ssh_key, ssh.key),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k, v?)))
    .collect();
    let units_found = hosts::discovered_units(db, &m.id)
        .await
        .lang(lang)?
        .map(|(json, at)| {
            let n = serde_json::from_str::<Vec<serde_json::Value>>(&json).map_or(0, |l| l.len());
            (n, at.map(|ms| When::from_ms(ms, tz, now, lang)))
        });
    let c = s.chrome("hosts");
    s.render(
        StatusCode::OK,
        &HostPage {
            units_found,
            c: &c,
            live_html,
            live_etag,
            status: m.status.as_str(),
            status_label: lang.host_status(m.status),
            ranges: Range::ALL
                .into_iter()
                .map(|r| RangeLink {
                    key: r.key(),
                    label: lang.range_label(r.key()),
                    active: r == range,
                })
                .collect(),
            charts,
            checks: check_rows(&checks, lang),
            events,
            flips,
            tags: Tags::from_column(&m.tags).into_vec(),
            notify: notify_from_column(&m.notify),
            interval: lang.duration(m.interval_secs),
            ssh,
            created: snapshot::created(&m, lang, tz, now),
            snooze: crate::ui::maintenance::SnoozeView::new(
                format!("/hosts/{}/snooze", m.id),
                s.actor.may(crate::domain::role::Action::EditHosts),
                m.snoozed_until,
                tz,
                now,
                lang,
            ),
            host: &m,
        },
    )
}

/// `GET /ui/hosts/{id}/live`: the status and latest values, for the page's refresh.
#[tracing::instrument(skip_all, fields(id = %id))]
pub async fn live(req: HttpRequest, s: SignedIn, id: web::Path<String>) -> UiResult {
    let m = hosts::get(&s.state.db, &id).await.lang(s.lang)?;
    let latest = latest(&s, &m).await?;
    let (html, etag) = live_part(&s, &m, latest.as_ref())?;
    Ok(fragment_response(&req, &etag, web::Bytes::from(html)))
}
