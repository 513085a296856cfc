//! Hosts: create, update, pause, resume, delete; the defaults for new hosts; the inbox of
//! unmanaged hosts (adopt, dismiss).
pub mod agent;
mod validate;

use super::channels::{parse_reminders, with_list};
use super::services::Amount;
use super::{Actor, App, AppResult, Check};
use crate::domain::host::{Checks, HostDefaults};
use crate::domain::role::Action;
use crate::domain::{Tags, parse_name, parse_notify};
use crate::entity::hosts::Model;
use crate::store::channels::Reminders;
use crate::store::host_inbox;
use crate::store::hosts::{self, HostPatch, NewHost, Ssh};
pub use validate::{
    ChecksDraft, MAX_COLLECTOR, MAX_INTERVAL_SECS, MAX_LIST, SshDraft, ThresholdDraft,
    parse_address, parse_collector,
};
use validate::{merge_checks, parse_interval, parse_ssh, parse_text};

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
    /// The `hb-agent watch` instance that collects the host; `Some(None)` (or an empty
    /// text): the default collector.
    pub collector: Option<Option<String>>,
    /// Channel ids; on create `None` takes the channels marked "default for new" and an
    /// empty list none.
    pub channels: Option<Vec<String>>,
    /// `Some(None)` (or 0, or an empty form field) turns reminders off.
    pub remind_every: Option<Option<Amount>>,
    pub remind_max: Option<i64>,
}

/// A stored row's reminders.
pub fn reminders_of(m: &Model) -> Reminders {
    Reminders {
        every_secs: m.remind_every_secs,
        max: m.remind_max,
    }
}

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
        let collector = match &self.collector {
            Some(Some(c)) => check.take(parse_collector(c)).flatten(),
            _ => None,
        };
        let checks = match &self.checks {
            Some(d) => merge_checks(&defaults.checks, d, &mut check),
            None => defaults.checks.clone(),
        };
        let reminders = parse_reminders(
            self.remind_every.as_ref(),
            self.remind_max,
            Reminders::default(),
            &mut check,
        )
        .unwrap_or_default();
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
                collector,
                channels: self.channels.clone(),
                reminders,
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
        if let Some(collector) = &self.collector {
            patch.collector = match collector {
                Some(c) => check.take(parse_collector(c)),
                None => Some(None),
            };
        }
        patch.reminders = parse_reminders(
            self.remind_every.as_ref(),
            self.remind_max,
            reminders_of(current),
            &mut check,
        );
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
    let checked = draft.validate_new(&defaults);
    let (mut new, channels) = with_list(app, checked, draft.channels.as_deref()).await?;
    if channels.is_some() {
        new.channels = channels;
    }
    let row = hosts::create(&app.db, new, app.now()).await?;
    tracing::info!(id = %row.id, name = %row.name, "host created");
    app.audit(actor, "host.create", &target(&row), None).await;
    Ok(row)
}

#[tracing::instrument(skip(app, actor, draft), fields(actor = %actor.name))]
pub async fn update(app: &App, actor: &Actor, id: &str, draft: &HostDraft) -> AppResult<Model> {
    actor.require(Action::EditHosts)?;
    let current = hosts::get(&app.db, id).await?;
    let checked = draft.validate_patch(&current);
    let (mut patch, channels) = with_list(app, checked, draft.channels.as_deref()).await?;
    patch.channels = channels;
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
    let entry = host_inbox::entry(&app.db, name).await?;
    let draft = HostDraft {
        name: Some(draft.name.clone().unwrap_or(entry.name.clone())),
        ..draft.clone()
    };
    let row = create(app, actor, &draft).await?;
    match host_inbox::dismiss(&app.db, &entry.name).await {
        Ok(()) | Err(crate::store::StoreError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(row)
}

#[tracing::instrument(skip(app, actor), fields(actor = %actor.name))]
pub async fn dismiss(app: &App, actor: &Actor, name: &str) -> AppResult<()> {
    actor.require(Action::EditHosts)?;
    host_inbox::dismiss(&app.db, name).await?;
    app.audit(actor, "host.dismiss", name, None).await;
    Ok(())
}

/// Silence the host's alerts for `minutes` or until `until` (1 minute to 30 days). Its
/// status still changes and shows.
#[tracing::instrument(skip(app, actor), fields(actor = %actor.name))]
pub async fn snooze(
    app: &App,
    actor: &Actor,
    id: &str,
    minutes: Option<i64>,
    until: Option<&str>,
) -> AppResult<Model> {
    actor.require(Action::EditHosts)?;
    snooze_checked(app, actor, id, minutes, until).await
}

async fn snooze_checked(
    app: &App,
    actor: &Actor,
    id: &str,
    minutes: Option<i64>,
    until: Option<&str>,
) -> AppResult<Model> {
    let now = app.now();
    let until = crate::domain::maintenance::snooze_until(now, minutes, until)?;
    let row = hosts::set_snoozed_until(&app.db, id, Some(until), now).await?;
    let detail = format!("until {}", until.to_rfc3339());
    app.audit(actor, "host.snooze", &target(&row), Some(&detail))
        .await;
    Ok(row)
}

/// End the host's snooze: alerts go out again.
#[tracing::instrument(skip(app, actor), fields(actor = %actor.name))]
pub async fn unsnooze(app: &App, actor: &Actor, id: &str) -> AppResult<Model> {
    actor.require(Action::EditHosts)?;
    let row = hosts::set_snoozed_until(&app.db, id, None, app.now()).await?;
    app.audit(actor, "host.unsnooze", &target(&row), None).await;
    Ok(row)
}
