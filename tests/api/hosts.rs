//! The hosts inventory over HTTP: create, list (paged, by tag), read, update, pause,
//! resume, delete; the defaults for new hosts; permissions; the CLI's list.
use heartbeats_wire::hosts::{Host, HostDefaults};
use serde_json::json;

use crate::helpers::{Auth, Backend, TestApp};
use crate::host_helpers::refused;
use crate::on_every_backend;

async fn inventory_round_trip(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let gpu = app
        .create_host(json!({
            "name": "gpu-01", "address": "10.0.0.3:2222", "interval": 30,
            "tags": ["room:725", "gpu"], "notify": "ops@example.com",
            "description": "A100 × 8", "ssh": {"user": "ops", "port": 2222},
            "checks": {"cpu_pct": {"limit": 80}, "gpu_util_pct": {"limit": 95, "for": 600},
                       "disk_mounts": {"/data": {"limit": 95}},
                       "processes": [{"pattern": "nginx", "min": 2}], "units": ["nginx.service"]}
        }))
        .await;
    assert_eq!(gpu.status, "new");
    assert_eq!(gpu.tags, ["room:725", "gpu"]);
    assert_eq!(gpu.interval, 30);
    assert_eq!(gpu.ssh.port, Some(2222));
    let c = &gpu.checks;
    // CPU keeps its 5-minute window when only the limit is given; disks count at once.
    assert_eq!(c.cpu_pct.map(|t| (t.limit, t.for_secs)), Some((80.0, 300)));
    assert_eq!(c.gpu_util_pct.map(|t| t.for_secs), Some(600));
    assert_eq!(c.disk_mounts["/data"].for_secs, 0);
    assert_eq!(c.mem_pct.map(|t| (t.limit, t.for_secs)), Some((90.0, 0)));
    assert_eq!(c.processes[0].min, 2);
    for name in ["web-01", "db-01", "gpu-02"] {
        let tags = if name.starts_with("gpu") {
            json!(["gpu"])
        } else {
            json!(["web"])
        };
        app.create_host(json!({"name": name, "tags": tags})).await;
    }

    // A page at a time, in name order, by tag through the index.
    let resp = app.get("/api/v1/hosts?tag=gpu&limit=1").await;
    let next = resp
        .headers()
        .get("x-next-cursor")
        .expect("more follow")
        .to_str()
        .unwrap()
        .to_owned();
    let page: Vec<Host> = resp.json().await.unwrap();
    assert_eq!(page[0].name, "gpu-01");
    let page: Vec<Host> = app
        .get(&format!("/api/v1/hosts?tag=gpu&limit=1&cursor={next}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page[0].name, "gpu-02");
    let all: Vec<Host> = app.get("/api/v1/hosts").await.json().await.unwrap();
    let names: Vec<_> = all.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["db-01", "gpu-01", "gpu-02", "web-01"]);
    let both: Vec<Host> = app
        .get("/api/v1/hosts?tag=gpu,room:725")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(both.len(), 1);

    // Update any field; the name stays unique regardless of case.
    let resp = app
        .patch_json(
            &format!("/api/v1/hosts/{}", gpu.id),
            &json!({"address": null, "checks": {"cpu_pct": null}, "tags": "gpu"}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let h: Host = resp.json().await.unwrap();
    assert_eq!(h.address, None);
    assert_eq!(h.checks.cpu_pct, None);
    assert_eq!(
        h.checks.gpu_util_pct.map(|t| t.for_secs),
        Some(600),
        "others kept"
    );
    let taken = app
        .patch_json(
            &format!("/api/v1/hosts/{}", gpu.id),
            &json!({"name": "WEB-01"}),
        )
        .await;
    assert_eq!(
        refused(taken).await,
        (409, Some("name".into()), Some("name_taken".into()))
    );

    // Pause and resume are flips without alerts; delete is 204 then 404.
    let paused: Host = app
        .post_json(&format!("/api/v1/hosts/{}/pause", gpu.id), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(paused.status, "paused");
    let resumed: Host = app
        .post_json(&format!("/api/v1/hosts/{}/resume", gpu.id), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        resumed.status, "new",
        "a host that never reported is new again"
    );
    let flips = app.host_flips(&gpu.id).await;
    let reasons: Vec<_> = flips.iter().map(|f| f.reason.as_str()).collect();
    assert_eq!(reasons, ["resumed", "paused"]);
    assert!(app.host_alerts(&gpu.id).await.is_empty());
    assert_eq!(
        app.delete(&format!("/api/v1/hosts/{}", gpu.id))
            .await
            .status(),
        204
    );
    assert_eq!(
        app.get(&format!("/api/v1/hosts/{}", gpu.id)).await.status(),
        404
    );

    // The audit log has each change.
    let audit: Vec<heartbeats_wire::api::AuditEntry> =
        app.get("/api/v1/audit").await.json().await.unwrap();
    let actions: Vec<_> = audit.iter().map(|a| a.action.as_str()).collect();
    for action in [
        "host.create",
        "host.update",
        "host.pause",
        "host.resume",
        "host.delete",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }

    // The command line lists the same, in name order.
    let lines = heartbeats::cli::host_lines(&app.state.app, Some("web"), None)
        .await
        .unwrap();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].contains("\tdb-01\tnew\t-\tweb\t-"), "{lines:?}");
    assert!(lines[1].contains("\tweb-01\t"), "{lines:?}");
}

async fn refused_changes_name_the_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let h = app.create_host(json!({"name": "a"})).await;
    let path = format!("/api/v1/hosts/{}", h.id);
    for (body, field, code) in [
        (json!({"address": "user@host"}), "address", "bad_address"),
        (json!({"interval": 0}), "interval", "out_of_range"),
        (
            json!({"checks": {"cpu_pct": {"limit": 150}}}),
            "checks.cpu_pct",
            "out_of_range",
        ),
        (
            json!({"checks": {"gpu_temp_c": {"limit": 80, "for": -1}}}),
            "checks.gpu_temp_c",
            "out_of_range",
        ),
        (
            json!({"checks": {"processes": [{"pattern": "(", "regex": true}]}}),
            "checks.processes",
            "bad_regex",
        ),
        (json!({"notify": ["nope"]}), "notify", "bad_email"),
        (json!({"ssh": {"port": 70000}}), "ssh.port", "out_of_range"),
        (json!({"name": ""}), "name", "required"),
    ] {
        let got = refused(app.patch_json(&path, &body).await).await;
        assert_eq!(got, (422, Some(field.into()), Some(code.into())), "{body}");
    }
    // An unknown host is a 404; an unknown field a 400.
    let got = refused(
        app.patch_json("/api/v1/hosts/nope1234", &json!({"interval": 60}))
            .await,
    )
    .await;
    assert_eq!(got, (404, None, Some("not_found".into())));
    assert_eq!(
        app.patch_json(&path, &json!({"colour": "red"}))
            .await
            .status(),
        400
    );
    let got = refused(
        app.post_json("/api/v1/hosts", &json!({"tags": ["a"]}))
            .await,
    )
    .await;
    assert_eq!(got, (422, Some("name".into()), Some("required".into())));
}

async fn defaults_apply_to_new_hosts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let d: HostDefaults = app
        .get("/api/v1/hosts/defaults")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(d.interval, 60);
    assert_eq!(
        d.checks.cpu_pct.map(|t| (t.limit, t.for_secs)),
        Some((90.0, 300))
    );
    assert_eq!(d.checks.disk_pct.map(|t| t.for_secs), Some(0));
    let resp = app
        .client
        .put(app.url("/api/v1/hosts/defaults"))
        .basic_auth(crate::helpers::ADMIN, Some(crate::helpers::PASSWORD))
        .json(&json!({"interval": 10, "checks": {"disk_pct": {"limit": 80}, "gpu_util_pct": {"limit": 99}, "units": ["docker.service"]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let h = app.create_host(json!({"name": "n"})).await;
    assert_eq!(h.interval, 10);
    assert_eq!(
        h.checks.cpu_pct, None,
        "the defaults were replaced as a whole"
    );
    assert_eq!(
        h.checks.disk_pct.map(|t| (t.limit, t.for_secs)),
        Some((80.0, 0))
    );
    assert_eq!(h.checks.gpu_util_pct.map(|t| t.for_secs), Some(300));
    assert_eq!(h.checks.units, ["docker.service"]);
}

async fn roles_and_scopes_apply(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let h = app.create_host(json!({"name": "a"})).await;
    let key = |scope: &str| {
        let app = &app;
        let scope = scope.to_owned();
        async move {
            let key = heartbeats::app::keys::create(
                &app.state.app,
                &heartbeats::app::Actor::cli(),
                crate::helpers::ADMIN,
                &scope,
                scope.parse().unwrap(),
            )
            .await
            .unwrap();
            key.key
        }
    };
    let ping = key("ping").await;
    let read = key("read").await;
    let report = json!({"name": "a", "cpu_pct": 1});
    let post = |path: &str, k: &str, body: &serde_json::Value| {
        app.request_as(reqwest::Method::POST, path, Auth::Bearer(k))
            .json(body)
            .send()
    };
    // A ping key sends reports, and nothing else; a read key reads only.
    assert_eq!(
        post("/api/v1/hosts/reports", &ping, &report)
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        post("/api/v1/hosts/reports", &read, &report)
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        post("/api/v1/hosts", &ping, &json!({"name": "b"}))
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        post(&format!("/api/v1/hosts/{}/pause", h.id), &read, &json!({}))
            .await
            .unwrap()
            .status(),
        403
    );
    let list = app
        .request_as(reqwest::Method::GET, "/api/v1/hosts", Auth::Bearer(&read))
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 200);
    let anonymous = app
        .request_as(reqwest::Method::POST, "/api/v1/hosts/reports", Auth::None)
        .json(&report)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

on_every_backend!(
    inventory_round_trip,
    refused_changes_name_the_field,
    defaults_apply_to_new_hosts,
    roles_and_scopes_apply,
);
