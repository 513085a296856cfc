//! The old agent's config shape, accepted unchanged so users can move over with their
//! file. Keys are upper case as the old tool wrote them (lower case works too); keys
//! this agent has no use for (the old daemon's `INTERVAL`, log settings, …) are ignored
//! rather than rejected, since the point is that an old file loads as it is.
//!
//! ```yaml
//! SERVER:
//!   IP: 192.168.1.10        # a host, host:port, or a full URL (http://hb.lan:5827/)
//!   PORT: 5827              # optional; used when IP carries no port
//!   USER: admin             # Basic-auth user name
//!   PASSWD: secret          # Basic-auth password (PASSWORD also accepted)
//!   SERVICE: 60y4E          # id of the service to ping (SERVICE_ID, ID also accepted)
//! AGENT:                    # optional: this agent's own settings
//!   USER: root              # SSH user        (SSH_USER)
//!   PORT: 22                # SSH port        (SSH_PORT)
//!   KEY: /root/.ssh/id_rsa  # private key     (SSH_KEY, KEY_FILE, PRIVATE_KEY)
//!   KNOWN_HOSTS: /root/.ssh/known_hosts
//!   HOST_KEY_POLICY: strict # or accept-new
//!   TIMEOUT: 5              # SSH connect timeout, seconds (CONNECT_TIMEOUT)
//!   COMMAND_TIMEOUT: 30
//!   THREADS: 10             # hosts collected at once (WORKERS, PARALLELISM)
//!   SAMPLE: 1               # CPU sampling interval, seconds (SAMPLE_INTERVAL)
//! IPS:
//!   - IP: 10.0.0.3          # address (HOST, ADDRESS)
//!     NAME: gpu-01          # optional label
//!     USER: ubuntu          # optional per-host SSH user, PORT and KEY too
//!     BASIC: {MEM: 90, DISK: 90, CPU: 95}   # thresholds in %; SWAP, GPU, GPU_MEM, LOAD too
//!     PROCESS:              # command-line substrings that must be running
//!       - python train.py
//!   - 10.0.0.4              # a bare address: default thresholds, no processes
//! ```

use std::fmt;
use std::net::Ipv6Addr;
use std::path::PathBuf;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_norway::Value;
use url::Url;

use super::raw::{
    RawCollect, RawConfig, RawHost, RawHostSettings, RawSsh, RawSshOverrides, RawThresholds,
    ServerConfig, ServerFields, http_url,
};
use super::values::{HostKeyPolicy, Limit, LoadLimit, ProcessRule, Seconds, Text, checked_map};

/// A file is legacy when its top level has the old upper-case sections (or the
/// lower-case `ips` / `agent`, which the current format does not use).
pub fn looks_legacy(value: &Value) -> bool {
    value.as_mapping().is_some_and(|m| {
        m.keys().any(|k| {
            matches!(
                k.as_str(),
                Some("SERVER" | "AGENT" | "IPS" | "ips" | "agent")
            )
        })
    })
}

#[derive(Debug, Deserialize)]
pub struct LegacyConfig {
    #[serde(rename = "SERVER", alias = "server")]
    server: LegacyServer,
    #[serde(rename = "AGENT", alias = "agent", default)]
    agent: LegacyAgent,
    #[serde(rename = "IPS", alias = "ips")]
    ips: Vec<LegacyHost>,
}

#[derive(Debug)]
struct LegacyServer(ServerConfig);

impl<'de> Deserialize<'de> for LegacyServer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked_map::<_, LegacyServerFields, _>(d, LegacyServer::try_from)
    }
}

#[derive(Debug, Deserialize)]
struct LegacyServerFields {
    #[serde(rename = "IP", alias = "ip", alias = "HOST", alias = "URL")]
    ip: Text,
    #[serde(rename = "PORT", alias = "port")]
    port: Option<Text>,
    #[serde(rename = "USER", alias = "user", alias = "USERNAME")]
    user: Option<Text>,
    #[serde(
        rename = "PASSWD",
        alias = "passwd",
        alias = "PASSWORD",
        alias = "password"
    )]
    passwd: Option<Text>,
    #[serde(
        rename = "SERVICE",
        alias = "service",
        alias = "SERVICE_ID",
        alias = "service_id",
        alias = "ID",
        alias = "id"
    )]
    service: Text,
    #[serde(rename = "API_KEY", alias = "api_key", alias = "TOKEN")]
    api_key: Option<Text>,
    #[serde(rename = "TIMEOUT", alias = "timeout")]
    timeout: Option<Seconds>,
    #[serde(rename = "RETRIES", alias = "retries")]
    retries: Option<u32>,
}

impl TryFrom<LegacyServerFields> for LegacyServer {
    type Error = String;

    fn try_from(f: LegacyServerFields) -> Result<Self, String> {
        let url = legacy_server_url(&f.ip.0, f.port.as_ref().map(|p| p.0.as_str()))?;
        ServerConfig::try_from(ServerFields {
            url: url.to_string(),
            service: f.service,
            user: f.user,
            password: f.passwd,
            api_key: f.api_key,
            timeout: f.timeout,
            retries: f.retries,
            retry_backoff: None,
        })
        .map(LegacyServer)
    }
}

/// `SERVER.IP` as the old tool accepted it: `hb.lan`, `hb.lan:8000`, `10.0.0.2`,
/// `::1`, or a full `http(s)://` URL. `PORT` fills in only a missing port; a bare host
/// without one means plain `http://host/` (port 80), as a browser would read it.
pub fn legacy_server_url(ip: &str, port: Option<&str>) -> Result<Url, String> {
    let ip = ip.trim().trim_end_matches('/');
    let text = if ip.contains("://") {
        ip.to_owned()
    } else if ip.parse::<Ipv6Addr>().is_ok() {
        format!("http://[{ip}]")
    } else {
        format!("http://{ip}")
    };
    let mut url = http_url(&text).map_err(|e| format!("IP: {e}"))?;
    if let Some(port) = port.map(str::trim).filter(|p| !p.is_empty()) {
        let port: u16 = port
            .parse()
            .map_err(|_| format!("PORT: {port:?} is not a port number"))?;
        if url.port().is_none() {
            url.set_port(Some(port))
                .map_err(|()| format!("PORT: cannot apply to {text:?}"))?;
        }
    }
    Ok(url)
}

#[derive(Debug, Default, Deserialize)]
struct LegacyAgent {
    #[serde(rename = "USER", alias = "user", alias = "SSH_USER")]
    user: Option<Text>,
    #[serde(rename = "PORT", alias = "port", alias = "SSH_PORT")]
    port: Option<u16>,
    #[serde(
        rename = "KEY",
        alias = "key",
        alias = "SSH_KEY",
        alias = "KEY_FILE",
        alias = "PRIVATE_KEY"
    )]
    key: Option<PathBuf>,
    #[serde(rename = "KNOWN_HOSTS", alias = "known_hosts")]
    known_hosts: Option<PathBuf>,
    #[serde(rename = "HOST_KEY_POLICY", alias = "host_key_policy")]
    host_key_policy: Option<HostKeyPolicy>,
    #[serde(rename = "TIMEOUT", alias = "timeout", alias = "CONNECT_TIMEOUT")]
    timeout: Option<Seconds>,
    #[serde(rename = "COMMAND_TIMEOUT", alias = "command_timeout")]
    command_timeout: Option<Seconds>,
    #[serde(
        rename = "THREADS",
        alias = "threads",
        alias = "WORKERS",
        alias = "PARALLELISM"
    )]
    threads: Option<usize>,
    #[serde(rename = "SAMPLE", alias = "sample", alias = "SAMPLE_INTERVAL")]
    sample: Option<Seconds>,
}

#[derive(Debug)]
struct LegacyHost(LegacyHostFields);

#[derive(Debug, Default, Deserialize)]
struct LegacyHostFields {
    #[serde(rename = "IP", alias = "ip", alias = "HOST", alias = "ADDRESS")]
    ip: Option<Text>,
    #[serde(rename = "NAME", alias = "name", alias = "HOSTNAME")]
    name: Option<Text>,
    #[serde(rename = "DESC", alias = "DESCRIPTION", alias = "description")]
    description: Option<String>,
    #[serde(rename = "LOCAL", alias = "local", default)]
    local: bool,
    #[serde(rename = "USER", alias = "user")]
    user: Option<Text>,
    #[serde(rename = "PORT", alias = "port")]
    port: Option<u16>,
    #[serde(rename = "KEY", alias = "key")]
    key: Option<PathBuf>,
    #[serde(rename = "BASIC", alias = "basic", default)]
    basic: LegacyBasic,
    #[serde(rename = "PROCESS", alias = "process", alias = "PROCESSES", default)]
    process: Processes,
}

impl<'de> Deserialize<'de> for LegacyHost {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct HostVisitor;
        impl<'de> Visitor<'de> for HostVisitor {
            type Value = LegacyHost;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an address, or a map with IP, BASIC and PROCESS")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LegacyHost, E> {
                Ok(LegacyHost(LegacyHostFields {
                    ip: Some(Text(v.to_owned())),
                    ..LegacyHostFields::default()
                }))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<LegacyHost, A::Error> {
                let fields =
                    LegacyHostFields::deserialize(de::value::MapAccessDeserializer::new(map))?;
                if fields.ip.is_none() && !fields.local {
                    return Err(de::Error::custom("`IP` is missing"));
                }
                Ok(LegacyHost(fields))
            }
        }
        d.deserialize_any(HostVisitor)
    }
}

#[derive(Debug, Default, Deserialize)]
struct LegacyBasic {
    #[serde(rename = "MEM", alias = "mem", alias = "MEMORY")]
    mem: Option<Limit>,
    #[serde(rename = "DISK", alias = "disk")]
    disk: Option<Limit>,
    #[serde(rename = "CPU", alias = "cpu")]
    cpu: Option<Limit>,
    #[serde(rename = "SWAP", alias = "swap")]
    swap: Option<Limit>,
    #[serde(rename = "GPU", alias = "gpu")]
    gpu: Option<Limit>,
    #[serde(rename = "GPU_MEM", alias = "gpu_mem")]
    gpu_mem: Option<Limit>,
    #[serde(rename = "LOAD", alias = "load")]
    load: Option<LoadLimit>,
}

/// `PROCESS:` as a list, a single string, or empty.
#[derive(Debug, Default)]
struct Processes(Vec<ProcessRule>);

impl<'de> Deserialize<'de> for Processes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ProcessesVisitor;
        impl<'de> Visitor<'de> for ProcessesVisitor {
            type Value = Processes;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of command-line substrings")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Processes, E> {
                Ok(Processes::default())
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Processes, E> {
                Ok(Processes(vec![ProcessRule::substring(v.trim())]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Processes, A::Error> {
                let mut rules = Vec::new();
                while let Some(rule) = seq.next_element::<ProcessRule>()? {
                    rules.push(rule);
                }
                Ok(Processes(rules))
            }
        }
        d.deserialize_any(ProcessesVisitor)
    }
}

impl From<LegacyConfig> for RawConfig {
    fn from(l: LegacyConfig) -> Self {
        let a = l.agent;
        RawConfig {
            server: l.server.0,
            ssh: RawSsh {
                user: a.user,
                port: a.port,
                private_key: a.key,
                known_hosts: a.known_hosts,
                host_key_policy: a.host_key_policy,
                connect_timeout: a.timeout,
                command_timeout: a.command_timeout,
                options: Vec::new(),
                parallelism: a.threads,
            },
            collect: RawCollect {
                sample_interval: a.sample,
                top: None,
            },
            defaults: RawHostSettings::default(),
            hosts: l.ips.into_iter().map(|h| legacy_host(h.0)).collect(),
        }
    }
}

fn legacy_host(h: LegacyHostFields) -> RawHost {
    let address = match (h.ip, h.local) {
        (Some(ip), _) => ip.0.trim().to_owned(),
        (None, _) => "localhost".to_owned(),
    };
    RawHost {
        address,
        name: h
            .name
            .map(|n| n.0.trim().to_owned())
            .filter(|n| !n.is_empty()),
        description: h.description,
        local: h.local,
        ssh: RawSshOverrides {
            user: h.user,
            port: h.port,
            private_key: h.key,
            ..RawSshOverrides::default()
        },
        thresholds: RawThresholds {
            cpu: h.basic.cpu,
            memory: h.basic.mem,
            swap: h.basic.swap,
            disk: h.basic.disk,
            disks: Default::default(),
            gpu_util: h.basic.gpu,
            gpu_memory: h.basic.gpu_mem,
            load_per_core: h.basic.load,
        },
        processes: h.process.0,
    }
}
