//! Storing pings. Every ping commits (ping row, status change, flip, outbox rows) before
//! its HTTP reply; the [`PingWriter`] groups the pings that arrive together into one
//! transaction, so one disk sync serves many requests.
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, IdenStatic, IntoActiveModel, ModelTrait, QueryFilter, QueryOrder, QuerySelect,
    Statement, Value,
};
use tokio::sync::{mpsc, oneshot};

use super::log_sync::{Synced, confirmed};
use super::services::{
    PING_LOG_COLUMNS, RUN_COLUMNS, TRACKING_COLUMNS, apply_tracking, begin_write, open_run_of,
    rules_of, schedule_of, timezone_of, tracking_of,
};
use super::{StoreError, StoreResult, alerts, failure, runs, service_index};
use crate::clock::to_ms;
use crate::db::WriterDb;
use crate::domain::runs::{RunOutcome, run_output};
use crate::domain::status::{ClosedRun, PingKind, Status, Timing, judge, on_finish, planned_check};
use crate::entity::{pings, services};

/// A row count as the services' run counter.
fn count(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Which service a ping is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PingTarget {
    /// The service id (`/api/pings?service=`, slug URLs once resolved).
    Id(String),
    /// The ping UUID of `/ping/<uuid>` and `/api/push/<uuid>`, lower-case.
    Uuid(String),
}

/// One ping as received.
#[derive(Debug, Clone)]
pub struct PingRecord {
    pub target: PingTarget,
    pub kind: PingKind,
    /// The ping's data: a failure's message, or the output a healthchecks client sent
    /// (which does not make a success a failure).
    pub data: String,
    pub source: Option<String>,
    pub user_agent: Option<String>,
    pub at: DateTime<Utc>,
    /// The run id that pairs a start with its finish, lower-case.
    pub rid: Option<String>,
    /// The job's exit status, when the client sent one.
    pub exit_status: Option<i32>,
}

impl PingRecord {
    /// A ping of `kind` for service `id`, with nothing else said.
    pub fn by_id(id: &str, kind: PingKind, data: String, at: DateTime<Utc>) -> Self {
        Self {
            target: PingTarget::Id(id.to_owned()),
            kind,
            data,
            source: None,
            user_agent: None,
            at,
            rid: None,
            exit_status: None,
        }
    }
}

/// What storing a ping did.
#[derive(Debug, Clone, PartialEq)]
pub struct PingOutcome {
    /// The service's id (resolved from the UUID when pinged by one).
    pub service_id: String,
    pub status: Status,
    pub alerts_queued: usize,
    pub next_check_at: Option<DateTime<Utc>>,
}

/// Called after each commit: the earliest new deadline, and whether alerts were queued.
pub trait WriteHooks: Send + Sync + 'static {
    fn committed(&self, earliest_check: Option<DateTime<Utc>>, alerts_queued: usize);
}

type Reply = oneshot::Sender<StoreResult<PingOutcome>>;

/// Many pings are written by one task, in as few transactions as the load allows.
#[derive(Clone)]
pub struct PingWriter {
    tx: mpsc::Sender<(PingRecord, Reply)>,
}

/// Upper bound on pings per transaction; keeps lock times and statement sizes small.
const MAX_BATCH: usize = 256;

impl PingWriter {
    pub fn spawn(writer: WriterDb, hooks: Arc<dyn WriteHooks>) -> Self {
        let (tx, rx) = mpsc::channel(4096);
        tokio::spawn(run_writer(writer, rx, hooks));
        Self { tx }
    }

    pub async fn submit(&self, record: PingRecord) -> StoreResult<PingOutcome> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((record, reply))
            .await
            .map_err(|_| StoreError::Unavailable("the ping writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the ping writer dropped the request".into()))?
    }
}

async fn run_writer(
    writer: WriterDb,
    mut rx: mpsc::Receiver<(PingRecord, Reply)>,
    hooks: Arc<dyn WriteHooks>,
) {
    let WriterDb { db, log_sync } = writer;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (records, replies): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
        let results = match write_batch(&db, &records).await {
            Ok(results) => results,
            // The database is unreachable, out of space or locked: retrying 256 pings singly
            // would hold every ping for minutes. Fail fast; the callers answer 503 and may
            // retry, and the next batch tries the database again.
            Err(err) if failure::is_unavailable(&err) => {
                tracing::error!(error = %err, size = records.len(), "ping batch failed: database unavailable");
                let failed = fail_waiting(&mut rx, &err);
                if failed > 0 {
                    tracing::warn!(
                        count = failed,
                        "pings that queued behind the failed batch answered unavailable"
                    );
                }
                records.iter().map(|_| Err(unavailable(&err))).collect()
            }
            // One bad ping must not fail its neighbours: retry them one by one.
            Err(err) => {
                tracing::warn!(error = %err, size = records.len(), "ping batch failed; retrying singly");
                let mut results = Vec::with_capacity(records.len());
                let mut outage = None;
                for record in &records {
                    if let Some(err) = &outage {
                        results.push(Err(unavailable(err)));
                        continue;
                    }
                    results.push(match write_batch(&db, std::slice::from_ref(record)).await {
                        Ok(mut r) => r.pop().unwrap_or(Err(StoreError::NotFound("service"))),
                        Err(e) if failure::is_unavailable(&e) => {
                            let result = Err(unavailable(&e));
                            outage = Some(e);
                            result
                        }
                        Err(e) => Err(StoreError::Db(e)),
                    });
                }
                results
            }
        };
        let earliest = results
            .iter()
            .filter_map(|r| r.as_ref().ok().and_then(|o| o.next_check_at))
            .min();
        let queued = results
            .iter()
            .filter_map(|r| r.as_ref().ok().map(|o| o.alerts_queued))
            .sum();
        hooks.committed(earliest, queued);
        crate::telemetry::counters::pings_accepted(results.iter().filter(|r| r.is_ok()).count());
        match &log_sync {
            // Answer once the commit is on disk, while this task writes the next batch.
            Some(sync) if results.iter().any(Result::is_ok) => {
                let sync = sync.clone();
                tokio::spawn(async move {
                    let synced = sync.committed().await;
                    answer(replies, results, synced);
                });
            }
            _ => answer(replies, results, Ok(())),
        }
    }
}

/// Send each ping its result; a stored ping whose commit the disk did not confirm is
/// answered as unavailable, so that its client sends it again.
fn answer(replies: Vec<Reply>, results: Vec<StoreResult<PingOutcome>>, synced: Synced) {
    for (reply, result) in replies.into_iter().zip(results) {
        let _ = reply.send(confirmed(&synced, result));
    }
}

fn unavailable(err: &sea_orm::DbErr) -> StoreError {
    StoreError::Unavailable(err.to_string())
}

/// Answer the pings that arrived while a batch waited on an unavailable database with that
/// batch's failure: they would otherwise wait the full timeout again behind it. Returns
/// how many there were. The next ping to arrive tries the database afresh, so recovery is
/// not delayed.
fn fail_waiting(rx: &mut mpsc::Receiver<(PingRecord, Reply)>, err: &sea_orm::DbErr) -> usize {
    let mut failed = 0;
    while let Ok((_, reply)) = rx.try_recv() {
        let _ = reply.send(Err(unavailable(err)));
        failed += 1;
    }
    failed
}

/// Write a batch in one transaction. The outer error means nothing was committed.
#[tracing::instrument(level = "debug", skip_all, fields(size = records.len()))]
pub async fn write_batch(
    db: &DatabaseConnection,
    records: &[PingRecord],
) -> Result<Vec<StoreResult<PingOutcome>>, sea_orm::DbErr> {
    let txn = begin_write(db).await?;
    let mut ids: Vec<&str> = Vec::new();
    let mut uuids: Vec<&str> = Vec::new();
    for r in records {
        match &r.target {
            PingTarget::Id(id) => ids.push(id),
            PingTarget::Uuid(u) => uuids.push(u),
        }
    }
    ids.sort_unstable();
    ids.dedup();
    pad_to_shape(&mut ids);
    uuids.sort_unstable();
    uuids.dedup();
    pad_to_shape(&mut uuids);
    let wanted = match (ids.is_empty(), uuids.is_empty()) {
        (false, true) => services::Column::Id.is_in(ids),
        (true, false) => services::Column::PingUuid.is_in(uuids),
        _ => services::Column::Id
            .is_in(ids)
            .or(services::Column::PingUuid.is_in(uuids)),
    };
    // Sorted ids lock rows in one order in every process: no deadlocks between writers.
    let mut rows: BTreeMap<String, (services::Model, bool)> = services::Entity::find()
        .filter(wanted)
        .order_by_asc(services::Column::Id)
        .lock_exclusive()
        .all(&txn)
        .await?
        .into_iter()
        .map(|m| (m.id.clone(), (m, false)))
        .collect();
    let by_uuid: HashMap<String, String> = rows
        .values()
        .map(|(m, _)| (m.ping_uuid.clone(), m.id.clone()))
        .collect();
    // As loaded, to write back only the columns a ping changed.
    let before: BTreeMap<String, Written> = rows
        .iter()
        .map(|(id, (m, _))| (id.clone(), Written::of(m)))
        .collect();

    let mut results = Vec::with_capacity(records.len());
    let mut ping_rows = Vec::with_capacity(records.len());
    for record in records {
        let id = match &record.target {
            PingTarget::Id(id) => Some(id),
            PingTarget::Uuid(u) => by_uuid.get(u),
        };
        let Some((model, dirty)) = id.and_then(|id| rows.get_mut(id)) else {
            results.push(Err(StoreError::NotFound("service")));
            continue;
        };
        let at_ms = to_ms(record.at);
        let mut alerts_queued = 0;
        match record.kind {
            // A message: stored, nothing else changes (but its chain: below).
            PingKind::Log => *dirty = true,
            PingKind::Start => {
                // With no run open there is nothing to abandon.
                let mut abandoned = 0;
                if model.open_runs > 0 {
                    abandoned += runs::abandon_stale(&txn, &model.id, record.at).await?;
                    if record.rid.is_none() {
                        abandoned += runs::abandon_unnamed(&txn, &model.id, record.at).await?;
                    }
                }
                runs::open(&txn, &model.id, record.rid.as_deref(), record.at).await?;
                model.open_runs = Ord::max(model.open_runs - count(abandoned), 0) + 1;
                model.run_started_at = if abandoned > 0 {
                    runs::oldest_running(&txn, &model.id).await?
                } else {
                    Some(model.run_started_at.map_or(at_ms, |s| Ord::min(s, at_ms)))
                };
                model.next_check_at =
                    planned_check(&tracking_of(model), open_run_of(model)).map(to_ms);
                *dirty = true;
            }
            PingKind::Success | PingKind::Error => {
                // Only a finish moves the deadline, so only a finish reads the schedule.
                let schedule = match schedule_of(model) {
                    Ok(s) => s,
                    Err(e) => {
                        results.push(Err(StoreError::Invalid(e)));
                        continue;
                    }
                };
                // The hot path: no run open, no query.
                let mut closed = None;
                let mut runs_moved = false;
                if model.open_runs > 0 {
                    let stale = runs::abandon_stale(&txn, &model.id, record.at).await?;
                    model.open_runs = Ord::max(model.open_runs - count(stale), 0);
                    runs_moved = stale > 0;
                    if let Some(run) =
                        runs::find_open(&txn, &model.id, record.rid.as_deref(), record.at).await?
                    {
                        let took = Ord::max(at_ms - run.started_at, 0);
                        closed = Some((run, took));
                    }
                }
                let rules = rules_of(model);
                let verdict = judge(
                    record.kind,
                    &record.data,
                    record.exit_status,
                    closed.as_ref().map(|(run, took)| ClosedRun {
                        took: chrono::Duration::milliseconds(*took),
                        was_hung: run.outcome == RunOutcome::Hung,
                    }),
                    &rules,
                );
                if let Some((run, took)) = &closed {
                    runs::close(
                        &txn,
                        run.id,
                        runs::Close {
                            ended_at: record.at,
                            duration_ms: *took,
                            exit_status: record.exit_status,
                            outcome: verdict.outcome.unwrap_or(RunOutcome::Success),
                            output: run_output(&record.data),
                        },
                    )
                    .await?;
                    model.open_runs = Ord::max(model.open_runs - 1, 0);
                    model.last_run_ms = Some(*took);
                    runs_moved = true;
                }
                if runs_moved {
                    model.run_started_at = if model.open_runs > 0 {
                        runs::oldest_running(&txn, &model.id).await?
                    } else {
                        None
                    };
                }
                let timing = Timing {
                    schedule: &schedule,
                    tz: timezone_of(model),
                    grace: chrono::Duration::seconds(model.grace_secs),
                };
                let (next, flip, streak) = on_finish(
                    &tracking_of(model),
                    &timing,
                    &verdict,
                    model.fail_streak,
                    model.fail_after,
                    record.at,
                );
                apply_tracking(model, &next);
                model.fail_streak = streak;
                model.next_check_at = planned_check(&next, open_run_of(model)).map(to_ms);
                *dirty = true;
                alerts_queued = match &flip {
                    Some(flip) => {
                        alerts::record_flip(&txn, model, flip)
                            .await
                            .map_err(|e| match e {
                                StoreError::Db(db) => db,
                                other => sea_orm::DbErr::Custom(other.to_string()),
                            })?
                    }
                    None => 0,
                };
            }
        }
        model.ping_count += 1;
        ping_rows.push(pings::ActiveModel {
            service_id: Set(model.id.clone()),
            at: Set(to_ms(record.at)),
            kind: Set(record.kind),
            data: Set(record.data.clone()),
            source: Set(record.source.clone()),
            user_agent: Set(record.user_agent.clone()),
            rid: Set(record.rid.clone()),
            exit_status: Set(record.exit_status),
            ..Default::default()
        });
        results.push(Ok(PingOutcome {
            service_id: model.id.clone(),
            status: model.status,
            alerts_queued,
            next_check_at: model.next_check_at.map(crate::clock::from_ms),
        }));
    }
    let mut newest: HashMap<String, Option<i64>> = rows
        .iter()
        .map(|(id, (m, _))| (id.clone(), m.last_ping_id))
        .collect();
    insert_linked(&txn, ping_rows, &mut newest).await?;
    for (id, (m, _)) in rows.iter_mut() {
        m.last_ping_id = newest.get(id).copied().flatten();
    }
    let moved: Vec<(String, Status)> = rows
        .values()
        .filter(|(m, _)| before.get(&m.id).map(|b| b.status) != Some(m.status))
        .map(|(m, _)| (m.id.clone(), m.status))
        .collect();
    let now = to_ms(records.iter().map(|r| r.at).max().unwrap_or_else(Utc::now));
    let changed: Vec<(services::Model, u16)> = rows
        .into_values()
        .filter(|(_, dirty)| *dirty)
        .map(|(mut m, _)| {
            m.version += 1;
            m.updated_at = now;
            let mask = before.get(&m.id).map_or(u16::MAX, |b| changed_mask(b, &m));
            (m, mask)
        })
        .collect();
    write_back(&txn, &changed).await?;
    service_index::set_statuses(&txn, &moved).await?;
    txn.commit().await?;
    service_index::touched();
    Ok(results)
}

/// The most rows one statement of the writer carries.
const MAX_SHAPE: usize = 64;

/// Split `items` into chunks of 64, 32, 16 … 1 rows, so that the writer's statements come
/// in seven shapes whatever the batch size, and each stays prepared in the connection's
/// statement cache instead of being parsed again for every new batch size.
fn shaped_chunks<T>(mut items: &[T]) -> impl Iterator<Item = &[T]> {
    std::iter::from_fn(move || {
        if items.is_empty() {
            return None;
        }
        let n = Ord::min(MAX_SHAPE, 1 << items.len().ilog2());
        let (chunk, rest) = items.split_at(n);
        items = rest;
        Some(chunk)
    })
}

/// Pad an `IN (…)` list to a power of two by repeating its last value (which changes
/// nothing it matches), for the same reason as [`shaped_chunks`].
fn pad_to_shape<T: Copy>(list: &mut Vec<T>) {
    if let Some(&last) = list.last() {
        list.resize(list.len().next_power_of_two(), last);
    }
}

/// The columns a ping may change ([`TRACKING_COLUMNS`], [`RUN_COLUMNS`] and
/// [`PING_LOG_COLUMNS`]), in the order of the bits of a change mask.
fn written_columns() -> impl Iterator<Item = services::Column> {
    TRACKING_COLUMNS
        .into_iter()
        .chain(RUN_COLUMNS)
        .chain(PING_LOG_COLUMNS)
}

/// The columns of [`written_columns`] that a ping may change, as loaded: a snapshot to
/// tell which changed, lighter than a copy of the whole row with its strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Written {
    status: Status,
    last_ping_at: Option<i64>,
    last_ping_kind: Option<PingKind>,
    next_due_at: Option<i64>,
    down_at: Option<i64>,
    next_check_at: Option<i64>,
    fail_streak: i32,
    open_runs: i32,
    run_started_at: Option<i64>,
    last_run_ms: Option<i64>,
    last_ping_id: Option<i64>,
    ping_count: i64,
}

impl Written {
    fn of(m: &services::Model) -> Self {
        Self {
            status: m.status,
            last_ping_at: m.last_ping_at,
            last_ping_kind: m.last_ping_kind,
            next_due_at: m.next_due_at,
            down_at: m.down_at,
            next_check_at: m.next_check_at,
            fail_streak: m.fail_streak,
            open_runs: m.open_runs,
            run_started_at: m.run_started_at,
            last_run_ms: m.last_run_ms,
            last_ping_id: m.last_ping_id,
            ping_count: m.ping_count,
        }
    }
}

/// Which of [`written_columns`] differ between `before` and `after`, one bit each. A column
/// this function does not know counts as changed, so a column added to the lists is
/// written whatever it holds.
fn changed_mask(before: &Written, after: &services::Model) -> u16 {
    use services::Column as C;
    let after = Written::of(after);
    let differs = |c: C| match c {
        C::Status => before.status != after.status,
        C::LastPingAt => before.last_ping_at != after.last_ping_at,
        C::LastPingKind => before.last_ping_kind != after.last_ping_kind,
        C::NextDueAt => before.next_due_at != after.next_due_at,
        C::DownAt => before.down_at != after.down_at,
        C::NextCheckAt => before.next_check_at != after.next_check_at,
        C::FailStreak => before.fail_streak != after.fail_streak,
        C::OpenRuns => before.open_runs != after.open_runs,
        C::RunStartedAt => before.run_started_at != after.run_started_at,
        C::LastRunMs => before.last_run_ms != after.last_run_ms,
        C::LastPingId => before.last_ping_id != after.last_ping_id,
        C::PingCount => before.ping_count != after.ping_count,
        _ => true,
    };
    written_columns()
        .enumerate()
        .filter(|&(_, c)| differs(c))
        .fold(0, |mask, (bit, _)| mask | 1 << bit)
}

/// Write the changed columns of `rows` (each with its [`changed_mask`]) back. The rows are
/// locked (or, on SQLite, the whole database is), so writing them in a few statements is
/// safe; few statements instead of one per service is most of the speed. SQLite and
/// PostgreSQL update from a `VALUES` list, one statement per set of changed columns: an
/// `UPDATE` rewrites the index entries of every indexed column it sets, changed or not,
/// so leaving out `status` when it stayed keeps the services list's index untouched.
/// MySQL, which has no `UPDATE … FROM`, upserts [`written_columns`] of the whole rows.
async fn write_back<C: ConnectionTrait>(
    txn: &C,
    rows: &[(services::Model, u16)],
) -> Result<(), DbErr> {
    let backend = txn.get_database_backend();
    if backend == DbBackend::MySql {
        let models: Vec<&services::Model> = rows.iter().map(|(m, _)| m).collect();
        for chunk in shaped_chunks(&models) {
            services::Entity::insert_many(chunk.iter().map(|&m| m.clone().into_active_model()))
                .on_conflict(
                    OnConflict::column(services::Column::Id)
                        .update_columns(written_columns())
                        .to_owned(),
                )
                .exec_without_returning(txn)
                .await?;
        }
        return Ok(());
    }
    let mut by_mask: BTreeMap<u16, Vec<&services::Model>> = BTreeMap::new();
    for (m, mask) in rows {
        by_mask.entry(*mask).or_default().push(m);
    }
    for (mask, models) in by_mask {
        let columns: Vec<services::Column> = written_columns()
            .enumerate()
            .filter(|&(bit, _)| mask & (1 << bit) != 0)
            .map(|(_, c)| c)
            .collect();
        let names: Vec<&str> = columns.iter().map(|c| c.as_str()).collect();
        let set = names
            .iter()
            .map(|n| format!("{n} = v.{n}"))
            .collect::<Vec<_>>()
            .join(", ");
        for chunk in shaped_chunks(&models) {
            let width = columns.len() + 1;
            let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * width);
            let mut tuples = Vec::with_capacity(chunk.len());
            for m in chunk {
                let first = values.len();
                values.push(m.id.clone().into());
                values.extend(columns.iter().map(|c| m.get(*c)));
                tuples.push(format!(
                    "({})",
                    (first + 1..=first + width)
                        .map(|n| service_index::placeholder(backend, n))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            let sql = format!(
                "WITH v(id, {}) AS (VALUES {}) UPDATE services SET {set} FROM v WHERE services.id = v.id",
                names.join(", "),
                tuples.join(", ")
            );
            txn.execute_raw(Statement::from_sql_and_values(backend, sql, values))
                .await?;
        }
    }
    Ok(())
}

/// Insert `rows` (pings in the order received), each linked to its service's ping before
/// it: `newest` holds each service's newest ping id before them (its `last_ping_id`) and
/// is left holding the newest after them. The ids are taken before the insert, so that
/// each row carries its link as it is written: on SQLite the next ones of the table's
/// sequence (the caller holds the write lock), on PostgreSQL from the sequence; MySQL,
/// which has neither `RETURNING` nor a sequence to draw from, inserts row by row.
async fn insert_linked<C: ConnectionTrait>(
    txn: &C,
    mut rows: Vec<pings::ActiveModel>,
    newest: &mut HashMap<String, Option<i64>>,
) -> Result<(), DbErr> {
    let backend = txn.get_database_backend();
    if backend == DbBackend::MySql {
        for mut row in rows {
            let last = link(&mut row, newest);
            *last = Some(pings::Entity::insert(row).exec(txn).await?.last_insert_id);
        }
        return Ok(());
    }
    let ids = reserve_ids(txn, rows.len()).await?;
    for (row, id) in rows.iter_mut().zip(ids) {
        row.id = Set(id);
        *link(row, newest) = Some(id);
    }
    for chunk in shaped_chunks(&rows) {
        pings::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// Link `row` to the newest ping of its service in `newest`; returns that entry, for the
/// caller to set to the row's id.
fn link<'a>(
    row: &mut pings::ActiveModel,
    newest: &'a mut HashMap<String, Option<i64>>,
) -> &'a mut Option<i64> {
    let service = row.service_id.try_as_ref().map_or("", String::as_str);
    // The writer knows every service beforehand: no key to allocate on its path.
    if !newest.contains_key(service) {
        newest.insert(service.to_owned(), None);
    }
    let last = newest.get_mut(service).expect("inserted above");
    row.prev_id = Set(*last);
    last
}

/// `n` new ping ids, ascending.
async fn reserve_ids<C: ConnectionTrait>(txn: &C, n: usize) -> Result<Vec<i64>, DbErr> {
    let backend = txn.get_database_backend();
    if n == 0 {
        return Ok(Vec::new());
    }
    if backend == DbBackend::Postgres {
        let rows = txn
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                "SELECT nextval(pg_get_serial_sequence('pings', 'id')) FROM generate_series(1, $1)",
                [Value::from(n as i64)],
            ))
            .await?;
        let mut ids = rows
            .iter()
            .map(|r| r.try_get_by_index::<i64>(0))
            .collect::<Result<Vec<_>, _>>()?;
        ids.sort_unstable();
        return Ok(ids);
    }
    let last: i64 = match txn
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT seq FROM sqlite_sequence WHERE name = 'pings'",
        ))
        .await?
    {
        Some(row) => row.try_get_by_index(0)?,
        None => 0,
    };
    Ok((1..=n as i64).map(|i| last + i).collect())
}

/// Store pings (oldest first) as received ones are stored, each linked into its
/// service's chain, and count them on their services; for pings that did not come
/// through the writer, such as a test's history. Unknown services are an error.
pub async fn append(db: &DatabaseConnection, rows: Vec<pings::ActiveModel>) -> StoreResult<()> {
    let txn = begin_write(db).await?;
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    for row in &rows {
        let service = row.service_id.try_as_ref().cloned().unwrap_or_default();
        *counts.entry(service).or_default() += 1;
    }
    let found: Vec<(String, Option<i64>)> = services::Entity::find()
        .select_only()
        .columns([services::Column::Id, services::Column::LastPingId])
        .filter(services::Column::Id.is_in(counts.keys().cloned()))
        .order_by_asc(services::Column::Id)
        .lock_exclusive()
        .into_tuple()
        .all(&txn)
        .await?;
    if found.len() < counts.len() {
        return Err(StoreError::NotFound("service"));
    }
    let mut newest: HashMap<String, Option<i64>> = found.into_iter().collect();
    insert_linked(&txn, rows, &mut newest).await?;
    for (id, n) in counts {
        services::Entity::update_many()
            .col_expr(
                services::Column::LastPingId,
                Expr::value(newest.get(&id).copied().flatten()),
            )
            .col_expr(
                services::Column::PingCount,
                Expr::col(services::Column::PingCount).add(n),
            )
            .filter(services::Column::Id.eq(id))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// A walk down a service's chain of pings: at most `limit` rows, newest first, from the
/// ping the query `start` selects (one row: its id, and 1).
fn chain_sql(start: &str, limit: usize, service: usize, backend: DbBackend) -> String {
    let p = |n| service_index::placeholder(backend, n);
    format!(
        "WITH RECURSIVE chain(id, depth) AS ({start} \
           UNION ALL SELECT p.prev_id, chain.depth + 1 FROM chain JOIN pings p ON p.id = chain.id \
           WHERE p.prev_id IS NOT NULL AND chain.depth < {}) \
         SELECT pings.* FROM chain JOIN pings ON pings.id = chain.id \
         WHERE pings.service_id = {} ORDER BY pings.id DESC",
        p(limit),
        p(service)
    )
}

/// A page of a service's pings, newest first: its newest, or those older than ping
/// `before_id` of this service when given (none when that ping is not one of its, or is
/// gone). A walk down the chain by primary key, as long as the page whatever the table's
/// size.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    service_id: &str,
    before_id: Option<i64>,
    limit: u64,
) -> StoreResult<Vec<pings::Model>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let p = |n| service_index::placeholder(backend, n);
    let mut values: Vec<Value> = Vec::with_capacity(4);
    let start = match before_id {
        None => {
            values.push(service_id.into());
            format!(
                "SELECT last_ping_id, 1 FROM services WHERE id = {} AND last_ping_id IS NOT NULL",
                p(1)
            )
        }
        Some(before) => {
            values.extend([before.into(), service_id.into()]);
            format!(
                "SELECT prev_id, 1 FROM pings WHERE id = {} AND service_id = {} \
                 AND prev_id IS NOT NULL",
                p(1),
                p(2)
            )
        }
    };
    let n = values.len();
    values.extend([Value::from(limit as i64), service_id.into()]);
    let sql = chain_sql(&start, n + 1, n + 2, backend);
    Ok(pings::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(backend, sql, values))
        .all(db)
        .await?)
}

/// Pings deleted per statement when a service goes.
const DELETE_CHUNK: u64 = 2000;

/// Delete a service's pings, a walk down its chain at a time, inside the caller's
/// transaction (the service's deletion). Pings no walk reaches (behind one that
/// retention deleted first) are left to retention. Returns how many were deleted.
pub async fn delete_of_service<C: ConnectionTrait>(db: &C, service_id: &str) -> StoreResult<u64> {
    let backend = db.get_database_backend();
    let p = |n| service_index::placeholder(backend, n);
    let mut deleted = 0;
    let mut start: Option<i64> = services::Entity::find_by_id(service_id.to_owned())
        .select_only()
        .column(services::Column::LastPingId)
        .into_tuple()
        .one(db)
        .await?
        .flatten();
    while let Some(from) = start {
        let sql = chain_sql(&format!("SELECT {}, 1", p(1)), 2, 3, backend);
        let page = pings::Entity::find()
            .from_raw_sql(Statement::from_sql_and_values(
                backend,
                sql,
                [
                    from.into(),
                    Value::from(DELETE_CHUNK as i64),
                    service_id.into(),
                ],
            ))
            .all(db)
            .await?;
        let Some(oldest) = page.last() else {
            break;
        };
        start = oldest.prev_id;
        let ids: Vec<i64> = page.iter().map(|r| r.id).collect();
        deleted += pings::Entity::delete_many()
            .filter(pings::Column::Id.is_in(ids))
            .exec(db)
            .await?
            .rows_affected;
    }
    Ok(deleted)
}

/// Delete pings received before `older_than`, a few thousand rows per statement so that
/// writers are never held up for long. Returns how many were deleted.
#[tracing::instrument(skip(db))]
pub async fn prune(db: &DatabaseConnection, older_than: DateTime<Utc>) -> StoreResult<u64> {
    const CHUNK: i64 = 5000;
    let cutoff = to_ms(older_than);
    let mut deleted = 0;
    loop {
        let oldest: Option<Option<i64>> = pings::Entity::find()
            .select_only()
            .column_as(Expr::col(pings::Column::Id).min(), "min")
            .filter(pings::Column::At.lt(cutoff))
            .into_tuple()
            .one(db)
            .await?;
        let Some(first) = oldest.flatten() else {
            break;
        };
        let res = pings::Entity::delete_many()
            .filter(pings::Column::At.lt(cutoff))
            .filter(pings::Column::Id.lt(first + CHUNK))
            .exec(db)
            .await?;
        deleted += res.rows_affected;
        if res.rows_affected == 0 {
            break;
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{DateTime, Utc};
    use sea_orm::{EntityTrait, PaginatorTrait};

    use super::{MAX_SHAPE, PingRecord, PingWriter, WriteHooks, pad_to_shape, shaped_chunks};
    use crate::db::WriterDb;
    use crate::domain::schedule::Schedule;
    use crate::domain::status::{PingKind, Tracking};
    use crate::domain::{Tags, parse_notify};
    use crate::settings::SqliteSync;
    use crate::store::StoreError;
    use crate::store::log_sync::LogSync;
    use crate::store::services::NewService;

    struct Quiet;
    impl WriteHooks for Quiet {
        fn committed(&self, _: Option<DateTime<Utc>>, _: usize) {}
    }

    /// A ping is answered only once the log sync after its commit says it is on disk: when
    /// the sync fails, the ping is refused as unavailable (its client sends it again), and
    /// with a sync that works the same writer's pings are answered as stored.
    #[tokio::test]
    async fn a_commit_the_disk_does_not_confirm_is_answered_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("heartbeats.db");
        let url = format!("sqlite://{}", file.display());
        let db = crate::db::connect(&url, SqliteSync::Full).await.unwrap();
        crate::db::migrate(&db).await.unwrap();
        let new = NewService {
            grace_secs: 300,
            tags: Tags::parse(&["t"]).unwrap(),
            notify: parse_notify(&["ops@example.com"]).unwrap(),
            ..NewService::new(
                "nightly".into(),
                Schedule::interval(chrono::Duration::hours(1)).unwrap(),
            )
        };
        let id = crate::store::service_import::import(
            &db,
            vec![(new, Tracking::new_service())],
            Utc::now(),
        )
        .await
        .unwrap()
        .remove(0)
        .id;
        let ping = || PingRecord::by_id(&id, PingKind::Success, String::new(), Utc::now());

        // A log that cannot be synced (its directory is gone).
        let broken = WriterDb {
            db: db.clone(),
            log_sync: Some(LogSync::spawn(
                dir.path().join("gone").join("heartbeats.db"),
            )),
        };
        let writer = PingWriter::spawn(broken, Arc::new(Quiet));
        let err = writer.submit(ping()).await.expect_err("not confirmed");
        assert!(
            matches!(&err, StoreError::Unavailable(m) if m.contains("did not confirm")),
            "{err:?}"
        );

        let working = WriterDb {
            db: db.clone(),
            log_sync: Some(LogSync::spawn(file.clone())),
        };
        let writer = PingWriter::spawn(working, Arc::new(Quiet));
        let outcomes = futures::future::join_all((0..20).map(|_| writer.submit(ping()))).await;
        assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
        // Both writers committed: the refused ping is in the log as a retry would find it.
        let stored = crate::entity::pings::Entity::find()
            .count(&db)
            .await
            .unwrap();
        assert_eq!(stored, 21);
    }

    #[test]
    fn chunks_are_powers_of_two_and_cover_everything_in_order() {
        for n in 0..300usize {
            let items: Vec<usize> = (0..n).collect();
            let chunks: Vec<&[usize]> = shaped_chunks(&items).collect();
            assert_eq!(chunks.concat(), items, "n = {n}");
            for c in &chunks {
                assert!(
                    c.len().is_power_of_two() && c.len() <= MAX_SHAPE,
                    "n = {n}: {}",
                    c.len()
                );
            }
            // 64-row chunks first, then each smaller size at most once.
            let small: Vec<usize> = chunks
                .iter()
                .map(|c| c.len())
                .filter(|&l| l < MAX_SHAPE)
                .collect();
            assert!(small.windows(2).all(|w| w[0] > w[1]), "n = {n}: {small:?}");
        }
    }

    #[test]
    fn in_lists_pad_with_their_last_value() {
        let mut v = vec!["a", "b", "c"];
        pad_to_shape(&mut v);
        assert_eq!(v, ["a", "b", "c", "c"]);
        let mut empty: Vec<&str> = Vec::new();
        pad_to_shape(&mut empty);
        assert!(empty.is_empty());
        let mut four = vec![1, 2, 3, 4];
        pad_to_shape(&mut four);
        assert_eq!(four, [1, 2, 3, 4]);
    }
}
