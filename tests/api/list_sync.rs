//! The list's indexed copies stay true: tag rows follow creates, edits and deletes; their
//! status copies follow every path that changes a status; the migration converts what an
//! older version stored; and another process's changes reach this one's list.
use chrono::Duration;
use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::helpers::{Backend, TestApp, TestDatabase};
use crate::list_helpers::row_names;
use crate::on_every_backend;
use crate::ui_helpers::Browser;

/// `service_tags` as (service id, tag, status, name key), sorted.
async fn tag_rows(db: &impl ConnectionTrait) -> Vec<(String, String, String, String)> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT service_id, tag, status, name_key FROM service_tags".to_owned(),
        ))
        .await
        .expect("service_tags");
    let mut out: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.try_get("", "service_id").unwrap(),
                r.try_get("", "tag").unwrap(),
                r.try_get("", "status").unwrap(),
                r.try_get("", "name_key").unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Every tag row agrees with its service's status and name key.
async fn assert_copies_agree(app: &TestApp) {
    let sql = "SELECT COUNT(*) AS n FROM service_tags g JOIN services s ON s.id = g.service_id \
               WHERE g.status <> s.status OR g.name_key <> s.name_key";
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    let n: i64 = row.try_get("", "n").unwrap();
    assert_eq!(n, 0, "tag rows out of step: {:?}", tag_rows(&app.db).await);
}

async fn tag_rows_follow_create_update_and_delete(b: Backend) {
    let app = TestApp::spawn(b).await;
    let svc = app
        .create_service(json!({"name": "Nightly Backup", "period": 60, "tags": ["db", "prod"]}))
        .await;
    let id = svc.id;
    let row = |tag: &str, status: &str, key: &str| {
        (
            id.clone(),
            tag.to_owned(),
            status.to_owned(),
            key.to_owned(),
        )
    };
    assert_eq!(
        tag_rows(&app.db).await,
        [
            row("db", "new", "nightly backup"),
            row("prod", "new", "nightly backup")
        ]
    );
    let r = app
        .patch_json(
            &format!("/api/v1/services/{id}"),
            &json!({"name": "Weekly BACKUP", "tags": ["prod", "weekly"]}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        tag_rows(&app.db).await,
        [
            row("prod", "new", "weekly backup"),
            row("weekly", "new", "weekly backup")
        ]
    );
    assert_eq!(app.list_api("/api/v1/services?tag=db").await.items.len(), 0);
    assert_eq!(
        app.list_api("/api/v1/services?tag=weekly").await.names(),
        ["Weekly BACKUP"]
    );
    // Through the UI's form too.
    let mut br = Browser::signed_in(&app).await;
    let other = br
        .create_service(&[
            ("name", "cert renew"),
            ("kind", "daily"),
            ("at", "16:05"),
            ("timezone", "UTC"),
            ("grace", "5"),
            ("grace_unit", "min"),
            ("tags", "cert, sync"),
            ("notify", "ops@example.com"),
        ])
        .await;
    assert_eq!(row_names(&br.get("/?q=sync").await.body), ["cert renew"]);
    assert_eq!(
        app.delete(&format!("/api/v1/services/{id}")).await.status(),
        204
    );
    let left = tag_rows(&app.db).await;
    assert_eq!(left.len(), 2);
    assert!(left.iter().all(|(sid, ..)| *sid == other));
    assert_copies_agree(&app).await;
}

/// Pings, the scheduler, pause, resume and a schedule edit all move a status; a tag and
/// status search (answered from the tag rows alone) must follow each.
async fn tag_rows_follow_every_status_change(b: Backend) {
    let app = TestApp::spawn(b).await;
    let svc = app
        .create_service(
            json!({"name": "job", "kind": "interval", "period": 60, "grace": 60, "tags": ["t"]}),
        )
        .await;
    let id = svc.id;
    let mut br = Browser::signed_in(&app).await;
    let expect = async |want: &str, br: &mut Browser<'_>| {
        for status in ["new", "up", "late", "down", "paused"] {
            let listed = app
                .list_api(&format!("/api/v1/services?tag=t&status={status}"))
                .await;
            let n = usize::from(status == want);
            assert_eq!(
                listed.items.len(),
                n,
                "API ?tag=t&status={status}, expected {want}"
            );
            let page = br.get(&format!("/?q=t&status={status}")).await;
            assert_eq!(
                row_names(&page.body).len(),
                n,
                "UI {status}, expected {want}"
            );
            page.assert_contains(&format!(
                r#"tab-{status}{}"#,
                if n == 1 { " has" } else { "\"" }
            ));
        }
        assert_copies_agree(&app).await;
    };
    expect("new", &mut br).await;
    app.ping_ok(&id, "").await;
    expect("up", &mut br).await;
    app.advance(Duration::seconds(61));
    assert_eq!(app.run_scheduler().await.flips, 1);
    expect("late", &mut br).await;
    app.advance(Duration::seconds(60));
    assert_eq!(app.run_scheduler().await.flips, 1);
    expect("down", &mut br).await;
    app.ping_ok(&id, "").await;
    expect("up", &mut br).await;
    app.ping_ok(&id, "disk full").await;
    expect("down", &mut br).await;
    let r = app
        .post_json(&format!("/api/v1/services/{id}/pause"), &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    expect("paused", &mut br).await;
    let r = app
        .post_json(&format!("/api/v1/services/{id}/resume"), &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    // A service that has pinged is expected again on its schedule after a resume.
    expect("up", &mut br).await;
    app.ping_ok(&id, "").await;
    app.advance(Duration::seconds(90));
    assert_eq!(app.run_scheduler().await.flips, 1);
    expect("late", &mut br).await;
    // A longer period makes it on time again (an edit's reschedule).
    let r = app
        .patch_json(&format!("/api/v1/services/{id}"), &json!({"period": 3600}))
        .await;
    assert_eq!(r.status(), 200);
    expect("up", &mut br).await;
}

/// Rows stored before the list's migration (tags only in `services.tags`, no name key)
/// are converted by it.
async fn the_migration_converts_existing_services(b: Backend) {
    let database = TestDatabase::create(b).await;
    let db = heartbeats::db::connect(&database.url, heartbeats::settings::SqliteSync::Normal)
        .await
        .expect("connect");
    let ours = Migrator::migrations()
        .iter()
        .position(|m| m.name().contains("services_list_index"))
        .expect("the list migration");
    Migrator::up(&db, Some(ours as u32))
        .await
        .expect("migrate up to ours");
    let insert = |id: &str, name: &str, tags: &str, status: &str| {
        format!(
            "INSERT INTO services (id, name, kind, period_secs, timezone, grace_secs, tags, notify, \
             status, version, created_at, updated_at) VALUES ('{id}', '{name}', 'interval', 3600, \
             'UTC', 300, '{tags}', '', '{status}', 0, 0, 0)"
        )
    };
    for sql in [
        insert("a1", "Backup DB", ",db,prod,", "up"),
        insert("a2", "Ärger Übung", ",prod,", "down"),
        insert("a3", "no tags", "", "new"),
    ] {
        db.execute_unprepared(&sql).await.expect("old row");
    }
    Migrator::up(&db, None).await.expect("migrate the rest");
    let rows = tag_rows(&db).await;
    let row = |id: &str, tag: &str, status: &str, key: &str| {
        (
            id.to_owned(),
            tag.to_owned(),
            status.to_owned(),
            key.to_owned(),
        )
    };
    assert_eq!(
        rows,
        [
            row("a1", "db", "up", "backup db"),
            row("a1", "prod", "up", "backup db"),
            row("a2", "prod", "down", "ärger übung"),
        ]
    );
    db.close().await.ok();
    let app = TestApp::spawn_on(database, Default::default()).await;
    assert_copies_agree(&app).await;
    let listed = app.list_api("/api/v1/services?tag=prod").await;
    // Name order is byte order of the lower-cased names: ASCII before "ä".
    assert_eq!(listed.names(), ["Backup DB", "Ärger Übung"]);
    let mut br = Browser::signed_in(&app).await;
    assert_eq!(row_names(&br.get("/?q=ärger").await.body), ["Ärger Übung"]);
    assert_eq!(
        row_names(&br.get("/").await.body),
        ["Ärger Übung", "Backup DB", "no tags"]
    );
}

/// Two processes on one database: what one changes, the other's list shows, whether a
/// ping (seen through `updated_at`) or a new service (through the catalog revision, which
/// also refreshes the remembered name searches).
async fn another_process_changes_reach_the_list(b: Backend) {
    let a = TestApp::spawn(b).await;
    let other = TestApp::spawn_second(&a.database.url, vec![]).await;
    a.state
        .ui
        .list_cache
        .set_refresh_floor(std::time::Duration::ZERO);
    let id = a.interval_service("shared job", 60, 60).await;
    let mut br = Browser::signed_in(&a).await;
    let first = br.get("/ui/rows?q=job").await;
    assert_eq!(row_names(&first.body), ["shared job"]);
    let etag = first.headers["etag"].to_str().unwrap().to_owned();
    assert_eq!(
        br.get_with("/ui/rows?q=job", "if-none-match", &etag)
            .await
            .status,
        304
    );
    other.clock.set(a.now() + Duration::seconds(5));
    other.ping_ok(&id, "").await;
    let changed = br.get_with("/ui/rows?q=job", "if-none-match", &etag).await;
    assert_eq!(changed.status, 200);
    changed.assert_contains(r#"<span class="badge b-up">Up</span>"#);
    other.interval_service("second job", 60, 60).await;
    assert_eq!(
        row_names(&br.get("/ui/rows?q=job").await.body),
        ["second job", "shared job"]
    );
}

on_every_backend!(
    tag_rows_follow_create_update_and_delete,
    tag_rows_follow_every_status_change,
    the_migration_converts_existing_services,
    another_process_changes_reach_the_list,
);
