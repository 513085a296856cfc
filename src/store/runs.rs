//! Job runs: the rows a `start` ping opens and the next success or failure closes. The
//! ping writer (`store::pings`) opens, pairs and closes them in its transactions; this
//! module holds those statements and reads runs for pages and the API.
//!
//! A run is open while `ended_at` is NULL (outcome `running`, or `hung` once the scheduler
//! reported it); every other outcome has an `ended_at`.
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

use super::StoreResult;
use crate::clock::to_ms;
use crate::domain::runs::{PAIR_WINDOW, RunOutcome};
use crate::entity::runs;

/// Open a run (a start ping).
pub async fn open<C: ConnectionTrait>(
    txn: &C,
    service_id: &str,
    rid: Option<&str>,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    runs::Entity::insert(runs::ActiveModel {
        service_id: Set(service_id.to_owned()),
        rid: Set(rid.map(str::to_owned)),
        started_at: Set(to_ms(at)),
        ended_at: Set(None),
        duration_ms: Set(None),
        exit_status: Set(None),
        outcome: Set(RunOutcome::Running),
        output: Set(String::new()),
        ..Default::default()
    })
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// Abandon a service's open runs that `filter` picks, ending them at `at` (no duration).
/// Returns how many.
async fn abandon<C: ConnectionTrait>(
    txn: &C,
    service_id: &str,
    at: DateTime<Utc>,
    filter: sea_orm::Condition,
) -> Result<u64, DbErr> {
    Ok(runs::Entity::update_many()
        .col_expr(runs::Column::Outcome, Expr::val(RunOutcome::Abandoned))
        .col_expr(runs::Column::EndedAt, Expr::val(to_ms(at)))
        .filter(runs::Column::ServiceId.eq(service_id))
        .filter(runs::Column::EndedAt.is_null())
        .filter(filter)
        .exec(txn)
        .await?
        .rows_affected)
}

/// A start without a rid replaces the service's open runs without one.
pub async fn abandon_unnamed<C: ConnectionTrait>(
    txn: &C,
    service_id: &str,
    at: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let only = sea_orm::Condition::all().add(runs::Column::Rid.is_null());
    abandon(txn, service_id, at, only).await
}

/// Open runs started more than 72 h before `at` will never pair: abandon them.
pub async fn abandon_stale<C: ConnectionTrait>(
    txn: &C,
    service_id: &str,
    at: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let old = sea_orm::Condition::all().add(runs::Column::StartedAt.lt(to_ms(at - PAIR_WINDOW)));
    abandon(txn, service_id, at, old).await
}

/// The open run a finish at `at` closes: the one with `rid`, or without one the latest;
/// only runs started within the last 72 h.
pub async fn find_open<C: ConnectionTrait>(
    txn: &C,
    service_id: &str,
    rid: Option<&str>,
    at: DateTime<Utc>,
) -> Result<Option<runs::Model>, DbErr> {
    let mut q = runs::Entity::find()
        .filter(runs::Column::ServiceId.eq(service_id))
        .filter(runs::Column::EndedAt.is_null())
        .filter(runs::Column::StartedAt.gte(to_ms(at - PAIR_WINDOW)));
    if let Some(rid) = rid {
        q = q.filter(runs::Column::Rid.eq(rid));
    }
    q.order_by_desc(runs::Column::StartedAt)
        .order_by_desc(runs::Column::Id)
        .one(txn)
        .await
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct Close<'a> {
    pub ended_at: DateTime<Utc>,
    pub duration_ms: i64,
    pub exit_status: Option<i32>,
    pub outcome: RunOutcome,
    pub output: &'a str,
}

/// Close run `id`.
pub async fn close<C: ConnectionTrait>(txn: &C, id: i64, c: Close<'_>) -> Result<(), DbErr> {
    runs::Entity::update_many()
        .col_expr(runs::Column::EndedAt, Expr::val(to_ms(c.ended_at)))
        .col_expr(runs::Column::DurationMs, Expr::val(c.duration_ms))
        .col_expr(runs::Column::ExitStatus, Expr::val(c.exit_status))
        .col_expr(runs::Column::Outcome, Expr::val(c.outcome))
        .col_expr(runs::Column::Output, Expr::val(c.output))
        .filter(runs::Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}

/// When the oldest open run not yet reported hung started (Unix ms): the service's
/// `run_started_at`.
pub async fn oldest_running<C: ConnectionTrait>(
    txn: &C,
    service_id: &str,
) -> Result<Option<i64>, DbErr> {
    let row: Option<Option<i64>> = runs::Entity::find()
        .select_only()
        .column_as(Expr::col(runs::Column::StartedAt).min(), "min")
        .filter(runs::Column::ServiceId.eq(service_id))
        .filter(runs::Column::EndedAt.is_null())
        .filter(runs::Column::Outcome.eq(RunOutcome::Running))
        .into_tuple()
        .one(txn)
        .await?;
    Ok(row.flatten())
}

/// Mark a service's open runs that started at or before `started_by` as hung (they stay
/// open). Returns how many.
pub async fn mark_hung<C: ConnectionTrait>(
    txn: &C,
    service_id: &str,
    started_by: DateTime<Utc>,
) -> Result<u64, DbErr> {
    Ok(runs::Entity::update_many()
        .col_expr(runs::Column::Outcome, Expr::val(RunOutcome::Hung))
        .filter(runs::Column::ServiceId.eq(service_id))
        .filter(runs::Column::EndedAt.is_null())
        .filter(runs::Column::Outcome.eq(RunOutcome::Running))
        .filter(runs::Column::StartedAt.lte(to_ms(started_by)))
        .exec(txn)
        .await?
        .rows_affected)
}

/// Delete finished runs that started before `older_than`, in chunks, as pings are pruned.
/// Open runs stay: the service counts them (a finish or a start abandons them after 72 h).
/// Returns how many were deleted.
#[tracing::instrument(skip(db))]
pub async fn prune(db: &DatabaseConnection, older_than: DateTime<Utc>) -> StoreResult<u64> {
    const CHUNK: i64 = 5000;
    let cutoff = to_ms(older_than);
    let mut deleted = 0;
    let mut from = i64::MIN;
    loop {
        let oldest: Option<Option<i64>> = runs::Entity::find()
            .select_only()
            .column_as(Expr::col(runs::Column::Id).min(), "min")
            .filter(runs::Column::StartedAt.lt(cutoff))
            .filter(runs::Column::EndedAt.is_not_null())
            .filter(runs::Column::Id.gte(from))
            .into_tuple()
            .one(db)
            .await?;
        let Some(first) = oldest.flatten() else {
            break;
        };
        let res = runs::Entity::delete_many()
            .filter(runs::Column::StartedAt.lt(cutoff))
            .filter(runs::Column::EndedAt.is_not_null())
            .filter(runs::Column::Id.lt(first + CHUNK))
            .exec(db)
            .await?;
        deleted += res.rows_affected;
        from = first + CHUNK;
    }
    Ok(deleted)
}

/// A page of a service's runs, newest first, older than `before_id` when given.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    service_id: &str,
    before_id: Option<i64>,
    limit: u64,
) -> StoreResult<Vec<runs::Model>> {
    let mut q = runs::Entity::find().filter(runs::Column::ServiceId.eq(service_id));
    if let Some(before) = before_id {
        q = q.filter(runs::Column::Id.lt(before));
    }
    Ok(q.order_by_desc(runs::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// The durations (ms) of a service's last `n` finished runs, oldest first: the sparkline.
pub async fn recent_durations<C: ConnectionTrait>(
    db: &C,
    service_id: &str,
    n: u64,
) -> StoreResult<Vec<i64>> {
    let mut d: Vec<Option<i64>> = runs::Entity::find()
        .select_only()
        .column(runs::Column::DurationMs)
        .filter(runs::Column::ServiceId.eq(service_id))
        .filter(runs::Column::DurationMs.is_not_null())
        .order_by_desc(runs::Column::Id)
        .limit(n)
        .into_tuple()
        .all(db)
        .await?;
    d.reverse();
    Ok(d.into_iter().flatten().collect())
}
