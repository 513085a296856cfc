//! Host timelines with the injected clock and a real SMTP server: up, down after the
//! online window with one alert, recovery with the outage length; a breach shorter than its
//! window does nothing, a longer one degrades with one alert; a failed unit degrades; an
//! error report is offline at once; two instances on one PostgreSQL database alert once.
use chrono::Duration;
use serde_json::{Value, json};

use crate::helpers::{Backend, Options, SmtpServer, TestApp};
use crate::on_every_backend;

async fn app_with_smtp(backend: Backend, smtp: &SmtpServer) -> TestApp {
    TestApp::spawn_with(
        backend,
        Options {
            vars: smtp.vars(),
            ..Default::default()
        },
    )
    .await
}

/// Every accepted message, headers unfolded and quoted-printable decoded.
fn mail(smtp: &SmtpServer) -> Vec<String> {
    smtp.messages()
        .iter()
        .map(|m| crate::mail::decode_quoted_printable(&m.replace("\r\n ", " ").replace("\n ", " ")))
        .collect()
}

fn body_of(smtp: &SmtpServer, needle: &str) -> String {
    mail(smtp)
        .into_iter()
        .find(|m| m.contains(needle))
        .unwrap_or_default()
}

async fn a_silent_host_goes_down_once_and_recovers(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = app_with_smtp(backend, &smtp).await;
    let h = app
        .create_host(json!({"name": "gpu-01", "notify": ["ops@example.com"]}))
        .await;
    let report = json!({"name": "gpu-01", "cpu_pct": 10});
    app.report_ok(&report).await;
    assert_eq!(app.host_status(&h.id).await, "up");

    // Online for 2 × 60 s + 5 s after the last report.
    app.advance(Duration::seconds(124));
    assert_eq!(app.run_staleness().await.flips, 0);
    assert_eq!(app.host_status(&h.id).await, "up");
    app.advance(Duration::seconds(1));
    let r = app.run_staleness().await;
    assert_eq!((r.flips, r.alerts_queued), (1, 1));
    assert_eq!(app.host_status(&h.id).await, "down");
    assert_eq!(app.run_staleness().await.flips, 0, "down once");
    assert_eq!(app.deliver().await.sent, 1);
    let subject = mail(&smtp).join("\n");
    assert!(
        subject.contains("Subject: [Heartbeats] DOWN: gpu-01 (offline: no report for 2 min 5 s)"),
        "{subject}"
    );

    // Ten minutes later it reports again: the recovery says how long the outage lasted.
    app.advance(Duration::minutes(10));
    let reply = app.report_ok(&report).await;
    assert_eq!(reply.hosts[0].status, "up");
    assert_eq!(app.deliver().await.sent, 1);
    let up = body_of(&smtp, "UP: gpu-01");
    assert!(
        up.contains("Subject: [Heartbeats] UP: gpu-01 (recovered after 10 min)"),
        "{up}"
    );
    assert!(up.contains("Lasted:     10 min"), "{up}");
    // The recovery answers the down mail, so mail clients thread the outage.
    let down = body_of(&smtp, "DOWN: gpu-01");
    let down_id = crate::helpers::mail_header(&down, "Message-ID").expect("a Message-ID");
    assert!(
        down_id.starts_with('<') && down_id.ends_with("@hb.test>"),
        "{down_id}"
    );
    assert_eq!(
        crate::helpers::mail_header(&down, "Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    let up_id = crate::helpers::mail_header(&up, "Message-ID").expect("a Message-ID");
    assert_ne!(up_id, down_id);
    assert_eq!(
        crate::helpers::mail_header(&up, "In-Reply-To"),
        Some(down_id.clone())
    );
    assert_eq!(
        crate::helpers::mail_header(&up, "References"),
        Some(down_id)
    );
    assert_eq!(crate::helpers::mail_header(&down, "In-Reply-To"), None);
    assert!(up.contains("http://hb.test:5827/hosts/"), "{up}");
    assert_eq!(app.host_alerts(&h.id).await.len(), 2);
    assert_eq!(app.deliver().await.sent, 0, "nothing is sent twice");
    let kinds: Vec<String> = app
        .events(&h.id)
        .await
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["up", "down", "up"]);
}

async fn a_breach_counts_only_past_its_window(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = app_with_smtp(backend, &smtp).await;
    let h = app
        .create_host(json!({"name": "web-01", "notify": ["ops@example.com"]}))
        .await;
    let cpu = |pct: f64| json!({"name": "web-01", "cpu_pct": pct, "interval": 60});
    // Over 90 % for four minutes, then a dip: nothing.
    for _ in 0..5 {
        app.report_ok(&cpu(97.0)).await;
        app.advance(Duration::seconds(60));
    }
    app.report_ok(&cpu(40.0)).await;
    assert_eq!(app.host_status(&h.id).await, "up");
    assert!(app.host_alerts(&h.id).await.is_empty());
    // Over 90 % for five minutes: degraded, one alert.
    for _ in 0..5 {
        app.advance(Duration::seconds(60));
        app.report_ok(&cpu(97.0)).await;
    }
    assert_eq!(app.host_status(&h.id).await, "up", "4 min over so far");
    app.advance(Duration::seconds(60));
    let reply = app.report_ok(&cpu(97.0)).await;
    assert_eq!(reply.hosts[0].status, "degraded");
    let host = app.host(&h.id).await;
    assert_eq!(host.problems, ["cpu 97% > 90% for 5 min"]);
    for _ in 0..3 {
        app.advance(Duration::seconds(60));
        app.report_ok(&cpu(98.0)).await;
    }
    assert_eq!(app.host_alerts(&h.id).await.len(), 1, "one alert per flip");
    assert_eq!(app.deliver().await.sent, 1);
    let mail = body_of(&smtp, "DEGRADED");
    assert!(
        mail.contains("Subject: [Heartbeats] DEGRADED: web-01 (cpu 97% > 90% for 5 min)"),
        "{mail}"
    );
    // Back under the limit: healthy again, with how long it lasted.
    app.advance(Duration::seconds(60));
    assert_eq!(app.report_ok(&cpu(20.0)).await.hosts[0].status, "up");
    assert_eq!(app.deliver().await.sent, 1);
    let kinds: Vec<String> = app
        .events(&h.id)
        .await
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            "recovered",
            "threshold_cleared",
            "degraded",
            "threshold_breached",
            "up"
        ]
    );
}

async fn failed_units_degrade_and_errors_are_offline_at_once(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = app_with_smtp(backend, &smtp).await;
    let h = app
        .create_host(json!({"name": "srv-01", "notify": ["ops@example.com"],
                            "checks": {"units": ["nginx.service"]}}))
        .await;
    let units = |state: &str| {
        json!({"node_id": "srv-01", "cpu_pct": 5,
               "services": [{"name": "nginx.service", "active_state": state, "sub_state": "x"}]})
    };
    app.report_ok(&units("active")).await;
    app.advance(Duration::seconds(30));
    assert_eq!(
        app.report_ok(&units("failed")).await.hosts[0].status,
        "degraded"
    );
    assert_eq!(app.host(&h.id).await.problems, ["nginx.service failed"]);
    app.advance(Duration::seconds(30));
    let down = app
        .report_ok(&json!({"name": "srv-01", "error": "connection refused"}))
        .await;
    assert_eq!(down.hosts[0].status, "down");
    assert_eq!(app.deliver().await.sent, 2);
    let all = mail(&smtp).join("\n");
    assert!(
        all.contains("Subject: [Heartbeats] DEGRADED: srv-01 (nginx.service failed)"),
        "{all}"
    );
    assert!(
        all.contains("Subject: [Heartbeats] DOWN: srv-01 (offline: connection refused)"),
        "{all}"
    );
    // Another error while down is stored, not mailed.
    app.advance(Duration::seconds(30));
    app.report_ok(&json!({"name": "srv-01", "error": "connection refused"}))
        .await;
    assert_eq!(app.host_alerts(&h.id).await.len(), 2);
    let kinds: Vec<String> = app
        .events(&h.id)
        .await
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["down", "degraded", "unit_failed", "up"]);
}

on_every_backend!(
    a_silent_host_goes_down_once_and_recovers,
    a_breach_counts_only_past_its_window,
    failed_units_degrade_and_errors_are_offline_at_once,
);

/// Two `heartbeats` processes on one PostgreSQL database take reports for the same host
/// at the same time and run their staleness jobs together: every flip happens once, and
/// every alert is mailed once.
#[tokio::test]
async fn two_instances_flip_and_alert_once() {
    let smtp = SmtpServer::start().await;
    let a = app_with_smtp(Backend::Postgres, &smtp).await;
    let b = TestApp::spawn_second(&a.database.url, smtp.vars()).await;
    let h = a
        .create_host(json!({"name": "shared", "notify": ["ops@example.com"]}))
        .await;
    let sync = |by: Duration| {
        let t = a.advance(by);
        b.clock.set(t);
    };
    b.clock.set(a.now());
    let report = |pct: f64| json!({"name": "shared", "cpu_pct": 1, "disks": [{"mount": "/", "used_pct": pct}]});
    let both = |body: Value| {
        let (a, b) = (&a, &b);
        async move {
            let (ra, rb) = tokio::join!(a.report(&body), b.report(&body));
            assert_eq!((ra.status().as_u16(), rb.status().as_u16()), (200, 200));
        }
    };
    both(report(10.0)).await;
    // A full disk counts at once: both see it, one flips.
    sync(Duration::seconds(5));
    for _ in 0..5 {
        both(report(95.0)).await;
    }
    // Silence: both staleness jobs run together, one flips.
    sync(Duration::minutes(5));
    let (ra, rb) = tokio::join!(a.run_staleness(), b.run_staleness());
    assert_eq!(ra.flips + rb.flips, 1, "{ra:?} {rb:?}");
    // Back, healthy: one recovery.
    sync(Duration::minutes(5));
    for _ in 0..5 {
        both(report(10.0)).await;
    }
    let flips: Vec<(String, String)> = a
        .host_flips(&h.id)
        .await
        .into_iter()
        .map(|f| (f.to, f.reason))
        .collect();
    assert_eq!(
        flips,
        [
            ("up".to_owned(), "recovered".to_owned()),
            ("down".into(), "offline".into()),
            ("degraded".into(), "degraded".into()),
        ]
    );
    let (da, db) = tokio::join!(a.deliver(), b.deliver());
    assert_eq!(da.sent + db.sent, 3);
    assert_eq!(smtp.messages().len(), 3, "each alert mailed once");
}
