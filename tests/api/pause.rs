//! Pausing silences a service; resuming does not silence it forever: a service with
//! history is expected again on its schedule and alerts if nothing comes.
use chrono::Duration;
use heartbeats_wire::api::Service;
use serde_json::Value;

use crate::helpers::{Backend, TestApp};
use crate::on_every_backend;
use crate::ui_helpers::Browser;

on_every_backend!(a_resumed_service_that_stays_silent_alerts);

async fn a_resumed_service_that_stays_silent_alerts(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = app.interval_service("backup", 3600, 300).await;
    app.ping_ok(&id, "").await;
    let pause = app
        .post_json(&format!("/api/v1/services/{id}/pause"), &Value::Null)
        .await;
    assert_eq!(pause.status(), 200);
    // Paused: days of silence, no alert.
    app.advance(Duration::days(2));
    assert_eq!(app.run_scheduler().await.flips, 0);
    let resumed: Service = app
        .post_json(&format!("/api/v1/services/{id}/resume"), &Value::Null)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(resumed.status, "up", "{resumed:?}");
    let due = resumed.next_due_at.expect("a due time");
    assert_eq!(due, app.now() + Duration::hours(1));
    // Silent for the period and the grace time: late, then down with an alert.
    app.advance(Duration::minutes(60));
    assert_eq!(app.run_scheduler().await.flips, 1);
    app.advance(Duration::minutes(5));
    let r = app.run_scheduler().await;
    assert_eq!((r.flips, r.alerts_queued), (1, 1));
    assert_eq!(app.status(&id).await, "down");
    // The history shows the pause and the resume, which sent nothing.
    let reasons: Vec<String> = app
        .flips(&id)
        .await
        .iter()
        .rev()
        .map(|f| f.reason.clone())
        .collect();
    assert_eq!(reasons, ["paused", "resumed", "late", "missed"]);
}

#[tokio::test]
async fn a_never_pinged_service_is_new_again_and_the_page_says_what_it_waits_for() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let fresh = app.interval_service("fresh", 3600, 300).await;
    let pinged = app.interval_service("pinged", 3600, 300).await;
    app.ping_ok(&pinged, "").await;
    for id in [&fresh, &pinged] {
        app.post_json(&format!("/api/v1/services/{id}/pause"), &Value::Null)
            .await;
        app.post_json(&format!("/api/v1/services/{id}/resume"), &Value::Null)
            .await;
    }
    assert_eq!(app.status(&fresh).await, "new");
    assert_eq!(app.status(&pinged).await, "up");
    let mut b = Browser::signed_in(&app).await;
    let page = b.get(&format!("/services/{pinged}")).await;
    page.assert_contains("Resumed: waiting for the next ping.");
    app.advance(Duration::minutes(1));
    app.ping_ok(&pinged, "").await;
    let page = b.get(&format!("/services/{pinged}")).await;
    page.assert_contains("Pinging on time.");
    app.advance(Duration::days(3));
    app.run_scheduler().await;
    assert_eq!(
        app.status(&fresh).await,
        "new",
        "a new service does not alert"
    );
    assert_eq!(app.status(&pinged).await, "down");
}
