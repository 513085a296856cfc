//! The alerts page: newest first, filtered by delivery state, service and time, with the
//! reported error in the row, paged with the filter kept.
use chrono::Duration;
use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::ui_helpers::Browser;

#[tokio::test]
async fn alerts_filter_by_state_service_and_time() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let backup = app.interval_service("backup", 3600, 300).await;
    let sync = app.interval_service("sync", 3600, 300).await;
    app.ping_ok(&backup, "").await;
    app.ping_ok(&backup, "backup failed: disk full").await;
    app.advance(Duration::days(10));
    app.ping_ok(&sync, "").await;
    app.ping_ok(&sync, "rsync exited 23").await;
    // Files, no SMTP: both deliveries succeed.
    app.deliver().await;
    let mut b = Browser::signed_in(&app).await;
    let page = b.get("/alerts").await;
    page.assert_contains("backup failed: disk full");
    page.assert_contains("rsync exited 23");
    // By service.
    let page = b.get(&format!("/alerts?service={backup}")).await;
    page.assert_contains("backup failed: disk full");
    assert!(!page.body.contains("rsync exited 23"));
    // By time: the backup alert is ten days old.
    let page = b.get("/alerts?since=7d").await;
    assert!(!page.body.contains("backup failed: disk full"));
    page.assert_contains("rsync exited 23");
    // By state: nothing failed.
    let page = b.get("/alerts?state=failed").await;
    assert!(!page.body.contains("rsync exited 23"));
    let page = b.get("/alerts?state=sent").await;
    page.assert_contains("rsync exited 23");
    // Junk in the filter is ignored, not an error.
    assert_eq!(
        b.get("/alerts?state=bogus&since=1y&service=a/b")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn the_pager_keeps_the_filter() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = app
        .create_service(json!({"name": "flappy", "period": 60, "notify": ["ops@example.com"]}))
        .await
        .id;
    // 101 alerts: a down and an up alert per round.
    for i in 0..51 {
        app.ping_ok(&id, &format!("failure {i}")).await;
        app.ping_ok(&id, "").await;
    }
    let mut b = Browser::signed_in(&app).await;
    let page = b.get(&format!("/alerts?service={id}&since=24h")).await;
    assert!(
        page.body
            .contains(&format!("&#38;service={id}&#38;since=24h")),
        "older link keeps the filter"
    );
}
