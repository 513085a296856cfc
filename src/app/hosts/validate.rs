//! Checking what a host draft says: addresses, texts, SSH overrides, thresholds (their
//! limits by kind, their windows defaulting by kind), required processes, units.
use super::super::Check;
use crate::domain::host::{Checks, RequiredProcess, Threshold, ThresholdKind, default_window};
use crate::domain::{FieldError, Problem, is_invisible};
use crate::store::hosts::Ssh;

/// A threshold as typed: the window is the kind's default when left out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThresholdDraft {
    pub limit: f64,
    pub for_secs: Option<i64>,
}

/// Changes to checks: `None` leaves a check as it is, `Some(None)` turns it off.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChecksDraft {
    pub cpu_pct: Option<Option<ThresholdDraft>>,
    pub mem_pct: Option<Option<ThresholdDraft>>,
    pub swap_pct: Option<Option<ThresholdDraft>>,
    pub disk_pct: Option<Option<ThresholdDraft>>,
    /// Replaces every per-mount threshold.
    pub disk_mounts: Option<Vec<(String, ThresholdDraft)>>,
    pub gpu_util_pct: Option<Option<ThresholdDraft>>,
    pub gpu_mem_pct: Option<Option<ThresholdDraft>>,
    pub gpu_temp_c: Option<Option<ThresholdDraft>>,
    pub load_per_core: Option<Option<ThresholdDraft>>,
    pub processes: Option<Vec<RequiredProcess>>,
    pub units: Option<Vec<String>>,
}

/// SSH overrides as typed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SshDraft {
    pub user: Option<String>,
    pub port: Option<i64>,
    pub key: Option<String>,
}

/// Reports are expected at least once a day.
pub const MAX_INTERVAL_SECS: i64 = 86_400;

pub(super) fn range(field: &'static str, v: i64, min: i64, max: i64) -> Result<i64, FieldError> {
    if (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(FieldError::new(field, Problem::NumberRange { min, max }))
    }
}

pub(super) fn parse_interval(v: i64) -> Result<i64, FieldError> {
    range("interval", v, 1, MAX_INTERVAL_SECS)
}

/// `host`, `host:port`, an IPv6 address, or `[v6]:port`.
pub fn parse_address(s: &str) -> Result<Option<String>, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let bad = || FieldError::new("address", Problem::BadAddress);
    if s.len() > 255 {
        return Err(FieldError::new("address", Problem::TooLong { max: 255 }));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || ".-_:[]%".contains(c);
    if !s.chars().all(allowed) {
        return Err(bad());
    }
    let (host, port) = match s.strip_prefix('[') {
        Some(rest) => {
            let (v6, after) = rest.split_once(']').ok_or_else(bad)?;
            (v6, after.strip_prefix(':'))
        }
        None if s.matches(':').count() == 1 => {
            let (h, p) = s.split_once(':').ok_or_else(bad)?;
            (h, Some(p))
        }
        None => (s, None),
    };
    if host.is_empty() || port.is_some_and(|p| p.parse::<u16>().map_or(true, |p| p == 0)) {
        return Err(bad());
    }
    Ok(Some(s.to_owned()))
}

pub(super) fn parse_text(
    field: &'static str,
    s: &str,
    max: usize,
) -> Result<Option<String>, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if s.chars().count() > max {
        return Err(FieldError::new(field, Problem::TooLong { max }));
    }
    if s.chars().any(|c| c != '\n' && is_invisible(c)) {
        return Err(FieldError::new(field, Problem::ControlCharacters));
    }
    Ok(Some(s.to_owned()))
}

pub(super) fn parse_ssh(d: &SshDraft) -> Result<Ssh, FieldError> {
    let user = match d.user.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(u)
            if u.len() <= 64
                && u.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) =>
        {
            Some(u.to_owned())
        }
        Some(_) => return Err(FieldError::new("ssh.user", Problem::UserName)),
        None => None,
    };
    let port = match d.port {
        Some(p) => Some(range("ssh.port", p, 1, 65_535)? as u16),
        None => None,
    };
    let key = match &d.key {
        Some(k) => parse_text("ssh.key", k, 1024)?,
        None => None,
    };
    Ok(Ssh { user, port, key })
}

/// Longest collector name.
pub const MAX_COLLECTOR: usize = 64;

/// The `hb-agent watch` instance that collects a host (`--collector NAME`): trimmed, 1-64
/// characters of `A-Z a-z 0-9 . _ -`; empty is the default collector (`None`).
pub fn parse_collector(s: &str) -> Result<Option<String>, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if s.len() <= MAX_COLLECTOR
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        Ok(Some(s.to_owned()))
    } else {
        Err(FieldError::new("collector", Problem::CollectorName))
    }
}

/// The field a threshold kind is named by.
fn threshold_field(kind: ThresholdKind) -> &'static str {
    match kind {
        ThresholdKind::Cpu => "checks.cpu_pct",
        ThresholdKind::Mem => "checks.mem_pct",
        ThresholdKind::Swap => "checks.swap_pct",
        ThresholdKind::Disk => "checks.disk_pct",
        ThresholdKind::GpuUtil => "checks.gpu_util_pct",
        ThresholdKind::GpuMem => "checks.gpu_mem_pct",
        ThresholdKind::GpuTemp => "checks.gpu_temp_c",
        ThresholdKind::Load => "checks.load_per_core",
    }
}

fn threshold(
    kind: ThresholdKind,
    field: &'static str,
    d: ThresholdDraft,
) -> Result<Threshold, FieldError> {
    let max = kind.max_limit();
    if !d.limit.is_finite() || d.limit < 0.0 || d.limit > max as f64 {
        return Err(FieldError::new(field, Problem::NumberRange { min: 0, max }));
    }
    let window = range(
        field,
        d.for_secs.unwrap_or(default_window(kind)),
        0,
        MAX_INTERVAL_SECS,
    )?;
    Ok(Threshold::new(d.limit, window))
}

/// Apply a draft of checks over `base`, collecting every refused value.
pub(super) fn merge_checks(base: &Checks, d: &ChecksDraft, check: &mut Check) -> Checks {
    let mut out = base.clone();
    let mut one = |kind: ThresholdKind,
                   slot: &mut Option<Threshold>,
                   given: &Option<Option<ThresholdDraft>>| {
        match given {
            None => {}
            Some(None) => *slot = None,
            Some(Some(t)) => {
                if let Some(t) = check.take(threshold(kind, threshold_field(kind), *t)) {
                    *slot = Some(t);
                }
            }
        }
    };
    one(ThresholdKind::Cpu, &mut out.cpu_pct, &d.cpu_pct);
    one(ThresholdKind::Mem, &mut out.mem_pct, &d.mem_pct);
    one(ThresholdKind::Swap, &mut out.swap_pct, &d.swap_pct);
    one(ThresholdKind::Disk, &mut out.disk_pct, &d.disk_pct);
    one(
        ThresholdKind::GpuUtil,
        &mut out.gpu_util_pct,
        &d.gpu_util_pct,
    );
    one(ThresholdKind::GpuMem, &mut out.gpu_mem_pct, &d.gpu_mem_pct);
    one(ThresholdKind::GpuTemp, &mut out.gpu_temp_c, &d.gpu_temp_c);
    one(
        ThresholdKind::Load,
        &mut out.load_per_core,
        &d.load_per_core,
    );
    if let Some(mounts) = &d.disk_mounts {
        let mut list = Vec::new();
        for (mount, t) in mounts.iter().take(MAX_LIST + 1) {
            if list.len() == MAX_LIST {
                check.refuse(FieldError::new(
                    "checks.disk_mounts",
                    Problem::TooManyItems { max: MAX_LIST },
                ));
                break;
            }
            let mount = mount.trim();
            if mount.is_empty() || mount.len() > 1024 {
                check.refuse(FieldError::new("checks.disk_mounts", Problem::Required));
                continue;
            }
            if let Some(t) = check.take(threshold(ThresholdKind::Disk, "checks.disk_mounts", *t)) {
                list.push((mount.to_owned(), t));
            }
        }
        out.disk_mounts = list;
    }
    if let Some(procs) = &d.processes {
        let mut list: Vec<RequiredProcess> = Vec::new();
        for p in procs {
            let pattern = p.pattern.trim();
            let field = "checks.processes";
            let checked = if pattern.is_empty() {
                Err(FieldError::new(field, Problem::Required))
            } else if pattern.chars().count() > 200 {
                Err(FieldError::new(field, Problem::TooLong { max: 200 }))
            } else if p.regex {
                regex::Regex::new(pattern).map(|_| ()).map_err(|e| {
                    FieldError::new(
                        field,
                        Problem::BadRegex {
                            error: e.to_string(),
                        },
                    )
                })
            } else {
                Ok(())
            }
            .and_then(|()| range(field, i64::from(p.min), 1, 10_000));
            if check.take(checked).is_some() {
                list.push(RequiredProcess {
                    pattern: pattern.to_owned(),
                    regex: p.regex,
                    min: p.min,
                });
            }
        }
        if list.len() > MAX_LIST {
            check.refuse(FieldError::new(
                "checks.processes",
                Problem::TooManyItems { max: MAX_LIST },
            ));
        }
        out.processes = list;
    }
    if let Some(units) = &d.units {
        let mut list: Vec<String> = Vec::new();
        for u in units {
            match parse_text("checks.units", u, 256) {
                Ok(Some(u)) if !u.contains(char::is_whitespace) => {
                    if !list.contains(&u) {
                        list.push(u);
                    }
                }
                Ok(_) => {
                    check.refuse(FieldError::new("checks.units", Problem::Required));
                }
                Err(e) => {
                    check.refuse(e);
                }
            }
        }
        if list.len() > MAX_LIST {
            check.refuse(FieldError::new(
                "checks.units",
                Problem::TooManyItems { max: MAX_LIST },
            ));
        }
        out.units = list;
    }
    out
}

/// Most per-mount thresholds, required processes or watched units a host may have.
pub const MAX_LIST: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        for good in [
            "10.0.0.3",
            "gpu-01.lan:2222",
            "fe80::1",
            "[fe80::1]:22",
            "srv_1",
        ] {
            assert!(parse_address(good).is_ok(), "{good}");
        }
        for bad in ["a b", "host:0", "host:99999", "[::1", "a/b", "user@host"] {
            assert_eq!(
                parse_address(bad).unwrap_err().code(),
                "bad_address",
                "{bad}"
            );
        }
        assert_eq!(parse_address(" ").unwrap(), None);
    }

    #[test]
    fn collectors() {
        assert_eq!(
            parse_collector(" rack-a.01_b ").unwrap().as_deref(),
            Some("rack-a.01_b")
        );
        assert_eq!(parse_collector("  ").unwrap(), None);
        for bad in ["a b", "rack/a", "ä", "a@b", &"x".repeat(65)] {
            let e = parse_collector(bad).unwrap_err();
            assert_eq!((e.field, e.code()), ("collector", "bad_collector"), "{bad}");
        }
        assert!(parse_collector(&"x".repeat(64)).is_ok());
    }

    #[test]
    fn thresholds_get_their_kinds_window_and_are_range_checked() {
        let d = ChecksDraft {
            cpu_pct: Some(Some(ThresholdDraft {
                limit: 80.0,
                for_secs: None,
            })),
            disk_pct: Some(Some(ThresholdDraft {
                limit: 95.0,
                for_secs: None,
            })),
            gpu_temp_c: Some(None),
            ..Default::default()
        };
        let mut check = Check::default();
        let c = merge_checks(&Checks::builtin(), &d, &mut check);
        assert!(check.finish().is_ok());
        assert_eq!(c.cpu_pct, Some(Threshold::new(80.0, 300)));
        assert_eq!(c.disk_pct, Some(Threshold::new(95.0, 0)));
        assert_eq!(c.gpu_temp_c, None);
        let bad = ChecksDraft {
            mem_pct: Some(Some(ThresholdDraft {
                limit: 120.0,
                for_secs: None,
            })),
            processes: Some(vec![RequiredProcess {
                pattern: "(".into(),
                regex: true,
                min: 1,
            }]),
            ..Default::default()
        };
        let mut check = Check::default();
        merge_checks(&Checks::builtin(), &bad, &mut check);
        let err = check.finish().unwrap_err();
        let fields: Vec<_> = err.fields().iter().map(|f| (f.field, f.code())).collect();
        assert_eq!(
            fields,
            [
                ("checks.mem_pct", "out_of_range"),
                ("checks.processes", "bad_regex")
            ]
        );
    }
}
