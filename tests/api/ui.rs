//! The web UI's handlers: sign-in, sessions, CSRF, every page, escaping, validation.
use chrono::Duration;
use serde_json::{Value, json};

use crate::helpers::{ADMIN, Backend, Options, PASSWORD, SmtpServer, TestApp};
use crate::on_every_backend;
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
async fn names_render_as_text_not_markup() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let evil = "<script>alert(1)</script>";
    let svc = app
        .create_service(json!({"name": evil, "kind": "interval", "period": 60, "tags": ["x"]}))
        .await;
    let id = svc["id"].as_str().unwrap();
    app.ping_ok(id, "<img src=x onerror=alert(2)>").await;
    let mut b = Browser::signed_in(&app).await;
    for path in [
        "/".to_owned(),
        "/ui/rows".into(),
        format!("/services/{id}"),
        format!("/services/{id}/edit"),
        format!("/services/{id}/delete"),
        format!("/?q={}", "%3Cscript%3E"),
    ] {
        let page = b.get(&path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(!page.contains(evil), "{path} has raw markup");
        assert!(!page.contains("<img src=x"), "{path} has raw markup");
        page.assert_contains("&#60;script&#62;alert(1)&#60;/script&#62;");
    }
    let page = b.get(&format!("/services/{id}")).await;
    page.assert_contains("&#60;img src=x onerror=alert(2)&#62;");
    // Every page forbids inline scripts as a second line of defence.
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"));
}

#[tokio::test]
async fn validation_errors_sit_next_to_their_fields_and_keep_the_input() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut b = Browser::signed_in(&app).await;
    let page = b
        .submit(
            "/services/new",
            "/services/new",
            &[
                ("name", "my nightly job"),
                ("kind", "cron"),
                ("cron", "61 * * * *"),
                ("timezone", "Europe/Berlin"),
                ("grace", "0"),
                ("grace_unit", "min"),
                ("tags", "db, bad tag"),
                ("notify", "ops@example.com, nope"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    page.assert_contains("Please correct the marked fields.");
    page.assert_contains(
        r#"<p class="error" id="cron-err">minute field: 61 is out of range 0-59</p>"#,
    );
    page.assert_contains(
        r#"<p class="error" id="grace-err">must be between 1 second and 366 days</p>"#,
    );
    page.assert_contains(r#"id="tags-err""#);
    page.assert_contains(r#"id="notify-err">&#39;nope&#39; is not an email address"#);
    assert_eq!(
        input_value(&page.body, "name").as_deref(),
        Some("my nightly job")
    );
    assert_eq!(
        input_value(&page.body, "cron").as_deref(),
        Some("61 * * * *")
    );
    assert_eq!(
        input_value(&page.body, "tags").as_deref(),
        Some("db, bad tag")
    );
    assert_eq!(
        input_value(&page.body, "notify").as_deref(),
        Some("ops@example.com, nope")
    );
    page.assert_contains(r#"value="cron" id="kind-cron" checked"#);
    page.assert_contains("<option selected>Europe/Berlin</option>");
    page.assert_contains(r#"aria-invalid="true""#);
    // The preview says plainly what is wrong.
    page.assert_contains("Invalid schedule: minute field: 61 is out of range 0-59");
    // Nothing was created.
    assert!(
        app.get("/api/v1/services")
            .await
            .json::<Vec<Value>>()
            .await
            .unwrap()
            .is_empty()
    );

    // A daily time, an empty period, a duplicate name.
    app.interval_service("taken", 60, 60).await;
    let page = b
        .submit(
            "/services/new",
            "/services/new",
            &[
                ("name", "taken"),
                ("kind", "daily"),
                ("at", "4pm"),
                ("grace", "5"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    page.assert_contains(r#"id="at-err">expected HH:MM, e.g. 16:05"#);
    let page = b
        .submit(
            "/services/new",
            "/services/new",
            &[
                ("name", "taken"),
                ("kind", "interval"),
                ("period", ""),
                ("grace", "5"),
            ],
        )
        .await;
    page.assert_contains(r#"id="period-err">is required"#);
    let page = b
        .submit(
            "/services/new",
            "/services/new",
            &[
                ("name", "taken"),
                ("kind", "interval"),
                ("period", "5"),
                ("period_unit", "min"),
                ("grace", "5"),
                ("timezone", "Asia/Shanghai"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    page.assert_contains(r#"id="name-err">a service with this name already exists"#);
}

#[tokio::test]
async fn create_edit_pause_resume_and_delete_through_the_forms() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut b = Browser::signed_in(&app).await;
    let id = b
        .create_service(&[
            ("name", "db backup"),
            ("kind", "daily"),
            ("at", "16:05"),
            ("timezone", "Asia/Shanghai"),
            ("grace", "10"),
            ("grace_unit", "min"),
            ("tags", "DB, backup"),
            ("notify", "ops@example.com"),
        ])
        .await;
    let svc = app.service(&id).await;
    assert_eq!(svc["schedule"], "daily 16:05 Asia/Shanghai");
    assert_eq!(svc["grace"], 600);
    assert_eq!(svc["tags"], json!(["db", "backup"]));
    let page = b.get(&format!("/services/{id}")).await;
    page.assert_contains("Service created.");
    page.assert_contains("daily 16:05 Asia/Shanghai, grace 10 min");
    page.assert_contains(&format!("http://hb.test:5827/api/pings?service={id}"));
    page.assert_contains(&format!("curl -fsS -m 10 --retry 3 -H &#39;Authorization: Bearer hb_YOUR_KEY&#39; -X POST &#39;http://hb.test:5827/api/pings?service={id}&#38;data=&#39;"));
    assert!(
        !page.body.contains("PASSWORD"),
        "no password in any snippet"
    );
    page.assert_contains("5 16 * * * /path/to/job.sh");
    page.assert_contains(&format!(
        "server:\n  url: http://hb.test:5827\n  service: {id}\n  api_key: hb_YOUR_KEY"
    ));
    // The flash shows once.
    assert!(
        !b.get(&format!("/services/{id}"))
            .await
            .contains("Service created.")
    );

    // The edit form shows the stored values, in the units they read best in.
    let edit = b.get(&format!("/services/{id}/edit")).await;
    assert_eq!(input_value(&edit.body, "at").as_deref(), Some("16:05"));
    assert_eq!(input_value(&edit.body, "grace").as_deref(), Some("10"));
    assert_eq!(
        input_value(&edit.body, "tags").as_deref(),
        Some("db, backup")
    );
    let page = b
        .submit(
            &format!("/services/{id}/edit"),
            &format!("/services/{id}/edit"),
            &[
                ("name", "db backup (prod)"),
                ("kind", "interval"),
                ("period", "2"),
                ("period_unit", "h"),
                ("timezone", "Europe/Berlin"),
                ("grace", "5"),
                ("grace_unit", "min"),
                ("tags", "db"),
                ("notify", ""),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    let svc = app.service(&id).await;
    assert_eq!(svc["name"], "db backup (prod)");
    assert_eq!(svc["kind"], "interval");
    assert_eq!(svc["period"], 7200);
    assert_eq!(svc["timezone"], "Europe/Berlin");
    assert_eq!(svc["notify"], json!([]));

    let page = b
        .submit(
            &format!("/services/{id}"),
            &format!("/services/{id}/pause"),
            &[],
        )
        .await;
    assert_eq!(page.location(), Some(format!("/services/{id}").as_str()));
    assert_eq!(app.status(&id).await, "paused");
    let page = b.get(&format!("/services/{id}")).await;
    page.assert_contains("Paused: no alerts are sent.");
    page.assert_contains(&format!(r#"action="/services/{id}/resume""#));
    b.submit(
        &format!("/services/{id}"),
        &format!("/services/{id}/resume"),
        &[],
    )
    .await;
    assert_eq!(app.status(&id).await, "new");

    // Delete asks first, on a page of its own (no script needed).
    let confirm = b.get(&format!("/services/{id}/delete")).await;
    assert_eq!(confirm.status, 200);
    confirm.assert_contains("Delete this service?");
    let page = b
        .submit(
            &format!("/services/{id}/delete"),
            &format!("/services/{id}/delete"),
            &[],
        )
        .await;
    assert_eq!(page.location(), Some("/"));
    let list = b.get("/").await;
    list.assert_contains("Deleted “db backup (prod)”.");
    assert_eq!(
        app.get(&format!("/api/v1/services/{id}")).await.status(),
        404
    );
    let gone = b.get(&format!("/services/{id}")).await;
    assert_eq!(gone.status, 404);
    gone.assert_contains("This page does not exist");
}

async fn every_page_renders(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app
        .create_service(json!({"name": "cert renew", "kind": "cron", "cron": "0 3 * * 1-5", "timezone": "Europe/Berlin", "tags": ["cert", "sync"], "notify": ["ops@example.com"]}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
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
    page.assert_contains("weekdays at 03:00 · 0 3 * * 1-5 · Europe/Berlin, grace 5 min");
    page.assert_contains(r#"<span class="badge b-down">Down</span>"#);
    let page = b.get(&format!("/services/{id}")).await;
    page.assert_contains("The job reported an error.");
    page.assert_contains("disk full");
    page.assert_contains(r#"<span class="state s-sent">sent</span>"#);
    assert_eq!(b.get("/services/nosuchid").await.status, 404);
}

on_every_backend!(every_page_renders);

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
    // A chip adds its tag to the search.
    page.assert_contains(r#"href="/?q=sync%2Ccert""#);
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

#[tokio::test]
async fn the_service_page_shows_pings_flips_and_deliveries() {
    let smtp = SmtpServer::start();
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

#[tokio::test]
async fn changing_the_password_signs_out_other_sessions_and_old_credentials() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut b = Browser::signed_in(&app).await;
    let mut other = Browser::signed_in(&app).await;
    // Warm the API's credential cache with the old password.
    assert_eq!(app.get("/api/v1/services").await.status(), 200);

    let page = b
        .submit(
            "/account",
            "/account/password",
            &[("current", "nope"), ("new", "short"), ("confirm", "other")],
        )
        .await;
    assert_eq!(page.status, 422);
    page.assert_contains(r#"id="current-err">The current password is wrong."#);
    page.assert_contains(r#"id="new-err">must be at least 8 characters"#);
    page.assert_contains(r#"id="confirm-err">The two new passwords differ."#);

    let page = b
        .submit(
            "/account",
            "/account/password",
            &[
                ("current", PASSWORD),
                ("new", "a much better one"),
                ("confirm", "a much better one"),
            ],
        )
        .await;
    assert_eq!(page.location(), Some("/account"));
    b.get("/account").await.assert_contains("Password changed.");
    assert_eq!(other.get("/").await.status, 303);
    assert_eq!(app.get("/api/v1/services").await.status(), 401);
    let resp = app
        .client
        .get(app.url("/api/v1/services"))
        .basic_auth(ADMIN, Some("a much better one"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn api_keys_are_shown_once_and_can_be_revoked() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut b = Browser::signed_in(&app).await;
    let page = b
        .submit("/account", "/account/keys", &[("label", "gpu agent")])
        .await;
    assert_eq!(page.status, 200);
    page.assert_contains("Copy it now: it is not shown again.");
    let start = page
        .body
        .find(r#"<code id="new-key" class="url">"#)
        .unwrap()
        + 31;
    let key = page.body[start..start + page.body[start..].find('<').unwrap()].to_owned();
    assert!(key.starts_with("hb_"), "{key}");
    let api = |key: String| {
        let app = &app;
        async move {
            app.client
                .get(app.url("/api/v1/services"))
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(api(key.clone()).await, 200);
    // Listed by label and prefix, never in full again.
    let page = b.get("/account").await;
    page.assert_contains("gpu agent");
    assert!(!page.contains(&key));
    let revoke = page
        .body
        .split(r#"action="/account/keys/"#)
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let page = b
        .submit("/account", &format!("/account/keys/{revoke}"), &[])
        .await;
    assert_eq!(page.status, 303);
    b.get("/account").await.assert_contains("API key revoked.");
    assert_eq!(api(key).await, 401);
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
    b.get("/")
        .await
        .assert_contains("每天 16:05 Asia/Shanghai，宽限 10 分钟");
    b.get(&format!("/services/{}", svc["id"].as_str().unwrap()))
        .await
        .assert_contains("等待首次 ping。新服务不会告警。");
}

#[tokio::test]
async fn the_preview_lists_due_times_or_says_what_is_wrong() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut b = Browser::signed_in(&app).await;
    let page = b
        .get("/ui/preview?kind=cron&cron=0+3+*+*+1-5&timezone=Europe%2FBerlin")
        .await;
    assert_eq!(page.status, 200);
    let v: Value = serde_json::from_str(&page.body).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(
        v["summary"],
        "weekdays at 03:00 · 0 3 * * 1-5 · Europe/Berlin"
    );
    assert_eq!(v["times"].as_array().unwrap().len(), 5);
    assert_eq!(v["times"][0]["local"], "2026-11-02 Mon 03:00 UTC+1");
    assert_eq!(v["times"][0]["utc"], "2026-11-02 02:00:00 UTC");
    let v: Value = serde_json::from_str(
        &b.get("/ui/preview?kind=cron&cron=61+*+*+*+*&timezone=UTC")
            .await
            .body,
    )
    .unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["field"], "cron");
    assert_eq!(v["error"], "minute field: 61 is out of range 0-59");
    let v: Value = serde_json::from_str(
        &b.get("/ui/preview?kind=daily&at=16:05&timezone=Asia%2FShanghai")
            .await
            .body,
    )
    .unwrap();
    assert_eq!(v["times"][0]["local"], "2026-11-02 Mon 16:05 UTC+8");
    let v: Value = serde_json::from_str(
        &b.get("/ui/preview?kind=interval&period=90&period_unit=min&timezone=UTC")
            .await
            .body,
    )
    .unwrap();
    assert!(
        v["summary"]
            .as_str()
            .unwrap()
            .starts_with("Due 90 min after each ping")
    );
}
