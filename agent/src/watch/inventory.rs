//! The server's host list turned into what a host's worker runs: the agent's own SSH
//! and collection settings, with the host's overrides from the inventory on top.

use std::path::PathBuf;
use std::time::Duration;

use heartbeats_wire::agent::AgentHost;
use heartbeats_wire::hosts::RequiredProcess;

use crate::config::{CollectSettings, Host, ProcessRule, SshOptions, Thresholds};

/// Shortest and longest collection intervals the agent accepts, in seconds.
pub const MIN_INTERVAL: u32 = 2;
pub const MAX_INTERVAL: u32 = 3600;

/// Everything one host's worker needs for a cycle.
#[derive(Debug, Clone)]
pub struct HostPlan {
    /// The inventory's id: what identifies the host across renames.
    pub id: String,
    pub host: Host,
    pub interval: Duration,
    pub collect: CollectSettings,
}

impl HostPlan {
    /// Seconds between collections, as the report states it.
    pub fn interval_secs(&self) -> u32 {
        u32::try_from(self.interval.as_secs()).unwrap_or(MAX_INTERVAL)
    }

    /// The collector's timeout in seconds, as the report states it: the server's online
    /// rule is 2 × interval + timeout.
    pub fn timeout_secs(&self) -> u32 {
        let secs = self.host.ssh.command_timeout.as_secs_f64().ceil();
        u32::try_from(secs as u64).unwrap_or(u32::MAX)
    }

    /// Whether `other` reaches the host the same way (address and SSH settings), so an
    /// open master connection can stay.
    pub fn same_connection(&self, other: &HostPlan) -> bool {
        self.host.address == other.host.address && self.host.ssh == other.host.ssh
    }
}

/// What the agent's own settings give every host.
#[derive(Debug, Clone)]
pub struct Defaults {
    pub ssh: SshOptions,
    pub collect: CollectSettings,
    /// `--interval`: replaces every host's interval.
    pub interval: Option<u32>,
}

/// The plan for one listed host, or why it cannot be collected by this agent.
pub fn plan(host: &AgentHost, defaults: &Defaults) -> Result<HostPlan, String> {
    let address = host
        .address
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .ok_or("it has no address to connect to")?;
    let mut ssh = defaults.ssh.clone();
    if let Some(user) = &host.ssh.user {
        ssh.user = Some(user.clone());
    }
    if let Some(port) = host.ssh.port {
        ssh.port = Some(port);
    }
    if let Some(key) = &host.ssh.key {
        ssh.private_key = Some(expand_home(key));
    }
    ssh.control_path = None;
    let processes = host
        .processes
        .iter()
        .map(process_rule)
        .collect::<Result<Vec<_>, _>>()?;
    let interval = defaults
        .interval
        .unwrap_or(host.interval)
        .clamp(MIN_INTERVAL, MAX_INTERVAL);
    Ok(HostPlan {
        id: host.id.clone(),
        host: Host {
            label: host.name.clone(),
            address: address.to_owned(),
            name: Some(host.name.clone()),
            description: None,
            local: false,
            ssh,
            // The server judges the values against its own checks; the agent only
            // counts the required processes for it.
            thresholds: Thresholds::default(),
            processes,
            units: host.units.clone(),
            discover_units: host.discover_units,
        },
        interval: Duration::from_secs(u64::from(interval)),
        collect: defaults.collect.clone(),
    })
}

fn process_rule(p: &RequiredProcess) -> Result<ProcessRule, String> {
    let mut rule = ProcessRule::substring(p.pattern.clone());
    rule.min = p.min;
    if p.regex {
        rule.regex = Some(regex::Regex::new(&p.pattern).map_err(|e| {
            format!(
                "its process pattern {:?} is not a valid regex: {e}",
                p.pattern
            )
        })?);
    }
    Ok(rule)
}

/// A key path from the inventory may start with `~/`: the home of the agent's user.
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HostKeyPolicy;
    use heartbeats_wire::hosts::SshOverrides;

    fn defaults() -> Defaults {
        Defaults {
            ssh: SshOptions {
                user: Some("monitor".into()),
                port: Some(2222),
                private_key: None,
                known_hosts: Some("/etc/hb-agent/known_hosts".into()),
                host_key_policy: HostKeyPolicy::Strict,
                connect_timeout: Duration::from_secs(5),
                command_timeout: Duration::from_millis(12_500),
                options: vec!["KexAlgorithms=curve25519-sha256".into()],
                control_path: None,
            },
            collect: CollectSettings {
                sample_interval: Duration::from_secs(1),
                top: 5,
            },
            interval: None,
        }
    }

    fn agent_host() -> AgentHost {
        AgentHost {
            id: "h1".into(),
            name: "gpu-01".into(),
            address: Some("10.0.0.3".into()),
            interval: 10,
            ssh: SshOverrides {
                user: None,
                port: Some(22),
                key: Some("/keys/gpu".into()),
            },
            processes: vec![
                RequiredProcess {
                    pattern: "python train.py".into(),
                    regex: false,
                    min: 2,
                },
                RequiredProcess {
                    pattern: "^/usr/sbin/sshd".into(),
                    regex: true,
                    min: 1,
                },
            ],
            units: vec!["nginx.service".into()],
            discover_units: true,
        }
    }

    #[test]
    fn the_inventory_overrides_the_agents_ssh_settings() {
        let p = plan(&agent_host(), &defaults()).unwrap();
        assert_eq!(p.id, "h1");
        assert_eq!(p.host.label, "gpu-01");
        assert_eq!(p.host.address, "10.0.0.3");
        assert_eq!(p.host.ssh.user.as_deref(), Some("monitor"));
        assert_eq!(p.host.ssh.port, Some(22));
        assert_eq!(p.host.ssh.private_key, Some(PathBuf::from("/keys/gpu")));
        assert_eq!(p.host.ssh.options, defaults().ssh.options);
        assert_eq!(p.interval, Duration::from_secs(10));
        assert_eq!((p.interval_secs(), p.timeout_secs()), (10, 13));
        assert_eq!(p.host.units, ["nginx.service"]);
        assert!(p.host.discover_units);
        assert_eq!(p.host.processes.len(), 2);
        assert_eq!(p.host.processes[0].min, 2);
        assert!(p.host.processes[0].matches("/usr/bin/python train.py --epochs 3"));
        assert!(p.host.processes[1].matches("/usr/sbin/sshd -D"));
        assert!(!p.host.processes[1].matches("sudo /usr/sbin/sshd"));
    }

    #[test]
    fn interval_override_and_limits() {
        let mut d = defaults();
        d.interval = Some(5);
        assert_eq!(plan(&agent_host(), &d).unwrap().interval_secs(), 5);
        let mut h = agent_host();
        h.interval = 0;
        assert_eq!(plan(&h, &defaults()).unwrap().interval_secs(), MIN_INTERVAL);
    }

    #[test]
    fn hosts_that_cannot_be_collected_say_why() {
        let mut h = agent_host();
        h.address = None;
        assert_eq!(
            plan(&h, &defaults()).unwrap_err(),
            "it has no address to connect to"
        );
        let mut h = agent_host();
        h.processes[1].pattern = "(".into();
        assert!(
            plan(&h, &defaults())
                .unwrap_err()
                .starts_with("its process pattern \"(\" is not a valid regex")
        );
    }

    #[test]
    fn an_edit_of_the_ssh_target_needs_a_new_connection() {
        let a = plan(&agent_host(), &defaults()).unwrap();
        let mut h = agent_host();
        h.units.push("cron.service".into());
        assert!(a.same_connection(&plan(&h, &defaults()).unwrap()));
        h.ssh.user = Some("root".into());
        assert!(!a.same_connection(&plan(&h, &defaults()).unwrap()));
    }
}
