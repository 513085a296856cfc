//! `POST /api/v1/hosts/reports`: the native shape and the LAN monitoring plan's, refusals
//! that name the value, all-or-nothing batches, the unmanaged inbox.
use serde_json::json;

use crate::helpers::{Backend, Options, TestApp};
use crate::host_helpers::refused;
use crate::on_every_backend;

/// The agent format of the LAN monitoring plan, as the issue quotes it.
const LAN_REPORT: &str = r#"{"node_id": "srv-01", "ts": "2026-01-17T10:00:00Z", "cpu_pct": 23.4,
 "disks": [{"mount": "/", "used_bytes": 123, "total_bytes": 456, "used_pct": 27.0}],
 "gpus": [{"index": 0, "util_pct": 56, "mem_used_mb": 2048, "mem_total_mb": 8192}],
 "services": [{"name": "nginx.service", "active_state": "active", "sub_state": "running"}]}"#;

async fn the_lan_plan_format_is_accepted_as_it_is(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        Options {
            start: crate::helpers::utc("2026-01-17T10:00:05Z"),
            ..Default::default()
        },
    )
    .await;
    let h = app
        .create_host(json!({"name": "srv-01", "checks": {"units": ["nginx.service"]}}))
        .await;
    let resp = app
        .client
        .post(app.url("/api/v1/hosts/reports"))
        .basic_auth(crate::helpers::ADMIN, Some(crate::helpers::PASSWORD))
        .header("content-type", "application/json")
        .body(LAN_REPORT)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let reply: heartbeats_wire::hosts::ReportsAccepted = resp.json().await.unwrap();
    assert_eq!(reply.accepted, 1);
    assert_eq!(reply.hosts[0].id.as_deref(), Some(h.id.as_str()));
    assert_eq!(reply.hosts[0].status, "up");
    let h = app.host(&h.id).await;
    assert_eq!(h.status, "up");
    assert_eq!(
        h.last_ok_at,
        Some(crate::helpers::utc("2026-01-17T10:00:00Z"))
    );
    let latest = h.latest.expect("the latest snapshot");
    assert_eq!(latest.cpu_pct, Some(23.4));
    assert_eq!(latest.disks.unwrap()[0].used_pct, Some(27.0));
    assert_eq!(latest.units.unwrap()[0].name, "nginx.service");
    // 2 × 60 s (the host's interval: the report gave none) + 5 s.
    assert_eq!(
        h.offline_at,
        Some(crate::helpers::utc("2026-01-17T10:02:05Z"))
    );
    // Persisted: another instance on the database shows it at once.
    if backend != Backend::Sqlite {
        let other = TestApp::spawn_second(&app.database.url, vec![]).await;
        let seen = other
            .host(&h.id)
            .await
            .latest
            .expect("latest from the database");
        assert_eq!(seen.cpu_pct, Some(23.4));
    }
}

async fn bad_reports_are_refused_naming_the_value(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        Options {
            vars: vec![("HB_MAX_REPORT_BYTES", "65536".into())],
            ..Default::default()
        },
    )
    .await;
    let h = app.create_host(json!({"name": "a"})).await;
    for (body, status, field, code) in [
        (
            json!({"name": "a", "cpu_pct": 101}),
            422,
            "cpu_pct",
            "out_of_range",
        ),
        (
            json!({"name": "a", "cpu_pct": "high"}),
            422,
            "cpu_pct",
            "wrong_type",
        ),
        (
            json!({"reports": [{"name": "a", "cpu_pct": 1}, {"name": "a", "disks": [{"mount": "/", "used_pct": -3}]}]}),
            422,
            "reports[1].disks[0].used_pct",
            "out_of_range",
        ),
        (
            json!({"reports": [{"name": "a", "gpus": [{"index": 0, "temp_c": "hot"}]}]}),
            422,
            "reports[0].gpus[0].temp_c",
            "wrong_type",
        ),
        (
            json!({"name": "a", "mem_used_bytes": -1}),
            422,
            "mem_used_bytes",
            "wrong_type",
        ),
        (
            json!({"name": "a", "units": [{"name": "x.service"}]}),
            422,
            "units[0].active_state",
            "required",
        ),
        (
            json!({"node_id": "a", "uptime": 5, "kernel": "6.1"}),
            422,
            "report",
            "no_known_fields",
        ),
        (
            json!({"reports": [{"host": "a", "foo": 1}]}),
            422,
            "reports[0]",
            "no_known_fields",
        ),
        (json!({"cpu_pct": 3}), 422, "name", "required"),
        (
            json!({"reports": {"name": "a"}}),
            422,
            "reports",
            "wrong_type",
        ),
        (
            json!({"name": "a", "cpu_pct": 1, "at": "2030-01-01T00:00:00Z"}),
            422,
            "at",
            "in_future",
        ),
        (json!([1, 2]), 422, "reports", "wrong_type"),
    ] {
        let got = refused(app.report(&body).await).await;
        assert_eq!(
            got,
            (status, Some(field.into()), Some(code.into())),
            "{body}"
        );
    }
    // Too many reports in one request, and a body over HB_MAX_REPORT_BYTES.
    let many: Vec<_> = (0..=heartbeats_wire::hosts::MAX_REPORTS)
        .map(|_| json!({"host": "a", "cpu_pct": 1}))
        .collect();
    let got = refused(app.report(&json!({"reports": many})).await).await;
    assert_eq!(got, (422, Some("reports".into()), Some("too_many".into())));
    let big = "x".repeat(70_000);
    let got = refused(app.report(&json!({"name": "a", "error": big})).await).await;
    assert_eq!(got, (413, Some("reports".into()), Some("too_large".into())));
    let not_json = app
        .client
        .post(app.url("/api/v1/hosts/reports"))
        .basic_auth(crate::helpers::ADMIN, Some(crate::helpers::PASSWORD))
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused(not_json).await,
        (400, None, Some("bad_json".into()))
    );

    // Nothing of a refused request is stored, even its good reports.
    let got = refused(
        app.report(
            &json!({"reports": [{"name": "a", "cpu_pct": 5}, {"name": "b", "cpu_pct": 500}]}),
        )
        .await,
    )
    .await;
    assert_eq!(got.1.as_deref(), Some("reports[1].cpu_pct"));
    let h = app.host(&h.id).await;
    assert_eq!(h.status, "new");
    assert!(h.latest.is_none());
    assert!(app.inbox().await.is_empty());
}

async fn unmanaged_names_wait_in_the_inbox_until_adopted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let reply = app
        .report_ok(&json!({"reports": [
            {"name": "stray-01", "cpu_pct": 12.5},
            {"node_id": "stray-01", "cpu_pct": 13.5},
            {"host": "stray-02", "error": "connection refused"}
        ]}))
        .await;
    assert!(
        reply
            .hosts
            .iter()
            .all(|h| h.status == "unmanaged" && h.id.is_none())
    );
    let inbox = app.inbox().await;
    let names: Vec<_> = inbox.iter().map(|u| (u.name.as_str(), u.reports)).collect();
    assert!(
        names.contains(&("stray-01", 2)) && names.contains(&("stray-02", 1)),
        "{names:?}"
    );
    let one = inbox.iter().find(|u| u.name == "stray-01").unwrap();
    assert_eq!(one.latest.as_ref().and_then(|r| r.cpu_pct), Some(13.5));
    assert_eq!(one.source.as_deref(), Some("127.0.0.1"));

    // Adopt: a host with the defaults (and what the body adds); the next report counts.
    let resp = app
        .post_json(
            "/api/v1/hosts/inbox/stray-01/adopt",
            &json!({"tags": ["adopted"]}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let host: heartbeats_wire::hosts::Host = resp.json().await.unwrap();
    assert_eq!(host.name, "stray-01");
    assert_eq!(host.tags, ["adopted"]);
    assert_eq!(host.checks.cpu_pct.map(|t| t.for_secs), Some(300));
    let reply = app
        .report_ok(&json!({"name": "stray-01", "cpu_pct": 1}))
        .await;
    assert_eq!(reply.hosts[0].status, "up");
    // Dismiss forgets a name; a name gone is a 404.
    assert_eq!(
        app.delete("/api/v1/hosts/inbox/stray-02").await.status(),
        204
    );
    assert_eq!(
        app.delete("/api/v1/hosts/inbox/stray-02").await.status(),
        404
    );
    assert!(app.inbox().await.is_empty());
    let again = app
        .post_json("/api/v1/hosts/inbox/stray-01/adopt", &json!({}))
        .await;
    assert_eq!(again.status(), 404);
}

/// hb-agent sends the checks it could not run (a hung `df`) as `failures`: the host is
/// online but degraded, with the line as its problem, until a report runs them again.
async fn checks_the_agent_could_not_run_degrade_the_host(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let h = app.create_host(json!({"name": "gpu-01"})).await;
    let hung = "disk check failed: df timed out after 6 s";
    let reply = app
        .report_ok(&json!({"name": "gpu-01", "cpu_pct": 5.0, "failures": [hung]}))
        .await;
    assert_eq!(reply.hosts[0].status, "degraded");
    let got = app.host(&h.id).await;
    assert_eq!(got.problems, [hung]);
    assert_eq!(got.latest.unwrap().failures.unwrap(), [hung]);
    let kinds: Vec<String> = app
        .events(&h.id)
        .await
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(kinds.contains(&"check_failed".to_owned()), "{kinds:?}");
    let reply = app
        .report_ok(&json!({"name": "gpu-01", "cpu_pct": 5.0}))
        .await;
    assert_eq!(reply.hosts[0].status, "up");
    let kinds: Vec<String> = app
        .events(&h.id)
        .await
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(kinds.contains(&"check_recovered".to_owned()), "{kinds:?}");
    let (status, field, _) = refused(
        app.report(&json!({"name": "gpu-01", "failures": ["x".repeat(2000)]}))
            .await,
    )
    .await;
    assert_eq!((status, field.as_deref()), (422, Some("failures[0]")));
}

on_every_backend!(
    checks_the_agent_could_not_run_degrade_the_host,
    the_lan_plan_format_is_accepted_as_it_is,
    bad_reports_are_refused_naming_the_value,
    unmanaged_names_wait_in_the_inbox_until_adopted,
);
