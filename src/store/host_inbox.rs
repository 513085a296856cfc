//! The inbox of unmanaged hosts: names that report but are not in the inventory, each
//! with its report count and latest report, until adopted (`app::hosts::adopt`) or
//! dismissed.
use std::collections::{BTreeMap, HashMap};

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::host_reports::Unknown;
use super::hosts::name_key;
use super::{StoreError, StoreResult};
use crate::entity::host_inbox;

/// Add reports from names not in the inventory to the inbox (rare: read, then write).
pub(super) async fn write(
    txn: &sea_orm::DatabaseTransaction,
    unknown: BTreeMap<String, Unknown>,
) -> Result<(), DbErr> {
    let existing: HashMap<String, host_inbox::Model> = host_inbox::Entity::find()
        .filter(host_inbox::Column::NameKey.is_in(unknown.keys().cloned()))
        .lock_exclusive()
        .all(txn)
        .await?
        .into_iter()
        .map(|m| (m.name_key.clone(), m))
        .collect();
    let rows: Vec<host_inbox::ActiveModel> = unknown
        .into_iter()
        .map(|(key, u)| {
            let old = existing.get(&key);
            host_inbox::ActiveModel {
                first_seen_at: Set(old.map_or(u.first, |o| o.first_seen_at)),
                reports: Set(old.map_or(0, |o| o.reports) + u.count),
                name_key: Set(key),
                name: Set(u.name),
                last_seen_at: Set(u.last),
                source: Set(u.source),
                snapshot: Set(Some(u.json)),
            }
        })
        .collect();
    for chunk in rows.chunks(100) {
        host_inbox::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::column(host_inbox::Column::NameKey)
                    .update_columns([
                        host_inbox::Column::Name,
                        host_inbox::Column::LastSeenAt,
                        host_inbox::Column::Reports,
                        host_inbox::Column::Source,
                        host_inbox::Column::Snapshot,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// The inbox, most recently seen first.
pub async fn list(db: &DatabaseConnection, limit: u64) -> StoreResult<Vec<host_inbox::Model>> {
    Ok(host_inbox::Entity::find()
        .order_by_desc(host_inbox::Column::LastSeenAt)
        .limit(limit)
        .all(db)
        .await?)
}

pub async fn entry<C: sea_orm::ConnectionTrait>(
    db: &C,
    name: &str,
) -> StoreResult<host_inbox::Model> {
    host_inbox::Entity::find_by_id(name_key(name))
        .one(db)
        .await?
        .ok_or(StoreError::NotFound("unmanaged host"))
}

/// Forget a name in the inbox.
pub async fn dismiss<C: sea_orm::ConnectionTrait>(db: &C, name: &str) -> StoreResult<()> {
    let res = host_inbox::Entity::delete_by_id(name_key(name))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(StoreError::NotFound("unmanaged host"));
    }
    Ok(())
}
