use chrono::TimeZone;

use super::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap()
}

#[test]
fn tries_are_counted_before_they_are_answered() {
    let t = Throttle::default();
    // Sixty guesses arrive together: none has failed yet when the others are admitted.
    let admitted: Vec<_> = (0..60)
        .filter_map(|_| t.admit(Some("admin"), "10.0.0.1", t0()).ok())
        .collect();
    assert_eq!(admitted.len(), PER_USER_AND_ADDRESS);
    for ticket in admitted {
        ticket.failed();
    }
    let refused = t.admit(Some("ADMIN"), "10.0.0.1", t0() + Duration::minutes(5));
    assert_eq!(
        refused.err(),
        Some(Refused {
            retry_after: Duration::minutes(10)
        })
    );
    // Another user from the same address is still let through, until the address is full.
    assert!(t.admit(Some("ops"), "10.0.0.1", t0()).is_ok());
    assert!(t.admit(Some("admin"), "10.0.0.2", t0()).is_ok());
    assert!(
        t.admit(Some("admin"), "10.0.0.1", t0() + WINDOW).is_ok(),
        "the window passed"
    );
}

#[test]
fn one_address_is_limited_across_names() {
    let t = Throttle::default();
    for i in 0..PER_ADDRESS {
        t.admit(Some(&format!("user{i}")), "10.0.0.9", t0())
            .expect("under the limit")
            .failed();
    }
    assert!(t.admit(Some("admin"), "10.0.0.9", t0()).is_err());
    assert!(t.admit(None, "10.0.0.9", t0()).is_err(), "API keys too");
    assert!(t.admit(Some("admin"), "10.0.0.10", t0()).is_ok());
}

#[test]
fn success_takes_its_try_back_and_proves_the_address() {
    let t = Throttle::default();
    for _ in 0..PER_USER_AND_ADDRESS - 1 {
        t.admit(Some("admin"), "10.0.0.1", t0()).unwrap().failed();
    }
    t.admit(Some("admin"), "10.0.0.1", t0())
        .unwrap()
        .succeeded(t0());
    assert_eq!(t.tries_from("10.0.0.1", t0()), PER_USER_AND_ADDRESS - 1);
    // The owner's typos from here are forgotten: five more tries are allowed.
    for _ in 0..PER_USER_AND_ADDRESS {
        t.admit(Some("admin"), "10.0.0.1", t0()).unwrap().failed();
    }
    assert!(
        t.admit(Some("admin"), "10.0.0.1", t0()).is_err(),
        "then the limit holds"
    );
    // Others' failures fill an address, but not for a user proven there.
    let t = Throttle::default();
    t.admit(Some("ci"), "10.0.0.1", t0())
        .unwrap()
        .succeeded(t0());
    for i in 0..PER_ADDRESS {
        t.admit(Some(&format!("x{i}")), "10.0.0.1", t0())
            .unwrap()
            .failed();
    }
    assert!(t.admit(Some("ops"), "10.0.0.1", t0()).is_err());
    let ci = t.admit(Some("ci"), "10.0.0.1", t0()).expect("proven pair");
    assert_eq!((ci.lane, ci.pause), (Lane::High, None));
}

#[test]
fn withdrawn_tries_do_not_count() {
    let t = Throttle::default();
    for _ in 0..20 {
        t.admit(Some("admin"), "10.0.0.1", t0()).unwrap().withdraw();
    }
    assert_eq!(t.tries_from("10.0.0.1", t0()), 0);
}

#[test]
fn lanes_follow_failures() {
    let t = Throttle::default();
    let first = t.admit(Some("admin"), "10.0.0.1", t0()).unwrap();
    assert_eq!((first.lane, first.pause), (Lane::High, None));
    // A try still pending does not make its address a failing one.
    let second = t.admit(Some("admin"), "10.0.0.1", t0()).unwrap();
    assert_eq!(second.lane, Lane::High);
    first.failed();
    second.failed();
    let next = t.admit(Some("ops"), "10.0.0.1", t0()).unwrap();
    assert_eq!((next.lane, next.pause), (Lane::Low, None));
    next.withdraw();

    // Guessed from many addresses, a user is slowed everywhere, and locked out nowhere.
    for n in 0..USER_SLOWED_AFTER {
        t.admit(Some("root"), &format!("10.9.0.{n}"), t0())
            .unwrap()
            .failed();
    }
    let owner = t
        .admit(Some("root"), "10.0.0.7", t0())
        .expect("not locked out");
    assert_eq!((owner.lane, owner.pause), (Lane::Low, Some(SLOWDOWN)));
    owner.succeeded(t0());
    let again = t.admit(Some("root"), "10.0.0.7", t0()).unwrap();
    assert_eq!((again.lane, again.pause), (Lane::High, None), "proven");
}
