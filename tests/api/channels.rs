//! Notification channels over the API: create, read, update, delete, test; secrets masked
//! in every answer and kept when sent back masked; services and hosts choosing channels
//! (the defaults when they name none) and reminders.
use heartbeats_wire::ErrorBody;
use heartbeats_wire::api::Service;
use heartbeats_wire::channels::{Channel, ChannelTest};
use heartbeats_wire::hosts::Host;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Auth, Backend, TestApp, free_port};
use crate::on_every_backend;

on_every_backend!(
    channels_are_created_read_updated_and_deleted,
    each_kind_refuses_what_it_lacks_by_field,
    secrets_are_masked_everywhere_and_kept_when_sent_back_masked,
    a_test_message_to_an_unreachable_robot_says_why_without_its_token,
    services_and_hosts_get_the_default_channels_unless_they_choose,
    reminders_are_checked_and_stored,
);

const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const SECRET: &str = "SECfedcba9876543210fedcba9876543210";

fn dingtalk(name: &str, url: &str) -> Value {
    json!({
        "name": name,
        "kind": "dingtalk",
        "url": url,
        "secret": SECRET,
        "lang": "zh",
        "default_for_new": false,
        "burst_threshold": 3,
        "burst_window_secs": 60,
    })
}

fn robot_url() -> String {
    format!("https://oapi.dingtalk.com/robot/send?access_token={TOKEN}")
}

async fn create(app: &TestApp, body: &Value) -> Channel {
    let resp = app.post_json("/api/v1/channels", body).await;
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    resp.json().await.expect("a channel")
}

async fn refused(resp: reqwest::Response, status: u16) -> ErrorBody {
    assert_eq!(resp.status(), status);
    resp.json().await.expect("an error body")
}

fn assert_no_secret(text: &str) {
    assert!(!text.contains(TOKEN), "token shown: {text}");
    assert!(!text.contains(SECRET), "secret shown: {text}");
}

async fn channels_are_created_read_updated_and_deleted(b: Backend) {
    let app = TestApp::spawn(b).await;
    let ops = create(&app, &dingtalk("ops group", &robot_url())).await;
    assert_eq!(
        (ops.kind.as_str(), ops.lang.as_str(), ops.default_for_new),
        ("dingtalk", "zh", false)
    );
    assert_eq!(ops.settings.burst_threshold, Some(3));
    let mail = create(
        &app,
        &json!({"name": "Mail", "kind": "email", "to": "a@example.com, b@example.com"}),
    )
    .await;
    assert_eq!(mail.settings.to, ["a@example.com", "b@example.com"]);
    assert_eq!(mail.lang, "en");
    // Name order, case-insensitive.
    let list: Vec<Channel> = app.get("/api/v1/channels").await.json().await.unwrap();
    let names: Vec<&str> = list.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Mail", "ops group"]);
    // A name is taken whatever its case.
    let resp = app
        .post_json("/api/v1/channels", &dingtalk("OPS GROUP", &robot_url()))
        .await;
    let err = refused(resp, 409).await;
    assert_eq!(
        (err.field.as_deref(), err.code.as_deref()),
        (Some("name"), Some("name_taken"))
    );
    // PATCH: what is left out stays.
    let resp = app
        .patch_json(
            &format!("/api/v1/channels/{}", ops.id),
            &json!({"name": "ops", "default_for_new": true}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let patched: Channel = resp.json().await.unwrap();
    assert_eq!(patched.name, "ops");
    assert!(patched.default_for_new);
    assert_eq!(patched.settings, ops.settings);
    assert_eq!(patched.lang, "zh");
    let got: Channel = app
        .get(&format!("/api/v1/channels/{}", ops.id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got, patched);
    // A viewer reads, and changes nothing.
    let body = json!({"name": "vera", "password": "vera-password-1", "role": "viewer"});
    assert_eq!(app.post_json("/api/v1/users", &body).await.status(), 201);
    let vera = || Auth::Basic("vera", "vera-password-1");
    let resp = app
        .request_as(Method::GET, "/api/v1/channels", vera())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_no_secret(&resp.text().await.unwrap());
    for (m, p) in [
        (Method::POST, "/api/v1/channels".to_owned()),
        (Method::PATCH, format!("/api/v1/channels/{}", ops.id)),
        (Method::DELETE, format!("/api/v1/channels/{}", ops.id)),
        (Method::POST, format!("/api/v1/channels/{}/test", ops.id)),
    ] {
        let resp = app
            .request_as(m.clone(), &p, vera())
            .json(&dingtalk("x", &robot_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "{m} {p}");
    }
    // Unknown fields are refused, not dropped.
    let resp = app
        .post_json(
            "/api/v1/channels",
            &json!({"name": "x", "kind": "slack", "url": "https://hooks.slack.com/services/T/B/x", "colour": "red"}),
        )
        .await;
    assert_eq!(refused(resp, 400).await.code.as_deref(), Some("bad_json"));
    // Delete; then it is gone.
    let resp = app.delete(&format!("/api/v1/channels/{}", mail.id)).await;
    assert_eq!(resp.status(), 204);
    let resp = app.get(&format!("/api/v1/channels/{}", mail.id)).await;
    assert_eq!(refused(resp, 404).await.code.as_deref(), Some("not_found"));
    let resp = app.delete(&format!("/api/v1/channels/{}", mail.id)).await;
    assert_eq!(resp.status(), 404);
}

async fn each_kind_refuses_what_it_lacks_by_field(b: Backend) {
    let app = TestApp::spawn(b).await;
    let cases = [
        (json!({"name": "n", "kind": "dingtalk"}), "url", "required"),
        (
            json!({"name": "n", "kind": "wecom", "url": "ftp://x/y"}),
            "url",
            "bad_url",
        ),
        (json!({"name": "n", "kind": "feishu"}), "url", "required"),
        (json!({"name": "n", "kind": "slack"}), "url", "required"),
        (json!({"name": "n", "kind": "webhook"}), "url", "required"),
        (
            json!({"name": "n", "kind": "webhook", "url": "http://127.0.0.1/x", "method": "DELETE"}),
            "method",
            "unknown_value",
        ),
        (
            json!({"name": "n", "kind": "webhook", "url": "http://127.0.0.1/x", "headers": {"bad name": "v"}}),
            "headers",
            "bad_header",
        ),
        (
            json!({"name": "n", "kind": "telegram", "chat_id": "-100"}),
            "token",
            "required",
        ),
        (
            json!({"name": "n", "kind": "telegram", "token": "t"}),
            "chat_id",
            "required",
        ),
        (json!({"name": "n", "kind": "ntfy"}), "topic", "required"),
        (
            json!({"name": "n", "kind": "ntfy", "topic": "a b"}),
            "topic",
            "bad_topic",
        ),
        (
            json!({"name": "n", "kind": "gotify", "url": "https://push.example.com"}),
            "token",
            "required",
        ),
        (json!({"name": "n", "kind": "email"}), "to", "required"),
        (
            json!({"name": "n", "kind": "email", "to": ["nope"]}),
            "to",
            "bad_email",
        ),
        (
            json!({"name": "n", "kind": "pager"}),
            "kind",
            "unknown_value",
        ),
        (json!({"name": "n"}), "kind", "required"),
        (
            json!({"name": " ", "kind": "ntfy", "topic": "t"}),
            "name",
            "required",
        ),
        (
            json!({"name": "a\u{7}b", "kind": "ntfy", "topic": "t"}),
            "name",
            "control_characters",
        ),
        (
            json!({"name": "n", "kind": "ntfy", "topic": "t", "lang": "fr"}),
            "lang",
            "unknown_value",
        ),
        (
            json!({"name": "n", "kind": "ntfy", "topic": "t", "burst_window_secs": 0}),
            "burst_window_secs",
            "out_of_range",
        ),
        (
            json!({"name": "n", "kind": "ntfy", "topic": "t", "burst_threshold": "many"}),
            "burst_threshold",
            "wrong_type",
        ),
    ];
    for (body, field, code) in cases {
        let resp = app.post_json("/api/v1/channels", &body).await;
        let err = refused(resp, 422).await;
        assert_eq!(
            (err.field.as_deref(), err.code.as_deref()),
            (Some(field), Some(code)),
            "{body}: {err:?}"
        );
    }
    let list: Vec<Channel> = app.get("/api/v1/channels").await.json().await.unwrap();
    assert!(list.is_empty(), "nothing stored: {list:?}");
    // Defaults are filled in: ntfy's server, a webhook's method.
    let ntfy = create(
        &app,
        &json!({"name": "n", "kind": "ntfy", "topic": "backups"}),
    )
    .await;
    assert_eq!(
        ntfy.settings.url.as_deref(),
        Some("https://ntfy.sh/"),
        "shown through mask_url"
    );
    let hook = create(
        &app,
        &json!({"name": "h", "kind": "webhook", "url": "http://127.0.0.1:9/hook"}),
    )
    .await;
    assert_eq!(hook.settings.method.as_deref(), Some("POST"));
}

async fn secrets_are_masked_everywhere_and_kept_when_sent_back_masked(b: Backend) {
    let app = TestApp::spawn(b).await;
    let resp = app
        .post_json("/api/v1/channels", &dingtalk("ops", &robot_url()))
        .await;
    assert_eq!(resp.status(), 201);
    let text = resp.text().await.unwrap();
    assert_no_secret(&text);
    let ops: Channel = serde_json::from_str(&text).unwrap();
    assert_eq!(ops.settings.secret.as_deref(), Some("••••3210"));
    assert!(
        ops.settings
            .url
            .as_deref()
            .unwrap()
            .ends_with("access_token=••••cdef"),
        "{:?}",
        ops.settings.url
    );
    let telegram = create(
        &app,
        &json!({"name": "tg", "kind": "telegram", "token": format!("123456:{TOKEN}"), "chat_id": "-1001"}),
    )
    .await;
    let hook = create(
        &app,
        &json!({"name": "hook", "kind": "webhook", "url": "http://127.0.0.1:9/hook",
                "headers": {"Authorization": format!("Bearer {TOKEN}")}}),
    )
    .await;
    for c in [&telegram, &hook] {
        let one = app.get(&format!("/api/v1/channels/{}", c.id)).await;
        assert_no_secret(&one.text().await.unwrap());
    }
    assert_no_secret(&app.get("/api/v1/channels").await.text().await.unwrap());
    // Sent back as shown (masked), with another name: the secrets stay.
    let mut back = serde_json::to_value(&ops).unwrap();
    back["name"] = json!("ops group");
    for k in ["id", "created_at", "updated_at"] {
        back.as_object_mut().unwrap().remove(k);
    }
    let resp = app
        .patch_json(&format!("/api/v1/channels/{}", ops.id), &back)
        .await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert_no_secret(&text);
    let patched: Channel = serde_json::from_str(&text).unwrap();
    assert_eq!(patched.settings, ops.settings, "same secrets, still masked");
    let stored = heartbeats::store::channels::get(&app.db, &ops.id)
        .await
        .unwrap();
    let settings = heartbeats::store::channels::settings_of(&stored);
    assert_eq!(settings.secret.as_deref(), Some(SECRET));
    assert_eq!(settings.url.as_deref(), Some(robot_url().as_str()));
    // A new secret replaces it; `null` clears it (signing is optional).
    let resp = app
        .patch_json(
            &format!("/api/v1/channels/{}", ops.id),
            &json!({"secret": "SECnew-0000000000001234"}),
        )
        .await;
    let v: Channel = resp.json().await.unwrap();
    assert_eq!(v.settings.secret.as_deref(), Some("••••1234"));
    let resp = app
        .patch_json(
            &format!("/api/v1/channels/{}", ops.id),
            &json!({"secret": null}),
        )
        .await;
    let v: Channel = resp.json().await.unwrap();
    assert_eq!(v.settings.secret, None);
    assert_eq!(v.settings.url, ops.settings.url, "the URL stays");
    // The header kept when sent back masked.
    let resp = app
        .patch_json(
            &format!("/api/v1/channels/{}", hook.id),
            &json!({"headers": hook.settings.headers}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let stored = heartbeats::store::channels::get(&app.db, &hook.id)
        .await
        .unwrap();
    assert_eq!(
        heartbeats::store::channels::settings_of(&stored).headers["Authorization"],
        format!("Bearer {TOKEN}")
    );
    // The audit log names the channel, never its secrets.
    let audit = app.get("/api/v1/audit").await.text().await.unwrap();
    assert!(audit.contains("channel.update"), "{audit}");
    assert_no_secret(&audit);
}

async fn a_test_message_to_an_unreachable_robot_says_why_without_its_token(b: Backend) {
    let app = TestApp::spawn(b).await;
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/robot/send?access_token={TOKEN}");
    let ops = create(&app, &dingtalk("ops", &url)).await;
    let resp = app
        .post_json(&format!("/api/v1/channels/{}/test", ops.id), &Value::Null)
        .await;
    assert_eq!(resp.status(), 502);
    let text = resp.text().await.unwrap();
    assert_no_secret(&text);
    let result: ChannelTest = serde_json::from_str(&text).unwrap();
    assert!(!result.ok);
    assert!(
        result.error.as_deref().is_some_and(|e| !e.is_empty()),
        "{result:?}"
    );
    let resp = app
        .post_json("/api/v1/channels/nope/test", &Value::Null)
        .await;
    assert_eq!(resp.status(), 404);
}

async fn services_and_hosts_get_the_default_channels_unless_they_choose(b: Backend) {
    let app = TestApp::spawn(b).await;
    let ops = create(
        &app,
        &json!({"name": "ops", "kind": "ntfy", "topic": "ops", "default_for_new": true}),
    )
    .await;
    let dev = create(
        &app,
        &json!({"name": "dev", "kind": "ntfy", "topic": "dev"}),
    )
    .await;
    let all = create(
        &app,
        &json!({"name": "all", "kind": "ntfy", "topic": "all", "default_for_new": true}),
    )
    .await;
    // Defaults in name order.
    let s = app
        .create_service(json!({"name": "backup", "period": 3600}))
        .await;
    assert_eq!(s.channels, [all.id.clone(), ops.id.clone()]);
    let none = app
        .create_service(json!({"name": "quiet", "period": 3600, "channels": []}))
        .await;
    assert!(none.channels.is_empty());
    let chosen = app
        .create_service(json!({"name": "dev job", "period": 3600, "channels": [dev.id, dev.id]}))
        .await;
    assert_eq!(chosen.channels, vec![dev.id.clone()]);
    let resp = app
        .post_json(
            "/api/v1/services",
            &json!({"name": "x", "period": 3600, "channels": ["nope"]}),
        )
        .await;
    let err = refused(resp, 422).await;
    assert_eq!(
        (err.field.as_deref(), err.code.as_deref()),
        (Some("channels"), Some("unknown_channel"))
    );
    // Every refused field at once.
    let resp = app
        .post_json(
            "/api/v1/services",
            &json!({"name": "", "period": 3600, "channels": ["nope"]}),
        )
        .await;
    assert_eq!(refused(resp, 422).await.field.as_deref(), Some("name"));
    let resp = app
        .patch_json(
            &format!("/api/v1/services/{}", none.id),
            &json!({"channels": [dev.id]}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let patched: Service = resp.json().await.unwrap();
    assert_eq!(patched.channels, vec![dev.id.clone()]);
    let resp = app
        .patch_json(
            &format!("/api/v1/services/{}", none.id),
            &json!({"channels": ["nope"]}),
        )
        .await;
    assert_eq!(
        refused(resp, 422).await.code.as_deref(),
        Some("unknown_channel")
    );
    // Hosts alike.
    let resp = app
        .post_json("/api/v1/hosts", &json!({"name": "db1"}))
        .await;
    assert_eq!(resp.status(), 201);
    let host: Host = resp.json().await.unwrap();
    assert_eq!(host.channels, [all.id.clone(), ops.id.clone()]);
    let resp = app
        .post_json("/api/v1/hosts", &json!({"name": "db2", "channels": []}))
        .await;
    let host2: Host = resp.json().await.unwrap();
    assert!(host2.channels.is_empty());
    let resp = app
        .patch_json(
            &format!("/api/v1/hosts/{}", host2.id),
            &json!({"channels": ["nope"]}),
        )
        .await;
    assert_eq!(
        refused(resp, 422).await.code.as_deref(),
        Some("unknown_channel")
    );
    // Deleting a channel drops it from every service and host; the others stay.
    assert_eq!(
        app.delete(&format!("/api/v1/channels/{}", ops.id))
            .await
            .status(),
        204
    );
    assert_eq!(app.service(&s.id).await.channels, vec![all.id.clone()]);
    assert_eq!(app.service(&chosen.id).await.channels, vec![dev.id.clone()]);
    let host: Host = app
        .get(&format!("/api/v1/hosts/{}", host.id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(host.channels, vec![all.id.clone()]);
    let s2 = app
        .create_service(json!({"name": "later", "period": 3600}))
        .await;
    assert_eq!(s2.channels, vec![all.id.clone()]);
}

async fn reminders_are_checked_and_stored(b: Backend) {
    let app = TestApp::spawn(b).await;
    let s = app
        .create_service(json!({"name": "backup", "period": 3600}))
        .await;
    assert_eq!((s.remind_every, s.remind_max), (None, 0));
    let path = format!("/api/v1/services/{}", s.id);
    let v: Service = app
        .patch_json(&path, &json!({"remind_every": 3600}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!((v.remind_every, v.remind_max), (Some(3600), 3));
    let v: Service = app
        .patch_json(&path, &json!({"remind_max": 10}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!((v.remind_every, v.remind_max), (Some(3600), 10));
    for (body, field) in [
        (json!({"remind_every": 30}), "remind_every"),
        (json!({"remind_every": 8 * 86_400}), "remind_every"),
        (json!({"remind_max": 0}), "remind_max"),
        (json!({"remind_max": 101}), "remind_max"),
        (
            json!({"remind_every": null, "remind_max": 2}),
            "remind_every",
        ),
    ] {
        let err = refused(app.patch_json(&path, &body).await, 422).await;
        assert_eq!(err.field.as_deref(), Some(field), "{body}: {err:?}");
    }
    let v: Service = app
        .patch_json(&path, &json!({"remind_every": null}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!((v.remind_every, v.remind_max), (None, 0));
    let c = app
        .create_service(json!({"name": "c", "period": 60, "remind_every": 600, "remind_max": 5}))
        .await;
    assert_eq!((c.remind_every, c.remind_max), (Some(600), 5));
    let resp = app
        .post_json(
            "/api/v1/hosts",
            &json!({"name": "db1", "remind_every": 7200}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let host: Host = resp.json().await.unwrap();
    assert_eq!((host.remind_every, host.remind_max), (Some(7200), 3));
    let resp = app
        .patch_json(
            &format!("/api/v1/hosts/{}", host.id),
            &json!({"remind_every": 0}),
        )
        .await;
    let host: Host = resp.json().await.unwrap();
    assert_eq!((host.remind_every, host.remind_max), (None, 0));
}
