//! Chinese pages in Chinese: every page and error state rendered in `zh` must not show an
//! English sentence that has a translation (taken from the English table itself).
use std::collections::HashMap;

use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::ui_helpers::Browser;

/// `key: "text"` lines of a translation table.
fn table(source: &str) -> HashMap<String, String> {
    source
        .lines()
        .filter_map(|l| {
            let (key, rest) = l.trim().split_once(": \"")?;
            let text = rest.strip_suffix("\",")?;
            Some((key.to_owned(), text.replace("\\\"", "\"")))
        })
        .collect()
}

/// How askama writes text into HTML.
fn escaped(s: &str) -> String {
    s.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// English sentences (three words or more) whose Chinese differs.
fn english_sentences() -> Vec<String> {
    let en = table(include_str!("../../src/ui/i18n/en.rs"));
    let zh = table(include_str!("../../src/ui/i18n/zh.rs"));
    let mut out: Vec<String> = en
        .iter()
        .filter(|(k, v)| v.split_whitespace().count() >= 3 && zh.get(*k) != Some(v))
        .map(|(_, v)| v.clone())
        .collect();
    out.sort();
    assert!(out.len() > 50, "the English table was read");
    out
}

#[tokio::test]
async fn every_chinese_page_is_in_chinese() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = app
        .create_service(
            json!({"name": "备份", "cron": "30 2 * * 1-5", "notify": ["ops@example.com"]}),
        )
        .await
        .id;
    app.ping_ok(&id, "").await;
    app.ping_ok(&id, "disk full").await;
    app.deliver().await;
    // A host with every part its page shows, one that cannot be reached, and a name in
    // the unmanaged inbox.
    let host = app
        .create_host(
            json!({"name": "gpu-01", "tags": ["gpu"], "notify": ["ops@example.com"],
            "checks": {"units": ["nginx.service"], "processes": [{"pattern": "train.py"}],
                       "disk_mounts": {"/data": {"limit": 95}}}}),
        )
        .await
        .id;
    app.create_host(json!({"name": "db-01"})).await;
    app.report_ok(&json!({"reports": [
        {"name": "gpu-01", "cpu_pct": 50, "load1": 1, "load5": 1, "load15": 1, "cores": 8,
         "mem_used_bytes": 1, "mem_total_bytes": 2, "swap_used_bytes": 0, "swap_total_bytes": 2,
         "disks": [{"mount": "/data", "used_pct": 99}],
         "gpus": [{"index": 0, "util_pct": 50, "mem_used_mb": 1, "mem_total_mb": 2, "temp_c": 40, "power_w": 100}],
         "processes": {"top_cpu": [{"pid": 1, "command": "train.py"}], "top_mem": [{"pid": 1, "command": "train.py"}]},
         "units": [{"name": "nginx.service", "active_state": "failed"}]},
        {"name": "db-01", "error": "connection refused"},
        {"name": "lab-7", "cpu_pct": 1}
    ]}))
    .await;
    let mut b = Browser::signed_in(&app).await;
    b.set_cookie("hb_lang", "zh");
    let mut pages = Vec::new();
    for path in [
        "/".to_owned(),
        "/?status=down".to_owned(),
        "/?q=nothing-matches".to_owned(),
        "/services/new".to_owned(),
        format!("/services/{id}"),
        format!("/services/{id}/edit"),
        format!("/services/{id}/delete"),
        "/alerts".to_owned(),
        "/account".to_owned(),
        "/users".to_owned(),
        "/audit".to_owned(),
        "/services/nope".to_owned(),
        "/hosts".to_owned(),
        "/hosts?status=down".to_owned(),
        "/hosts?q=nothing-matches".to_owned(),
        "/hosts/new".to_owned(),
        format!("/hosts/{host}"),
        format!("/hosts/{host}?range=30d"),
        format!("/hosts/{host}/edit"),
        format!("/hosts/{host}/delete"),
        "/events".to_owned(),
        "/events?host=nope".to_owned(),
        "/hosts/inbox".to_owned(),
        "/hosts/nope".to_owned(),
    ] {
        let page = b.get(&path).await;
        pages.push((path, page.body));
    }
    // Error states: a form with every kind of mistake, a wrong password.
    let page = b
        .submit(
            "/services/new",
            "/services/new",
            &[
                ("name", ""),
                ("kind", "cron"),
                ("cron", "61 * * * *"),
                ("grace", "x"),
            ],
        )
        .await;
    pages.push(("form errors".into(), page.body));
    let page = b
        .submit(
            "/hosts/new",
            "/hosts/new",
            &[
                ("name", ""),
                ("address", "a b"),
                ("interval", "x"),
                ("cpu_pct", "x"),
                ("ssh_port", "0"),
                ("proc", "("),
                ("proc_match", "regex"),
                ("mount", "/data"),
                ("mount_limit", ""),
            ],
        )
        .await;
    pages.push(("host form errors".into(), page.body));
    let page = b
        .submit(
            "/account",
            "/account/password",
            &[("current", "x"), ("new", "y"), ("confirm", "z")],
        )
        .await;
    pages.push(("password errors".into(), page.body));
    let page = b.submit("/alerts", "/alerts/test", &[("to", "nope")]).await;
    pages.push(("test mail error".into(), page.body));
    let mut anon = Browser::new(&app);
    anon.set_cookie("hb_lang", "zh");
    pages.push(("/login".into(), anon.get("/login").await.body));

    let sentences = english_sentences();
    let mut found = Vec::new();
    for (path, body) in &pages {
        assert!(body.contains("lang=\"zh-CN\""), "{path} is a Chinese page");
        for s in &sentences {
            if body.contains(&escaped(s)) || body.contains(s.as_str()) {
                found.push(format!("{path}: {s}"));
            }
        }
        for english in [
            "files in ",
            "is required",
            "is not an email address",
            "out of range",
        ] {
            if body.contains(english) {
                found.push(format!("{path}: {english}"));
            }
        }
    }
    assert!(
        found.is_empty(),
        "English on Chinese pages:\n{}",
        found.join("\n")
    );
}
