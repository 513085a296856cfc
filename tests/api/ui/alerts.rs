//! The alerts page: broken mail, the test mail.
use chrono::Duration;

use crate::helpers::{Backend, Options, TestApp};
use crate::ui_helpers::Browser;

#[tokio::test]
async fn the_alerts_page_shows_broken_mail_and_sends_a_test() {
    // An SMTP server that is not there: alerts retry with the error shown.
    let port = crate::helpers::free_port();
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        Options {
            vars: vec![
                ("SMTP_HOST", "127.0.0.1".into()),
                ("SMTP_PORT", port.to_string()),
                ("SMTP_TLS", "none".into()),
                ("SMTP_TIMEOUT", "2".into()),
            ],
            ..Default::default()
        },
    )
    .await;
    let id = app.interval_service("nightly", 60, 30).await;
    app.ping_ok(&id, "").await;
    app.advance(Duration::seconds(120));
    app.run_scheduler().await;
    let report = app.deliver().await;
    assert_eq!(report.retrying, 1);
    let mut b = Browser::signed_in(&app).await;
    let page = b.get("/alerts").await;
    page.assert_contains("Mail delivery is failing.");
    page.assert_contains("1 alert is waiting to be retried");
    page.assert_contains(r#"<span class="state s-retrying">retrying</span>"#);
    page.assert_contains("next attempt 2026-11-02 08:02:30 UTC+8");
    page.assert_contains(r#"<div class="smtp-error">SMTP: "#);
    page.assert_contains("missed: no ping within the grace time");
    page.assert_contains(&format!(r#"<a href="/services/{id}">nightly</a>"#));
    page.assert_contains(&format!("smtp://127.0.0.1:{port}"));

    let page = b
        .submit("/alerts", "/alerts/test", &[("to", "ops@example.com")])
        .await;
    assert_eq!(page.status, 200);
    page.assert_contains(r#"id="test-result">The test email could not be sent: SMTP"#);
    let page = b.submit("/alerts", "/alerts/test", &[("to", "nope")]).await;
    page.assert_contains(
        "The test email could not be sent: &#39;nope&#39; is not an email address",
    );
}

#[tokio::test]
async fn a_test_email_reaches_the_mailbox() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut b = Browser::signed_in(&app).await;
    let page = b
        .submit("/alerts", "/alerts/test", &[("to", "ops@example.com")])
        .await;
    page.assert_contains("Test email sent to ops@example.com via files in");
    let mails = app.mail_files();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("[Heartbeats] test message"));
}
