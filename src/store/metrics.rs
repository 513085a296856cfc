//! What `/metrics` reads: services and hosts in pages by primary key (a scrape of a million
//! services is a hundred index range reads, never one result set held whole), the alert
//! backlog through `alerts (state, id)`, and the channels' names and kinds.
use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::StoreResult;
use crate::domain::alert::AlertState;
use crate::domain::channel::ChannelKind;
use crate::domain::status::Status;
use crate::entity::{alerts, channels, hosts, services};
use crate::store::host_live::{self, LiveHosts};
use crate::store::host_reports::Latest;

/// Services per page of a scrape.
pub const SERVICE_PAGE: u64 = 5000;
/// Hosts per page of a scrape (rows are larger, and their latest snapshots come along).
pub const HOST_PAGE: u64 = 500;

/// The columns of a service a scrape shows.
#[derive(Debug, Clone)]
pub struct ServiceRow {
    pub id: String,
    pub name: String,
    /// `,a,b,` as stored.
    pub tags: String,
    pub status: Status,
    /// Unix ms.
    pub last_ping_at: Option<i64>,
    pub last_run_ms: Option<i64>,
}

type ServiceTuple = (String, String, String, Status, Option<i64>, Option<i64>);

/// Services after `after` (an id) in id order, at most `limit`.
#[tracing::instrument(level = "debug", skip(db))]
pub async fn services_page<C: ConnectionTrait>(
    db: &C,
    after: Option<&str>,
    limit: u64,
) -> StoreResult<Vec<ServiceRow>> {
    use services::Column as C;
    let mut q = services::Entity::find().select_only().columns([
        C::Id,
        C::Name,
        C::Tags,
        C::Status,
        C::LastPingAt,
        C::LastRunMs,
    ]);
    if let Some(after) = after {
        q = q.filter(C::Id.gt(after));
    }
    let rows: Vec<ServiceTuple> = q
        .order_by_asc(C::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, name, tags, status, last_ping_at, last_run_ms)| ServiceRow {
                id,
                name,
                tags,
                status,
                last_ping_at,
                last_run_ms,
            },
        )
        .collect())
}

/// Hosts after `after` in id order, at most `limit`, with their latest snapshots (from
/// memory when fresh).
#[tracing::instrument(level = "debug", skip(db, live))]
pub async fn hosts_page(
    db: &DatabaseConnection,
    live: &LiveHosts,
    after: Option<&str>,
    limit: u64,
) -> StoreResult<(Vec<hosts::Model>, HashMap<String, Latest>)> {
    let mut q = hosts::Entity::find();
    if let Some(after) = after {
        q = q.filter(hosts::Column::Id.gt(after));
    }
    let rows = q
        .order_by_asc(hosts::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let latest = host_live::latest_of(db, live, &rows).await?;
    Ok((rows, latest))
}

/// Alerts waiting in the outbox: `(pending, held)`.
#[tracing::instrument(level = "debug", skip(db))]
pub async fn outbox_backlog<C: ConnectionTrait>(db: &C) -> StoreResult<(u64, u64)> {
    let mut out = (0, 0);
    let rows: Vec<(AlertState, i64)> = alerts::Entity::find()
        .select_only()
        .column(alerts::Column::State)
        .column_as(Expr::col(alerts::Column::Id).count(), "n")
        .filter(alerts::Column::State.is_in([AlertState::Pending, AlertState::Held]))
        .group_by(alerts::Column::State)
        .into_tuple()
        .all(db)
        .await?;
    for (state, n) in rows {
        match state {
            AlertState::Pending => out.0 = n as u64,
            AlertState::Held => out.1 = n as u64,
            _ => {}
        }
    }
    Ok(out)
}

/// Every channel's name and kind by id, to label the delivery counters.
#[tracing::instrument(level = "debug", skip(db))]
pub async fn channel_names<C: ConnectionTrait>(
    db: &C,
) -> StoreResult<HashMap<String, (String, ChannelKind)>> {
    let rows: Vec<(String, String, ChannelKind)> = channels::Entity::find()
        .select_only()
        .columns([
            channels::Column::Id,
            channels::Column::Name,
            channels::Column::Kind,
        ])
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, kind)| (id, (name, kind)))
        .collect())
}
