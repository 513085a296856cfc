//! The chat senders against a fake vendor on loopback (`chat_server.rs`): each kind's
//! request shape, the DingTalk and Feishu signatures, how failures are classified, and
//! that no error text gives a secret away. No database is involved.
use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, TimeZone, Utc};
use heartbeats::domain::channel::{ChannelKind, ChannelSettings, MessageLang};
use heartbeats::domain::host::HostReason;
use heartbeats::domain::status::Reason;
use heartbeats::notify::chat::Sender;
use heartbeats::notify::message::{
    AlertItem, Cause, MAX_BURST_LINES, Message, SendError, SubjectKind, Target,
};
use serde_json::{Value, json};

use crate::chat_server::{ChatServer, Reply, Request, Vendor, decode_header};

const SECRET: &str = "SECd0c1e2f3a4b5c6d7e8f9";
const TOKEN: &str = "tok-0123456789abcdef";

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 8, 5, 2).unwrap()
}

fn down(name: &str) -> AlertItem {
    AlertItem {
        subject: SubjectKind::Service,
        id: format!("id-{name}"),
        name: name.to_owned(),
        cause: Cause::Service(Reason::Missed),
        status: "down".to_owned(),
        detail: None,
        at: at(),
        due_at: Some(at() - Duration::minutes(5)),
        last_seen: Some(at() - Duration::hours(25)),
        tz: chrono_tz::Asia::Shanghai,
        link: format!("https://hb.example.com/services/id-{name}"),
        tags: vec!["db".to_owned(), "nightly".to_owned()],
        outage: None,
        reminder: None,
        down_for: None,
    }
}

fn up(name: &str) -> AlertItem {
    AlertItem {
        cause: Cause::Service(Reason::Recovered),
        status: "up".to_owned(),
        outage: Some(Duration::minutes(125)),
        ..down(name)
    }
}

fn host_degraded(name: &str) -> AlertItem {
    AlertItem {
        subject: SubjectKind::Host,
        cause: Cause::Host(HostReason::Degraded),
        status: "degraded".to_owned(),
        detail: Some("disk / 97% used\nnginx.service failed".to_owned()),
        link: format!("https://hb.example.com/hosts/id-{name}"),
        ..down(name)
    }
}

fn burst(n: usize) -> Message {
    Message::Burst(
        (0..n)
            .map(|i| {
                if i % 4 == 3 {
                    up(&format!("job-{i}"))
                } else {
                    down(&format!("job-{i}"))
                }
            })
            .collect(),
    )
}

fn test_msg() -> Message {
    Message::Test {
        base_url: "https://hb.example.com/".to_owned(),
    }
}

fn target(kind: ChannelKind, lang: MessageLang, settings: ChannelSettings) -> Target {
    Target {
        id: "ch1".to_owned(),
        name: "ops group".to_owned(),
        kind,
        lang,
        settings,
    }
}

fn with_url(url: String) -> ChannelSettings {
    ChannelSettings {
        url: Some(url),
        ..Default::default()
    }
}

fn sender() -> Sender {
    Sender::new(StdDuration::from_secs(5))
}

/// Send One, Burst and Test; each must be taken, and the vendor must have found nothing
/// wrong. Returns the three requests.
async fn deliver_all(server: &ChatServer, path: &str, target: &Target) -> Vec<Request> {
    let s = sender();
    for msg in [Message::One(down("backup-db")), burst(5), test_msg()] {
        s.send(target, &msg)
            .await
            .unwrap_or_else(|e| panic!("{:?} refused: {e}", target.kind));
    }
    let seen = server.requests_to(path);
    assert_eq!(seen.len(), 3, "{seen:#?}");
    for r in &seen {
        assert_eq!(r.problem, None, "{r:#?}");
        assert!(!r.scripted);
        assert!(
            r.header("user-agent")
                .is_some_and(|ua| ua.starts_with("Heartbeats/"))
        );
    }
    seen
}

fn assert_secret_free(e: &SendError, secrets: &[&str]) {
    for s in secrets {
        assert!(!e.text.contains(s), "{s} in {:?}", e.text);
    }
}

#[tokio::test]
async fn dingtalk_delivers_signed_markdown() {
    let server = ChatServer::start().await;
    server.play(
        "/robot/send",
        Vendor::Dingtalk {
            secret: Some(SECRET.into()),
        },
    );
    let t = target(
        ChannelKind::Dingtalk,
        MessageLang::En,
        ChannelSettings {
            secret: Some(SECRET.into()),
            ..with_url(server.url(&format!("/robot/send?access_token={TOKEN}")))
        },
    );
    let seen = deliver_all(&server, "/robot/send", &t).await;
    let one = seen[0].json();
    assert_eq!(one["msgtype"], "markdown");
    assert_eq!(
        one["markdown"]["title"],
        "🔴 DOWN backup-db: missed its ping"
    );
    let text = one["markdown"]["text"].as_str().unwrap();
    assert!(
        text.contains("2026-11-21 16:05:02 UTC+8 / 08:05:02 UTC"),
        "{text}"
    );
    assert!(
        text.contains("(https://hb.example.com/services/id-backup-db)"),
        "{text}"
    );
    assert!(text.contains("Tags: db, nightly"), "{text}");
    assert_eq!(seen[0].query("access_token"), Some(TOKEN));
    assert!(seen[0].query("sign").is_some());
    let burst = seen[1].json();
    assert_eq!(burst["markdown"]["title"], "🔴 4 down, 1 up");
    let test = seen[2].json();
    assert!(
        test["markdown"]["text"]
            .as_str()
            .unwrap()
            .contains("Heartbeats test message: this channel works")
    );
}

#[tokio::test]
async fn a_wrong_dingtalk_secret_is_retried_and_named() {
    let server = ChatServer::start().await;
    server.play(
        "/robot/send",
        Vendor::Dingtalk {
            secret: Some(SECRET.into()),
        },
    );
    let wrong = "SECwrongwrongwrongwrong";
    let t = target(
        ChannelKind::Dingtalk,
        MessageLang::En,
        ChannelSettings {
            secret: Some(wrong.into()),
            ..with_url(server.url(&format!("/robot/send?access_token={TOKEN}")))
        },
    );
    let e = sender()
        .send(&t, &Message::One(down("backup-db")))
        .await
        .unwrap_err();
    assert!(e.retryable, "{e:?}");
    assert!(e.text.contains("errcode 310000 (sign not match)"), "{e}");
    assert!(e.text.contains("DingTalk refused the message"), "{e}");
    assert_secret_free(&e, &[wrong, TOKEN, SECRET]);
    assert_eq!(
        server.requests_to("/robot/send")[0].problem.as_deref(),
        Some("wrong sign")
    );
}

#[tokio::test]
async fn feishu_delivers_signed_posts_and_refuses_a_wrong_secret() {
    let server = ChatServer::start().await;
    let path = "/open-apis/bot/v2/hook/0a1b2c3d-4e5f-6789-abcd-ef0123456789";
    server.play(
        path,
        Vendor::Feishu {
            secret: Some(SECRET.into()),
        },
    );
    let good = target(
        ChannelKind::Feishu,
        MessageLang::Zh,
        ChannelSettings {
            secret: Some(SECRET.into()),
            ..with_url(server.url(path))
        },
    );
    let seen = deliver_all(&server, path, &good).await;
    let one = seen[0].json();
    assert_eq!(one["msg_type"], "post");
    assert!(one["timestamp"].is_string());
    let post = &one["content"]["post"]["zh_cn"];
    assert_eq!(post["title"], "🔴 故障 backup-db：未按时报到");
    let last = post["content"].as_array().unwrap().last().unwrap();
    assert_eq!(last[0]["tag"], "a");
    assert_eq!(
        last[0]["href"],
        "https://hb.example.com/services/id-backup-db"
    );

    let wrong = "a-different-secret-entirely";
    let bad = target(
        ChannelKind::Feishu,
        MessageLang::En,
        ChannelSettings {
            secret: Some(wrong.into()),
            ..with_url(server.url(path))
        },
    );
    let e = sender().send(&bad, &test_msg()).await.unwrap_err();
    assert!(e.retryable, "{e:?}");
    assert!(e.text.contains("code 19021"), "{e}");
    assert_secret_free(&e, &[wrong, "0a1b2c3d-4e5f-6789-abcd-ef0123456789"]);
}

#[tokio::test]
async fn wecom_delivers_markdown_within_4096_bytes() {
    let server = ChatServer::start().await;
    let path = "/cgi-bin/webhook/send";
    let t = target(
        ChannelKind::Wecom,
        MessageLang::Zh,
        with_url(server.url(&format!("{path}?key={TOKEN}"))),
    );
    let seen = deliver_all(&server, path, &t).await;
    assert_eq!(seen[0].json()["msgtype"], "markdown");
    let content = seen[0].json()["markdown"]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        content.contains("🔴 故障 backup-db：未按时报到"),
        "{content}"
    );
    // A burst of many long Chinese names is cut on a character boundary, not refused.
    let items: Vec<AlertItem> = (0..400)
        .map(|i| down(&format!("数据库备份任务-{i}-{}", "很长的名字".repeat(10))))
        .collect();
    sender()
        .send(&t, &Message::Burst(items))
        .await
        .expect("a huge burst fits");
    let last = server.requests_to(path).pop().unwrap();
    assert_eq!(last.problem, None);
    let content = last.json()["markdown"]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(content.len() <= 4096, "{}", content.len());
    assert!(content.starts_with("<font color=\"warning\">**🔴 400 项故障**</font>"));
}

#[tokio::test]
async fn slack_delivers_escaped_mrkdwn() {
    let server = ChatServer::start().await;
    let path = "/services/T000/B000/XXXXXXXXXXXXXXXX";
    let t = target(
        ChannelKind::Slack,
        MessageLang::En,
        with_url(server.url(path)),
    );
    deliver_all(&server, path, &t).await;
    let mut item = down("a<b>&c");
    item.cause = Cause::Service(Reason::Error);
    item.detail = Some("exit 3 <stderr> & more".to_owned());
    sender().send(&t, &Message::One(item)).await.unwrap();
    let text = server.requests_to(path)[3].json()["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        text.starts_with("*🔴 DOWN a&lt;b&gt;&amp;c: reported an error*"),
        "{text}"
    );
    assert!(
        text.contains("Data: exit 3 &lt;stderr&gt; &amp; more"),
        "{text}"
    );
    assert!(
        text.ends_with(
            "<https://hb.example.com/services/id-a&lt;b&gt;&amp;c|Open a&lt;b&gt;&amp;c>"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn telegram_delivers_escaped_html() {
    let server = ChatServer::start().await;
    let path = format!("/bot{TOKEN}/sendMessage");
    server.play(
        &path,
        Vendor::Telegram {
            token: Some(TOKEN.into()),
        },
    );
    let t = target(
        ChannelKind::Telegram,
        MessageLang::En,
        ChannelSettings {
            token: Some(TOKEN.into()),
            chat_id: Some("-1001234567890".into()),
            ..with_url(server.base())
        },
    );
    let seen = deliver_all(&server, &path, &t).await;
    let one = seen[0].json();
    assert_eq!(one["chat_id"], "-1001234567890");
    assert_eq!(one["parse_mode"], "HTML");
    assert_eq!(one["disable_web_page_preview"], true);
    let mut item = host_degraded("web<1>");
    item.detail = Some("load > 8 & \"rising\"".to_owned());
    sender().send(&t, &Message::One(item)).await.unwrap();
    let text = server.requests_to(&path)[3].json()["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        text.starts_with("<b>🟠 DEGRADED web&lt;1&gt;: is degraded</b>"),
        "{text}"
    );
    assert!(
        text.contains("Problems: load &gt; 8 &amp; &quot;rising&quot;"),
        "{text}"
    );

    // A wrong token: Telegram's 401 needs a person, and the token stays out of the text.
    let wrong = "tok-wrongwrongwrong";
    let bad = Target {
        settings: ChannelSettings {
            token: Some(wrong.into()),
            ..t.settings.clone()
        },
        ..t.clone()
    };
    server.play(
        &format!("/bot{wrong}/sendMessage"),
        Vendor::Telegram {
            token: Some(TOKEN.into()),
        },
    );
    let e = sender().send(&bad, &test_msg()).await.unwrap_err();
    assert!(!e.retryable, "{e:?}");
    assert!(e.text.contains("HTTP 401"), "{e}");
    assert_secret_free(&e, &[wrong, TOKEN]);
}

#[tokio::test]
async fn ntfy_delivers_with_ascii_headers() {
    let server = ChatServer::start().await;
    let path = "/ntfy/backups";
    server.play(
        path,
        Vendor::Ntfy {
            token: Some(TOKEN.into()),
        },
    );
    let t = target(
        ChannelKind::Ntfy,
        MessageLang::Zh,
        ChannelSettings {
            topic: Some("backups".into()),
            token: Some(TOKEN.into()),
            ..with_url(server.url("/ntfy"))
        },
    );
    let seen = deliver_all(&server, path, &t).await;
    let one = &seen[0];
    assert_eq!(
        decode_header(one.header("title").unwrap()),
        "🔴 故障 backup-db：未按时报到"
    );
    assert_eq!(one.header("tags"), Some("rotating_light"));
    assert_eq!(one.header("priority"), Some("4"));
    assert_eq!(
        one.header("click"),
        Some("https://hb.example.com/services/id-backup-db")
    );
    assert!(one.text().contains("标签：db, nightly"), "{}", one.text());
    sender()
        .send(&t, &Message::One(up("backup-db")))
        .await
        .unwrap();
    let back = server.requests_to(path).pop().unwrap();
    assert_eq!(
        decode_header(back.header("title").unwrap()),
        "🟢 恢复 backup-db，故障持续 2 小时 5 分"
    );
    assert_eq!(back.header("tags"), Some("white_check_mark"));
    assert_eq!(back.header("priority"), Some("3"));
}

#[tokio::test]
async fn gotify_delivers_markdown_with_a_click() {
    let server = ChatServer::start().await;
    server.play(
        "/gotify/message",
        Vendor::Gotify {
            token: Some(TOKEN.into()),
        },
    );
    let t = target(
        ChannelKind::Gotify,
        MessageLang::En,
        ChannelSettings {
            token: Some(TOKEN.into()),
            ..with_url(server.url("/gotify/"))
        },
    );
    let seen = deliver_all(&server, "/gotify/message", &t).await;
    assert_eq!(seen[0].header("x-gotify-key"), Some(TOKEN));
    let one = seen[0].json();
    assert_eq!(one["title"], "🔴 DOWN backup-db: missed its ping");
    assert_eq!(one["priority"], 8);
    assert_eq!(
        one["extras"]["client::display"]["contentType"],
        "text/markdown"
    );
    assert_eq!(
        one["extras"]["client::notification"]["click"]["url"],
        "https://hb.example.com/services/id-backup-db"
    );
}

#[tokio::test]
async fn webhooks_send_the_default_document() {
    let server = ChatServer::start().await;
    let t = target(
        ChannelKind::Webhook,
        MessageLang::En,
        ChannelSettings {
            method: Some("POST".into()),
            headers: BTreeMap::from([("Authorization".to_owned(), format!("Bearer {TOKEN}"))]),
            ..with_url(server.url("/hook"))
        },
    );
    let seen = deliver_all(&server, "/hook", &t).await;
    assert_eq!(
        seen[0].header("authorization"),
        Some(&*format!("Bearer {TOKEN}"))
    );
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
    let one = seen[0].json();
    for (key, value) in [
        ("kind", json!("service")),
        ("id", json!("id-backup-db")),
        ("name", json!("backup-db")),
        ("status", json!("down")),
        ("reason", json!("missed")),
        ("at", json!("2026-11-21T16:05:02+08:00")),
        ("at_utc", json!("2026-11-21T08:05:02Z")),
        ("tz", json!("Asia/Shanghai")),
        ("due_at", json!("2026-11-21T08:00:02Z")),
        ("last_seen", json!("2026-11-20T07:05:02Z")),
        (
            "link",
            json!("https://hb.example.com/services/id-backup-db"),
        ),
        ("tags", json!(["db", "nightly"])),
        ("data", Value::Null),
        ("outage_secs", Value::Null),
    ] {
        assert_eq!(one[key], value, "{key} in {one:#}");
    }
    let burst = seen[1].json();
    assert_eq!(burst["count"], 5);
    assert_eq!(burst["alerts"].as_array().unwrap().len(), 5);
    assert_eq!(burst["alerts"][3]["status"], "up");
    assert_eq!(burst["alerts"][3]["outage_secs"], 125 * 60);
    assert_eq!(seen[2].json()["test"], true);
}

#[tokio::test]
async fn webhook_templates_stay_valid_json() {
    let server = ChatServer::start().await;
    let t = target(
        ChannelKind::Webhook,
        MessageLang::En,
        ChannelSettings {
            method: Some("PUT".into()),
            body_down: Some(
                r#"{"svc": "{{name}}", "why": "{{ reason }}", "data": "{{data}}", "at": "{{at_utc}}", "tags": "{{tags}}", "all": {{alerts}}}"#
                    .into(),
            ),
            body_up: Some("{{name}} is back after {{outage}} ({{outage_secs}} s)".into()),
            ..with_url(server.url("/hook"))
        },
    );
    let mut item = down("say \"cheese\"");
    item.cause = Cause::Service(Reason::Error);
    item.detail = Some("line 1\nline \"2\"\t\\ end".to_owned());
    let s = sender();
    s.send(&t, &Message::One(item)).await.unwrap();
    s.send(&t, &Message::One(up("backup-db"))).await.unwrap();
    let seen = server.requests_to("/hook");
    assert_eq!(seen[0].method, "PUT");
    assert_eq!(seen[0].problem, None);
    let v = seen[0].json();
    assert_eq!(v["svc"], "say \"cheese\"");
    assert_eq!(v["why"], "error");
    assert_eq!(v["data"], "line 1\nline \"2\"\t\\ end");
    assert_eq!(v["at"], "2026-11-21T08:05:02Z");
    assert_eq!(v["tags"], "db,nightly");
    assert_eq!(v["all"][0]["name"], "say \"cheese\"");
    // Not JSON: plain text, nothing escaped.
    assert_eq!(
        seen[1].header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        seen[1].text(),
        "backup-db is back after 2 h 05 min (7500 s)"
    );

    // GET sends no body.
    let get = Target {
        settings: ChannelSettings {
            method: Some("GET".into()),
            ..with_url(server.url("/hook-get?x=1"))
        },
        ..t.clone()
    };
    s.send(&get, &Message::One(down("backup-db")))
        .await
        .unwrap();
    let g = &server.requests_to("/hook-get")[0];
    assert_eq!(g.method, "GET");
    assert!(g.body.is_empty());
    assert_eq!(g.query("x"), Some("1"));
}

#[tokio::test]
async fn failures_are_classified() {
    let server = ChatServer::start().await;
    let path = "/robot/send";
    let t = target(
        ChannelKind::Dingtalk,
        MessageLang::En,
        with_url(server.url(&format!("{path}?access_token={TOKEN}"))),
    );
    // First HTTP 500, then errcode 310000, then throttled, then the vendor's own answer.
    server.script(
        path,
        [
            Reply::Status(500),
            Reply::Json(200, json!({"errcode": 310000, "errmsg": "sign not match"})),
            Reply::Status(429),
        ],
    );
    let s = sender();
    let msg = Message::One(down("backup-db"));
    let e1 = s.send(&t, &msg).await.unwrap_err();
    assert!(e1.retryable && e1.text.contains("HTTP 500"), "{e1:?}");
    let e2 = s.send(&t, &msg).await.unwrap_err();
    assert!(e2.retryable && e2.text.contains("errcode 310000"), "{e2:?}");
    let e3 = s.send(&t, &msg).await.unwrap_err();
    assert!(e3.retryable && e3.text.contains("HTTP 429"), "{e3:?}");
    s.send(&t, &msg).await.expect("the fourth try is delivered");
    assert_eq!(server.requests_to(path).len(), 4);
    for e in [&e1, &e2, &e3] {
        assert_secret_free(e, &[TOKEN]);
        assert!(e.text.starts_with("dingtalk (127.0.0.1:"), "{e}");
    }

    // 404: the URL is wrong, no retry helps.
    let hook = target(
        ChannelKind::Webhook,
        MessageLang::En,
        with_url(server.url("/gone")),
    );
    server.fail_next("/gone", Reply::Text(404, "no such hook".into()));
    let e = s.send(&hook, &msg).await.unwrap_err();
    assert!(!e.retryable, "{e:?}");
    assert!(e.text.contains("HTTP 404: no such hook"), "{e}");

    // Nothing listening: retry later.
    let gone = target(
        ChannelKind::Webhook,
        MessageLang::En,
        with_url(ChatServer::unreachable_url(&format!("/hook?token={TOKEN}")).await),
    );
    let e = s.send(&gone, &msg).await.unwrap_err();
    assert!(e.retryable, "{e:?}");
    assert!(e.text.contains("could not connect"), "{e}");
    assert_secret_free(&e, &[TOKEN]);

    // A server that never answers: the timeout, retryable.
    server.fail_next("/slow", Reply::Hang);
    let slow = target(
        ChannelKind::Webhook,
        MessageLang::En,
        with_url(server.url("/slow")),
    );
    let e = Sender::new(StdDuration::from_millis(300))
        .send(&slow, &msg)
        .await
        .unwrap_err();
    assert!(e.retryable && e.text.contains("timed out"), "{e:?}");
}

#[tokio::test]
async fn no_error_text_holds_a_secret() {
    let server = ChatServer::start().await;
    // A gateway that echoes what it was sent, credentials included.
    let header_secret = "Bearer hdr-secret-0123456789";
    server.fail_next(
        "/echo",
        Reply::Text(
            503,
            format!("upstream refused Authorization: {header_secret} for /echo?token={TOKEN}"),
        ),
    );
    let t = target(
        ChannelKind::Webhook,
        MessageLang::En,
        ChannelSettings {
            headers: BTreeMap::from([("Authorization".to_owned(), header_secret.to_owned())]),
            ..with_url(server.url(&format!("/echo?token={TOKEN}")))
        },
    );
    let e = sender()
        .send(&t, &Message::One(down("backup-db")))
        .await
        .unwrap_err();
    assert!(e.retryable, "{e:?}");
    assert!(e.text.contains("HTTP 503"), "{e}");
    assert_secret_free(&e, &[header_secret, TOKEN]);

    let gotify = target(
        ChannelKind::Gotify,
        MessageLang::En,
        ChannelSettings {
            token: Some(TOKEN.into()),
            ..with_url(server.base())
        },
    );
    server.play(
        "/message",
        Vendor::Gotify {
            token: Some("another-token-entirely".into()),
        },
    );
    let e = sender().send(&gotify, &test_msg()).await.unwrap_err();
    assert!(!e.retryable && e.text.contains("HTTP 401"), "{e:?}");
    assert_secret_free(&e, &[TOKEN]);

    // Mail is the outbox's, not the chat sender's.
    let email = target(
        ChannelKind::Email,
        MessageLang::En,
        ChannelSettings {
            to: vec!["ops@example.com".into()],
            ..Default::default()
        },
    );
    let e = sender().send(&email, &test_msg()).await.unwrap_err();
    assert!(!e.retryable);
}

#[tokio::test]
async fn chinese_messages_for_zh_channels() {
    let server = ChatServer::start().await;
    let path = "/robot/send";
    let t = target(
        ChannelKind::Dingtalk,
        MessageLang::Zh,
        with_url(server.url(&format!("{path}?access_token={TOKEN}"))),
    );
    let mut reminder = down("backup-db");
    reminder.reminder = Some(2);
    reminder.down_for = Some(Duration::hours(3));
    let many = Message::Burst(
        (0..MAX_BURST_LINES + 7)
            .map(|i| down(&format!("job-{i}")))
            .chain([up("web"), host_degraded("db-1")])
            .collect(),
    );
    let s = sender();
    for msg in [
        Message::One(reminder),
        Message::One(up("backup-db")),
        Message::One(host_degraded("db-1")),
        many,
        test_msg(),
    ] {
        s.send(&t, &msg).await.unwrap();
    }
    let texts: Vec<(String, String)> = server
        .requests_to(path)
        .iter()
        .map(|r| {
            let v = r.json();
            (
                v["markdown"]["title"].as_str().unwrap().to_owned(),
                v["markdown"]["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(texts[0].0, "🔴 故障 backup-db：未按时报到");
    assert!(
        texts[0]
            .1
            .contains("仍然故障，已持续 3 小时（第 2 次提醒）"),
        "{}",
        texts[0].1
    );
    assert!(
        texts[0].1.contains("时间：2026-11-21 16:05:02 UTC+8"),
        "{}",
        texts[0].1
    );
    assert!(
        texts[0]
            .1
            .contains("[查看 backup-db](https://hb.example.com/services/id-backup-db)")
    );
    assert_eq!(texts[1].0, "🟢 恢复 backup-db，故障持续 2 小时 5 分");
    assert_eq!(texts[2].0, "🟠 异常 db-1：状态异常");
    assert!(
        texts[2].1.contains("问题：disk / 97% used"),
        "{}",
        texts[2].1
    );
    assert_eq!(texts[3].0, "🔴 37 项故障，1 项异常，1 项恢复");
    assert!(texts[3].1.contains("另有 9 项"), "{}", texts[3].1);
    assert_eq!(
        texts[3].1.matches("](https://hb.example.com/").count(),
        MAX_BURST_LINES
    );
    assert!(texts[4].1.contains("Heartbeats 测试消息：此通道工作正常"));
}
