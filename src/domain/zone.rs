//! Times as people read them: local wall-clock time with an offset that says which zone
//! it is in. Abbreviations are ambiguous (`CST` is China, US Central and Cuba), so the
//! offset is written out: `UTC+8`, `UTC-3:30`, `UTC`.
use chrono::{DateTime, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// `UTC+8` for Shanghai, `UTC+5:30` for Kolkata, `UTC` for UTC.
pub fn offset_label<Z: TimeZone>(t: &DateTime<Z>) -> String {
    let secs = t.offset().fix().local_minus_utc();
    if secs == 0 {
        return "UTC".into();
    }
    let sign = if secs < 0 { '-' } else { '+' };
    let (h, m) = (secs.abs() / 3600, secs.abs() % 3600 / 60);
    if m == 0 {
        format!("UTC{sign}{h}")
    } else {
        format!("UTC{sign}{h}:{m:02}")
    }
}

/// `2026-11-21 16:05:02 UTC+8`.
pub fn local_stamp(t: DateTime<Utc>, tz: Tz) -> String {
    let local = t.with_timezone(&tz);
    format!(
        "{} {}",
        local.format("%Y-%m-%d %H:%M:%S"),
        offset_label(&local)
    )
}

/// The instant a DST gap containing the non-existent wall-clock time `local` ends: the
/// first second whose wall-clock time is past `local`. Transition instants are not
/// exposed by chrono-tz, so bisect; offsets never exceed a day, which bounds the search.
pub fn gap_end(local: NaiveDateTime, tz: Tz) -> Option<DateTime<Utc>> {
    let guess = local.and_utc().timestamp();
    let (mut before, mut after) = (guess - 86_400, guess + 86_400);
    while after - before > 1 {
        let mid = before + (after - before) / 2;
        let wall = DateTime::from_timestamp(mid, 0)?
            .with_timezone(&tz)
            .naive_local();
        if wall < local {
            before = mid;
        } else {
            after = mid;
        }
    }
    DateTime::from_timestamp(after, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_name_the_zone_unambiguously() {
        let t = DateTime::parse_from_rfc3339("2026-11-21T08:05:02Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            local_stamp(t, chrono_tz::Asia::Shanghai),
            "2026-11-21 16:05:02 UTC+8"
        );
        assert_eq!(
            local_stamp(t, chrono_tz::Asia::Kolkata),
            "2026-11-21 13:35:02 UTC+5:30"
        );
        assert_eq!(
            local_stamp(t, chrono_tz::America::St_Johns),
            "2026-11-21 04:35:02 UTC-3:30"
        );
        assert_eq!(local_stamp(t, chrono_tz::UTC), "2026-11-21 08:05:02 UTC");
    }
}
