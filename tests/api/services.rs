use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::on_every_backend;

async fn crud_and_filters(b: Backend) {
    let app = TestApp::spawn(b).await;
    let a = app
        .create_service(json!({"name": "cert renew", "kind": "daily", "at": "16:05", "tags": ["cert", "sync"], "notify": "ops@example.com, dev@example.com"}))
        .await;
    assert_eq!(a.kind, "daily");
    assert_eq!(a.at.as_deref(), Some("16:05"));
    assert_eq!(a.timezone, "Asia/Shanghai");
    assert_eq!(a.grace, 300);
    assert_eq!(a.tags, ["cert", "sync"]);
    assert_eq!(a.notify, ["ops@example.com", "dev@example.com"]);
    assert_eq!(a.status, "new");
    assert_eq!(a.schedule, "daily 16:05 Asia/Shanghai");
    assert!(
        a.ping_url
            .starts_with("http://hb.test:5827/api/pings?service=")
    );
    app.create_service(json!({"name": "cert check", "kind": "cron", "cron": "0 3 * * 1-5", "timezone": "Europe/Berlin", "tags": "cert"}))
        .await;
    app.create_service(json!({"name": "Sync Photos", "kind": "interval", "period": 7200, "grace": 600, "tags": ["sync"]}))
        .await;

    let names = |v: Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let list = |q: &'static str| {
        let app = &app;
        async move {
            let r = app.get(&format!("/api/v1/services{q}")).await;
            assert_eq!(r.status(), 200);
            names(r.json().await.unwrap())
        }
    };
    // Case-insensitive name order, the same on every database.
    assert_eq!(list("").await, ["cert check", "cert renew", "Sync Photos"]);
    assert_eq!(list("?tag=cert,sync").await, ["cert renew"]);
    assert_eq!(list("?tag=sync").await.len(), 2);
    assert_eq!(list("?tag=nosuchtag").await.len(), 0);
    assert_eq!(list("?q=CERT").await.len(), 2);
    assert_eq!(list("?q=photos").await, ["Sync Photos"]);
    assert_eq!(list("?q=100%25").await.len(), 0);
    assert_eq!(list("?status=new").await.len(), 3);
    assert_eq!(list("?status=down").await.len(), 0);

    let id = &a.id;
    let r = app
        .patch_json(
            &format!("/api/v1/services/{id}"),
            &json!({"name": "cert renew (prod)", "grace": 900, "tags": ["cert"]}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["name"], "cert renew (prod)");
    assert_eq!(v["grace"], 900);
    assert_eq!(v["at"], "16:05");
    // Switching kind needs that kind's field.
    let r = app
        .patch_json(&format!("/api/v1/services/{id}"), &json!({"kind": "cron"}))
        .await;
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["field"], "cron");
    let r = app
        .patch_json(
            &format!("/api/v1/services/{id}"),
            &json!({"kind": "cron", "cron": "*/5 * * * *"}),
        )
        .await;
    assert_eq!(r.status(), 200);

    let r = app
        .post_json(&format!("/api/v1/services/{id}/pause"), &json!({}))
        .await;
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "paused");
    let r = app
        .post_json(&format!("/api/v1/services/{id}/resume"), &json!({}))
        .await;
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "new");

    assert_eq!(
        app.delete(&format!("/api/v1/services/{id}")).await.status(),
        204
    );
    assert_eq!(
        app.get(&format!("/api/v1/services/{id}")).await.status(),
        404
    );
    assert_eq!(
        app.delete(&format!("/api/v1/services/{id}")).await.status(),
        404
    );
}

async fn duplicate_name_is_409(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.interval_service("dup", 60, 60).await;
    let r = app
        .post_json("/api/v1/services", &json!({"name": "dup", "period": 60}))
        .await;
    assert_eq!(r.status(), 409);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["field"], "name");
    assert!(v["error"].as_str().unwrap().contains("already exists"));
    // Renaming onto an existing name too.
    let other = app.interval_service("other", 60, 60).await;
    let r = app
        .patch_json(
            &format!("/api/v1/services/{other}"),
            &json!({"name": "dup"}),
        )
        .await;
    assert_eq!(r.status(), 409);
}

on_every_backend!(crud_and_filters, duplicate_name_is_409);

#[tokio::test]
async fn invalid_input_names_the_field() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let cases = [
        (
            json!({"name": "x", "kind": "interval", "period": 60, "timezone": "Mars/Base"}),
            422,
            "timezone",
        ),
        (
            json!({"name": "x", "kind": "cron", "cron": "61 * * * *"}),
            422,
            "cron",
        ),
        (
            json!({"name": "x", "kind": "cron", "cron": "* * * *"}),
            422,
            "cron",
        ),
        (
            json!({"name": "x", "kind": "daily", "at": "25:00"}),
            422,
            "at",
        ),
        (
            json!({"name": "x", "kind": "daily", "at": "4pm"}),
            422,
            "at",
        ),
        (
            json!({"name": "x", "kind": "interval", "period": 0}),
            422,
            "period",
        ),
        (
            json!({"name": "x", "kind": "interval", "period": 366 * 86400 + 1}),
            422,
            "period",
        ),
        (
            json!({"name": "x", "kind": "interval", "period": 60, "grace": 0}),
            422,
            "grace",
        ),
        (
            json!({"name": "x", "kind": "interval", "period": 60, "grace": 400 * 86400}),
            422,
            "grace",
        ),
        (json!({"name": "x", "kind": "weekly"}), 422, "kind"),
        (json!({"name": "x", "kind": "interval"}), 422, "period"),
        (
            json!({"name": "", "kind": "interval", "period": 60}),
            422,
            "name",
        ),
        (
            json!({"name": "x", "period": 60, "notify": ["not-an-address"]}),
            422,
            "notify",
        ),
        (
            json!({"name": "x", "period": 60, "tags": ["has space"]}),
            422,
            "tags",
        ),
    ];
    for (body, status, field) in cases {
        let r = app.post_json("/api/v1/services", &body).await;
        assert_eq!(r.status(), status, "{body}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["field"], field, "{body}: {v}");
        assert!(v["error"].as_str().unwrap().starts_with(field), "{v}");
        assert!(!v["code"].as_str().unwrap_or_default().is_empty(), "{v}");
    }
    // Codes are stable names a client can act on.
    let r = app
        .post_json(
            "/api/v1/services",
            &json!({"name": "x", "cron": "61 * * * *"}),
        )
        .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "cron_out_of_range", "{v}");
    // Malformed JSON and unknown fields are 400 with a message.
    let r = app
        .client
        .post(app.url("/api/v1/services"))
        .basic_auth(crate::helpers::ADMIN, Some(crate::helpers::PASSWORD))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = app
        .post_json(
            "/api/v1/services",
            &json!({"name": "x", "period": 60, "perod": 5}),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(
        r.json::<Value>().await.unwrap()["error"]
            .as_str()
            .unwrap()
            .contains("perod")
    );
    // Nothing was created by any of them.
    let all: Vec<Value> = app.get("/api/v1/services").await.json().await.unwrap();
    assert!(all.is_empty());
    let body = json!({"name": "dup", "period": 60});
    assert_eq!(app.post_json("/api/v1/services", &body).await.status(), 201);
    let r = app.post_json("/api/v1/services", &body).await;
    assert_eq!(r.status(), 409);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (v["field"].as_str(), v["code"].as_str()),
        (Some("name"), Some("name_taken"))
    );
    // Unknown status filter.
    assert_eq!(
        app.get("/api/v1/services?status=sleeping").await.status(),
        422
    );
}

#[tokio::test]
async fn schedule_preview_endpoint() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let r = app.get("/api/v1/schedule/preview?cron=5+16+*+*+*&tz=Asia/Shanghai&count=3&after=2026-11-21T00:00:00Z").await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["times"],
        json!([
            "2026-11-21T08:05:00Z",
            "2026-11-22T08:05:00Z",
            "2026-11-23T08:05:00Z"
        ])
    );
    let r = app.get("/api/v1/schedule/preview?cron=nope&tz=UTC").await;
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "cron");
    let r = app
        .get("/api/v1/schedule/preview?cron=*+*+*+*+*&tz=Nowhere/City")
        .await;
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "tz");
}
