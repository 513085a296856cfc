//! The config file as written, before defaults are applied. `deny_unknown_fields`
//! everywhere: a misspelt key is an error that names it, not a silently ignored setting.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use url::Url;

use super::values::{
    HostKeyPolicy, Limit, LoadLimit, ProcessRule, Seconds, SshOption, Text, checked_map,
};
use crate::client::{Auth, RetryPolicy};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub server: ServerConfig,
    #[serde(default)]
    pub ssh: RawSsh,
    #[serde(default)]
    pub collect: RawCollect,
    #[serde(default)]
    pub defaults: RawHostSettings,
    pub hosts: Vec<RawHost>,
}

/// Where and how to ping (`server:`).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Base URL of the Heartbeats server; pings go to `{url}/api/pings`.
    pub url: Url,
    /// Id of the service the agent pings.
    pub service: String,
    pub auth: Auth,
    /// Per-request timeout.
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerFields {
    pub url: String,
    pub service: Text,
    pub user: Option<Text>,
    pub password: Option<Text>,
    pub api_key: Option<Text>,
    pub timeout: Option<Seconds>,
    pub retries: Option<u32>,
    pub retry_backoff: Option<Seconds>,
}

impl<'de> Deserialize<'de> for ServerConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked_map::<_, ServerFields, _>(d, ServerConfig::try_from)
    }
}

impl TryFrom<ServerFields> for ServerConfig {
    type Error = String;

    fn try_from(f: ServerFields) -> Result<Self, String> {
        let url = http_url(&f.url)?;
        let service = f.service.0.trim().to_owned();
        if service.is_empty() {
            return Err("`service` is empty: give the id of the service to ping".into());
        }
        let auth = match (f.user, f.password, f.api_key) {
            (None, None, None) => Auth::None,
            (Some(user), Some(password), None) => Auth::Basic {
                user: user.0,
                password: password.0,
            },
            (None, None, Some(key)) => Auth::Bearer(key.0),
            (Some(_), None, None) => return Err("`user` is set without `password`".into()),
            (None, Some(_), None) => return Err("`password` is set without `user`".into()),
            _ => return Err("give either `user` and `password`, or `api_key`, not both".into()),
        };
        let mut retry = RetryPolicy::default();
        if let Some(retries) = f.retries {
            retry.attempts = retries.saturating_add(1);
        }
        if let Some(backoff) = f.retry_backoff {
            retry.initial_backoff = backoff.0;
        }
        Ok(ServerConfig {
            url,
            service,
            auth,
            timeout: f.timeout.map_or(Duration::from_secs(10), |t| t.0),
            retry,
        })
    }
}

/// Parses a server URL, insisting on http(s) so a typo like `hb.lan:5827` (which URL
/// parsers read as scheme `hb.lan`) is caught here rather than at ping time.
pub fn http_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| format!("bad server URL {text:?}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "bad server URL {text:?}: use http://host:port or https://host"
        ));
    }
    Ok(url)
}

/// `ssh:` defaults for every host.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSsh {
    pub user: Option<Text>,
    pub port: Option<u16>,
    #[serde(alias = "identity_file")]
    pub private_key: Option<PathBuf>,
    pub known_hosts: Option<PathBuf>,
    pub host_key_policy: Option<HostKeyPolicy>,
    pub connect_timeout: Option<Seconds>,
    pub command_timeout: Option<Seconds>,
    /// Extra `-o` options passed to ssh as they are.
    #[serde(default)]
    pub options: Vec<SshOption>,
    pub parallelism: Option<usize>,
}

/// A host's `ssh:` overrides (everything but parallelism, which is per pass).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSshOverrides {
    pub user: Option<Text>,
    pub port: Option<u16>,
    #[serde(alias = "identity_file")]
    pub private_key: Option<PathBuf>,
    pub known_hosts: Option<PathBuf>,
    pub host_key_policy: Option<HostKeyPolicy>,
    pub connect_timeout: Option<Seconds>,
    pub command_timeout: Option<Seconds>,
    #[serde(default)]
    pub options: Vec<SshOption>,
}

impl From<&RawSsh> for RawSshOverrides {
    fn from(s: &RawSsh) -> Self {
        RawSshOverrides {
            user: s.user.clone(),
            port: s.port,
            private_key: s.private_key.clone(),
            known_hosts: s.known_hosts.clone(),
            host_key_policy: s.host_key_policy,
            connect_timeout: s.connect_timeout,
            command_timeout: s.command_timeout,
            options: s.options.clone(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCollect {
    pub sample_interval: Option<Seconds>,
    pub top: Option<usize>,
}

/// What `defaults:` and each host share: thresholds and required processes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHostSettings {
    #[serde(default)]
    pub thresholds: RawThresholds,
    #[serde(default)]
    pub processes: Vec<ProcessRule>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawThresholds {
    pub cpu: Option<Limit>,
    #[serde(alias = "mem")]
    pub memory: Option<Limit>,
    pub swap: Option<Limit>,
    pub disk: Option<Limit>,
    /// Per mount point, e.g. `{"/": 90, "/data": 97}`; wins over `disk`.
    #[serde(default)]
    pub disks: BTreeMap<String, Limit>,
    #[serde(alias = "gpu_utilisation", alias = "gpu_utilization")]
    pub gpu_util: Option<Limit>,
    #[serde(alias = "gpu_mem")]
    pub gpu_memory: Option<Limit>,
    pub load_per_core: Option<LoadLimit>,
}

#[derive(Debug)]
pub struct RawHost {
    pub address: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub local: bool,
    pub ssh: RawSshOverrides,
    pub thresholds: RawThresholds,
    pub processes: Vec<ProcessRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostFields {
    pub address: Option<Text>,
    pub name: Option<Text>,
    pub description: Option<String>,
    #[serde(default)]
    pub local: bool,
    #[serde(default)]
    pub ssh: RawSshOverrides,
    #[serde(default)]
    pub thresholds: RawThresholds,
    #[serde(default)]
    pub processes: Vec<ProcessRule>,
}

impl<'de> Deserialize<'de> for RawHost {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked_map::<_, HostFields, _>(d, RawHost::try_from)
    }
}

impl TryFrom<HostFields> for RawHost {
    type Error = String;

    fn try_from(f: HostFields) -> Result<Self, String> {
        let address = match (f.address, f.local) {
            (Some(a), _) if !a.0.trim().is_empty() => a.0.trim().to_owned(),
            (_, true) => "localhost".to_owned(),
            _ => return Err("`address` is missing (or set `local: true`)".into()),
        };
        Ok(RawHost {
            address,
            name: f
                .name
                .map(|n| n.0.trim().to_owned())
                .filter(|n| !n.is_empty()),
            description: f.description,
            local: f.local,
            ssh: f.ssh,
            thresholds: f.thresholds,
            processes: f.processes,
        })
    }
}
