//! The services list: every page renders on every database, search, the live fragment.
use chrono::Duration;
use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::on_every_backend;
use crate::ui_helpers::{Browser, input_value};

async fn every_page_renders(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app
        .create_service(json!({"name": "cert renew", "kind": "cron", "cron": "0 3 * * 1-5", "timezone": "Europe/Berlin", "tags": ["cert", "sync"], "notify": ["ops@example.com"]}))
        .await
        .id;
    app.ping_ok(&id, "").await;
    app.ping_ok(&id, "disk full").await;
    app.deliver().await;
    let mut b = Browser::signed_in(&app).await;
    for lang in ["en", "zh"] {
        b.set_cookie("hb_lang", lang);
        for path in [
            "/".to_owned(),
            "/?q=cert,sync&status=down".into(),
            "/ui/rows?q=cert".into(),
            "/services/new".into(),
            format!("/services/{id}"),
            format!("/services/{id}?before=999999"),
            format!("/services/{id}/edit"),
            format!("/services/{id}/delete"),
            "/alerts".into(),
            "/alerts?before=999999".into(),
            "/account".into(),
        ] {
            let page = b.get(&path).await;
            assert_eq!(page.status, 200, "{lang} {path}: {}", page.body);
            if !path.starts_with("/ui/") {
                page.assert_contains(if lang == "zh" {
                    "<html lang=\"zh-CN\">"
                } else {
                    "<html lang=\"en\">"
                });
            }
        }
    }
    b.set_cookie("hb_lang", "en");
    let page = b.get("/").await;
    // One zone for every row: said once above the table, not on each row.
    page.assert_contains("Schedules in this list are in Europe/Berlin");
    page.assert_contains("weekdays at 03:00 · 0 3 * * 1-5, grace 5 min");
    app.interval_service("another zone", 60, 60).await;
    let page = b.get("/").await;
    assert!(!page.body.contains("Schedules in this list are in"));
    page.assert_contains("weekdays at 03:00 · 0 3 * * 1-5 · Europe/Berlin, grace 5 min");
    page.assert_contains(r#"<span class="badge b-down">Down</span>"#);
    let page = b.get(&format!("/services/{id}")).await;
    page.assert_contains("The job reported an error.");
    page.assert_contains("disk full");
    page.assert_contains(r#"<span class="state s-sent">sent</span>"#);
    assert_eq!(b.get("/services/nosuchid").await.status, 404);
}

/// The service names a list page shows, in order.
fn names(body: &str) -> Vec<String> {
    body.split("class=\"svc\" href=\"/services/")
        .skip(1)
        .map(|s| {
            let start = s.find('>').unwrap() + 1;
            s[start..start + s[start..].find('<').unwrap()].to_owned()
        })
        .collect()
}

async fn list(b: &mut Browser<'_>, q: &str) -> Vec<String> {
    names(&b.get(&format!("/?q={q}")).await.body)
}

#[tokio::test]
async fn search_takes_comma_separated_tags_and_name_parts() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for (name, tags) in [
        ("tls renew", json!(["cert", "sync"])),
        ("cert check", json!(["cert"])),
        ("Photo Sync", json!(["sync"])),
        ("db backup", json!(["db"])),
    ] {
        app.create_service(json!({"name": name, "kind": "interval", "period": 60, "tags": tags}))
            .await;
    }
    let mut b = Browser::signed_in(&app).await;
    assert_eq!(
        list(&mut b, "").await,
        ["cert check", "db backup", "Photo Sync", "tls renew"]
    );
    assert_eq!(list(&mut b, "cert,sync").await, ["tls renew"]);
    assert_eq!(list(&mut b, "CERT").await, ["cert check", "tls renew"]);
    assert_eq!(list(&mut b, "cert,%20check").await, ["cert check"]);
    assert_eq!(list(&mut b, "photo").await, ["Photo Sync"]);
    assert!(list(&mut b, "nosuchtag").await.is_empty());
    assert!(list(&mut b, "cert,nosuchtag").await.is_empty());
    // A partial tag does not match; a partial name does.
    assert!(list(&mut b, "cer,db").await.is_empty());
    // The search box keeps the search; the counts follow it.
    let page = b.get("/?q=sync").await;
    assert_eq!(input_value(&page.body, "q").as_deref(), Some("sync"));
    page.assert_contains(r#"aria-current="page">All <span class="count">2</span>"#);
    page.assert_contains(r#"href="/?q=sync&#38;status=new""#);
    // A chip adds its tag to the search; an active one takes it back out, and says so
    // in more than colour.
    page.assert_contains(r#"href="/?q=sync%2Ccert""#);
    page.assert_contains(r#"<a class="chip on" href="/" aria-current="true""#);
    page.assert_contains("(remove from the search)");
    let page = b.get("/?q=sync,cert").await;
    page.assert_contains(r#"<a class="chip on" href="/?q=cert" aria-current="true""#);
    assert!(
        b.get("/?q=nosuchtag")
            .await
            .contains("No service matches this search.")
    );
    // Status filter.
    let id = app.interval_service("down one", 60, 60).await;
    app.ping_ok(&id, "boom").await;
    let page = b.get("/?status=down").await;
    assert_eq!(names(&page.body), ["down one"]);
    // The title says how many are down, in both languages.
    page.assert_contains("<title>(1 down) Services · Heartbeats</title>");
    b.set_cookie("hb_lang", "zh");
    b.get("/").await.assert_contains("<title>（1 个故障）");
    b.set_cookie("hb_lang", "en");
    page.assert_contains(r#"Down <span class="count">1</span>"#);
}

#[tokio::test]
async fn the_live_fragment_is_304_until_something_changes() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = app.interval_service("svc", 60, 60).await;
    // Live refreshes may reuse rows for 2 s; this test looks at every change.
    app.state
        .ui
        .list_cache
        .set_refresh_floor(std::time::Duration::ZERO);
    let mut b = Browser::signed_in(&app).await;
    let first = b.get("/ui/rows?q=svc").await;
    assert_eq!(first.status, 200);
    assert!(first.body.contains("<tbody>"));
    assert!(!first.body.contains("<html"));
    let etag = first.headers["etag"].to_str().unwrap().to_owned();
    let again = b.get_with("/ui/rows?q=svc", "if-none-match", &etag).await;
    assert_eq!(again.status, 304);
    // A ping changes the row: a new body and tag.
    app.ping_ok(&id, "").await;
    let changed = b.get_with("/ui/rows?q=svc", "if-none-match", &etag).await;
    assert_eq!(changed.status, 200);
    assert_ne!(changed.headers["etag"].to_str().unwrap(), etag);
    changed.assert_contains(r#"<span class="badge b-up">Up</span>"#);
    // Time passing refreshes the relative times.
    let etag = changed.headers["etag"].to_str().unwrap().to_owned();
    app.advance(Duration::minutes(3));
    let later = b.get_with("/ui/rows?q=svc", "if-none-match", &etag).await;
    assert_eq!(later.status, 200);
    later.assert_contains("3 min ago");
}

/// Down rows say since when and why; tag chips warn of their worst service; services that
/// notify nobody are named above the list; the list can be ordered by name.
async fn rows_say_why_and_since_when(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let make = async |name: &str, period: i64, tags: serde_json::Value, notify: bool| {
        let mut body = json!({"name": name, "kind": "interval", "period": period, "grace": period, "tags": tags});
        if notify {
            body["notify"] = json!(["ops@example.com"]);
        }
        let id = app.create_service(body).await.id;
        app.ping_ok(&id, "").await;
        id
    };
    let backup = make("backup", 3600, json!(["db", "nightly"]), true).await;
    make("missed", 60, json!(["nightly"]), true).await;
    make("report", 3600, json!(["web"]), true).await;
    make("quiet", 86400, json!(["web", "calm"]), false).await;
    app.advance(Duration::minutes(30));
    app.run_scheduler().await;
    app.ping_ok(&backup, "backup failed: disk full\nsee /var/log/backup.log")
        .await;
    app.advance(Duration::minutes(61));
    app.run_scheduler().await;

    let mut b = Browser::signed_in(&app).await;
    let page = b.get("/").await;
    // Down first, then late, then the rest.
    assert_eq!(names(&page.body), ["backup", "missed", "report", "quiet"]);
    page.assert_contains(
        r#"<span class="why" title="backup failed: disk full
see /var/log/backup.log">1 h 1 min · backup failed: disk full</span>"#,
    );
    page.assert_contains("· no ping in time</span>");
    // The late row's lateness is in its due column.
    page.assert_contains("overdue 31 min");
    // Chips: `db` and `nightly` have a down service, `web` a late one, `calm` neither.
    page.assert_contains(r#"class="chip chip-down" href="/?q=db""#);
    page.assert_contains(r#"class="chip chip-down" href="/?q=nightly""#);
    page.assert_contains(r#"class="chip chip-late" href="/?q=web""#);
    page.assert_contains(r#"<a class="chip" href="/?q=calm">calm</a>"#);
    page.assert_contains("nightly<span class=\"sr-only\"> (some of its services are down)</span>");
    // `quiet` can never alert, and the list says so.
    page.assert_contains("These services notify nobody, so they can never alert:");
    assert!(page.body.contains(">quiet</a></p></div>"), "{}", page.body);
    // By name, on request; the link keeps the order through the status tabs.
    let by_name = b.get("/?sort=name").await;
    assert_eq!(
        names(&by_name.body),
        ["backup", "missed", "quiet", "report"]
    );
    by_name.assert_contains(r#"href="/?status=down&#38;sort=name""#);
    by_name.assert_contains(r#"<input type="hidden" name="sort" value="name">"#);

    b.set_cookie("hb_lang", "zh");
    let page = b.get("/").await;
    page.assert_contains("1 小时 1 分钟 · backup failed: disk full");
    page.assert_contains("· 未按时收到信号</span>");
    page.assert_contains("以下服务没有通知对象，永远不会发出告警：");

    // Past five, the notice names five and counts the rest.
    for i in 0..6 {
        app.create_service(
            json!({"name": format!("silent {i}"), "kind": "interval", "period": 60}),
        )
        .await;
    }
    b.set_cookie("hb_lang", "en");
    let page = b.get("/").await;
    page.assert_contains("and 2 more");
    // A service whose recipients are all taken off joins the notice at once.
    let r = app
        .patch_json(
            &format!("/api/v1/services/{backup}"),
            &json!({"notify": []}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let page = b.get("/").await;
    assert!(page.body.contains(">backup</a>, "), "{}", page.body);
    page.assert_contains("and 3 more");
}

on_every_backend!(every_page_renders, rows_say_why_and_since_when);
