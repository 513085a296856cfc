//! Channels over time, with the clock the test moves: bursts become one message per
//! destination, reminders repeat while a service stays down, snoozes and maintenance
//! windows hold alerts (and let them out once if the service is still down), and a robot
//! that refuses is retried until its alert is delivered once. The chat services are the
//! fake vendors of `chat_server.rs`, on loopback.
use chrono::Duration;
use serde_json::{Value, json};

use crate::chat_server::{ChatServer, Reply, Vendor};
use crate::helpers::{Backend, Options, TestApp, utc};
use crate::on_every_backend;

const SECRET: &str = "SEC0123456789abcdef0123456789abcdef";

async fn create_channel(app: &TestApp, body: Value) -> String {
    let r = app.post_json("/api/v1/channels", &body).await;
    let status = r.status();
    let v: Value = r.json().await.expect("channel JSON");
    assert_eq!(status, 201, "{v}");
    v["id"].as_str().expect("channel id").to_owned()
}

async fn dingtalk(app: &TestApp, server: &ChatServer, path: &str, threshold: u32) -> String {
    server.play(
        path,
        Vendor::Dingtalk {
            secret: Some(SECRET.into()),
        },
    );
    create_channel(
        app,
        json!({"name": format!("ops group {path}"), "kind": "dingtalk",
               "url": server.url(&format!("{path}?access_token=t0ken0123456789")),
               "secret": SECRET, "burst_threshold": threshold}),
    )
    .await
}

async fn webhook(app: &TestApp, server: &ChatServer, path: &str) -> String {
    server.play(path, Vendor::Webhook);
    create_channel(
        app,
        json!({"name": format!("hook {path}"), "kind": "webhook", "url": server.url(path),
               "burst_threshold": 0}),
    )
    .await
}

/// An hourly service with 5 min grace that alerts `channels` (and `notify`), pinged once.
async fn service(app: &TestApp, name: &str, channels: &[&str], extra: Value) -> String {
    let mut body = json!({"name": name, "kind": "interval", "period": 3600, "grace": 300,
                          "channels": channels});
    for (k, v) in extra.as_object().expect("object") {
        body[k] = v.clone();
    }
    let id = app.create_service(body).await.id;
    app.ping_ok(&id, "").await;
    id
}

/// The markdown text of a DingTalk request.
fn dingtalk_text(r: &crate::chat_server::Request) -> String {
    let v = r.json();
    assert_eq!(v["msgtype"], "markdown", "{v}");
    v["markdown"]["text"]
        .as_str()
        .expect("markdown text")
        .to_owned()
}

async fn a_burst_is_one_message_per_destination(b: Backend) {
    let server = ChatServer::start().await;
    let app = TestApp::spawn_with(
        b,
        Options {
            vars: vec![("HB_MAIL_BURST_THRESHOLD", "3".into())],
            ..Default::default()
        },
    )
    .await;
    let ch = dingtalk(&app, &server, "/robot/send", 3).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let extra = json!({"notify": ["ops@example.com"]});
        ids.push(service(&app, &format!("switch-{i}"), &[&ch], extra).await);
    }
    // The switch dies: all five miss their pings at once.
    app.advance(Duration::minutes(66));
    let r = app.run_scheduler().await;
    assert_eq!(
        r.alerts_queued, 10,
        "one per service for the robot and the address"
    );
    let d = app.deliver().await;
    assert_eq!((d.sent, d.failed, d.retrying), (10, 0, 0));
    let seen = server.requests_to("/robot/send");
    assert_eq!(seen.len(), 1, "one DingTalk message for the burst");
    assert_eq!(seen[0].problem, None, "signed as DingTalk checks it");
    let text = dingtalk_text(&seen[0]);
    for i in 0..5 {
        assert!(text.contains(&format!("switch-{i}")), "{text}");
    }
    let mails = app.mail_files();
    assert_eq!(mails.len(), 1, "one mail for the burst");
    assert!(
        mails[0].contains("Subject: [Heartbeats] 5 down"),
        "{}",
        mails[0]
    );
    for i in 0..5 {
        assert!(mails[0].contains(&format!("switch-{i}")), "{}", mails[0]);
    }
    // One comes back on its own: a message of its own, saying how long it was down.
    app.advance(Duration::minutes(10));
    app.ping_ok(&ids[0], "").await;
    app.deliver().await;
    let seen = server.requests_to("/robot/send");
    assert_eq!(seen.len(), 2);
    let text = dingtalk_text(&seen[1]);
    assert!(text.contains("switch-0"), "{text}");
    assert!(!text.contains("switch-1"), "{text}");
    assert!(text.contains("10 min"), "the outage lasted 10 min: {text}");
}

async fn reminders_repeat_while_down_up_to_the_maximum(b: Backend) {
    let server = ChatServer::start().await;
    let app = TestApp::spawn(b).await;
    let ch = dingtalk(&app, &server, "/robot/send", 0).await;
    let id = service(
        &app,
        "nightly-backup",
        &[&ch],
        json!({"remind_every": 3600, "remind_max": 2, "notify": ["ops@example.com"]}),
    )
    .await;
    app.advance(Duration::minutes(66));
    app.run_scheduler().await;
    app.deliver().await;
    assert_eq!(server.requests_to("/robot/send").len(), 1);
    assert_eq!(app.mail_files().len(), 1);
    // Nothing before the hour is up.
    app.advance(Duration::minutes(30));
    assert_eq!(app.deliver().await.sent, 0);
    app.advance(Duration::minutes(31));
    assert_eq!(app.deliver().await.sent, 2, "the first reminder, to both");
    let seen = server.requests_to("/robot/send");
    assert_eq!(seen.len(), 2);
    let text = dingtalk_text(&seen[1]);
    assert!(text.contains("nightly-backup"), "{text}");
    assert!(text.contains("1 h"), "says for how long: {text}");
    let mails = app.mail_files();
    let reminder = mails
        .iter()
        .find(|m| m.contains("STILL DOWN: nightly-backup"))
        .expect("a reminder mail");
    let down = mails
        .iter()
        .find(|m| m.contains("DOWN: nightly-backup (missed)"))
        .unwrap();
    assert_eq!(
        crate::helpers::mail_header(reminder, "In-Reply-To"),
        crate::helpers::mail_header(down, "Message-ID"),
        "the reminder answers the down mail"
    );
    app.advance(Duration::hours(1));
    assert_eq!(app.deliver().await.sent, 2, "the second and last reminder");
    app.advance(Duration::hours(3));
    assert_eq!(app.deliver().await.sent, 0, "remind_max is 2");
    assert_eq!(server.requests_to("/robot/send").len(), 3);
    // The recovery says how long the outage lasted.
    app.ping_ok(&id, "").await;
    app.deliver().await;
    let seen = server.requests_to("/robot/send");
    assert_eq!(seen.len(), 4);
    let text = dingtalk_text(&seen[3]);
    assert!(
        text.contains("5 h 01 min") || text.contains("5 h 1 min"),
        "{text}"
    );
}

async fn a_recovery_cancels_the_pending_reminder(b: Backend) {
    let server = ChatServer::start().await;
    let app = TestApp::spawn(b).await;
    let ch = webhook(&app, &server, "/hook").await;
    let id = service(
        &app,
        "etl",
        &[&ch],
        json!({"remind_every": 600, "remind_max": 5}),
    )
    .await;
    app.ping(&id, "exit 1").await;
    app.deliver().await;
    app.advance(Duration::minutes(5));
    app.ping_ok(&id, "").await;
    app.deliver().await;
    assert_eq!(server.requests_to("/hook").len(), 2, "down and up");
    app.advance(Duration::minutes(20));
    let d = app.deliver().await;
    assert_eq!(
        (d.sent, d.skipped),
        (0, 1),
        "the reminder is not sent after the recovery"
    );
    assert_eq!(server.requests_to("/hook").len(), 2);
}

async fn a_snooze_holds_alerts_and_lets_out_what_is_still_down(b: Backend) {
    let server = ChatServer::start().await;
    let app = TestApp::spawn(b).await;
    let ch = webhook(&app, &server, "/hook").await;
    let stays = service(&app, "stays-down", &[&ch], json!({})).await;
    let flaps = service(&app, "flaps", &[&ch], json!({})).await;
    for id in [&stays, &flaps] {
        let r = app
            .post_json(
                &format!("/api/v1/services/{id}/snooze"),
                &json!({"minutes": 30}),
            )
            .await;
        assert_eq!(r.status(), 200);
    }
    app.ping(&stays, "disk full").await;
    app.ping(&flaps, "timeout").await;
    // Statuses still change and show.
    assert_eq!(app.status(&stays).await, "down");
    let d = app.deliver().await;
    assert_eq!((d.sent, d.held), (0, 2));
    app.advance(Duration::minutes(10));
    app.ping_ok(&flaps, "").await;
    assert_eq!(app.status(&flaps).await, "up");
    assert_eq!(app.deliver().await.sent, 0, "still snoozed");
    assert!(server.requests_to("/hook").is_empty());
    // The snooze ends: what is still down alerts once; what recovered meanwhile says nothing.
    app.advance(Duration::minutes(21));
    let d = app.deliver().await;
    assert_eq!((d.sent, d.skipped), (1, 2));
    let seen = server.requests_to("/hook");
    assert_eq!(seen.len(), 1);
    assert!(seen[0].text().contains("stays-down"), "{}", seen[0].text());
    assert_eq!(app.deliver().await.sent, 0, "once");
}

async fn a_weekly_window_across_midnight_in_shanghai(b: Backend) {
    let server = ChatServer::start().await;
    // Saturday 2026-12-05, 22:00 in Shanghai.
    let app = TestApp::spawn_with(
        b,
        Options {
            start: utc("2026-12-05T14:00:00Z"),
            ..Default::default()
        },
    )
    .await;
    let ch = webhook(&app, &server, "/hook").await;
    let r = app
        .post_json(
            "/api/v1/maintenance",
            &json!({"name": "db upgrades", "tags": ["db"], "applies_to": "all",
                    "repeat": "weekly", "days": ["sat"], "start_time": "23:00",
                    "duration": 10800, "timezone": "Asia/Shanghai"}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let db = service(&app, "db-dump", &[&ch], json!({"tags": ["db"]})).await;
    let web = service(&app, "web-logs", &[&ch], json!({"tags": ["web"]})).await;
    // 23:30 on Saturday in Shanghai: inside the window.
    app.advance(Duration::minutes(90));
    app.ping(&db, "pg_dump: connection refused").await;
    app.ping(&web, "rotate failed").await;
    let d = app.deliver().await;
    assert_eq!((d.sent, d.held), (1, 1), "the untagged service alerts");
    // 00:30 on Sunday: still inside (the window crossed midnight).
    app.advance(Duration::hours(1));
    assert_eq!(app.deliver().await.sent, 0);
    let seen = server.requests_to("/hook");
    assert_eq!(seen.len(), 1);
    assert!(seen[0].text().contains("web-logs"));
    // 02:00 on Sunday the window ends; db-dump is still down and alerts once.
    app.advance(Duration::minutes(90));
    assert_eq!(app.deliver().await.sent, 1);
    let seen = server.requests_to("/hook");
    assert_eq!(seen.len(), 2);
    assert!(seen[1].text().contains("db-dump"), "{}", seen[1].text());
}

async fn a_refusing_robot_is_retried_and_delivered_once(b: Backend) {
    let server = ChatServer::start().await;
    let app = TestApp::spawn(b).await;
    let ch = dingtalk(&app, &server, "/robot/send", 0).await;
    server.script(
        "/robot/send",
        [
            Reply::Status(500),
            Reply::Json(200, json!({"errcode": 310000, "errmsg": "sign not match"})),
        ],
    );
    let id = service(&app, "billing", &[&ch], json!({})).await;
    app.ping(&id, "exit 2").await;
    assert_eq!(app.deliver().await.retrying, 1);
    let alerts = app.alerts().await;
    assert!(
        alerts[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("500")
    );
    app.advance(Duration::seconds(31));
    assert_eq!(app.deliver().await.retrying, 1);
    let alerts = app.alerts().await;
    let err = alerts[0].last_error.clone().unwrap_or_default();
    assert!(err.contains("310000"), "{err}");
    assert!(
        !err.contains("t0ken0123456789") && !err.contains(SECRET),
        "{err}"
    );
    app.advance(Duration::seconds(61));
    assert_eq!(app.deliver().await.sent, 1);
    app.advance(Duration::hours(2));
    assert_eq!(app.deliver().await.sent, 0);
    // The channel's deliveries, through its index.
    let of_channel: Vec<heartbeats_wire::api::Alert> = app
        .get(&format!("/api/v1/alerts?channel={ch}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(of_channel.len(), 1);
    assert_eq!(of_channel[0].channel_id.as_deref(), Some(ch.as_str()));
    assert_eq!(
        (of_channel[0].state.as_str(), of_channel[0].attempts),
        ("sent", 3)
    );
    assert_eq!(of_channel[0].purpose, "flip");
    let seen = server.requests_to("/robot/send");
    assert_eq!(seen.len(), 3, "two refusals, then delivered once");
    assert!(seen[2].problem.is_none() && !seen[2].scripted);
    assert!(dingtalk_text(&seen[2]).contains("billing"));
}

async fn a_silent_host_tells_its_feishu_group_in_chinese(b: Backend) {
    let server = ChatServer::start().await;
    let app = TestApp::spawn(b).await;
    let path = "/open-apis/bot/v2/hook/0a1b2c3d";
    server.play(
        path,
        Vendor::Feishu {
            secret: Some(SECRET.into()),
        },
    );
    let ch = create_channel(
        &app,
        json!({"name": "运维群", "kind": "feishu", "url": server.url(path), "secret": SECRET,
               "lang": "zh", "burst_threshold": 0}),
    )
    .await;
    let h = app
        .create_host(
            json!({"name": "gpu-07", "channels": [ch], "remind_every": 1800,
                            "remind_max": 1}),
        )
        .await;
    app.report_ok(&json!({"name": "gpu-07", "cpu_pct": 10}))
        .await;
    app.advance(Duration::seconds(125));
    assert_eq!(app.run_staleness().await.alerts_queued, 1);
    assert_eq!(app.deliver().await.sent, 1);
    let seen = server.requests_to(path);
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].problem, None, "signed as Feishu checks it");
    let body = seen[0].text();
    assert!(body.contains("gpu-07") && body.contains("故障"), "{body}");
    assert!(
        body.contains(&format!("/hosts/{}", h.id)),
        "links to the host: {body}"
    );
    // One reminder after half an hour, then none.
    app.advance(Duration::minutes(30));
    assert_eq!(app.deliver().await.sent, 1);
    app.advance(Duration::hours(2));
    assert_eq!(app.deliver().await.sent, 0);
    // Back: the recovery says how long it was down, in Chinese.
    app.report_ok(&json!({"name": "gpu-07", "cpu_pct": 10}))
        .await;
    app.deliver().await;
    let seen = server.requests_to(path);
    assert_eq!(seen.len(), 3);
    let body = seen[2].text();
    assert!(body.contains("恢复") && body.contains("故障持续"), "{body}");
}

async fn an_email_channel_mails_each_of_its_addresses(b: Backend) {
    let app = TestApp::spawn(b).await;
    let ch = create_channel(
        &app,
        json!({"name": "on-call", "kind": "email", "to": ["a@example.com", "b@example.com"]}),
    )
    .await;
    let id = service(&app, "payroll", &[&ch], json!({})).await;
    app.ping(&id, "exit 4").await;
    assert_eq!(app.deliver().await.sent, 1, "one alert for the channel");
    let mails = app.mail_files();
    assert_eq!(mails.len(), 2, "a mail to each address");
    for to in ["a@example.com", "b@example.com"] {
        assert!(
            mails
                .iter()
                .any(|m| m.contains(&format!("To: {to}")) && m.contains("DOWN: payroll")),
            "{mails:?}"
        );
    }
}

on_every_backend!(
    an_email_channel_mails_each_of_its_addresses,
    a_silent_host_tells_its_feishu_group_in_chinese,
    a_burst_is_one_message_per_destination,
    reminders_repeat_while_down_up_to_the_maximum,
    a_recovery_cancels_the_pending_reminder,
    a_snooze_holds_alerts_and_lets_out_what_is_still_down,
    a_weekly_window_across_midnight_in_shanghai,
    a_refusing_robot_is_retried_and_delivered_once,
);
