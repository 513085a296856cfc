//! The audit log: appended by the use cases, read by admins, newest first.
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::StoreResult;
use crate::clock::to_ms;
use crate::entity::audit_log;

/// One thing that happened.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub actor: &'a str,
    pub source: Option<&'a str>,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub detail: Option<&'a str>,
}

fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[tracing::instrument(level = "debug", skip(db))]
pub async fn record(db: &DatabaseConnection, e: &Entry<'_>) -> StoreResult<()> {
    audit_log::ActiveModel {
        at: Set(to_ms(e.at)),
        actor_id: Set(e.actor_id),
        actor: Set(clip(e.actor, 64)),
        source: Set(e.source.map(|s| clip(s, 64))),
        action: Set(clip(e.action, 64)),
        target: Set(e.target.map(|s| clip(s, 256))),
        detail: Set(e.detail.map(|s| clip(s, 2000))),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// A page of the log, newest first: entries with an id below `before`, optionally of one
/// action only. The primary key (and the `(action, id)` index) keep this a range scan.
#[tracing::instrument(skip(db))]
pub async fn page(
    db: &DatabaseConnection,
    action: Option<&str>,
    before: Option<i64>,
    limit: u64,
) -> StoreResult<Vec<audit_log::Model>> {
    let mut q = audit_log::Entity::find();
    if let Some(action) = action {
        q = q.filter(audit_log::Column::Action.eq(action));
    }
    if let Some(before) = before {
        q = q.filter(audit_log::Column::Id.lt(before));
    }
    Ok(q.order_by_desc(audit_log::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}
