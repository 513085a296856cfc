//! The ping writer's own cost, without HTTP: `store::pings::write_batch` on a SQLite file
//! with 1,000 interval services, batches of 1 to `size` success pings by ping UUID, as
//! `POST /ping/<uuid>` sends them. Prints the time per ping and per batch, so a change
//! to the writer can be judged in seconds rather than through a whole wrk run
//! (`bench/ping_writer.sh`).
//!
//!   cargo run --release --example ping_writer -- <sqlite-url> [batch size] [batches] [full|normal]
use std::time::Instant;

use chrono::{Duration, Utc};
use heartbeats::domain::schedule::Schedule;
use heartbeats::domain::status::{PingKind, Tracking};
use heartbeats::domain::{Tags, parse_notify};
use heartbeats::settings::{DEFAULT_DB_TIMEOUT, SqliteSync};
use heartbeats::store::pings::{PingRecord, PingTarget, write_batch};
use heartbeats::store::service_import::import;
use heartbeats::store::services::NewService;
use sea_orm::{EntityTrait, QuerySelect};

const SERVICES: usize = 1000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or_else(|| {
        anyhow::anyhow!("usage: ping_writer <sqlite-url> [batch size] [batches] [full|normal]")
    })?;
    let size: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(64);
    let batches: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(500);
    let sync = match args.next().as_deref() {
        None | Some("full") => SqliteSync::Full,
        Some("normal") => SqliteSync::Normal,
        Some(other) => anyhow::bail!("sync must be full or normal, not {other}"),
    };
    let db = heartbeats::db::connect(&url, sync).await?;
    heartbeats::db::migrate(&db).await?;
    let now = Utc::now();
    let items = (0..SERVICES)
        .map(|i| {
            let new = NewService {
                grace_secs: 300,
                tags: Tags::parse(&["bench"])?,
                notify: parse_notify(&["ops@example.com"])?,
                ..NewService::new(
                    format!("bench-{i:04}"),
                    Schedule::interval(Duration::hours(1))?,
                )
            };
            Ok((new, Tracking::new_service()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    import(&db, items, now).await?;
    let uuids: Vec<String> = heartbeats::entity::services::Entity::find()
        .select_only()
        .column(heartbeats::entity::services::Column::PingUuid)
        .into_tuple()
        .all(&db)
        .await?;

    // HB_BENCH_SHARED_POOL=1: write through the shared pool, as before the writer had a
    // connection of its own.
    let (writer, log_sync) = if std::env::var_os("HB_BENCH_SHARED_POOL").is_some() {
        (db.clone(), None)
    } else {
        let w = heartbeats::db::connect_writer(&url, sync, DEFAULT_DB_TIMEOUT, &db).await?;
        (w.db, w.log_sync)
    };
    // With a log sync (full), a batch is done when the disk confirms it, while the writer
    // goes on, as in the server: the throughput counts until the last confirmation.
    let mut confirmations = Vec::new();
    heartbeats::db::spawn_checkpointer(&url, &db, &writer);
    let mut n = 0usize;
    let mut times = Vec::with_capacity(batches);
    let started = Instant::now();
    let mut pings = 0usize;
    for b in 0..batches {
        // Batch sizes vary under load: from 1 to `size`, as a server's batches do.
        let this = 1 + (b * 7919) % size;
        let records: Vec<PingRecord> = (0..this)
            .map(|_| {
                n += 1;
                PingRecord {
                    target: PingTarget::Uuid(uuids[n % uuids.len()].clone()),
                    kind: PingKind::Success,
                    data: String::new(),
                    source: Some("127.0.0.1".into()),
                    user_agent: Some("wrk".into()),
                    at: Utc::now(),
                    rid: None,
                    exit_status: None,
                }
            })
            .collect();
        pings += records.len();
        let t = Instant::now();
        let results = write_batch(&writer, &records).await?;
        times.push(t.elapsed());
        if let Some(sync) = &log_sync {
            let sync = sync.clone();
            confirmations.push(tokio::spawn(async move { sync.committed().await }));
        }
        anyhow::ensure!(
            results.iter().all(|r| r.is_ok()),
            "a ping was refused: {:?}",
            results.iter().find(|r| r.is_err())
        );
    }
    for c in confirmations {
        c.await?
            .map_err(|e| anyhow::anyhow!("the log sync failed: {e}"))?;
    }
    let total = started.elapsed();
    times.sort();
    let pct = |p: f64| times[((times.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e3;
    println!(
        "RESULT batch=1..{size} batches={batches} us_per_ping={:.1} batch_ms_p50={:.2} batch_ms_p99={:.2} pings_per_s={:.0}",
        times.iter().map(|d| d.as_secs_f64()).sum::<f64>() * 1e6 / pings as f64,
        pct(0.5),
        pct(0.99),
        pings as f64 / total.as_secs_f64(),
    );
    Ok(())
}
