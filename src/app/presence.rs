//! Push agents' presence: `hb-agent push` keeps a WebSocket open and the socket itself says
//! the host is there. Once it closes and no new socket for the same name comes within the
//! grace time (`HB_AGENT_GRACE_SECS`), the host is offline: the host's offline deadline is
//! brought forward to close time + grace, and the staleness job does the rest (a flip to
//! down, one alert). A new socket's first report brings the host back up through the
//! normal report path.
//!
//! One socket per name: a newer one replaces the older, which is told and closed (two
//! agents with the same name, or a reconnect before the old socket timed out).
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Duration;
use heartbeats_wire::agent::AgentHost;
use heartbeats_wire::hosts::{RequiredProcess, SshOverrides};
use serde_json::Value;
use tokio::sync::oneshot;

use super::{Actor, App, AppError, AppResult};
use crate::domain::role::Action;
use crate::domain::{Problem, parse_name};
use crate::entity::hosts::Model;
use crate::store;

/// The default `HB_AGENT_GRACE_SECS`.
pub const DEFAULT_GRACE_SECS: u32 = 30;

/// The sockets of this process, by host name key.
pub struct Presence {
    grace: Duration,
    next_id: AtomicU64,
    sockets: Mutex<HashMap<String, Socket>>,
    refused_frames: AtomicU64,
}

struct Socket {
    id: u64,
    /// Fired when a newer socket takes the name.
    replaced: oneshot::Sender<()>,
}

impl Default for Presence {
    fn default() -> Self {
        Self::new(Duration::seconds(i64::from(DEFAULT_GRACE_SECS)))
    }
}

impl Presence {
    pub fn new(grace: Duration) -> Self {
        Self {
            grace,
            next_id: AtomicU64::new(1),
            sockets: Mutex::new(HashMap::new()),
            refused_frames: AtomicU64::new(0),
        }
    }

    pub fn grace(&self) -> Duration {
        self.grace
    }

    /// Sockets open now.
    pub fn connected(&self) -> usize {
        self.lock().len()
    }

    /// Counts a refused frame (malformed, oversized, binary, out of order); returns the
    /// count since start for the log line.
    pub fn refused_frame(&self) -> u64 {
        self.refused_frames.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Frames refused since start.
    pub fn refused_frames(&self) -> u64 {
        self.refused_frames.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Socket>> {
        // A panic while holding the map leaves it consistent (single inserts and removes).
        self.sockets.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One open socket that said hello.
#[derive(Debug)]
pub struct Connection {
    /// The host's name as the hello gave it (trimmed).
    pub name: String,
    key: String,
    id: u64,
    /// What the agent must collect; `None` while the name is not in the inventory.
    pub host: Option<AgentHost>,
    /// Resolves when a newer socket for the same name replaced this one.
    pub replaced: oneshot::Receiver<()>,
}

/// The first frame: checks the caller may send reports, the name, looks the host up and
/// registers the socket (replacing an older one for the same name).
#[tracing::instrument(skip(app, actor), fields(actor = %actor.name))]
pub async fn hello(app: &App, actor: &Actor, name: &str) -> AppResult<Connection> {
    actor.require(Action::Ping)?;
    let name = parse_name(name).map_err(|e| AppError::InvalidAt {
        path: "name".into(),
        problem: e.problem,
    })?;
    let host = store::hosts::by_name(&app.db, &name).await?.map(agent_host);
    let key = store::hosts::name_key(&name);
    let id = app.presence.next_id.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = oneshot::channel();
    let older = app
        .presence
        .lock()
        .insert(key.clone(), Socket { id, replaced: tx });
    if let Some(older) = older {
        tracing::info!(host = %name, "a new connection for this host replaces the older one, which is closed");
        let _ = older.replaced.send(());
    }
    Ok(Connection {
        name,
        key,
        id,
        host,
        replaced: rx,
    })
}

/// One report frame's `report`, stored exactly as `POST /api/v1/hosts/reports` stores a
/// body of one report. A report without a name is the socket's host; one naming another
/// host is refused. Returns the host's status after it (or `unmanaged`).
pub async fn report(
    app: &App,
    actor: &Actor,
    conn: &Connection,
    mut report: Value,
    source: Option<&str>,
) -> AppResult<String> {
    let Value::Object(fields) = &mut report else {
        return Err(AppError::InvalidAt {
            path: "report".into(),
            problem: Problem::WrongType {
                expected: "a report object",
            },
        });
    };
    if fields.contains_key("reports") {
        return Err(AppError::InvalidAt {
            path: "report.reports".into(),
            problem: Problem::WrongType {
                expected: "one report per frame, not a batch",
            },
        });
    }
    let named = ["name", "node_id", "host"].into_iter().find_map(|k| {
        fields
            .get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(|n| (k, n.to_owned()))
    });
    match named {
        None => {
            fields.insert("name".into(), Value::String(conn.name.clone()));
        }
        Some((field, other)) if store::hosts::name_key(&other) != conn.key => {
            return Err(AppError::InvalidAt {
                path: format!("report.{field}"),
                problem: Problem::WrongType {
                    expected: "the name this connection said hello with (one socket reports for one host)",
                },
            });
        }
        Some(_) => {}
    }
    let stored = super::reports::ingest(app, actor, report, source).await?;
    Ok(stored
        .into_iter()
        .next()
        .and_then(|s| s.status)
        .map_or_else(|| "unmanaged".to_owned(), |st| st.to_string()))
}

/// The socket closed. Unless a newer socket took the name, the host is offline once the
/// grace time has passed: its offline deadline moves to now + grace (never later than it
/// already is), and the staleness job is told.
pub async fn closed(app: &App, conn: Connection) {
    {
        let mut sockets = app.presence.lock();
        match sockets.get(&conn.key) {
            Some(s) if s.id == conn.id => {
                sockets.remove(&conn.key);
            }
            // Replaced: the newer socket is the host's presence now.
            _ => return,
        }
    }
    let now = app.now();
    let deadline = now + app.presence.grace;
    match store::agent_presence::offline_by(&app.db, &conn.name, deadline, now).await {
        Ok(true) => {
            tracing::info!(host = %conn.name, %deadline, "agent disconnected; offline unless it reconnects by then");
            if let Some(wake) = &app.host_wake {
                wake.hint(Some(deadline));
            }
        }
        Ok(false) => {
            tracing::debug!(host = %conn.name, "agent disconnected; the offline deadline stays")
        }
        Err(e) => {
            // The report deadline still holds: the host goes offline later, not never.
            tracing::warn!(host = %conn.name, error = %e, "cannot bring the offline deadline forward")
        }
    }
}

/// A stored host as the agent needs it.
pub fn agent_host(m: Model) -> AgentHost {
    let checks = store::hosts::checks_of(&m);
    let ssh = store::hosts::ssh_of(&m);
    AgentHost {
        id: m.id,
        name: m.name,
        address: m.address,
        interval: u32::try_from(m.interval_secs).unwrap_or(60),
        ssh: SshOverrides {
            user: ssh.user,
            port: ssh.port,
            key: ssh.key,
        },
        processes: checks
            .processes
            .iter()
            .map(|p| RequiredProcess {
                pattern: p.pattern.clone(),
                regex: p.regex,
                min: p.min,
            })
            .collect(),
        units: checks.units.clone(),
        discover_units: false,
    }
}
