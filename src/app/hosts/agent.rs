//! What collectors ask of the inventory: the hosts a `hb-agent watch` instance must collect
//! (`GET /api/v1/agent/hosts`), with whether each host's unit list is due for discovery,
//! and the "refresh the unit list" a user asks for on the host page.
use chrono::{DateTime, Utc};
use heartbeats_wire::agent::{AgentHost, AgentHosts};
use heartbeats_wire::hosts::{RequiredProcess, SshOverrides};

use super::super::{Actor, App, AppError, AppResult};
use super::validate::parse_collector;
use crate::clock::to_ms;
use crate::domain::role::Action;
use crate::entity::hosts::Model;
use crate::store::hosts::{self, CollectRow};

/// A discovered unit list older than this is asked for again.
pub const DISCOVERY_MAX_AGE_SECS: i64 = 3600;

/// Whether the host's collector must send `discovered_units` with its next report: never
/// sent, older than an hour, or a user asked for a new list (which clears the time).
pub fn discovery_due(discovered_at: Option<i64>, now: DateTime<Utc>) -> bool {
    discovered_at.is_none_or(|at| to_ms(now) - at >= DISCOVERY_MAX_AGE_SECS * 1000)
}

impl From<&Model> for CollectRow {
    fn from(m: &Model) -> Self {
        Self {
            id: m.id.clone(),
            name: m.name.clone(),
            address: m.address.clone(),
            interval_secs: m.interval_secs,
            ssh_user: m.ssh_user.clone(),
            ssh_port: m.ssh_port,
            ssh_key: m.ssh_key.clone(),
            checks: m.checks.clone(),
            discovered_at: m.discovered_at,
        }
    }
}

/// One host as a collector sees it. Also for the push socket's `config` message:
/// `agent_host(&CollectRow::from(&model), now)`.
pub fn agent_host(r: &CollectRow, now: DateTime<Utc>) -> AgentHost {
    // Rows are validated on the way in; a checks column edited by hand into nonsense is
    // read as the built-in checks, as everywhere else.
    let checks: crate::domain::host::Checks =
        serde_json::from_str(&r.checks).unwrap_or_else(|_| crate::domain::host::Checks::builtin());
    AgentHost {
        id: r.id.clone(),
        name: r.name.clone(),
        address: r.address.clone(),
        interval: u32::try_from(r.interval_secs).unwrap_or(u32::MAX),
        ssh: SshOverrides {
            user: r.ssh_user.clone(),
            port: r.ssh_port.and_then(|p| u16::try_from(p).ok()),
            key: r.ssh_key.clone(),
        },
        processes: checks
            .processes
            .iter()
            .map(|p| RequiredProcess {
                pattern: p.pattern.clone(),
                regex: p.regex,
                min: p.min,
            })
            .collect(),
        units: checks.units,
        discover_units: discovery_due(r.discovered_at, now),
    }
}

/// The hosts the collector named `collector` must collect (`None` or empty: the default
/// collector, i.e. hosts assigned to none): enabled, with an address, in name order. Needs
/// a caller that may send reports (a `ping` or `full` key of a member or admin).
#[tracing::instrument(skip(app, actor), fields(actor = %actor.name))]
pub async fn to_collect(
    app: &App,
    actor: &Actor,
    collector: Option<&str>,
) -> AppResult<AgentHosts> {
    actor.require(Action::Ping)?;
    let collector = match collector {
        Some(c) => parse_collector(c).map_err(AppError::invalid)?,
        None => None,
    };
    let rows = hosts::to_collect(&app.db, collector.as_deref()).await?;
    let now = app.now();
    Ok(AgentHosts {
        hosts: rows.iter().map(|r| agent_host(r, now)).collect(),
    })
}

/// Ask the host's collector for a new unit list with its next report.
#[tracing::instrument(skip(app, actor), fields(actor = %actor.name))]
pub async fn refresh_units(app: &App, actor: &Actor, id: &str) -> AppResult<Model> {
    actor.require(Action::EditHosts)?;
    let row = hosts::forget_discovery(&app.db, id).await?;
    app.audit(
        actor,
        "host.refresh_units",
        &format!("{} {}", row.id, row.name),
        None,
    )
    .await;
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_is_due_when_never_done_or_an_hour_old() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        assert!(discovery_due(None, now));
        assert!(!discovery_due(Some(to_ms(now) - 3_599_999), now));
        assert!(discovery_due(Some(to_ms(now) - 3_600_000), now));
    }
}
