//! `/metrics`: the Prometheus text of a populated server passes `promtool check metrics`
//! and says the right values; credentials are needed on the main port (a read key, a user,
//! or `HB_METRICS_TOKEN`) and not on `HB_METRICS_LISTEN`.
use std::io::Write;
use std::process::{Command, Stdio};

use chrono::Duration;
use heartbeats::domain::role::KeyScope;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Auth, Backend, Options, TestApp, free_port};
use crate::on_every_backend;

on_every_backend!(
    a_populated_server_passes_promtool_with_the_right_values,
    metrics_need_a_read_key_a_user_or_the_token,
    the_metrics_listener_serves_without_credentials,
    counters_count_pings_and_alerts,
    many_services_span_pages_and_the_spill_file,
);

const TOKEN: &str = "prom-token-0123456789abcdef";

async fn key(app: &TestApp, scope: KeyScope) -> String {
    heartbeats::app::keys::create(
        &app.state.app,
        &heartbeats::app::Actor::cli(),
        crate::helpers::ADMIN,
        "prometheus",
        scope,
    )
    .await
    .expect("key")
    .key
}

async fn scrape(app: &TestApp) -> String {
    let resp = app.get("/metrics").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    resp.text().await.expect("body")
}

/// `promtool check metrics` (Debian's `prometheus` package), which reads stdin and prints
/// what it finds wrong; its lint also fails the exit status.
fn promtool(body: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (apt-get install prometheus; scripts/test.sh does)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool: {said}\n{body}"
    );
}

/// The value of the one sample whose line starts with `prefix` (name and labels).
fn value(body: &str, prefix: &str) -> f64 {
    let lines: Vec<&str> = body.lines().filter(|l| l.starts_with(prefix)).collect();
    assert_eq!(lines.len(), 1, "{prefix}: {lines:?}");
    lines[0].rsplit(' ').next().unwrap().parse().unwrap()
}

async fn service(app: &TestApp, name: &str, period: i64, grace: i64, tags: &[&str]) -> String {
    app.create_service(json!({
        "name": name, "kind": "interval", "period": period, "grace": grace, "tags": tags,
    }))
    .await
    .id
}

async fn a_populated_server_passes_promtool_with_the_right_values(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let up = service(&app, "nightly \"backup\" 备份", 3600, 60, &["db", "夜间"]).await;
    let late = service(&app, "late-job", 60, 3600, &["db"]).await;
    let down = service(&app, "down-job", 60, 60, &[]).await;
    let new = service(&app, "new-job", 60, 60, &[]).await;
    let paused = service(&app, "paused-job", 60, 60, &[]).await;
    for id in [&up, &late, &down] {
        app.ping_ok(id, "").await;
    }
    assert_eq!(
        app.post_json(&format!("/api/v1/services/{paused}/pause"), &Value::Null)
            .await
            .status(),
        200
    );
    app.create_host(json!({"name": "gpu-1"})).await;
    app.create_host(json!({"name": "idle"})).await;
    app.report_ok(&json!({
        "name": "gpu-1", "cpu_pct": 23.5, "mem_used_bytes": 1024, "mem_total_bytes": 4096,
        "disks": [{"mount": "/", "used_pct": 27.0}, {"mount": "/data \"x\"", "used_bytes": 50, "total_bytes": 200}],
        "gpus": [{"index": 0, "util_pct": 56, "mem_used_mb": 2048, "mem_total_mb": 8192},
                 {"index": 1, "util_pct": 5, "mem_used_mb": 0, "mem_total_mb": 8192}],
    }))
    .await;
    app.advance(Duration::seconds(130));
    app.run_scheduler().await;
    assert_eq!(app.status(&late).await, "late");
    assert_eq!(app.status(&down).await, "down");

    let body = scrape(&app).await;
    promtool(&body);

    let labels = |id: &str, name: &str| format!("{{id=\"{id}\",name=\"{name}\"");
    let up_labels = labels(&up, "nightly \\\"backup\\\" 备份");
    assert_eq!(
        value(
            &body,
            &format!("hb_service_up{up_labels},tags=\"db,夜间\"}}")
        ),
        1.0
    );
    assert_eq!(
        value(
            &body,
            &format!("hb_service_up{},", labels(&down, "down-job"))
        ),
        0.0
    );
    assert_eq!(
        value(
            &body,
            &format!("hb_service_up{},", labels(&late, "late-job"))
        ),
        1.0
    );
    assert_eq!(
        value(
            &body,
            &format!(
                "hb_service_status{},status=\"late\"}}",
                labels(&late, "late-job")
            )
        ),
        1.0
    );
    assert_eq!(
        value(
            &body,
            &format!(
                "hb_service_status{},status=\"new\"}}",
                labels(&new, "new-job")
            )
        ),
        1.0
    );
    assert_eq!(
        value(
            &body,
            &format!("hb_service_paused{}}}", labels(&paused, "paused-job"))
        ),
        1.0
    );
    assert_eq!(
        value(
            &body,
            &format!("hb_service_paused{}}}", labels(&down, "down-job"))
        ),
        0.0
    );
    assert_eq!(
        value(
            &body,
            &format!("hb_service_last_ping_age_seconds{up_labels}}}")
        ),
        130.0
    );
    assert!(!body.contains(&format!(
        "hb_service_last_ping_age_seconds{}",
        labels(&new, "new-job")
    )));
    for (status, n) in [
        ("up", 1.0),
        ("late", 1.0),
        ("down", 1.0),
        ("new", 1.0),
        ("paused", 1.0),
    ] {
        assert_eq!(
            value(&body, &format!("hb_services{{status=\"{status}\"}}")),
            n
        );
    }

    let host = |name: &str| {
        body.lines()
            .find(|l| l.starts_with("hb_host_online{") && l.contains(&format!("name=\"{name}\"")))
            .and_then(|l| l.split("id=\"").nth(1))
            .and_then(|l| l.split('"').next())
            .unwrap_or_else(|| panic!("{name} not listed"))
            .to_owned()
    };
    let gpu = labels(&host("gpu-1"), "gpu-1");
    assert_eq!(value(&body, &format!("hb_host_online{gpu}}}")), 1.0);
    assert_eq!(
        value(
            &body,
            &format!("hb_host_online{}}}", labels(&host("idle"), "idle"))
        ),
        0.0
    );
    assert_eq!(value(&body, &format!("hb_host_cpu_percent{gpu}}}")), 23.5);
    assert_eq!(
        value(&body, &format!("hb_host_memory_percent{gpu}}}")),
        25.0
    );
    assert_eq!(
        value(
            &body,
            &format!("hb_host_disk_used_percent{gpu},mount=\"/\"}}")
        ),
        27.0
    );
    assert_eq!(
        value(
            &body,
            &format!("hb_host_disk_used_percent{gpu},mount=\"/data \\\"x\\\"\"}}")
        ),
        25.0
    );
    assert_eq!(
        value(
            &body,
            &format!("hb_host_gpu_utilization_percent{gpu},gpu=\"1\"}}")
        ),
        5.0
    );
    assert_eq!(
        value(
            &body,
            &format!("hb_host_gpu_memory_percent{gpu},gpu=\"0\"}}")
        ),
        25.0
    );
    assert_eq!(value(&body, "hb_hosts{status=\"up\"}"), 1.0);
    assert_eq!(value(&body, "hb_hosts{status=\"new\"}"), 1.0);
}

async fn metrics_need_a_read_key_a_user_or_the_token(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        Options {
            vars: vec![("HB_METRICS_TOKEN", TOKEN.into())],
            ..Default::default()
        },
    )
    .await;
    let read = key(&app, KeyScope::Read).await;
    let ping = key(&app, KeyScope::Ping).await;
    for path in ["/metrics", "/metrics/prometheus"] {
        let get = |auth| app.request_as(Method::GET, path, auth).send();
        assert_eq!(get(Auth::None).await.unwrap().status(), 401, "{path}");
        assert_eq!(
            get(Auth::Bearer("prom-token-wrong-0123456"))
                .await
                .unwrap()
                .status(),
            401
        );
        assert_eq!(
            get(Auth::Basic("admin", "wrong-password"))
                .await
                .unwrap()
                .status(),
            401
        );
        // A key for cron jobs may not read.
        assert_eq!(get(Auth::Bearer(&ping)).await.unwrap().status(), 403);
        for auth in [
            Auth::Bearer(&read),
            Auth::Bearer(TOKEN),
            Auth::Basic(crate::helpers::ADMIN, crate::helpers::PASSWORD),
        ] {
            let resp = get(auth).await.unwrap();
            assert_eq!(resp.status(), 200, "{path}");
            assert!(
                resp.text()
                    .await
                    .unwrap()
                    .contains("# TYPE hb_service_up gauge")
            );
        }
    }
}

async fn the_metrics_listener_serves_without_credentials(backend: Backend) {
    let port = free_port();
    let app = TestApp::spawn_with(
        backend,
        Options {
            vars: vec![("HB_METRICS_LISTEN", format!("127.0.0.1:{port}"))],
            ..Default::default()
        },
    )
    .await;
    app.interval_service("svc", 60, 60).await;
    let open = format!("http://127.0.0.1:{port}");
    for path in ["/metrics", "/metrics/prometheus"] {
        let resp = app
            .client
            .get(format!("{open}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let body = resp.text().await.unwrap();
        assert!(body.contains("name=\"svc\""), "{body}");
        promtool(&body);
    }
    // The listener serves nothing else, and the main port still asks for credentials.
    let resp = app
        .client
        .get(format!("{open}/api/v1/services"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let resp = app
        .request_as(Method::GET, "/metrics", Auth::None)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

async fn counters_count_pings_and_alerts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app
        .create_service(json!({
            "name": "mailed", "kind": "interval", "period": 60, "grace": 60,
            "notify": ["ops@example.com"],
        }))
        .await
        .id;
    let before = scrape(&app).await;
    for _ in 0..3 {
        app.ping_ok(&id, "").await;
    }
    app.advance(Duration::seconds(200));
    app.run_scheduler().await;
    let queued = scrape(&app).await;
    assert_eq!(value(&queued, "hb_outbox_backlog{state=\"pending\"}"), 1.0);
    // Due (late) at 60 s, seen at 200 s.
    assert_eq!(value(&queued, "hb_scheduler_lag_seconds"), 140.0);
    app.deliver().await;
    let after = scrape(&app).await;
    promtool(&after);
    assert_eq!(
        value(&after, "hb_pings_accepted_total") - value(&before, "hb_pings_accepted_total"),
        3.0
    );
    assert_eq!(
        value(
            &after,
            "hb_alerts_sent_total{channel_id=\"\",kind=\"email\",channel=\"notify addresses\"}"
        ),
        1.0
    );
    assert_eq!(value(&after, "hb_outbox_backlog{state=\"pending\"}"), 0.0);
}

/// More services than a page (5,000) and more set-aside records than the spill's memory
/// buffer (1 MB), so the scrape reads several pages and the later families come back from
/// the file: every family lists every service once, and the counts add up.
async fn many_services_span_pages_and_the_spill_file(backend: Backend) {
    use heartbeats::domain::schedule::Schedule;
    use heartbeats::domain::status::{self, Tracking};
    use heartbeats::domain::{Tags, parse_notify};
    use heartbeats::store::services::NewService;

    const N: usize = 15_000;
    let app = TestApp::spawn(backend).await;
    let now = app.now();
    for first in (0..N).step_by(5_000) {
        let items = (first..first + 5_000)
            .map(|i| {
                let new = NewService {
                    grace_secs: 300,
                    tags: Tags::parse(&["bulk"]).unwrap(),
                    notify: parse_notify::<&str>(&[]).unwrap(),
                    ..NewService::new(
                        format!("bulk service number {i:05} \"quoted\" 备份"),
                        Schedule::interval(Duration::hours(1)).unwrap(),
                    )
                };
                let tracking = if i % 10 == 0 {
                    status::paused(&Tracking::new_service(), now).0
                } else {
                    Tracking::new_service()
                };
                (new, tracking)
            })
            .collect();
        heartbeats::store::service_import::import(&app.db, items, now)
            .await
            .expect("import");
    }

    let body = scrape(&app).await;
    promtool(&body);
    let count = |prefix: &str| body.lines().filter(|l| l.starts_with(prefix)).count();
    for family in ["hb_service_up{", "hb_service_status{", "hb_service_paused{"] {
        assert_eq!(count(family), N, "{family}");
    }
    // Nobody pinged and no run finished.
    assert_eq!(count("hb_service_last_ping_age_seconds{"), 0);
    assert_eq!(count("hb_service_last_run_duration_seconds{"), 0);
    let paused = body
        .lines()
        .filter(|l| l.starts_with("hb_service_paused{") && l.ends_with(" 1"))
        .count();
    assert_eq!(paused, N / 10);
    assert_eq!(
        body.lines()
            .filter(|l| l.starts_with("hb_service_status{") && l.contains("status=\"paused\""))
            .count(),
        N / 10
    );
    // Each service once per family, the same services in each.
    let ids = |family: &str| {
        let mut ids: Vec<&str> = body
            .lines()
            .filter(|l| l.starts_with(family))
            .map(|l| l.split('"').nth(1).unwrap())
            .collect();
        ids.sort_unstable();
        ids
    };
    let up = ids("hb_service_up{");
    let mut distinct = up.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), N);
    assert_eq!(ids("hb_service_status{"), up);
    assert_eq!(ids("hb_service_paused{"), up);
    assert_eq!(
        value(&body, "hb_services{status=\"new\"}"),
        (N - N / 10) as f64
    );
    assert_eq!(
        value(&body, "hb_services{status=\"paused\"}"),
        (N / 10) as f64
    );
    assert!(
        body.contains("name=\"bulk service number 00042 \\\"quoted\\\" 备份\",tags=\"bulk\"} 1\n")
    );
}
