use super::*;
use crate::domain::host::{Checks, RequiredProcess, Threshold};

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
}

fn cpu(pct: f64) -> Snapshot {
    Snapshot {
        cpu_pct: Some(pct),
        ..Default::default()
    }
}

fn timing(checks: &Checks) -> HostTiming<'_> {
    HostTiming {
        interval_secs: 60,
        checks,
    }
}

#[test]
fn the_first_report_makes_a_host_up_without_a_flip() {
    let checks = Checks::builtin();
    let c = on_snapshot(&HostTracking::new_host(), timing(&checks), &cpu(10.0), t(0));
    assert_eq!(c.next.status, HostStatus::Up);
    assert!(c.flip.is_none());
    assert_eq!(c.events[0].kind, EventKind::Up);
    // 2 × 60 s + 5 s.
    assert_eq!(c.next.next_check_at, Some(t(125)));
}

#[test]
fn the_report_interval_and_timeout_win_over_the_hosts() {
    let checks = Checks::builtin();
    let s = Snapshot {
        interval_secs: Some(5),
        timeout_secs: Some(2),
        ..cpu(10.0)
    };
    let c = on_snapshot(&HostTracking::new_host(), timing(&checks), &s, t(0));
    assert_eq!(c.next.next_check_at, Some(t(12)));
}

#[test]
fn a_cpu_breach_counts_only_once_it_outlasts_its_window() {
    let checks = Checks::builtin();
    let up = on_snapshot(&HostTracking::new_host(), timing(&checks), &cpu(10.0), t(0)).next;
    let mut state = up;
    for secs in [60, 120, 180, 240, 300] {
        let c = on_snapshot(&state, timing(&checks), &cpu(97.0), t(secs));
        assert!(c.flip.is_none(), "at {secs}");
        assert_eq!(c.next.status, HostStatus::Up);
        state = c.next;
    }
    // Breach from 60; window 300 s: counts at 360.
    let c = on_snapshot(&state, timing(&checks), &cpu(97.0), t(360));
    let flip = c.flip.expect("degraded");
    assert_eq!(flip.reason, HostReason::Degraded);
    assert_eq!(flip.detail.as_deref(), Some("cpu 97% > 90% for 5 min"));
    assert_eq!(flip.since, Some(t(60)));
    assert_eq!(c.next.status, HostStatus::Degraded);
    let kinds: Vec<_> = c.events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::ThresholdBreached, EventKind::Degraded]);
    // Still over: no second flip.
    let c2 = on_snapshot(&c.next, timing(&checks), &cpu(98.0), t(420));
    assert!(c2.flip.is_none() && c2.events.is_empty());
    // Back under: cleared.
    let c3 = on_snapshot(&c2.next, timing(&checks), &cpu(20.0), t(480));
    let flip = c3.flip.expect("cleared");
    assert_eq!(flip.reason, HostReason::Cleared);
    assert_eq!(flip.since, Some(t(360)));
    assert_eq!(c3.next.status, HostStatus::Up);
}

#[test]
fn a_dip_restarts_the_window() {
    let checks = Checks::builtin();
    let mut s = on_snapshot(&HostTracking::new_host(), timing(&checks), &cpu(97.0), t(0)).next;
    s = on_snapshot(&s, timing(&checks), &cpu(97.0), t(200)).next;
    s = on_snapshot(&s, timing(&checks), &cpu(50.0), t(250)).next;
    let c = on_snapshot(&s, timing(&checks), &cpu(97.0), t(320));
    assert!(c.flip.is_none());
    assert_eq!(c.next.breaches.0["cpu"].since, t(320).timestamp_millis());
}

#[test]
fn disks_count_at_once_and_gpus_name_their_index() {
    let mut checks = Checks::builtin();
    checks.gpu_util_pct = Some(Threshold::new(95.0, 300));
    let s = Snapshot {
        disks: Some(vec![("/".into(), 93.0), ("/data".into(), 10.0)]),
        gpus: Some(vec![GpuValues {
            index: 1,
            util_pct: Some(99.0),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let up = on_snapshot(&HostTracking::new_host(), timing(&checks), &cpu(1.0), t(0)).next;
    let c = on_snapshot(&up, timing(&checks), &s, t(60));
    assert_eq!(
        c.flip.unwrap().detail.as_deref(),
        Some("disk / 93% > 90% for 0 min")
    );
    let c = on_snapshot(&c.next, timing(&checks), &s, t(360));
    assert_eq!(
        c.next.problems,
        [
            "disk / 93% > 90% for 5 min",
            "GPU1 util 99% > 95% for 5 min"
        ]
    );
}

#[test]
fn failed_units_and_missing_processes_degrade() {
    let checks = Checks {
        units: vec!["nginx.service".into(), "cron.service".into()],
        processes: vec![RequiredProcess {
            pattern: "python".into(),
            regex: false,
            min: 2,
        }],
        ..Default::default()
    };
    let s = Snapshot {
        units: Some(vec![
            ("nginx.service".into(), "failed".into()),
            ("cron.service".into(), "active".into()),
        ]),
        processes: Some(Processes {
            commands: vec!["/usr/bin/python train.py".into(), "bash".into()],
            counted: Default::default(),
        }),
        ..Default::default()
    };
    let c = on_snapshot(&HostTracking::new_host(), timing(&checks), &s, t(0));
    assert_eq!(c.next.status, HostStatus::Degraded);
    assert_eq!(
        c.next.problems,
        ["process python 1 running < 2", "nginx.service failed"]
    );
    let kinds: Vec<_> = c.events.iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&EventKind::UnitFailed));
    assert!(kinds.contains(&EventKind::ProcessMissing));
    // A report without unit or process data leaves them as they were.
    let c = on_snapshot(&c.next, timing(&checks), &cpu(5.0), t(60));
    assert_eq!(c.next.status, HostStatus::Degraded);
    assert!(c.flip.is_none());
    let fixed = Snapshot {
        units: Some(vec![
            ("nginx.service".into(), "active".into()),
            ("cron.service".into(), "active".into()),
        ]),
        processes: Some(Processes {
            commands: Vec::new(),
            counted: [("python".to_owned(), 2)].into(),
        }),
        ..Default::default()
    };
    let c = on_snapshot(&c.next, timing(&checks), &fixed, t(120));
    assert_eq!(c.flip.unwrap().reason, HostReason::Cleared);
    let kinds: Vec<_> = c.events.iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&EventKind::UnitRecovered));
    assert!(kinds.contains(&EventKind::ProcessBack));
}

#[test]
fn checks_the_collector_could_not_run_degrade_until_a_report_runs_them() {
    let checks = Checks::default();
    let hung = Snapshot {
        failures: vec!["disk check failed: df timed out after 6 s".into()],
        ..cpu(5.0)
    };
    let c = on_snapshot(&HostTracking::new_host(), timing(&checks), &hung, t(0));
    assert_eq!(c.next.status, HostStatus::Degraded);
    assert_eq!(
        c.next.problems,
        ["disk check failed: df timed out after 6 s"]
    );
    assert_eq!(
        c.events
            .iter()
            .filter(|e| e.kind == EventKind::CheckFailed)
            .count(),
        1
    );
    // The same check failing with another detail is the same breach: no new event.
    let again = Snapshot {
        failures: vec!["disk check failed: df failed: Stale file handle".into()],
        ..cpu(5.0)
    };
    let c = on_snapshot(&c.next, timing(&checks), &again, t(60));
    assert!(c.flip.is_none());
    assert!(!c.events.iter().any(|e| e.kind == EventKind::CheckFailed));
    assert_eq!(
        c.next.problems,
        ["disk check failed: df failed: Stale file handle"]
    );
    // A report that ran every check clears it.
    let c = on_snapshot(&c.next, timing(&checks), &cpu(5.0), t(120));
    assert_eq!(c.next.status, HostStatus::Up);
    assert_eq!(c.flip.unwrap().reason, HostReason::Cleared);
    assert!(c.events.iter().any(|e| e.kind == EventKind::CheckRecovered));
}

#[test]
fn staleness_and_recovery() {
    let checks = Checks::builtin();
    let up = on_snapshot(&HostTracking::new_host(), timing(&checks), &cpu(1.0), t(0)).next;
    assert!(on_tick(&up, t(124)).is_none());
    let down = on_tick(&up, t(125)).expect("down");
    let flip = down.flip.unwrap();
    assert_eq!(flip.reason, HostReason::Offline);
    assert_eq!(
        flip.detail.as_deref(),
        Some("offline: no report for 2 min 5 s")
    );
    assert!(on_tick(&down.next, t(500)).is_none());
    let back = on_snapshot(&down.next, timing(&checks), &cpu(1.0), t(725));
    let flip = back.flip.unwrap();
    assert_eq!(flip.reason, HostReason::Recovered);
    assert_eq!(flip.since, Some(t(125)));
    assert_eq!(back.next.status, HostStatus::Up);
}

#[test]
fn an_error_report_is_offline_at_once_and_alerts_once() {
    let checks = Checks::builtin();
    let up = on_snapshot(&HostTracking::new_host(), timing(&checks), &cpu(1.0), t(0)).next;
    let c = on_error(&up, "connection refused", t(10));
    assert_eq!(c.next.status, HostStatus::Down);
    assert_eq!(
        c.flip.unwrap().detail.as_deref(),
        Some("offline: connection refused")
    );
    assert!(
        on_error(&c.next, "connection refused", t(20))
            .flip
            .is_none()
    );
}

#[test]
fn paused_hosts_keep_quiet() {
    let checks = Checks::builtin();
    let up = on_snapshot(&HostTracking::new_host(), timing(&checks), &cpu(1.0), t(0)).next;
    let p = paused(&up, t(5)).next;
    assert!(on_tick(&p, t(10_000)).is_none());
    assert!(on_error(&p, "x", t(10)).flip.is_none());
    let c = on_snapshot(&p, timing(&checks), &cpu(99.0), t(20));
    assert!(c.flip.is_none());
    assert_eq!(c.next.status, HostStatus::Paused);
    let r = resumed(&c.next, timing(&checks), t(30));
    assert_eq!(r.next.status, HostStatus::Up);
    assert_eq!(r.next.next_check_at, Some(t(155)));
    let never = resumed(
        &paused(&HostTracking::new_host(), t(0)).next,
        timing(&checks),
        t(1),
    );
    assert_eq!(never.next.status, HostStatus::New);
}

#[test]
fn durations_in_words() {
    assert_eq!(describe_secs(45), "45 s");
    assert_eq!(describe_secs(125), "2 min 5 s");
    assert_eq!(describe_secs(600), "10 min");
    assert_eq!(describe_secs(7500), "2 h 5 min");
    assert_eq!(describe_secs(90_000), "1 d 1 h");
}

#[test]
fn processes_match_by_substring_or_regex() {
    let p = Processes {
        commands: vec![
            "nginx: worker".into(),
            "nginx: master".into(),
            "sshd".into(),
        ],
        counted: Default::default(),
    };
    let rule = |pattern: &str, regex| RequiredProcess {
        pattern: pattern.into(),
        regex,
        min: 1,
    };
    assert_eq!(p.count(&rule("nginx", false)), 2);
    assert_eq!(p.count(&rule("^nginx: m", true)), 1);
    assert_eq!(p.count(&rule("postgres", false)), 0);
}
