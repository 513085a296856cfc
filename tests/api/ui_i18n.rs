//! Validation errors in Chinese: every message a form shows comes from the same use case
//! as the API's, translated.
use crate::helpers::{Backend, TestApp};
use crate::ui_helpers::Browser;

#[tokio::test]
async fn chinese_pages_show_chinese_validation_errors() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut b = Browser::signed_in(&app).await;
    b.set_cookie("hb_lang", "zh");
    let page = b
        .submit(
            "/services/new",
            "/services/new",
            &[
                ("name", " "),
                ("kind", "cron"),
                ("cron", "61 * * * *"),
                ("timezone", "Mars/Base"),
                ("grace", "x"),
                ("grace_unit", "min"),
                ("tags", "db, bad tag"),
                ("notify", "ops@example.com, nope"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    page.assert_contains(r#"id="name-err">必填</p>"#);
    page.assert_contains(r#"id="cron-err">分钟字段：61 超出范围 0-59</p>"#);
    page.assert_contains(r#"id="timezone-err">未知时区 &#39;Mars/Base&#39;"#);
    page.assert_contains(r#"id="grace-err">必须是整数</p>"#);
    page.assert_contains(r#"id="tags-err">标签 &#39;bad tag&#39; 不能包含空格"#);
    page.assert_contains(r#"id="notify-err">&#39;nope&#39; 不是有效的邮箱地址</p>"#);

    // Other cron mistakes, a daily time and a duplicate name.
    for (cron, message) in [
        (
            "* * *",
            "应有 5 个字段（分钟 小时 日期 月份 星期），实际 3 个",
        ),
        ("5-1 * * * *", "分钟字段：范围 5-1 颠倒了"),
        ("* * * foo *", "月份字段：未知名称 &#39;foo&#39;"),
        ("@reboot", "不支持 @reboot"),
    ] {
        let page = b
            .submit(
                "/services/new",
                "/services/new",
                &[
                    ("name", "x"),
                    ("kind", "cron"),
                    ("cron", cron),
                    ("grace", "5"),
                ],
            )
            .await;
        assert_eq!(page.status, 422);
        page.assert_contains(&format!(r#"id="cron-err">{message}"#));
    }
    let page = b
        .submit(
            "/services/new",
            "/services/new",
            &[
                ("name", "x"),
                ("kind", "daily"),
                ("at", "4pm"),
                ("grace", "5"),
            ],
        )
        .await;
    page.assert_contains(r#"id="at-err">格式应为 HH:MM，例如 16:05</p>"#);
    app.interval_service("taken", 60, 60).await;
    let page = b
        .submit(
            "/services/new",
            "/services/new",
            &[
                ("name", "taken"),
                ("kind", "interval"),
                ("period", "0"),
                ("period_unit", "min"),
                ("grace", "5"),
                ("timezone", "Asia/Shanghai"),
            ],
        )
        .await;
    page.assert_contains(r#"id="period-err">必须在 1 秒到 366 天之间</p>"#);

    // The account page: a wrong current password and a short new one.
    let page = b
        .submit(
            "/account",
            "/account/password",
            &[("current", "wrong"), ("new", "short"), ("confirm", "other")],
        )
        .await;
    assert_eq!(page.status, 422);
    page.assert_contains("当前密码错误。");
    page.assert_contains("密码至少 8 个字符");
    page.assert_contains("两次输入的新密码不一致。");
}

#[tokio::test]
async fn the_chinese_preview_explains_a_broken_cron() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut b = Browser::signed_in(&app).await;
    b.set_cookie("hb_lang", "zh");
    let page = b
        .get("/ui/preview?kind=cron&cron=61+*+*+*+*&timezone=Asia%2FShanghai")
        .await;
    assert_eq!(page.status, 200);
    let v: serde_json::Value = serde_json::from_str(&page.body).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["field"], "cron");
    assert_eq!(v["error"], "分钟字段：61 超出范围 0-59");
}

#[tokio::test]
async fn settings_that_can_never_alert_are_called_out() {
    let app = crate::helpers::TestApp::spawn(Backend::Sqlite).await;
    let silent = app
        .create_service(serde_json::json!({"name": "silent", "period": 60}))
        .await;
    let id = &silent.id;
    let mut b = Browser::signed_in(&app).await;
    let page = b.get(&format!("/services/{id}")).await;
    page.assert_contains(r#"id="no-recipients">No one is notified"#);
    b.set_cookie("hb_lang", "zh");
    let page = b.get(&format!("/services/{id}")).await;
    page.assert_contains("没有设置通知对象");
    // The history comes before the copy-paste snippets, which fold away.
    let history = page.body.find(r#"id="flips-h""#).unwrap();
    let log = page.body.find(r#"id="log-h""#).unwrap();
    let snippets = page.body.find(r#"id="snip-h""#).unwrap();
    assert!(history < log && log < snippets);
    assert!(
        page.body
            .contains(r#"<details class="card snippets-card">"#)
    );
    b.set_cookie("hb_lang", "en");
    b.get("/services/new")
        .await
        .assert_contains(r#"id="notify-warn">No one is notified"#);
    let notified = app.interval_service("told", 60, 60).await;
    let page = b.get(&format!("/services/{notified}")).await;
    assert!(!page.body.contains("no-recipients"));
}

#[tokio::test]
async fn styles_and_scripts_are_served_compressed() {
    let app = crate::helpers::TestApp::spawn(Backend::Sqlite).await;
    for asset in ["/static/app.css", "/static/app.js"] {
        let resp = app
            .client
            .get(app.url(asset))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers()
                .get("content-encoding")
                .and_then(|v| v.to_str().ok()),
            Some("gzip"),
            "{asset}"
        );
    }
}
