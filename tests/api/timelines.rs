//! new → up → late → down → recovered, with a clock the test moves.
use chrono::{Duration, TimeZone, Utc};
use heartbeats_wire::api::{Flip, Service};
use serde_json::json;

use crate::helpers::{Backend, Options, TestApp, utc};
use crate::on_every_backend;

fn reasons(flips: &[Flip]) -> Vec<String> {
    // Oldest first.
    flips.iter().rev().map(|f| f.reason.clone()).collect()
}

async fn interval_timeline(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = app.interval_service("nightly", 3600, 300).await;
    // A new service never alerts, however long it stays silent.
    app.advance(Duration::days(3));
    assert_eq!(app.run_scheduler().await.flips, 0);
    assert_eq!(app.status(&id).await, "new");

    app.ping_ok(&id, "").await;
    assert_eq!(app.status(&id).await, "up");
    app.advance(Duration::minutes(59));
    assert_eq!(app.run_scheduler().await.flips, 0);
    assert_eq!(app.status(&id).await, "up");

    app.advance(Duration::minutes(1));
    let r = app.run_scheduler().await;
    assert_eq!((r.flips, r.alerts_queued), (1, 0));
    assert_eq!(app.status(&id).await, "late");

    app.advance(Duration::minutes(5));
    let r = app.run_scheduler().await;
    assert_eq!((r.flips, r.alerts_queued), (1, 1));
    assert_eq!(app.status(&id).await, "down");
    // Nothing more happens while it stays down.
    app.advance(Duration::hours(5));
    assert_eq!(app.run_scheduler().await.flips, 0);

    let body = app.ping_ok(&id, "").await;
    assert_eq!(body.status, "up");
    assert_eq!(
        reasons(&app.flips(&id).await),
        ["late", "missed", "recovered"]
    );
    let alerts = app.alerts().await;
    assert_eq!(alerts.len(), 2, "one down alert and one recovery alert");
    assert_eq!(app.deliver().await.sent, 2);
    let mails = app.mail_files();
    assert_eq!(mails.len(), 2);
    assert!(
        mails
            .iter()
            .any(|m| m.contains("Subject: [Heartbeats] DOWN: nightly (missed)"))
    );
    assert!(
        mails
            .iter()
            .any(|m| m.contains("Subject: [Heartbeats] UP: nightly (recovered)"))
    );
    // Every mail has its own Message-ID and says it was sent by a program; the recovery
    // answers the down mail, in the .eml files as over SMTP.
    let find = |needle: &str| mails.iter().find(|m| m.contains(needle)).unwrap();
    let (down, up) = (find("DOWN: nightly"), find("UP: nightly"));
    // The recovery says how long the outage lasted: from the missed flip to the ping.
    assert!(up.contains("Down for:   5 h 00 min"), "{up}");
    let down_id = crate::helpers::mail_header(down, "Message-ID").expect("a Message-ID");
    assert!(
        down_id.starts_with("<flip.") && down_id.contains(&id),
        "{down_id}"
    );
    for m in [down, up] {
        assert_eq!(
            crate::helpers::mail_header(m, "Auto-Submitted").as_deref(),
            Some("auto-generated")
        );
    }
    assert_eq!(
        crate::helpers::mail_header(up, "In-Reply-To"),
        Some(down_id.clone())
    );
    assert_eq!(crate::helpers::mail_header(up, "References"), Some(down_id));
}

async fn late_then_back_does_not_alert(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = app.interval_service("hourly", 3600, 600).await;
    app.ping_ok(&id, "").await;
    app.advance(Duration::minutes(65));
    app.run_scheduler().await;
    assert_eq!(app.status(&id).await, "late");
    app.ping_ok(&id, "").await;
    assert_eq!(app.status(&id).await, "up");
    assert_eq!(reasons(&app.flips(&id).await), ["late", "back"]);
    assert!(app.alerts().await.is_empty());
    // The deadline moved with the ping: nothing is due at the old down time.
    app.advance(Duration::minutes(10));
    assert_eq!(app.run_scheduler().await.flips, 0);
}

async fn error_then_recovered(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = app.interval_service("reporting", 3600, 300).await;
    app.ping_ok(&id, "").await;
    app.advance(Duration::minutes(10));
    assert_eq!(
        app.ping_ok(&id, "backup failed: disk full").await.status,
        "down"
    );
    // Down by report: the scheduler has nothing to add.
    app.advance(Duration::hours(3));
    assert_eq!(app.run_scheduler().await.flips, 0);
    app.ping_ok(&id, "").await;
    assert_eq!(reasons(&app.flips(&id).await), ["error", "recovered"]);
    assert_eq!(app.alerts().await.len(), 2);
    app.deliver().await;
    let mails = app.mail_files();
    let down = mails
        .iter()
        .find(|m| m.contains("DOWN: reporting"))
        .expect("down mail");
    assert!(down.contains("backup failed: disk full"));
}

async fn daily_1605_shanghai_is_0805_utc(b: Backend) {
    // 2026-11-02 00:00 UTC is 08:00 in Shanghai.
    let app = TestApp::spawn(b).await;
    let svc = app
        .create_service(json!({"name": "daily report", "kind": "daily", "at": "16:05", "grace": 600, "notify": ["ops@example.com"]}))
        .await;
    let id = &svc.id;
    app.ping_ok(id, "").await;
    let svc = app.service(id).await;
    assert_eq!(svc.next_due_at, Some(utc("2026-11-02T08:05:00Z")));
    assert_eq!(svc.down_at, Some(utc("2026-11-02T08:15:00Z")));

    app.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 2, 8, 5, 0).unwrap());
    app.run_scheduler().await;
    assert_eq!(app.status(id).await, "late");
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 2, 8, 15, 0).unwrap());
    assert_eq!(app.run_scheduler().await.alerts_queued, 1);
    assert_eq!(app.status(id).await, "down");

    app.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 2, 8, 20, 0).unwrap());
    app.ping_ok(id, "").await;
    assert_eq!(
        app.service(id).await.next_due_at,
        Some(utc("2026-11-03T08:05:00Z"))
    );
    // A clock two seconds fast still counts for that day's run.
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 3, 8, 4, 58).unwrap());
    app.ping_ok(id, "").await;
    assert_eq!(
        app.service(id).await.next_due_at,
        Some(utc("2026-11-04T08:05:00Z"))
    );
    assert_eq!(app.alerts().await.len(), 2);
    app.deliver().await;
    let down = app
        .mail_files()
        .into_iter()
        .find(|m| m.contains("DOWN: daily report"))
        .unwrap();
    // Times in the service's zone and in UTC.
    assert!(down.contains("2026-11-02 16:05:00 UTC+8"), "{down}");
    assert!(down.contains("2026-11-02 08:05:00 UTC"), "{down}");
}

async fn cron_day_of_month_or_day_of_week(b: Backend) {
    // 2026-11-02 is a Monday. `0 9 1,15 * mon` fires on the 1st, the 15th and every Monday.
    let app = TestApp::spawn(b).await;
    let svc = app
        .create_service(json!({"name": "or rule", "kind": "cron", "cron": "0 9 1,15 * mon", "timezone": "UTC", "grace": 60}))
        .await;
    let id = &svc.id;
    app.ping_ok(id, "").await;
    assert_eq!(
        app.service(id).await.next_due_at,
        Some(utc("2026-11-02T09:00:00Z"))
    );
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 30).unwrap());
    app.ping_ok(id, "").await;
    assert_eq!(
        app.service(id).await.next_due_at,
        Some(utc("2026-11-09T09:00:00Z"))
    );
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 9, 9, 0, 30).unwrap());
    app.ping_ok(id, "").await;
    // Sunday the 15th, by day of month.
    assert_eq!(
        app.service(id).await.next_due_at,
        Some(utc("2026-11-15T09:00:00Z"))
    );
    // Missing it goes down one minute later (grace 60 s).
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 15, 9, 1, 0).unwrap());
    app.run_scheduler().await;
    assert_eq!(app.status(id).await, "down");
}

async fn cron_dst_gap_and_repeat_in_berlin(b: Backend) {
    let app = TestApp::spawn_with(
        b,
        Options {
            start: Utc.with_ymd_and_hms(2026, 3, 28, 12, 0, 0).unwrap(),
            ..Default::default()
        },
    )
    .await;
    let svc = app
        .create_service(json!({"name": "0230", "kind": "cron", "cron": "30 2 * * *", "timezone": "Europe/Berlin", "grace": 60}))
        .await;
    let id = &svc.id;
    app.ping_ok(id, "").await;
    // 02:30 does not exist on 29 March: it fires right after the gap, at 03:00 CEST.
    assert_eq!(
        app.service(id).await.next_due_at,
        Some(utc("2026-03-29T01:00:00Z"))
    );
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 20).unwrap());
    app.ping_ok(id, "").await;
    assert_eq!(
        app.service(id).await.next_due_at,
        Some(utc("2026-03-30T00:30:00Z"))
    );

    // 02:30 happens twice on 25 October: it fires once, at the first (CEST) one.
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 10, 24, 12, 0, 0).unwrap());
    app.ping_ok(id, "").await;
    assert_eq!(
        app.service(id).await.next_due_at,
        Some(utc("2026-10-25T00:30:00Z"))
    );
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 10, 25, 0, 31, 0).unwrap());
    app.ping_ok(id, "").await;
    assert_eq!(
        app.service(id).await.next_due_at,
        Some(utc("2026-10-26T01:30:00Z"))
    );
    // And no alert fires at the second 02:30 (01:30 UTC).
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 10, 25, 1, 45, 0).unwrap());
    assert_eq!(app.run_scheduler().await.flips, 0);
}

async fn paused_service_never_alerts_and_a_ping_resumes_it(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = app.interval_service("maintenance", 60, 60).await;
    app.ping_ok(&id, "").await;
    app.post_json(&format!("/api/v1/services/{id}/pause"), &json!({}))
        .await;
    app.advance(Duration::days(2));
    assert_eq!(app.run_scheduler().await.flips, 0);
    assert_eq!(app.status(&id).await, "paused");
    assert_eq!(app.ping_ok(&id, "").await.status, "up");
    app.advance(Duration::minutes(3));
    app.run_scheduler().await;
    assert_eq!(app.status(&id).await, "down");
    assert_eq!(app.alerts().await.len(), 1);
}

async fn editing_the_schedule_moves_the_deadline(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = app.interval_service("edited", 3600, 60).await;
    app.ping_ok(&id, "").await;
    app.advance(Duration::minutes(30));
    let r = app
        .patch_json(&format!("/api/v1/services/{id}"), &json!({"period": 600}))
        .await;
    assert_eq!(r.status(), 200);
    let v: Service = r.json().await.unwrap();
    assert_eq!(v.next_due_at, Some(utc("2026-11-02T00:10:00Z")));
    // The new deadline has already passed: the scheduler takes it down, with an alert.
    let r = app.run_scheduler().await;
    assert_eq!(r.alerts_queued, 1);
    assert_eq!(app.status(&id).await, "down");
}

on_every_backend!(
    interval_timeline,
    late_then_back_does_not_alert,
    error_then_recovered,
    daily_1605_shanghai_is_0805_utc,
    cron_day_of_month_or_day_of_week,
    cron_dst_gap_and_repeat_in_berlin,
    paused_service_never_alerts_and_a_ping_resumes_it,
    editing_the_schedule_moves_the_deadline,
);
