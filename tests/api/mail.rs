//! Alert mail through a real SMTP server (aiosmtpd) on loopback.
use chrono::Duration;
use serde_json::json;

use crate::helpers::{Backend, Options, SmtpServer, TestApp, free_port};

async fn app_with_smtp(port: u16) -> TestApp {
    let vars = vec![
        ("SMTP_HOST", "127.0.0.1".to_string()),
        ("SMTP_PORT", port.to_string()),
        ("SMTP_TLS", "none".into()),
        ("SMTP_FROM", "Heartbeats <heartbeats@example.com>".into()),
        ("SMTP_TIMEOUT", "5".into()),
    ];
    TestApp::spawn_with(
        Backend::Sqlite,
        Options {
            vars,
            ..Default::default()
        },
    )
    .await
}

#[tokio::test]
async fn alerts_reach_every_recipient_once() {
    let smtp = SmtpServer::start().await;
    let app = app_with_smtp(smtp.port).await;
    let svc = app
        .create_service(json!({"name": "db <backup>", "period": 3600, "notify": ["a@example.com", "b@example.com"]}))
        .await;
    let id = &svc.id;
    app.ping_ok(id, "").await;
    app.ping_ok(id, "pg_dump: error: <connection refused>")
        .await;
    let r = app.deliver().await;
    assert_eq!((r.sent, r.retrying, r.failed), (2, 0, 0));
    assert_eq!(app.deliver().await.sent, 0, "nothing is sent twice");
    let msgs = smtp.messages();
    assert_eq!(msgs.len(), 2);
    let m = &decode_quoted_printable(&msgs[0]);
    assert!(
        m.contains("Subject: [Heartbeats] DOWN: db <backup> (error)"),
        "{m}"
    );
    assert!(m.contains("multipart/alternative"));
    assert!(m.contains("text/plain") && m.contains("text/html"));
    // The html part escapes what the job reported.
    assert!(m.contains("db &#60;backup&#62;"), "{m}");
    assert!(m.contains("&#60;connection refused&#62;"), "{m}");
    assert!(
        m.contains("pg_dump: error: <connection refused>"),
        "the text part keeps it as sent"
    );
    assert!(!m.contains("Was due"), "a reported error names no due time");
    assert!(m.contains(&format!("http://hb.test:5827/services/{id}")));
    let alerts = app.alerts().await;
    assert!(
        alerts.iter().all(|a| a.state == "sent" && a.attempts == 1),
        "{alerts:?}"
    );
}

#[tokio::test]
async fn smtp_outage_loses_nothing_and_sends_nothing_twice() {
    let port = free_port();
    let app = app_with_smtp(port).await;
    let id = app.interval_service("outage", 60, 60).await;
    app.ping_ok(&id, "").await;
    app.ping_ok(&id, "failed").await;

    // No SMTP server yet: the attempt fails and is scheduled again.
    let r = app.deliver().await;
    assert_eq!((r.sent, r.retrying), (0, 1));
    let alert = &app.alerts().await[0];
    assert_eq!(alert.state, "pending");
    assert_eq!(alert.attempts, 1);
    assert!(
        alert.last_error.as_deref().unwrap().contains("SMTP"),
        "{alert:?}"
    );
    // Not before its backoff.
    assert_eq!(app.deliver().await.retrying, 0);

    let smtp = SmtpServer::start_on(port).await;
    app.advance(Duration::seconds(31));
    let r = app.deliver().await;
    assert_eq!(r.sent, 1);
    app.advance(Duration::hours(2));
    assert_eq!(app.deliver().await.sent, 0);
    assert_eq!(smtp.messages().len(), 1);
    let alert = &app.alerts().await[0];
    assert_eq!(alert.state, "sent");
    assert_eq!(alert.attempts, 2);
}

#[tokio::test]
async fn outbox_survives_a_restart() {
    // Alerts are rows, not memory: a new process delivers what the old one queued.
    let port = free_port();
    let first = app_with_smtp(port).await;
    let id = first.interval_service("restart", 60, 60).await;
    first.ping_ok(&id, "").await;
    first.ping_ok(&id, "boom").await;
    let url = first.database.url.clone();
    let smtp = SmtpServer::start_on(port).await;
    let second = crate::helpers::TestApp::spawn_second(&url, smtp.vars()).await;
    assert_eq!(second.deliver().await.sent, 1);
    assert_eq!(smtp.messages().len(), 1);
}

#[tokio::test]
async fn gives_up_after_max_attempts_and_says_why() {
    let mut app = app_with_smtp(free_port()).await;
    app.outbox.max_attempts = 2;
    let id = app.interval_service("hopeless", 60, 60).await;
    app.ping_ok(&id, "").await;
    app.ping_ok(&id, "x").await;
    assert_eq!(app.deliver().await.retrying, 1);
    app.advance(Duration::minutes(5));
    assert_eq!(app.deliver().await.failed, 1);
    let alert = &app.alerts().await[0];
    assert_eq!(alert.state, "failed");
    assert!(!alert.last_error.as_deref().unwrap().is_empty());
}

#[tokio::test]
async fn test_email_reports_an_unreachable_server() {
    let app = app_with_smtp(free_port()).await;
    let err = app
        .outbox
        .mailer()
        .send_test("ops@example.com", &app.state.settings.base_url)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("SMTP"), "{err}");
    let smtp = SmtpServer::start_on(app.state.settings.smtp.as_ref().unwrap().port).await;
    app.outbox
        .mailer()
        .send_test("ops@example.com", &app.state.settings.base_url)
        .await
        .unwrap();
    assert_eq!(smtp.messages().len(), 1);
}

#[tokio::test]
async fn without_smtp_mail_is_written_as_eml_files() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = app.interval_service("files", 60, 60).await;
    app.ping_ok(&id, "").await;
    app.ping_ok(&id, "oops").await;
    assert_eq!(app.deliver().await.sent, 1);
    let files = app.mail_files();
    assert_eq!(files.len(), 1);
    assert!(files[0].contains("To: ops@example.com"));
    assert!(files[0].contains("oops"));
}

/// Undo quoted-printable soft breaks and escapes, enough to search the message text.
pub(crate) fn decode_quoted_printable(s: &str) -> String {
    let joined = s.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
