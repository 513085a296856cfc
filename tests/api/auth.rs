use serde_json::Value;

use crate::helpers::{ADMIN, Auth, Backend, PASSWORD, TestApp};

#[tokio::test]
async fn missing_or_wrong_credentials_are_401_with_www_authenticate() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = app.interval_service("auth", 60, 60).await;

    let resp = app.ping_as(&id, Auth::None).await;
    assert_eq!(resp.status(), 401);
    assert!(
        resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("authentication required")
    );

    let resp = app.ping_as(&id, Auth::Basic(ADMIN, "wrong password")).await;
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().contains_key("www-authenticate"));

    let resp = app.ping_as(&id, Auth::Basic("nobody", PASSWORD)).await;
    assert_eq!(resp.status(), 401);

    let resp = app
        .ping_as(
            &id,
            Auth::Bearer("hb_notakey_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
        )
        .await;
    assert_eq!(resp.status(), 401);

    // Nothing was stored by the refused pings.
    assert_eq!(app.status(&id).await, "new");
}

#[tokio::test]
async fn api_key_authenticates_and_revocation_takes_effect() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = app.interval_service("keys", 60, 60).await;
    let key = heartbeats::store::users::create_api_key(
        &app.db,
        ADMIN,
        "cron",
        heartbeats::domain::role::KeyScope::Full,
        app.now(),
    )
    .await
    .unwrap();
    let resp = app.ping_as(&id, Auth::Bearer(&key.key)).await;
    assert_eq!(resp.status(), 200);
    let resp = app
        .client
        .get(app.url("/api/v1/services"))
        .bearer_auth(&key.key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    heartbeats::store::users::revoke_api_key(&app.db, key.row.user_id, key.row.id)
        .await
        .unwrap();
    let resp = app.ping_as(&id, Auth::Bearer(&key.key)).await;
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn cached_password_is_dropped_when_the_password_changes() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = app.interval_service("cache", 60, 60).await;
    // First ping verifies with argon2 and remembers the result.
    app.ping_ok(&id, "").await;
    app.ping_ok(&id, "").await;
    // The password changes the way `heartbeats user passwd` changes it: straight in the
    // database, from another process.
    let hash = heartbeats::auth::hash_password("a-new-password".into())
        .await
        .unwrap();
    heartbeats::store::users::set_password_hash(&app.db, ADMIN, hash, app.now())
        .await
        .unwrap();
    let resp = app.ping(&id, "").await;
    assert_eq!(resp.status(), 401, "the old password must stop working");
    let resp = app.ping_as(&id, Auth::Basic(ADMIN, "a-new-password")).await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn removed_user_is_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = app.interval_service("rm", 60, 60).await;
    let hash = heartbeats::auth::hash_password("ci-password-1".into())
        .await
        .unwrap();
    heartbeats::store::users::create(
        &app.db,
        "ci",
        None,
        hash,
        heartbeats::domain::role::Role::Member,
        app.now(),
    )
    .await
    .unwrap();
    let resp = app.ping_as(&id, Auth::Basic("ci", "ci-password-1")).await;
    assert_eq!(resp.status(), 200);
    heartbeats::store::users::remove(&app.db, "ci")
        .await
        .unwrap();
    let resp = app.ping_as(&id, Auth::Basic("ci", "ci-password-1")).await;
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn healthz_needs_no_auth() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["database"], "ok");
}
