//! The old agent's config shape, accepted unchanged so users can move over with their
//! file. Keys are upper case as the old tool wrote them (lower case works too). Keys this
//! agent recognises but has no use for (`SERVER.CHECK_INTERVAL_MIN`, the old daemon's
//! `INTERVAL`, log settings, …) and keys it does not know are not errors, since the old
//! tool ignored them too, but each one is named in a warning ([`warnings`]): nothing in
//! the file is dropped without a word.
//!
//! The old agent's real file (see `agent/config.legacy.example.yaml`):
//!
//! ```yaml
//! SERVER:
//!   IP: "10.20.0.1"            # host, host:port or URL
//!   USER: ops
//!   PASSWD: "s3cret!"
//!   SERVICE: 60y4E
//!   CHECK_INTERVAL_MIN: 30     # the cron period: cron decides, so only warned about
//! AGENT:
//!   SSH:
//!     PORT: 22
//!     USER: root
//!     KEY: /root/.ssh/id_rsa
//! IPS:                         # a map keyed by address ...
//!     10.20.0.11:
//!       DESC: "db-primary"     # the host's label in problem lines and reports
//!       BASIC: {MEM: 90, DISK: 90, CPU: 90}
//!       PROCESS:
//!         - "/usr/sbin/mysqld --defaults-file=/etc/mysql/my.cnf"
//! ```
//!
//! `IPS` may also be a list (`- IP: 10.0.0.3` entries with the same keys, or bare
//! addresses), and the SSH settings may sit directly under `AGENT` (`AGENT.PORT`,
//! `AGENT.USER`, `AGENT.KEY`); `AGENT.SSH` wins where both are set.

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
    ips: LegacyHosts,
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

/// `AGENT:`: this agent's own settings. The SSH ones may sit directly here (the list
/// shape's habit) or in `AGENT.SSH` (the old agent's real file); `AGENT.SSH` wins.
#[derive(Debug, Default, Deserialize)]
struct LegacyAgent {
    #[serde(rename = "SSH", alias = "ssh", default)]
    ssh: LegacySsh,
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

/// `AGENT.SSH:`.
#[derive(Debug, Default, Deserialize)]
struct LegacySsh {
    #[serde(rename = "USER", alias = "user")]
    user: Option<Text>,
    #[serde(rename = "PORT", alias = "port")]
    port: Option<u16>,
    #[serde(
        rename = "KEY",
        alias = "key",
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
}

/// `IPS:` as a map keyed by address (the old agent's real shape) or as a list.
#[derive(Debug, Default)]
struct LegacyHosts(Vec<LegacyHostFields>);

impl<'de> Deserialize<'de> for LegacyHosts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct HostsVisitor;
        impl<'de> Visitor<'de> for HostsVisitor {
            type Value = LegacyHosts;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of address: {DESC, BASIC, PROCESS}, or a list of hosts")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<LegacyHosts, A::Error> {
                let mut hosts = Vec::new();
                while let Some(host) = seq.next_element::<LegacyHost>()? {
                    hosts.push(host.0);
                }
                Ok(LegacyHosts(hosts))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LegacyHosts, A::Error> {
                let mut hosts = Vec::new();
                while let Some(address) = map.next_key::<Text>()? {
                    let address = address.0.trim().to_owned();
                    if address.is_empty() {
                        return Err(de::Error::custom("an empty address as a key"));
                    }
                    // `10.20.0.13:` with nothing under it: default thresholds.
                    let mut fields = map
                        .next_value::<Option<LegacyHostFields>>()?
                        .unwrap_or_default();
                    match &fields.ip {
                        Some(ip) if ip.0.trim() != address => {
                            return Err(de::Error::custom(format!(
                                "{address}: IP {:?} differs from the key it is listed under; remove one",
                                ip.0
                            )));
                        }
                        _ => fields.ip = Some(Text(address)),
                    }
                    hosts.push(fields);
                }
                Ok(LegacyHosts(hosts))
            }
            fn visit_unit<E: de::Error>(self) -> Result<LegacyHosts, E> {
                Ok(LegacyHosts::default())
            }
        }
        d.deserialize_any(HostsVisitor)
    }
}

#[derive(Debug)]
struct LegacyHost(LegacyHostFields);

#[derive(Debug, Default, Deserialize)]
struct LegacyHostFields {
    #[serde(rename = "IP", alias = "ip", alias = "HOST", alias = "ADDRESS")]
    ip: Option<Text>,
    #[serde(rename = "NAME", alias = "name", alias = "HOSTNAME")]
    name: Option<Text>,
    #[serde(
        rename = "DESC",
        alias = "desc",
        alias = "DESCRIPTION",
        alias = "description"
    )]
    desc: Option<Text>,
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

impl LegacyConfig {
    /// The current shape, and warnings about what did not carry over.
    pub fn into_raw(self) -> (RawConfig, Vec<String>) {
        let mut warnings = Vec::new();
        let a = self.agent;
        let s = a.ssh;
        let mut pick = |key: &str, nested: Option<String>, direct: Option<String>| {
            if let (Some(n), Some(d)) = (&nested, &direct)
                && n != d
            {
                warnings.push(format!(
                    "AGENT.SSH.{key} ({n}) and AGENT.{key} ({d}) disagree: using AGENT.SSH.{key}"
                ));
            }
        };
        pick(
            "USER",
            s.user.as_ref().map(|t| t.0.clone()),
            a.user.as_ref().map(|t| t.0.clone()),
        );
        pick(
            "PORT",
            s.port.map(|p| p.to_string()),
            a.port.map(|p| p.to_string()),
        );
        pick(
            "KEY",
            s.key.as_ref().map(|k| k.display().to_string()),
            a.key.as_ref().map(|k| k.display().to_string()),
        );
        let hosts = label_hosts(self.ips.0, &mut warnings);
        let raw = RawConfig {
            server: self.server.0,
            ssh: RawSsh {
                user: s.user.or(a.user),
                port: s.port.or(a.port),
                private_key: s.key.or(a.key),
                known_hosts: s.known_hosts.or(a.known_hosts),
                host_key_policy: s.host_key_policy.or(a.host_key_policy),
                connect_timeout: s.timeout.or(a.timeout),
                command_timeout: a.command_timeout,
                options: Vec::new(),
                parallelism: a.threads,
            },
            collect: RawCollect {
                sample_interval: a.sample,
                top: None,
            },
            defaults: RawHostSettings::default(),
            hosts,
        };
        (raw, warnings)
    }
}

/// `NAME`, else `DESC`, names a host in problem lines and reports. The old tool never
/// required DESC to be unique; where several hosts share one, each is called
/// `DESC (address)` so their problems stay apart.
fn label_hosts(hosts: Vec<LegacyHostFields>, warnings: &mut Vec<String>) -> Vec<RawHost> {
    let desc = |h: &LegacyHostFields| {
        h.desc
            .as_ref()
            .map(|d| d.0.trim().to_owned())
            .filter(|d| !d.is_empty())
    };
    let mut shared: Vec<String> = Vec::new();
    for (i, h) in hosts.iter().enumerate() {
        if h.name.is_some() {
            continue;
        }
        if let Some(d) = desc(h)
            && !shared.contains(&d)
            && hosts[i + 1..]
                .iter()
                .any(|o| o.name.is_none() && desc(o).as_ref() == Some(&d))
        {
            warnings.push(format!(
                "IPS: DESC {d:?} is shared by several hosts; each is labelled \"{d} (address)\""
            ));
            shared.push(d);
        }
    }
    hosts
        .into_iter()
        .map(|h| {
            let address = match &h.ip {
                Some(ip) => ip.0.trim().to_owned(),
                None => "localhost".to_owned(),
            };
            let desc = desc(&h);
            let name = h
                .name
                .as_ref()
                .map(|n| n.0.trim().to_owned())
                .filter(|n| !n.is_empty());
            let (name, description) = match (name, desc) {
                (Some(name), desc) => (Some(name), desc),
                (None, Some(d)) if shared.contains(&d) => (Some(format!("{d} ({address})")), None),
                (None, Some(d)) => (Some(d), None),
                (None, None) => (None, None),
            };
            RawHost {
                address,
                name,
                description,
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
        })
        .collect()
}

/// Keys the old agent's files carry that this agent reads no value from, and why.
const UNUSED: &[(&str, &str)] = &[
    (
        "SERVER.CHECK_INTERVAL_MIN",
        "the old agent's run period; cron (or `hb-agent watch`) decides when checks run, so keep the crontab at that period",
    ),
    (
        "INTERVAL",
        "the old daemon's loop period; `hb-agent run` does one pass per cron call, and `hb-agent watch` takes each host's interval from the server",
    ),
    (
        "CHECK_INTERVAL",
        "the old agent's run period; cron (or `hb-agent watch`) decides when checks run",
    ),
    (
        "LOG",
        "hb-agent logs to stderr (cron mails it, journald keeps it); set the level with RUST_LOG",
    ),
    (
        "PASSWORD",
        "SSH passwords are not used: hb-agent logs in with keys only (set KEY)",
    ),
    (
        "PASSWD",
        "SSH passwords are not used: hb-agent logs in with keys only (set KEY)",
    ),
];

/// The keys each section reads (every spelling the structs above accept).
fn known(section: Section) -> &'static [&'static str] {
    match section {
        Section::Top => &["SERVER", "server", "AGENT", "agent", "IPS", "ips"],
        Section::Server => &[
            "IP",
            "ip",
            "HOST",
            "URL",
            "PORT",
            "port",
            "USER",
            "user",
            "USERNAME",
            "PASSWD",
            "passwd",
            "PASSWORD",
            "password",
            "SERVICE",
            "service",
            "SERVICE_ID",
            "service_id",
            "ID",
            "id",
            "API_KEY",
            "api_key",
            "TOKEN",
            "TIMEOUT",
            "timeout",
            "RETRIES",
            "retries",
        ],
        Section::Agent => &[
            "SSH",
            "ssh",
            "USER",
            "user",
            "SSH_USER",
            "PORT",
            "port",
            "SSH_PORT",
            "KEY",
            "key",
            "SSH_KEY",
            "KEY_FILE",
            "PRIVATE_KEY",
            "KNOWN_HOSTS",
            "known_hosts",
            "HOST_KEY_POLICY",
            "host_key_policy",
            "TIMEOUT",
            "timeout",
            "CONNECT_TIMEOUT",
            "COMMAND_TIMEOUT",
            "command_timeout",
            "THREADS",
            "threads",
            "WORKERS",
            "PARALLELISM",
            "SAMPLE",
            "sample",
            "SAMPLE_INTERVAL",
        ],
        Section::AgentSsh => &[
            "USER",
            "user",
            "PORT",
            "port",
            "KEY",
            "key",
            "KEY_FILE",
            "PRIVATE_KEY",
            "KNOWN_HOSTS",
            "known_hosts",
            "HOST_KEY_POLICY",
            "host_key_policy",
            "TIMEOUT",
            "timeout",
            "CONNECT_TIMEOUT",
        ],
        Section::Host => &[
            "IP",
            "ip",
            "HOST",
            "ADDRESS",
            "NAME",
            "name",
            "HOSTNAME",
            "DESC",
            "desc",
            "DESCRIPTION",
            "description",
            "LOCAL",
            "local",
            "USER",
            "user",
            "PORT",
            "port",
            "KEY",
            "key",
            "BASIC",
            "basic",
            "PROCESS",
            "process",
            "PROCESSES",
        ],
        Section::Basic => &[
            "MEM", "mem", "MEMORY", "DISK", "disk", "CPU", "cpu", "SWAP", "swap", "GPU", "gpu",
            "GPU_MEM", "gpu_mem", "LOAD", "load",
        ],
    }
}

#[derive(Clone, Copy)]
enum Section {
    Top,
    Server,
    Agent,
    AgentSsh,
    Host,
    Basic,
}

/// One warning per key of a legacy file that this agent does not use: the recognised
/// ones say why, the unknown ones say that they are ignored (as the old tool did).
pub fn warnings(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let Some(top) = doc.as_mapping() else {
        return out;
    };
    check_keys(top, "", Section::Top, &mut out);
    let child = |m: &serde_norway::Mapping, names: &[&str]| {
        names
            .iter()
            .find_map(|n| m.get(*n))
            .and_then(Value::as_mapping)
            .cloned()
    };
    if let Some(server) = child(top, &["SERVER", "server"]) {
        check_keys(&server, "SERVER.", Section::Server, &mut out);
    }
    if let Some(agent) = child(top, &["AGENT", "agent"]) {
        check_keys(&agent, "AGENT.", Section::Agent, &mut out);
        if let Some(ssh) = child(&agent, &["SSH", "ssh"]) {
            check_keys(&ssh, "AGENT.SSH.", Section::AgentSsh, &mut out);
        }
    }
    let hosts: Vec<(String, &serde_norway::Mapping)> =
        match ["IPS", "ips"].iter().find_map(|n| top.get(*n)) {
            Some(Value::Mapping(m)) => m
                .iter()
                .filter_map(|(k, v)| Some((format!("IPS.{}.", key_text(k)), v.as_mapping()?)))
                .collect(),
            Some(Value::Sequence(list)) => list
                .iter()
                .enumerate()
                .filter_map(|(i, v)| Some((format!("IPS[{i}]."), v.as_mapping()?)))
                .collect(),
            _ => Vec::new(),
        };
    for (path, host) in hosts {
        check_keys(host, &path, Section::Host, &mut out);
        if let Some(basic) = child(host, &["BASIC", "basic"]) {
            check_keys(&basic, &format!("{path}BASIC."), Section::Basic, &mut out);
        }
    }
    out
}

fn key_text(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        other => serde_norway::to_string(other)
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| "?".to_owned()),
    }
}

fn check_keys(map: &serde_norway::Mapping, path: &str, section: Section, out: &mut Vec<String>) {
    let known = known(section);
    for key in map.keys() {
        let key = key_text(key);
        if known.contains(&key.as_str()) {
            continue;
        }
        let upper = key.to_ascii_uppercase();
        let full = format!("{path}{key}");
        let reason = UNUSED.iter().find_map(|(name, why)| {
            let name_matches = if name.contains('.') {
                format!("{path}{upper}") == *name
            } else {
                upper == *name || upper.starts_with(&format!("{name}_"))
            };
            name_matches.then_some(*why)
        });
        if let Some(why) = reason {
            out.push(format!("{full} is not used: {why}"));
        } else if let Some(spelling) = known.iter().find(|k| k.eq_ignore_ascii_case(&key)) {
            out.push(format!("{full} is ignored: write it as {spelling}"));
        } else {
            out.push(format!(
                "{full} is ignored: hb-agent does not know this key (the old agent ignored unknown keys too)"
            ));
        }
    }
}
