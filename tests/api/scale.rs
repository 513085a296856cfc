//! Several processes, many services.
use chrono::Duration;
use futures::future::join_all;
use heartbeats::domain::schedule::Schedule;
use heartbeats::domain::status::PingKind;
use heartbeats::jobs::Job;
use heartbeats::store::pings::PingRecord;
use heartbeats::store::services::{self, NewService};

use crate::helpers::{Backend, TestApp};

/// Create `n` interval services (60 s, grace 60 s) and ping each once.
async fn many_up_services(app: &TestApp, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let new = NewService {
            grace_secs: 60,
            notify: heartbeats::domain::parse_notify(&["ops@example.com"]).unwrap(),
            ..NewService::new(
                format!("svc-{i:05}"),
                Schedule::Interval {
                    period: Duration::seconds(60),
                },
            )
        };
        ids.push(services::create(&app.db, new, app.now()).await.unwrap().id);
    }
    let now = app.now();
    let pings = ids.iter().map(|id| {
        app.state.writer.submit(PingRecord::by_id(
            &id.clone(),
            PingKind::Success,
            String::new(),
            now,
        ))
    });
    for r in join_all(pings).await {
        r.unwrap();
    }
    ids
}

#[tokio::test]
async fn two_schedulers_on_one_postgres_send_each_alert_once() {
    let a = TestApp::spawn(Backend::Postgres).await;
    let b = TestApp::spawn_second(&a.database.url, vec![]).await;
    many_up_services(&a, 1000).await;
    let later = a.advance(Duration::minutes(3));
    b.clock.set(later);
    let (ra, rb) = tokio::join!(a.scheduler.run_once(later), b.scheduler.run_once(later));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.flips + rb.flips, 1000, "{ra:?} {rb:?}");
    assert_eq!(ra.alerts_queued + rb.alerts_queued, 1000);
    assert_eq!(a.alerts().await.len(), 1000);
    // Running again finds nothing.
    assert_eq!(a.scheduler.run_once(later).await.unwrap().flips, 0);
}

#[tokio::test]
async fn two_schedulers_on_one_mariadb_send_each_alert_once() {
    let a = TestApp::spawn(Backend::Mysql).await;
    let b = TestApp::spawn_second(&a.database.url, vec![]).await;
    many_up_services(&a, 300).await;
    let later = a.advance(Duration::minutes(3));
    b.clock.set(later);
    let (ra, rb) = tokio::join!(a.scheduler.run_once(later), b.scheduler.run_once(later));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.alerts_queued + rb.alerts_queued, 300, "{ra:?} {rb:?}");
    assert_eq!(a.alerts().await.len(), 300);
}

#[tokio::test]
async fn concurrent_pings_to_one_service_all_count() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = app.interval_service("busy", 60, 60).await;
    let pings = (0..200).map(|i| {
        let app = &app;
        let id = id.clone();
        async move {
            app.ping(&id, if i == 100 { "one failure" } else { "" })
                .await
                .status()
        }
    });
    for s in join_all(pings).await {
        assert_eq!(s, 200);
    }
    let pings = app.pings(&id).await;
    assert_eq!(pings.len(), 200);
    // Exactly one error flip, and a recovery only if a success ping came after it.
    let flips = app.flips(&id).await;
    let reasons: Vec<&str> = flips.iter().rev().map(|f| f.reason.as_str()).collect();
    assert!(
        reasons == ["error"] || reasons == ["error", "recovered"],
        "{reasons:?}"
    );
    assert_eq!(app.alerts().await.len(), reasons.len());
}

#[tokio::test]
async fn a_thousand_alerts_through_real_smtp() {
    let smtp = crate::helpers::SmtpServer::start().await;
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        crate::helpers::Options {
            vars: smtp.vars(),
            ..Default::default()
        },
    )
    .await;
    many_up_services(&app, 1000).await;
    app.advance(Duration::minutes(3));
    assert_eq!(app.run_scheduler().await.alerts_queued, 1000);
    let r = app.deliver().await;
    assert_eq!(r.sent, 1000, "{r:?}");
    assert_eq!(smtp.messages().len(), 1000);
}
