//! `GET /api/v1/agent/hosts`: which hosts a collector gets (by collector, paused, without an
//! address), the unit discovery flag's life (asked → sent → not asked → an hour later or a
//! refresh → asked), who may ask, the `collector` field's refusals, the discovered units
//! offered as checkboxes on the edit form, and what the host page shows of the new values.
use heartbeats::domain::role::KeyScope;
use heartbeats::entity::hosts;
use heartbeats_wire::agent::{AgentHost, AgentHosts};
use reqwest::Method;
use sea_orm::{EntityTrait, IntoActiveModel};
use serde_json::{Value, json};

use crate::helpers::{ADMIN, Auth, Backend, TestApp};
use crate::host_helpers::refused;
use crate::on_every_backend;
use crate::ui_helpers::Browser;

impl TestApp {
    /// `GET /api/v1/agent/hosts` (with `?collector=` when given) as the admin.
    async fn agent_hosts(&self, collector: Option<&str>) -> AgentHosts {
        let path = match collector {
            Some(c) => format!("/api/v1/agent/hosts?collector={c}"),
            None => "/api/v1/agent/hosts".to_owned(),
        };
        let resp = self.get(&path).await;
        let status = resp.status();
        let text = resp.text().await.expect("body");
        assert_eq!(status, 200, "GET {path}: {text}");
        serde_json::from_str(&text).expect("an AgentHosts body")
    }

    async fn agent_names(&self, collector: Option<&str>) -> Vec<String> {
        self.agent_hosts(collector)
            .await
            .hosts
            .into_iter()
            .map(|h| h.name)
            .collect()
    }

    /// The one listed host named `name` of the default collector.
    async fn agent_host(&self, name: &str) -> AgentHost {
        self.agent_hosts(None)
            .await
            .hosts
            .into_iter()
            .find(|h| h.name == name)
            .unwrap_or_else(|| panic!("{name} is not listed"))
    }
}

async fn key(app: &TestApp, scope: KeyScope) -> String {
    heartbeats::app::keys::create(
        &app.state.app,
        &heartbeats::app::Actor::cli(),
        ADMIN,
        "collector",
        scope,
    )
    .await
    .expect("key")
    .key
}

fn units(names: &[(&str, &str, &str)]) -> Value {
    names
        .iter()
        .map(|(name, active, file)| {
            json!({"name": name, "active_state": active, "sub_state": if *active == "active" { "running" } else { "dead" }, "unit_file_state": file})
        })
        .collect()
}

async fn the_list_is_by_collector_enabled_and_with_an_address(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = app
        .create_host(json!({
            "name": "a-default", "address": "10.0.0.1", "interval": 10,
            "ssh": {"user": "ops", "port": 2222, "key": "/etc/hb/id_ed25519"},
            "checks": {"units": ["nginx.service"], "processes": [{"pattern": "nginx: master", "min": 2}]}
        }))
        .await;
    assert_eq!(a.collector, None);
    let b = app
        .create_host(json!({"name": "b-rack", "address": "10.0.0.2", "collector": " rack-a "}))
        .await;
    assert_eq!(b.collector.as_deref(), Some("rack-a"), "trimmed");
    app.create_host(json!({"name": "c-noaddr"})).await;
    let d = app
        .create_host(json!({"name": "d-paused", "address": "10.0.0.4"}))
        .await;
    assert_eq!(
        app.post_json(&format!("/api/v1/hosts/{}/pause", d.id), &json!({}))
            .await
            .status(),
        200
    );
    app.create_host(json!({"name": "e-other", "address": "10.0.0.5", "collector": "rack-b"}))
        .await;
    let f = app
        .create_host(json!({"name": "f-paused-rack", "address": "10.0.0.6", "collector": "rack-a"}))
        .await;
    assert_eq!(
        app.agent_names(Some("rack-a")).await,
        ["b-rack", "f-paused-rack"]
    );
    assert_eq!(
        app.post_json(&format!("/api/v1/hosts/{}/pause", f.id), &json!({}))
            .await
            .status(),
        200
    );

    // Without collector= (or with an empty one): the default collector's hosts only.
    assert_eq!(app.agent_names(None).await, ["a-default"]);
    assert_eq!(app.agent_names(Some("")).await, ["a-default"]);
    assert_eq!(app.agent_names(Some("rack-a")).await, ["b-rack"]);
    assert_eq!(app.agent_names(Some("rack-b")).await, ["e-other"]);
    assert!(app.agent_names(Some("nobody")).await.is_empty());
    // Names are compared exactly.
    assert!(app.agent_names(Some("RACK-A")).await.is_empty());

    // Everything the collector needs, in the wire's shape.
    let listed = app.agent_host("a-default").await;
    assert_eq!(
        listed,
        AgentHost {
            id: a.id.clone(),
            name: "a-default".into(),
            address: Some("10.0.0.1".into()),
            interval: 10,
            ssh: heartbeats_wire::hosts::SshOverrides {
                user: Some("ops".into()),
                port: Some(2222),
                key: Some("/etc/hb/id_ed25519".into()),
            },
            processes: vec![heartbeats_wire::hosts::RequiredProcess {
                pattern: "nginx: master".into(),
                regex: false,
                min: 2,
            }],
            units: vec!["nginx.service".into()],
            discover_units: true,
        }
    );
    let raw: Value = app.get("/api/v1/agent/hosts").await.json().await.unwrap();
    assert_eq!(raw["hosts"][0]["discover_units"], json!(true), "{raw}");

    // Edits move hosts between lists: to the default collector, resumed, given an address.
    let resp = app
        .patch_json(
            &format!("/api/v1/hosts/{}", b.id),
            &json!({"collector": null}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let back: heartbeats_wire::hosts::Host = resp.json().await.unwrap();
    assert_eq!(back.collector, None);
    assert_eq!(
        app.post_json(&format!("/api/v1/hosts/{}/resume", d.id), &json!({}))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.agent_names(None).await,
        ["a-default", "b-rack", "d-paused"]
    );
    assert!(
        app.agent_names(Some("rack-a")).await.is_empty(),
        "f is paused"
    );
    let resp = app
        .patch_json(
            &format!("/api/v1/hosts/{}", a.id),
            &json!({"collector": "rack-b", "address": null}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(app.agent_names(None).await, ["b-rack", "d-paused"]);
    assert_eq!(
        app.agent_names(Some("rack-b")).await,
        ["e-other"],
        "no address: not listed"
    );
    // The API shows the collector on every host.
    assert_eq!(app.host(&a.id).await.collector.as_deref(), Some("rack-b"));
    let all: Vec<heartbeats_wire::hosts::Host> =
        app.get("/api/v1/hosts").await.json().await.unwrap();
    let e = all.iter().find(|h| h.name == "e-other").unwrap();
    assert_eq!(e.collector.as_deref(), Some("rack-b"));
}

async fn discovery_is_asked_until_units_come_then_hourly_or_on_refresh(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let h = app
        .create_host(json!({"name": "gpu-01", "address": "10.0.0.11", "checks": {"units": ["nginx.service"]}}))
        .await;
    assert!(
        app.agent_host("gpu-01").await.discover_units,
        "never discovered"
    );
    // A report without discovered units does not change that.
    app.report_ok(&json!({"name": "gpu-01", "cpu_pct": 5}))
        .await;
    assert!(app.agent_host("gpu-01").await.discover_units);

    let found = units(&[
        ("nginx.service", "active", "enabled"),
        ("ssh.service", "active", "enabled"),
        ("backup.service", "inactive", "enabled"),
    ]);
    let stored = app
        .report_ok(&json!({
            "name": "gpu-01", "cpu_pct": 7,
            "units": [{"name": "nginx.service", "active_state": "active", "sub_state": "running"}],
            "gpu_processes": [{"gpu": 0, "pid": 4242, "name": "python", "mem_used_mb": 30000}],
            "discovered_units": found
        }))
        .await;
    assert_eq!(stored.hosts[0].status, "up");
    assert!(!app.agent_host("gpu-01").await.discover_units, "just sent");
    // The list is kept on the host, not in the latest snapshot.
    let latest = app.host(&h.id).await.latest.expect("a snapshot");
    assert_eq!(latest.discovered_units, None);
    assert_eq!(latest.gpu_processes.as_ref().map(Vec::len), Some(1));
    let (json, at) = heartbeats::store::hosts::discovered_units(&app.db, &h.id)
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(at, Some(heartbeats::clock::to_ms(app.now())));
    let list: Vec<heartbeats_wire::hosts::UnitReport> = serde_json::from_str(&json).unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list[0].unit_file_state.as_deref(), Some("enabled"));

    // An hour later it is asked again.
    app.advance(chrono::Duration::minutes(59));
    assert!(!app.agent_host("gpu-01").await.discover_units);
    app.advance(chrono::Duration::minutes(1));
    assert!(app.agent_host("gpu-01").await.discover_units, "an hour old");
    app.report_ok(&json!({"name": "gpu-01", "cpu_pct": 7, "discovered_units": found}))
        .await;
    assert!(!app.agent_host("gpu-01").await.discover_units);

    // A user asks for a new list on the host page: asked at once, the old list stays.
    let mut b = Browser::signed_in(&app).await;
    let page = b.get(&format!("/hosts/{}", h.id)).await;
    page.assert_contains("3 units");
    page.assert_contains("Refresh the unit list");
    let page = b
        .submit(
            &format!("/hosts/{}", h.id),
            &format!("/hosts/{}/refresh-units", h.id),
            &[],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(
        app.agent_host("gpu-01").await.discover_units,
        "refresh asked"
    );
    let page = b.get(&format!("/hosts/{}", h.id)).await;
    page.assert_contains("A new unit list is asked for");
    page.assert_contains("asked for; it comes with the next report");
    // An older list (a buffered report) does not replace a newer one.
    let newer = app.now();
    app.report_ok(&json!({"name": "gpu-01", "cpu_pct": 7, "discovered_units": units(&[("a.service", "active", "enabled")])}))
        .await;
    let older = (newer - chrono::Duration::minutes(5)).to_rfc3339();
    app.report_ok(&json!({"name": "gpu-01", "at": older, "cpu_pct": 7, "discovered_units": found}))
        .await;
    let (json, _) = heartbeats::store::hosts::discovered_units(&app.db, &h.id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        json.contains("a.service") && !json.contains("ssh.service"),
        "{json}"
    );
    // Only editors may ask.
    let viewer = json!({"name": "vera", "password": "vera-password-1", "role": "viewer"});
    assert_eq!(app.post_json("/api/v1/users", &viewer).await.status(), 201);
    let mut v = Browser::new(&app);
    v.sign_in("vera", "vera-password-1").await;
    let page = v.get(&format!("/hosts/{}", h.id)).await;
    assert!(!page.contains("Refresh the unit list"));
    let csrf = page.csrf();
    let page = v
        .post(
            &format!("/hosts/{}/refresh-units", h.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(page.status, 403);
}

async fn discovered_units_are_offered_as_checkboxes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let h = app
        .create_host(json!({"name": "web-01", "address": "10.0.0.21", "checks": {"units": ["legacy.service"]}}))
        .await;
    let edit = format!("/hosts/{}/edit", h.id);
    let mut b = Browser::signed_in(&app).await;
    // Nothing discovered yet: the text field, and a word on what is coming.
    let form = b.get(&edit).await;
    assert!(!form.contains("name=\"unit\""), "no checkboxes yet");
    form.assert_contains("they are offered here as checkboxes");
    form.assert_contains(">legacy.service</textarea>");

    app.report_ok(&json!({
        "name": "web-01", "cpu_pct": 3,
        "discovered_units": units(&[("ssh.service", "active", "enabled"), ("nginx.service", "active", "enabled"), ("cron.service", "inactive", "enabled")])
    }))
    .await;
    let form = b.get(&edit).await;
    // Sorted by name; the watched unit not found is kept, ticked.
    let order: Vec<usize> = [
        "cron.service",
        "nginx.service",
        "ssh.service",
        "legacy.service",
    ]
    .iter()
    .map(|u| {
        form.body
            .find(&format!("name=\"unit\" value=\"{u}\""))
            .unwrap_or_else(|| panic!("{u} offered:\n{}", form.body))
    })
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    form.assert_contains("name=\"unit\" value=\"legacy.service\" checked>");
    form.assert_contains("name=\"unit\" value=\"nginx.service\">");
    form.assert_contains("active (running) · enabled");
    form.assert_contains("watched, not found by the last discovery");
    form.assert_contains("Other units");
    form.assert_contains("<textarea id=\"units\" name=\"units\" rows=\"2\" class=\"mono\" spellcheck=\"false\" aria-describedby=\"units-help\"></textarea>");

    // Tick two, untick the old one, type one more.
    let page = b
        .submit(
            &edit,
            &edit,
            &[
                ("name", "web-01"),
                ("address", "10.0.0.21"),
                ("interval", "60"),
                ("unit", "nginx.service"),
                ("unit", "ssh.service"),
                ("units", "extra.service, nginx.service"),
                ("collector", "rack-a"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let saved = app.host(&h.id).await;
    assert_eq!(
        saved.checks.units,
        ["nginx.service", "ssh.service", "extra.service"]
    );
    assert_eq!(saved.collector.as_deref(), Some("rack-a"));
    let form = b.get(&edit).await;
    form.assert_contains("name=\"unit\" value=\"extra.service\" checked>");
    form.assert_contains("name=\"collector\" value=\"rack-a\"");
    assert!(
        !form.contains("value=\"legacy.service\""),
        "no longer watched nor found"
    );

    // A refused collector keeps the ticks and says what is wrong, in both languages.
    let page = b
        .submit(
            &edit,
            &edit,
            &[
                ("name", "web-01"),
                ("unit", "cron.service"),
                ("collector", "rack a"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    page.assert_contains("must be 1-64 characters of letters, digits");
    page.assert_contains("name=\"unit\" value=\"cron.service\" checked>");
    page.assert_contains("name=\"unit\" value=\"nginx.service\">");
    b.set_cookie("hb_lang", "zh");
    let form = b.get(&edit).await;
    form.assert_contains("主机上发现的单元");
    form.assert_contains("其他单元");
    form.assert_contains("采集器");
    let page = b
        .submit(&edit, &edit, &[("name", "web-01"), ("collector", "机架")])
        .await;
    assert_eq!(page.status, 422);
    page.assert_contains("hb-agent watch --collector` 的名称");
}

async fn the_host_page_shows_gpu_processes_and_the_collector(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let h = app
        .create_host(json!({"name": "gpu-02", "address": "10.0.0.12", "collector": "lab-7", "checks": {"units": ["train.service"]}}))
        .await;
    app.report_ok(&json!({
        "name": "gpu-02", "cpu_pct": 50,
        "gpus": [{"index": 0, "name": "A100", "util_pct": 97, "temp_c": 71, "power_w": 310}],
        "gpu_processes": [{"gpu": 0, "pid": 4242, "name": "python train.py", "mem_used_mb": 2048}, {"pid": 77, "name": "unmapped"}],
        "units": [{"name": "train.service", "active_state": "failed", "sub_state": "failed"}],
        "failures": ["disk check failed: df timed out after 5 s"]
    }))
    .await;
    let mut b = Browser::signed_in(&app).await;
    let page = b.get(&format!("/hosts/{}", h.id)).await;
    for s in [
        "GPU processes",
        "<td data-label=\"GPU\">GPU0</td><td class=\"num\" data-label=\"PID\">4242</td>",
        "python train.py",
        "2.0 GiB",
        "unmapped",
        "71 °C",
        "310 W",
        "train.service",
        "<code>lab-7</code>",
        "disk check failed: df timed out after 5 s",
    ] {
        page.assert_contains(s);
    }
    b.set_cookie("hb_lang", "zh");
    let page = b.get(&format!("/hosts/{}", h.id)).await;
    page.assert_contains("GPU 进程");
    page.assert_contains("采集器");
}

async fn collectors_ask_with_a_key_that_may_send_reports(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_host(json!({"name": "a", "address": "10.0.0.1"}))
        .await;
    let ask = |auth: Auth<'_>| {
        app.request_as(Method::GET, "/api/v1/agent/hosts", auth)
            .send()
    };
    let ping = key(&app, KeyScope::Ping).await;
    let full = key(&app, KeyScope::Full).await;
    let read = key(&app, KeyScope::Read).await;
    for k in [&ping, &full] {
        let resp = ask(Auth::Bearer(k)).await.unwrap();
        assert_eq!(resp.status(), 200);
        let body: AgentHosts = resp.json().await.unwrap();
        assert_eq!(body.hosts.len(), 1);
    }
    let resp = ask(Auth::Bearer(&read)).await.unwrap();
    assert_eq!(resp.status(), 403);
    let body: heartbeats_wire::ErrorBody = resp.json().await.unwrap();
    assert_eq!(body.code.as_deref(), Some("forbidden"));
    assert!(
        body.error.contains("a key that may send reports"),
        "{}",
        body.error
    );
    // The same rule as reports: a read key may not send them either.
    let resp = app
        .request_as(Method::POST, "/api/v1/hosts/reports", Auth::Bearer(&read))
        .json(&json!({"name": "a", "cpu_pct": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let resp = ask(Auth::None).await.unwrap();
    assert_eq!(resp.status(), 401);
    let body: heartbeats_wire::ErrorBody = resp.json().await.unwrap();
    assert_eq!(body.code.as_deref(), Some("auth_required"));
    let resp = ask(Auth::Bearer("hb_nope_0123456789abcdefghijklmnopqrstuv"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: heartbeats_wire::ErrorBody = resp.json().await.unwrap();
    assert_eq!(body.code.as_deref(), Some("bad_credentials"));
}

async fn a_bad_collector_is_refused_naming_the_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for bad in [
        json!("rack a"),
        json!("rack/a"),
        json!("x".repeat(65)),
        json!("机架"),
    ] {
        let resp = app
            .post_json("/api/v1/hosts", &json!({"name": "h", "collector": bad}))
            .await;
        assert_eq!(
            refused(resp).await,
            (422, Some("collector".into()), Some("bad_collector".into())),
            "{bad}"
        );
    }
    let resp = app
        .post_json("/api/v1/hosts", &json!({"name": "h", "collector": 7}))
        .await;
    assert_eq!(resp.status(), 400, "a number is not a name");
    let h = app
        .create_host(json!({"name": "h", "collector": "x".repeat(64)}))
        .await;
    let resp = app
        .patch_json(
            &format!("/api/v1/hosts/{}", h.id),
            &json!({"collector": "a b"}),
        )
        .await;
    let status = resp.status();
    let body: heartbeats_wire::ErrorBody = resp.json().await.unwrap();
    assert_eq!(status, 422);
    assert_eq!(body.field.as_deref(), Some("collector"));
    assert!(
        body.error.starts_with("collector: must be 1-64 characters"),
        "{}",
        body.error
    );
    // An empty one is the default collector.
    let resp = app
        .patch_json(
            &format!("/api/v1/hosts/{}", h.id),
            &json!({"collector": "  "}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(app.host(&h.id).await.collector, None);
    // So is the query parameter.
    let resp = app.get("/api/v1/agent/hosts?collector=rack%20a").await;
    assert_eq!(
        refused(resp).await,
        (422, Some("collector".into()), Some("bad_collector".into()))
    );
}

/// Reports with the new lists are checked like every other value.
async fn discovered_units_and_gpu_processes_are_checked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_host(json!({"name": "a"})).await;
    let cases = [
        (
            json!({"name": "a", "discovered_units": [{"name": "x.service"}]}),
            "discovered_units[0].active_state",
            "required",
        ),
        (
            json!({"name": "a", "discovered_units": [{"name": "x.service", "active_state": "active", "unit_file_state": 3}]}),
            "discovered_units[0].unit_file_state",
            "wrong_type",
        ),
        (
            json!({"name": "a", "gpu_processes": [{"name": "python"}]}),
            "gpu_processes[0].pid",
            "required",
        ),
        (
            json!({"name": "a", "failures": ["ok", 3]}),
            "failures[1]",
            "wrong_type",
        ),
        (
            json!({"name": "a", "gpu_processes": [{"pid": 1, "gpu": -1}]}),
            "gpu_processes[0].gpu",
            "wrong_type",
        ),
    ];
    for (body, field, code) in cases {
        let resp = app.report(&body).await;
        assert_eq!(
            refused(resp).await,
            (422, Some(field.into()), Some(code.into())),
            "{body}"
        );
    }
    let many: Vec<Value> = (0..=heartbeats_wire::hosts::MAX_DISCOVERED_UNITS)
        .map(|i| json!({"name": format!("u{i}.service"), "active_state": "active"}))
        .collect();
    let resp = app
        .report(&json!({"name": "a", "discovered_units": many}))
        .await;
    assert_eq!(
        refused(resp).await,
        (
            422,
            Some("discovered_units".into()),
            Some("too_many".into())
        )
    );
    // A report of discovered units alone is a report (the host is seen).
    let ok = app
        .report_ok(&json!({"name": "a", "discovered_units": &many[..300]}))
        .await;
    assert_eq!(ok.accepted, 1);
}

/// Many hosts in one answer, read in one query: 10,000 hosts, the answer holds them all.
#[tokio::test]
async fn ten_thousand_hosts_come_in_one_answer() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let defaults = heartbeats::store::hosts::defaults(&app.db).await.unwrap();
    // Written in batches (the API would take minutes); the columns as `store::hosts::create`
    // writes them.
    let checks = serde_json::to_string(&defaults.checks).unwrap();
    let now = heartbeats::clock::to_ms(app.now());
    for batch in (0..10_000).collect::<Vec<u32>>().chunks(500) {
        let rows: Vec<hosts::ActiveModel> = batch
            .iter()
            .map(|i| {
                let name = format!("host-{i:05}");
                hosts::Model {
                    id: format!("h{i:05}"),
                    name_key: name.clone(),
                    name,
                    address: Some(format!("10.0.{}.{}", i / 256, i % 256)),
                    description: None,
                    interval_secs: 30,
                    tags: String::new(),
                    notify: String::new(),
                    ssh_user: None,
                    ssh_port: None,
                    ssh_key: None,
                    checks: checks.clone(),
                    status: heartbeats::domain::host::HostStatus::New,
                    status_since: Some(now),
                    problems: None,
                    last_report_at: None,
                    last_ok_at: None,
                    last_error: None,
                    report_interval_secs: None,
                    report_timeout_secs: None,
                    breaches: None,
                    next_check_at: None,
                    version: 0,
                    created_at: now,
                    updated_at: now,
                    collector: (i % 2 == 1).then(|| "odd".to_owned()),
                    discovered_at: None,
                    channels: String::new(),
                    remind_every_secs: None,
                    remind_max: 0,
                    snoozed_until: None,
                }
                .into_active_model()
            })
            .collect();
        hosts::Entity::insert_many(rows)
            .exec_without_returning(&app.db)
            .await
            .unwrap();
    }
    let default = app.agent_hosts(None).await.hosts;
    assert_eq!(default.len(), 5000);
    assert_eq!(default[0].name, "host-00000");
    assert_eq!(default[4999].name, "host-09998");
    assert_eq!(app.agent_hosts(Some("odd")).await.hosts.len(), 5000);
}

on_every_backend!(
    the_list_is_by_collector_enabled_and_with_an_address,
    discovery_is_asked_until_units_come_then_hourly_or_on_refresh,
    discovered_units_are_offered_as_checkboxes,
    the_host_page_shows_gpu_processes_and_the_collector,
    collectors_ask_with_a_key_that_may_send_reports,
    a_bad_collector_is_refused_naming_the_field,
    discovered_units_and_gpu_processes_are_checked,
);
