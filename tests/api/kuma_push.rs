//! Uptime Kuma's push URL, `/api/push/<token>?status=up|down&msg=…&ping=…`, with a
//! service's ping UUID as the token. The push monitor page in Kuma documents the URL as
//! `https://<kuma>/api/push/<token>?status=up&msg=OK&ping=`; the answers are those of its
//! `server/routers/api-router.js` (`router.all("/api/push/:pushToken", …)`).
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::on_every_backend;

async fn push(app: &TestApp, method: Method, path: &str) -> (u16, Value) {
    let resp = app
        .client
        .request(method, app.url(path))
        .header("user-agent", "curl/8.5.0")
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("JSON"))
}

async fn service(app: &TestApp) -> (String, String) {
    let id = app.interval_service("web", 60, 60).await;
    let uuid = app.service(&id).await.ping_uuid;
    (id, uuid)
}

async fn up_with_msg_and_ping(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (id, token) = service(&app).await;
    // The documented URL, as Kuma shows it (an empty `ping=`).
    let (status, body) = push(
        &app,
        Method::GET,
        &format!("/api/push/{token}?status=up&msg=OK&ping="),
    )
    .await;
    assert_eq!((status, body), (200, json!({"ok": true})));
    let (status, _) = push(
        &app,
        Method::GET,
        &format!("/api/push/{token}?status=up&msg=OK&ping=42.5"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(app.status(&id).await, "up");
    let pings = app.pings(&id).await;
    assert_eq!(pings.len(), 2);
    assert_eq!(
        (pings[0].kind.as_str(), pings[0].data.as_str()),
        ("success", "OK (ping 42.5 ms)")
    );
    assert_eq!(
        (pings[1].kind.as_str(), pings[1].data.as_str()),
        ("success", "OK")
    );
    assert_eq!(pings[0].user_agent.as_deref(), Some("curl/8.5.0"));
    assert_eq!(pings[0].source.as_deref(), Some("127.0.0.1"));

    // No status at all is up, POST as well as GET.
    let (status, body) = push(&app, Method::POST, &format!("/api/push/{token}")).await;
    assert_eq!((status, body), (200, json!({"ok": true})));
    assert_eq!(app.pings(&id).await[0].kind, "success");
}

async fn down_is_a_failure_carrying_msg(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (id, token) = service(&app).await;
    push(&app, Method::GET, &format!("/api/push/{token}?status=up")).await;
    let (status, body) = push(
        &app,
        Method::POST,
        &format!("/api/push/{token}?status=down&msg=disk%20%2Fsrv%20full&ping=3"),
    )
    .await;
    assert_eq!((status, body), (200, json!({"ok": true})));
    assert_eq!(app.status(&id).await, "down");
    let flips = app.flips(&id).await;
    assert_eq!(flips[0].reason, "error");
    assert_eq!(flips[0].data.as_deref(), Some("disk /srv full (ping 3 ms)"));
    assert_eq!(app.alerts().await.len(), 1);

    // Back up.
    push(
        &app,
        Method::GET,
        &format!("/api/push/{token}?status=up&msg=OK"),
    )
    .await;
    assert_eq!(app.status(&id).await, "up");
}

/// borgmatic's Uptime Kuma hook (`borgmatic/hooks/monitoring/uptime_kuma.py`):
/// `requests.get(f'{push_url}?status={status}&msg={state}')`, `down` for a failed run.
async fn borgmatic_kuma_hook(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (id, token) = service(&app).await;
    for query in ["status=up&msg=start", "status=up&msg=finish"] {
        let (status, _) = push(&app, Method::GET, &format!("/api/push/{token}?{query}")).await;
        assert_eq!(status, 200);
    }
    assert_eq!(app.status(&id).await, "up");
    let (status, _) = push(
        &app,
        Method::GET,
        &format!("/api/push/{token}?status=down&msg=fail"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(app.status(&id).await, "down");
    assert_eq!(app.flips(&id).await[0].data.as_deref(), Some("fail"));
}

async fn unknown_token_is_kumas_404(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (id, _) = service(&app).await;
    for token in ["0b8f3b7e-9f43-4b4e-8a53-6f1f0c6a7d21", "gSpZsrpzBz", "x"] {
        for method in [Method::GET, Method::POST] {
            let (status, body) = push(
                &app,
                method,
                &format!("/api/push/{token}?status=up&msg=OK&ping="),
            )
            .await;
            assert_eq!(
                (status, body),
                (
                    404,
                    json!({"ok": false, "msg": "Monitor not found or not active."})
                ),
                "{token}"
            );
        }
    }
    assert!(app.pings(&id).await.is_empty());
}

on_every_backend!(
    up_with_msg_and_ping,
    down_is_a_failure_carrying_msg,
    unknown_token_is_kumas_404,
    borgmatic_kuma_hook,
);
