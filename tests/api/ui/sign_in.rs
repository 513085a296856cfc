//! Signing in and out: redirects, session cookies, throttling, CSRF, language.
use chrono::Duration;
use serde_json::{Value, json};

use crate::helpers::{ADMIN, Backend, Options, PASSWORD, TestApp};
use crate::ui_helpers::{Browser, input_value};

const PAGES: &[&str] = &["/", "/alerts", "/account", "/services/new"];

#[tokio::test]
async fn signed_out_visits_redirect_to_login_with_next() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = app.interval_service("svc", 60, 60).await;
    let mut b = Browser::new(&app);
    let mut paths: Vec<String> = PAGES.iter().map(|p| p.to_string()).collect();
    paths.extend([
        format!("/services/{id}"),
        format!("/services/{id}/edit"),
        format!("/services/{id}/delete"),
        "/?q=cert,sync&status=down".into(),
    ]);
    for path in &paths {
        let page = b.get(path).await;
        assert_eq!(page.status, 303, "{path}");
        let location = page.location().unwrap();
        if path == "/" {
            assert_eq!(location, "/login");
        } else {
            assert!(
                location.starts_with("/login?next=%2F"),
                "{path} → {location}"
            );
        }
    }
    let page = b.get("/?q=cert,sync&status=down").await;
    assert_eq!(
        page.location(),
        Some("/login?next=%2F%3Fq%3Dcert%2Csync%26status%3Ddown")
    );
    // Forms too: nothing happens without a session.
    let page = b.post(&format!("/services/{id}/delete"), &[]).await;
    assert_eq!(page.status, 303);
    assert_eq!(app.status(&id).await, "new");
    // The script's fragments answer 401 so it can reload into the sign-in page.
    assert_eq!(b.get("/ui/rows").await.status, 401);
    assert_eq!(b.get("/ui/preview?kind=cron&cron=*").await.status, 401);
    // The sign-in page and the assets need no session.
    assert_eq!(b.get("/login").await.status, 200);
    let css = b.get("/static/app.css").await;
    assert_eq!(css.status, 200);
    assert!(
        css.headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=31536000")
    );
    assert_eq!(b.get("/static/nope.js").await.status, 404);
}

#[tokio::test]
async fn sign_in_sets_an_httponly_lax_session_and_returns_to_next() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut b = Browser::new(&app);
    let login = b.get("/login?next=/alerts").await;
    assert_eq!(input_value(&login.body, "next").as_deref(), Some("/alerts"));
    let csrf = login.csrf();
    let page = b
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("username", ADMIN),
                ("password", PASSWORD),
                ("next", "/alerts"),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), Some("/alerts"));
    let cookie = page.set_cookie("hb_session").unwrap();
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    assert_eq!(b.get("/alerts").await.status, 200);
    // Signed in, /login goes home; an off-site `next` is ignored.
    let page = b.get("/login?next=//evil.example/").await;
    assert_eq!(page.location(), Some("/"));

    // The session token is stored only as a digest.
    let token = b.cookie("hb_session").unwrap().to_owned();
    let stored: Vec<Value> = stored_sessions(&app).await;
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0]["token_hash"], json!(token));
    assert_eq!(stored[0]["token_hash"].as_str().unwrap().len(), 64);
}

async fn stored_sessions(app: &TestApp) -> Vec<Value> {
    use heartbeats::entity::sessions;
    use sea_orm::EntityTrait;
    sessions::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| json!({"token_hash": s.token_hash, "user_id": s.user_id}))
        .collect()
}

#[tokio::test]
async fn cookies_are_secure_behind_https() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        Options {
            vars: vec![("HB_BASE_URL", "https://hb.example.com".into())],
            ..Default::default()
        },
    )
    .await;
    let mut b = Browser::new(&app);
    let page = b.sign_in(ADMIN, PASSWORD).await;
    assert!(page.set_cookie("hb_session").unwrap().contains("Secure"));

    // Or when a proxy says the request came over https.
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut b = Browser::new(&app);
    let login = b.get_with("/login", "x-forwarded-proto", "https").await;
    assert!(login.set_cookie("hb_login").unwrap().contains("Secure"));
}

#[tokio::test]
async fn wrong_password_is_refused_and_keeps_the_name() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut b = Browser::new(&app);
    let page = b.sign_in(ADMIN, "wrong password").await;
    assert_eq!(page.status, 401);
    page.assert_contains("Wrong user name or password.");
    assert_eq!(input_value(&page.body, "username").as_deref(), Some(ADMIN));
    assert!(page.set_cookie("hb_session").is_none());
    let page = b.sign_in("nobody", PASSWORD).await;
    assert_eq!(page.status, 401);
    // The sign-in form itself is CSRF-protected (double-submit cookie).
    let mut fresh = Browser::new(&app);
    let page = fresh
        .post(
            "/login",
            &[
                ("csrf", "forged"),
                ("username", ADMIN),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 403);
    assert!(page.set_cookie("hb_session").is_none());
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_per_user_and_per_address() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut attacker = Browser::new(&app);
    attacker.address = Some("10.0.0.66".into());
    for _ in 0..5 {
        assert_eq!(attacker.sign_in(ADMIN, "guess").await.status, 401);
    }
    // The user is locked from that address, even with the right password; not elsewhere.
    let page = attacker.sign_in(ADMIN, PASSWORD).await;
    assert_eq!(page.status, 429);
    page.assert_contains("Too many failed sign-ins");
    assert!(page.headers.contains_key("retry-after"));
    let mut other = Browser::new(&app);
    other.address = Some("10.0.0.7".into());
    assert_eq!(other.sign_in(ADMIN, PASSWORD).await.status, 303);
    // After the window it works again.
    app.advance(Duration::minutes(15));
    assert_eq!(attacker.sign_in(ADMIN, PASSWORD).await.status, 303);

    // One address guessing many names is locked too; others are not.
    let mut sprayer = Browser::new(&app);
    sprayer.address = Some("10.0.0.99".into());
    for i in 0..10 {
        let page = sprayer.sign_in(&format!("user{i}"), "guess").await;
        assert_eq!(page.status, 401);
    }
    assert_eq!(sprayer.sign_in(ADMIN, PASSWORD).await.status, 429);
    let mut elsewhere = Browser::new(&app);
    elsewhere.address = Some("10.0.0.100".into());
    assert_eq!(elsewhere.sign_in(ADMIN, PASSWORD).await.status, 303);
}

#[tokio::test]
async fn state_changing_forms_need_the_session_csrf_token() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = app.interval_service("keep me", 60, 60).await;
    let mut b = Browser::signed_in(&app).await;
    let good = b.get("/").await.csrf();
    let posts = [
        "/services/new".to_owned(),
        format!("/services/{id}/edit"),
        format!("/services/{id}/pause"),
        format!("/services/{id}/resume"),
        format!("/services/{id}/delete"),
        "/alerts/test".into(),
        "/account/password".into(),
        "/account/keys".into(),
        "/account/keys/1/revoke".into(),
        "/logout".into(),
    ];
    for path in &posts {
        for token in [None, Some("wrong"), Some("")] {
            let mut form = vec![("name", "x"), ("to", "ops@example.com")];
            if let Some(t) = token {
                form.push(("csrf", t));
            }
            let page = b.post(path, &form).await;
            assert_eq!(page.status, 403, "{path} with {token:?}");
            page.assert_contains("This form expired or did not come from this site");
        }
    }
    // Nothing changed, and the session still works.
    assert_eq!(app.status(&id).await, "new");
    assert_eq!(
        app.get("/api/v1/services")
            .await
            .json::<Vec<Value>>()
            .await
            .unwrap()
            .len(),
        1
    );
    // Another session's token is no good either.
    let mut other = Browser::signed_in(&app).await;
    let theirs = other.get("/").await.csrf();
    assert_ne!(theirs, good);
    let page = b
        .post(&format!("/services/{id}/pause"), &[("csrf", &theirs)])
        .await;
    assert_eq!(page.status, 403);
    let page = b
        .post(&format!("/services/{id}/pause"), &[("csrf", &good)])
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(app.status(&id).await, "paused");
}

#[tokio::test]
async fn sessions_end_on_sign_out_and_after_two_idle_weeks() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut b = Browser::signed_in(&app).await;
    let token = b.cookie("hb_session").unwrap().to_owned();
    let page = b.submit("/", "/logout", &[]).await;
    assert_eq!(page.location(), Some("/login"));
    assert!(page.set_cookie("hb_session").unwrap().contains("Max-Age=0"));
    b.get("/login").await.assert_contains("You are signed out.");
    // The old cookie is dead on the server too.
    b.set_cookie("hb_session", &token);
    assert_eq!(b.get("/").await.status, 303);

    // Sliding expiry: each visit extends the session by 14 days.
    let mut b = Browser::signed_in(&app).await;
    app.advance(Duration::days(13));
    let page = b.get("/").await;
    assert_eq!(page.status, 200);
    assert!(page.set_cookie("hb_session").is_some(), "renewed cookie");
    app.advance(Duration::days(13));
    assert_eq!(b.get("/").await.status, 200);
    app.advance(Duration::days(15));
    assert_eq!(b.get("/").await.status, 303);
}

#[tokio::test]
async fn language_comes_from_accept_language_or_the_switch() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut b = Browser::new(&app);
    b.accept_language = Some("zh-CN,zh;q=0.9,en;q=0.8".into());
    b.get("/login").await.assert_contains("登录 Heartbeats");
    let page = b.sign_in(ADMIN, "wrong").await;
    page.assert_contains("用户名或密码错误。");
    b.sign_in(ADMIN, PASSWORD).await;
    let page = b.get("/").await;
    page.assert_contains("<html lang=\"zh-CN\">");
    page.assert_contains("新建服务");
    page.assert_contains(r#"href="/lang/en?next=%2F""#);
    // The switch remembers English in a cookie and goes back where it was.
    let page = b.get("/lang/en?next=/alerts").await;
    assert_eq!(page.location(), Some("/alerts"));
    assert!(
        page.set_cookie("hb_lang")
            .unwrap()
            .starts_with("hb_lang=en;")
    );
    b.get("/alerts").await.assert_contains("Send a test email");
    // Off-site targets are refused.
    let page = b.get("/lang/zh?next=https://evil.example/").await;
    assert_eq!(page.location(), Some("/"));
    let svc = app
        .create_service(json!({"name": "每日备份", "kind": "daily", "at": "16:05", "grace": 600}))
        .await;
    b.set_cookie("hb_lang", "zh");
    let page = b.get("/").await;
    page.assert_contains("每天 16:05，宽限 10 分钟");
    page.assert_contains("本列表中的计划均按时区 Asia/Shanghai");
    b.get(&format!("/services/{}", svc.id))
        .await
        .assert_contains("等待首次 ping。新服务不会告警。");
}
