//! Keeps the services list's indexed copies in step with `services` (see the migration
//! `services_list_index`): the name key, one `service_tags` row per tag carrying the
//! status and the name key, and the revision counters that say whether anything changed.
//!
//! Every writer calls in here: create, edit and delete rewrite a service's tag rows;
//! the ping writer and the scheduler, which change only statuses, move the tag rows'
//! status copies in the same transaction. Each bumps the `revisions` counters it
//! concerns in its transaction (always last, after its service rows: one lock order),
//! and after committing this process's revision, so the list's cache sees local changes
//! at once.
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};

use super::StoreResult;
use crate::domain::Tags;
use crate::domain::status::Status;
use crate::entity::services::Model;

/// The key the list sorts and searches names by; stored in `services.name_key`.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// Bumped after every committed change to a service made by this process. Other
/// processes' changes are seen through [`Stamp`]'s database half.
static LOCAL_REVISION: AtomicU64 = AtomicU64::new(0);

/// Call after committing any change to a service.
pub fn touched() {
    LOCAL_REVISION.fetch_add(1, Ordering::AcqRel);
}

/// `?` or `$n`, as the backend numbers its parameters.
pub(crate) fn placeholder(backend: DbBackend, n: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    }
}

fn stmt(backend: DbBackend, sql: String, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(backend, sql, values)
}

/// Rewrite a service's name key and tag rows from its row, after an insert or a
/// whole-row save, inside the writer's transaction.
pub async fn sync<C: ConnectionTrait>(txn: &C, m: &Model) -> StoreResult<()> {
    sync_many(txn, std::slice::from_ref(m)).await
}

/// [`sync`] for many services, a few statements per few hundred services.
#[tracing::instrument(level = "debug", skip_all, fields(n = models.len()))]
pub async fn sync_many<C: ConnectionTrait>(txn: &C, models: &[Model]) -> StoreResult<()> {
    let b = txn.get_database_backend();
    let p = |n| placeholder(b, n);
    for chunk in models.chunks(300) {
        let keys: Vec<String> = chunk.iter().map(|m| name_key(&m.name)).collect();
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 3);
        let mut cases = String::new();
        for (m, key) in chunk.iter().zip(&keys) {
            cases.push_str(&format!(
                " WHEN {} THEN {}",
                p(values.len() + 1),
                p(values.len() + 2)
            ));
            values.extend([m.id.clone().into(), key.clone().into()]);
        }
        let ids = |values: &mut Vec<Value>| {
            let start = values.len();
            values.extend(chunk.iter().map(|m| Value::from(m.id.clone())));
            (start..values.len())
                .map(|i| p(i + 1))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let list = ids(&mut values);
        txn.execute_raw(stmt(
            b,
            format!("UPDATE services SET name_key = CASE id{cases} END WHERE id IN ({list})"),
            values,
        ))
        .await?;
        let mut values = Vec::with_capacity(chunk.len());
        let list = ids(&mut values);
        txn.execute_raw(stmt(
            b,
            format!("DELETE FROM service_tags WHERE service_id IN ({list})"),
            values,
        ))
        .await?;
        let mut values: Vec<Value> = Vec::new();
        let mut tuples = Vec::new();
        for (m, key) in chunk.iter().zip(&keys) {
            for tag in Tags::from_column(&m.tags).into_vec() {
                let n = values.len();
                tuples.push(format!(
                    "({}, {}, {}, {})",
                    p(n + 1),
                    p(n + 2),
                    p(n + 3),
                    p(n + 4)
                ));
                values.extend([
                    m.id.clone().into(),
                    tag.into(),
                    m.status.into(),
                    key.clone().into(),
                ]);
            }
        }
        if !tuples.is_empty() {
            txn.execute_raw(stmt(
                b,
                format!(
                    "INSERT INTO service_tags (service_id, tag, status, name_key) VALUES {}",
                    tuples.join(", ")
                ),
                values,
            ))
            .await?;
        }
    }
    // A save may have changed a status, a create added one: the tabs' counts move.
    Ok(bump(txn, "statuses").await?)
}

/// Services whose status changed without a whole-row save (pings, the scheduler): move
/// their tag rows' status copies along, in the writer's transaction.
#[tracing::instrument(level = "debug", skip_all, fields(n = changes.len()))]
pub async fn set_statuses<C: ConnectionTrait>(
    txn: &C,
    changes: &[(String, Status)],
) -> Result<(), DbErr> {
    if changes.is_empty() {
        return Ok(());
    }
    let b = txn.get_database_backend();
    let mut by_status: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (id, status) in changes {
        by_status.entry(status.as_str()).or_default().push(id);
    }
    for (status, ids) in by_status {
        for chunk in ids.chunks(500) {
            let list: Vec<String> = (0..chunk.len()).map(|i| placeholder(b, i + 2)).collect();
            let mut values: Vec<Value> = vec![status.into()];
            values.extend(chunk.iter().map(|id| Value::from(*id)));
            txn.execute_raw(stmt(
                b,
                format!(
                    "UPDATE service_tags SET status = {} WHERE service_id IN ({})",
                    placeholder(b, 1),
                    list.join(", ")
                ),
                values,
            ))
            .await?;
        }
    }
    bump(txn, "statuses").await
}

async fn bump<C: ConnectionTrait>(txn: &C, name: &str) -> Result<(), DbErr> {
    txn.execute_unprepared(&format!(
        "UPDATE revisions SET value = value + 1 WHERE name = '{name}'"
    ))
    .await?;
    Ok(())
}

/// A service is being deleted: its tag rows go first (the foreign key would take them
/// too, but SQLite enforces it only on connections that ask).
#[tracing::instrument(level = "debug", skip(txn))]
pub async fn remove<C: ConnectionTrait>(txn: &C, id: &str) -> StoreResult<()> {
    let b = txn.get_database_backend();
    txn.execute_raw(stmt(
        b,
        format!(
            "DELETE FROM service_tags WHERE service_id = {}",
            placeholder(b, 1)
        ),
        vec![id.into()],
    ))
    .await?;
    catalog_changed(txn).await
}

/// A service was created, edited or deleted: names or membership may have changed.
pub async fn catalog_changed<C: ConnectionTrait>(txn: &C) -> StoreResult<()> {
    Ok(bump(txn, "services").await?)
}

/// Changes whenever a service changed: this process's revision, the catalog counter
/// (creations, edits, deletes from any process) and the newest `updated_at` (pings and
/// flips from any process). Two indexed lookups, whatever the number of services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stamp {
    pub local: u64,
    pub catalog: i64,
    pub max_updated: i64,
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn stamp<C: ConnectionTrait>(db: &C) -> StoreResult<Stamp> {
    // Read before the data it stamps: a change committed in between makes the stamp
    // older than the data, never newer, so it is seen on the next request.
    let local = LOCAL_REVISION.load(Ordering::Acquire);
    let b = db.get_database_backend();
    let cast = |e: &str| match b {
        DbBackend::MySql => format!("CAST({e} AS SIGNED)"),
        _ => e.to_owned(),
    };
    let sql = format!(
        "SELECT {} AS m, {} AS c",
        cast("COALESCE((SELECT MAX(updated_at) FROM services), 0)"),
        cast("COALESCE((SELECT value FROM revisions WHERE name = 'services'), 0)"),
    );
    let row = db.query_one_raw(Statement::from_string(b, sql)).await?;
    let (max_updated, catalog) = match row {
        Some(r) => (r.try_get("", "m")?, r.try_get("", "c")?),
        None => (0, 0),
    };
    Ok(Stamp {
        local,
        catalog,
        max_updated,
    })
}

/// The two counters: `catalog` (services created, edited, deleted) and `statuses`
/// (any status changed, by any process).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Revisions {
    pub catalog: i64,
    pub statuses: i64,
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn revisions<C: ConnectionTrait>(db: &C) -> StoreResult<Revisions> {
    let b = db.get_database_backend();
    let mut out = Revisions::default();
    let rows = db
        .query_all_raw(Statement::from_string(
            b,
            "SELECT name, value FROM revisions".to_owned(),
        ))
        .await?;
    for r in rows {
        let name: String = r.try_get("", "name")?;
        let value: i64 = r.try_get("", "value")?;
        match name.as_str() {
            "services" => out.catalog = value,
            "statuses" => out.statuses = value,
            _ => {}
        }
    }
    Ok(out)
}
