//! Host roll-ups: a known series gives the exact average, maximum, minimum and last value
//! per minute and per hour; two instances writing the same minute add up; old buckets go.
//! (The timeseries API over these is tested with the hosts, in `hosts_history.rs`.)
use chrono::{DateTime, Duration, Utc};
use heartbeats::domain::metrics::{Agg, HOUR, MINUTE, Metric, Sample};
use heartbeats::store::rollups::{self, Point, SeriesQuery};

use crate::helpers::{Backend, TestApp};
use crate::on_every_backend;

fn cpu(v: f64) -> Vec<Sample> {
    vec![
        Sample::new(Metric::CpuPct, "", v),
        Sample::new(Metric::DiskUsedPct, "/", v / 2.0),
        Sample::new(Metric::DiskUsedPct, "/data", v / 4.0),
    ]
}

async fn points(
    app: &TestApp,
    metric: Metric,
    part: Option<&str>,
    agg: Agg,
    step: i64,
    from: DateTime<Utc>,
) -> Vec<Point> {
    rollups::series(
        &app.db,
        &app.state.rollups,
        &SeriesQuery {
            host_id: "h1",
            metric,
            part,
            agg,
            step,
            from,
            to: app.now(),
        },
    )
    .await
    .expect("series")
}

async fn a_known_series_rolls_up_exactly(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let start = app.now();
    let r = &app.state.rollups;
    // Minute 0: 10, 20, 60 at 0 s, 20 s, 40 s; minute 1: 30, 50.
    for (secs, v) in [(0, 10.0), (20, 20.0), (40, 60.0), (60, 30.0), (80, 50.0)] {
        r.record("h1", start + Duration::seconds(secs), &cpu(v));
    }
    // Not written yet, but a chart already shows them.
    app.advance(Duration::seconds(90));
    let t0 = start.timestamp_millis();
    let avg = points(&app, Metric::CpuPct, None, Agg::Avg, MINUTE, start).await;
    assert_eq!(avg, [(t0, 30.0), (t0 + 60_000, 40.0)]);
    // Minute 0 is over (and settled) at 65 s: written; minute 1 is not.
    app.advance(Duration::seconds(10));
    assert_eq!(app.run_rollups().await.written, 3);
    assert_eq!(r.pending_series(), 3);
    app.advance(Duration::seconds(30));
    assert_eq!(app.run_rollups().await.written, 3);
    assert_eq!(r.pending_series(), 0);
    for (agg, want) in [
        (Agg::Avg, [30.0, 40.0]),
        (Agg::Max, [60.0, 50.0]),
        (Agg::Min, [10.0, 30.0]),
        (Agg::Last, [60.0, 50.0]),
    ] {
        let got = points(&app, Metric::CpuPct, None, agg, MINUTE, start).await;
        assert_eq!(got, [(t0, want[0]), (t0 + 60_000, want[1])], "{agg}");
    }
    // The hour holds all five samples.
    let hour = t0 - t0.rem_euclid(3_600_000);
    let h = |agg| {
        points(
            &app,
            Metric::CpuPct,
            None,
            agg,
            HOUR,
            start - Duration::hours(1),
        )
    };
    assert_eq!(h(Agg::Avg).await, [(hour, 34.0)]);
    assert_eq!(h(Agg::Max).await, [(hour, 60.0)]);
    assert_eq!(h(Agg::Min).await, [(hour, 10.0)]);
    // A part, or the highest over the parts: `/` is the fuller disk.
    let root = points(
        &app,
        Metric::DiskUsedPct,
        Some("/"),
        Agg::Max,
        MINUTE,
        start,
    )
    .await;
    assert_eq!(root, [(t0, 30.0), (t0 + 60_000, 25.0)]);
    let data = points(
        &app,
        Metric::DiskUsedPct,
        Some("/data"),
        Agg::Max,
        MINUTE,
        start,
    )
    .await;
    assert_eq!(data, [(t0, 15.0), (t0 + 60_000, 12.5)]);
    let fullest = points(&app, Metric::DiskUsedPct, None, Agg::Max, MINUTE, start).await;
    assert_eq!(fullest, root);
    // A later report for an already written minute adds to it.
    r.record("h1", start + Duration::seconds(50), &cpu(0.0));
    app.run_rollups().await;
    let avg = points(&app, Metric::CpuPct, None, Agg::Avg, MINUTE, start).await;
    assert_eq!(avg[0], (t0, 22.5));
    let last = points(&app, Metric::CpuPct, None, Agg::Last, MINUTE, start).await;
    assert_eq!(
        last[0],
        (t0, 0.0),
        "the sample at 50 s is the minute's last"
    );

    // Retention: 1-minute buckets go after 7 days, hourly ones after 400.
    app.advance(Duration::days(8));
    let report = app.run_rollups().await;
    assert_eq!(report.pruned, 6, "two minutes of three series");
    assert!(
        points(&app, Metric::CpuPct, None, Agg::Avg, MINUTE, start)
            .await
            .is_empty()
    );
    assert_eq!(h(Agg::Avg).await.len(), 1);
    app.advance(Duration::days(400));
    assert_eq!(app.run_rollups().await.pruned, 3);
    assert!(h(Agg::Avg).await.is_empty());
}

on_every_backend!(a_known_series_rolls_up_exactly);

/// Two instances on one PostgreSQL database ingest reports for the same host and minute:
/// the written buckets hold both instances' samples.
#[tokio::test]
async fn two_instances_merge_their_minutes() {
    let a = TestApp::spawn(Backend::Postgres).await;
    let b = TestApp::spawn_second(&a.database.url, vec![]).await;
    let start = a.now();
    b.clock.set(start);
    let t0 = start.timestamp_millis();
    for (secs, v) in [(0, 10.0), (30, 70.0)] {
        a.state
            .rollups
            .record("h1", start + Duration::seconds(secs), &cpu(v));
    }
    for (secs, v) in [(10, 40.0), (20, 0.0)] {
        b.state
            .rollups
            .record("h1", start + Duration::seconds(secs), &cpu(v));
    }
    a.advance(Duration::minutes(2));
    b.advance(Duration::minutes(2));
    let (ra, rb) = tokio::join!(a.run_rollups(), b.run_rollups());
    assert_eq!((ra.written, rb.written), (3, 3));
    for (agg, want) in [
        (Agg::Avg, 30.0),
        (Agg::Max, 70.0),
        (Agg::Min, 0.0),
        (Agg::Last, 70.0),
    ] {
        let got = points(&a, Metric::CpuPct, None, agg, MINUTE, start).await;
        assert_eq!(got, [(t0, want)], "{agg}");
        let hour = t0 - t0.rem_euclid(3_600_000);
        let got = points(
            &b,
            Metric::CpuPct,
            None,
            agg,
            HOUR,
            start - Duration::hours(1),
        )
        .await;
        assert_eq!(got, [(hour, want)], "hourly {agg}");
    }
}
