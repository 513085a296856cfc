//! `GET /metrics` (also `/metrics/prometheus`): services, hosts and the server's own
//! counters in the Prometheus text format. On the main port it needs an API key (or user)
//! that may read, or `Bearer <HB_METRICS_TOKEN>`; on `HB_METRICS_LISTEN` it needs nothing.
//!
//! Services are read once, in pages by primary key, and the body is streamed: the format
//! wants each family's samples together, so `hb_service_up` goes out as the pages come
//! while a small record of each service is set aside (`spill`: a buffer, then an unlinked
//! file in `HB_DATA_DIR`), from which the other per-service families follow. No scrape
//! holds more than a page of services and the spill buffer in memory.
mod spill;
mod text;

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use chrono::{DateTime, Utc};
use subtle::ConstantTimeEq;
use tokio::sync::mpsc;

use super::{Caller, app_error_response};
use crate::app::AppError;
use crate::domain::host::HostStatus;
use crate::domain::role::Action;
use crate::domain::status::Status;
use crate::state::AppState;
use crate::store::StoreResult;
use crate::store::metrics::{self as store, HOST_PAGE, SERVICE_PAGE, ServiceRow};
use crate::telemetry::counters;
use spill::{Record, Spill};
use text::{family, sample, sample_spelled};

const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A chunk of the body is sent once it is this large.
const CHUNK: usize = 64 * 1024;

/// The main port's routes: with credentials.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(scrape))
        .route("/metrics/prometheus", web::get().to(scrape));
}

/// `HB_METRICS_LISTEN`'s routes: the address is the protection.
pub fn configure_open(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(scrape_open))
        .route("/metrics/prometheus", web::get().to(scrape_open));
}

#[tracing::instrument(skip_all)]
async fn scrape(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !token_matches(&req, state.settings.metrics_token.as_deref()) {
        match Caller::extract(&req).await {
            Err(rejection) => return rejection.error_response(),
            Ok(caller) => {
                if let Err(e) = caller.may(Action::Read) {
                    return app_error_response(&e);
                }
            }
        }
    }
    respond(&state).await
}

#[tracing::instrument(skip_all)]
async fn scrape_open(state: web::Data<AppState>) -> HttpResponse {
    respond(&state).await
}

/// `Authorization: Bearer <HB_METRICS_TOKEN>`, compared in constant time.
fn token_matches(req: &HttpRequest, token: Option<&str>) -> bool {
    let Some(token) = token else { return false };
    let Some(sent) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
    else {
        return false;
    };
    sent.len() == token.len() && bool::from(sent.as_bytes().ct_eq(token.as_bytes()))
}

async fn respond(state: &AppState) -> HttpResponse {
    let now = state.clock.now();
    // What is small is read before answering, so that an unavailable database is a 503
    // rather than a cut-off body.
    let head = match head(state, now).await {
        Ok(head) => head,
        Err(e) => return app_error_response(&AppError::Store(e)),
    };
    let spill = match Spill::create(&state.settings.data_dir) {
        Ok(spill) => spill,
        Err(e) => {
            let e = anyhow::Error::new(e).context("metrics: no spill file in HB_DATA_DIR");
            return app_error_response(&AppError::Other(e));
        }
    };
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    let db = state.db.clone();
    actix_web::rt::spawn(async move {
        if tx.send(Ok(Bytes::from(head))).await.is_err() {
            return;
        }
        if let Err(e) = services(&db, now, spill, &tx).await {
            tracing::error!(error = %format!("{e:#}"), "metrics scrape failed part-way");
            // An error ends the response without its last chunk: the scraper sees a
            // failed scrape, not a partial one.
            let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
        }
    });
    let body = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body)
}

/// The server's counters, the outbox and every host.
async fn head(state: &AppState, now: DateTime<Utc>) -> StoreResult<String> {
    let mut out = String::with_capacity(16 * 1024);
    let c = counters::snapshot();
    family(
        &mut out,
        "hb_pings_accepted_total",
        "counter",
        "Pings stored since this server started.",
    );
    sample(&mut out, "hb_pings_accepted_total", &[], c.pings_accepted);

    let channels = store::channel_names(&state.db).await?;
    let label = |id: &Option<String>| -> (String, String, String) {
        match id {
            None => ("".into(), "email".into(), "notify addresses".into()),
            Some(id) => match channels.get(id) {
                Some((name, kind)) => (id.clone(), kind.as_str().into(), name.clone()),
                None => (id.clone(), "unknown".into(), "(deleted)".into()),
            },
        }
    };
    for (name, help, sent) in [
        (
            "hb_alerts_sent_total",
            "Alerts delivered since this server started, by channel (channel_id empty: mail to notify addresses).",
            true,
        ),
        (
            "hb_alerts_failed_total",
            "Alert deliveries that failed since this server started (retried or given up), by channel.",
            false,
        ),
    ] {
        family(&mut out, name, "counter", help);
        for (id, d) in &c.alerts {
            let (id, kind, channel) = label(id);
            let n = if sent { d.sent } else { d.failed };
            sample(
                &mut out,
                name,
                &[("channel_id", &id), ("kind", &kind), ("channel", &channel)],
                n,
            );
        }
    }

    let (pending, held) = store::outbox_backlog(&state.db).await?;
    family(
        &mut out,
        "hb_outbox_backlog",
        "gauge",
        "Alerts waiting in the outbox: pending (to send now or at their retry time) and held (snoozed, in maintenance, or throttled).",
    );
    sample(
        &mut out,
        "hb_outbox_backlog",
        &[("state", "pending")],
        pending,
    );
    sample(&mut out, "hb_outbox_backlog", &[("state", "held")], held);

    family(
        &mut out,
        "hb_scheduler_lag_seconds",
        "gauge",
        "How late the scheduler's last read found the most overdue service (0: none was overdue).",
    );
    if let Some(ms) = c.scheduler_lag_ms {
        sample(
            &mut out,
            "hb_scheduler_lag_seconds",
            &[],
            ms as f64 / 1000.0,
        );
    }
    family(
        &mut out,
        "hb_scheduler_reads_total",
        "counter",
        "Times the scheduler read its due services since this server started.",
    );
    sample(&mut out, "hb_scheduler_reads_total", &[], c.scheduler_reads);

    hosts(state, now, &mut out).await?;
    Ok(out)
}

/// A host's values from its latest report.
struct HostRow {
    id: String,
    name: String,
    status: HostStatus,
    report_age: Option<f64>,
    cpu: Option<f64>,
    mem: Option<f64>,
    disks: Vec<(String, f64)>,
    /// Index, utilisation %, memory %.
    gpus: Vec<(String, Option<f64>, Option<f64>)>,
}

type HostValue = fn(&HostRow) -> Option<f64>;

async fn hosts(state: &AppState, now: DateTime<Utc>, out: &mut String) -> StoreResult<()> {
    let mut rows: Vec<HostRow> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let (page, latest) =
            store::hosts_page(&state.db, &state.app.live, after.as_deref(), HOST_PAGE).await?;
        let full = page.len() as u64 == HOST_PAGE;
        after = page.last().map(|h| h.id.clone());
        for h in page {
            let report = latest
                .get(&h.id)
                .and_then(|l| {
                    serde_json::from_str::<heartbeats_wire::hosts::HostReport>(&l.json).ok()
                })
                .filter(|r| r.error.is_none());
            let snap = report.as_ref().map(crate::app::reports::snapshot_of);
            rows.push(HostRow {
                report_age: h
                    .last_report_at
                    .map(|at| (now.timestamp_millis() - at).max(0) as f64 / 1000.0),
                cpu: snap.as_ref().and_then(|s| s.cpu_pct),
                mem: snap.as_ref().and_then(|s| s.mem_pct),
                disks: snap
                    .as_ref()
                    .and_then(|s| s.disks.clone())
                    .unwrap_or_default(),
                gpus: snap
                    .and_then(|s| s.gpus)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|g| (g.index.to_string(), g.util_pct, g.mem_pct))
                    .collect(),
                id: h.id,
                name: h.name,
                status: h.status,
            });
        }
        if !full {
            break;
        }
    }

    let mut counts: BTreeMap<&str, u64> = HostStatus::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    for h in &rows {
        *counts.entry(h.status.as_str()).or_default() += 1;
    }
    family(out, "hb_hosts", "gauge", "Hosts by status.");
    for (status, n) in &counts {
        sample(out, "hb_hosts", &[("status", status)], *n);
    }

    family(
        out,
        "hb_host_online",
        "gauge",
        "1 while a host reports in time (up or degraded), 0 when down, new or paused.",
    );
    for h in &rows {
        let online = matches!(h.status, HostStatus::Up | HostStatus::Degraded);
        sample(
            out,
            "hb_host_online",
            &[("id", &h.id), ("name", &h.name)],
            online,
        );
    }
    family(
        out,
        "hb_host_status",
        "gauge",
        "A host's current status (new, up, degraded, down, paused) as a label; always 1.",
    );
    for h in &rows {
        sample(
            out,
            "hb_host_status",
            &[
                ("id", &h.id),
                ("name", &h.name),
                ("status", h.status.as_str()),
            ],
            1u64,
        );
    }
    family(
        out,
        "hb_host_last_report_age_seconds",
        "gauge",
        "Seconds since a host's last report.",
    );
    for h in &rows {
        if let Some(age) = h.report_age {
            sample(
                out,
                "hb_host_last_report_age_seconds",
                &[("id", &h.id), ("name", &h.name)],
                age,
            );
        }
    }
    let values: [(&str, &str, HostValue); 2] = [
        (
            "hb_host_cpu_percent",
            "Busy share of all cores in a host's latest report, percent.",
            |h| h.cpu,
        ),
        (
            "hb_host_memory_percent",
            "Memory used in a host's latest report, percent.",
            |h| h.mem,
        ),
    ];
    for (name, help, get) in values {
        family(out, name, "gauge", help);
        for h in &rows {
            if let Some(v) = get(h) {
                sample(out, name, &[("id", &h.id), ("name", &h.name)], v);
            }
        }
    }
    family(
        out,
        "hb_host_disk_used_percent",
        "gauge",
        "Space used per mount in a host's latest report, percent.",
    );
    for h in &rows {
        for (mount, pct) in &h.disks {
            sample(
                out,
                "hb_host_disk_used_percent",
                &[("id", &h.id), ("name", &h.name), ("mount", mount)],
                *pct,
            );
        }
    }
    for (name, help, util) in [
        (
            "hb_host_gpu_utilization_percent",
            "GPU utilisation per GPU in a host's latest report, percent.",
            true,
        ),
        (
            "hb_host_gpu_memory_percent",
            "GPU memory used per GPU in a host's latest report, percent.",
            false,
        ),
    ] {
        family(out, name, "gauge", help);
        for h in &rows {
            for (gpu, u, m) in &h.gpus {
                if let Some(v) = if util { u } else { m } {
                    sample(
                        out,
                        name,
                        &[("id", &h.id), ("name", &h.name), ("gpu", gpu)],
                        *v,
                    );
                }
            }
        }
    }
    Ok(())
}

/// `hb_service_up`, the family written as the services are read.
const SERVICE_UP: (&str, &str) = (
    "hb_service_up",
    "0 while a service is down, else 1 (late, new and paused services are not down).",
);

/// A per-service family written from the set-aside records: its name, help and the
/// sample a record gives.
struct ServiceFamily {
    name: &'static str,
    help: &'static str,
    write: fn(&mut String, &Record, DateTime<Utc>),
}

const SERVICE_FAMILIES: [ServiceFamily; 4] = [
    ServiceFamily {
        name: "hb_service_status",
        help: "A service's current status (new, up, late, down, paused) as a label; always 1.",
        write: |out, r, _| {
            sample_spelled(
                out,
                "hb_service_status",
                &r.spelled,
                &[("status", r.status.as_str())],
                1u64,
            )
        },
    },
    ServiceFamily {
        name: "hb_service_paused",
        help: "1 while a service is paused, else 0.",
        write: |out, r, _| {
            sample_spelled(
                out,
                "hb_service_paused",
                &r.spelled,
                &[],
                r.status == Status::Paused,
            )
        },
    },
    ServiceFamily {
        name: "hb_service_last_ping_age_seconds",
        help: "Seconds since a service's last ping (absent: never pinged).",
        write: |out, r, now| {
            if let Some(at) = r.last_ping_at {
                sample_spelled(
                    out,
                    "hb_service_last_ping_age_seconds",
                    &r.spelled,
                    &[],
                    (now.timestamp_millis() - at).max(0) as f64 / 1000.0,
                )
            }
        },
    },
    ServiceFamily {
        name: "hb_service_last_run_duration_seconds",
        help: "How long a service's last finished run took, from its start ping to its success or failure (absent: no finished run).",
        write: |out, r, _| {
            if let Some(ms) = r.last_run_ms {
                sample_spelled(
                    out,
                    "hb_service_last_run_duration_seconds",
                    &r.spelled,
                    &[],
                    ms as f64 / 1000.0,
                )
            }
        },
    },
];

type Sender = mpsc::Sender<Result<Bytes, std::io::Error>>;

/// Send `out` when it is large enough (or `force`); `Err` when the client went away.
async fn flush(out: &mut String, tx: &Sender, force: bool) -> Result<(), ()> {
    if out.len() >= CHUNK || (force && !out.is_empty()) {
        let chunk = std::mem::take(out);
        tx.send(Ok(Bytes::from(chunk))).await.map_err(|_| ())?;
    }
    Ok(())
}

/// [`flush`] from a blocking thread.
fn flush_blocking(out: &mut String, tx: &Sender, force: bool) -> Result<(), ()> {
    if out.len() >= CHUNK || (force && !out.is_empty()) {
        let chunk = std::mem::take(out);
        tx.blocking_send(Ok(Bytes::from(chunk))).map_err(|_| ())?;
    }
    Ok(())
}

/// The per-service families from one pass over the services: `hb_service_up` is written
/// as the pages come, each service's record is set aside in `spill`, and the other
/// families are then written from the records, one after the other, followed by the
/// counts by status.
async fn services(
    db: &sea_orm::DatabaseConnection,
    now: DateTime<Utc>,
    mut spill: Spill,
    tx: &Sender,
) -> anyhow::Result<()> {
    let mut out = String::with_capacity(CHUNK * 2);
    let mut spelled = String::new();
    let mut counts = [0u64; Status::ALL.len()];
    family(&mut out, SERVICE_UP.0, "gauge", SERVICE_UP.1);
    // The next page is read while this one is written: the database (SQLite's own
    // thread, or the server) and the formatting overlap.
    let (pages_tx, mut pages) = mpsc::channel::<StoreResult<Vec<ServiceRow>>>(1);
    let reader_db = db.clone();
    actix_web::rt::spawn(async move {
        let mut after: Option<String> = None;
        loop {
            match store::services_page(&reader_db, after.as_deref(), SERVICE_PAGE).await {
                Err(e) => {
                    let _ = pages_tx.send(Err(e)).await;
                    return;
                }
                Ok(page) => {
                    if pages_tx.send(Ok(page.rows)).await.is_err() {
                        return;
                    }
                    match page.next {
                        Some(next) => after = Some(next),
                        None => return,
                    }
                }
            }
        }
    });
    while let Some(page) = pages.recv().await {
        for r in &page? {
            spelled.clear();
            text::labels(&mut spelled, &[("id", &r.id), ("name", &r.name)]);
            sample_spelled(
                &mut out,
                SERVICE_UP.0,
                &spelled,
                &[("tags", r.tags.trim_matches(','))],
                r.status != Status::Down,
            );
            spill.push(&spelled, r.status, r.last_ping_at, r.last_run_ms);
            counts[status_index(r.status)] += 1;
        }
        if flush(&mut out, tx, false).await.is_err() {
            return Ok(());
        }
        if spill.is_full() {
            spill.write_out().await?;
        }
    }
    let tx = tx.clone();
    tokio::task::spawn_blocking(move || the_rest(out, spill, now, counts, &tx)).await?
}

fn status_index(status: Status) -> usize {
    Status::ALL
        .iter()
        .position(|s| *s == status)
        .expect("a status is in Status::ALL")
}

/// The families after `hb_service_up`, each a read of the records, then `hb_services`
/// (blocking: file reads).
fn the_rest(
    mut out: String,
    spill: Spill,
    now: DateTime<Utc>,
    counts: [u64; Status::ALL.len()],
    tx: &Sender,
) -> anyhow::Result<()> {
    let mut reader = spill.reader()?;
    let mut rec = Record::default();
    for fam in &SERVICE_FAMILIES {
        family(&mut out, fam.name, "gauge", fam.help);
        reader.rewind()?;
        while reader.next_into(&mut rec)? {
            (fam.write)(&mut out, &rec, now);
            if flush_blocking(&mut out, tx, false).is_err() {
                return Ok(());
            }
        }
    }
    family(&mut out, "hb_services", "gauge", "Services by status.");
    for (status, n) in Status::ALL.iter().zip(counts) {
        sample(&mut out, "hb_services", &[("status", status.as_str())], n);
    }
    let _ = flush_blocking(&mut out, tx, true);
    Ok(())
}
