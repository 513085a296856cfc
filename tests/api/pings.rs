use serde_json::Value;

use crate::helpers::{Backend, TestApp, utc};
use crate::on_every_backend;

async fn success_ping_marks_up_and_is_stored(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = app.interval_service("backup", 3600, 300).await;
    assert_eq!(app.status(&id).await, "new");

    let body = app.ping_ok(&id, "").await;
    assert_eq!(body.status, "up");
    assert_eq!(body.kind, "success");
    let svc = app.service(&id).await;
    assert_eq!(svc.last_ping_at, Some(utc("2026-11-02T00:00:00Z")));
    assert_eq!(svc.next_due_at, Some(utc("2026-11-02T01:00:00Z")));
    assert_eq!(svc.down_at, Some(utc("2026-11-02T01:05:00Z")));

    let pings = app.pings(&id).await;
    assert_eq!(pings.len(), 1);
    assert_eq!(pings[0].kind, "success");
    assert_eq!(pings[0].source.as_deref(), Some("127.0.0.1"));
}

async fn error_ping_goes_down_once_with_data(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = app.interval_service("backup", 3600, 300).await;
    app.ping_ok(&id, "").await;
    let body = app.ping_ok(&id, "backup failed: disk full").await;
    assert_eq!(body.status, "down");
    assert_eq!(body.kind, "error");
    // A second error report is stored but does not alert again.
    app.ping_ok(&id, "still failing").await;
    let alerts = app.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let flips = app.flips(&id).await;
    assert_eq!(flips[0].reason, "error");
    assert_eq!(flips[0].data.as_deref(), Some("backup failed: disk full"));
    let pings = app.pings(&id).await;
    assert_eq!(pings.len(), 3);
}

/// The writer splits a batch into statements of 64, 32 … 1 rows and writes back only the
/// columns a ping changes: every size from one to past the largest shape, by id and by
/// ping UUID mixed, the same service twice in a batch and an unknown one, must each land
/// on exactly their own rows.
async fn batches_of_every_shape_write_every_row(b: Backend) {
    use heartbeats::domain::status::PingKind;
    use heartbeats::entity::{pings, services};
    use heartbeats::store::pings::{PingRecord, PingTarget, write_batch};
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

    let app = TestApp::spawn(b).await;
    for i in 0..100 {
        app.interval_service(&format!("job-{i:03}"), 3600, 300)
            .await;
    }
    let all = services::Entity::find().all(&app.db).await.unwrap();
    let before: std::collections::HashMap<String, i64> =
        all.iter().map(|m| (m.id.clone(), m.version)).collect();
    let mut expected_pings = 0;
    let mut at = app.now();
    for size in [1usize, 2, 3, 37, 64, 65, 100] {
        at += chrono::Duration::seconds(10);
        // The first `size` services, every other one by its UUID, the first pinged twice.
        let mut records: Vec<PingRecord> = all[..size]
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let mut r = PingRecord::by_id(&m.id, PingKind::Success, String::new(), at);
                if i % 2 == 1 {
                    r.target = PingTarget::Uuid(m.ping_uuid.clone());
                }
                r
            })
            .collect();
        records.push(PingRecord::by_id(
            &all[0].id,
            PingKind::Log,
            "twice".into(),
            at,
        ));
        let mut unknown = PingRecord::by_id("nosuch", PingKind::Success, String::new(), at);
        unknown.target = PingTarget::Uuid("00000000-0000-4000-8000-000000000000".into());
        records.push(unknown);
        let results = write_batch(&app.db, &records).await.unwrap();
        assert_eq!(results.len(), size + 2);
        assert!(
            results[..=size].iter().all(|r| r.is_ok()),
            "size {size}: {results:?}"
        );
        assert!(results[size + 1].is_err(), "the unknown UUID is refused");
        expected_pings += size + 1;

        let now = services::Entity::find().all(&app.db).await.unwrap();
        for (i, m) in now.iter().enumerate() {
            let pinged = all[..size].iter().any(|p| p.id == m.id);
            if pinged {
                assert_eq!(
                    m.last_ping_at,
                    Some(at.timestamp_millis()),
                    "size {size}, row {i}"
                );
                assert_eq!(m.status.as_str(), "up");
                assert_eq!(
                    m.next_check_at,
                    Some((at + chrono::Duration::seconds(3600)).timestamp_millis()),
                    "size {size}: the next check is the deadline"
                );
            } else if size < 100 {
                assert!(m.last_ping_at.is_none_or(|t| t < at.timestamp_millis()));
            }
        }
    }
    // Every batch bumped each row it pinged once (the first service in all seven).
    let first = services::Entity::find_by_id(all[0].id.clone())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.version, before[&all[0].id] + 7);
    let last = services::Entity::find_by_id(all[99].id.clone())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(last.version, before[&all[99].id] + 1);
    let stored = pings::Entity::find()
        .filter(pings::Column::ServiceId.is_in(all.iter().map(|m| m.id.clone())))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(stored as usize, expected_pings);
    // Each service's chain holds exactly its rows, newest first (the first service's two
    // pings of a batch linked in the order received), and counts them.
    for m in services::Entity::find().all(&app.db).await.unwrap() {
        let mut rows: Vec<i64> = pings::Entity::find()
            .filter(pings::Column::ServiceId.eq(m.id.as_str()))
            .all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.id)
            .collect();
        rows.sort_unstable_by(|a, b| b.cmp(a));
        let chain: Vec<i64> = heartbeats::store::pings::list(&app.db, &m.id, None, 1000)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(chain, rows, "{}", m.name);
        assert_eq!(m.ping_count, rows.len() as i64, "{}", m.name);
        assert_eq!(m.last_ping_id, rows.first().copied(), "{}", m.name);
    }
}

/// Deleting a service deletes its pings, more than one walk of its chain holds, and only
/// its: the other service's chain, interleaved with it, is whole.
async fn a_deleted_service_takes_all_its_pings(b: Backend) {
    use heartbeats::domain::status::PingKind;
    use heartbeats::entity::pings;
    use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

    let app = TestApp::spawn(b).await;
    let gone = app.interval_service("gone", 3600, 300).await;
    let kept = app.interval_service("kept", 3600, 300).await;
    let at = app.now().timestamp_millis();
    let rows = (0..2300)
        .map(|i| pings::ActiveModel {
            service_id: Set(if i % 10 == 0 { &kept } else { &gone }.clone()),
            at: Set(at + i),
            kind: Set(PingKind::Success),
            data: Set(format!("ping {i}")),
            ..Default::default()
        })
        .collect();
    heartbeats::store::pings::append(&app.db, rows)
        .await
        .unwrap();
    let count = async |id: &str| {
        pings::Entity::find()
            .filter(pings::Column::ServiceId.eq(id))
            .count(&app.db)
            .await
            .unwrap()
    };
    assert_eq!((count(&gone).await, count(&kept).await), (2070, 230));
    let resp = app.delete(&format!("/api/v1/services/{gone}")).await;
    assert_eq!(resp.status(), 204);
    assert_eq!((count(&gone).await, count(&kept).await), (0, 230));
    let listed = app.pings(&kept).await;
    assert_eq!(listed.len(), 230);
    assert_eq!(
        (listed[0].data.as_str(), listed[229].data.as_str()),
        ("ping 2290", "ping 0")
    );
}

on_every_backend!(
    batches_of_every_shape_write_every_row,
    a_deleted_service_takes_all_its_pings,
    success_ping_marks_up_and_is_stored,
    error_ping_goes_down_once_with_data,
    old_pings_are_pruned,
    any_text_is_stored,
);

#[tokio::test]
async fn old_tool_curl_line_works_unchanged() {
    // curl -u root:pw -X POST 'http://host/api/pings/?service=60y4E&&data=123'
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = app.interval_service("legacy", 60, 60).await;
    let resp = app
        .request(
            reqwest::Method::POST,
            &format!("/api/pings/?service={id}&&data="),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = app
        .request(
            reqwest::Method::POST,
            &format!("/api/pings/?service={id}&&data=123"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["kind"], "error");
    assert_eq!(app.flips(&id).await[0].data.as_deref(), Some("123"));
}

#[tokio::test]
async fn get_works_and_data_may_come_in_the_body() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = app.interval_service("bodies", 60, 60).await;
    let resp = app
        .request(reqwest::Method::GET, &format!("/api/pings?service={id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Form body, as `curl -d service=…&data=…` sends it.
    let resp = app
        .request(reqwest::Method::POST, "/api/pings")
        .form(&[("service", id.as_str()), ("data", "form error & more")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Raw text body, as `curl --data-binary @log.txt -H 'Content-Type: text/plain'` sends it.
    let resp = app
        .request(reqwest::Method::POST, &format!("/api/pings/?service={id}"))
        .header("content-type", "text/plain")
        .body("line 1\nline 2")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let pings = app.pings(&id).await;
    let data: Vec<&str> = pings.iter().map(|p| p.data.as_str()).collect();
    assert_eq!(data, ["line 1\nline 2", "form error & more", ""]);
}

#[tokio::test]
async fn unknown_service_is_404_json() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let resp = app.ping("nosuch", "").await;
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "unknown service 'nosuch'");
    assert_eq!(body["field"], "service");
    let resp = app.ping("bad/id!", "").await;
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn missing_service_is_400() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let resp = app
        .request(reqwest::Method::POST, "/api/pings")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["field"], "service");
}

#[tokio::test]
async fn oversized_data_is_refused_and_nothing_is_stored() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        crate::helpers::Options {
            vars: vec![("HB_MAX_PING_DATA", "1000".into())],
            ..Default::default()
        },
    )
    .await;
    let id = app.interval_service("big", 60, 60).await;
    // In the body, far over the limit: refused from Content-Length before reading.
    let resp = app
        .request(reqwest::Method::POST, &format!("/api/pings?service={id}"))
        .header("content-type", "text/plain")
        .body("x".repeat(1_000_000))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["field"], "data");
    // Just over the limit after decoding.
    let resp = app.ping(&id, &"y".repeat(1001)).await;
    assert_eq!(resp.status(), 413);
    // At the limit: accepted.
    let resp = app.ping(&id, &"z".repeat(1000)).await;
    assert_eq!(resp.status(), 200);
    let pings = app.pings(&id).await;
    assert_eq!(pings.len(), 1);
}

#[tokio::test]
async fn full_size_data_is_stored_on_every_backend() {
    // 100 KiB of data: more than MySQL's TEXT holds.
    for b in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
        let app = TestApp::spawn(b).await;
        let id = app.interval_service("big data", 60, 60).await;
        let data = "e".repeat(100 * 1024);
        let resp = app
            .request(reqwest::Method::POST, &format!("/api/pings?service={id}"))
            .header("content-type", "text/plain")
            .body(data.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{b:?}");
        let pings = app.pings(&id).await;
        assert_eq!(pings[0].data.len(), data.len(), "{b:?}");
    }
}

async fn old_pings_are_pruned(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = app.interval_service("retention", 60, 60).await;
    app.ping_ok(&id, "").await;
    app.ping_ok(&id, "old failure").await;
    app.advance(chrono::Duration::days(91));
    app.ping_ok(&id, "").await;
    let cutoff = app.now() - chrono::Duration::days(90);
    let deleted = heartbeats::store::pings::prune(&app.db, cutoff)
        .await
        .unwrap();
    assert_eq!(deleted, 2);
    let pings = app.pings(&id).await;
    assert_eq!(pings.len(), 1);
    assert_eq!(pings[0].kind, "success");
    // The count is of pings received (healthchecks' n_pings): retention does not lower it.
    use sea_orm::EntityTrait;
    let m = heartbeats::entity::services::Entity::find_by_id(id.clone())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.ping_count, 3);
    // Flips and alerts stay.
    assert_eq!(app.flips(&id).await.len(), 2);
    assert_eq!(
        heartbeats::store::pings::prune(&app.db, cutoff)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn json_multipart_and_nul_bytes() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let id = app.interval_service("bodies", 60, 60).await;
    // JSON body.
    let resp = app
        .request(reqwest::Method::POST, "/api/pings")
        .json(&serde_json::json!({"service": id, "data": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // A multipart body is refused rather than taken as error text.
    let resp = app
        .request(reqwest::Method::POST, &format!("/api/pings?service={id}"))
        .header("content-type", "multipart/form-data; boundary=x")
        .body("--x\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\n\r\n--x--\r\n")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    assert_eq!(app.status(&id).await, "up");
    // An empty service in the query does not hide the one in the body.
    let resp = app
        .request(reqwest::Method::POST, "/api/pings?service=")
        .form(&[("service", id.as_str()), ("data", "nul \0 byte")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{:?}", resp.text().await);
    // PostgreSQL text holds no NUL: it is stored as U+FFFD, the rest kept.
    assert_eq!(app.pings(&id).await[0].data, "nul \u{FFFD} byte");
    // An explicit empty data in the query is a success, whatever the body says.
    let resp = app
        .request(
            reqwest::Method::POST,
            &format!("/api/pings?service={id}&data="),
        )
        .header("content-type", "text/plain")
        .body("ignored")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(app.pings(&id).await[0].kind, "success");
}

async fn any_text_is_stored(b: Backend) {
    let app = TestApp::spawn(b).await;
    let svc = app
        .create_service(
            serde_json::json!({"name": "备份 数据库 🗄️", "period": 60, "tags": ["生产"]}),
        )
        .await;
    let id = svc.id;
    app.ping_ok(&id, "磁盘已满 💥").await;
    assert_eq!(app.pings(&id).await[0].data, "磁盘已满 💥");
    assert_eq!(app.service(&id).await.name, "备份 数据库 🗄️");
    let found: Vec<Value> = app
        .get("/api/v1/services?tag=生产")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    // Ids are exact: another case is another (unknown) service.
    let other_case: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    if other_case != id {
        assert_eq!(app.ping(&other_case, "").await.status(), 404);
    }
}
