//! Storing host reports. A request's reports commit together (status changes, flips,
//! outbox rows, events, latest snapshots, inbox entries) before its reply; the
//! [`ReportWriter`] groups the requests that arrive together into one transaction, so one
//! disk sync and a handful of statements serve thousands of snapshots.
//!
//! Checks are evaluated from the state read (and locked) in the same transaction, so two
//! instances ingesting the same host take turns and flip it once.
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect,
};
use tokio::sync::{mpsc, oneshot};

use super::hosts::{TRACKING_COLUMNS, apply_tracking, checks_of, name_key, tracking_of};
use super::log_sync::{LogSync, confirmed};
use super::services::begin_write;
use super::{StoreError, StoreResult, failure, host_events};
use crate::clock::to_ms;
use crate::db::WriterDb;
use crate::domain::host::HostStatus;
use crate::domain::host_status::{Change, HostEvent, HostTiming, Snapshot, on_error, on_snapshot};
use crate::entity::{host_latest, hosts};

/// One report, validated.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub name: String,
    /// When the values were collected.
    pub at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    /// The collector could not reach the host.
    pub error: Option<String>,
    pub snapshot: Snapshot,
    /// The report as JSON: the latest snapshot the live view shows.
    pub json: String,
    pub source: Option<String>,
    /// The values as time-series samples, for the roll-ups (not stored by the writer).
    pub samples: Vec<crate::domain::metrics::Sample>,
}

/// What storing one report did.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub name: String,
    /// `None`: not in the inventory; the report waits in the inbox.
    pub host_id: Option<String>,
    pub status: Option<HostStatus>,
}

/// A host's latest snapshot, as the live view keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Latest {
    pub at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub json: Arc<str>,
}

/// Called after each commit.
pub trait ReportHooks: Send + Sync + 'static {
    /// The earliest new offline deadline, how many alerts were queued, and the hosts'
    /// new latest snapshots.
    fn committed(
        &self,
        earliest_check: Option<DateTime<Utc>>,
        alerts_queued: usize,
        latest: Vec<(String, Latest)>,
    );
}

type Reply = oneshot::Sender<StoreResult<Vec<Stored>>>;

/// Reports are written by one task, in as few transactions as the load allows.
#[derive(Clone)]
pub struct ReportWriter {
    tx: mpsc::Sender<(Vec<Incoming>, Reply)>,
}

/// Most snapshots in one transaction; a request is never split.
const MAX_GROUP: usize = 2000;

impl ReportWriter {
    pub fn spawn(writer: WriterDb, hooks: Arc<dyn ReportHooks>) -> Self {
        let (tx, rx) = mpsc::channel(1024);
        tokio::spawn(run_writer(writer, rx, hooks));
        Self { tx }
    }

    /// Store one request's reports, all or none.
    pub async fn submit(&self, reports: Vec<Incoming>) -> StoreResult<Vec<Stored>> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((reports, reply))
            .await
            .map_err(|_| StoreError::Unavailable("the report writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the report writer dropped the request".into()))?
    }
}

async fn run_writer(
    writer: WriterDb,
    mut rx: mpsc::Receiver<(Vec<Incoming>, Reply)>,
    hooks: Arc<dyn ReportHooks>,
) {
    let WriterDb { db, log_sync } = writer;
    let mut waiting = Vec::new();
    while rx.recv_many(&mut waiting, 256).await > 0 {
        let mut pending: std::collections::VecDeque<_> = waiting.drain(..).collect();
        while !pending.is_empty() {
            // Take whole requests up to the group size (at least one).
            let mut group = Vec::new();
            let mut size = 0;
            while let Some((reports, _)) = pending.front() {
                if !group.is_empty() && size + reports.len() > MAX_GROUP {
                    break;
                }
                size += reports.len();
                if let Some(item) = pending.pop_front() {
                    group.push(item);
                }
            }
            let answers = write_group(&db, group, hooks.as_ref()).await;
            answer(answers, log_sync.as_ref()).await;
        }
    }
}

/// Write a group in one transaction; when it fails for one request's sake, each request
/// alone, so one bad request does not fail its neighbours.
/// Returns each request's reply and result, to send once the commits are durable.
async fn write_group(
    db: &DatabaseConnection,
    group: Vec<(Vec<Incoming>, Reply)>,
    hooks: &dyn ReportHooks,
) -> Vec<(Reply, StoreResult<Vec<Stored>>)> {
    let (requests, replies): (Vec<_>, Vec<_>) = group.into_iter().unzip();
    match write_batch(db, &requests).await {
        Ok(written) => {
            hooks.committed(written.earliest, written.alerts, written.latest);
            replies
                .into_iter()
                .zip(written.stored)
                .map(|(reply, stored)| (reply, Ok(stored)))
                .collect()
        }
        Err(err) if failure::is_unavailable(&err) || requests.len() == 1 => {
            tracing::error!(error = %err, requests = requests.len(), "report batch failed");
            let fail = |err: &DbErr| {
                if failure::is_unavailable(err) {
                    StoreError::Unavailable(err.to_string())
                } else {
                    StoreError::Db(DbErr::Custom(err.to_string()))
                }
            };
            replies
                .into_iter()
                .map(|reply| (reply, Err(fail(&err))))
                .collect()
        }
        Err(err) => {
            tracing::warn!(error = %err, requests = requests.len(), "report batch failed; retrying each request alone");
            let mut answers = Vec::with_capacity(replies.len());
            for (request, reply) in requests.into_iter().zip(replies) {
                let result = match write_batch(db, std::slice::from_ref(&request)).await {
                    Ok(mut written) => {
                        let stored = written.stored.pop().unwrap_or_default();
                        hooks.committed(written.earliest, written.alerts, written.latest);
                        Ok(stored)
                    }
                    Err(e) if failure::is_unavailable(&e) => {
                        Err(StoreError::Unavailable(e.to_string()))
                    }
                    Err(e) => Err(StoreError::Db(e)),
                };
                answers.push((reply, result));
            }
            answers
        }
    }
}

/// Send each request its result once the commits are on disk ([`LogSync`]); a stored
/// request whose commit the disk did not confirm is answered as unavailable.
async fn answer(answers: Vec<(Reply, StoreResult<Vec<Stored>>)>, log_sync: Option<&LogSync>) {
    let synced = match log_sync {
        Some(sync) if answers.iter().any(|(_, r)| r.is_ok()) => sync.committed().await,
        _ => Ok(()),
    };
    for (reply, result) in answers {
        let _ = reply.send(confirmed(&synced, result));
    }
}

/// What a committed batch did.
pub struct Written {
    /// Per request, per report.
    pub stored: Vec<Vec<Stored>>,
    pub earliest: Option<DateTime<Utc>>,
    pub alerts: usize,
    pub latest: Vec<(String, Latest)>,
}

/// Reports from one name not in the inventory, in one batch.
pub(super) struct Unknown {
    pub(super) name: String,
    pub(super) first: i64,
    pub(super) last: i64,
    pub(super) count: i64,
    pub(super) source: Option<String>,
    pub(super) json: String,
}

/// Write requests in one transaction. The error means nothing was committed.
#[tracing::instrument(level = "debug", skip_all, fields(requests = requests.len()))]
pub async fn write_batch(
    db: &DatabaseConnection,
    requests: &[Vec<Incoming>],
) -> Result<Written, DbErr> {
    let txn = begin_write(db).await?;
    let mut keys: Vec<String> = requests
        .iter()
        .flatten()
        .map(|r| name_key(&r.name))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    // Rows locked in id order in every process: no deadlocks between writers.
    let mut rows: BTreeMap<String, (hosts::Model, bool)> = BTreeMap::new();
    for chunk in keys.chunks(1000) {
        let found = hosts::Entity::find()
            .filter(hosts::Column::NameKey.is_in(chunk.iter().cloned()))
            .order_by_asc(hosts::Column::Id)
            .lock_exclusive()
            .all(&txn)
            .await?;
        for m in found {
            rows.insert(m.name_key.clone(), (m, false));
        }
    }
    let before: HashMap<String, HostStatus> = rows
        .values()
        .map(|(m, _)| (m.id.clone(), m.status))
        .collect();
    let mut stored = Vec::with_capacity(requests.len());
    let mut changes: Vec<(String, Change)> = Vec::new();
    let mut latest: BTreeMap<String, Latest> = BTreeMap::new();
    let mut unknown: BTreeMap<String, Unknown> = BTreeMap::new();
    for request in requests {
        let mut results = Vec::with_capacity(request.len());
        for r in request {
            let key = name_key(&r.name);
            let Some((m, dirty)) = rows.get_mut(&key) else {
                let at = to_ms(r.received_at);
                let entry = unknown.entry(key).or_insert_with(|| Unknown {
                    name: r.name.clone(),
                    first: at,
                    last: at,
                    count: 0,
                    source: None,
                    json: String::new(),
                });
                entry.last = at;
                entry.count += 1;
                entry.source.clone_from(&r.source);
                entry.json.clone_from(&r.json);
                results.push(Stored {
                    name: r.name.clone(),
                    host_id: None,
                    status: None,
                });
                continue;
            };
            // A snapshot older than the one the host has is history, not news.
            let stale = m.last_report_at.is_some_and(|last| to_ms(r.at) < last);
            if !stale {
                let current = tracking_of(m);
                let change = match &r.error {
                    Some(error) => on_error(&current, error, r.at),
                    None => {
                        let checks = checks_of(m);
                        let timing = HostTiming {
                            interval_secs: m.interval_secs,
                            checks: &checks,
                        };
                        on_snapshot(&current, timing, &r.snapshot, r.at)
                    }
                };
                apply_tracking(m, &change.next);
                *dirty = true;
                latest.insert(
                    m.id.clone(),
                    Latest {
                        at: r.at,
                        received_at: r.received_at,
                        json: Arc::from(r.json.as_str()),
                    },
                );
                if change.flip.is_some() || !change.events.is_empty() {
                    changes.push((key.clone(), change));
                }
            }
            results.push(Stored {
                name: m.name.clone(),
                host_id: Some(m.id.clone()),
                status: Some(m.status),
            });
        }
        stored.push(results);
    }

    // Flips one by one (their alerts need the id; flips are rare), events together.
    let mut alerts = 0;
    let mut events: Vec<(&hosts::Model, &[HostEvent])> = Vec::new();
    for (key, change) in &changes {
        let Some((m, _)) = rows.get(key) else {
            continue;
        };
        if let Some(flip) = &change.flip {
            alerts += host_events::record_flip(&txn, m, flip)
                .await
                .map_err(into_db)?;
        }
        events.push((m, change.events.as_slice()));
    }
    host_events::record_events(&txn, &events)
        .await
        .map_err(into_db)?;

    let now = to_ms(
        requests
            .iter()
            .flatten()
            .map(|r| r.received_at)
            .max()
            .unwrap_or_else(Utc::now),
    );
    let moved = rows
        .values()
        .any(|(m, _)| before.get(&m.id) != Some(&m.status));
    let earliest = rows
        .values()
        .filter(|(_, dirty)| *dirty)
        .filter_map(|(m, _)| m.next_check_at)
        .min()
        .map(crate::clock::from_ms);
    let changed: Vec<hosts::ActiveModel> = rows
        .into_values()
        .filter(|(_, dirty)| *dirty)
        .map(|(mut m, _)| {
            m.version += 1;
            m.updated_at = now;
            m.into_active_model()
        })
        .collect();
    // The rows are locked (on SQLite, the database is): one statement writes them back.
    for chunk in changed.chunks(100) {
        hosts::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::column(hosts::Column::Id)
                    .update_columns(TRACKING_COLUMNS)
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
    }
    let latest_rows: Vec<host_latest::ActiveModel> = latest
        .iter()
        .map(|(id, l)| host_latest::ActiveModel {
            host_id: Set(id.clone()),
            at: Set(to_ms(l.at)),
            received_at: Set(to_ms(l.received_at)),
            snapshot: Set(l.json.to_string()),
        })
        .collect();
    for chunk in latest_rows.chunks(100) {
        host_latest::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::column(host_latest::Column::HostId)
                    .update_columns([
                        host_latest::Column::At,
                        host_latest::Column::ReceivedAt,
                        host_latest::Column::Snapshot,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
    }
    if !unknown.is_empty() {
        super::host_inbox::write(&txn, unknown).await?;
    }
    if moved {
        super::hosts::bump(&txn).await?;
    }
    txn.commit().await?;
    Ok(Written {
        stored,
        earliest,
        alerts,
        latest: latest.into_iter().collect(),
    })
}

fn into_db(e: StoreError) -> DbErr {
    match e {
        StoreError::Db(db) => db,
        other => DbErr::Custom(other.to_string()),
    }
}
