//! What `/metrics` reads: services and hosts in pages (services by primary key, or by rowid
//! on SQLite; a scrape of a million services is two hundred range reads, never one result
//! set held whole), the alert
//! backlog through `alerts (state, id)`, and the channels' names and kinds.
use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::{StoreError, StoreResult};
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
/// A [`ServiceTuple`] and the row's SQLite rowid.
type RowidTuple = (
    String,
    String,
    String,
    Status,
    Option<i64>,
    Option<i64>,
    i64,
);

/// A page of services and where the next one starts (`None` after the last page).
pub struct ServicePage {
    pub rows: Vec<ServiceRow>,
    pub next: Option<String>,
}

/// The services after the cursor `after` (from the previous page's `next`), at most `limit`.
///
/// On PostgreSQL and MySQL the pages follow the primary key. On SQLite they follow the
/// rowid, the order the table is stored in: `services.id` is text, so the id order goes
/// through the id index and then looks each row up in the table, which for a table
/// larger than SQLite's page cache (8 MB a connection) is a page read per service; the
/// rowid order reads each table page once (a profile of a million-service scrape in id
/// order had a third of the server's CPU in those page reads). The cursor is the last
/// rowid then. Only a
/// `VACUUM` renumbers rowids (of a table without an integer primary key): a scrape that
/// overlaps one may list a service twice or miss it, once.
#[tracing::instrument(level = "debug", skip(db))]
pub async fn services_page<C: ConnectionTrait>(
    db: &C,
    after: Option<&str>,
    limit: u64,
) -> StoreResult<ServicePage> {
    use services::Column as C;
    let by_rowid = db.get_database_backend() == DbBackend::Sqlite;
    let q = services::Entity::find().select_only().columns([
        C::Id,
        C::Name,
        C::Tags,
        C::Status,
        C::LastPingAt,
        C::LastRunMs,
    ]);
    let mut rowids: Vec<i64> = Vec::new();
    let rows: Vec<ServiceTuple> = if by_rowid {
        let mut q = q.expr_as(Expr::cust("rowid"), "rowid_");
        if let Some(after) = after {
            let after: i64 = after.parse().map_err(|_| {
                StoreError::Db(DbErr::Custom(format!("not a metrics cursor: {after}")))
            })?;
            q = q.filter(Expr::cust("rowid").gt(after));
        }
        let rows: Vec<RowidTuple> = q
            .order_by_asc(Expr::cust("rowid"))
            .limit(limit)
            .into_tuple()
            .all(db)
            .await?;
        rows.into_iter()
            .map(|(id, name, tags, status, ping, run, rowid)| {
                rowids.push(rowid);
                (id, name, tags, status, ping, run)
            })
            .collect()
    } else {
        let mut q = q;
        if let Some(after) = after {
            q = q.filter(C::Id.gt(after));
        }
        q.order_by_asc(C::Id)
            .limit(limit)
            .into_tuple()
            .all(db)
            .await?
    };
    let next = if (rows.len() as u64) < limit {
        None
    } else if by_rowid {
        rowids.last().map(ToString::to_string)
    } else {
        rows.last().map(|r| r.0.clone())
    };
    let rows = rows
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
        .collect();
    Ok(ServicePage { rows, next })
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
