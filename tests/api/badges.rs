//! Status badges: SVG and shields.io endpoint JSON per service, per tag and for all
//! services, under signed URLs listed by `GET /api/v1/badges`; a wrong signature is a 404.
use std::io::Write;
use std::process::{Command, Stdio};

use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Auth, Backend, TestApp};
use crate::on_every_backend;
use crate::ui_helpers::Browser;

on_every_backend!(
    badges_show_each_status_and_a_tag_shows_its_worst,
    wrong_signatures_and_unknown_subjects_are_not_found,
    the_badge_list_needs_a_reader_and_pages_services,
    the_badges_page_lists_what_to_paste,
);

async fn list(app: &TestApp) -> Value {
    let resp = app.get("/api/v1/badges?limit=1000").await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// The path of a listed URL (the list names them under `HB_BASE_URL`).
fn path(url: &Value) -> String {
    let url = url.as_str().expect("a URL");
    let rest = url
        .strip_prefix("http://hb.test:5827")
        .expect("under HB_BASE_URL");
    rest.to_owned()
}

fn well_formed_xml(svg: &str) {
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import sys, xml.etree.ElementTree as E; E.fromstring(sys.stdin.buffer.read())",
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(svg.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}\n{svg}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A badge's SVG (checked to be XML) and JSON.
async fn badge(app: &TestApp, urls: &Value) -> (String, Value) {
    let resp = app
        .request_as(Method::GET, &path(&urls["svg"]), Auth::None)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "image/svg+xml; charset=utf-8"
    );
    assert!(
        resp.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-cache")
    );
    let svg = resp.text().await.unwrap();
    well_formed_xml(&svg);
    let resp = app
        .request_as(Method::GET, &path(&urls["json"]), Auth::None)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    (svg, resp.json().await.unwrap())
}

async fn badges_show_each_status_and_a_tag_shows_its_worst(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let svc = |name: &'static str, period: i64, grace: i64, tags: Vec<&'static str>| {
        let app = &app;
        async move {
            app.create_service(json!({
                "name": name, "kind": "interval", "period": period, "grace": grace, "tags": tags,
            }))
            .await
            .id
        }
    };
    let up = svc("备份 <db> & co", 3600, 60, vec!["prod", "a/b"]).await;
    let late = svc("late-job", 60, 3600, vec!["prod"]).await;
    let down = svc("down-job", 60, 60, vec!["edge"]).await;
    let new = svc("new-job", 60, 60, vec!["fresh"]).await;
    for id in [&up, &late, &down] {
        app.ping_ok(id, "").await;
    }
    let l = list(&app).await;
    let service_urls = |id: &str| {
        l["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} not listed"))
    };
    // All up (and one new) at first.
    let (svg, j) = badge(&app, &l["all"]).await;
    assert!(svg.contains("#4c1") && svg.contains(">up</text>"), "{svg}");
    assert_eq!(
        j,
        json!({"schemaVersion": 1, "label": "heartbeats", "message": "up", "color": "brightgreen"})
    );

    app.advance(Duration::seconds(130));
    app.run_scheduler().await;
    for (id, message, color, hex) in [
        (&up, "up", "brightgreen", "#4c1"),
        (&late, "late", "orange", "#fe7d37"),
        (&down, "down", "red", "#e05d44"),
        (&new, "new", "lightgrey", "#9f9f9f"),
    ] {
        let (svg, j) = badge(&app, &service_urls(id)).await;
        assert!(
            svg.contains(hex) && svg.contains(&format!(">{message}</text>")),
            "{svg}"
        );
        assert_eq!(j["message"], message);
        assert_eq!(j["color"], color);
        assert_eq!(j["schemaVersion"], 1);
    }
    let (svg, j) = badge(&app, &service_urls(&up)).await;
    assert_eq!(j["label"], "备份 <db> & co");
    assert!(svg.contains("备份 &lt;db&gt; &amp; co"), "{svg}");

    let tags = &l["tags"];
    let names: Vec<&String> = tags.as_object().unwrap().keys().collect();
    assert_eq!(names, ["a/b", "edge", "fresh", "prod"]);
    for (tag, message) in [
        ("prod", "late"),
        ("edge", "down"),
        ("fresh", "new"),
        ("a/b", "up"),
    ] {
        let (svg, j) = badge(&app, &tags[tag]).await;
        assert_eq!(
            (j["label"].as_str(), j["message"].as_str()),
            (Some(tag), Some(message))
        );
        assert!(svg.contains(&format!(">{message}</text>")));
    }
    let (_, j) = badge(&app, &l["all"]).await;
    assert_eq!(j["message"], "down");

    // A paused service is grey; a tag whose services are gone says so.
    app.post_json(&format!("/api/v1/services/{down}/pause"), &Value::Null)
        .await;
    let (_, j) = badge(&app, &service_urls(&down)).await;
    assert_eq!(
        (j["message"].as_str(), j["color"].as_str()),
        (Some("paused"), Some("lightgrey"))
    );
    assert_eq!(
        app.delete(&format!("/api/v1/services/{new}"))
            .await
            .status(),
        204
    );
    let (_, j) = badge(&app, &tags["fresh"]).await;
    assert_eq!(
        (j["message"].as_str(), j["color"].as_str()),
        (Some("no services"), Some("lightgrey"))
    );
}

async fn wrong_signatures_and_unknown_subjects_are_not_found(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app.interval_service("svc", 60, 60).await;
    app.patch_json(&format!("/api/v1/services/{id}"), &json!({"tags": ["ops"]}))
        .await;
    let l = list(&app).await;
    let good = path(&l["services"][0]["svg"]);
    let sig = good.split('/').nth(2).unwrap().to_owned();
    let get = |p: String| {
        let app = &app;
        async move {
            app.request_as(Method::GET, &p, Auth::None)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(get(good.clone()).await, 200);
    let mut flipped = sig.clone().into_bytes();
    flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(flipped).unwrap();
    for bad in [
        good.replace(&sig, &flipped),
        good.replace(&sig, &sig[..sig.len() - 1]),
        // Another subject's signature does not open this one.
        path(&l["tags"]["ops"]["svg"]).replace("/tag/ops", &format!("/service/{id}")),
        path(&l["all"]["svg"]).replace("/all.", "/tag/ops."),
        good.replace(".svg", ".png"),
        format!("/badge/{sig}"),
    ] {
        assert_eq!(get(bad.clone()).await, 404, "{bad}");
    }
    // A deleted service's badge is gone too.
    assert_eq!(
        app.delete(&format!("/api/v1/services/{id}")).await.status(),
        204
    );
    assert_eq!(get(good).await, 404);
}

async fn the_badge_list_needs_a_reader_and_pages_services(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for i in 0..5 {
        app.interval_service(&format!("s{i}"), 60, 60).await;
    }
    let resp = app
        .request_as(Method::GET, "/api/v1/badges", Auth::None)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = app.get("/api/v1/badges?limit=0").await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        (body["field"].as_str(), body["code"].as_str()),
        (Some("limit"), Some("out_of_range"))
    );

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..5 {
        let q = match &after {
            Some(a) => format!("/api/v1/badges?limit=2&after={a}"),
            None => "/api/v1/badges?limit=2".to_owned(),
        };
        let page: Value = app.get(&q).await.json().await.unwrap();
        for s in page["services"].as_array().unwrap() {
            seen.push(s["name"].as_str().unwrap().to_owned());
        }
        match page["next_after"].as_str() {
            Some(a) => after = Some(a.to_owned()),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, ["s0", "s1", "s2", "s3", "s4"]);
}

async fn the_badges_page_lists_what_to_paste(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app
        .create_service(json!({
            "name": "db [nightly]", "kind": "interval", "period": 60, "grace": 60,
            "tags": ["prod"],
        }))
        .await
        .id;
    let l = list(&app).await;
    let svc = l["services"][0]["svg"].as_str().unwrap().to_owned();
    let tag = l["tags"]["prod"]["svg"].as_str().unwrap().to_owned();

    // Signed out, the page sends you to sign in.
    let mut b = Browser::new(&app);
    assert_eq!(b.get("/badges").await.status, 303);
    let mut b = Browser::signed_in(&app).await;
    let page = b.get("/badges").await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.assert_contains("href=\"/badges\" aria-current=\"page\"");
    page.assert_contains(&format!("![db nightly]({svc})"));
    page.assert_contains(&format!("&#60;img src=&#34;{tag}&#34;"));
    page.assert_contains(l["all"]["json"].as_str().unwrap());
    assert!(svc.contains(&format!("/service/{id}.svg")));
    b.get("/lang/zh?next=/badges").await;
    let zh = b.get("/badges").await;
    assert_eq!(zh.status, 200);
    zh.assert_contains("<h1>状态徽章</h1>");
}
