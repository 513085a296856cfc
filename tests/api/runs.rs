//! Job runs through the native URLs: start and finish paired by rid or by order, the
//! 72-hour pairing window, hung runs via the injected clock, run-time bounds, exit
//! statuses, failures in a row, log pings, the runs API and re-planning on edits.
use chrono::Duration;
use heartbeats_wire::api::Run;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::on_every_backend;

const RID_A: &str = "5bf66975-d4c7-4e4f-9c4b-7b5e8c8b1a2c";
const RID_B: &str = "0e1d6b0a-3f0e-4c55-8d6a-2a9e4b1c7f10";

/// POST `path` (a native ping URL with its query) as the admin: status and JSON body.
async fn hit(app: &TestApp, path: &str) -> (u16, Value) {
    let resp = app.request(Method::POST, path).send().await.expect("ping");
    let status = resp.status().as_u16();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// A ping that must be accepted; returns the status it answers.
async fn ok(app: &TestApp, path: &str) -> String {
    let (code, body) = hit(app, path).await;
    assert_eq!(code, 200, "{path}: {body}");
    body["status"].as_str().unwrap_or_default().to_owned()
}

async fn runs(app: &TestApp, id: &str) -> Vec<Run> {
    let resp = app.get(&format!("/api/v1/services/{id}/runs")).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("runs")
}

async fn service_with(app: &TestApp, extra: Value) -> String {
    let mut body = json!({
        "name": "backup", "kind": "interval", "period": 86_400, "grace": 3600,
        "notify": ["ops@example.com"]
    });
    for (k, v) in extra.as_object().expect("an object") {
        body[k] = v.clone();
    }
    app.create_service(body).await.id
}

async fn runs_pair_by_rid_when_they_overlap(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = service_with(&app, json!({})).await;
    ok(&app, &format!("/api/pings/start?service={id}&rid={RID_A}")).await;
    app.advance(Duration::minutes(1));
    ok(&app, &format!("/api/pings/start?service={id}&rid={RID_B}")).await;
    assert_eq!(app.service(&id).await.open_runs, 2);
    app.advance(Duration::minutes(1));
    // A finishes first although B started later; upper case is the same rid.
    let upper = RID_A.to_uppercase();
    ok(&app, &format!("/api/pings?service={id}&rid={upper}")).await;
    app.advance(Duration::minutes(3));
    ok(&app, &format!("/api/pings/0?service={id}&rid={RID_B}")).await;

    let list = runs(&app, &id).await;
    assert_eq!(list.len(), 2);
    let b_run = &list[0];
    let a_run = &list[1];
    assert_eq!(a_run.rid.as_deref(), Some(RID_A));
    assert_eq!(a_run.duration_ms, Some(120_000));
    assert_eq!(a_run.outcome, "success");
    assert_eq!(b_run.rid.as_deref(), Some(RID_B));
    assert_eq!(b_run.duration_ms, Some(240_000));
    assert_eq!(b_run.exit_status, Some(0));
    let svc = app.service(&id).await;
    assert_eq!(svc.open_runs, 0);
    assert_eq!(svc.last_duration_ms, Some(240_000));
    assert_eq!(svc.status, "up");
    let pings = app.pings(&id).await;
    assert_eq!(pings[0].rid.as_deref(), Some(RID_B));
    assert_eq!(pings[0].exit_status, Some(0));
    assert_eq!(pings[3].kind, "start");
}

async fn a_start_without_rid_replaces_the_last(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = service_with(&app, json!({})).await;
    // A start does not change the status.
    assert_eq!(
        ok(&app, &format!("/api/pings/start?service={id}")).await,
        "new"
    );
    ok(&app, &format!("/api/pings/start?service={id}&rid={RID_A}")).await;
    app.advance(Duration::minutes(10));
    ok(&app, &format!("/api/pings/start?service={id}")).await;
    assert_eq!(app.service(&id).await.open_runs, 2);
    app.advance(Duration::minutes(5));
    ok(&app, &format!("/api/pings?service={id}")).await;

    let list = runs(&app, &id).await;
    let outcomes: Vec<_> = list
        .iter()
        .map(|r| (r.outcome.as_str(), r.duration_ms))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("success", Some(300_000)),
            ("running", None),
            ("abandoned", None)
        ]
    );
    assert_eq!(list[2].ended_at, Some(list[0].started_at));
    assert_eq!(app.service(&id).await.open_runs, 1);
}

async fn starts_older_than_72_hours_do_not_pair(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = service_with(&app, json!({})).await;
    ok(&app, &format!("/api/pings/start?service={id}")).await;
    app.advance(Duration::hours(73));
    ok(&app, &format!("/api/pings?service={id}")).await;
    let list = runs(&app, &id).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].outcome, "abandoned");
    assert_eq!(list[0].duration_ms, None);
    let svc = app.service(&id).await;
    assert_eq!((svc.open_runs, svc.last_duration_ms), (0, None));
    // The finish is still a normal ping.
    assert_eq!(svc.status, "up");
}

async fn a_hung_run_goes_down_and_its_finish_recovers(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = service_with(&app, json!({"max_run": 7200})).await;
    ok(&app, &format!("/api/pings?service={id}")).await;
    ok(&app, &format!("/api/pings/start?service={id}")).await;
    let svc = app.service(&id).await;
    assert_eq!(svc.max_run, Some(7200));
    app.advance(Duration::minutes(119));
    assert_eq!(app.run_scheduler().await.flips, 0);
    app.advance(Duration::minutes(6));
    let report = app.run_scheduler().await;
    assert_eq!((report.flips, report.alerts_queued), (1, 1));
    assert_eq!(app.status(&id).await, "down");
    let flips = app.flips(&id).await;
    assert_eq!(flips[0].reason, "hung");
    assert_eq!(
        flips[0].data.as_deref(),
        Some("running for 2 h 05 min, longer than 2 h")
    );
    assert_eq!(runs(&app, &id).await[0].outcome, "hung");
    // Down: no second hung flip.
    app.advance(Duration::hours(3));
    assert_eq!(app.run_scheduler().await.flips, 0);

    assert_eq!(ok(&app, &format!("/api/pings?service={id}")).await, "up");
    let run = &runs(&app, &id).await[0];
    assert_eq!(run.outcome, "too_long");
    assert!(run.ended_at.is_some());
    let flips = app.flips(&id).await;
    assert_eq!(flips[0].reason, "recovered");
    assert_eq!(app.alerts().await.len(), 2);
    assert_eq!(app.service(&id).await.open_runs, 0);
}

/// A run that hangs while its service is down (for another reason) is marked hung without
/// a second alert, and is not reported again once the service recovers.
async fn a_run_that_hangs_while_down_is_not_reported_after_recovery(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = service_with(&app, json!({"max_run": 3600})).await;
    let a = "5bf66975-d4c7-4e4f-9c4b-7b5e8c8b1a2c";
    let other = "6c077a86-e5d8-4f50-8d8c-8c6f9d9c2b3d";
    ok(&app, &format!("/api/pings/start?service={id}&rid={a}")).await;
    // Another run of the job fails: down, one alert; run `a` stays open.
    assert_eq!(
        ok(&app, &format!("/api/pings/fail?service={id}&rid={other}")).await,
        "down"
    );
    assert_eq!(app.alerts().await.len(), 1);
    app.advance(Duration::minutes(61));
    let report = app.run_scheduler().await;
    assert_eq!((report.flips, report.alerts_queued), (0, 0), "{report:?}");
    assert_eq!(runs(&app, &id).await[0].outcome, "hung");
    assert_eq!(app.status(&id).await, "down");

    // A success recovers it; run `a` was reported with the outage and stays quiet.
    assert_eq!(
        ok(&app, &format!("/api/pings?service={id}&rid={other}")).await,
        "up"
    );
    assert_eq!(app.alerts().await.len(), 2);
    app.advance(Duration::minutes(5));
    assert_eq!(app.run_scheduler().await.flips, 0);
    assert_eq!(app.status(&id).await, "up");
    assert_eq!(app.alerts().await.len(), 2);
    // A new run that hangs is reported, once.
    ok(&app, &format!("/api/pings/start?service={id}")).await;
    app.advance(Duration::minutes(61));
    let report = app.run_scheduler().await;
    assert_eq!((report.flips, report.alerts_queued), (1, 1), "{report:?}");
    assert_eq!(app.flips(&id).await[0].reason, "hung");
}

async fn a_run_shorter_than_the_minimum_fails(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = service_with(&app, json!({"min_run": 60})).await;
    ok(&app, &format!("/api/pings/start?service={id}")).await;
    app.advance(Duration::seconds(3));
    assert_eq!(ok(&app, &format!("/api/pings?service={id}")).await, "down");
    let flips = app.flips(&id).await;
    assert_eq!(flips[0].reason, "run_time");
    assert_eq!(
        flips[0].data.as_deref(),
        Some("ran 3 s, shorter than the minimum of 1 min")
    );
    assert_eq!(runs(&app, &id).await[0].outcome, "too_short");
    assert_eq!(app.service(&id).await.fail_streak, 1);
    // A plain success (no run) is in bounds: it recovers.
    assert_eq!(ok(&app, &format!("/api/pings?service={id}")).await, "up");
    assert_eq!(app.service(&id).await.fail_streak, 0);
}

async fn a_run_longer_than_the_maximum_fails(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = service_with(&app, json!({"max_run": 7200})).await;
    ok(&app, &format!("/api/pings?service={id}")).await;
    ok(&app, &format!("/api/pings/start?service={id}")).await;
    app.advance(Duration::minutes(125));
    // Finished before the scheduler saw it hang.
    assert_eq!(ok(&app, &format!("/api/pings?service={id}")).await, "down");
    let flips = app.flips(&id).await;
    assert_eq!(flips[0].reason, "run_time");
    assert_eq!(
        flips[0].data.as_deref(),
        Some("ran 2 h 05 min, longer than the maximum of 2 h")
    );
    assert_eq!(runs(&app, &id).await[0].outcome, "too_long");
    // Nothing is left to hang.
    assert_eq!(app.run_scheduler().await.flips, 0);
}

async fn exit_statuses(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = service_with(&app, json!({})).await;
    ok(&app, &format!("/api/pings/start?service={id}")).await;
    assert_eq!(ok(&app, &format!("/api/pings/0?service={id}")).await, "up");
    ok(&app, &format!("/api/pings/start?service={id}")).await;
    assert_eq!(
        ok(
            &app,
            &format!("/api/pings/3?service={id}&data=no+space+left")
        )
        .await,
        "down"
    );
    let flips = app.flips(&id).await;
    assert_eq!(flips[0].reason, "error");
    assert_eq!(
        flips[0].data.as_deref(),
        Some("exit status 3\nno space left")
    );
    let list = runs(&app, &id).await;
    assert_eq!(
        (list[0].outcome.as_str(), list[0].exit_status),
        ("failure", Some(3))
    );
    assert_eq!(list[0].output, "no space left");
    // exit= on /api/pings, from a JSON body too.
    assert_eq!(
        ok(&app, &format!("/api/pings?service={id}&exit=0")).await,
        "up"
    );
    let resp = app
        .request(Method::POST, "/api/pings")
        .json(&json!({"service": id, "exit": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        app.flips(&id).await[0].data.as_deref(),
        Some("exit status 1")
    );
    let pings = app.pings(&id).await;
    assert_eq!(
        (pings[0].kind.as_str(), pings[0].exit_status),
        ("error", Some(1))
    );

    let before = app.pings(&id).await.len();
    for path in [
        format!("/api/pings/256?service={id}"),
        format!("/api/pings?service={id}&exit=256"),
        format!("/api/pings?service={id}&exit=-1"),
        format!("/api/pings?service={id}&exit=x"),
    ] {
        let (code, body) = hit(&app, &path).await;
        assert_eq!(code, 400, "{path}");
        assert_eq!(body["field"], "exit", "{path}");
        assert_eq!(body["code"], "bad_exit", "{path}");
    }
    assert_eq!(
        app.pings(&id).await.len(),
        before,
        "refused pings are not stored"
    );
}

async fn failures_in_a_row(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = service_with(&app, json!({"fail_after": 3})).await;
    assert_eq!(app.service(&id).await.fail_after, 3);
    ok(&app, &format!("/api/pings?service={id}")).await;
    for n in 1..=2 {
        assert_eq!(
            ok(&app, &format!("/api/pings/fail?service={id}&data=oops")).await,
            "up"
        );
        assert_eq!(app.service(&id).await.fail_streak, n);
    }
    assert!(app.alerts().await.is_empty());
    assert_eq!(
        ok(&app, &format!("/api/pings/fail?service={id}&data=third")).await,
        "down"
    );
    assert_eq!(app.service(&id).await.fail_streak, 3);
    let flips = app.flips(&id).await;
    assert_eq!(
        (flips[0].reason.as_str(), flips[0].data.as_deref()),
        ("error", Some("third"))
    );
    assert_eq!(app.alerts().await.len(), 1);
    assert_eq!(ok(&app, &format!("/api/pings?service={id}")).await, "up");
    assert_eq!(app.service(&id).await.fail_streak, 0);
    // The streak starts again: one failure is not enough.
    assert_eq!(
        ok(&app, &format!("/api/pings/fail?service={id}")).await,
        "up"
    );
    assert_eq!(app.alerts().await.len(), 2, "the recovery's alert only");
}

async fn a_failure_below_the_threshold_does_not_bring_a_down_service_up(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = service_with(&app, json!({"fail_after": 2, "period": 3600, "grace": 60})).await;
    ok(&app, &format!("/api/pings?service={id}")).await;
    app.advance(Duration::minutes(62));
    app.run_scheduler().await;
    assert_eq!(app.status(&id).await, "down");
    assert_eq!(
        ok(&app, &format!("/api/pings/fail?service={id}")).await,
        "down"
    );
    let svc = app.service(&id).await;
    assert_eq!(svc.fail_streak, 1);
    assert_eq!(app.flips(&id).await.len(), 1, "no flip for it");
}

async fn log_pings_change_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = service_with(&app, json!({})).await;
    ok(&app, &format!("/api/pings?service={id}")).await;
    let before = app.service(&id).await;
    app.advance(Duration::minutes(5));
    assert_eq!(
        ok(
            &app,
            &format!("/api/pings/log?service={id}&data=step+2+done&rid={RID_A}")
        )
        .await,
        "up"
    );
    ok(&app, &format!("/api/pings?service={id}&kind=log&data=more")).await;
    let after = app.service(&id).await;
    assert_eq!(after.last_ping_at, before.last_ping_at);
    assert_eq!(after.next_due_at, before.next_due_at);
    assert_eq!(after.status, "up");
    let pings = app.pings(&id).await;
    assert_eq!(pings.len(), 3);
    assert_eq!(
        (
            pings[1].kind.as_str(),
            pings[1].data.as_str(),
            pings[1].rid.as_deref()
        ),
        ("log", "step 2 done", Some(RID_A))
    );
    assert!(runs(&app, &id).await.is_empty());
}

async fn native_url_shapes_and_refusals(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = service_with(&app, json!({})).await;
    // kind= on /api/pings, by GET too.
    let resp = app
        .request(
            Method::GET,
            &format!("/api/pings?service={id}&kind=start&rid={RID_A}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["kind"], "start");
    // kind=success with data: a success whose output is the data.
    assert_eq!(
        ok(
            &app,
            &format!("/api/pings?service={id}&kind=success&data=ok+42&rid={RID_A}")
        )
        .await,
        "up"
    );
    assert_eq!(runs(&app, &id).await[0].output, "ok 42");
    // Old behaviour stays.
    assert_eq!(
        ok(&app, &format!("/api/pings?service={id}&data=x")).await,
        "down"
    );
    assert_eq!(
        ok(&app, &format!("/api/pings/?service={id}&data=")).await,
        "up"
    );
    // A form body may carry the rid.
    let resp = app
        .request(Method::POST, "/api/pings/start")
        .form(&[("service", id.as_str()), ("rid", RID_B)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(runs(&app, &id).await[0].rid.as_deref(), Some(RID_B));
    // The snooze URL still works.
    let (code, _) = hit(&app, &format!("/api/pings/snooze?service={id}&minutes=5")).await;
    assert_eq!(code, 200);

    let before = app.pings(&id).await.len();
    for (path, status, field, code) in [
        (
            format!("/api/pings/start?service={id}&rid=run-1"),
            400,
            "rid",
            "bad_rid",
        ),
        (
            format!("/api/pings?service={id}&rid=nope"),
            400,
            "rid",
            "bad_rid",
        ),
        (
            format!("/api/pings?service={id}&kind=begin"),
            400,
            "kind",
            "bad_kind",
        ),
        (
            format!("/api/pings/start?service={id}&kind=fail"),
            400,
            "kind",
            "bad_kind",
        ),
        (
            format!("/api/pings?service={id}&kind=success&exit=2"),
            400,
            "kind",
            "bad_kind",
        ),
        (
            format!("/api/pings/fail?service={id}&exit=0"),
            400,
            "kind",
            "bad_kind",
        ),
        (
            format!("/api/pings/stop?service={id}"),
            404,
            "",
            "not_found",
        ),
        ("/api/pings/start".to_owned(), 400, "service", "required"),
    ] {
        let (got, body) = hit(&app, &path).await;
        assert_eq!(got, status, "{path}: {body}");
        assert_eq!(body["code"], code, "{path}: {body}");
        if !field.is_empty() {
            assert_eq!(body["field"], field, "{path}: {body}");
        }
    }
    assert_eq!(
        app.pings(&id).await.len(),
        before,
        "refused pings are not stored"
    );
    // Unknown services and missing credentials as on /api/pings.
    let (code, _) = hit(&app, "/api/pings/start?service=nosuch00").await;
    assert_eq!(code, 404);
    let resp = reqwest::Client::new()
        .post(app.url(&format!("/api/pings/start?service={id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

async fn runs_api_pages(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = service_with(&app, json!({})).await;
    for n in 0..5 {
        ok(&app, &format!("/api/pings/start?service={id}")).await;
        app.advance(Duration::seconds(n + 1));
        ok(&app, &format!("/api/pings?service={id}")).await;
    }
    let resp = app
        .get(&format!("/api/v1/services/{id}/runs?limit=2"))
        .await;
    assert_eq!(resp.status(), 200);
    let first: Vec<Run> = resp.json().await.unwrap();
    assert_eq!(
        first.iter().map(|r| r.duration_ms).collect::<Vec<_>>(),
        [Some(5000), Some(4000)]
    );
    let resp = app
        .get(&format!(
            "/api/v1/services/{id}/runs?limit=10&before={}",
            first[1].id
        ))
        .await;
    let rest: Vec<Run> = resp.json().await.unwrap();
    assert_eq!(
        rest.iter().map(|r| r.duration_ms).collect::<Vec<_>>(),
        [Some(3000), Some(2000), Some(1000)]
    );
    let resp = app.get("/api/v1/services/nosuch00/runs").await;
    assert_eq!(resp.status(), 404);
    // Deleting the service deletes its runs.
    ok(&app, &format!("/api/pings/start?service={id}")).await;
    assert_eq!(
        app.delete(&format!("/api/v1/services/{id}")).await.status(),
        204
    );
    let left = heartbeats::store::runs::list(&app.db, &id, None, 10)
        .await
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
}

async fn editing_max_run_replans(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = service_with(&app, json!({})).await;
    ok(&app, &format!("/api/pings?service={id}")).await;
    ok(&app, &format!("/api/pings/start?service={id}")).await;
    app.advance(Duration::minutes(30));
    // No bound yet: nothing hangs.
    assert_eq!(app.run_scheduler().await.flips, 0);
    let resp = app
        .patch_json(&format!("/api/v1/services/{id}"), &json!({"max_run": 600}))
        .await;
    assert_eq!(resp.status(), 200);
    // The run is already 30 min old: hung at the next scheduler run.
    let report = app.run_scheduler().await;
    assert_eq!(report.flips, 1);
    let flips = app.flips(&id).await;
    assert_eq!(
        (flips[0].reason.as_str(), flips[0].data.as_deref()),
        ("hung", Some("running for 30 min, longer than 10 min"))
    );
    // Removing the bound on another service's open run moves its deadline away.
    let other = service_with(&app, json!({"name": "other", "max_run": 600})).await;
    ok(&app, &format!("/api/pings?service={other}")).await;
    ok(&app, &format!("/api/pings/start?service={other}")).await;
    let resp = app
        .patch_json(
            &format!("/api/v1/services/{other}"),
            &json!({"max_run": null}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(app.service(&other).await.max_run, None);
    app.advance(Duration::minutes(20));
    assert_eq!(app.run_scheduler().await.flips, 0);
    assert_eq!(app.status(&other).await, "up");
}

async fn run_fields_are_validated(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = service_with(&app, json!({"slug": "db-backup", "description": "nightly"})).await;
    let svc = app.service(&id).await;
    assert_eq!(
        (svc.slug.as_str(), svc.description.as_str()),
        ("db-backup", "nightly")
    );
    for (body, status, field, code) in [
        (json!({"slug": "Bad Slug"}), 422, "slug", "bad_slug"),
        (
            json!({"min_run": 600, "max_run": 60}),
            422,
            "min_run",
            "min_above_max",
        ),
        (json!({"fail_after": 0}), 422, "fail_after", "out_of_range"),
        (
            json!({"fail_after": 101}),
            422,
            "fail_after",
            "out_of_range",
        ),
    ] {
        let resp = app
            .patch_json(&format!("/api/v1/services/{id}"), &body)
            .await;
        assert_eq!(resp.status().as_u16(), status, "{body}");
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["field"], field, "{body}: {err}");
        assert_eq!(err["code"], code, "{body}: {err}");
    }
    let other = service_with(&app, json!({"name": "other"})).await;
    let resp = app
        .patch_json(
            &format!("/api/v1/services/{other}"),
            &json!({"slug": "db-backup"}),
        )
        .await;
    assert_eq!(resp.status(), 409);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(
        (err["field"].as_str(), err["code"].as_str()),
        (Some("slug"), Some("slug_taken"))
    );
    let resp = app
        .patch_json(
            &format!("/api/v1/services/{id}"),
            &json!({"min_run": 5, "max_run": 3600, "fail_after": 2}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let svc = app.service(&id).await;
    assert_eq!(
        (svc.min_run, svc.max_run, svc.fail_after),
        (Some(5), Some(3600), 2)
    );
}

async fn retention_prunes_finished_runs_with_the_pings(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = service_with(&app, json!({})).await;
    ok(&app, &format!("/api/pings/start?service={id}")).await;
    ok(&app, &format!("/api/pings?service={id}")).await;
    // Left open.
    ok(&app, &format!("/api/pings/start?service={id}&rid={RID_A}")).await;
    app.advance(Duration::days(91));
    ok(&app, &format!("/api/pings/start?service={id}")).await;
    ok(&app, &format!("/api/pings?service={id}")).await;
    // The job's own run: 91 days of retention (the default is 90).
    let report = app.run_retention().await;
    assert_eq!(report.deleted, 3, "the three old pings");
    // The old finished run and the old open one (abandoned by the new start: at 91 days
    // it can no longer pair) are gone; the new run stays.
    let list = runs(&app, &id).await;
    let kept: Vec<_> = list
        .iter()
        .map(|r| (r.outcome.as_str(), r.rid.as_deref()))
        .collect();
    assert_eq!(kept, [("success", None)]);
    assert_eq!(app.run_retention().await.deleted, 0);
    // An open run is never pruned: the service counts it.
    ok(&app, &format!("/api/pings/start?service={id}&rid={RID_B}")).await;
    app.advance(Duration::days(91));
    app.run_retention().await;
    let list = runs(&app, &id).await;
    let kept: Vec<_> = list
        .iter()
        .map(|r| (r.outcome.as_str(), r.rid.as_deref()))
        .collect();
    assert_eq!(kept, [("running", Some(RID_B))], "only the open run stays");
    assert_eq!(app.service(&id).await.open_runs, 1);
    ok(&app, &format!("/api/pings/start?service={id}")).await;
    assert_eq!(
        app.service(&id).await.open_runs,
        1,
        "the stale run abandoned"
    );
}

on_every_backend!(
    a_run_that_hangs_while_down_is_not_reported_after_recovery,
    runs_pair_by_rid_when_they_overlap,
    a_start_without_rid_replaces_the_last,
    starts_older_than_72_hours_do_not_pair,
    a_hung_run_goes_down_and_its_finish_recovers,
    a_run_shorter_than_the_minimum_fails,
    a_run_longer_than_the_maximum_fails,
    exit_statuses,
    failures_in_a_row,
    a_failure_below_the_threshold_does_not_bring_a_down_service_up,
    log_pings_change_nothing,
    native_url_shapes_and_refusals,
    runs_api_pages,
    editing_max_run_replans,
    run_fields_are_validated,
    retention_prunes_finished_runs_with_the_pings,
);
