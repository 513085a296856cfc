//! Snoozes: through the API for services and hosts, and through the ping URL's
//! `/api/pings/snooze` with the job's own credentials. A snooze silences alerts only: the
//! status still changes and shows.
use chrono::Duration;
use heartbeats::domain::role::KeyScope;
use heartbeats_wire::api::Service;
use heartbeats_wire::hosts::Host;
use heartbeats_wire::maintenance::SnoozeAccepted;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Auth, Backend, TestApp, utc};
use crate::host_helpers::refused;
use crate::on_every_backend;

on_every_backend!(
    a_service_is_snoozed_and_unsnoozed_through_the_api,
    the_ping_url_snoozes_with_the_job_credentials,
    snoozes_out_of_range_unknown_services_and_viewers_are_refused,
    a_host_is_snoozed_and_unsnoozed_through_the_api,
);

async fn snooze(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    app.post_json(path, &body).await
}

async fn add_viewer(app: &TestApp) {
    let body = json!({"name": "vera", "password": "vera-password-1", "role": "viewer"});
    assert_eq!(app.post_json("/api/v1/users", &body).await.status(), 201);
}

async fn audit_actions(app: &TestApp, prefix: &str) -> Vec<(String, Option<String>)> {
    let entries: Vec<Value> = app.get("/api/v1/audit").await.json().await.unwrap();
    entries
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with(prefix))
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["detail"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

async fn a_service_is_snoozed_and_unsnoozed_through_the_api(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = app.interval_service("backup", 3600, 300).await;
    app.ping_ok(&id, "").await;
    let path = format!("/api/v1/services/{id}/snooze");
    let resp = snooze(&app, &path, json!({"minutes": 30})).await;
    assert_eq!(resp.status(), 200);
    let s: Service = resp.json().await.unwrap();
    assert_eq!(s.snoozed_until, Some(app.now() + Duration::minutes(30)));
    assert_eq!(app.service(&id).await.snoozed_until, s.snoozed_until);
    // Snoozed, the status still changes and shows.
    app.ping_ok(&id, "disk full").await;
    let s = app.service(&id).await;
    assert_eq!(s.status, "down");
    assert_eq!(s.snoozed_until, Some(app.now() + Duration::minutes(30)));
    // `until` replaces the snooze.
    let s: Service = snooze(&app, &path, json!({"until": "2026-11-03T08:00:00+08:00"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(s.snoozed_until, Some(utc("2026-11-03T00:00:00Z")));
    let resp = app.delete(&path).await;
    assert_eq!(resp.status(), 200);
    let s: Service = resp.json().await.unwrap();
    assert_eq!(s.snoozed_until, None);
    assert_eq!(s.status, "down");
    // Unsnoozing what is not snoozed is fine.
    assert_eq!(app.delete(&path).await.status(), 200);
    assert_eq!(app.service(&id).await.snoozed_until, None);
    let audit = audit_actions(&app, "service.").await;
    let actions: Vec<&str> = audit.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "service.unsnooze",
            "service.unsnooze",
            "service.snooze",
            "service.snooze",
            "service.create"
        ]
    );
    assert_eq!(
        audit[2].1.as_deref(),
        Some("until 2026-11-03T00:00:00+00:00")
    );
}

async fn the_ping_url_snoozes_with_the_job_credentials(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = app.interval_service("backup", 3600, 300).await;
    let url = |q: &str| format!("/api/pings/snooze?{q}");
    // The admin's Basic credentials, GET.
    let resp = app.get(&url(&format!("service={id}&minutes=30"))).await;
    assert_eq!(resp.status(), 200);
    let ok: SnoozeAccepted = resp.json().await.unwrap();
    assert_eq!(
        ok,
        SnoozeAccepted {
            ok: true,
            service: id.clone(),
            snoozed_until: app.now() + Duration::minutes(30),
        }
    );
    // A ping-only key, POST: the credentials a cron job has.
    let admin = heartbeats::app::Actor::cli();
    let key = heartbeats::app::keys::create(
        &app.state.app,
        &admin,
        crate::helpers::ADMIN,
        "cron",
        KeyScope::Ping,
    )
    .await
    .expect("key")
    .key;
    app.advance(Duration::minutes(1));
    let resp = app
        .request_as(
            Method::POST,
            &url(&format!("service={id}&minutes=120")),
            Auth::Bearer(&key),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        app.service(&id).await.snoozed_until,
        Some(app.now() + Duration::minutes(120))
    );
    // …which may not use the API's snooze.
    let resp = app
        .request_as(
            Method::DELETE,
            &format!("/api/v1/services/{id}/snooze"),
            Auth::Bearer(&key),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    // Refusals.
    let cases = [
        (
            format!("service={id}&minutes=abc"),
            422,
            Some("minutes"),
            "not_a_number",
        ),
        (
            format!("service={id}&minutes=0"),
            422,
            Some("minutes"),
            "out_of_range",
        ),
        (
            format!("service={id}&minutes=43201"),
            422,
            Some("minutes"),
            "out_of_range",
        ),
        (format!("service={id}"), 422, Some("minutes"), "required"),
        ("minutes=30".to_owned(), 422, Some("service"), "required"),
        ("service=nope&minutes=30".to_owned(), 404, None, "not_found"),
    ];
    for (q, status, field, code) in cases {
        let resp = app.get(&url(&q)).await;
        assert_eq!(
            refused(resp).await,
            (status, field.map(str::to_owned), Some(code.to_owned())),
            "{q}"
        );
    }
    let resp = app
        .request_as(
            Method::GET,
            &url(&format!("service={id}&minutes=30")),
            Auth::None,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().contains_key("www-authenticate"));
    add_viewer(&app).await;
    let resp = app
        .request_as(
            Method::GET,
            &url(&format!("service={id}&minutes=5")),
            Auth::Basic("vera", "vera-password-1"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(refused(resp).await, (403, None, Some("forbidden".into())));
    assert_eq!(
        app.service(&id).await.snoozed_until,
        Some(app.now() + Duration::minutes(120)),
        "nothing refused changed the snooze"
    );
}

async fn snoozes_out_of_range_unknown_services_and_viewers_are_refused(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = app.interval_service("backup", 3600, 300).await;
    let path = format!("/api/v1/services/{id}/snooze");
    let cases = [
        (json!({"minutes": 0}), "minutes", "out_of_range"),
        (json!({"minutes": -5}), "minutes", "out_of_range"),
        (json!({"minutes": 43201}), "minutes", "out_of_range"),
        (json!({}), "minutes", "required"),
        (json!({"until": "soon"}), "until", "bad_time"),
        (
            json!({"until": "2026-11-01T00:00:00Z"}),
            "until",
            "out_of_range",
        ),
        (
            json!({"until": "2026-12-03T00:00:00Z"}),
            "until",
            "out_of_range",
        ),
        (
            json!({"minutes": 5, "until": "2026-11-02T01:00:00Z"}),
            "until",
            "conflicting_fields",
        ),
    ];
    for (body, field, code) in cases {
        let resp = snooze(&app, &path, body.clone()).await;
        assert_eq!(
            refused(resp).await,
            (422, Some(field.to_owned()), Some(code.to_owned())),
            "{body}"
        );
    }
    // 30 days exactly is the longest.
    let resp = snooze(&app, &path, json!({"minutes": 43200})).await;
    assert_eq!(resp.status(), 200);
    let resp = snooze(&app, &path, json!({"minutes": "30"})).await;
    assert_eq!(refused(resp).await.0, 400, "a wrong type is a bad body");
    for m in [Method::POST, Method::DELETE] {
        let resp = app
            .request(m.clone(), "/api/v1/services/nope/snooze")
            .json(&json!({"minutes": 30}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            refused(resp).await,
            (404, None, Some("not_found".into())),
            "{m}"
        );
    }
    add_viewer(&app).await;
    for m in [Method::POST, Method::DELETE] {
        let resp = app
            .request_as(m.clone(), &path, Auth::Basic("vera", "vera-password-1"))
            .json(&json!({"minutes": 30}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            refused(resp).await,
            (403, None, Some("forbidden".into())),
            "{m}"
        );
    }
    assert_eq!(
        app.service(&id).await.snoozed_until,
        Some(app.now() + Duration::days(30))
    );
}

async fn a_host_is_snoozed_and_unsnoozed_through_the_api(b: Backend) {
    let app = TestApp::spawn(b).await;
    let host = app.create_host(json!({"name": "gpu-01"})).await;
    let path = format!("/api/v1/hosts/{}/snooze", host.id);
    let resp = snooze(&app, &path, json!({"minutes": 60})).await;
    assert_eq!(resp.status(), 200);
    let h: Host = resp.json().await.unwrap();
    assert_eq!(h.snoozed_until, Some(app.now() + Duration::hours(1)));
    assert_eq!(app.host(&host.id).await.snoozed_until, h.snoozed_until);
    let resp = snooze(&app, &path, json!({"minutes": 0})).await;
    assert_eq!(
        refused(resp).await,
        (422, Some("minutes".into()), Some("out_of_range".into()))
    );
    let resp = snooze(&app, "/api/v1/hosts/nope/snooze", json!({"minutes": 5})).await;
    assert_eq!(refused(resp).await, (404, None, Some("not_found".into())));
    add_viewer(&app).await;
    let resp = app
        .request_as(
            Method::DELETE,
            &path,
            Auth::Basic("vera", "vera-password-1"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let resp = app.delete(&path).await;
    assert_eq!(resp.status(), 200);
    let h: Host = resp.json().await.unwrap();
    assert_eq!(h.snoozed_until, None);
    assert_eq!(app.host(&host.id).await.snoozed_until, None);
    let actions: Vec<String> = audit_actions(&app, "host.s")
        .await
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    assert_eq!(actions, ["host.snooze"]);
    let actions: Vec<String> = audit_actions(&app, "host.uns")
        .await
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    assert_eq!(actions, ["host.unsnooze"]);
}

#[tokio::test]
async fn the_service_and_host_pages_snooze_and_unsnooze() {
    use crate::ui_helpers::Browser;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = app.interval_service("backup", 3600, 300).await;
    let host = app.create_host(json!({"name": "gpu-01"})).await;
    let mut b = Browser::signed_in(&app).await;
    for (page_path, api) in [
        (format!("/services/{id}"), format!("/api/v1/services/{id}")),
        (
            format!("/hosts/{}", host.id),
            format!("/api/v1/hosts/{}", host.id),
        ),
    ] {
        let page = b.get(&page_path).await;
        assert_eq!(page.status, 200);
        page.assert_contains("name=\"minutes\" value=\"30\"");
        assert!(!page.contains("Snoozed until"), "not snoozed yet");
        let resp = b
            .submit(
                &page_path,
                &format!("{page_path}/snooze"),
                &[("minutes", "240")],
            )
            .await;
        assert_eq!(resp.status, 303, "{}", resp.body);
        let page = b.get(&page_path).await;
        page.assert_contains("Snoozed until");
        page.assert_contains("id=\"unsnooze\"");
        let v: Value = app.get(&api).await.json().await.unwrap();
        assert_eq!(
            v["snoozed_until"].as_str().map(utc),
            Some(app.now() + Duration::hours(4))
        );
        let resp = b
            .submit(&page_path, &format!("{page_path}/snooze/clear"), &[])
            .await;
        assert_eq!(resp.status, 303);
        let v: Value = app.get(&api).await.json().await.unwrap();
        assert_eq!(v["snoozed_until"], Value::Null);
        // Without the CSRF token nothing changes.
        let resp = b
            .post(&format!("{page_path}/snooze"), &[("minutes", "30")])
            .await;
        assert_ne!(resp.status, 303);
        b.set_cookie("hb_lang", "zh");
        b.submit(
            &page_path,
            &format!("{page_path}/snooze"),
            &[("minutes", "30")],
        )
        .await;
        b.get(&page_path).await.assert_contains("静默至");
        b.set_cookie("hb_lang", "en");
    }
    // A snooze that has ended is not shown.
    app.advance(Duration::minutes(31));
    assert!(
        !b.get(&format!("/services/{id}"))
            .await
            .contains("Snoozed until")
    );
}
