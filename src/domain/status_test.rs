use super::*;

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
}

fn hourly() -> Schedule {
    Schedule::Interval {
        period: Duration::hours(1),
    }
}

fn timing(s: &Schedule) -> Timing<'_> {
    Timing {
        schedule: s,
        tz: chrono_tz::UTC,
        grace: Duration::minutes(5),
    }
}

fn up_at(s: &Schedule, at: DateTime<Utc>) -> Tracking {
    on_ping(
        &Tracking::new_service(),
        &timing(s),
        PingKind::Success,
        "",
        at,
    )
    .0
}

fn rules() -> RunRules {
    RunRules {
        min_run: Some(Duration::minutes(1)),
        max_run: Some(Duration::hours(2)),
        fail_after: 1,
    }
}

fn run(secs: i64) -> Option<ClosedRun> {
    Some(ClosedRun {
        took: Duration::seconds(secs),
        was_hung: false,
    })
}

#[test]
fn a_run_within_bounds_succeeds_and_outside_them_fails() {
    let ok = judge(PingKind::Success, "", None, run(600), &rules());
    assert_eq!(ok.failure, None);
    assert_eq!(ok.outcome, Some(RunOutcome::Success));
    let short = judge(PingKind::Success, "", None, run(3), &rules());
    assert_eq!(
        short.failure,
        Some((
            Reason::RunTime,
            "ran 3 s, shorter than the minimum of 1 min".to_owned()
        ))
    );
    assert_eq!(short.outcome, Some(RunOutcome::TooShort));
    let long = judge(PingKind::Success, "", None, run(7500), &rules());
    assert_eq!(
        long.failure.map(|f| f.1).as_deref(),
        Some("ran 2 h 05 min, longer than the maximum of 2 h")
    );
    assert_eq!(long.outcome, Some(RunOutcome::TooLong));
    // No run: bounds do not apply.
    let plain = judge(PingKind::Success, "", None, None, &rules());
    assert_eq!((plain.failure, plain.outcome), (None, None));
}

#[test]
fn a_hung_run_that_finishes_is_too_long_but_its_success_counts() {
    let v = judge(
        PingKind::Success,
        "",
        None,
        Some(ClosedRun {
            took: Duration::hours(3),
            was_hung: true,
        }),
        &rules(),
    );
    assert_eq!((v.failure, v.outcome), (None, Some(RunOutcome::TooLong)));
}

#[test]
fn an_exit_status_leads_the_failure_data() {
    let v = judge(PingKind::Error, "disk full", Some(3), run(600), &rules());
    assert_eq!(
        v.failure,
        Some((Reason::Error, "exit status 3\ndisk full".to_owned()))
    );
    assert_eq!(v.outcome, Some(RunOutcome::Failure));
    let v = judge(PingKind::Error, "", Some(2), None, &rules());
    assert_eq!(v.failure.map(|f| f.1).as_deref(), Some("exit status 2"));
}

#[test]
fn failures_below_the_threshold_count_without_a_flip() {
    let s = hourly();
    let up = up_at(&s, t(0));
    let failed = Verdict {
        failure: Some((Reason::Error, "oops".to_owned())),
        outcome: None,
    };
    let (next, flip, streak) = on_finish(&up, &timing(&s), &failed, 0, 3, t(60));
    assert_eq!((next.status, flip, streak), (Status::Up, None, 1));
    // It ran: the schedule moves on.
    assert_eq!(next.next_due_at, Some(t(3660)));
    let (next, flip, streak) = on_finish(&next, &timing(&s), &failed, 2, 3, t(120));
    assert_eq!((next.status, streak), (Status::Down, 3));
    assert_eq!(flip.map(|f| f.reason), Some(Reason::Error));
    // Down stays down below the threshold; a success resets the streak and recovers.
    let (still, flip, _) = on_finish(&next, &timing(&s), &failed, 0, 3, t(180));
    assert_eq!(
        (still.status, flip, still.next_check_at),
        (Status::Down, None, None)
    );
    let ok = Verdict {
        failure: None,
        outcome: None,
    };
    let (up, flip, streak) = on_finish(&still, &timing(&s), &ok, 1, 3, t(240));
    assert_eq!((up.status, streak), (Status::Up, 0));
    assert_eq!(flip.map(|f| f.reason), Some(Reason::Recovered));
}

#[test]
fn the_run_time_reason_names_the_flip() {
    let s = hourly();
    let up = up_at(&s, t(0));
    let v = judge(PingKind::Success, "", None, run(3), &rules());
    let (next, flip, _) = on_finish(&up, &timing(&s), &v, 0, 1, t(60));
    assert_eq!(next.status, Status::Down);
    let flip = flip.expect("a flip");
    assert_eq!(flip.reason, Reason::RunTime);
    assert!(flip.reason.alerts());
}

#[test]
fn the_hung_deadline_comes_before_the_schedule_when_earlier() {
    let s = hourly();
    let up = up_at(&s, t(0));
    let open = OpenRun::of(Some(t(60)), Some(Duration::minutes(10)));
    assert_eq!(planned_check(&up, open), Some(t(660)));
    let open_long = OpenRun::of(Some(t(60)), Some(Duration::hours(5)));
    assert_eq!(planned_check(&up, open_long), Some(t(3600)));
    assert_eq!(planned_check(&up, None), Some(t(3600)));
    // A new service (no ping yet) is watched for hanging too, and so is a down one (the
    // scheduler marks its runs hung without an alert); a paused one is not.
    assert_eq!(planned_check(&Tracking::new_service(), open), Some(t(660)));
    let down = Tracking {
        status: Status::Down,
        ..up.clone()
    };
    assert_eq!(planned_check(&down, open), Some(t(660)));
    assert_eq!(planned_check(&down, None), None);
    let paused = Tracking {
        status: Status::Paused,
        next_check_at: None,
        ..up.clone()
    };
    assert_eq!(planned_check(&paused, open), None);
    assert_eq!(OpenRun::of(Some(t(60)), None), None);
}

#[test]
fn a_run_past_its_maximum_hangs_once() {
    let s = hourly();
    let up = up_at(&s, t(0));
    let open = OpenRun::of(Some(t(0)), Some(Duration::minutes(30)));
    assert!(on_tick_runs(&up, open, t(1799)).is_none());
    let (next, flip) = on_tick_runs(&up, open, t(1800 + 300)).expect("hung");
    assert_eq!((next.status, flip.reason), (Status::Down, Reason::Hung));
    assert_eq!(
        flip.data.as_deref(),
        Some("running for 35 min, longer than 30 min")
    );
    assert!(on_tick_runs(&next, open, t(4000)).is_none());
    // Without a run the schedule decides, as before.
    let (late, flip) = on_tick_runs(&up, None, t(3600)).expect("late");
    assert_eq!((late.status, flip.reason), (Status::Late, Reason::Late));
}
