//! The healthchecks management API subset (`/api/v{1,2,3}/checks/`): field mapping,
//! tag and slug filters, upserts with `unique`, pause and resume, pings and flips in
//! healthchecks' shape, read-only keys, refusals; a list of several pages streamed whole
//! (with and without tags); the ping log's length and durations that look further back;
//! and the PyPI client `healthchecks-io` driving it all (`tests/hc_client/drive.py`).
use chrono::Duration;
use heartbeats::domain::role::KeyScope;
use heartbeats::domain::status::PingKind;
use heartbeats::entity::services;
use heartbeats::store::pings::PingRecord;
use reqwest::Method;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::helpers::{ADMIN, Backend, TestApp};
use crate::on_every_backend;

on_every_backend!(
    checks_are_listed_in_healthchecks_shape_and_filtered_by_tag_and_slug,
    checks_are_created_upserted_updated_and_deleted,
    pause_resume_and_a_running_check_by_version,
    pings_and_flips_are_listed_in_healthchecks_shape,
    missing_wrong_and_read_only_keys,
    bad_input_is_a_400_that_changes_nothing,
    the_healthchecks_io_client_drives_the_api,
    a_list_of_several_pages_streams_whole_and_filters_by_tag,
    the_ping_log_shows_up_to_a_thousand_and_looks_back_for_durations,
);

async fn api_key(app: &TestApp, scope: KeyScope) -> String {
    heartbeats::app::keys::create(
        &app.state.app,
        &heartbeats::app::Actor::cli(),
        ADMIN,
        "hc",
        scope,
    )
    .await
    .expect("key")
    .key
}

/// A request with healthchecks' `X-Api-Key` header.
fn hc(app: &TestApp, method: Method, path: &str, key: &str) -> reqwest::RequestBuilder {
    app.client
        .request(method, app.url(path))
        .header("X-Api-Key", key)
}

async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

async fn get(app: &TestApp, path: &str, key: &str) -> (u16, Value) {
    send(hc(app, Method::GET, path, key)).await
}

async fn post(app: &TestApp, path: &str, key: &str, body: Value) -> (u16, Value) {
    send(hc(app, Method::POST, path, key).json(&body)).await
}

async fn submit(app: &TestApp, id: &str, kind: PingKind, rid: Option<&str>) {
    let mut rec = PingRecord::by_id(id, kind, String::new(), app.now());
    rec.rid = rid.map(str::to_owned);
    rec.user_agent = Some("curl/8".into());
    rec.source = Some("192.0.2.7".into());
    app.state.writer.submit(rec).await.expect("ping stored");
}

fn names(list: &Value) -> Vec<&str> {
    let mut v: Vec<&str> = list["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    v.sort_unstable();
    v
}

async fn service_count(app: &TestApp) -> usize {
    services::Entity::find().all(&app.db).await.unwrap().len()
}

async fn checks_are_listed_in_healthchecks_shape_and_filtered_by_tag_and_slug(b: Backend) {
    let app = TestApp::spawn(b).await;
    let key = api_key(&app, KeyScope::Full).await;
    let backup = app
        .create_service(json!({"name": "Backup", "kind": "interval", "period": 3600,
            "grace": 300, "tags": ["db", "nightly"], "description": "pg_dump"}))
        .await;
    app.create_service(json!({"name": "Report", "kind": "daily", "at": "04:05",
        "timezone": "Asia/Shanghai", "tags": ["db"]}))
        .await;
    app.create_service(
        json!({"name": "Rotate", "kind": "cron", "cron": "*/15 * * * *",
        "timezone": "Europe/Riga", "grace": 120}),
    )
    .await;
    app.ping_ok(&backup.id, "").await;
    app.ping_ok(&backup.id, "").await;

    let (status, list) = get(&app, "/api/v3/checks/", &key).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(names(&list), ["Backup", "Report", "Rotate"]);
    let find = |name: &str| {
        list["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()
            .clone()
    };
    let c = find("Backup");
    let uuid = backup.ping_uuid.as_str();
    assert_eq!(c["uuid"], uuid);
    assert_eq!(c["slug"], backup.slug);
    assert_eq!(c["tags"], "db nightly");
    assert_eq!(c["desc"], "pg_dump");
    assert_eq!(
        (c["timeout"].as_i64(), c["grace"].as_i64()),
        (Some(3600), Some(300))
    );
    assert_eq!(c["n_pings"], 2);
    assert_eq!(c["status"], "up");
    assert_eq!(c["started"], false);
    assert_eq!(c["manual_resume"], false);
    assert_eq!(c["methods"], "");
    assert_eq!(c["channels"], "");
    assert_eq!(
        c["last_ping"],
        app.now()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
    );
    assert_eq!(
        c["next_ping"],
        (app.now() + Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
    );
    assert_eq!(c["ping_url"], format!("http://hb.test:5827/ping/{uuid}"));
    assert_eq!(
        c["update_url"],
        format!("http://hb.test:5827/api/v3/checks/{uuid}")
    );
    assert_eq!(
        c["pause_url"],
        format!("http://hb.test:5827/api/v3/checks/{uuid}/pause")
    );
    assert_eq!(
        c["resume_url"],
        format!("http://hb.test:5827/api/v3/checks/{uuid}/resume")
    );
    assert!(c.get("unique_key").is_none() && c.get("schedule").is_none());
    // A daily service is a cron check at its time of day.
    let r = find("Report");
    assert_eq!(
        (r["schedule"].as_str(), r["tz"].as_str()),
        (Some("5 4 * * *"), Some("Asia/Shanghai"))
    );
    assert!(r.get("timeout").is_none());
    assert_eq!(
        (r["status"].as_str(), r["n_pings"].as_i64()),
        (Some("new"), Some(0))
    );
    let rot = find("Rotate");
    assert_eq!(
        (rot["schedule"].as_str(), rot["tz"].as_str()),
        (Some("*/15 * * * *"), Some("Europe/Riga"))
    );

    // Late is healthchecks' grace; down is down.
    app.advance(Duration::seconds(3700));
    app.run_scheduler().await;
    let (_, c) = get(&app, &format!("/api/v3/checks/{uuid}"), &key).await;
    assert_eq!(c["status"], "grace");
    app.advance(Duration::seconds(300));
    app.run_scheduler().await;
    let (_, c) = get(&app, &format!("/api/v1/checks/{uuid}"), &key).await;
    assert_eq!(c["status"], "down");
    assert_eq!(
        c["update_url"],
        format!("http://hb.test:5827/api/v1/checks/{uuid}")
    );

    // Tags (all must match), slugs, and both together.
    for (query, want) in [
        ("?tag=db", vec!["Backup", "Report"]),
        ("?tag=db&tag=nightly", vec!["Backup"]),
        ("?tag=db&tag=nope", vec![]),
        ("?tag=DB", vec!["Backup", "Report"]),
        ("?tag=a%20b", vec![]),
        ("?slug=rotate", vec!["Rotate"]),
        ("?slug=rotate&tag=db", vec![]),
        ("?slug=report&tag=db", vec!["Report"]),
        ("?slug=nope", vec![]),
    ] {
        let (status, list) = get(&app, &format!("/api/v2/checks/{query}"), &key).await;
        assert_eq!(status, 200, "{query}: {list}");
        assert_eq!(names(&list), want, "{query}");
    }
    // Without the trailing slash too.
    let (status, list) = get(&app, "/api/v3/checks", &key).await;
    assert_eq!((status, names(&list).len()), (200, 3));
}

async fn checks_are_created_upserted_updated_and_deleted(b: Backend) {
    let app = TestApp::spawn(b).await;
    let key = api_key(&app, KeyScope::Full).await;
    let ops = app
        .post_json(
            "/api/v1/channels",
            &json!({"name": "Ops", "kind": "email", "to": "ops@example.com"}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    let ops_id = ops["id"].as_str().unwrap().to_owned();

    // Defaults: healthchecks' day and hour, no channels.
    let (status, c) = post(&app, "/api/v3/checks/", &key, json!({"name": "Plain"})).await;
    assert_eq!(status, 201, "{c}");
    assert_eq!(
        (c["timeout"].as_i64(), c["grace"].as_i64()),
        (Some(86_400), Some(3_600))
    );
    assert_eq!(
        (c["status"].as_str(), c["channels"].as_str()),
        (Some("new"), Some(""))
    );
    assert_eq!(c["slug"], "plain");

    let body = json!({"name": "Backups", "slug": "db-backups", "tags": "prod  www",
        "desc": "nightly", "timeout": 3600, "grace": 60, "channels": "*"});
    let (status, c) = post(&app, "/api/v3/checks/", &key, body).await;
    assert_eq!(status, 201, "{c}");
    let uuid = c["uuid"].as_str().unwrap().to_owned();
    assert_eq!(
        (c["slug"].as_str(), c["tags"].as_str(), c["desc"].as_str()),
        (Some("db-backups"), Some("prod www"), Some("nightly"))
    );
    assert_eq!(c["channels"], ops_id);
    let svc = app
        .service(
            &services::Entity::find()
                .all(&app.db)
                .await
                .unwrap()
                .iter()
                .find(|s| s.name == "Backups")
                .unwrap()
                .id,
        )
        .await;
    assert_eq!(
        (svc.kind.as_str(), svc.period, svc.grace),
        ("interval", Some(3600), 60)
    );
    assert_eq!(svc.tags, ["prod", "www"]);
    assert_eq!(svc.ping_uuid, uuid);

    // Upserts: a match is updated and answered 200; no match, or a `unique` field not
    // given, creates (201).
    let (status, c) = post(
        &app,
        "/api/v3/checks/",
        &key,
        json!({"name": "Backups", "timeout": 7200, "unique": ["name"]}),
    )
    .await;
    assert_eq!(
        (status, c["uuid"].as_str()),
        (200, Some(uuid.as_str())),
        "{c}"
    );
    assert_eq!(c["timeout"], 7200);
    assert_eq!(c["tags"], "prod www", "fields not given stay");
    let (status, c) = post(&app, "/api/v3/checks/", &key,
        json!({"name": "Other", "tags": "www prod", "timeout": 7200, "unique": ["tags", "timeout"]})).await;
    assert_eq!(
        (status, c["uuid"].as_str()),
        (200, Some(uuid.as_str())),
        "{c}"
    );
    assert_eq!(c["name"], "Other");
    let (status, c) = post(
        &app,
        "/api/v3/checks/",
        &key,
        json!({"name": "Third", "grace": 60, "unique": ["slug", "grace"]}),
    )
    .await;
    assert_eq!(status, 201, "no slug given: nothing matches: {c}");
    let (status, c) = post(
        &app,
        "/api/v3/checks/",
        &key,
        json!({"name": "Fourth", "slug": "db-backups", "grace": 120, "unique": ["slug", "grace"]}),
    )
    .await;
    assert_eq!(status, 400, "no match, and the slug is taken: {c}");
    assert_eq!(c["field"], "slug");

    // Update: the fields given; a schedule makes it a cron check; `api_key` in the body.
    let path = format!("/api/v3/checks/{uuid}");
    let body =
        json!({"api_key": key, "schedule": "0 3 * * *", "tz": "Asia/Shanghai", "channels": ""});
    let (status, c) = send(app.client.post(app.url(&path)).json(&body)).await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(
        (c["schedule"].as_str(), c["tz"].as_str()),
        (Some("0 3 * * *"), Some("Asia/Shanghai"))
    );
    assert!(c.get("timeout").is_none());
    assert_eq!(
        (c["name"].as_str(), c["channels"].as_str()),
        (Some("Other"), Some(""))
    );
    let (status, c) = post(
        &app,
        &path,
        &key,
        json!({"timeout": 300, "channels": "Ops"}),
    )
    .await;
    assert_eq!((status, c["timeout"].as_i64()), (200, Some(300)), "{c}");
    assert_eq!(c["channels"], ops_id);
    // v3 keeps the slug on a rename; v1 and v2 derive it from the name.
    let (_, c) = post(&app, &path, &key, json!({"name": "Renamed"})).await;
    assert_eq!(c["slug"], "db-backups");
    let (_, c) = post(
        &app,
        &format!("/api/v2/checks/{uuid}"),
        &key,
        json!({"name": "Renamed Again"}),
    )
    .await;
    assert_eq!(c["slug"], "renamed-again");
    let (status, c) = post(&app, &path, &key, json!({})).await;
    assert_eq!((status, c["name"].as_str()), (200, Some("Renamed Again")));

    // Delete answers the check; then it is gone.
    let (status, c) = send(hc(&app, Method::DELETE, &path, &key)).await;
    assert_eq!((status, c["name"].as_str()), (200, Some("Renamed Again")));
    let (status, c) = get(&app, &path, &key).await;
    assert_eq!(status, 404, "{c}");
    assert_eq!(c["error"], "not found");
    let (status, _) = send(hc(&app, Method::DELETE, &path, &key)).await;
    assert_eq!(status, 404);
    let (status, _) = post(&app, "/api/v3/checks/not-a-uuid", &key, json!({})).await;
    assert_eq!(status, 404);
}

async fn pause_resume_and_a_running_check_by_version(b: Backend) {
    let app = TestApp::spawn(b).await;
    let key = api_key(&app, KeyScope::Full).await;
    let svc = app
        .create_service(json!({"name": "job", "kind": "interval", "period": 600, "grace": 60}))
        .await;
    app.ping_ok(&svc.id, "").await;
    let base = format!("/api/v3/checks/{}", svc.ping_uuid);
    let (status, c) = post(&app, &format!("{base}/resume"), &key, json!({})).await;
    assert_eq!(
        (status, c["error"].as_str()),
        (409, Some("check is not paused"))
    );
    let (status, c) = send(hc(&app, Method::POST, &format!("{base}/pause"), &key)).await;
    assert_eq!((status, c["status"].as_str()), (200, Some("paused")), "{c}");
    assert_eq!(app.status(&svc.id).await, "paused");
    // A service that pinged before resumes up, its next run due by its schedule (in
    // healthchecks a resumed check is new); one that never pinged is new.
    let (status, c) = send(hc(&app, Method::POST, &format!("{base}/resume"), &key)).await;
    assert_eq!((status, c["status"].as_str()), (200, Some("up")), "{c}");
    assert_eq!(app.status(&svc.id).await, "up");
    let (_, flips) = get(&app, &format!("{base}/flips/"), &key).await;
    let ups: Vec<i64> = flips["flips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["up"].as_i64().unwrap())
        .collect();
    assert_eq!(ups, [1, 0], "the pause and the resume are flips");

    // A run is open (a start ping): v1 says `started`, v2 and v3
    // keep the status and set `started`.
    app.ping_ok(&svc.id, "").await;
    submit(
        &app,
        &svc.id,
        PingKind::Start,
        Some("5d6e7f80-1a2b-4c3d-8e9f-0a1b2c3d4e5f"),
    )
    .await;
    assert_eq!(app.service(&svc.id).await.open_runs, 1);
    let (_, c) = get(&app, &format!("/api/v1/checks/{}", svc.ping_uuid), &key).await;
    assert_eq!(
        (c["status"].as_str(), c["started"].as_bool()),
        (Some("started"), Some(true))
    );
    for v in ["v2", "v3"] {
        let (_, c) = get(&app, &format!("/api/{v}/checks/{}", svc.ping_uuid), &key).await;
        assert_eq!(
            (c["status"].as_str(), c["started"].as_bool()),
            (Some("up"), Some(true)),
            "{v}"
        );
    }
}

async fn pings_and_flips_are_listed_in_healthchecks_shape(b: Backend) {
    let app = TestApp::spawn(b).await;
    let key = api_key(&app, KeyScope::Full).await;
    let read = api_key(&app, KeyScope::Read).await;
    let svc = app
        .create_service(json!({"name": "job", "kind": "interval", "period": 3600, "grace": 60}))
        .await;
    let t0 = app.now();
    submit(&app, &svc.id, PingKind::Success, None).await;
    app.advance(Duration::minutes(10));
    let rid = "3f0c1d9e-8a57-4e0b-9c1d-2b7a8f6e5d4c";
    submit(&app, &svc.id, PingKind::Start, Some(rid)).await;
    app.advance(Duration::milliseconds(2500));
    submit(&app, &svc.id, PingKind::Success, Some(rid)).await;
    app.advance(Duration::minutes(10));
    let t_fail = app.now();
    submit(&app, &svc.id, PingKind::Error, None).await;
    submit(&app, &svc.id, PingKind::Log, None).await;
    app.advance(Duration::minutes(10));
    let t_up = app.now();
    submit(&app, &svc.id, PingKind::Success, None).await;
    app.advance(Duration::minutes(5));

    let path = format!("/api/v3/checks/{}/pings/", svc.ping_uuid);
    let (status, body) = get(&app, &path, &key).await;
    assert_eq!(status, 200, "{body}");
    let pings = body["pings"].as_array().unwrap();
    let types: Vec<&str> = pings.iter().map(|p| p["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["success", "log", "fail", "success", "start", "success"]
    );
    let ns: Vec<i64> = pings.iter().map(|p| p["n"].as_i64().unwrap()).collect();
    assert_eq!(ns, [6, 5, 4, 3, 2, 1]);
    assert_eq!(pings[3]["duration"], 2.5);
    assert_eq!(pings[3]["rid"], rid);
    for i in [0, 2, 5] {
        assert!(pings[i].get("duration").is_none(), "ping {i} has no run");
    }
    assert_eq!(
        (pings[0]["ua"].as_str(), pings[0]["remote_addr"].as_str()),
        (Some("curl/8"), Some("192.0.2.7"))
    );
    assert_eq!(pings[0]["scheme"], "http");
    assert_eq!(
        pings[5]["date"],
        t0.to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
    );
    // A read key may not read pings, as in healthchecks.
    let (status, body) = get(&app, &path, &read).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("wrong api key"))
    );

    // Flips: newest first; v1 a bare array, v2 and v3 wrapped; by unique key too.
    let (status, body) = get(
        &app,
        &format!("/api/v3/checks/{}/flips/", svc.ping_uuid),
        &key,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let flips = body["flips"].as_array().unwrap();
    let ups: Vec<i64> = flips.iter().map(|f| f["up"].as_i64().unwrap()).collect();
    assert_eq!(ups, [1, 0]);
    assert_eq!(
        flips[0]["timestamp"],
        t_up.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
    );
    assert_eq!(
        flips[1]["timestamp"],
        t_fail.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
    );
    let (_, body) = get(
        &app,
        &format!("/api/v1/checks/{}/flips/", svc.ping_uuid),
        &key,
    )
    .await;
    assert_eq!(body.as_array().map(Vec::len), Some(2), "{body}");
    let (status, body) = get(&app, &format!("/api/v2/checks/{}/flips/", svc.id), &read).await;
    assert_eq!(
        (status, body["flips"].as_array().map(Vec::len)),
        (200, Some(2)),
        "{body}"
    );
    // Filters: seconds back from now, start (inclusive) and end (exclusive), Unix seconds.
    for (q, want) in [
        ("?seconds=60".to_owned(), vec![]),
        ("?seconds=600".to_owned(), vec![1]),
        ("?seconds=1800".to_owned(), vec![1, 0]),
        (format!("?start={}", t_fail.timestamp()), vec![1, 0]),
        (format!("?start={}", t_up.timestamp()), vec![1]),
        (format!("?end={}", t_up.timestamp()), vec![0]),
        (format!("?start={}&seconds=60", t_fail.timestamp()), vec![]),
    ] {
        let path = format!("/api/v3/checks/{}/flips/{q}", svc.ping_uuid);
        let (status, body) = get(&app, &path, &key).await;
        assert_eq!(status, 200, "{q}: {body}");
        let got: Vec<i64> = body["flips"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["up"].as_i64().unwrap())
            .collect();
        assert_eq!(got, want, "{q}");
    }
    for bad in ["?seconds=x", "?start=-5", "?seconds=31536001", "?end=1.5"] {
        let path = format!("/api/v3/checks/{}/flips/{bad}", svc.ping_uuid);
        let (status, body) = get(&app, &path, &key).await;
        assert_eq!(
            (status, body["field"].is_string()),
            (400, true),
            "{bad}: {body}"
        );
    }
}

async fn missing_wrong_and_read_only_keys(b: Backend) {
    let app = TestApp::spawn(b).await;
    let full = api_key(&app, KeyScope::Full).await;
    let read = api_key(&app, KeyScope::Read).await;
    let svc = app
        .create_service(json!({"name": "job", "kind": "interval", "period": 600, "grace": 60}))
        .await;
    let (status, body) = send(app.client.get(app.url("/api/v3/checks/"))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("missing api key"))
    );
    // Basic auth is not this API's: it wants an API key.
    let (status, _) = send(app.request(Method::GET, "/api/v3/checks/")).await;
    assert_eq!(status, 401);
    let (status, body) = get(&app, "/api/v3/checks/", "hb_not-a-key").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("wrong api key"))
    );
    let ping_key = api_key(&app, KeyScope::Ping).await;
    let (status, body) = get(&app, "/api/v3/checks/", &ping_key).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("wrong api key")),
        "a ping key"
    );
    let (status, body) = post(
        &app,
        "/api/v3/checks/",
        "",
        json!({"api_key": "nope", "name": "x"}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("wrong api key"))
    );

    // A read key sees `unique_key` (the service id) instead of the UUID and URLs.
    let (status, list) = get(&app, "/api/v3/checks/", &read).await;
    assert_eq!(status, 200);
    let c = &list["checks"][0];
    assert_eq!(c["unique_key"], svc.id);
    for hidden in [
        "uuid",
        "ping_url",
        "update_url",
        "pause_url",
        "resume_url",
        "channels",
    ] {
        assert!(c.get(hidden).is_none(), "{hidden} shown to a read key");
    }
    let (status, c) = get(&app, &format!("/api/v3/checks/{}", svc.id), &read).await;
    assert_eq!((status, c["name"].as_str()), (200, Some("job")));
    let (status, c) = get(&app, &format!("/api/v3/checks/{}", svc.ping_uuid), &read).await;
    assert_eq!(
        (status, c["unique_key"].as_str()),
        (200, Some(svc.id.as_str()))
    );
    assert!(!c.to_string().contains(&svc.ping_uuid));
    let (status, c) = get(&app, &format!("/api/v3/checks/{}", svc.id), &full).await;
    assert_eq!(
        (status, c["uuid"].as_str()),
        (200, Some(svc.ping_uuid.as_str()))
    );
    // Writes with a read key are refused as a wrong key, and change nothing.
    let uuid = &svc.ping_uuid;
    for (method, path) in [
        (Method::POST, "/api/v3/checks/".to_owned()),
        (Method::POST, format!("/api/v3/checks/{uuid}")),
        (Method::POST, format!("/api/v3/checks/{uuid}/pause")),
        (Method::DELETE, format!("/api/v3/checks/{uuid}")),
    ] {
        let (status, body) =
            send(hc(&app, method.clone(), &path, &read).json(&json!({"name": "changed"}))).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("wrong api key")),
            "{method} {path}"
        );
    }
    let now = app.service(&svc.id).await;
    assert_eq!((now.name.as_str(), now.status.as_str()), ("job", "new"));
    assert_eq!(service_count(&app).await, 1);
    // A viewer's full key reads but may not change.
    let body = json!({"name": "vera", "password": "vera-password-1", "role": "viewer"});
    assert_eq!(app.post_json("/api/v1/users", &body).await.status(), 201);
    let vera = heartbeats::app::keys::create(
        &app.state.app,
        &heartbeats::app::Actor::cli(),
        "vera",
        "hc",
        KeyScope::Full,
    )
    .await
    .unwrap()
    .key;
    let (status, _) = get(&app, "/api/v3/checks/", &vera).await;
    assert_eq!(status, 200);
    let (status, body) = post(&app, "/api/v3/checks/", &vera, json!({"name": "x"})).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    let (status, _) = post(
        &app,
        &format!("/api/v3/checks/{uuid}/resume"),
        &vera,
        json!({}),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(service_count(&app).await, 1);
}

async fn bad_input_is_a_400_that_changes_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let key = api_key(&app, KeyScope::Full).await;
    let svc = app
        .create_service(json!({"name": "taken", "kind": "interval", "period": 600, "grace": 60}))
        .await;
    let update = format!("/api/v3/checks/{}", svc.ping_uuid);
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"name": "a", "timeout": 10}),
            "json validation error: timeout is too small",
        ),
        (
            json!({"name": "a", "timeout": 31_536_001}),
            "json validation error: timeout is too large",
        ),
        (
            json!({"name": "a", "grace": "60"}),
            "json validation error: grace is not a number",
        ),
        (
            json!({"name": "a", "timeout": 60.5}),
            "json validation error: timeout is not a number",
        ),
        (
            json!({"name": 5}),
            "json validation error: name is not a string",
        ),
        (
            json!({"name": "a", "tags": ["x"]}),
            "json validation error: tags is not a string",
        ),
        (
            json!({"name": "a", "unique": "name"}),
            "json validation error: unique is not an array",
        ),
        (
            json!({"name": "a", "unique": ["desc"]}),
            "json validation error: an item in 'unique' has unexpected value",
        ),
        (
            json!({"name": "a", "manual_resume": "yes"}),
            "json validation error: manual_resume is not a boolean",
        ),
        (
            json!({"name": "a", "methods": "PUT"}),
            "json validation error: methods has unexpected value",
        ),
        (
            json!({"name": "a", "channels": "nope"}),
            "invalid channel identifier: nope",
        ),
        (
            json!({"name": "a", "channels": ","}),
            "empty channel identifier",
        ),
    ];
    for (body, error) in cases {
        for path in ["/api/v3/checks/", update.as_str()] {
            let (status, got) = post(&app, path, &key, body.clone()).await;
            assert_eq!(
                (status, got["error"].as_str()),
                (400, Some(error)),
                "{path} {body}"
            );
        }
    }
    // Refused by our rules, named by healthchecks' field names.
    for (body, field) in [
        (json!({"name": "a", "schedule": "61 * * * *"}), "schedule"),
        (
            json!({"name": "a", "schedule": "0 * * * *", "tz": "Mars/Base"}),
            "tz",
        ),
        (json!({"name": "a", "slug": "Not A Slug"}), "slug"),
        (json!({"name": "a", "tags": "x%y"}), "tags"),
        (json!({"name": "TAKEN"}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"name": "a", "manual_resume": true}), "manual_resume"),
        (json!({"name": "a", "methods": "POST"}), "methods"),
    ] {
        let (status, got) = post(&app, "/api/v3/checks/", &key, body.clone()).await;
        assert_eq!(
            (status, got["field"].as_str()),
            (400, Some(field)),
            "{body}: {got}"
        );
        assert!(
            got["error"]
                .as_str()
                .unwrap()
                .starts_with("json validation error: "),
            "{got}"
        );
    }
    for raw in ["{not json", "[1, 2]", "\"name\""] {
        let req = hc(&app, Method::POST, "/api/v3/checks/", &key)
            .header("Content-Type", "application/json")
            .body(raw);
        let (status, got) = send(req).await;
        assert_eq!(status, 400, "{raw}: {got}");
    }
    let (status, got) = send(hc(&app, Method::GET, "/api/v3/checks/?tag=%zz", &key)).await;
    assert!(status == 400 || status == 200, "{status} {got}");
    assert_eq!(service_count(&app).await, 1);
    let now = app.service(&svc.id).await;
    assert_eq!(
        (now.name.as_str(), now.period, now.grace),
        ("taken", Some(600), 60)
    );
}

async fn the_healthchecks_io_client_drives_the_api(b: Backend) {
    let app = TestApp::spawn(b).await;
    let full = api_key(&app, KeyScope::Full).await;
    let read = api_key(&app, KeyScope::Read).await;
    let svc = app
        .create_service(
            json!({"name": "nightly-backup", "kind": "interval", "period": 3600,
            "grace": 300, "tags": ["nightly", "db"]}),
        )
        .await;
    let rid = "0b9d4f36-3c62-4a5e-a0c4-7d1e2f3a4b5c";
    submit(&app, &svc.id, PingKind::Success, None).await;
    app.advance(Duration::minutes(5));
    submit(&app, &svc.id, PingKind::Start, Some(rid)).await;
    app.advance(Duration::seconds(90));
    submit(&app, &svc.id, PingKind::Success, Some(rid)).await;
    app.advance(Duration::minutes(5));
    submit(&app, &svc.id, PingKind::Error, None).await;
    app.advance(Duration::minutes(5));
    submit(&app, &svc.id, PingKind::Success, None).await;
    app.advance(Duration::minutes(5));

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/hc_client/drive.py");
    let args = [
        script.to_owned(),
        app.address.clone(),
        full,
        read,
        "nightly-backup".into(),
    ];
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3").args(&args).output()
    })
    .await
    .unwrap()
    .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "drive.py failed\n{stdout}\n{stderr}");
    assert_eq!(stdout.trim(), "ok");

    // What the client did is what the server has.
    let all = services::Entity::find().all(&app.db).await.unwrap();
    let mut names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["hc-client-kept", "nightly-backup"]);
    let kept = all.iter().find(|s| s.name == "hc-client-kept").unwrap();
    let kept = app.service(&kept.id).await;
    assert_eq!(
        (kept.kind.as_str(), kept.period, kept.grace),
        ("interval", Some(600), 60)
    );
    assert_eq!(kept.tags, ["kept", "v3"]);
    assert!(kept.channels.is_empty());
    assert_eq!(app.status(&svc.id).await, "up");
    assert_eq!(app.pings(&svc.id).await.len(), 5);
}

/// `n` interval services named `job-0000`…, tagged `even` (every other) and `db` (every
/// seventh), through the store's bulk import.
async fn many_services(app: &TestApp, n: usize) {
    use heartbeats::domain::schedule::Schedule;
    use heartbeats::domain::status::Tracking;
    use heartbeats::domain::{Tags, parse_notify};
    use heartbeats::store::service_import::import;
    use heartbeats::store::services::NewService;

    let items = (0..n)
        .map(|i| {
            let mut tags = vec!["web"];
            if i % 2 == 0 {
                tags.push("even");
            }
            if i % 7 == 0 {
                tags.push("db");
            }
            let new = NewService {
                grace_secs: 300,
                tags: Tags::parse(&tags).unwrap(),
                notify: parse_notify(&["ops@example.com"]).unwrap(),
                ..NewService::new(
                    format!("job-{i:04}"),
                    Schedule::Interval {
                        period: chrono::TimeDelta::hours(1),
                    },
                )
            };
            (new, Tracking::new_service())
        })
        .collect();
    import(&app.db, items, app.now()).await.expect("import");
}

/// The raw list answer: status, whether it came with a length (a body answered whole)
/// and the text.
async fn raw_list(app: &TestApp, path: &str, key: &str) -> (u16, bool, String) {
    let resp = hc(app, Method::GET, path, key).send().await.expect("list");
    let status = resp.status().as_u16();
    let sized = resp.headers().contains_key(reqwest::header::CONTENT_LENGTH);
    assert_eq!(
        resp.headers()[reqwest::header::CONTENT_TYPE],
        "application/json",
        "{path}"
    );
    (status, sized, resp.text().await.expect("body"))
}

async fn a_list_of_several_pages_streams_whole_and_filters_by_tag(b: Backend) {
    use heartbeats::routes::hc_api::LIST_PAGE;

    let app = TestApp::spawn(b).await;
    let key = api_key(&app, KeyScope::Full).await;
    let read = api_key(&app, KeyScope::Read).await;
    // Two full pages and part of a third.
    let n = 2 * LIST_PAGE as usize + 200;
    many_services(&app, n).await;
    // Pings on a service of each page, counted in each page's grouped query.
    let pinged = [3, LIST_PAGE as usize + 1, n - 1];
    for (k, i) in pinged.iter().enumerate() {
        let id = services_by_name(&app, &format!("job-{i:04}")).await;
        for _ in 0..=k {
            app.ping_ok(&id, "").await;
        }
    }

    let (status, sized, text) = raw_list(&app, "/api/v3/checks/", &key).await;
    assert_eq!(status, 200, "{text}");
    assert!(!sized, "a list of several pages is streamed");
    let body: Value = serde_json::from_str(&text).expect("the streamed body is one JSON value");
    // The same bytes as the whole answer serialised at once: no stray separator at a
    // page's edge.
    assert_eq!(text, serde_json::to_string(&body).unwrap());
    let checks = body["checks"].as_array().unwrap();
    let got: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    let want: Vec<String> = (0..n).map(|i| format!("job-{i:04}")).collect();
    assert_eq!(got, want, "every check once, in name order");
    for (k, i) in pinged.iter().enumerate() {
        assert_eq!(checks[*i]["n_pings"], k as i64 + 1, "job-{i:04}");
        assert_eq!(checks[*i]["status"], "up");
    }
    assert_eq!(checks[0]["n_pings"], 0);
    assert!(checks.iter().all(|c| c["uuid"].is_string()));

    // A tag of more than a page, two tags together, and a read key's view.
    let (status, sized, text) = raw_list(&app, "/api/v3/checks/?tag=even", &read).await;
    assert_eq!((status, sized), (200, false), "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    let even: Vec<&str> = body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    let want: Vec<String> = (0..n).step_by(2).map(|i| format!("job-{i:04}")).collect();
    assert_eq!(even, want);
    assert!(
        body["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c.get("uuid").is_none() && c["unique_key"].is_string())
    );
    let (status, sized, text) = raw_list(&app, "/api/v3/checks/?tag=db&tag=even", &key).await;
    assert_eq!(
        (status, sized),
        (200, true),
        "one page is answered whole: {text}"
    );
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(text, serde_json::to_string(&body).unwrap());
    let want: Vec<String> = (0..n).step_by(14).map(|i| format!("job-{i:04}")).collect();
    assert_eq!(names(&body), want);
    let (_, _, text) = raw_list(&app, "/api/v3/checks/?tag=nope", &key).await;
    assert_eq!(text, r#"{"checks":[]}"#);
    let (_, _, text) = raw_list(&app, "/api/v3/checks/?slug=job-0501&tag=even", &key).await;
    assert_eq!(text, r#"{"checks":[]}"#);
    let (_, _, text) = raw_list(&app, "/api/v3/checks/?slug=job-0502&tag=even", &key).await;
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(names(&body), ["job-0502"]);
}

async fn services_by_name(app: &TestApp, name: &str) -> String {
    use sea_orm::{ColumnTrait, QueryFilter};
    services::Entity::find()
        .filter(services::Column::Name.eq(name))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{name}"))
        .id
}

async fn the_ping_log_shows_up_to_a_thousand_and_looks_back_for_durations(b: Backend) {
    use heartbeats::routes::hc_api::PING_LOG_LIMIT;
    use sea_orm::{ActiveValue::Set, ColumnTrait, QueryFilter};

    let app = TestApp::spawn(b).await;
    let key = api_key(&app, KeyScope::Full).await;
    let svc = app
        .create_service(json!({"name": "job", "kind": "interval", "period": 3600, "grace": 60}))
        .await;
    let limit = PING_LOG_LIMIT as usize;
    assert_eq!(limit, 1000, "healthchecks' most");
    // Oldest first: a start (rid R) then 99 log lines, both out of the newest 1,000; R's
    // success 42.346 s after its start, the oldest ping shown; then a success without rid
    // and log lines up to 1,100 pings.
    let r = "3f0c1d9e-8a57-4e0b-9c1d-2b7a8f6e5d4c";
    let t0 = heartbeats::clock::to_ms(app.now()) - 3_600_000;
    let total = limit + 100;
    let rows: Vec<heartbeats::entity::pings::ActiveModel> = (0..total)
        .map(|i| {
            let (kind, rid, at) = match i {
                0 => (PingKind::Start, Some(r), t0),
                100 => (PingKind::Success, Some(r), t0 + 42_346),
                101 => (PingKind::Success, None, t0 + 50_000),
                _ => (PingKind::Log, None, t0 + i as i64),
            };
            let at = if i > 101 { t0 + 60_000 + i as i64 } else { at };
            heartbeats::entity::pings::ActiveModel {
                service_id: Set(svc.id.clone()),
                at: Set(at),
                kind: Set(kind),
                data: Set(String::new()),
                rid: Set(rid.map(str::to_owned)),
                ..Default::default()
            }
        })
        .collect();
    heartbeats::store::pings::append(&app.db, rows)
        .await
        .expect("pings");
    let stored = heartbeats::entity::pings::Entity::find()
        .filter(heartbeats::entity::pings::Column::ServiceId.eq(svc.id.as_str()))
        .all(&app.db)
        .await
        .unwrap()
        .len();
    assert_eq!(stored, total);

    let path = format!("/api/v3/checks/{}/pings/", svc.ping_uuid);
    let (status, body) = get(&app, &path, &key).await;
    assert_eq!(status, 200);
    let pings = body["pings"].as_array().unwrap();
    assert_eq!(pings.len(), limit, "the newest 1,000 of 1,100");
    assert_eq!(pings[0]["n"], total as i64);
    let oldest = &pings[limit - 1];
    assert_eq!(
        (oldest["n"].as_i64(), oldest["type"].as_str()),
        (Some(101), Some("success"))
    );
    assert_eq!(oldest["rid"], r);
    // Its start is older than the 1,000 shown: found further back, to two places.
    assert_eq!(oldest["duration"], 42.35, "{oldest}");
    let plain = &pings[limit - 2];
    assert_eq!(plain["type"], "success");
    assert!(plain.get("duration").is_none(), "no start for it: {plain}");
}
