//! Fill a database with many services for `bench/scale.sh`, through the store's bulk
//! import: interval, daily and cron schedules in several zones, 1–4 tags each from a
//! vocabulary of 40, and statuses as the scheduler would leave them (about 3% never
//! pinged, 1% paused, 0.5% down, 1% late, the rest up).
//!
//!   cargo run --release --example scale_fill -- <database-url> [services]
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use heartbeats::domain::schedule::Schedule;
use heartbeats::domain::status::{self, PingKind, Status, Timing, Tracking};
use heartbeats::domain::{Tags, parse_notify};
use heartbeats::settings::SqliteSync;
use heartbeats::store::service_import::import;
use heartbeats::store::services::NewService;

const TAGS: [&str; 40] = [
    "db", "backup", "prod", "staging", "cert", "sync", "gpu", "agent", "etl", "report", "web",
    "api", "queue", "cache", "mail", "dns", "k8s", "batch", "nightly", "hourly", "ml", "train",
    "infra", "billing", "room:725", "room:301", "shanghai", "beijing", "edge", "cdn", "search",
    "log", "metrics", "vpn", "ldap", "ftp", "nas", "redis", "mysql", "kafka",
];
const APPS: [&str; 16] = [
    "orders", "billing", "users", "search", "images", "reports", "payroll", "crm", "wiki", "git",
    "ci", "chat", "maps", "shop", "auth", "ledger",
];
const JOBS: [&str; 12] = [
    "backup",
    "cleanup",
    "sync",
    "export",
    "import",
    "rotate-logs",
    "renew-cert",
    "reindex",
    "vacuum",
    "snapshot",
    "train",
    "report",
];
const ZONES: [chrono_tz::Tz; 4] = [
    chrono_tz::Asia::Shanghai,
    chrono_tz::Asia::Shanghai,
    chrono_tz::UTC,
    chrono_tz::Europe::Berlin,
];
const BATCH: usize = 10_000;

/// A cheap, fixed pseudo-random number per (service, purpose).
fn mix(i: usize, salt: u64) -> u64 {
    let mut x = (i as u64).wrapping_add(salt.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    x ^= x >> 30;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn service(i: usize, now: DateTime<Utc>) -> anyhow::Result<(NewService, Tracking)> {
    let env = ["prod", "staging", "dev"][(mix(i, 1) % 3) as usize];
    let app = APPS[(mix(i, 2) % APPS.len() as u64) as usize];
    let job = JOBS[(mix(i, 3) % JOBS.len() as u64) as usize];
    let name = format!("{env}-{app}-{job} {i:07}");
    let roll = mix(i, 4) % 1000;
    let late = (45..55).contains(&roll);
    // Periods of hours and a grace of hours: few deadlines pass while the benchmark runs,
    // as on a real server between bursts, so that it measures the list and not a storm
    // of flips the filling itself set up.
    let schedule = match mix(i, 5) % 10 {
        _ if late => Schedule::interval(Duration::hours(1))?,
        0..=4 => Schedule::interval(Duration::minutes(60 + (mix(i, 6) % 1380) as i64))?,
        5..=7 => Schedule::daily(&format!("{:02}:{:02}", mix(i, 7) % 24, mix(i, 8) % 60))?,
        _ => Schedule::cron(&format!("{} {} * * 1-5", mix(i, 9) % 60, mix(i, 10) % 24))?,
    };
    let mut tags: Vec<&str> = Vec::new();
    for k in 0..1 + mix(i, 11) % 4 {
        let tag = TAGS[(mix(i, 12 + k) % TAGS.len() as u64) as usize];
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    let tz = ZONES[(mix(i, 20) % ZONES.len() as u64) as usize];
    let grace = if late {
        Duration::hours(12)
    } else {
        Duration::minutes(30 + (mix(i, 21) % 330) as i64)
    };
    let new = NewService {
        timezone: tz,
        grace_secs: grace.num_seconds(),
        tags: Tags::parse(&tags)?,
        notify: parse_notify(&["ops@example.com"])?,
        ..NewService::new(name, schedule.clone())
    };
    let timing = Timing {
        schedule: &schedule,
        tz,
        grace,
    };
    let ping = |at: DateTime<Utc>, data: &str| {
        status::on_ping(
            &Tracking::new_service(),
            &timing,
            PingKind::from_data(data),
            data,
            at,
        )
        .0
    };
    let mut tracking = match roll {
        0..=29 => Tracking::new_service(),
        30..=39 => {
            status::paused(
                &ping(now - Duration::hours(30), ""),
                now - Duration::hours(1),
            )
            .0
        }
        40..=44 => ping(now - Duration::minutes(3), "backup failed: disk full"),
        _ if late => {
            let Schedule::Interval { period } = schedule else {
                unreachable!("late services are interval services")
            };
            ping(now - period - Duration::hours(1), "")
        }
        _ => ping(now - Duration::seconds((mix(i, 22) % 600) as i64), ""),
    };
    // What the scheduler would have made of it by now.
    while let Some((next, _)) = status::on_tick(&tracking, now) {
        tracking = next;
    }
    Ok((new, tracking))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: scale_fill <database-url> [services]"))?;
    let n: usize = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let db = heartbeats::db::connect(&url, SqliteSync::Normal).await?;
    heartbeats::db::migrate(&db).await?;
    let now = Utc::now();
    let started = Instant::now();
    let mut counts = [0usize; 5];
    for first in (0..n).step_by(BATCH) {
        let items = (first..(first + BATCH).min(n))
            .map(|i| service(i, now))
            .collect::<anyhow::Result<Vec<_>>>()?;
        for (_, t) in &items {
            counts[Status::ALL.iter().position(|s| *s == t.status).unwrap_or(0)] += 1;
        }
        import(&db, items, now).await?;
        if (first / BATCH) % 10 == 9 {
            eprintln!(
                "  {} services, {:.0} s",
                first + BATCH,
                started.elapsed().as_secs_f64()
            );
        }
    }
    println!(
        "filled {n} services in {:.1} s: {}",
        started.elapsed().as_secs_f64(),
        Status::ALL
            .iter()
            .zip(counts)
            .map(|(s, c)| format!("{s} {c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}
