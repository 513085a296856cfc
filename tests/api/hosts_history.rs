//! Host history over HTTP: reports → roll-ups → `GET /api/v1/hosts/{id}/timeseries` and
//! `GET /api/v1/timeseries?tag=`, on every database; the refusals name their field.
use chrono::{Duration, SecondsFormat};
use heartbeats_wire::hosts::{TagTimeseries, Timeseries};
use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::host_helpers::refused;
use crate::on_every_backend;

fn report(
    name: &str,
    at: chrono::DateTime<chrono::Utc>,
    cpu: f64,
    gpu0: f64,
    gpu1: f64,
) -> serde_json::Value {
    json!({
        "name": name, "at": at.to_rfc3339_opts(SecondsFormat::Secs, true), "cpu_pct": cpu,
        "mem_used_bytes": 4u64 << 30, "mem_total_bytes": 16u64 << 30,
        "disks": [{"mount": "/", "used_pct": cpu / 2.0}, {"mount": "/data", "used_pct": 90.0}],
        "gpus": [{"index": 0, "util_pct": gpu0, "mem_used_mb": 1024, "mem_total_mb": 4096},
                 {"index": 1, "util_pct": gpu1, "mem_used_mb": 2048, "mem_total_mb": 4096}]
    })
}

async fn series(app: &TestApp, id: &str, query: &str) -> Timeseries {
    let resp = app
        .get(&format!("/api/v1/hosts/{id}/timeseries?{query}"))
        .await;
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert_eq!(status, 200, "{query}: {text}");
    serde_json::from_str(&text).unwrap()
}

fn values(s: &Timeseries) -> Vec<f64> {
    s.data.iter().map(|p| p.value).collect()
}

async fn reports_become_charts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let gpu = app
        .create_host(json!({"name": "gpu-01", "interval": 10, "tags": ["room:725", "gpu"]}))
        .await;
    let other = app
        .create_host(json!({"name": "gpu-02", "interval": 10, "tags": ["room:725"]}))
        .await;
    let start = app.now();
    // Minute 0: CPU 10 then 30; minute 1: 50. GPU1 is the busier one.
    for (secs, cpu) in [(0, 10.0), (20, 30.0), (60, 50.0)] {
        let at = start + Duration::seconds(secs);
        app.advance(Duration::seconds(secs) - (app.now() - start));
        app.report_ok(&json!({"reports": [report("gpu-01", at, cpu, 5.0, 90.0), report("gpu-02", at, 1.0, 0.0, 0.0)]}))
            .await;
    }
    // A report of a host not in the inventory makes no series.
    app.report_ok(&report("stranger", app.now(), 99.0, 0.0, 0.0))
        .await;
    app.advance(Duration::seconds(70));
    let from = start.timestamp();
    // Written or not, the points are there; the minute in progress as well.
    let cpu = series(&app, &gpu.id, &format!("metric=cpu_pct&from={from}")).await;
    assert_eq!(
        (cpu.step, cpu.agg.as_str(), cpu.metric.as_str()),
        (60, "avg", "cpu_pct")
    );
    assert_eq!(values(&cpu), [20.0, 50.0]);
    assert_eq!(cpu.data[0].ts, start);
    app.run_rollups().await;
    assert_eq!(app.state.rollups.pending_series(), 0);
    let again = series(&app, &gpu.id, &format!("metric=cpu_pct&from={from}")).await;
    assert_eq!(again, cpu);
    let max = series(
        &app,
        &gpu.id,
        &format!("metric=cpu_pct&agg=max&from={from}"),
    )
    .await;
    assert_eq!(values(&max), [30.0, 50.0]);
    // Memory from bytes; GPUs one by one or the busiest; disks by mount or the fullest.
    let mem = series(&app, &gpu.id, &format!("metric=mem_pct&from={from}")).await;
    assert_eq!(values(&mem), [25.0, 25.0]);
    let g0 = series(
        &app,
        &gpu.id,
        &format!("metric=gpu_util_pct&gpu=0&from={from}"),
    )
    .await;
    assert_eq!(
        (g0.part.as_deref(), values(&g0)),
        (Some("0"), vec![5.0, 5.0])
    );
    let busiest = series(&app, &gpu.id, &format!("metric=gpu_util_pct&from={from}")).await;
    assert_eq!(values(&busiest), [90.0, 90.0]);
    let gmem = series(
        &app,
        &gpu.id,
        &format!("metric=gpu_mem_pct&gpu=1&from={from}"),
    )
    .await;
    assert_eq!(values(&gmem), [50.0, 50.0]);
    let root = series(
        &app,
        &gpu.id,
        &format!("metric=disk_used_pct&mount=/&from={from}"),
    )
    .await;
    assert_eq!(values(&root), [10.0, 25.0]);
    let fullest = series(&app, &gpu.id, &format!("metric=disk_used_pct&from={from}")).await;
    assert_eq!(values(&fullest), [90.0, 90.0]);
    // Hourly points for a long range, or on request.
    let week = series(
        &app,
        &gpu.id,
        &format!("metric=cpu_pct&from={}", from - 7 * 86400),
    )
    .await;
    assert_eq!((week.step, values(&week)), (3600, vec![30.0]));
    let hourly = series(
        &app,
        &gpu.id,
        &format!("metric=cpu_pct&step=3600&from={from}"),
    )
    .await;
    assert_eq!(hourly.step, 3600);
    // By tag: one series per host with it, in name order.
    let resp = app
        .get(&format!(
            "/api/v1/timeseries?tag=room:725&metric=cpu_pct&agg=max&from={from}"
        ))
        .await;
    assert_eq!(resp.status(), 200);
    let room: TagTimeseries = resp.json().await.unwrap();
    let names: Vec<_> = room.series.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["gpu-01", "gpu-02"]);
    assert_eq!(room.series[1].host_id, other.id);
    assert_eq!(room.series[1].data.len(), 2);
    let resp = app
        .get(&format!(
            "/api/v1/timeseries?tag=gpu&metric=load1&from={from}"
        ))
        .await;
    let gpus: TagTimeseries = resp.json().await.unwrap();
    assert_eq!(gpus.series.len(), 1);
    assert!(gpus.series[0].data.is_empty(), "no load was reported");
}

on_every_backend!(reports_become_charts);

#[tokio::test]
async fn bad_questions_name_their_field() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let host = app.create_host(json!({"name": "h1"})).await;
    let path = |q: &str| format!("/api/v1/hosts/{}/timeseries?{q}", host.id);
    for (query, field, code) in [
        ("", "metric", "required"),
        ("metric=cpu", "metric", "unknown_value"),
        ("metric=cpu_pct&agg=median", "agg", "unknown_value"),
        ("metric=cpu_pct&step=90", "step", "unknown_value"),
        ("metric=cpu_pct&step=soon", "step", "unknown_value"),
        ("metric=cpu_pct&from=yesterday", "from", "bad_time"),
        ("metric=cpu_pct&to=2026-13-01T00:00:00Z", "to", "bad_time"),
        ("metric=cpu_pct&from=2000&to=1000", "from", "time_order"),
        (
            "metric=cpu_pct&step=60&from=0&to=4000000",
            "step",
            "too_many_points",
        ),
        ("metric=gpu_util_pct&gpu=first", "gpu", "not_a_number"),
    ] {
        let (status, f, c) = refused(app.get(&path(query)).await).await;
        assert_eq!(
            (status, f.as_deref(), c.as_deref()),
            (422, Some(field), Some(code)),
            "{query}"
        );
    }
    let resp = app
        .get("/api/v1/hosts/nosuchhost/timeseries?metric=cpu_pct")
        .await;
    assert_eq!(resp.status(), 404);
    let (status, f, _) = refused(app.get("/api/v1/timeseries?metric=cpu_pct").await).await;
    assert_eq!((status, f.as_deref()), (422, Some("tag")));
    // RFC 3339 and Unix seconds both read.
    let ok = app
        .get(&path(
            "metric=cpu_pct&from=2026-01-17T10:00:00Z&to=1768647600",
        ))
        .await;
    assert_eq!(ok.status(), 200);
    // Without credentials: 401, as the rest of the API.
    let anon = reqwest::get(app.url(&path("metric=cpu_pct")))
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);
}
