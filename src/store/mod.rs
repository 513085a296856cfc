//! Named storage operations per aggregate; handlers map [`StoreError`] to HTTP in one place.
pub mod agent_presence;
pub mod alerts;
pub mod audit;
pub mod badges;
pub mod channels;
pub mod failure;
pub mod hc_checks;
pub mod host_events;
pub mod host_inbox;
pub mod host_list;
pub mod host_live;
pub mod host_overview;
pub mod host_reports;
pub mod hosts;
pub mod log_sync;
pub mod maintenance;
pub mod metrics;
pub mod outbox_context;
pub mod pings;
pub mod rollups;
pub mod runs;
pub mod service_import;
pub mod service_index;
pub mod service_list;
pub mod services;
pub mod sessions;
pub mod users;
pub mod views;

use sea_orm::{DbErr, SqlErr};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A unique value is taken, e.g. a service name.
    #[error("{0}")]
    Conflict(crate::domain::FieldError),
    #[error("{0}")]
    Invalid(#[from] crate::domain::FieldError),
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    #[error("{0}")]
    Unavailable(String),
}

impl StoreError {
    /// Turn a unique-key violation into `conflict`, leaving other errors as they are.
    pub fn unique(err: DbErr, conflict: crate::domain::FieldError) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => StoreError::Conflict(conflict),
            _ => StoreError::Db(err),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Whether the database answers, for `/healthz`.
pub async fn ping(db: &sea_orm::DatabaseConnection) -> StoreResult<()> {
    use sea_orm::ConnectionTrait;
    db.execute_unprepared("SELECT 1").await?;
    Ok(())
}

/// The newest row id per owner among `owners` (each service's or host's latest flip):
/// one grouped read of an `(owner, id)` index.
pub(crate) async fn latest_ids<E: sea_orm::EntityTrait>(
    db: &sea_orm::DatabaseConnection,
    id_column: E::Column,
    owner_column: E::Column,
    owners: Vec<String>,
) -> StoreResult<std::collections::HashMap<String, i64>> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
    if owners.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(String, Option<i64>)> = E::find()
        .select_only()
        .column(owner_column)
        .column_as(Expr::col(id_column).max(), "latest")
        .filter(owner_column.is_in(owners))
        .group_by(owner_column)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(owner, id)| Some((owner, id?)))
        .collect())
}

/// The id of the row just before `id` among the rows of `E` whose `owner` column is
/// `owner` (a service's or a host's flips): one probe of an `(owner, id)` index.
pub(crate) async fn previous_id<E: sea_orm::EntityTrait>(
    db: &sea_orm::DatabaseConnection,
    id_column: E::Column,
    owner_column: E::Column,
    owner: &str,
    id: i64,
) -> StoreResult<Option<i64>> {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
    Ok(E::find()
        .select_only()
        .column(id_column)
        .filter(owner_column.eq(owner))
        .filter(id_column.lt(id))
        .order_by_desc(id_column)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?)
}
