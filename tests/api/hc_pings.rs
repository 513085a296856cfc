//! The healthchecks-compatible ping URLs: `/ping/<uuid>[/start|/fail|/log|/<code>]` and
//! `/ping/<ping-key>/<slug>[…]`, no credentials, answered as healthchecks answers
//! (`hc/api/views.py`, `ping` and `ping_by_slug`). The clients' requests are copied from
//! their sources, cited at each test.
use reqwest::{Method, Response};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{Auth, Backend, Options, TestApp};
use crate::on_every_backend;

const RID: &str = "5bf66975-d4c7-4e4f-9c4b-7b5e8c8b1a2c";
const DEFAULT_LIMIT: &str = "102400";

/// A request with no credentials, as every client of these URLs sends.
fn hc(app: &TestApp, method: Method, path: &str) -> reqwest::RequestBuilder {
    app.client.request(method, app.url(path))
}

async fn send(req: reqwest::RequestBuilder) -> Response {
    req.send().await.expect("request")
}

/// A service pinged every hour (5 min grace), and its ping UUID.
async fn service(app: &TestApp, name: &str) -> (String, String) {
    let id = app.interval_service(name, 3600, 300).await;
    let uuid = app.service(&id).await.ping_uuid;
    (id, uuid)
}

fn header<'a>(resp: &'a Response, name: &str) -> Option<&'a str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

/// A success answer: `200`, `OK` (unless HEAD), the limit and CORS headers.
async fn assert_ok(resp: Response, head: bool) {
    assert_eq!(resp.status(), 200, "{:?}", resp.url().path());
    assert_eq!(header(&resp, "ping-body-limit"), Some(DEFAULT_LIMIT));
    assert_eq!(header(&resp, "access-control-allow-origin"), Some("*"));
    assert!(
        header(&resp, "content-type").is_some_and(|t| t.starts_with("text/plain")),
        "{:?}",
        resp.headers()
    );
    let body = resp.text().await.unwrap();
    assert_eq!(body, if head { "" } else { "OK" });
}

async fn every_url_shape_and_method(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (id, uuid) = service(&app, "backup").await;
    let shapes: [(&str, &str, Option<i32>); 9] = [
        ("", "success", None),
        ("/", "success", None),
        ("/start", "start", None),
        ("/log", "log", None),
        ("/fail", "error", None),
        ("/0", "success", Some(0)),
        ("/1", "error", Some(1)),
        ("/255", "error", Some(255)),
        ("/start/", "start", None),
    ];
    let mut expected = Vec::new();
    for method in [Method::GET, Method::HEAD, Method::POST] {
        for (suffix, kind, exit) in shapes {
            let head = method == Method::HEAD;
            let resp = send(hc(&app, method.clone(), &format!("/ping/{uuid}{suffix}"))).await;
            assert_ok(resp, head).await;
            expected.push((kind.to_owned(), exit));
        }
    }
    // Upper-case UUIDs are the same service.
    let resp = send(hc(
        &app,
        Method::GET,
        &format!("/ping/{}", uuid.to_uppercase()),
    ))
    .await;
    assert_ok(resp, false).await;
    expected.push(("success".into(), None));

    let mut stored: Vec<(String, Option<i32>)> = app
        .pings(&id)
        .await
        .into_iter()
        .map(|p| (p.kind, p.exit_status))
        .collect();
    stored.reverse();
    assert_eq!(stored, expected);
}

async fn unknown_or_malformed_is_404(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (id, uuid) = service(&app, "backup").await;
    for path in [
        "/ping/0b8f3b7e-9f43-4b4e-8a53-6f1f0c6a7d21".to_owned(),
        "/ping/0b8f3b7e-9f43-4b4e-8a53-6f1f0c6a7d21/fail".to_owned(),
        "/ping/not-a-uuid".to_owned(),
        format!("/ping/{}", &uuid[..35]),
        "/ping/".to_owned(),
        "/ping".to_owned(),
        format!("/ping//{uuid}"),
        format!("/ping/{uuid}/nope"),
        format!("/ping/{uuid}/-1"),
        format!("/ping/{uuid}/start/extra"),
    ] {
        for method in [Method::GET, Method::POST] {
            let resp = send(hc(&app, method, &path)).await;
            assert_eq!(resp.status(), 404, "{path}");
            assert_eq!(header(&resp, "access-control-allow-origin"), Some("*"));
            assert_eq!(resp.text().await.unwrap(), "not found", "{path}");
        }
    }
    // Not under /ping/ at all: the server's own 404, not a ping's.
    let resp = send(hc(&app, Method::GET, &format!("/pingx/{uuid}"))).await;
    assert_eq!(resp.status(), 404);
    assert_ne!(resp.text().await.unwrap(), "not found");
    assert!(app.pings(&id).await.is_empty());
}

async fn bad_rid_and_exit_status_are_400(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (id, uuid) = service(&app, "backup").await;
    for query in ["rid=run-1", "rid=", &format!("rid={RID}x")] {
        let resp = send(hc(
            &app,
            Method::POST,
            &format!("/ping/{uuid}/start?{query}"),
        ))
        .await;
        assert_eq!(resp.status(), 400, "{query}");
        assert_eq!(header(&resp, "access-control-allow-origin"), Some("*"));
        assert!(
            resp.text()
                .await
                .unwrap()
                .starts_with("invalid uuid format"),
            "{query}"
        );
    }
    for code in ["256", "1000", "99999999999999999999"] {
        let resp = send(hc(&app, Method::POST, &format!("/ping/{uuid}/{code}"))).await;
        assert_eq!(resp.status(), 400, "{code}");
        assert!(resp.text().await.unwrap().starts_with("invalid url format"));
    }
    assert!(
        app.pings(&id).await.is_empty(),
        "a refused ping is not stored"
    );

    // A good rid is stored lower-case.
    let resp = send(hc(
        &app,
        Method::POST,
        &format!("/ping/{uuid}/start?rid={}", RID.to_uppercase()),
    ))
    .await;
    assert_ok(resp, false).await;
    assert_eq!(app.pings(&id).await[0].rid.as_deref(), Some(RID));
}

async fn head_answers_without_a_body(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (id, uuid) = service(&app, "backup").await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let req = format!(
        "HEAD /ping/{uuid} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: ansible-httpget\r\nConnection: close\r\n\r\n"
    );
    conn.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("a header block");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_lowercase().contains("ping-body-limit: 102400"),
        "{head}"
    );
    assert_eq!(body, "", "HEAD has no body");
    assert_eq!(app.pings(&id).await[0].kind, "success");
}

async fn body_at_and_over_the_limit(b: Backend) {
    let app = TestApp::spawn_with(
        b,
        Options {
            vars: vec![("HB_MAX_PING_DATA", "1000".into())],
            ..Default::default()
        },
    )
    .await;
    let (id, uuid) = service(&app, "backup").await;
    let resp = send(hc(&app, Method::POST, &format!("/ping/{uuid}")).body("a".repeat(1000))).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "ping-body-limit"), Some("1000"));
    assert_eq!(app.pings(&id).await[0].data, "a".repeat(1000));

    // Over the limit: kept up to it, as healthchecks truncates.
    let body = format!("{}{}", "b".repeat(1000), "c".repeat(5000));
    let resp = send(hc(&app, Method::POST, &format!("/ping/{uuid}/fail")).body(body)).await;
    assert_eq!(resp.status(), 200);
    let ping = &app.pings(&id).await[0];
    assert_eq!(ping.data, "b".repeat(1000));
    assert_eq!(ping.kind, "error");

    // A multi-byte character across the limit is dropped whole; NUL is replaced.
    let body = format!("{}\0é", "d".repeat(997));
    let resp = send(hc(&app, Method::POST, &format!("/ping/{uuid}/log")).body(body)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        app.pings(&id).await[0].data,
        format!("{}\u{FFFD}", "d".repeat(997))
    );

    // Past the hard cap the request is refused before its body is read.
    let addr = app.address.trim_start_matches("http://").to_owned();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let req = format!(
        "POST /ping/{uuid} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain\r\nContent-Length: 3000000\r\nConnection: close\r\n\r\n"
    );
    conn.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8_lossy(&raw);
    assert!(raw.starts_with("HTTP/1.1 413"), "{raw}");
    assert!(raw.contains("request body too large"), "{raw}");
    assert_eq!(app.pings(&id).await.len(), 3);
}

async fn success_with_a_body_stays_up_and_fail_body_goes_to_the_alert(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (id, uuid) = service(&app, "backup").await;
    let resp = send(
        hc(&app, Method::POST, &format!("/ping/{uuid}"))
            .header("content-type", "text/plain")
            .body("backup done: 3 files, 0 errors"),
    )
    .await;
    assert_ok(resp, false).await;
    assert_eq!(app.status(&id).await, "up");
    let ping = &app.pings(&id).await[0];
    assert_eq!(
        (ping.kind.as_str(), ping.data.as_str()),
        ("success", "backup done: 3 files, 0 errors")
    );

    let resp = send(
        hc(&app, Method::POST, &format!("/ping/{uuid}/fail"))
            .body("tar: /srv/db: Cannot open: Permission denied"),
    )
    .await;
    assert_ok(resp, false).await;
    assert_eq!(app.status(&id).await, "down");
    let flips = app.flips(&id).await;
    assert_eq!(flips[0].reason, "error");
    assert_eq!(
        flips[0].data.as_deref(),
        Some("tar: /srv/db: Cannot open: Permission denied")
    );
    assert_eq!(app.alerts().await.len(), 1);

    // Exit status 0 brings it back.
    assert_ok(
        send(hc(&app, Method::POST, &format!("/ping/{uuid}/0"))).await,
        false,
    )
    .await;
    assert_eq!(app.status(&id).await, "up");
}

/// runitor (github.com/bdd/runitor, `internal/api.go`): `POST <base>/<uuid>/start` then
/// `POST <base>/<uuid>/<exit code>`, `Content-Type: text/plain`, its own User-Agent, the
/// command's output (within `Ping-Body-Limit`) as the body; with `-run-id`, `?rid=`.
async fn runitor_requests(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (id, uuid) = service(&app, "nightly-backup").await;
    let ua = "runitor/v1.3.0 (+https://bdd.fi/x/runitor)";
    let resp = send(
        hc(&app, Method::POST, &format!("/ping/{uuid}/start?rid={RID}"))
            .header("content-type", "text/plain")
            .header("user-agent", ua)
            .header("content-length", "0"),
    )
    .await;
    assert_ok(resp, false).await;
    let resp = send(
        hc(&app, Method::POST, &format!("/ping/{uuid}/3?rid={RID}"))
            .header("content-type", "text/plain")
            .header("user-agent", ua)
            .body("rsync: connection unexpectedly closed\nrsync error: code 12\n"),
    )
    .await;
    assert_ok(resp, false).await;

    let pings = app.pings(&id).await;
    assert_eq!(pings.len(), 2);
    assert_eq!(pings[1].kind, "start");
    assert_eq!(pings[1].rid.as_deref(), Some(RID));
    assert_eq!(pings[0].kind, "error");
    assert_eq!(pings[0].exit_status, Some(3));
    assert_eq!(pings[0].rid.as_deref(), Some(RID));
    assert_eq!(pings[0].user_agent.as_deref(), Some(ua));
    assert_eq!(pings[0].source.as_deref(), Some("127.0.0.1"));
    assert!(pings[0].data.starts_with("rsync: connection"));
    assert_eq!(app.status(&id).await, "down");
}

/// borgmatic (`borgmatic/hooks/monitoring/healthchecks.py`): `requests.post(f'{ping_url}/start')`,
/// then `requests.post(ping_url, data=payload.encode('utf-8'))` (or `…/fail`) with the
/// logs, cut to `ping_body_limit` (100,000 bytes by default), python-requests' User-Agent
/// and no Content-Type.
async fn borgmatic_requests(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (id, uuid) = service(&app, "borg").await;
    let ua = "python-requests/2.31.0";
    let resp = send(
        hc(&app, Method::POST, &format!("/ping/{uuid}/start"))
            .header("user-agent", ua)
            .body(""),
    )
    .await;
    assert_ok(resp, false).await;
    let log: String = "Creating archive at \"/mnt/borg::host-2026-12-01\"\n"
        .repeat(2100)
        .chars()
        .take(100_000)
        .collect();
    let resp = send(
        hc(&app, Method::POST, &format!("/ping/{uuid}"))
            .header("user-agent", ua)
            .body(log.clone()),
    )
    .await;
    assert_ok(resp, false).await;
    let pings = app.pings(&id).await;
    assert_eq!(pings[0].kind, "success");
    assert_eq!(pings[0].data.len(), 100_000);
    assert_eq!(pings[0].data, log);
    assert_eq!(app.status(&id).await, "up");

    let resp = send(
        hc(&app, Method::POST, &format!("/ping/{uuid}/fail"))
            .header("user-agent", ua)
            .body("Repository /mnt/borg does not exist."),
    )
    .await;
    assert_ok(resp, false).await;
    assert_eq!(app.status(&id).await, "down");
}

/// borgmatic with a slug URL and `create_slug: true` (the same hook): `?create=1` after the
/// state, so the first run's start creates the service.
async fn borgmatic_create_slug(b: Backend) {
    let app = TestApp::spawn(b).await;
    let key = ping_key_of(
        &app,
        "admin",
        Auth::Basic(crate::helpers::ADMIN, crate::helpers::PASSWORD),
    )
    .await;
    let ua = "python-requests/2.31.0";
    let resp = send(
        hc(
            &app,
            Method::POST,
            &format!("/ping/{key}/borg-home/start?create=1"),
        )
        .header("user-agent", ua)
        .body(""),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let resp = send(
        hc(
            &app,
            Method::POST,
            &format!("/ping/{key}/borg-home?create=1"),
        )
        .header("user-agent", ua)
        .body("Archive fingerprint: 3f2a"),
    )
    .await;
    assert_ok(resp, false).await;
    let list: Vec<Value> = app.get("/api/v1/services").await.json().await.unwrap();
    assert_eq!(list.len(), 1);
    let id = list[0]["id"].as_str().unwrap();
    let kinds: Vec<String> = app.pings(id).await.into_iter().map(|p| p.kind).collect();
    assert_eq!(kinds, ["success", "start"]);
}

/// The Ansible module (community.general healthchecks, `HEAD …/<uuid>[/start|/fail]`)
/// and the healthchecks docs' curl line, `curl -fsS -m 10 --retry 5 -o /dev/null
/// https://hc-ping.com/<uuid>` (a GET).
async fn ansible_heads_and_curl_get(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (id, uuid) = service(&app, "deploy").await;
    for suffix in ["/start", "", "/fail"] {
        let resp = send(
            hc(&app, Method::HEAD, &format!("/ping/{uuid}{suffix}"))
                .header("user-agent", "ansible-httpget"),
        )
        .await;
        assert_ok(resp, true).await;
    }
    assert_eq!(app.status(&id).await, "down");
    let resp =
        send(hc(&app, Method::GET, &format!("/ping/{uuid}")).header("user-agent", "curl/8.5.0"))
            .await;
    assert_ok(resp, false).await;
    let kinds: Vec<String> = app.pings(&id).await.into_iter().map(|p| p.kind).collect();
    assert_eq!(kinds, ["success", "error", "success", "start"]);
    assert_eq!(app.status(&id).await, "up");
}

async fn browsers_get_a_preflight_and_other_methods_405(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (id, uuid) = service(&app, "web").await;
    let resp = send(
        hc(&app, Method::OPTIONS, &format!("/ping/{uuid}"))
            .header("origin", "https://example.com")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type"),
    )
    .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(header(&resp, "access-control-allow-origin"), Some("*"));
    assert!(header(&resp, "access-control-allow-methods").is_some_and(|m| m.contains("POST")));
    assert_eq!(
        header(&resp, "access-control-allow-headers"),
        Some("content-type")
    );
    let resp = send(hc(&app, Method::PUT, &format!("/ping/{uuid}"))).await;
    assert_eq!(resp.status(), 405);
    assert!(app.pings(&id).await.is_empty(), "neither pinged");
}

/// The admin's ping key, read through the API.
async fn ping_key_of(app: &TestApp, user: &str, auth: Auth<'_>) -> String {
    let resp =
        send(app.request_as(Method::GET, &format!("/api/v1/users/{user}/ping-key"), auth)).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let key = body["ping_key"].as_str().unwrap().to_owned();
    assert_eq!(
        body["ping_url"].as_str().unwrap(),
        format!("http://hb.test:5827/ping/{key}/")
    );
    key
}

async fn slug_urls(b: Backend) {
    let app = TestApp::spawn(b).await;
    let svc = app
        .create_service(
            json!({"name": "DB backup", "period": 3600, "grace": 300, "slug": "db-backup"}),
        )
        .await;
    let key = ping_key_of(
        &app,
        "admin",
        Auth::Basic(crate::helpers::ADMIN, crate::helpers::PASSWORD),
    )
    .await;
    assert_eq!(
        key,
        ping_key_of(
            &app,
            "admin",
            Auth::Basic(crate::helpers::ADMIN, crate::helpers::PASSWORD)
        )
        .await,
        "stable"
    );
    assert_ok(
        send(hc(&app, Method::POST, &format!("/ping/{key}/db-backup"))).await,
        false,
    )
    .await;
    assert_ok(
        send(hc(
            &app,
            Method::HEAD,
            &format!("/ping/{key}/db-backup/start?rid={RID}"),
        ))
        .await,
        true,
    )
    .await;
    assert_ok(
        send(hc(&app, Method::GET, &format!("/ping/{key}/db-backup/2/"))).await,
        false,
    )
    .await;
    let pings = app.pings(&svc.id).await;
    assert_eq!(pings.len(), 3);
    assert_eq!(
        (pings[0].kind.as_str(), pings[0].exit_status),
        ("error", Some(2))
    );
    assert_eq!(pings[1].rid.as_deref(), Some(RID));
    assert_eq!(app.status(&svc.id).await, "down");

    for path in [
        format!("/ping/{key}/no-such-slug"),
        format!("/ping/{key}/no-such-slug/fail"),
        "/ping/ffffffffffffffffffffffffffffffff/db-backup".to_owned(),
        format!("/ping/{key}/db-backup/nope"),
    ] {
        let resp = send(hc(&app, Method::POST, &path)).await;
        assert_eq!(resp.status(), 404, "{path}");
        assert_eq!(resp.text().await.unwrap(), "not found");
    }
    let resp = send(hc(
        &app,
        Method::POST,
        &format!("/ping/{key}/db-backup/300"),
    ))
    .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(app.pings(&svc.id).await.len(), 3);
}

async fn create_on_first_use(b: Backend) {
    let app = TestApp::spawn(b).await;
    let channel: Value = app
        .post_json(
            "/api/v1/channels",
            &json!({"name": "ops", "kind": "ntfy", "topic": "ops", "default_for_new": true}),
        )
        .await
        .json()
        .await
        .unwrap();
    let key = ping_key_of(
        &app,
        "admin",
        Auth::Basic(crate::helpers::ADMIN, crate::helpers::PASSWORD),
    )
    .await;
    let resp = send(
        hc(
            &app,
            Method::POST,
            &format!("/ping/{key}/nightly-job?create=1"),
        )
        .body("first run"),
    )
    .await;
    assert_eq!(resp.status(), 201);
    assert_eq!(header(&resp, "access-control-allow-origin"), Some("*"));
    assert_eq!(resp.text().await.unwrap(), "Created");
    let list: Vec<Value> = app.get("/api/v1/services").await.json().await.unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let svc = app.service(&id).await;
    assert_eq!(
        (svc.name.as_str(), svc.slug.as_str()),
        ("nightly-job", "nightly-job")
    );
    assert_eq!(
        (svc.kind.as_str(), svc.period, svc.grace),
        ("interval", Some(86_400), 3_600)
    );
    assert_eq!(svc.channels, [channel["id"].as_str().unwrap().to_owned()]);
    assert_eq!(svc.status, "up");
    assert_eq!(app.pings(&id).await[0].data, "first run");

    // The second time it exists: 200 OK, one service still.
    let resp = send(hc(
        &app,
        Method::POST,
        &format!("/ping/{key}/nightly-job?create=1"),
    ))
    .await;
    assert_ok(resp, false).await;
    let list: Vec<Value> = app.get("/api/v1/services").await.json().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(app.pings(&id).await.len(), 2);

    // A slug healthchecks would refuse is refused; nothing is made.
    for slug in ["Nightly", "a.b", &"x".repeat(101)] {
        let resp = send(hc(
            &app,
            Method::POST,
            &format!("/ping/{key}/{slug}?create=1"),
        ))
        .await;
        assert_eq!(resp.status(), 400, "{slug}");
        assert!(resp.text().await.unwrap().starts_with("invalid slug"));
    }
    // A bad rid refuses before anything is made.
    let resp = send(hc(
        &app,
        Method::POST,
        &format!("/ping/{key}/other?create=1&rid=x"),
    ))
    .await;
    assert_eq!(resp.status(), 400);
    // An unknown key creates nothing.
    let resp = send(hc(
        &app,
        Method::POST,
        "/ping/ffffffffffffffffffffffffffffffff/other?create=1",
    ))
    .await;
    assert_eq!(resp.status(), 404);
    let list: Vec<Value> = app.get("/api/v1/services").await.json().await.unwrap();
    assert_eq!(list.len(), 1);
}

async fn add_user(app: &TestApp, name: &str, role: &str) -> String {
    let password = format!("{name}-password-1");
    let body = json!({"name": name, "password": password, "role": role});
    let resp = app.post_json("/api/v1/users", &body).await;
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    password
}

async fn viewers_key_cannot_create_or_ping(b: Backend) {
    let app = TestApp::spawn(b).await;
    let svc = app
        .create_service(json!({"name": "db", "period": 3600, "slug": "db"}))
        .await;
    let password = add_user(&app, "vera", "viewer").await;
    let key = ping_key_of(&app, "vera", Auth::Basic("vera", &password)).await;
    let resp = send(hc(
        &app,
        Method::POST,
        &format!("/ping/{key}/new-job?create=1"),
    ))
    .await;
    assert_eq!(resp.status(), 403);
    let resp = send(hc(&app, Method::POST, &format!("/ping/{key}/db"))).await;
    assert_eq!(resp.status(), 403);
    let list: Vec<Value> = app.get("/api/v1/services").await.json().await.unwrap();
    assert_eq!(list.len(), 1);
    assert!(app.pings(&svc.id).await.is_empty());
    // Nor may a viewer read someone else's key.
    let resp = send(app.request_as(
        Method::GET,
        "/api/v1/users/admin/ping-key",
        Auth::Basic("vera", &password),
    ))
    .await;
    assert_eq!(resp.status(), 403);

    // A member's key may create.
    let password = add_user(&app, "mia", "member").await;
    let key = ping_key_of(&app, "mia", Auth::Basic("mia", &password)).await;
    let resp = send(hc(
        &app,
        Method::POST,
        &format!("/ping/{key}/new-job?create=1"),
    ))
    .await;
    assert_eq!(resp.status(), 201);
}

async fn regenerated_secrets_stop_the_old_urls(b: Backend) {
    let app = TestApp::spawn(b).await;
    let svc = app
        .create_service(json!({"name": "db", "period": 3600, "slug": "db"}))
        .await;
    let old = svc.ping_uuid.clone();
    let resp = app
        .post_json(
            &format!("/api/v1/services/{}/ping-uuid", svc.id),
            &Value::Null,
        )
        .await;
    assert_eq!(resp.status(), 200);
    let new: heartbeats_wire::api::Service = resp.json().await.unwrap();
    assert_ne!(new.ping_uuid, old);
    assert_eq!(
        new.uuid_ping_url,
        format!("http://hb.test:5827/ping/{}", new.ping_uuid)
    );
    assert_eq!(
        send(hc(&app, Method::POST, &format!("/ping/{old}")))
            .await
            .status(),
        404
    );
    assert_ok(
        send(hc(&app, Method::POST, &format!("/ping/{}", new.ping_uuid))).await,
        false,
    )
    .await;
    let resp = app
        .post_json("/api/v1/services/nope/ping-uuid", &Value::Null)
        .await;
    assert_eq!(resp.status(), 404);

    let old_key = ping_key_of(
        &app,
        "admin",
        Auth::Basic(crate::helpers::ADMIN, crate::helpers::PASSWORD),
    )
    .await;
    let resp = app
        .post_json("/api/v1/users/admin/ping-key", &Value::Null)
        .await;
    assert_eq!(resp.status(), 200);
    let new_key = resp.json::<Value>().await.unwrap()["ping_key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_key, old_key);
    assert_eq!(
        send(hc(&app, Method::POST, &format!("/ping/{old_key}/db")))
            .await
            .status(),
        404
    );
    assert_ok(
        send(hc(&app, Method::POST, &format!("/ping/{new_key}/db"))).await,
        false,
    )
    .await;

    // A viewer may not give a service a new UUID, but may renew their own key.
    let password = add_user(&app, "vera", "viewer").await;
    let resp = send(app.request_as(
        Method::POST,
        &format!("/api/v1/services/{}/ping-uuid", svc.id),
        Auth::Basic("vera", &password),
    ))
    .await;
    assert_eq!(resp.status(), 403);
    assert_eq!(app.service(&svc.id).await.ping_uuid, new.ping_uuid);
    let resp = send(app.request_as(
        Method::POST,
        "/api/v1/users/vera/ping-key",
        Auth::Basic("vera", &password),
    ))
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(app.pings(&svc.id).await.len(), 2);

    // The UUID is a credential: a viewer reads the service without it, on the API and
    // the page; who may ping sees it.
    let seen: Value = send(app.request_as(
        Method::GET,
        &format!("/api/v1/services/{}", svc.id),
        Auth::Basic("vera", &password),
    ))
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(seen["ping_uuid"], "");
    assert_eq!(seen["uuid_ping_url"], "");
    assert_eq!(app.service(&svc.id).await.ping_uuid, new.ping_uuid);
}

on_every_backend!(
    every_url_shape_and_method,
    unknown_or_malformed_is_404,
    bad_rid_and_exit_status_are_400,
    head_answers_without_a_body,
    body_at_and_over_the_limit,
    success_with_a_body_stays_up_and_fail_body_goes_to_the_alert,
    runitor_requests,
    borgmatic_requests,
    borgmatic_create_slug,
    ansible_heads_and_curl_get,
    browsers_get_a_preflight_and_other_methods_405,
    slug_urls,
    create_on_first_use,
    viewers_key_cannot_create_or_ping,
    regenerated_secrets_stop_the_old_urls,
);
