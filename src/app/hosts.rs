//! Hosts: create, update, pause, resume, delete; the defaults for new hosts; the inbox of
//! unmanaged hosts (adopt, dismiss).
use super::{Actor, App, AppResult, Check};
use crate::domain::host::{
    Checks, HostDefaults, RequiredProcess, Threshold, ThresholdKind, default_window,
};
use crate::domain::role::Action;
use crate::domain::{FieldError, Problem, Tags, is_invisible, parse_name, parse_notify};
use crate::entity::hosts::Model;
use crate::store::host_reports;
use crate::store::hosts::{self, HostPatch, NewHost, Ssh};

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

/// A host as typed, from any front end. On create a missing name is an error and the rest
/// comes from the defaults; on update `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct HostDraft {
    pub name: Option<String>,
    /// `Some(None)` (or an empty text) clears it.
    pub address: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub interval: Option<i64>,
    pub tags: Option<Vec<String>>,
    pub notify: Option<Vec<String>>,
    pub ssh: Option<SshDraft>,
    pub checks: Option<ChecksDraft>,
}

/// Reports are expected at least once a day.
pub const MAX_INTERVAL_SECS: i64 = 86_400;

fn range(field: &'static str, v: i64, min: i64, max: i64) -> Result<i64, FieldError> {
    if (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(FieldError::new(field, Problem::NumberRange { min, max }))
    }
}

fn parse_interval(v: i64) -> Result<i64, FieldError> {
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

fn parse_text(field: &'static str, s: &str, max: usize) -> Result<Option<String>, FieldError> {
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

fn parse_ssh(d: &SshDraft) -> Result<Ssh, FieldError> {
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
fn merge_checks(base: &Checks, d: &ChecksDraft, check: &mut Check) -> Checks {
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

impl HostDraft {
    /// Validate a new host over the defaults, collecting every refused field.
    pub fn validate_new(&self, defaults: &HostDefaults) -> AppResult<NewHost> {
        let mut check = Check::default();
        let name = check.take(parse_name(self.name.as_deref().unwrap_or_default()));
        let address = match &self.address {
            Some(Some(a)) => check.take(parse_address(a)).flatten(),
            _ => None,
        };
        let description = match &self.description {
            Some(Some(d)) => check.take(parse_text("description", d, 1000)).flatten(),
            _ => None,
        };
        let interval = check.take(parse_interval(
            self.interval.unwrap_or(defaults.interval_secs),
        ));
        let tags = check.take(
            self.tags
                .as_ref()
                .map_or(Ok(Tags::default()), |t| Tags::parse(t)),
        );
        let notify = check.take(
            self.notify
                .as_ref()
                .map_or(Ok(Vec::new()), |n| parse_notify(n)),
        );
        let ssh = check.take(self.ssh.as_ref().map_or(Ok(Ssh::default()), parse_ssh));
        let checks = match &self.checks {
            Some(d) => merge_checks(&defaults.checks, d, &mut check),
            None => defaults.checks.clone(),
        };
        check.finish()?;
        match (name, interval, tags, notify, ssh) {
            (Some(name), Some(interval_secs), Some(tags), Some(notify), Some(ssh)) => Ok(NewHost {
                name,
                address,
                description,
                interval_secs,
                tags,
                notify,
                ssh,
                checks,
            }),
            _ => Err(anyhow::anyhow!("a checked draft lost a value").into()),
        }
    }

    /// Validate a change to `current`, collecting every refused field.
    pub fn validate_patch(&self, current: &Model) -> AppResult<HostPatch> {
        let mut check = Check::default();
        let mut patch = HostPatch::default();
        if let Some(name) = &self.name {
            patch.name = check.take(parse_name(name));
        }
        if let Some(address) = &self.address {
            patch.address = match address {
                Some(a) => check.take(parse_address(a)),
                None => Some(None),
            };
        }
        if let Some(description) = &self.description {
            patch.description = match description {
                Some(d) => check.take(parse_text("description", d, 1000)),
                None => Some(None),
            };
        }
        if let Some(interval) = self.interval {
            patch.interval_secs = check.take(parse_interval(interval));
        }
        if let Some(tags) = &self.tags {
            patch.tags = check.take(Tags::parse(tags));
        }
        if let Some(notify) = &self.notify {
            patch.notify = check.take(parse_notify(notify));
        }
        if let Some(ssh) = &self.ssh {
            patch.ssh = check.take(parse_ssh(ssh));
        }
        if let Some(d) = &self.checks {
            patch.checks = Some(merge_checks(&hosts::checks_of(current), d, &mut check));
        }
        check.finish()?;
        Ok(patch)
    }
}

/// The defaults as typed: the interval and the checks, replacing what was saved.
pub fn validate_defaults(interval: i64, checks: &ChecksDraft) -> AppResult<HostDefaults> {
    let mut check = Check::default();
    let interval_secs = check.take(parse_interval(interval));
    let checks = merge_checks(&Checks::default(), checks, &mut check);
    check.finish()?;
    Ok(HostDefaults {
        interval_secs: interval_secs.unwrap_or_default(),
        checks,
    })
}

fn target(m: &Model) -> String {
    format!("{} {}", m.id, m.name)
}

#[tracing::instrument(skip_all, fields(actor = %actor.name, name = ?draft.name))]
pub async fn create(app: &App, actor: &Actor, draft: &HostDraft) -> AppResult<Model> {
    actor.require(Action::EditHosts)?;
    let defaults = hosts::defaults(&app.db).await?;
    let new = draft.validate_new(&defaults)?;
    let row = hosts::create(&app.db, new, app.now()).await?;
    tracing::info!(id = %row.id, name = %row.name, "host created");
    app.audit(actor, "host.create", &target(&row), None).await;
    Ok(row)
}

#[tracing::instrument(skip(app, actor, draft), fields(actor = %actor.name))]
pub async fn update(app: &App, actor: &Actor, id: &str, draft: &HostDraft) -> AppResult<Model> {
    actor.require(Action::EditHosts)?;
    let current = hosts::get(&app.db, id).await?;
    let patch = draft.validate_patch(&current)?;
    let row = hosts::update(&app.db, id, patch, app.now()).await?;
    app.host_deadlines_changed();
    app.audit(actor, "host.update", &target(&row), None).await;
    Ok(row)
}

#[tracing::instrument(skip(app, actor), fields(actor = %actor.name))]
pub async fn pause(app: &App, actor: &Actor, id: &str) -> AppResult<Model> {
    actor.require(Action::EditHosts)?;
    let row = hosts::set_paused(&app.db, id, true, app.now()).await?;
    app.audit(actor, "host.pause", &target(&row), None).await;
    Ok(row)
}

#[tracing::instrument(skip(app, actor), fields(actor = %actor.name))]
pub async fn resume(app: &App, actor: &Actor, id: &str) -> AppResult<Model> {
    actor.require(Action::EditHosts)?;
    let row = hosts::set_paused(&app.db, id, false, app.now()).await?;
    app.host_deadlines_changed();
    app.audit(actor, "host.resume", &target(&row), None).await;
    Ok(row)
}

/// Delete a host with its snapshot, flips, events and alerts; returns what was deleted.
#[tracing::instrument(skip(app, actor), fields(actor = %actor.name))]
pub async fn delete(app: &App, actor: &Actor, id: &str) -> AppResult<Model> {
    actor.require(Action::EditHosts)?;
    let row = hosts::delete(&app.db, id).await?;
    app.live.forget(id);
    tracing::info!(%id, name = %row.name, "host deleted");
    app.audit(actor, "host.delete", &target(&row), None).await;
    Ok(row)
}

pub async fn defaults(app: &App, actor: &Actor) -> AppResult<HostDefaults> {
    actor.require(Action::Read)?;
    Ok(hosts::defaults(&app.db).await?)
}

#[tracing::instrument(skip_all, fields(actor = %actor.name))]
pub async fn set_defaults(
    app: &App,
    actor: &Actor,
    interval: i64,
    checks: &ChecksDraft,
) -> AppResult<HostDefaults> {
    actor.require(Action::EditHosts)?;
    let d = validate_defaults(interval, checks)?;
    let d = hosts::set_defaults(&app.db, &d, app.now()).await?;
    app.audit(actor, "host.defaults", "hosts", None).await;
    Ok(d)
}

/// Adopt a name from the inbox: create the host (the draft may add to it; its name is
/// the reported one unless the draft says otherwise) and take the name out of the inbox.
#[tracing::instrument(skip(app, actor, draft), fields(actor = %actor.name))]
pub async fn adopt(app: &App, actor: &Actor, name: &str, draft: &HostDraft) -> AppResult<Model> {
    actor.require(Action::EditHosts)?;
    let entry = host_reports::inbox_entry(&app.db, name).await?;
    let draft = HostDraft {
        name: Some(draft.name.clone().unwrap_or(entry.name.clone())),
        ..draft.clone()
    };
    let row = create(app, actor, &draft).await?;
    match host_reports::dismiss(&app.db, &entry.name).await {
        Ok(()) | Err(crate::store::StoreError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(row)
}

#[tracing::instrument(skip(app, actor), fields(actor = %actor.name))]
pub async fn dismiss(app: &App, actor: &Actor, name: &str) -> AppResult<()> {
    actor.require(Action::EditHosts)?;
    host_reports::dismiss(&app.db, name).await?;
    app.audit(actor, "host.dismiss", name, None).await;
    Ok(())
}

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
