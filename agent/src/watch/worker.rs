//! One task per host: collects it at its own interval (its own timer, no lockstep with
//! the other hosts), keeps its master connection, backs off when the host cannot be
//! reached, and hands each snapshot to the outbox.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::Shared;
use super::inventory::HostPlan;
use super::master::Master;
use super::session::Session;
use crate::collect::{self, CollectError, Prepared};
use crate::report::HostReport;
use crate::ssh::RunError;
use crate::{thresholds, wire_report};

/// A host unreachable for a while is tried at most this seldom (or at its interval when
/// that is longer); in between, each cycle reports its last error without a try.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// `Some(plan)`: collect this; `None`: stop (the host was removed, or the agent stops).
pub type PlanSender = watch::Sender<Option<Arc<HostPlan>>>;

pub struct Worker {
    pub plan: PlanSender,
    pub task: JoinHandle<()>,
}

pub fn spawn(plan: Arc<HostPlan>, shared: Arc<Shared>) -> Worker {
    let (tx, rx) = watch::channel(Some(plan.clone()));
    let task = tokio::spawn(run(plan, rx, shared));
    Worker { plan: tx, task }
}

/// What a worker remembers between cycles.
#[derive(Default)]
struct HostState {
    master: Option<Master>,
    /// The long-lived session over `master` that runs each cycle's collection.
    session: Option<Session>,
    /// Consecutive failures to connect.
    failures: u32,
    /// No new try before this.
    retry_at: Option<Instant>,
    last_error: Option<CollectError>,
}

async fn run(
    mut plan: Arc<HostPlan>,
    mut rx: watch::Receiver<Option<Arc<HostPlan>>>,
    shared: Arc<Shared>,
) {
    rx.borrow_and_update();
    let mut state = HostState::default();
    let mut next = Instant::now() + first_offset(&plan.id, plan.interval);
    tracing::debug!(host = %plan.host.label, interval = ?plan.interval, "collecting");
    'cycles: loop {
        tokio::select! {
            changed = rx.changed() => {
                let update = changed.ok().and_then(|()| rx.borrow_and_update().clone());
                match update {
                    Some(new) => {
                        apply(&mut state, &mut plan, new, &mut next).await;
                        continue 'cycles;
                    }
                    None => break 'cycles,
                }
            }
            () = tokio::time::sleep_until(next.into()) => {}
        }
        let tick = next;
        let mut edited = false;
        let report = {
            let cycle = cycle(&mut state, &plan, &shared, tick);
            tokio::pin!(cycle);
            loop {
                tokio::select! {
                    report = &mut cycle => break Some(report),
                    changed = rx.changed() => {
                        // Stopping cuts a collection short; an edit waits for its end.
                        if changed.is_err() || rx.borrow().is_none() {
                            break None;
                        }
                        edited = true;
                    }
                }
            }
        };
        let Some(report) = report else {
            break 'cycles;
        };
        shared.outbox.push(&report);
        next = tick + plan.interval;
        let now = Instant::now();
        if next <= now {
            // Ran past its slot: start again at once, then keep the interval from there.
            shared.stats().overruns += 1;
            next = now;
        }
        if edited {
            let update = rx.borrow_and_update().clone();
            match update {
                Some(new) => apply(&mut state, &mut plan, new, &mut next).await,
                None => break 'cycles,
            }
        }
    }
    disconnect(&mut state).await;
    tracing::debug!(host = %plan.host.label, "stopped");
}

/// An edit from the inventory: a changed address or SSH setting needs a new connection
/// (tried at once); a changed interval takes effect from the next cycle.
async fn apply(
    state: &mut HostState,
    plan: &mut Arc<HostPlan>,
    new: Arc<HostPlan>,
    next: &mut Instant,
) {
    if !plan.same_connection(&new) {
        tracing::info!(host = %new.host.label, "SSH settings changed; reconnecting");
        disconnect(state).await;
        state.failures = 0;
        state.retry_at = None;
    }
    if new.interval != plan.interval {
        *next = (*next).min(Instant::now() + new.interval);
    }
    *plan = new;
}

/// One cycle: the host's snapshot, or the report of why there is none.
async fn cycle(
    state: &mut HostState,
    plan: &HostPlan,
    shared: &Shared,
    tick: Instant,
) -> heartbeats_wire::hosts::HostReport {
    let wire = |report: &HostReport| {
        wire_report::to_wire(report, plan.interval_secs(), plan.timeout_secs())
    };
    if let (Some(at), Some(error)) = (state.retry_at, &state.last_error)
        && Instant::now() < at
    {
        shared.stats().backed_off += 1;
        return wire(&HostReport::failed(&plan.host, error, Duration::ZERO));
    }
    // The semaphore is never closed.
    let _permit = shared.permits.acquire().await.ok();
    let started = Instant::now();
    let mut routed;
    let mut opened = false;
    let host = match &shared.control_dir {
        None => &plan.host,
        Some(dir) => match ensure_master(state, plan, dir, shared).await {
            Ok((path, new)) => {
                opened = new;
                routed = plan.host.clone();
                routed.ssh.control_path = Some(path);
                &routed
            }
            Err(e) => {
                let elapsed = started.elapsed();
                record(shared, elapsed, false);
                let report = HostReport::failed(&plan.host, &e, elapsed);
                fail(state, plan, e, tick);
                return wire(&report);
            }
        },
    };
    let session = if shared.control_dir.is_some() && !host.local {
        match ensure_session(state, host).await {
            Ok(new) => {
                opened |= new;
                Ok(())
            }
            Err(e) => Err(CollectError::Run(e)),
        }
    } else {
        Ok(())
    };
    // A cycle's time is the collection's; opening a master and its session is counted
    // apart (it happens once per host, not per cycle).
    let connected = Instant::now();
    if opened {
        shared.stats().connects.record(connected - started);
    }
    let result = match session {
        Err(e) => Err(e),
        Ok(()) => match state.session.as_mut() {
            Some(session) => {
                let prepared = Prepared::new(host, &plan.collect);
                match session.run(&prepared.args, host.ssh.command_timeout).await {
                    Ok(out) => prepared.finish(&out, session.loop_pid()),
                    Err(e) => {
                        // Timed out or broken: a new session next cycle.
                        if let Some(session) = state.session.take() {
                            session.close().await;
                        }
                        Err(e.into())
                    }
                }
            }
            None => collect::collect(host, &plan.collect).await,
        },
    };
    let elapsed = started.elapsed();
    record(shared, connected.elapsed(), result.is_ok());
    let report = match result {
        Ok(sample) => {
            if state.failures > 0 || state.last_error.is_some() {
                tracing::info!(host = %plan.host.label, "collected again");
            }
            state.failures = 0;
            state.retry_at = None;
            state.last_error = None;
            let eval = thresholds::evaluate(host, &sample);
            HostReport::collected(host, sample, eval, plan.collect.top, elapsed)
        }
        Err(e) => {
            let report = HostReport::failed(host, &e, elapsed);
            if is_connection_error(&e) {
                if let Some(session) = state.session.take() {
                    session.close().await;
                }
                match state.master.take() {
                    // The master broke (the host went away, sshd restarted): the next
                    // cycle opens a new one.
                    Some(master) => master.close().await,
                    None => fail(state, plan, e, tick),
                }
            } else {
                log_error(state, plan, &e);
                state.last_error = Some(e);
            }
            report
        }
    };
    wire(&report)
}

/// The open master's socket, opening one (then `true`) when there is none or it died.
async fn ensure_master(
    state: &mut HostState,
    plan: &HostPlan,
    dir: &super::master::ControlDir,
    shared: &Shared,
) -> Result<(std::path::PathBuf, bool), CollectError> {
    if let Some(master) = &mut state.master {
        if master.is_alive() {
            return Ok((master.path().to_owned(), false));
        }
        let why = master.stderr_after_exit().await;
        tracing::info!(host = %plan.host.label, reason = %why.trim(), "connection lost; reopening");
        disconnect(state).await;
    }
    let master = Master::open(&plan.host, dir.socket_path()).await?;
    shared.stats().masters_opened += 1;
    let path = master.path().to_owned();
    state.master = Some(master);
    Ok((path, true))
}

/// The open session, opening one over the master (then `true`) when there is none or
/// it ended. `host` carries the master's control path.
async fn ensure_session(
    state: &mut HostState,
    host: &crate::config::Host,
) -> Result<bool, RunError> {
    if let Some(session) = &mut state.session {
        if session.is_alive() {
            return Ok(false);
        }
        if let Some(session) = state.session.take() {
            session.close().await;
        }
    }
    state.session = Some(Session::open(host, collect::SCRIPT).await?);
    Ok(true)
}

/// Ends the session, then the master connection under it.
async fn disconnect(state: &mut HostState) {
    if let Some(session) = state.session.take() {
        session.close().await;
    }
    if let Some(master) = state.master.take() {
        master.close().await;
    }
}

/// A failure to reach the host: report it, and wait longer before each new try.
fn fail(state: &mut HostState, plan: &HostPlan, error: CollectError, tick: Instant) {
    state.failures = state.failures.saturating_add(1);
    let delay = backoff(plan.interval, state.failures);
    // Half an interval early, so a delay of one interval means "the next cycle".
    state.retry_at = Some(tick + delay.saturating_sub(plan.interval / 2));
    log_error(state, plan, &error);
    state.last_error = Some(error);
}

fn log_error(state: &HostState, plan: &HostPlan, error: &CollectError) {
    if state.last_error.as_ref() != Some(error) {
        tracing::warn!(host = %plan.host.label, "{error}");
    }
}

/// Wait before try `failures + 1`: one interval, then 2×, 4×, … up to a minute (or one
/// interval, if that is longer).
pub fn backoff(interval: Duration, failures: u32) -> Duration {
    let cap = MAX_BACKOFF.max(interval);
    let factor = 1u32 << failures.saturating_sub(1).min(16);
    interval.saturating_mul(factor).min(cap)
}

fn is_connection_error(e: &CollectError) -> bool {
    matches!(
        e,
        CollectError::Run(
            RunError::Unreachable(_)
                | RunError::HostKeyMismatch
                | RunError::HostKeyUnknown
                | RunError::AuthFailed(_)
                | RunError::Ssh(_)
                | RunError::Spawn { .. }
        )
    )
}

fn record(shared: &Shared, elapsed: Duration, ok: bool) {
    let mut stats = shared.stats();
    stats.collections += 1;
    if !ok {
        stats.failures += 1;
    }
    stats.durations.record(elapsed);
    tracing::debug!(elapsed_ms = elapsed.as_millis() as u64, ok, "collection");
}

/// Where in its interval a host's timer starts: spread over the interval by the host's
/// id, so a fleet with one interval does not collect all at the same instant.
fn first_offset(id: &str, interval: Duration) -> Duration {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut h);
    let ms = u64::try_from(interval.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    Duration::from_millis(h.finish() % ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_interval_up_to_a_minute() {
        let s = Duration::from_secs;
        let five: Vec<Duration> = (1..=6).map(|n| backoff(s(5), n)).collect();
        assert_eq!(five, [s(5), s(10), s(20), s(40), s(60), s(60)]);
        // An interval longer than the cap: once per interval.
        assert_eq!(backoff(s(600), 1), s(600));
        assert_eq!(backoff(s(600), 9), s(600));
        assert_eq!(backoff(s(2), 1000), s(60));
    }

    #[test]
    fn timers_are_spread_over_the_interval() {
        let interval = Duration::from_secs(5);
        let offsets: std::collections::BTreeSet<u128> = (0..50)
            .map(|i| first_offset(&format!("host-{i}"), interval).as_millis() / 1000)
            .collect();
        assert!(offsets.iter().all(|&s| s < 5));
        assert!(offsets.len() >= 4, "{offsets:?}");
        assert_eq!(
            first_offset("a", interval),
            first_offset("a", interval),
            "stable for a host"
        );
    }
}
