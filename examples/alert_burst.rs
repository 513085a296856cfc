//! 1,000 services fall due at once: how long until a loopback SMTP server has accepted
//! every alert, and, with a webhook URL, a loopback webhook receiver every message? Run by
//! `bench/alerts.sh` (mail only) and `bench/channels.sh` (mail and a webhook channel, with
//! burst grouping off and on), which start the receivers.
//!
//!   cargo run --release --example alert_burst -- <smtp-port> [services] [webhook-url off|on]
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, Utc};
use heartbeats::clock::{Clock, ManualClock};
use heartbeats::domain::parse_notify;
use heartbeats::domain::schedule::Schedule;
use heartbeats::domain::status::PingKind;
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
    let webhook = args.next();
    let grouping = args.next().as_deref() == Some("on");
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
        (
            "HB_MAIL_BURST_THRESHOLD",
            if grouping { "3" } else { "0" }.into(),
        ),
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
            grace_secs: 60,
            notify: notify.clone(),
            ..NewService::new(
                format!("burst-{i:05}"),
                Schedule::Interval {
                    period: Duration::seconds(60),
                },
            )
        };
        let row = services::create(&db, new, clock.now()).await?;
        app.state
            .writer
            .submit(PingRecord::by_id(
                &row.id,
                PingKind::Success,
                String::new(),
                clock.now(),
            ))
            .await?;
    }
    if let Some(url) = &webhook {
        channel(&db, url, grouping, clock.now()).await?;
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
        "RESULT grouping={} services={n} flips={} alerts_queued={} sent={} failed={} retrying={} flip_ms={:.0} all_accepted_ms={:.0}",
        if grouping { "on" } else { "off" },
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

/// One webhook channel that every service alerts besides its address (grouping off: a
/// request per alert; on: the default threshold, 3).
async fn channel(
    db: &sea_orm::DatabaseConnection,
    url: &str,
    grouping: bool,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<()> {
    use heartbeats::domain::channel::{ChannelKind, ChannelSettings, MessageLang};
    use heartbeats::entity::{channels, services};
    use sea_orm::sea_query::Expr;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
    let settings = ChannelSettings {
        url: Some(url.to_owned()),
        burst_threshold: Some(if grouping { 3 } else { 0 }),
        ..Default::default()
    }
    .validate(ChannelKind::Webhook)
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    channels::ActiveModel {
        id: Set("benchhook".into()),
        name: Set("bench webhook".into()),
        name_key: Set("bench webhook".into()),
        kind: Set(ChannelKind::Webhook),
        lang: Set(MessageLang::En),
        settings: Set(serde_json::to_string(&settings)?),
        default_for_new: Set(false),
        created_at: Set(now.timestamp_millis()),
        updated_at: Set(now.timestamp_millis()),
    }
    .insert(db)
    .await?;
    services::Entity::update_many()
        .col_expr(services::Column::Channels, Expr::val("benchhook"))
        .exec(db)
        .await?;
    Ok(())
}
