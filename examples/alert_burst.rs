//! 1,000 services fall due at once: how long until a loopback SMTP server has accepted
//! every alert? Run by `bench/alerts.sh`, which starts the SMTP server.
//!
//!   cargo run --release --example alert_burst -- <smtp-port> [services]
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, Utc};
use heartbeats::clock::{Clock, ManualClock};
use heartbeats::domain::schedule::Schedule;
use heartbeats::domain::status::PingKind;
use heartbeats::domain::{Tags, parse_notify};
use heartbeats::jobs::Job;
use heartbeats::settings::Settings;
use heartbeats::startup::{Application, BuildOptions};
use heartbeats::store::pings::PingRecord;
use heartbeats::store::services::{self, NewService};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let smtp_port: u16 = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: alert_burst <smtp-port> [services]"))?
        .parse()?;
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1000);
    let dir = tempfile::tempdir()?;
    let vars: HashMap<String, String> = [
        ("HB_LISTEN", "127.0.0.1:0".to_string()),
        (
            "DATABASE_URL",
            format!("sqlite://{}/hb.db", dir.path().display()),
        ),
        ("HB_ADMIN_PASSWORD", "bench-password".into()),
        ("SMTP_HOST", "127.0.0.1".into()),
        ("SMTP_PORT", smtp_port.to_string()),
        ("SMTP_TLS", "none".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let clock = ManualClock::new(Utc::now());
    let app = Application::build(
        Settings::from_vars(&vars)?,
        BuildOptions {
            clock: Arc::new(clock.clone()),
            ..Default::default()
        },
    )
    .await?;
    let db = app.state.db.clone();
    let notify = parse_notify(&["ops@example.com"])?;
    for i in 0..n {
        let new = NewService {
            name: format!("burst-{i:05}"),
            schedule: Schedule::Interval {
                period: Duration::seconds(60),
            },
            timezone: chrono_tz::UTC,
            grace_secs: 60,
            tags: Tags::default(),
            notify: notify.clone(),
        };
        let row = services::create(&db, new, clock.now()).await?;
        app.state
            .writer
            .submit(PingRecord {
                service_id: row.id,
                kind: PingKind::Success,
                data: String::new(),
                source: None,
                user_agent: None,
                at: clock.now(),
            })
            .await?;
    }
    let scheduler = app.scheduler();
    let outbox = app.outbox()?;
    let now = clock.advance(Duration::minutes(3));

    let start = Instant::now();
    let flipped = scheduler.run_once(now).await?;
    let flip_time = start.elapsed();
    let delivered = outbox.run_once(now).await?;
    let total = start.elapsed();
    println!(
        "RESULT services={n} flips={} alerts_queued={} sent={} failed={} retrying={} flip_ms={:.0} all_accepted_ms={:.0}",
        flipped.flips,
        flipped.alerts_queued,
        delivered.sent,
        delivered.failed,
        delivered.retrying,
        flip_time.as_secs_f64() * 1000.0,
        total.as_secs_f64() * 1000.0
    );
    Ok(())
}
