//! Roles and key scopes, checked in the use cases for every front end, and the audit log.
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN, Auth, Backend, TestApp};
use crate::ui_helpers::Browser;

async fn status(req: reqwest::RequestBuilder) -> u16 {
    req.send().await.expect("request").status().as_u16()
}

/// Add a user through the admin API.
async fn add_user(app: &TestApp, name: &str, role: &str) {
    let body = json!({"name": name, "password": format!("{name}-password-1"), "role": role});
    let resp = app.post_json("/api/v1/users", &body).await;
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
}

/// An API key of `user` with `scope`, made by the admin.
async fn key_for(app: &TestApp, user: &str, scope: heartbeats::domain::role::KeyScope) -> String {
    let admin = heartbeats::app::Actor::cli();
    heartbeats::app::keys::create(&app.state.app, &admin, user, "test", scope)
        .await
        .expect("key")
        .key
}

#[tokio::test]
async fn a_viewer_reads_but_changes_nothing_anywhere() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = app.interval_service("backup", 3600, 300).await;
    add_user(&app, "vera", "viewer").await;
    let vera = Auth::Basic("vera", "vera-password-1");
    let as_vera = |m: Method, p: &str| app.request_as(m, p, Auth::Basic("vera", "vera-password-1"));
    assert_eq!(status(as_vera(Method::GET, "/api/v1/services")).await, 200);
    assert_eq!(
        status(as_vera(Method::GET, &format!("/api/v1/services/{id}"))).await,
        200
    );
    assert_eq!(status(as_vera(Method::GET, "/api/v1/alerts")).await, 200);
    let resp = as_vera(Method::POST, "/api/v1/services")
        .json(&json!({"name": "x", "period": 60}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["code"], "forbidden", "{v}");
    for (m, p) in [
        (Method::PATCH, format!("/api/v1/services/{id}")),
        (Method::DELETE, format!("/api/v1/services/{id}")),
        (Method::POST, format!("/api/v1/services/{id}/pause")),
        (Method::GET, "/api/v1/users".to_owned()),
        (Method::GET, "/api/v1/audit".to_owned()),
    ] {
        let req = as_vera(m.clone(), &p).json(&json!({"name": "renamed"}));
        assert_eq!(status(req).await, 403, "{m} {p}");
    }
    assert_eq!(app.ping_as(&id, vera).await.status(), 403);
    assert_eq!(app.service(&id).await.name, "backup", "nothing changed");

    // The same in the web UI: no buttons, and the forms refuse.
    let mut b = Browser::new(&app);
    assert_eq!(b.sign_in("vera", "vera-password-1").await.status, 303);
    let page = b.get("/").await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains(r#"href="/services/new""#));
    let page = b.get(&format!("/services/{id}")).await;
    assert!(
        !page.body.contains("/edit\""),
        "no edit button for a viewer"
    );
    assert_eq!(b.get("/services/new").await.status, 403);
    assert_eq!(b.get(&format!("/services/{id}/edit")).await.status, 403);
    let page = b
        .submit("/account", &format!("/services/{id}/pause"), &[])
        .await;
    assert_eq!(page.status, 403);
    assert_eq!(b.get("/users").await.status, 403);
    assert_eq!(b.get("/audit").await.status, 403);
    assert!(!b.get("/").await.body.contains(r#"href="/users""#));
    // A viewer still manages their own password.
    let page = b
        .submit(
            "/account",
            "/account/password",
            &[
                ("current", "vera-password-1"),
                ("new", "vera-password-2"),
                ("confirm", "vera-password-2"),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
}

#[tokio::test]
async fn a_member_changes_services_but_not_users() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    add_user(&app, "mia", "member").await;
    let as_mia = |m: Method, p: &str| app.request_as(m, p, Auth::Basic("mia", "mia-password-1"));
    let resp = as_mia(Method::POST, "/api/v1/services")
        .json(&json!({"name": "nightly", "cron": "0 3 * * *"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let id = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        status(as_mia(
            Method::POST,
            &format!("/api/v1/services/{id}/pause")
        ))
        .await,
        200
    );
    assert_eq!(
        app.ping_as(&id, Auth::Basic("mia", "mia-password-1"))
            .await
            .status(),
        200
    );
    assert_eq!(status(as_mia(Method::GET, "/api/v1/users")).await, 403);
    let req = as_mia(Method::PATCH, "/api/v1/users/mia").json(&json!({"role": "admin"}));
    assert_eq!(status(req).await, 403, "no promoting oneself");
    let mut b = Browser::new(&app);
    b.sign_in("mia", "mia-password-1").await;
    assert_eq!(b.get("/users").await.status, 403);
    let page = b
        .submit(
            "/account",
            "/users",
            &[("name", "x"), ("password", "x-password-1")],
        )
        .await;
    assert_eq!(page.status, 403);
}

#[tokio::test]
async fn key_scopes_narrow_what_a_key_does() {
    use heartbeats::domain::role::KeyScope;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = app.interval_service("backup", 3600, 300).await;
    let ping_key = key_for(&app, ADMIN, KeyScope::Ping).await;
    let read_key = key_for(&app, ADMIN, KeyScope::Read).await;
    let full_key = key_for(&app, ADMIN, KeyScope::Full).await;
    // Ping-only: pings, nothing else.
    assert_eq!(
        app.ping_as(&id, Auth::Bearer(&ping_key)).await.status(),
        200
    );
    let get = |key: &str| app.request_as(Method::GET, "/api/v1/services", Auth::Bearer(key));
    assert_eq!(status(get(&ping_key)).await, 403);
    // Read-only: reads, no pings, no changes.
    assert_eq!(status(get(&read_key)).await, 200);
    assert_eq!(
        app.ping_as(&id, Auth::Bearer(&read_key)).await.status(),
        403
    );
    let pause = |key: &str| {
        app.request_as(
            Method::POST,
            &format!("/api/v1/services/{id}/pause"),
            Auth::Bearer(key),
        )
    };
    assert_eq!(status(pause(&read_key)).await, 403);
    assert_eq!(status(pause(&ping_key)).await, 403);
    // Full: the owner's role (admin).
    assert_eq!(status(pause(&full_key)).await, 200);
    assert_eq!(status(get(&full_key)).await, 200);
}

#[tokio::test]
async fn admins_manage_users_and_the_last_admin_stays() {
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
        let app = TestApp::spawn(backend).await;
        add_user(&app, "ops", "member").await;
        let users: Vec<Value> = app.get("/api/v1/users").await.json().await.unwrap();
        let roles: Vec<(&str, &str)> = users
            .iter()
            .map(|u| (u["name"].as_str().unwrap(), u["role"].as_str().unwrap()))
            .collect();
        assert_eq!(roles, [(ADMIN, "admin"), ("ops", "member")], "{backend:?}");
        let resp = app
            .patch_json("/api/v1/users/ops", &json!({"role": "viewer"}))
            .await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.json::<Value>().await.unwrap()["role"], "viewer");
        let resp = app
            .patch_json("/api/v1/users/ops", &json!({"role": "root"}))
            .await;
        assert_eq!(resp.status(), 422);
        // The only admin can neither be demoted nor removed.
        let resp = app
            .patch_json(
                &format!("/api/v1/users/{ADMIN}"),
                &json!({"role": "member"}),
            )
            .await;
        assert_eq!(resp.status(), 422);
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["code"], "last_admin", "{v}");
        assert_eq!(
            app.delete(&format!("/api/v1/users/{ADMIN}")).await.status(),
            422
        );
        assert_eq!(app.delete("/api/v1/users/ops").await.status(), 204);
        assert_eq!(app.delete("/api/v1/users/ops").await.status(), 404);
        let resp = app
            .post_json("/api/v1/users", &json!({"name": "a b", "password": "x"}))
            .await;
        assert_eq!(resp.status(), 422);
    }
}

#[tokio::test]
async fn the_audit_log_records_who_did_what_from_where() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = app.interval_service("backup", 3600, 300).await;
    app.patch_json(&format!("/api/v1/services/{id}"), &json!({"grace": 600}))
        .await;
    add_user(&app, "ops", "viewer").await;
    let mut b = Browser::new(&app);
    assert_eq!(b.sign_in("ops", "wrong-password").await.status, 401);
    assert_eq!(b.sign_in("ops", "ops-password-1").await.status, 303);
    let entries: Vec<Value> = app.get("/api/v1/audit").await.json().await.unwrap();
    let seen: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e["actor"].as_str().unwrap(), e["action"].as_str().unwrap()))
        .collect();
    assert_eq!(
        seen,
        [
            ("ops", "signin"),
            ("ops", "signin.failed"),
            (ADMIN, "user.add"),
            (ADMIN, "service.update"),
            (ADMIN, "service.create"),
            ("cli", "user.add"),
        ]
    );
    let update = &entries[3];
    assert_eq!(update["source"], "127.0.0.1");
    assert_eq!(update["target"], format!("{id} backup"));
    let only: Vec<Value> = app
        .get("/api/v1/audit?action=signin.failed")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(only.len(), 1);
    // The admin's page shows the same.
    let mut admin = Browser::signed_in(&app).await;
    let page = admin.get("/audit").await;
    assert_eq!(page.status, 200);
    page.assert_contains("signin.failed");
    page.assert_contains(&format!("{id} backup"));
    let page = admin.get("/users").await;
    page.assert_contains("ops");
}

#[tokio::test]
async fn keys_show_their_scope_and_when_they_were_last_used() {
    use heartbeats::domain::role::KeyScope;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = app.interval_service("backup", 3600, 300).await;
    let key = key_for(&app, ADMIN, KeyScope::Ping).await;
    let mut b = Browser::signed_in(&app).await;
    let page = b.get("/account").await;
    page.assert_contains("ping only (cron jobs, agents)");
    page.assert_contains("never");
    assert_eq!(app.ping_as(&id, Auth::Bearer(&key)).await.status(), 200);
    let page = b.get("/account").await;
    assert!(!page.body.contains(">never<"), "last use recorded");
}
