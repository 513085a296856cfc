//! `hb-agent watch`: collects the fleet continuously. The host list comes from the
//! server (`GET /api/v1/agent/hosts`), fetched every few seconds, so hosts added, edited
//! or removed in the UI are followed without a restart. Each host has its own worker and
//! timer ([`worker`]) and, by default, its own persistent OpenSSH master connection
//! ([`master`]); snapshots go to the server in batches ([`outbox`]), buffered while it
//! cannot be reached ([`buffer`]).

pub mod buffer;
pub mod inventory;
pub mod master;
pub mod outbox;
pub mod session;
pub mod settings;
pub mod stats;
pub mod worker;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use heartbeats_wire::agent::AgentHost;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinHandle;

use crate::client::{ApiClient, ApiError, Auth, PingError};
pub use buffer::BufferLimits;
pub use inventory::{Defaults, HostPlan};
use master::ControlDir;
pub use settings::{WatchArgs, load_config};
pub use stats::Stats;
use worker::Worker;

/// Everything `watch` runs with; [`settings::options`] builds it from the command line
/// and the config file.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// The server's base URL.
    pub server: String,
    pub auth: Auth,
    /// Limit for one request to the server.
    pub timeout: Duration,
    /// `collector=` in the host-list request: the hosts assigned to this collector.
    pub collector: Option<String>,
    pub defaults: Defaults,
    /// At most this many hosts are collected at once.
    pub parallelism: usize,
    /// One persistent master connection per host (`false`: a new connection per cycle).
    pub multiplex: bool,
    pub buffer: BufferLimits,
    /// The longest time between two fetches of the host list; it is fetched more often
    /// when a host's interval is shorter.
    pub refresh: Duration,
    /// How often a summary goes to the log.
    pub stats_every: Duration,
}

/// What the running `watch` can be told (by signals, in the binary).
#[derive(Debug)]
pub enum Control {
    /// Stop: end the workers and their connections, send what is buffered, return.
    Shutdown,
    /// New settings (SIGHUP re-read the config file).
    Reload(Box<WatchOptions>),
}

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("server: {0}")]
    Client(#[from] PingError),
    #[error("cannot create a private directory for the SSH control sockets: {0}")]
    ControlDir(std::io::Error),
}

/// What the workers and the outbox share.
pub struct Shared {
    permits: Semaphore,
    /// Where the master connections listen; `None` without multiplexing.
    control_dir: Option<ControlDir>,
    outbox: outbox::Outbox,
    limits: BufferLimits,
    client: RwLock<ApiClient>,
    stats: Mutex<Stats>,
}

impl Shared {
    fn stats(&self) -> MutexGuard<'_, Stats> {
        self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn client(&self) -> ApiClient {
        self.client
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// A host being collected, and the inventory entry (and settings generation) it was
/// planned from, to notice edits.
struct Entry {
    worker: Worker,
    source: AgentHost,
    generation: u64,
}

/// Runs until told to stop (or `control`'s sender goes away). Returns the whole run's
/// counters.
pub async fn run(
    opts: WatchOptions,
    mut control: mpsc::UnboundedReceiver<Control>,
) -> Result<Stats, WatchError> {
    let mut opts = opts;
    let client = ApiClient::new(&opts.server, opts.auth.clone())?.with_timeout(opts.timeout);
    let control_dir = match opts.multiplex {
        true => Some(ControlDir::create().map_err(WatchError::ControlDir)?),
        false => None,
    };
    let shared = Arc::new(Shared {
        permits: Semaphore::new(opts.parallelism.max(1)),
        control_dir,
        outbox: outbox::Outbox::new(opts.buffer),
        limits: opts.buffer,
        client: RwLock::new(client),
        stats: Mutex::new(Stats::default()),
    });
    tracing::info!(
        server = %opts.server,
        collector = opts.collector.as_deref().unwrap_or("(none)"),
        multiplex = opts.multiplex,
        "watch started"
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    let sender = tokio::spawn(outbox::run(shared.clone(), stop_rx));
    let mut fleet = Fleet::default();
    let mut listed: Option<Vec<AgentHost>> = None;
    let mut fetch = FetchState::default();
    let mut next_fetch = Instant::now();
    let mut total = Stats::default();
    let mut next_stats = Instant::now() + opts.stats_every;
    loop {
        tokio::select! {
            msg = control.recv() => match msg {
                None | Some(Control::Shutdown) => break,
                Some(Control::Reload(new)) => {
                    reload(&mut opts, *new, &shared);
                    fleet.generation += 1;
                    if let Some(hosts) = &listed {
                        fleet.sync(hosts, &opts, &shared);
                    }
                    next_fetch = Instant::now();
                }
            },
            () = tokio::time::sleep_until(next_fetch.into()) => {
                let answer = shared.client().agent_hosts(opts.collector.as_deref()).await;
                next_fetch = Instant::now() + match answer {
                    Ok(list) => {
                        fetch.succeeded(list.hosts.len());
                        fleet.sync(&list.hosts, &opts, &shared);
                        let period = refresh_period(&fleet, &opts);
                        listed = Some(list.hosts);
                        period
                    }
                    Err(e) => fetch.failed(e),
                };
            }
            () = tokio::time::sleep_until(next_stats.into()) => {
                let window = std::mem::take(&mut *shared.stats());
                total.add(&window);
                tracing::info!(
                    "stats (last {} s): {window} buffered={} hosts={}",
                    opts.stats_every.as_secs(),
                    shared.outbox.len(),
                    fleet.entries.len()
                );
                next_stats += opts.stats_every;
            }
        }
    }
    tracing::info!(
        "stopping: closing {} host connection(s)",
        fleet.entries.len()
    );
    fleet.stop_all().await;
    let _ = stop_tx.send(true);
    finish(sender, outbox::FINAL_FLUSH + Duration::from_secs(2)).await;
    total.add(&shared.stats());
    Ok(total)
}

/// The hosts being collected.
#[derive(Default)]
struct Fleet {
    entries: HashMap<String, Entry>,
    /// Hosts listed but not collectable, with the entry that was refused (logged once).
    refused: HashMap<String, AgentHost>,
    /// Workers told to stop, still closing their connection.
    stopping: Vec<JoinHandle<()>>,
    /// Bumped by a reload: every host is planned again.
    generation: u64,
}

impl Fleet {
    /// Starts, updates and stops workers to match the server's list.
    fn sync(&mut self, hosts: &[AgentHost], opts: &WatchOptions, shared: &Arc<Shared>) {
        self.stopping.retain(|t| !t.is_finished());
        let mut listed = std::collections::HashSet::new();
        for host in hosts {
            listed.insert(host.id.as_str());
            if let Some(e) = self.entries.get(&host.id)
                && e.source == *host
                && e.generation == self.generation
            {
                continue;
            }
            match inventory::plan(host, &opts.defaults) {
                Ok(plan) => {
                    self.refused.remove(&host.id);
                    let plan = Arc::new(plan);
                    match self.entries.get_mut(&host.id) {
                        Some(e) => {
                            if e.source != *host {
                                tracing::info!(host = %host.name, "host changed in the inventory");
                            }
                            e.worker.plan.send_replace(Some(plan));
                            e.source = host.clone();
                            e.generation = self.generation;
                        }
                        None => {
                            tracing::info!(
                                host = %host.name,
                                address = %plan.host.address,
                                interval_s = plan.interval_secs(),
                                "collecting"
                            );
                            let worker = worker::spawn(plan, shared.clone());
                            self.entries.insert(
                                host.id.clone(),
                                Entry {
                                    worker,
                                    source: host.clone(),
                                    generation: self.generation,
                                },
                            );
                        }
                    }
                }
                Err(why) => {
                    if self.refused.get(&host.id) != Some(host) {
                        tracing::warn!(host = %host.name, "not collected: {why}");
                        self.refused.insert(host.id.clone(), host.clone());
                    }
                    self.stop(&host.id);
                }
            }
        }
        let gone: Vec<String> = self
            .entries
            .keys()
            .filter(|id| !listed.contains(id.as_str()))
            .cloned()
            .collect();
        for id in gone {
            if let Some(e) = self.entries.get(&id) {
                tracing::info!(host = %e.source.name, "no longer listed; stopped collecting it");
            }
            self.stop(&id);
        }
        self.refused.retain(|id, _| listed.contains(id.as_str()));
    }

    fn stop(&mut self, id: &str) {
        if let Some(e) = self.entries.remove(id) {
            e.worker.plan.send_replace(None);
            self.stopping.push(e.worker.task);
        }
    }

    async fn stop_all(&mut self) {
        let ids: Vec<String> = self.entries.keys().cloned().collect();
        for id in ids {
            self.stop(&id);
        }
        // Workers cut their collection short and close their master within seconds.
        for task in self.stopping.drain(..) {
            finish(task, Duration::from_secs(10)).await;
        }
    }
}

/// Waits for a task, aborting it after `limit`.
async fn finish(mut task: JoinHandle<()>, limit: Duration) {
    if tokio::time::timeout(limit, &mut task).await.is_err() {
        task.abort();
        let _ = task.await;
    }
}

/// At least once per shortest interval, at most every `opts.refresh`.
fn refresh_period(fleet: &Fleet, opts: &WatchOptions) -> Duration {
    fleet
        .entries
        .values()
        .filter_map(|e| e.worker.plan.borrow().as_ref().map(|p| p.interval))
        .min()
        .unwrap_or(opts.refresh)
        .clamp(
            Duration::from_secs(1),
            opts.refresh.max(Duration::from_secs(1)),
        )
}

fn reload(opts: &mut WatchOptions, new: WatchOptions, shared: &Shared) {
    if new.parallelism != opts.parallelism {
        tracing::warn!(
            "ssh.parallelism changed from {} to {}: restart hb-agent to apply it",
            opts.parallelism,
            new.parallelism
        );
    }
    if new.buffer != opts.buffer {
        tracing::warn!("the report buffer's size changes at the next restart");
    }
    match ApiClient::new(&new.server, new.auth.clone()) {
        Ok(client) => {
            *shared.client.write().unwrap_or_else(|e| e.into_inner()) =
                client.with_timeout(new.timeout);
        }
        Err(e) => {
            tracing::error!("reload: server: {e}; keeping the previous settings");
            return;
        }
    }
    let multiplex = opts.multiplex;
    let (parallelism, buffer) = (opts.parallelism, opts.buffer);
    *opts = WatchOptions {
        multiplex,
        parallelism,
        buffer,
        ..new
    };
    tracing::info!("settings reloaded");
}

/// How the host list has been answering; lasting trouble is one log line.
#[derive(Default)]
struct FetchState {
    failures: u32,
    logged: Option<String>,
}

impl FetchState {
    fn succeeded(&mut self, hosts: usize) {
        if self.logged.take().is_some() || self.failures > 0 {
            tracing::info!("the host list is reachable again ({hosts} host(s))");
        }
        self.failures = 0;
    }

    /// Logs the error (once while it lasts) and says when to try again.
    fn failed(&mut self, e: ApiError) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let text = e.to_string();
        let slow = !e.is_unreachable();
        if self.logged.as_deref() != Some(&text) {
            if slow {
                tracing::error!("host list: {text}; trying again every minute");
            } else {
                tracing::warn!("host list: {text}; collecting the hosts already known");
            }
            self.logged = Some(text);
        }
        if slow {
            Duration::from_secs(60)
        } else {
            (Duration::from_secs(1) * (1u32 << self.failures.min(5))).min(Duration::from_secs(30))
        }
    }
}
