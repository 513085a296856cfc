//! Read models for pages: what the alerts page and a service's page show, shaped for them.
use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::StoreResult;
use super::alerts::{AlertState, FAILED, PENDING};
use crate::entity::{alerts, flips, services};

/// Alerts produced by these flips, grouped by flip.
#[tracing::instrument(skip_all)]
pub async fn alerts_for_flips(
    db: &DatabaseConnection,
    flip_ids: &[i64],
) -> StoreResult<HashMap<i64, Vec<alerts::Model>>> {
    let mut out: HashMap<i64, Vec<alerts::Model>> = HashMap::new();
    if flip_ids.is_empty() {
        return Ok(out);
    }
    let rows = alerts::Entity::find()
        .filter(alerts::Column::FlipId.is_in(flip_ids.iter().copied()))
        .order_by_asc(alerts::Column::Id)
        .all(db)
        .await?;
    for a in rows {
        if let Some(flip) = a.flip_id {
            out.entry(flip).or_default().push(a);
        }
    }
    Ok(out)
}

/// How far an alert's delivery got, as the alerts page filters it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    Failed,
    /// Pending after at least one failed attempt.
    Retrying,
    /// Pending, not tried yet.
    Queued,
}

/// Which alerts a page shows; every part is served by an index ending in the id.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub delivery: Option<Delivery>,
    pub service_id: Option<String>,
    /// One channel's deliveries (services' and hosts'), through `idx_alerts_channel`.
    pub channel_id: Option<String>,
    /// Created at or after this time (Unix ms).
    pub since_ms: Option<i64>,
}

/// A page of services' alerts (or of one channel's, hosts' included), newest first, each with the flip that produced it.
#[tracing::instrument(skip_all)]
pub async fn alerts_page(
    db: &DatabaseConnection,
    filter: &AlertFilter,
    before: Option<i64>,
    limit: u64,
) -> StoreResult<Vec<(alerts::Model, Option<flips::Model>)>> {
    let mut q = alerts::Entity::find();
    q = match &filter.channel_id {
        Some(channel) => q.filter(alerts::Column::ChannelId.eq(channel.as_str())),
        None => q.filter(alerts::Column::ServiceId.is_not_null()),
    };
    if let Some(before) = before {
        q = q.filter(alerts::Column::Id.lt(before));
    }
    if let Some(service) = &filter.service_id {
        q = q.filter(alerts::Column::ServiceId.eq(service.as_str()));
    }
    if let Some(since) = filter.since_ms {
        q = q.filter(alerts::Column::CreatedAt.gte(since));
    }
    q = match filter.delivery {
        None => q,
        Some(Delivery::Sent) => q.filter(alerts::Column::State.eq(AlertState::Sent)),
        Some(Delivery::Failed) => q.filter(alerts::Column::State.eq(FAILED)),
        Some(Delivery::Retrying) => q
            .filter(alerts::Column::State.eq(PENDING))
            .filter(alerts::Column::Attempts.gt(0)),
        Some(Delivery::Queued) => q
            .filter(alerts::Column::State.eq(PENDING))
            .filter(alerts::Column::Attempts.eq(0)),
    };
    let rows = q
        .order_by_desc(alerts::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let mut flip_ids: Vec<i64> = rows.iter().filter_map(|a| a.flip_id).collect();
    flip_ids.sort_unstable();
    flip_ids.dedup();
    let flips: HashMap<i64, flips::Model> = if flip_ids.is_empty() {
        HashMap::new()
    } else {
        flips::Entity::find()
            .filter(flips::Column::Id.is_in(flip_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|f| (f.id, f))
            .collect()
    };
    Ok(rows
        .into_iter()
        .map(|a| {
            let f = a.flip_id.and_then(|id| flips.get(&id).cloned());
            (a, f)
        })
        .collect())
}

/// The time zone of each of these services.
#[tracing::instrument(skip_all)]
pub async fn service_zones(
    db: &DatabaseConnection,
    ids: &[String],
) -> StoreResult<HashMap<String, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, String)> = services::Entity::find()
        .select_only()
        .column(services::Column::Id)
        .column(services::Column::Timezone)
        .filter(services::Column::Id.is_in(ids.iter().cloned()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Where alert mail stands: alerts waiting for a retry (at least one failed attempt),
/// alerts given up on since `since_ms`, and whether the latest finished alert failed.
pub struct MailHealth {
    pub retrying: u64,
    pub failed_recently: u64,
    pub last_finished_failed: bool,
}

#[tracing::instrument(skip_all)]
pub async fn mail_health(db: &DatabaseConnection, since_ms: i64) -> StoreResult<MailHealth> {
    let retrying = alerts::Entity::find()
        .filter(alerts::Column::State.eq(PENDING))
        .filter(alerts::Column::Attempts.gt(0))
        .count(db)
        .await?;
    let failed_recently = alerts::Entity::find()
        .filter(alerts::Column::State.eq(FAILED))
        .filter(alerts::Column::CreatedAt.gte(since_ms))
        .count(db)
        .await?;
    let last: Option<AlertState> = alerts::Entity::find()
        .select_only()
        .column(alerts::Column::State)
        .filter(alerts::Column::State.ne(PENDING))
        .order_by_desc(alerts::Column::Id)
        .into_tuple()
        .one(db)
        .await?;
    Ok(MailHealth {
        retrying,
        failed_recently,
        last_finished_failed: last == Some(FAILED),
    })
}
