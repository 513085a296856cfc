//! Maintenance windows over the API: create, read, list, change, delete; every refusal
//! with its code; a viewer reads them and changes nothing.
use chrono::Duration;
use heartbeats_wire::maintenance::Window;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Auth, Backend, TestApp, utc};
use crate::host_helpers::refused;
use crate::on_every_backend;

on_every_backend!(
    windows_are_created_read_listed_changed_and_deleted,
    every_refusal_names_its_field_and_code,
    a_viewer_reads_windows_and_changes_none,
    a_stored_window_that_no_longer_parses_is_skipped,
);

fn sunday_patching() -> Value {
    json!({
        "name": "Sunday patching",
        "tags": ["Room:725"],
        "applies_to": "hosts",
        "repeat": "weekly",
        "days": ["sun"],
        "start_time": "02:00",
        "duration": 7200,
        "timezone": "Asia/Shanghai",
    })
}

async fn create(app: &TestApp, body: &Value) -> Window {
    let resp = app.post_json("/api/v1/maintenance", body).await;
    let status = resp.status();
    let text = resp.text().await.expect("body");
    assert_eq!(status, 201, "{text}");
    serde_json::from_str(&text).expect("a window")
}

async fn audit_actions(app: &TestApp) -> Vec<String> {
    let entries: Vec<Value> = app.get("/api/v1/audit").await.json().await.unwrap();
    entries
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .filter(|a| a.starts_with("maintenance."))
        .collect()
}

async fn windows_are_created_read_listed_changed_and_deleted(b: Backend) {
    // The clock starts on Monday 2026-11-02 00:00 UTC.
    let app = TestApp::spawn(b).await;
    let w = create(&app, &sunday_patching()).await;
    assert_eq!(w.name, "Sunday patching");
    assert_eq!(w.tags, ["room:725"]);
    assert_eq!(w.applies_to, "hosts");
    assert_eq!(w.repeat, "weekly");
    assert_eq!(w.days, ["sun"]);
    assert_eq!(w.start_time.as_deref(), Some("02:00"));
    assert_eq!(w.duration, Some(7200));
    assert_eq!(w.timezone, "Asia/Shanghai");
    assert_eq!((w.starts_at, w.ends_at), (None, None));
    assert_eq!(w.active_until, None);
    // Sunday 02:00 in Shanghai is Saturday 18:00 UTC.
    assert_eq!(w.next_start, Some(utc("2026-11-07T18:00:00Z")));
    // The JSON carries every field, nulls included.
    let raw: Value = app
        .get(&format!("/api/v1/maintenance/{}", w.id))
        .await
        .json()
        .await
        .unwrap();
    for key in ["starts_at", "ends_at", "active_until"] {
        assert_eq!(raw[key], Value::Null, "{key}: {raw}");
    }

    let other = create(
        &app,
        &json!({"name": "Airport move", "repeat": "once",
                "starts_at": "2026-11-03T09:00", "ends_at": "2026-11-03T18:00:00+08:00"}),
    )
    .await;
    // A local time in the default zone (Asia/Shanghai), RFC 3339 as given.
    assert_eq!(other.starts_at, Some(utc("2026-11-03T01:00:00Z")));
    assert_eq!(other.ends_at, Some(utc("2026-11-03T10:00:00Z")));
    assert_eq!(other.applies_to, "all");
    assert_eq!(other.timezone, "Asia/Shanghai");
    let list: Vec<Window> = app.get("/api/v1/maintenance").await.json().await.unwrap();
    let names: Vec<&str> = list.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["Airport move", "Sunday patching"], "by name");

    // Inside the window, it says until when.
    app.advance(Duration::days(5) + Duration::hours(19));
    let now: Window = app
        .get(&format!("/api/v1/maintenance/{}", w.id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(now.active_until, Some(utc("2026-11-07T20:00:00Z")));
    assert_eq!(now.next_start, Some(utc("2026-11-14T18:00:00Z")));

    // PATCH changes what was sent; the rest stays.
    let resp = app
        .patch_json(
            &format!("/api/v1/maintenance/{}", w.id),
            &json!({"repeat": "daily", "start_time": "01:30", "duration": 3600}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let changed: Window = resp.json().await.unwrap();
    assert_eq!(changed.id, w.id);
    assert_eq!(changed.name, "Sunday patching");
    assert_eq!(changed.tags, ["room:725"]);
    assert_eq!(changed.repeat, "daily");
    assert_eq!(changed.days, Vec::<String>::new());
    assert_eq!(changed.start_time.as_deref(), Some("01:30"));
    // 01:30 to 02:30 Shanghai: now (Sunday 03:00) it is over.
    assert_eq!(changed.active_until, None);
    let again: Window = app
        .get(&format!("/api/v1/maintenance/{}", w.id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again, changed, "stored as answered");

    assert_eq!(
        app.delete(&format!("/api/v1/maintenance/{}", w.id))
            .await
            .status(),
        204
    );
    for (m, body) in [
        (Method::GET, Value::Null),
        (Method::DELETE, Value::Null),
        (Method::PATCH, json!({"name": "x"})),
    ] {
        let resp = app
            .request(m.clone(), &format!("/api/v1/maintenance/{}", w.id))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            refused(resp).await,
            (404, None, Some("not_found".into())),
            "{m}"
        );
    }
    assert_eq!(
        audit_actions(&app).await,
        [
            "maintenance.delete",
            "maintenance.update",
            "maintenance.create",
            "maintenance.create"
        ]
    );
}

async fn every_refusal_names_its_field_and_code(b: Backend) {
    let app = TestApp::spawn(b).await;
    let with = |patch: Value| {
        let mut body = sunday_patching();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let once =
        |from: &str, to: &str| with(json!({"repeat": "once", "starts_at": from, "ends_at": to}));
    let cases = [
        (with(json!({"name": ""})), "name", "required"),
        (with(json!({"name": "x".repeat(201)})), "name", "too_long"),
        (
            with(json!({"name": "a\u{200b}b"})),
            "name",
            "control_characters",
        ),
        (with(json!({"tags": ["a b"]})), "tags", "tag_characters"),
        (
            with(json!({"tags": ["x".repeat(51)]})),
            "tags",
            "tag_too_long",
        ),
        (
            with(json!({"applies_to": "printers"})),
            "applies_to",
            "unknown_value",
        ),
        (with(json!({"repeat": ""})), "repeat", "required"),
        (
            with(json!({"repeat": "monthly"})),
            "repeat",
            "unknown_value",
        ),
        (
            with(json!({"timezone": "Mars/Olympus"})),
            "timezone",
            "unknown_time_zone",
        ),
        (
            with(json!({"start_time": "2:00"})),
            "start_time",
            "bad_time_of_day",
        ),
        (with(json!({"start_time": null})), "start_time", "required"),
        (with(json!({"duration": 59})), "duration", "out_of_range"),
        (
            with(json!({"duration": 7 * 86400 + 1})),
            "duration",
            "out_of_range",
        ),
        (
            with(json!({"repeat": "daily", "duration": 86401})),
            "duration",
            "out_of_range",
        ),
        (with(json!({"duration": null})), "duration", "required"),
        (with(json!({"days": []})), "days", "required"),
        (
            with(json!({"days": ["sun", "funday"]})),
            "days",
            "unknown_value",
        ),
        (once("", "2026-11-03T10:00"), "starts_at", "required"),
        (once("2026-11-03T10:00", "later"), "ends_at", "bad_time"),
        (
            once("2026-11-03T10:00", "2026-11-03T09:00"),
            "ends_at",
            "time_order",
        ),
        (
            once("2026-11-03T00:00:00Z", "2026-12-04T00:00:01Z"),
            "ends_at",
            "out_of_range",
        ),
    ];
    for (body, field, code) in cases {
        let resp = app.post_json("/api/v1/maintenance", &body).await;
        assert_eq!(
            refused(resp).await,
            (422, Some(field.to_owned()), Some(code.to_owned())),
            "{body}"
        );
    }
    // An unknown field or a wrong type is a bad body.
    let resp = app
        .post_json("/api/v1/maintenance", &with(json!({"colour": "red"})))
        .await;
    assert_eq!(refused(resp).await.0, 400);
    // PATCH refuses the same way and keeps the window as it was.
    let w = create(&app, &sunday_patching()).await;
    let resp = app
        .patch_json(
            &format!("/api/v1/maintenance/{}", w.id),
            &json!({"duration": 0}),
        )
        .await;
    assert_eq!(
        refused(resp).await,
        (422, Some("duration".into()), Some("out_of_range".into()))
    );
    let list: Vec<Window> = app.get("/api/v1/maintenance").await.json().await.unwrap();
    assert_eq!(list, [w], "nothing refused was stored");
}

async fn a_viewer_reads_windows_and_changes_none(b: Backend) {
    let app = TestApp::spawn(b).await;
    let w = create(&app, &sunday_patching()).await;
    let body = json!({"name": "vera", "password": "vera-password-1", "role": "viewer"});
    assert_eq!(app.post_json("/api/v1/users", &body).await.status(), 201);
    let as_vera = |m: Method, p: &str| app.request_as(m, p, Auth::Basic("vera", "vera-password-1"));
    let resp = as_vera(Method::GET, "/api/v1/maintenance")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Vec<Window>>().await.unwrap().len(), 1);
    let one = format!("/api/v1/maintenance/{}", w.id);
    assert_eq!(
        as_vera(Method::GET, &one).send().await.unwrap().status(),
        200
    );
    for (m, p) in [
        (Method::POST, "/api/v1/maintenance"),
        (Method::PATCH, one.as_str()),
        (Method::DELETE, one.as_str()),
    ] {
        let resp = as_vera(m.clone(), p)
            .json(&sunday_patching())
            .send()
            .await
            .unwrap();
        assert_eq!(
            refused(resp).await,
            (403, None, Some("forbidden".into())),
            "{m} {p}"
        );
    }
    let list: Vec<Window> = app.get("/api/v1/maintenance").await.json().await.unwrap();
    assert_eq!(list, [w], "nothing changed");
    // Without credentials: 401.
    let resp = app
        .request_as(Method::GET, "/api/v1/maintenance", Auth::None)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

async fn a_stored_window_that_no_longer_parses_is_skipped(b: Backend) {
    use heartbeats::entity::maintenance_windows::ActiveModel;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let app = TestApp::spawn(b).await;
    let good = create(&app, &sunday_patching()).await;
    // As if a zone had left the zone database, or someone edited the row by hand.
    ActiveModel {
        id: Set("broken".into()),
        name: Set("Broken".into()),
        tags: Set(String::new()),
        applies_to: Set("all".into()),
        repeat_kind: Set("daily".into()),
        starts_at: Set(None),
        ends_at: Set(None),
        days: Set(None),
        start_time: Set(Some("02:00".into())),
        duration_secs: Set(Some(3600)),
        timezone: Set("Atlantis/Capital".into()),
        created_at: Set(0),
        updated_at: Set(0),
    }
    .insert(&app.db)
    .await
    .expect("a raw row");
    let windows = heartbeats::store::maintenance::all_windows(&app.db)
        .await
        .unwrap();
    let ids: Vec<&str> = windows.iter().map(|w| w.id.as_str()).collect();
    assert_eq!(ids, [good.id.as_str()]);
    let list: Vec<Window> = app.get("/api/v1/maintenance").await.json().await.unwrap();
    assert_eq!(list, [good]);
    // It can still be deleted.
    assert_eq!(app.delete("/api/v1/maintenance/broken").await.status(), 204);
}

#[tokio::test]
async fn the_page_adds_edits_and_deletes_windows_in_both_languages() {
    use crate::ui_helpers::Browser;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut b = Browser::signed_in(&app).await;
    let page = b.get("/maintenance").await;
    assert_eq!(page.status, 200);
    page.assert_contains("No maintenance windows yet.");
    page.assert_contains("href=\"/maintenance\" aria-current=\"page\"");
    // A weekly window, Sunday 02:00 for 2 h, in Shanghai.
    let form = [
        ("name", "Sunday patching"),
        ("repeat", "weekly"),
        ("days", "sun"),
        ("days", "sat"),
        ("start_time", "02:00"),
        ("duration", "2"),
        ("duration_unit", "h"),
        ("timezone", "Asia/Shanghai"),
        ("applies_to", "hosts"),
        ("tags", "room:725, gpu"),
        ("starts_at", ""),
        ("ends_at", ""),
    ];
    let resp = b.submit("/maintenance", "/maintenance", &form).await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    let page = b.get("/maintenance").await;
    page.assert_contains("Sunday patching");
    page.assert_contains("Sat, Sun 02:00 · 2 h (Asia/Shanghai)");
    // Monday 00:00 UTC: next is Saturday 02:00 local.
    page.assert_contains("Next: <time datetime=\"2026-11-06T18:00:00Z\"");
    let list: Vec<Window> = app.get("/api/v1/maintenance").await.json().await.unwrap();
    assert_eq!(list.len(), 1);
    let w = &list[0];
    assert_eq!(
        (w.days.clone(), w.duration),
        (vec!["sat".to_owned(), "sun".to_owned()], Some(7200))
    );
    assert_eq!(w.tags, ["room:725", "gpu"]);

    // Refusals come back next to their fields, with what was typed.
    let bad = [
        ("name", ""),
        ("repeat", "weekly"),
        ("start_time", "2:00"),
        ("duration", "two"),
        ("duration_unit", "h"),
        ("timezone", "Asia/Shanghai"),
    ];
    let resp = b.submit("/maintenance", "/maintenance", &bad).await;
    assert_eq!(resp.status, 422);
    resp.assert_contains("id=\"duration-err\">must be a whole number");
    let resp = b
        .submit(
            "/maintenance",
            "/maintenance",
            &[
                ("name", "x"),
                ("repeat", "weekly"),
                ("start_time", "2:00"),
                ("duration", "2"),
                ("duration_unit", "h"),
            ],
        )
        .await;
    assert_eq!(resp.status, 422);
    resp.assert_contains("id=\"start_time-err\"");
    resp.assert_contains("id=\"days-err\"");
    resp.assert_contains("value=\"2:00\"");

    // Edit: the form is filled in; a one-off window in local time.
    let edit = format!("/maintenance/{}/edit", w.id);
    let page = b.get(&edit).await;
    assert_eq!(page.status, 200);
    page.assert_contains("Edit window");
    page.assert_contains("id=\"day-sun\" checked");
    let resp = b
        .submit(
            &edit,
            &edit,
            &[
                ("name", "Airport move"),
                ("repeat", "once"),
                ("starts_at", "2026-11-02T09:00"),
                ("ends_at", "2026-11-02T18:00"),
                ("timezone", "Asia/Shanghai"),
                ("applies_to", "all"),
                ("tags", ""),
                ("duration", "2"),
                ("duration_unit", "h"),
            ],
        )
        .await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    app.advance(Duration::hours(2));
    let page = b.get("/maintenance").await;
    page.assert_contains("Airport move");
    page.assert_contains("2026-11-02 09:00 → 2026-11-02 18:00 (Asia/Shanghai)");
    page.assert_contains("Active now, until");

    // In Chinese.
    b.set_cookie("hb_lang", "zh");
    let page = b.get("/maintenance").await;
    page.assert_contains("维护时段");
    page.assert_contains("进行中，直到");
    page.assert_contains("添加维护时段");

    let resp = b
        .submit(
            "/maintenance",
            &format!("/maintenance/{}/delete", w.id),
            &[],
        )
        .await;
    assert_eq!(resp.status, 303);
    let list: Vec<Window> = app.get("/api/v1/maintenance").await.json().await.unwrap();
    assert!(list.is_empty());
}
