//! `watch`'s settings from its command line and, when given, the config file.
//!
//! A config file for `watch` needs no `hosts` (they come from the server) and no
//! `server.service` (nothing is pinged); the file format requires both, so they are
//! filled in with placeholders when missing, keeping every line where it was so an
//! error still points at the right line.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::client::Auth;
use crate::config::{CollectSettings, Config, ConfigError, HostKeyPolicy, SshOptions};

use super::WatchOptions;
use super::buffer::BufferLimits;
use super::inventory::{Defaults, MAX_INTERVAL, MIN_INTERVAL};

/// The placeholder host's name; never collected.
const PLACEHOLDER: &str = "hb-agent-watch-placeholder";

/// The command line of `watch`, as the binary parsed it.
#[derive(Debug, Clone, Default)]
pub struct WatchArgs {
    pub config: Option<PathBuf>,
    pub server: Option<String>,
    pub key: Option<String>,
    pub key_file: Option<PathBuf>,
    pub collector: Option<String>,
    pub interval: Option<u32>,
    /// `--no-multiplex`: a new SSH connection per cycle.
    pub no_multiplex: bool,
    pub buffer: Option<usize>,
    pub stats_every: Option<u64>,
}

/// The settings `args` describe (re-read on SIGHUP). Errors are one line for the log.
pub fn options(args: &WatchArgs) -> Result<WatchOptions, String> {
    if let Some(i) = args.interval
        && !(MIN_INTERVAL..=MAX_INTERVAL).contains(&i)
    {
        return Err(format!(
            "--interval {i}: use {MIN_INTERVAL} to {MAX_INTERVAL} seconds"
        ));
    }
    let config = match &args.config {
        Some(path) => Some(load_config(path).map_err(|e| e.to_string())?),
        None => None,
    };
    // The file wins: HB_API_KEY may be set in the environment for other tools.
    let key = match (&args.key_file, &args.key) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("--key-file {}: {e}", path.display()))?;
            Some(nonempty(&text, &format!("--key-file {}", path.display()))?)
        }
        (None, Some(key)) => Some(nonempty(key, "--key (or HB_API_KEY)")?),
        (None, None) => None,
    };
    let (server, mut auth, timeout) = match (&args.server, &config) {
        (Some(url), _) => {
            crate::config::raw::http_url(url).map_err(|e| format!("--server: {e}"))?;
            let auth = config
                .as_ref()
                .map_or(Auth::None, |c| c.server.auth.clone());
            let timeout = config
                .as_ref()
                .map_or(Duration::from_secs(10), |c| c.server.timeout);
            (url.trim().to_owned(), auth, timeout)
        }
        (None, Some(c)) => (
            c.server.url.to_string(),
            c.server.auth.clone(),
            c.server.timeout,
        ),
        (None, None) => {
            return Err(
                "say where the server is: --server URL --key KEY (or HB_SERVER and HB_API_KEY), or --config FILE"
                    .into(),
            );
        }
    };
    if let Some(key) = key {
        auth = Auth::Bearer(key);
    }
    if auth == Auth::None {
        return Err(
            "the server needs an API key: --key, --key-file or HB_API_KEY, or `api_key` in the config's server section"
                .into(),
        );
    }
    let (ssh, collect, parallelism) = match &config {
        Some(c) => {
            // Every host of the file has the file's `ssh:` settings; the first one
            // carries them (the placeholder when the file lists none).
            let ssh = c
                .hosts
                .first()
                .map(|h| h.ssh.clone())
                .unwrap_or_else(default_ssh);
            (ssh, c.collect.clone(), c.parallelism)
        }
        None => (
            default_ssh(),
            CollectSettings {
                sample_interval: Duration::from_secs(1),
                top: 5,
            },
            16,
        ),
    };
    let mut buffer = BufferLimits::default();
    if let Some(n) = args.buffer {
        if n == 0 {
            return Err("--buffer: keep at least 1 report".into());
        }
        buffer.reports = n;
    }
    Ok(WatchOptions {
        server,
        auth,
        timeout,
        collector: args.collector.clone().filter(|c| !c.trim().is_empty()),
        defaults: Defaults {
            ssh,
            collect,
            interval: args.interval,
        },
        parallelism,
        multiplex: !args.no_multiplex,
        buffer,
        refresh: Duration::from_secs(10),
        stats_every: Duration::from_secs(args.stats_every.unwrap_or(60).max(1)),
    })
}

fn nonempty(key: &str, what: &str) -> Result<String, String> {
    let key = key.trim();
    if key.is_empty() {
        return Err(format!("{what}: the API key is empty"));
    }
    Ok(key.to_owned())
}

/// OpenSSH's own defaults: the user's `~/.ssh/config`, keys and known_hosts.
fn default_ssh() -> SshOptions {
    SshOptions {
        user: None,
        port: None,
        private_key: None,
        known_hosts: None,
        host_key_policy: HostKeyPolicy::Strict,
        connect_timeout: Duration::from_secs(5),
        command_timeout: Duration::from_secs(30),
        options: Vec::new(),
        control_path: None,
    }
}

/// Loads a config file for `watch`: its `server`, `ssh` and `collect` sections count;
/// hosts listed in it are not collected (a note says so).
pub fn load_config(path: &Path) -> Result<Config, ConfigError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        origin: origin.clone(),
        source,
    })?;
    let listed = serde_norway::from_str::<serde_norway::Value>(&text)
        .ok()
        .and_then(|v| {
            let hosts = v
                .get("hosts")
                .or_else(|| v.get("IPS"))
                .or_else(|| v.get("ips"))?;
            Some(
                hosts.as_sequence().map_or(0, Vec::len) + hosts.as_mapping().map_or(0, |m| m.len()),
            )
        })
        .unwrap_or(0);
    if listed > 0 {
        tracing::info!(
            "{origin}: watch collects the hosts the server lists; the {listed} host(s) in this file are not used"
        );
    }
    from_yaml(&text, &origin)
}

/// [`Config::from_yaml`] with the placeholders `watch` needs; line numbers in errors are
/// those of `text`.
pub fn from_yaml(text: &str, origin: &str) -> Result<Config, ConfigError> {
    let Ok(value) = serde_norway::from_str::<serde_norway::Value>(text) else {
        return Config::from_yaml(text, origin);
    };
    let legacy = crate::config::legacy::looks_legacy(&value);
    let top = value.as_mapping();
    let get = |names: &[&str]| {
        top.and_then(|m| {
            m.iter()
                .find(|(k, _)| {
                    k.as_str()
                        .is_some_and(|k| names.iter().any(|n| k.eq_ignore_ascii_case(n)))
                })
                .map(|(_, v)| v)
        })
    };
    let (hosts_key, server_key, service_keys): (&str, &str, &[&str]) = if legacy {
        ("IPS", "SERVER", &["SERVICE", "SERVICE_ID", "ID"])
    } else {
        ("hosts", "server", &["service"])
    };
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut inserted_after: Option<usize> = None;
    let placeholder_host = if legacy {
        format!("[{{NAME: {PLACEHOLDER}, LOCAL: true}}]")
    } else {
        format!("[{{name: {PLACEHOLDER}, local: true}}]")
    };
    // The file's hosts (one shared with `run` has some) give way to one placeholder,
    // and their lines to empty ones, so `ssh:` alone gives the SSH settings.
    match lines.iter().position(|l| key_line(l, hosts_key)) {
        Some(i) => {
            lines[i] = format!("{hosts_key}: {placeholder_host}");
            for line in lines[i + 1..].iter_mut() {
                let top_level = line
                    .chars()
                    .next()
                    .is_some_and(|c| !c.is_whitespace() && c != '#' && c != '-');
                if top_level {
                    break;
                }
                line.clear();
            }
        }
        None => lines.push(format!("{hosts_key}: {placeholder_host}")),
    }
    if let Some(server) = get(&[server_key]).and_then(|v| v.as_mapping()) {
        let has_service = server.keys().any(|k| {
            k.as_str()
                .is_some_and(|k| service_keys.iter().any(|n| k.eq_ignore_ascii_case(n)))
        });
        let service = format!(
            "{}: {PLACEHOLDER}",
            if legacy { "SERVICE" } else { "service" }
        );
        if !has_service && let Some(i) = lines.iter().position(|l| key_line(l, server_key)) {
            let rest = lines[i].split_once(':').map_or("", |(_, r)| r).trim_start();
            if let Some(inner) = rest.strip_prefix('{') {
                // Flow style, `server: {url: ..., api_key: ...}`: first in the braces.
                let key = &lines[i][..lines[i].len() - rest.len()];
                lines[i] = format!("{key}{{{service}, {inner}");
            } else {
                let indent = lines[i + 1..]
                    .iter()
                    .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
                    .map(|l| &l[..l.len() - l.trim_start().len()])
                    .filter(|i| !i.is_empty())
                    .unwrap_or("  ")
                    .to_owned();
                lines.insert(i + 1, format!("{indent}{service}"));
                inserted_after = Some(i + 1);
            }
        }
    }
    let patched = lines.join("\n") + "\n";
    Config::from_yaml(&patched, origin).map_err(|e| match (e, inserted_after) {
        // Lines are 1-based; the inserted one is line `after + 1`.
        (
            ConfigError::Located {
                origin,
                line,
                column,
                message,
            },
            Some(after),
        ) if line > after + 1 => ConfigError::Located {
            origin,
            line: line - 1,
            column,
            message,
        },
        (e, _) => e,
    })
}

/// `key:` at the start of a line (a top-level key), any case.
fn key_line(line: &str, key: &str) -> bool {
    line.len() > key.len()
        && line.is_char_boundary(key.len())
        && line[..key.len()].eq_ignore_ascii_case(key)
        && line[key.len()..].trim_start().starts_with(':')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Format;

    #[test]
    fn a_watch_config_needs_neither_hosts_nor_a_service() {
        let yaml = "server:\n  url: http://hb.lan:5827\n  api_key: k3y\nssh:\n  user: monitor\n  port: 2222\n";
        let cfg = from_yaml(yaml, "watch.yaml").unwrap();
        assert_eq!(cfg.server.auth, Auth::Bearer("k3y".into()));
        assert_eq!(cfg.hosts.len(), 1);
        assert_eq!(cfg.hosts[0].label, PLACEHOLDER);
        assert_eq!(cfg.hosts[0].ssh.port, Some(2222));
        let args = WatchArgs {
            config: None,
            ..Default::default()
        };
        assert!(
            options(&args)
                .unwrap_err()
                .starts_with("say where the server is")
        );
    }

    #[test]
    fn empty_hosts_and_flow_style_server_are_filled_in() {
        let yaml = "server: {url: \"http://hb.lan\", api_key: k}\nhosts: []   # from the server\n";
        let cfg = from_yaml(yaml, "w.yaml").unwrap();
        assert_eq!(cfg.hosts[0].label, PLACEHOLDER);
        let yaml = "server: {url: \"http://hb.lan\", api_key: k}\nhosts:\n";
        assert!(from_yaml(yaml, "w.yaml").is_ok());
    }

    #[test]
    fn errors_keep_the_files_line_numbers() {
        // `service` is inserted after line 1; the error on line 5 must still say 5.
        let yaml = "server:\n  url: http://hb.lan\n  api_key: k\nssh:\n  port: nope\n";
        let err = from_yaml(yaml, "w.yaml").unwrap_err().to_string();
        assert!(err.starts_with("w.yaml:5:"), "{err}");
        assert!(err.contains("ssh.port"), "{err}");
    }

    #[test]
    fn a_run_config_works_and_its_hosts_give_way() {
        let yaml = "server:\n  url: http://hb.lan\n  service: s1\n  api_key: k\nhosts:\n  - address: 10.0.0.3\n    name: gpu-01\n    ssh: {port: 22}\n# the end\nssh:\n  port: 2222\n";
        let cfg = from_yaml(yaml, "w.yaml").unwrap();
        assert_eq!(cfg.server.service, "s1");
        assert_eq!(cfg.hosts.len(), 1);
        assert_eq!(cfg.hosts[0].label, PLACEHOLDER);
        assert_eq!(
            cfg.hosts[0].ssh.port,
            Some(2222),
            "the ssh: section, not a host's"
        );
    }

    #[test]
    fn the_old_agents_file_works_for_watch() {
        let yaml = "SERVER:\n  IP: \"10.20.0.1\"\n  API_KEY: k\nAGENT:\n  SSH_USER: root\n";
        let cfg = from_yaml(yaml, "legacy.yaml").unwrap();
        assert_eq!(cfg.format, Format::Legacy);
        assert_eq!(cfg.hosts[0].ssh.user.as_deref(), Some("root"));
    }

    #[test]
    fn command_line_settings() {
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("key");
        std::fs::write(&key_file, "  s3cret\n").unwrap();
        let args = WatchArgs {
            server: Some("http://127.0.0.1:5827".into()),
            key_file: Some(key_file),
            collector: Some("rack-7".into()),
            interval: Some(5),
            ..Default::default()
        };
        let o = options(&args).unwrap();
        assert_eq!(o.auth, Auth::Bearer("s3cret".into()));
        assert_eq!(o.collector.as_deref(), Some("rack-7"));
        assert_eq!(o.defaults.interval, Some(5));
        assert!(o.multiplex);
        assert_eq!(o.defaults.ssh.user, None, "OpenSSH's own defaults");

        let bad = |a: WatchArgs| options(&a).unwrap_err();
        assert!(
            bad(WatchArgs {
                interval: Some(1),
                ..args.clone()
            })
            .starts_with("--interval 1:")
        );
        let o = options(&WatchArgs {
            key: Some("from-env".into()),
            ..args.clone()
        })
        .unwrap();
        assert_eq!(o.auth, Auth::Bearer("s3cret".into()), "the file wins");
        assert!(
            bad(WatchArgs {
                key_file: Some("/nonexistent/key".into()),
                ..args.clone()
            })
            .starts_with("--key-file /nonexistent/key:")
        );
        assert!(
            bad(WatchArgs {
                key_file: None,
                ..args.clone()
            })
            .contains("needs an API key")
        );
        assert!(
            bad(WatchArgs {
                server: Some("hb.lan:5827".into()),
                ..args.clone()
            })
            .starts_with("--server: bad server URL")
        );
        assert!(
            bad(WatchArgs {
                key: Some(" ".into()),
                key_file: None,
                ..args
            })
            .contains("the API key is empty")
        );
    }
}
