//! Host flips, their alerts and the events log. A flip, its outbox rows and its events
//! are written in the transaction that changes the host's status, so a crash loses none;
//! the outbox (`store::alerts`) then delivers host alerts exactly as it does services'.
use std::collections::HashMap;

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::StoreResult;
use crate::clock::to_ms;
use crate::domain::host_status::{Change, HostEvent, HostFlip};
use crate::entity::{alerts, host_events, host_flips, hosts};

/// Store a change's flip (with one outbox row per recipient when it alerts) and events.
/// Returns how many alerts were queued.
pub async fn record<C: ConnectionTrait>(
    txn: &C,
    host: &hosts::Model,
    change: &Change,
) -> StoreResult<usize> {
    let queued = match &change.flip {
        Some(flip) => record_flip(txn, host, flip).await?,
        None => 0,
    };
    record_events(txn, &[(host, change.events.as_slice())]).await?;
    Ok(queued)
}

/// Store one flip and its alerts.
#[tracing::instrument(level = "debug", skip_all, fields(host = %host.id))]
pub async fn record_flip<C: ConnectionTrait>(
    txn: &C,
    host: &hosts::Model,
    flip: &HostFlip,
) -> StoreResult<usize> {
    let row = host_flips::ActiveModel {
        host_id: Set(host.id.clone()),
        host_name: Set(host.name.clone()),
        at: Set(to_ms(flip.at)),
        from_status: Set(flip.from),
        to_status: Set(flip.to),
        reason: Set(flip.reason),
        detail: Set(flip.detail.clone()),
        since: Set(flip.since.map(to_ms)),
        last_ok_at: Set(flip.last_ok_at.map(to_ms)),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    if !flip.reason.alerts() {
        return Ok(0);
    }
    super::alerts::queue(
        txn,
        super::alerts::Subject::Host(&host.id, row.id),
        &host.notify,
        &host.channels,
        flip.at,
    )
    .await
}

/// Store many hosts' events in a few statements.
pub async fn record_events<C: ConnectionTrait>(
    txn: &C,
    batch: &[(&hosts::Model, &[HostEvent])],
) -> StoreResult<()> {
    let rows: Vec<host_events::ActiveModel> = batch
        .iter()
        .flat_map(|(host, events)| {
            events.iter().map(|e| host_events::ActiveModel {
                host_id: Set(host.id.clone()),
                host_name: Set(host.name.clone()),
                at: Set(to_ms(e.at)),
                kind: Set(e.kind),
                check_key: Set(e.check.clone()),
                detail: Set(e.detail.clone()),
                ..Default::default()
            })
        })
        .collect();
    for chunk in rows.chunks(200) {
        host_events::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// A page of the events log, newest first; for one host when given.
#[tracing::instrument(skip(db))]
pub async fn events(
    db: &DatabaseConnection,
    host_id: Option<&str>,
    before: Option<i64>,
    limit: u64,
) -> StoreResult<Vec<host_events::Model>> {
    let mut q = host_events::Entity::find();
    if let Some(id) = host_id {
        q = q.filter(host_events::Column::HostId.eq(id));
    }
    if let Some(before) = before {
        q = q.filter(host_events::Column::Id.lt(before));
    }
    Ok(q.order_by_desc(host_events::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// A host's status changes, newest first.
pub async fn flips(
    db: &DatabaseConnection,
    host_id: &str,
    limit: u64,
) -> StoreResult<Vec<host_flips::Model>> {
    Ok(host_flips::Entity::find()
        .filter(host_flips::Column::HostId.eq(host_id))
        .order_by_desc(host_flips::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// The host flips behind a batch of alerts, keyed by flip id.
#[tracing::instrument(level = "debug", skip_all)]
/// For each host flip to up among `flips`, the id of the host's flip before it (whose mail
/// its mail answers). One probe of `host_flips (host_id, id)` per recovery.
pub async fn ended_flips<'a>(
    db: &DatabaseConnection,
    flips: impl Iterator<Item = &'a host_flips::Model>,
) -> StoreResult<HashMap<i64, i64>> {
    let mut out = HashMap::new();
    for f in flips.filter(|f| f.to_status == crate::domain::host::HostStatus::Up) {
        let before = super::previous_id::<host_flips::Entity>(
            db,
            host_flips::Column::Id,
            host_flips::Column::HostId,
            &f.host_id,
            f.id,
        )
        .await?;
        if let Some(id) = before {
            out.insert(f.id, id);
        }
    }
    Ok(out)
}

pub async fn flips_for_alerts(
    db: &DatabaseConnection,
    batch: &[alerts::Model],
) -> StoreResult<HashMap<i64, host_flips::Model>> {
    let ids: Vec<i64> = batch.iter().filter_map(|a| a.host_flip_id).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(host_flips::Entity::find()
        .filter(host_flips::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|f| (f.id, f))
        .collect())
}
