//! The hosts API's request bodies (drafts for `app::hosts`) and responses (wire types).
use std::collections::BTreeMap;

use heartbeats_wire::hosts as wire;
use serde::{Deserialize, Deserializer};

use super::super::services::ListOrString;
use crate::app::hosts::{ChecksDraft, HostDraft, SshDraft, ThresholdDraft};
use crate::app::services::Amount;
use crate::clock::from_ms;
use crate::domain::host::{Checks, HostDefaults, RequiredProcess, Threshold};
use crate::domain::{Tags, notify_from_column};
use crate::entity::hosts::Model;
use crate::store::hosts::{checks_of, problems_of, ssh_of};

/// `null` (`Some(None)`: clear or turn off) apart from absent (`None`: leave as it is).
pub(crate) fn double<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdInput {
    pub limit: f64,
    #[serde(rename = "for")]
    pub for_secs: Option<i64>,
}

impl From<ThresholdInput> for ThresholdDraft {
    fn from(t: ThresholdInput) -> Self {
        Self {
            limit: t.limit,
            for_secs: t.for_secs,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredInput {
    pub pattern: String,
    #[serde(default)]
    pub regex: bool,
    #[serde(default = "one")]
    pub min: u32,
}

fn one() -> u32 {
    1
}

/// Checks in a body: a threshold given replaces it, `null` turns it off, one left out
/// stays as it is (on create: as the defaults have it).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksInput {
    #[serde(default, deserialize_with = "double")]
    pub cpu_pct: Option<Option<ThresholdInput>>,
    #[serde(default, deserialize_with = "double")]
    pub mem_pct: Option<Option<ThresholdInput>>,
    #[serde(default, deserialize_with = "double")]
    pub swap_pct: Option<Option<ThresholdInput>>,
    #[serde(default, deserialize_with = "double")]
    pub disk_pct: Option<Option<ThresholdInput>>,
    pub disk_mounts: Option<BTreeMap<String, ThresholdInput>>,
    #[serde(default, deserialize_with = "double")]
    pub gpu_util_pct: Option<Option<ThresholdInput>>,
    #[serde(default, deserialize_with = "double")]
    pub gpu_mem_pct: Option<Option<ThresholdInput>>,
    #[serde(default, deserialize_with = "double")]
    pub gpu_temp_c: Option<Option<ThresholdInput>>,
    #[serde(default, deserialize_with = "double")]
    pub load_per_core: Option<Option<ThresholdInput>>,
    pub processes: Option<Vec<RequiredInput>>,
    pub units: Option<Vec<String>>,
}

impl ChecksInput {
    pub fn draft(self) -> ChecksDraft {
        let t = |v: Option<Option<ThresholdInput>>| v.map(|o| o.map(ThresholdDraft::from));
        ChecksDraft {
            cpu_pct: t(self.cpu_pct),
            mem_pct: t(self.mem_pct),
            swap_pct: t(self.swap_pct),
            disk_pct: t(self.disk_pct),
            disk_mounts: self
                .disk_mounts
                .map(|m| m.into_iter().map(|(k, v)| (k, v.into())).collect()),
            gpu_util_pct: t(self.gpu_util_pct),
            gpu_mem_pct: t(self.gpu_mem_pct),
            gpu_temp_c: t(self.gpu_temp_c),
            load_per_core: t(self.load_per_core),
            processes: self.processes.map(|list| {
                list.into_iter()
                    .map(|p| RequiredProcess {
                        pattern: p.pattern,
                        regex: p.regex,
                        min: p.min,
                    })
                    .collect()
            }),
            units: self.units,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshInput {
    pub user: Option<String>,
    pub port: Option<i64>,
    pub key: Option<String>,
}

/// Body of create, update and adopt. On update every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostInput {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double")]
    pub address: Option<Option<String>>,
    #[serde(default, deserialize_with = "double")]
    pub description: Option<Option<String>>,
    pub interval: Option<i64>,
    pub tags: Option<ListOrString>,
    pub notify: Option<ListOrString>,
    pub ssh: Option<SshInput>,
    pub checks: Option<ChecksInput>,
    /// `null` or `""`: the default collector.
    #[serde(default, deserialize_with = "double")]
    pub collector: Option<Option<String>>,
    /// Channel ids; on create, left out: the channels marked "default for new".
    pub channels: Option<ListOrString>,
    /// Seconds; `null` or 0: no reminders.
    #[serde(default, deserialize_with = "double")]
    pub remind_every: Option<Option<i64>>,
    pub remind_max: Option<i64>,
}

impl HostInput {
    pub fn draft(self) -> HostDraft {
        HostDraft {
            name: self.name,
            address: self.address,
            description: self.description,
            interval: self.interval,
            tags: self.tags.map(|t| t.items()),
            notify: self.notify.map(|n| n.items()),
            ssh: self.ssh.map(|s| SshDraft {
                user: s.user,
                port: s.port,
                key: s.key,
            }),
            checks: self.checks.map(ChecksInput::draft),
            collector: self.collector,
            channels: self.channels.map(|c| c.items()),
            remind_every: self.remind_every.map(|r| r.map(Amount::Secs)),
            remind_max: self.remind_max,
        }
    }
}

/// Body of `PUT /api/v1/hosts/defaults`: the whole defaults.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultsInput {
    pub interval: i64,
    #[serde(default)]
    pub checks: ChecksInput,
}

fn threshold(t: Option<Threshold>) -> Option<wire::Threshold> {
    t.map(|t| wire::Threshold {
        limit: t.limit,
        for_secs: u32::try_from(t.for_secs).unwrap_or(0),
    })
}

pub fn checks_json(c: &Checks) -> wire::Checks {
    wire::Checks {
        cpu_pct: threshold(c.cpu_pct),
        mem_pct: threshold(c.mem_pct),
        swap_pct: threshold(c.swap_pct),
        disk_pct: threshold(c.disk_pct),
        disk_mounts: c
            .disk_mounts
            .iter()
            .filter_map(|(m, t)| Some((m.clone(), threshold(Some(*t))?)))
            .collect(),
        gpu_util_pct: threshold(c.gpu_util_pct),
        gpu_mem_pct: threshold(c.gpu_mem_pct),
        gpu_temp_c: threshold(c.gpu_temp_c),
        load_per_core: threshold(c.load_per_core),
        processes: c
            .processes
            .iter()
            .map(|p| wire::RequiredProcess {
                pattern: p.pattern.clone(),
                regex: p.regex,
                min: p.min,
            })
            .collect(),
        units: c.units.clone(),
    }
}

pub fn defaults_json(d: &HostDefaults) -> wire::HostDefaults {
    wire::HostDefaults {
        interval: u32::try_from(d.interval_secs).unwrap_or(0),
        checks: checks_json(&d.checks),
    }
}

/// A stored host as the API shows it, with its latest snapshot when given.
pub fn host_json(m: Model, latest: Option<wire::HostReport>) -> wire::Host {
    let ssh = ssh_of(&m);
    wire::Host {
        interval: u32::try_from(m.interval_secs).unwrap_or(0),
        tags: Tags::from_column(&m.tags).into_vec(),
        notify: notify_from_column(&m.notify),
        ssh: wire::SshOverrides {
            user: ssh.user,
            port: ssh.port,
            key: ssh.key,
        },
        checks: checks_json(&checks_of(&m)),
        status: m.status.to_string(),
        status_since: m.status_since.map(from_ms),
        problems: problems_of(&m),
        last_report_at: m.last_report_at.map(from_ms),
        last_ok_at: m.last_ok_at.map(from_ms),
        offline_at: m.next_check_at.map(from_ms),
        created_at: from_ms(m.created_at),
        latest,
        channels: crate::domain::channel::channels_from_column(&m.channels),
        remind_every: m.remind_every_secs,
        remind_max: m.remind_max,
        snoozed_until: m.snoozed_until.map(from_ms),
        collector: m.collector,
        id: m.id,
        name: m.name,
        address: m.address,
        description: m.description,
    }
}
