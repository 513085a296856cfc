//! The agent's YAML config: loading, validation, and applying defaults.
//!
//! Two shapes load: the documented one (`server` / `ssh` / `collect` / `defaults` /
//! `hosts`, see `agent/config.example.yaml`) and the old agent's (`SERVER` / `AGENT` /
//! `IPS`, see [`legacy`]). Both end up as one [`Config`] with every default applied, so
//! the rest of the agent never looks at an `Option` that means "inherit".
//!
//! Errors name the file, the line and column, and the key path
//! (`config.yaml:12:5: hosts[2].thresholds.cpu: 150 is out of range: use 0..=100`):
//! values check themselves while being read ([`values`]) so the YAML reader can say where.

pub mod legacy;
pub mod raw;
pub mod values;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use raw::ServerConfig;
pub use values::{HostKeyPolicy, Limit, ProcessRule};

use raw::{RawConfig, RawHost, RawSshOverrides, RawThresholds};

/// Built-in thresholds for hosts and defaults that set none: memory and disk are the
/// two every user expects watched; the rest depend on the workload and stay off.
const BUILTIN_MEMORY: f64 = 90.0;
const BUILTIN_DISK: f64 = 90.0;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{origin}: cannot read the config file: {source}")]
    Read {
        origin: String,
        source: std::io::Error,
    },
    #[error("{origin}:{line}:{column}: {message}")]
    Located {
        origin: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
}

/// Which shape the file was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Current,
    Legacy,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from, for messages.
    pub origin: String,
    pub format: Format,
    pub server: ServerConfig,
    /// At most this many hosts are collected at once.
    pub parallelism: usize,
    pub collect: CollectSettings,
    pub hosts: Vec<Host>,
    /// What the file says that this agent does not act on (a legacy key it has no use
    /// for, an unknown legacy key, a timeout that leaves no time to collect), one
    /// sentence each. Also logged at load; `check` and `run` print them to stderr.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CollectSettings {
    /// Time between the two `/proc/stat` readings that give CPU utilisation.
    pub sample_interval: Duration,
    /// How many processes the report lists by CPU and by memory.
    pub top: usize,
}

#[derive(Debug, Clone)]
pub struct Host {
    /// `name` when set, else `address`: what problems and the report call the host.
    pub label: String,
    pub address: String,
    pub name: Option<String>,
    pub description: Option<String>,
    /// Collect on the agent's own machine, without SSH.
    pub local: bool,
    pub ssh: SshOptions,
    pub thresholds: Thresholds,
    pub processes: Vec<ProcessRule>,
    /// systemd units whose state the collection reads (`systemctl show`).
    pub units: Vec<String>,
    /// Also list every running or enabled service unit (the server asked for discovery).
    pub discover_units: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SshOptions {
    /// `None` leaves the choice to ssh (its config, then the local user name).
    pub user: Option<String>,
    pub port: Option<u16>,
    pub private_key: Option<PathBuf>,
    /// `None` uses ssh's default (`~/.ssh/known_hosts`).
    pub known_hosts: Option<PathBuf>,
    pub host_key_policy: HostKeyPolicy,
    pub connect_timeout: Duration,
    /// The whole collection (connect, sample, run) must finish within this.
    pub command_timeout: Duration,
    /// Extra `-o Key=Value` options, the host's before the defaults' (ssh keeps the
    /// first value it sees for each key).
    pub options: Vec<String>,
    /// An OpenSSH control socket to share one connection between runs (`watch`);
    /// `None`: one connection per run.
    pub control_path: Option<PathBuf>,
}

/// A host's effective thresholds; `None` means not checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thresholds {
    pub cpu: Option<f64>,
    pub memory: Option<f64>,
    pub swap: Option<f64>,
    pub disk: Option<f64>,
    /// Per-mount overrides of `disk`; `None` turns the check off for that mount.
    pub disks: BTreeMap<String, Option<f64>>,
    pub gpu_util: Option<f64>,
    pub gpu_memory: Option<f64>,
    pub load_per_core: Option<f64>,
}

impl Thresholds {
    pub fn for_disk(&self, mount: &str) -> Option<f64> {
        match self.disks.get(mount) {
            Some(limit) => *limit,
            None => self.disk,
        }
    }
}

impl Config {
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            origin: origin.clone(),
            source,
        })?;
        Config::from_yaml(&text, &origin)
    }

    /// Parses a config from text; `origin` names it in errors (usually the file path).
    pub fn from_yaml(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let value: serde_norway::Value =
            serde_norway::from_str(text).map_err(|e| yaml_error(origin, e))?;
        let format = if legacy::looks_legacy(&value) {
            Format::Legacy
        } else {
            Format::Current
        };
        let (raw, warnings) = match format {
            Format::Legacy => {
                let (raw, mut warnings) = serde_norway::from_str::<legacy::LegacyConfig>(text)
                    .map_err(|e| yaml_error(origin, e))?
                    .into_raw();
                warnings.extend(legacy::warnings(&value));
                (raw, warnings)
            }
            Format::Current => match value {
                serde_norway::Value::Null => return Err(invalid(origin, "the file is empty")),
                _ => (
                    serde_norway::from_str::<RawConfig>(text).map_err(|e| yaml_error(origin, e))?,
                    Vec::new(),
                ),
            },
        };
        let cfg = resolve(raw, origin, format, warnings)?;
        for warning in &cfg.warnings {
            tracing::warn!("{origin}: {warning}");
        }
        Ok(cfg)
    }

    /// The hosts a pass covers: all of them, or the one whose name or address is `only`.
    pub fn select_hosts(&self, only: Option<&str>) -> Option<Vec<&Host>> {
        match only {
            None => Some(self.hosts.iter().collect()),
            Some(wanted) => {
                let hits: Vec<&Host> = self
                    .hosts
                    .iter()
                    .filter(|h| h.label == wanted || h.address == wanted)
                    .collect();
                (!hits.is_empty()).then_some(hits)
            }
        }
    }
}

fn invalid(origin: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        origin: origin.to_owned(),
        message: message.into(),
    }
}

/// serde_norway puts the key path first and the location last ("hosts[1].cpu: invalid
/// type … at line 5 column 12"); move the location to the front, compiler style.
fn yaml_error(origin: &str, e: serde_norway::Error) -> ConfigError {
    let text = e.to_string();
    match e.location() {
        Some(loc) => {
            let suffix = format!(" at line {} column {}", loc.line(), loc.column());
            ConfigError::Located {
                origin: origin.to_owned(),
                line: loc.line(),
                column: loc.column(),
                message: text.replacen(&suffix, "", 1),
            }
        }
        None => invalid(origin, text),
    }
}

fn resolve(
    raw: RawConfig,
    origin: &str,
    format: Format,
    mut warnings: Vec<String>,
) -> Result<Config, ConfigError> {
    let hosts_key = match format {
        Format::Current => "hosts",
        Format::Legacy => "IPS",
    };
    if raw.hosts.is_empty() {
        return Err(invalid(
            origin,
            format!("{hosts_key}: no hosts listed; add at least one"),
        ));
    }
    let parallelism = raw.ssh.parallelism.unwrap_or(16);
    if parallelism == 0 {
        return Err(invalid(origin, "ssh.parallelism: must be at least 1"));
    }
    let collect = CollectSettings {
        sample_interval: raw
            .collect
            .sample_interval
            .map_or(Duration::from_secs(1), |s| s.0),
        top: raw.collect.top.unwrap_or(5),
    };
    let ssh_defaults = RawSshOverrides::from(&raw.ssh);
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut hosts = Vec::with_capacity(raw.hosts.len());
    for (i, host) in raw.hosts.into_iter().enumerate() {
        let host = resolve_host(host, &ssh_defaults, &raw.defaults);
        if let Some(first) = seen.insert(host.label.clone(), i) {
            let message = match format {
                Format::Current => format!(
                    "hosts[{i}]: {:?} is also hosts[{first}]; give one of them a distinct `name`",
                    host.label
                ),
                Format::Legacy => format!(
                    "IPS: {:?} is listed twice (entries {} and {}); give one of them a distinct NAME",
                    host.label,
                    first + 1,
                    i + 1
                ),
            };
            return Err(invalid(origin, message));
        }
        let budget = host.ssh.connect_timeout + collect.sample_interval;
        if !host.local && host.ssh.command_timeout <= budget {
            warnings.push(format!(
                "{}: command_timeout {} leaves no time to collect after connect_timeout + sample_interval ({})",
                host.label,
                crate::ssh::human(host.ssh.command_timeout),
                crate::ssh::human(budget)
            ));
        }
        hosts.push(host);
    }
    Ok(Config {
        origin: origin.to_owned(),
        format,
        server: raw.server,
        parallelism,
        collect,
        hosts,
        warnings,
    })
}

fn resolve_host(host: RawHost, ssh: &RawSshOverrides, defaults: &raw::RawHostSettings) -> Host {
    let o = &host.ssh;
    let ssh = SshOptions {
        user: o.user.as_ref().or(ssh.user.as_ref()).map(|u| u.0.clone()),
        port: o.port.or(ssh.port),
        private_key: o
            .private_key
            .as_ref()
            .or(ssh.private_key.as_ref())
            .map(|p| expand_home(p)),
        known_hosts: o
            .known_hosts
            .as_ref()
            .or(ssh.known_hosts.as_ref())
            .map(|p| expand_home(p)),
        host_key_policy: o
            .host_key_policy
            .or(ssh.host_key_policy)
            .unwrap_or_default(),
        connect_timeout: o
            .connect_timeout
            .or(ssh.connect_timeout)
            .map_or(Duration::from_secs(5), |s| s.0),
        command_timeout: o
            .command_timeout
            .or(ssh.command_timeout)
            .map_or(Duration::from_secs(30), |s| s.0),
        options: o
            .options
            .iter()
            .chain(&ssh.options)
            .map(|o| o.0.clone())
            .collect(),
        control_path: None,
    };
    let mut processes = defaults.processes.clone();
    processes.extend(host.processes);
    Host {
        label: host.name.clone().unwrap_or_else(|| host.address.clone()),
        address: host.address,
        name: host.name,
        description: host.description,
        local: host.local,
        ssh,
        thresholds: resolve_thresholds(&host.thresholds, &defaults.thresholds),
        processes,
        units: Vec::new(),
        discover_units: false,
    }
}

fn resolve_thresholds(host: &RawThresholds, defaults: &RawThresholds) -> Thresholds {
    let pick = |h: Option<Limit>, d: Option<Limit>, builtin: Option<f64>| match h.or(d) {
        Some(limit) => limit.value(),
        None => builtin,
    };
    let mut disks: BTreeMap<String, Option<f64>> = defaults
        .disks
        .iter()
        .map(|(m, l)| (m.clone(), l.value()))
        .collect();
    disks.extend(host.disks.iter().map(|(m, l)| (m.clone(), l.value())));
    Thresholds {
        cpu: pick(host.cpu, defaults.cpu, None),
        memory: pick(host.memory, defaults.memory, Some(BUILTIN_MEMORY)),
        swap: pick(host.swap, defaults.swap, None),
        disk: pick(host.disk, defaults.disk, Some(BUILTIN_DISK)),
        disks,
        gpu_util: pick(host.gpu_util, defaults.gpu_util, None),
        gpu_memory: pick(host.gpu_memory, defaults.gpu_memory, None),
        load_per_core: pick(
            host.load_per_core.map(|l| l.0),
            defaults.load_per_core.map(|l| l.0),
            None,
        ),
    }
}

/// `~/.ssh/id_ed25519` in a config means the home of whoever runs the agent, as in a shell.
fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests;
