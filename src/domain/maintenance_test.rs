use super::*;

const SHANGHAI: Tz = chrono_tz::Asia::Shanghai;
const BERLIN: Tz = chrono_tz::Europe::Berlin;

fn utc(s: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .expect("test timestamp")
        .and_utc()
}

fn hm(s: &str) -> NaiveTime {
    NaiveTime::parse_from_str(s, "%H:%M").expect("test time")
}

fn window(repeat: Repeat, tz: Tz) -> Window {
    Window {
        id: "w".into(),
        name: "w".into(),
        tags: vec![],
        applies_to: AppliesTo::All,
        repeat,
        tz,
    }
}

fn weekly(days: &[Weekday], start: &str, hours: i64, tz: Tz) -> Window {
    window(
        Repeat::Weekly {
            days: days.to_vec(),
            start: hm(start),
            duration: TimeDelta::hours(hours),
        },
        tz,
    )
}

fn daily(start: &str, minutes: i64, tz: Tz) -> Window {
    window(
        Repeat::Daily {
            start: hm(start),
            duration: TimeDelta::minutes(minutes),
        },
        tz,
    )
}

fn once(from: &str, to: &str) -> Window {
    window(
        Repeat::Once {
            starts_at: utc(from),
            ends_at: utc(to),
        },
        chrono_tz::UTC,
    )
}

#[test]
fn sunday_two_to_four_in_shanghai() {
    // Sunday 02:00 in Shanghai is Saturday 18:00 UTC.
    let w = weekly(&[Weekday::Sun], "02:00", 2, SHANGHAI);
    assert_eq!(w.covering(utc("2026-12-05 17:59:59")), None);
    assert_eq!(
        w.covering(utc("2026-12-05 18:00:00")),
        Some(utc("2026-12-05 20:00:00"))
    );
    assert_eq!(
        w.covering(utc("2026-12-05 19:59:59")),
        Some(utc("2026-12-05 20:00:00"))
    );
    assert_eq!(w.covering(utc("2026-12-05 20:00:00")), None, "end is open");
    // Monday 02:30 local is not a Sunday.
    assert_eq!(w.covering(utc("2026-12-06 18:30:00")), None);
    assert_eq!(
        w.next_start(utc("2026-12-05 10:00:00")),
        Some(utc("2026-12-05 18:00:00"))
    );
    assert_eq!(
        w.next_start(utc("2026-12-05 18:00:00")),
        Some(utc("2026-12-12 18:00:00")),
        "strictly after"
    );
}

#[test]
fn a_window_crossing_midnight_in_shanghai_belongs_to_the_day_it_starts() {
    // Saturday 23:00 local for 3 h: Saturday 15:00 to 18:00 UTC.
    let w = weekly(&[Weekday::Sat], "23:00", 3, SHANGHAI);
    // Sunday 01:30 local.
    assert_eq!(
        w.covering(utc("2026-12-05 17:30:00")),
        Some(utc("2026-12-05 18:00:00"))
    );
    // Sunday 02:00 local: over.
    assert_eq!(w.covering(utc("2026-12-05 18:00:00")), None);
    // Sunday 23:30 local: Sunday starts no occurrence.
    assert_eq!(w.covering(utc("2026-12-06 15:30:00")), None);
    // Friday 23:30 local: nor does Friday.
    assert_eq!(w.covering(utc("2026-12-04 15:30:00")), None);
    // A daily one crossing midnight covers the small hours of every day.
    let d = daily("23:30", 60, SHANGHAI);
    assert_eq!(
        d.covering(utc("2026-12-06 16:10:00")),
        Some(utc("2026-12-06 16:30:00"))
    );
}

#[test]
fn berlin_spring_forward_starts_when_the_gap_ends() {
    // 2026-03-29: 02:00 CET becomes 03:00 CEST (01:00 UTC). 02:30 does not exist.
    let w = daily("02:30", 60, BERLIN);
    assert_eq!(
        w.next_start(utc("2026-03-28 12:00:00")),
        Some(utc("2026-03-29 01:00:00"))
    );
    assert_eq!(
        w.covering(utc("2026-03-29 01:30:00")),
        Some(utc("2026-03-29 02:00:00"))
    );
    assert_eq!(w.covering(utc("2026-03-29 00:59:59")), None);
    // The day before and after, 02:30 local as usual (CET then CEST).
    assert_eq!(
        w.covering(utc("2026-03-28 01:45:00")),
        Some(utc("2026-03-28 02:30:00"))
    );
    assert_eq!(
        w.covering(utc("2026-03-30 00:45:00")),
        Some(utc("2026-03-30 01:30:00"))
    );
    // A window spanning the change lasts its elapsed duration: 01:00 CET + 3 h.
    let across = daily("01:00", 180, BERLIN);
    assert_eq!(
        across.covering(utc("2026-03-29 02:30:00")),
        Some(utc("2026-03-29 03:00:00"))
    );
}

#[test]
fn berlin_fall_back_takes_the_first_of_two_starts() {
    // 2026-10-25: 03:00 CEST becomes 02:00 CET (01:00 UTC); 02:30 happens twice.
    let w = daily("02:30", 60, BERLIN);
    assert_eq!(
        w.next_start(utc("2026-10-24 12:00:00")),
        Some(utc("2026-10-25 00:30:00"))
    );
    assert_eq!(
        w.covering(utc("2026-10-25 01:00:00")),
        Some(utc("2026-10-25 01:30:00"))
    );
    // The second 02:30 (01:30 UTC) starts nothing.
    assert_eq!(w.covering(utc("2026-10-25 01:45:00")), None);
    assert_eq!(
        w.next_start(utc("2026-10-25 00:30:00")),
        Some(utc("2026-10-26 01:30:00"))
    );
}

#[test]
fn chained_windows_silence_until_the_last_one_ends() {
    let windows = [
        once("2026-12-01 10:00:00", "2026-12-01 11:00:00"),
        // Meets the first at 11:00 (daily 11:00 UTC for 1 h).
        daily("11:00", 60, chrono_tz::UTC),
        // Overlaps the second.
        once("2026-12-01 11:30:00", "2026-12-01 13:00:00"),
        // One minute after: not part of the same silence.
        once("2026-12-01 13:01:00", "2026-12-01 14:00:00"),
    ];
    let at = utc("2026-12-01 10:30:00");
    assert_eq!(
        silenced_until(&windows, SubjectKind::Service, &[], at),
        Some(utc("2026-12-01 13:00:00"))
    );
    assert_eq!(
        silenced_until(&windows, SubjectKind::Host, &[], utc("2026-12-01 13:00:30")),
        None
    );
    assert_eq!(silenced_until(&[], SubjectKind::Host, &[], at), None);
    // A window that does not apply breaks the chain.
    let mut hosts_only = windows.clone();
    hosts_only[1].applies_to = AppliesTo::Hosts;
    assert_eq!(
        silenced_until(&hosts_only, SubjectKind::Service, &[], at),
        Some(utc("2026-12-01 11:00:00"))
    );
    // Back-to-back daily windows around the clock end, bounded, instead of looping.
    let always = [daily("00:00", 24 * 60, chrono_tz::UTC)];
    let until = silenced_until(&always, SubjectKind::Service, &[], at).expect("silenced");
    assert_eq!(
        until,
        at + TimeDelta::days(MAX_CHAIN as i64) - TimeDelta::hours(10) - TimeDelta::minutes(30)
    );
}

#[test]
fn tags_and_kinds_decide_what_a_window_applies_to() {
    let mut w = once("2026-12-01 10:00:00", "2026-12-01 11:00:00");
    let tags = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(w.applies(SubjectKind::Service, &[]), "no tags: everything");
    assert!(w.applies(SubjectKind::Host, &tags(&["gpu"])));
    w.tags = tags(&["room:725", "backup"]);
    assert!(w.applies(SubjectKind::Service, &tags(&["db", "backup"])));
    assert!(w.applies(SubjectKind::Host, &tags(&["ROOM:725"])));
    assert!(!w.applies(SubjectKind::Service, &tags(&["db"])));
    assert!(!w.applies(SubjectKind::Service, &[]));
    w.applies_to = AppliesTo::Hosts;
    assert!(!w.applies(SubjectKind::Service, &tags(&["backup"])));
    assert!(w.applies(SubjectKind::Host, &tags(&["backup"])));
    w.applies_to = AppliesTo::Services;
    assert!(w.applies(SubjectKind::Service, &tags(&["backup"])));
    assert!(!w.applies(SubjectKind::Host, &tags(&["backup"])));
    assert_eq!(
        silenced_until(
            &[w],
            SubjectKind::Host,
            &tags(&["backup"]),
            utc("2026-12-01 10:30:00")
        ),
        None
    );
}

fn draft() -> WindowDraft {
    WindowDraft {
        name: "Sunday patching".into(),
        tags: vec!["Room:725, gpu".into()],
        applies_to: Some("hosts".into()),
        repeat: "weekly".into(),
        days: vec!["sun".into(), "SAT".into()],
        start_time: Some("02:00".into()),
        duration: Some(7200),
        timezone: Some("Asia/Shanghai".into()),
        ..WindowDraft::default()
    }
}

fn refusals(d: &WindowDraft) -> Vec<(&'static str, &'static str)> {
    d.validate("w".into(), SHANGHAI)
        .expect_err("refused")
        .iter()
        .map(|e| (e.field, e.code()))
        .collect()
}

#[test]
fn a_valid_draft_becomes_a_window() {
    let w = draft().validate("abc".into(), chrono_tz::UTC).unwrap();
    assert_eq!(w.tags, ["room:725", "gpu"]);
    assert_eq!(w.applies_to, AppliesTo::Hosts);
    assert_eq!(w.tz, SHANGHAI);
    assert_eq!(
        w.repeat,
        Repeat::Weekly {
            days: vec![Weekday::Sat, Weekday::Sun],
            start: hm("02:00"),
            duration: TimeDelta::hours(2),
        }
    );
    assert_eq!(
        w.draft().validate("abc".into(), chrono_tz::UTC),
        Ok(w.clone())
    );
    // Defaults: all subjects, the server's zone; fields another repeat uses are ignored.
    let d = WindowDraft {
        repeat: "once".into(),
        applies_to: None,
        timezone: None,
        starts_at: Some("2026-12-06T02:00".into()),
        ends_at: Some("2026-12-06T04:30:00+08:00".into()),
        ..draft()
    };
    let w = d.validate("abc".into(), SHANGHAI).unwrap();
    assert_eq!(w.applies_to, AppliesTo::All);
    assert_eq!(
        w.draft().validate("abc".into(), chrono_tz::UTC),
        Ok(w.clone())
    );
    assert_eq!(
        w.repeat,
        Repeat::Once {
            starts_at: utc("2026-12-05 18:00:00"),
            ends_at: utc("2026-12-05 20:30:00"),
        }
    );
}

#[test]
fn every_refused_field_is_reported() {
    let d = WindowDraft {
        name: " ".into(),
        tags: vec!["a b".into()],
        applies_to: Some("everything".into()),
        repeat: "monthly".into(),
        timezone: Some("Mars/Olympus".into()),
        ..WindowDraft::default()
    };
    assert_eq!(
        refusals(&d),
        [
            ("name", "required"),
            ("tags", "tag_characters"),
            ("applies_to", "unknown_value"),
            ("timezone", "unknown_time_zone"),
            ("repeat", "unknown_value"),
        ]
    );
    let d = WindowDraft {
        repeat: String::new(),
        ..draft()
    };
    assert_eq!(refusals(&d), [("repeat", "required")]);
    let d = WindowDraft {
        days: vec!["sun".into(), "funday".into()],
        start_time: Some("2:00".into()),
        duration: Some(59),
        ..draft()
    };
    assert_eq!(
        refusals(&d),
        [
            ("start_time", "bad_time_of_day"),
            ("duration", "out_of_range"),
            ("days", "unknown_value"),
        ]
    );
    let d = WindowDraft {
        days: vec![],
        start_time: None,
        duration: Some(7 * 86400 + 1),
        ..draft()
    };
    assert_eq!(
        refusals(&d),
        [
            ("start_time", "required"),
            ("duration", "out_of_range"),
            ("days", "required"),
        ]
    );
    // Daily: at most 24 h; weekly: at most 7 days.
    let d = WindowDraft {
        repeat: "daily".into(),
        duration: Some(86401),
        ..draft()
    };
    assert_eq!(refusals(&d), [("duration", "out_of_range")]);
    assert!(
        WindowDraft {
            duration: Some(7 * 86400),
            ..draft()
        }
        .validate("w".into(), SHANGHAI)
        .is_ok()
    );
    let d = WindowDraft {
        name: "x".repeat(201),
        ..draft()
    };
    assert_eq!(refusals(&d), [("name", "too_long")]);
}

#[test]
fn one_off_windows_are_ordered_and_at_most_31_days() {
    let once = |from: Option<&str>, to: Option<&str>| WindowDraft {
        repeat: "once".into(),
        starts_at: from.map(str::to_owned),
        ends_at: to.map(str::to_owned),
        ..draft()
    };
    assert_eq!(
        refusals(&once(None, Some("yesterday"))),
        [("starts_at", "required"), ("ends_at", "bad_time")]
    );
    assert_eq!(
        refusals(&once(Some("2026-12-06T04:00"), Some("2026-12-06T04:00"))),
        [("ends_at", "time_order")]
    );
    assert_eq!(
        refusals(&once(
            Some("2026-12-01T00:00:00Z"),
            Some("2027-01-01T00:00:01Z")
        )),
        [("ends_at", "out_of_range")]
    );
    assert!(
        once(Some("2026-12-01T00:00:00Z"), Some("2027-01-01T00:00:00Z"))
            .validate("w".into(), SHANGHAI)
            .is_ok()
    );
}

#[test]
fn snoozes_last_one_minute_to_thirty_days() {
    let now = utc("2026-12-01 10:00:00");
    assert_eq!(
        snooze_until(now, Some(30), None),
        Ok(utc("2026-12-01 10:30:00"))
    );
    assert_eq!(
        snooze_until(now, None, Some("2026-12-31T18:00:00+08:00")),
        Ok(utc("2026-12-31 10:00:00"))
    );
    assert_eq!(
        snooze_until(now, None, Some("1796124000")),
        Ok(utc("2026-12-01 11:20:00"))
    );
    let code = |r: Result<DateTime<Utc>, FieldError>| {
        let e = r.expect_err("refused");
        (e.field, e.code())
    };
    assert_eq!(
        code(snooze_until(now, Some(0), None)),
        ("minutes", "out_of_range")
    );
    assert_eq!(
        code(snooze_until(now, Some(43201), None)),
        ("minutes", "out_of_range")
    );
    assert_eq!(code(snooze_until(now, None, None)), ("minutes", "required"));
    assert_eq!(
        code(snooze_until(now, None, Some(" "))),
        ("minutes", "required")
    );
    assert_eq!(
        code(snooze_until(now, None, Some("tomorrow"))),
        ("until", "bad_time")
    );
    assert_eq!(
        code(snooze_until(now, None, Some("2026-12-01T09:00:00Z"))),
        ("until", "out_of_range")
    );
    assert_eq!(
        code(snooze_until(now, None, Some("2026-12-31T10:00:01Z"))),
        ("until", "out_of_range")
    );
    assert_eq!(
        code(snooze_until(now, Some(5), Some("2026-12-01T12:00:00Z"))),
        ("until", "conflicting_fields")
    );
}

#[test]
fn stored_columns_read_back() {
    let cols = WindowColumns {
        id: "w1",
        name: "n",
        tags: ",gpu,",
        applies_to: "services",
        repeat_kind: "weekly",
        starts_at: None,
        ends_at: None,
        days: Some("sun,sat"),
        start_time: Some("23:00"),
        duration_secs: Some(10800),
        timezone: "Asia/Shanghai",
    };
    let w = cols.window().unwrap();
    assert_eq!(w.tags, ["gpu"]);
    assert_eq!(
        w.repeat,
        Repeat::Weekly {
            days: vec![Weekday::Sat, Weekday::Sun],
            start: hm("23:00"),
            duration: TimeDelta::hours(3),
        }
    );
    assert!(
        WindowColumns {
            start_time: Some("25:00"),
            ..cols
        }
        .window()
        .is_err()
    );
}
