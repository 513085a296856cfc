//! The account page: password changes, API keys.

use crate::helpers::{ADMIN, Backend, PASSWORD, TestApp};
use crate::ui_helpers::Browser;

#[tokio::test]
async fn changing_the_password_signs_out_other_sessions_and_old_credentials() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut b = Browser::signed_in(&app).await;
    let mut other = Browser::signed_in(&app).await;
    // Warm the API's credential cache with the old password.
    assert_eq!(app.get("/api/v1/services").await.status(), 200);

    let page = b
        .submit(
            "/account",
            "/account/password",
            &[("current", "nope"), ("new", "short"), ("confirm", "other")],
        )
        .await;
    assert_eq!(page.status, 422);
    page.assert_contains(r#"id="current-err">The current password is wrong."#);
    page.assert_contains(r#"id="new-err">must be at least 8 characters"#);
    page.assert_contains(r#"id="confirm-err">The two new passwords differ."#);

    let page = b
        .submit(
            "/account",
            "/account/password",
            &[
                ("current", PASSWORD),
                ("new", "a much better one"),
                ("confirm", "a much better one"),
            ],
        )
        .await;
    assert_eq!(page.location(), Some("/account"));
    b.get("/account").await.assert_contains("Password changed.");
    assert_eq!(other.get("/").await.status, 303);
    assert_eq!(app.get("/api/v1/services").await.status(), 401);
    let resp = app
        .client
        .get(app.url("/api/v1/services"))
        .basic_auth(ADMIN, Some("a much better one"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn api_keys_are_shown_once_and_can_be_revoked() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut b = Browser::signed_in(&app).await;
    let page = b
        .submit("/account", "/account/keys", &[("label", "gpu agent")])
        .await;
    assert_eq!(page.status, 200);
    page.assert_contains("Copy it now: it is not shown again.");
    let start = page
        .body
        .find(r#"<code id="new-key" class="url">"#)
        .unwrap()
        + 31;
    let key = page.body[start..start + page.body[start..].find('<').unwrap()].to_owned();
    assert!(key.starts_with("hb_"), "{key}");
    let api = |key: String| {
        let app = &app;
        async move {
            app.client
                .get(app.url("/api/v1/services"))
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(api(key.clone()).await, 200);
    // Listed by label and prefix, never in full again.
    let page = b.get("/account").await;
    page.assert_contains("gpu agent");
    assert!(!page.contains(&key));
    let revoke = page
        .body
        .split(r#"action="/account/keys/"#)
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let page = b
        .submit("/account", &format!("/account/keys/{revoke}"), &[])
        .await;
    assert_eq!(page.status, 303);
    b.get("/account").await.assert_contains("API key revoked.");
    assert_eq!(api(key).await, 401);
}
