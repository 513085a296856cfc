//! Background jobs, driven round by round through `Job::run_once` and `Job::next_wake`
//! with the test clock: retention, and the wake-up times the runner sleeps towards.
use chrono::{DateTime, Duration, Utc};
use heartbeats::jobs::Job;
use heartbeats_wire::api::Ping;

use crate::helpers::{Backend, Options, TestApp, t0, utc};
use crate::on_every_backend;

async fn app_keeping_days(b: Backend, days: &str) -> TestApp {
    TestApp::spawn_with(
        b,
        Options {
            vars: vec![("HB_PING_RETENTION_DAYS", days.into())],
            ..Default::default()
        },
    )
    .await
}

fn ping_times(pings: &[Ping]) -> Vec<DateTime<Utc>> {
    pings.iter().map(|p| p.at).collect()
}

async fn retention_deletes_only_pings_older_than_the_limit(b: Backend) {
    let app = app_keeping_days(b, "7").await;
    let id = app.interval_service("retention", 3600, 60).await;
    app.ping_ok(&id, "").await;
    app.ping_ok(&id, "old failure").await;
    app.advance(Duration::days(2));
    app.ping_ok(&id, "").await; // the recovery
    app.advance(Duration::days(7));
    app.ping_ok(&id, "").await;
    let alerts_before = app.alerts().await.len();
    assert!(alerts_before > 0);

    // Now is t0 + 9 days: the limit is t0 + 2 days, and a ping exactly on it stays.
    assert_eq!(app.run_retention().await.deleted, 2);
    let pings = app.pings(&id).await;
    assert_eq!(
        ping_times(&pings),
        [utc("2026-11-11T00:00:00Z"), utc("2026-11-04T00:00:00Z")]
    );
    // The history users look back on stays.
    assert_eq!(app.flips(&id).await.len(), 2);
    assert_eq!(app.alerts().await.len(), alerts_before);
    // Nothing more to do until time passes.
    assert_eq!(app.run_retention().await.deleted, 0);
    app.advance(Duration::seconds(1));
    assert_eq!(app.run_retention().await.deleted, 1);
    assert_eq!(app.pings(&id).await.len(), 1);
    // The service itself is untouched: still up, last seen at its newest ping.
    let svc = app.service(&id).await;
    assert_eq!(svc.status, "up");
    assert_eq!(svc.last_ping_at, Some(utc("2026-11-11T00:00:00Z")));
}

async fn retention_of_zero_days_keeps_every_ping(b: Backend) {
    let app = app_keeping_days(b, "0").await;
    let id = app.interval_service("forever", 3600, 60).await;
    app.ping_ok(&id, "").await;
    app.ping_ok(&id, "failure").await;
    app.advance(Duration::days(3650));
    app.ping_ok(&id, "").await;
    assert_eq!(app.run_retention().await.deleted, 0);
    assert_eq!(app.pings(&id).await.len(), 3);
    assert_eq!(app.flips(&id).await.len(), 2);
}

on_every_backend!(
    retention_deletes_only_pings_older_than_the_limit,
    retention_of_zero_days_keeps_every_ping,
);

#[tokio::test]
async fn retention_defaults_to_ninety_days_and_runs_hourly() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    assert_eq!(app.retention.days, 90);
    let id = app.interval_service("default", 3600, 60).await;
    app.ping_ok(&id, "").await;
    app.advance(Duration::days(90));
    assert_eq!(app.run_retention().await.deleted, 0);
    app.advance(Duration::milliseconds(1));
    assert_eq!(app.run_retention().await.deleted, 1);
    let now = app.now();
    assert_eq!(
        app.retention.next_wake(now).await.unwrap(),
        Some(now + Duration::hours(1))
    );
}

#[tokio::test]
async fn scheduler_wakes_at_the_earliest_deadline() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // Nothing to watch: no deadline, the runner only polls.
    assert_eq!(app.scheduler.next_wake(t0()).await.unwrap(), None);
    let hourly = app.interval_service("hourly", 3600, 300).await;
    let minutely = app.interval_service("minutely", 60, 30).await;
    app.ping_ok(&hourly, "").await;
    app.ping_ok(&minutely, "").await;
    assert_eq!(
        app.scheduler.next_wake(app.now()).await.unwrap(),
        Some(t0() + Duration::seconds(60))
    );
    // Late at its due time, then the next wake-up is the end of its grace.
    app.advance(Duration::seconds(60));
    assert_eq!(app.run_scheduler().await.flips, 1);
    assert_eq!(
        app.scheduler.next_wake(app.now()).await.unwrap(),
        Some(t0() + Duration::seconds(90))
    );
    app.advance(Duration::seconds(30));
    assert_eq!(app.run_scheduler().await.flips, 1);
    assert_eq!(app.status(&minutely).await, "down");
    assert_eq!(
        app.scheduler.next_wake(app.now()).await.unwrap(),
        Some(t0() + Duration::seconds(3600))
    );
}

#[tokio::test]
async fn outbox_wakes_when_an_alert_is_ready() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    assert_eq!(app.outbox.next_wake(app.now()).await.unwrap(), None);
    let id = app.interval_service("failing", 3600, 60).await;
    app.ping_ok(&id, "").await;
    app.ping_ok(&id, "broken").await;
    // Queued with the flip, ready at once.
    assert_eq!(
        app.outbox.next_wake(app.now()).await.unwrap(),
        Some(app.now())
    );
    assert_eq!(app.deliver().await.sent, 1);
    assert_eq!(app.outbox.next_wake(app.now()).await.unwrap(), None);
}
