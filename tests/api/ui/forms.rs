//! The service form: escaping, validation next to each field, create/edit/pause/resume/delete, the schedule preview.
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::ui_helpers::{Browser, input_value};

#[tokio::test]
async fn names_render_as_text_not_markup() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let evil = "<script>alert(1)</script>";
    let svc = app
        .create_service(json!({"name": evil, "kind": "interval", "period": 60, "tags": ["x"]}))
        .await;
    let id = &svc.id;
    app.ping_ok(id, "<img src=x onerror=alert(2)>").await;
    let mut b = Browser::signed_in(&app).await;
    for path in [
        "/".to_owned(),
        "/ui/rows".into(),
        format!("/services/{id}"),
        format!("/services/{id}/edit"),
        format!("/services/{id}/delete"),
        format!("/?q={}", "%3Cscript%3E"),
    ] {
        let page = b.get(&path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(!page.contains(evil), "{path} has raw markup");
        assert!(!page.contains("<img src=x"), "{path} has raw markup");
        page.assert_contains("&#60;script&#62;alert(1)&#60;/script&#62;");
    }
    let page = b.get(&format!("/services/{id}")).await;
    page.assert_contains("&#60;img src=x onerror=alert(2)&#62;");
    // Every page forbids inline scripts as a second line of defence.
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"));
}

#[tokio::test]
async fn validation_errors_sit_next_to_their_fields_and_keep_the_input() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut b = Browser::signed_in(&app).await;
    let page = b
        .submit(
            "/services/new",
            "/services/new",
            &[
                ("name", "my nightly job"),
                ("kind", "cron"),
                ("cron", "61 * * * *"),
                ("timezone", "Europe/Berlin"),
                ("grace", "0"),
                ("grace_unit", "min"),
                ("tags", "db, bad tag"),
                ("notify", "ops@example.com, nope"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    page.assert_contains("Please correct the marked fields.");
    page.assert_contains(
        r#"<p class="error" id="cron-err">minute field: 61 is out of range 0-59</p>"#,
    );
    page.assert_contains(
        r#"<p class="error" id="grace-err">must be between 1 second and 366 days</p>"#,
    );
    page.assert_contains(r#"id="tags-err""#);
    page.assert_contains(r#"id="notify-err">&#39;nope&#39; is not an email address"#);
    assert_eq!(
        input_value(&page.body, "name").as_deref(),
        Some("my nightly job")
    );
    assert_eq!(
        input_value(&page.body, "cron").as_deref(),
        Some("61 * * * *")
    );
    assert_eq!(
        input_value(&page.body, "tags").as_deref(),
        Some("db, bad tag")
    );
    assert_eq!(
        input_value(&page.body, "notify").as_deref(),
        Some("ops@example.com, nope")
    );
    page.assert_contains(r#"value="cron" id="kind-cron" checked"#);
    page.assert_contains("<option selected>Europe/Berlin</option>");
    page.assert_contains(r#"aria-invalid="true""#);
    // The preview says plainly what is wrong.
    page.assert_contains("Invalid schedule: minute field: 61 is out of range 0-59");
    // Nothing was created.
    assert!(
        app.get("/api/v1/services")
            .await
            .json::<Vec<Value>>()
            .await
            .unwrap()
            .is_empty()
    );

    // A daily time, an empty period, a duplicate name.
    app.interval_service("taken", 60, 60).await;
    let page = b
        .submit(
            "/services/new",
            "/services/new",
            &[
                ("name", "taken"),
                ("kind", "daily"),
                ("at", "4pm"),
                ("grace", "5"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    page.assert_contains(r#"id="at-err">expected HH:MM, e.g. 16:05"#);
    let page = b
        .submit(
            "/services/new",
            "/services/new",
            &[
                ("name", "taken"),
                ("kind", "interval"),
                ("period", ""),
                ("grace", "5"),
            ],
        )
        .await;
    page.assert_contains(r#"id="period-err">is required"#);
    let page = b
        .submit(
            "/services/new",
            "/services/new",
            &[
                ("name", "taken"),
                ("kind", "interval"),
                ("period", "5"),
                ("period_unit", "min"),
                ("grace", "5"),
                ("timezone", "Asia/Shanghai"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    page.assert_contains(r#"id="name-err">a service with this name already exists"#);
}

#[tokio::test]
async fn create_edit_pause_resume_and_delete_through_the_forms() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut b = Browser::signed_in(&app).await;
    let id = b
        .create_service(&[
            ("name", "db backup"),
            ("kind", "daily"),
            ("at", "16:05"),
            ("timezone", "Asia/Shanghai"),
            ("grace", "10"),
            ("grace_unit", "min"),
            ("tags", "DB, backup"),
            ("notify", "ops@example.com"),
        ])
        .await;
    let svc = app.service(&id).await;
    assert_eq!(svc.schedule, "daily 16:05 Asia/Shanghai");
    assert_eq!(svc.grace, 600);
    assert_eq!(svc.tags, ["db", "backup"]);
    let page = b.get(&format!("/services/{id}")).await;
    page.assert_contains("Service created.");
    page.assert_contains("daily 16:05 Asia/Shanghai, grace 10 min");
    page.assert_contains(&format!("http://hb.test:5827/api/pings?service={id}"));
    page.assert_contains(&format!("curl -fsS -m 10 --retry 3 -H &#39;Authorization: Bearer hb_YOUR_KEY&#39; -X POST &#39;http://hb.test:5827/api/pings?service={id}&#38;data=&#39;"));
    assert!(
        !page.body.contains("PASSWORD"),
        "no password in any snippet"
    );
    page.assert_contains("5 16 * * * /path/to/job.sh");
    page.assert_contains(&format!(
        "server:\n  url: http://hb.test:5827\n  service: {id}\n  api_key: hb_YOUR_KEY"
    ));
    // The flash shows once.
    assert!(
        !b.get(&format!("/services/{id}"))
            .await
            .contains("Service created.")
    );

    // The edit form shows the stored values, in the units they read best in.
    let edit = b.get(&format!("/services/{id}/edit")).await;
    assert_eq!(input_value(&edit.body, "at").as_deref(), Some("16:05"));
    assert_eq!(input_value(&edit.body, "grace").as_deref(), Some("10"));
    assert_eq!(
        input_value(&edit.body, "tags").as_deref(),
        Some("db, backup")
    );
    let page = b
        .submit(
            &format!("/services/{id}/edit"),
            &format!("/services/{id}/edit"),
            &[
                ("name", "db backup (prod)"),
                ("kind", "interval"),
                ("period", "2"),
                ("period_unit", "h"),
                ("timezone", "Europe/Berlin"),
                ("grace", "5"),
                ("grace_unit", "min"),
                ("tags", "db"),
                ("notify", ""),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    let svc = app.service(&id).await;
    assert_eq!(svc.name, "db backup (prod)");
    assert_eq!(svc.kind, "interval");
    assert_eq!(svc.period, Some(7200));
    assert_eq!(svc.timezone, "Europe/Berlin");
    assert!(svc.notify.is_empty(), "{:?}", svc.notify);

    let page = b
        .submit(
            &format!("/services/{id}"),
            &format!("/services/{id}/pause"),
            &[],
        )
        .await;
    assert_eq!(page.location(), Some(format!("/services/{id}").as_str()));
    assert_eq!(app.status(&id).await, "paused");
    let page = b.get(&format!("/services/{id}")).await;
    page.assert_contains("Paused: no alerts are sent.");
    page.assert_contains(&format!(r#"action="/services/{id}/resume""#));
    b.submit(
        &format!("/services/{id}"),
        &format!("/services/{id}/resume"),
        &[],
    )
    .await;
    assert_eq!(app.status(&id).await, "new");

    // Delete asks first, on a page of its own (no script needed).
    let confirm = b.get(&format!("/services/{id}/delete")).await;
    assert_eq!(confirm.status, 200);
    confirm.assert_contains("Delete this service?");
    let page = b
        .submit(
            &format!("/services/{id}/delete"),
            &format!("/services/{id}/delete"),
            &[],
        )
        .await;
    assert_eq!(page.location(), Some("/"));
    let list = b.get("/").await;
    list.assert_contains("Deleted “db backup (prod)”.");
    assert_eq!(
        app.get(&format!("/api/v1/services/{id}")).await.status(),
        404
    );
    let gone = b.get(&format!("/services/{id}")).await;
    assert_eq!(gone.status, 404);
    gone.assert_contains("This page does not exist");
}

#[tokio::test]
async fn the_preview_lists_due_times_or_says_what_is_wrong() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut b = Browser::signed_in(&app).await;
    let page = b
        .get("/ui/preview?kind=cron&cron=0+3+*+*+1-5&timezone=Europe%2FBerlin")
        .await;
    assert_eq!(page.status, 200);
    let v: Value = serde_json::from_str(&page.body).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(
        v["summary"],
        "weekdays at 03:00 · 0 3 * * 1-5 · Europe/Berlin"
    );
    assert_eq!(v["times"].as_array().unwrap().len(), 5);
    assert_eq!(v["times"][0]["local"], "2026-11-02 Mon 03:00 UTC+1");
    assert_eq!(v["times"][0]["utc"], "2026-11-02 02:00:00 UTC");
    let v: Value = serde_json::from_str(
        &b.get("/ui/preview?kind=cron&cron=61+*+*+*+*&timezone=UTC")
            .await
            .body,
    )
    .unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["field"], "cron");
    assert_eq!(v["error"], "minute field: 61 is out of range 0-59");
    let v: Value = serde_json::from_str(
        &b.get("/ui/preview?kind=daily&at=16:05&timezone=Asia%2FShanghai")
            .await
            .body,
    )
    .unwrap();
    assert_eq!(v["times"][0]["local"], "2026-11-02 Mon 16:05 UTC+8");
    let v: Value = serde_json::from_str(
        &b.get("/ui/preview?kind=interval&period=90&period_unit=min&timezone=UTC")
            .await
            .body,
    )
    .unwrap();
    assert!(
        v["summary"]
            .as_str()
            .unwrap()
            .starts_with("Due 90 min after each ping")
    );
}
