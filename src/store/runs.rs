//! Job runs: the rows a `start` ping opens and the next success or failure closes. The
//! ping writer (`store::pings`) opens, pairs and closes them in its transactions; this
//! module reads them for pages and the API.
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::StoreResult;
use crate::entity::runs;

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
