//! A service's page: pings, status changes and their deliveries.

use crate::helpers::{ADMIN, Backend, Options, PASSWORD, SmtpServer, TestApp};
use crate::ui_helpers::Browser;

#[tokio::test]
async fn the_service_page_shows_pings_flips_and_deliveries() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        Options {
            vars: smtp.vars(),
            ..Default::default()
        },
    )
    .await;
    let id = app.interval_service("backup", 60, 30).await;
    for i in 0..55 {
        app.client
            .post(app.url("/api/pings"))
            .basic_auth(ADMIN, Some(PASSWORD))
            .header("user-agent", "backup-script/1.0")
            .query(&[
                ("service", id.as_str()),
                ("data", if i == 54 { "disk full" } else { "" }),
            ])
            .send()
            .await
            .unwrap();
    }
    app.deliver().await;
    let mut b = Browser::signed_in(&app).await;
    let page = b.get(&format!("/services/{id}")).await;
    page.assert_contains("backup-script/1.0");
    page.assert_contains("127.0.0.1");
    page.assert_contains("2026-11-02 08:00:00 UTC+8");
    page.assert_contains(r#"title="2026-11-02 00:00:00 UTC""#);
    page.assert_contains(r#"<pre class="data">disk full</pre>"#);
    assert_eq!(page.body.matches(r#"<span class="kind k-"#).count(), 50);
    let older = page.body.split("?before=").nth(1).unwrap();
    let before: String = older.chars().take_while(char::is_ascii_digit).collect();
    let page2 = b
        .get(&format!("/services/{id}?before={before}#pings"))
        .await;
    assert_eq!(page2.body.matches(r#"<span class="kind k-"#).count(), 5);
    page2.assert_contains("Newest pings");
    // The flip and the mail it produced.
    page.assert_contains(
        r#"<span class="badge b-up">Up</span> → <span class="badge b-down">Down</span>"#,
    );
    page.assert_contains(
        r#"<span class="recipient">ops@example.com</span> <span class="state s-sent">sent</span>"#,
    );
    page.assert_contains("Down since");
}
