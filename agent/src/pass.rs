//! One pass: collect every selected host (at most `parallelism` at once), evaluate
//! thresholds, ping once. What `hb-agent run` does, and what tests call directly.

use std::time::Instant;

use futures::future::join_all;
use heartbeats_wire::{DEFAULT_MAX_PING_DATA, PingAccepted};
use tokio::sync::Semaphore;

use heartbeats_wire::hosts as wire;

use crate::client::{ApiClient, ApiError, Auth, PingClient, PingError};
use crate::collect;
use crate::config::{Config, ConfigError, Host, ServerConfig};
use crate::report::{HostReport, Report};
use crate::{thresholds, wire_report};

/// Exit statuses of `hb-agent run` / `check`.
pub mod exit {
    /// All hosts healthy (and, for `run`, the ping was accepted).
    pub const OK: u8 = 0;
    /// Problems found (and, for `run`, reported in the ping).
    pub const PROBLEMS: u8 = 1;
    /// The config file is missing or invalid, or `--host` names no host in it.
    pub const CONFIG: u8 = 2;
    /// The ping did not get through: server unreachable after retries, or it refused.
    pub const SERVER: u8 = 3;
}

#[derive(Debug, Clone, Default)]
pub struct PassOptions {
    /// Ping the server with the result (`run`); `check` leaves it false.
    pub ping: bool,
    /// Only the host with this name or address.
    pub host: Option<String>,
}

#[derive(Debug)]
pub enum PingOutcome {
    /// Not asked to ping.
    Skipped,
    Accepted(PingAccepted),
    Failed(PingError),
}

#[derive(Debug)]
pub struct PassOutcome {
    pub report: Report,
    pub ping: PingOutcome,
}

impl PassOutcome {
    pub fn exit_code(&self) -> u8 {
        if let PingOutcome::Failed(_) = self.ping {
            exit::SERVER
        } else if self.report.problems.is_empty() {
            exit::OK
        } else {
            exit::PROBLEMS
        }
    }
}

/// Failures that stop a pass before it collects anything.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{origin}: no host named {name:?} (give a host's name or address)")]
    UnknownHost { origin: String, name: String },
    #[error("{origin}: server: {source}")]
    Client { origin: String, source: PingError },
}

impl AgentError {
    pub fn exit_code(&self) -> u8 {
        exit::CONFIG
    }
}

/// The ping client the config describes.
pub fn ping_client(server: &ServerConfig) -> Result<PingClient, PingError> {
    Ok(PingClient::new(server.url.as_str(), server.auth.clone())?
        .with_retry(server.retry)
        .with_timeout(server.timeout))
}

#[tracing::instrument(skip_all, fields(config = %cfg.origin, ping = opts.ping))]
pub async fn run_pass(cfg: &Config, opts: &PassOptions) -> Result<PassOutcome, AgentError> {
    let hosts = cfg
        .select_hosts(opts.host.as_deref())
        .ok_or_else(|| AgentError::UnknownHost {
            origin: cfg.origin.clone(),
            name: opts.host.clone().unwrap_or_default(),
        })?;
    // Built before collecting so a bad server setting fails in milliseconds, not
    // after a pass over the whole fleet.
    let client = match opts.ping {
        true => Some(
            ping_client(&cfg.server).map_err(|source| AgentError::Client {
                origin: cfg.origin.clone(),
                source,
            })?,
        ),
        false => None,
    };
    let mut report = Report::new(collect_hosts(cfg, &hosts).await);
    let ping = match client {
        None => PingOutcome::Skipped,
        Some(client) => {
            let data = limit_data(&report.problems, DEFAULT_MAX_PING_DATA);
            match client.ping(&cfg.server.service, &data).await {
                Ok(accepted) => PingOutcome::Accepted(accepted),
                Err(e) => PingOutcome::Failed(e),
            }
        }
    };
    match &ping {
        PingOutcome::Skipped => {}
        PingOutcome::Accepted(a) => {
            report.pinged = true;
            report.service_status = Some(a.status.clone());
        }
        PingOutcome::Failed(e) => report.ping_error = Some(e.to_string()),
    }
    Ok(PassOutcome { report, ping })
}

/// Collects `hosts` concurrently, at most `cfg.parallelism` at once; reports come back
/// in the order of `hosts`.
pub async fn collect_hosts(cfg: &Config, hosts: &[&Host]) -> Vec<HostReport> {
    let permits = Semaphore::new(cfg.parallelism);
    join_all(hosts.iter().map(|host| async {
        // The semaphore lives as long as this function and is never closed.
        let _permit = permits.acquire().await.ok();
        let started = Instant::now();
        match collect::collect(host, &cfg.collect).await {
            Ok(sample) => {
                let eval = thresholds::evaluate(host, &sample);
                HostReport::collected(host, sample, eval, cfg.collect.top, started.elapsed())
            }
            Err(e) => HostReport::failed(host, &e, started.elapsed()),
        }
    }))
    .await
}

/// What became of posting a pass's snapshots as host reports (`run`).
#[derive(Debug)]
pub enum ReportsOutcome {
    /// Not tried: the config has no credentials, which the reports endpoint needs.
    NoCredentials,
    /// The server stored them (some may wait in its inbox of unmanaged hosts).
    Sent {
        accepted: usize,
    },
    /// The server has no reports endpoint: older than this agent. Nothing to say.
    OldServer,
    Failed(ApiError),
}

/// Posts the pass's snapshots to `POST /api/v1/hosts/reports`, so hosts collected by
/// cron get history too. `period` is how often the pass runs (the cron period), in
/// seconds: it goes in each report as its interval, so the server knows when the next
/// one is due; without it the server goes by the interval the host has in its inventory.
/// One try: the next cron run sends fresh ones anyway.
#[tracing::instrument(skip_all, fields(hosts = report.hosts.len()))]
pub async fn post_reports(cfg: &Config, report: &Report, period: Option<u32>) -> ReportsOutcome {
    if cfg.server.auth == Auth::None {
        return ReportsOutcome::NoCredentials;
    }
    let client = match ApiClient::new(cfg.server.url.as_str(), cfg.server.auth.clone()) {
        Ok(c) => c.with_timeout(cfg.server.timeout),
        Err(e) => {
            return ReportsOutcome::Failed(ApiError::BadResponse {
                url: cfg.server.url.to_string(),
                detail: e.to_string(),
            });
        }
    };
    let reports: Vec<wire::HostReport> = report
        .hosts
        .iter()
        .map(|h| {
            let timeout = cfg
                .hosts
                .iter()
                .find(|c| c.label == h.label)
                .map_or(30, |c| c.ssh.command_timeout.as_secs_f64().ceil() as u32);
            let mut r = wire_report::to_wire(h, period.unwrap_or(0), timeout);
            r.interval = period;
            r
        })
        .collect();
    let mut accepted = 0;
    for chunk in reports.chunks(wire::MAX_REPORTS) {
        match client.post_reports(chunk).await {
            Ok(answer) => accepted += answer.accepted,
            Err(ApiError::NotFound { .. }) => return ReportsOutcome::OldServer,
            Err(e) => return ReportsOutcome::Failed(e),
        }
    }
    ReportsOutcome::Sent { accepted }
}

/// The problems joined by newlines, cut to fit the server's data limit with a closing
/// line that says how many were left out.
pub fn limit_data(problems: &[String], max: usize) -> String {
    let full = problems.join("\n");
    if full.len() <= max {
        return full;
    }
    let mut out = String::new();
    for (i, p) in problems.iter().enumerate() {
        let tail = format!("\n... and {} more problem(s)", problems.len() - i);
        if out.len() + p.len() + 1 + tail.len() > max {
            out.push_str(tail.trim_start_matches('\n'));
            return out;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_data_fits_the_limit() {
        let problems: Vec<String> = (0..1000)
            .map(|i| format!("host-{i:04} disk / 93% > 90%"))
            .collect();
        let data = limit_data(&problems, 1000);
        assert!(data.len() <= 1000, "{}", data.len());
        assert!(data.starts_with("host-0000 disk / 93% > 90%\nhost-0001"));
        assert!(data.ends_with("more problem(s)"), "{data}");
        assert_eq!(
            limit_data(&problems[..2], 1000),
            format!("{}\n{}", problems[0], problems[1])
        );
        assert_eq!(limit_data(&[], 1000), "");
    }
}
