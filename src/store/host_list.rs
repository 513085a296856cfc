//! Pages of hosts in name order: all of them, by status, by part of the name, or by tags
//! through `host_tags (tag, name_key, host_id)`.
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::StoreResult;
use super::hosts::name_key;
use super::service_list::Cursor;
use crate::domain::host::HostStatus;
use crate::entity::host_tags;
use crate::entity::hosts::{Column, Entity, Model};

/// Which hosts a page lists.
#[derive(Debug, Clone, Default)]
pub struct HostFilter {
    /// All of these tags.
    pub tags: Vec<String>,
    pub status: Option<HostStatus>,
    /// Part of the name, any case.
    pub q: Option<String>,
}

/// A page of hosts in name order, after `after`. A tag search walks the first tag's
/// index range (`host_tags (tag, name_key, host_id)`) and checks the other tags per row;
/// a status filter walks `hosts (status, name_key, id)`.
#[tracing::instrument(skip(db))]
pub async fn page(
    db: &DatabaseConnection,
    filter: &HostFilter,
    after: Option<&Cursor>,
    limit: u64,
) -> StoreResult<Vec<Model>> {
    let mut q = Entity::find();
    if let Some(first) = filter.tags.first() {
        let mut sub = host_tags::Entity::find()
            .select_only()
            .column(host_tags::Column::HostId)
            .filter(host_tags::Column::Tag.eq(first.as_str()));
        if let Some(c) = after {
            sub = sub.filter(after_cond(
                host_tags::Column::NameKey,
                host_tags::Column::HostId,
                c,
            ));
        }
        q = q.filter(Column::Id.in_subquery(sea_orm::QueryTrait::into_query(sub)));
        for tag in &filter.tags[1..] {
            let other = host_tags::Entity::find()
                .select_only()
                .column(host_tags::Column::HostId)
                .filter(host_tags::Column::Tag.eq(tag.as_str()));
            q = q.filter(Column::Id.in_subquery(sea_orm::QueryTrait::into_query(other)));
        }
    }
    if let Some(status) = filter.status {
        q = q.filter(Column::Status.eq(status));
    }
    if let Some(text) = filter.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        q = q.filter(Column::NameKey.contains(name_key(text)));
    }
    if let Some(c) = after {
        q = q.filter(after_cond(Column::NameKey, Column::Id, c));
    }
    Ok(q.order_by_asc(Column::NameKey)
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Rows after a cursor in `(name_key, id)` order.
fn after_cond<K: ColumnTrait, I: ColumnTrait>(key: K, id: I, c: &Cursor) -> Condition {
    Condition::any().add(key.gt(c.key.as_str())).add(
        Condition::all()
            .add(key.eq(c.key.as_str()))
            .add(id.gt(c.id.as_str())),
    )
}

/// The cursor after a row.
pub fn cursor_after(m: &Model) -> Cursor {
    Cursor {
        group: 0,
        key: m.name_key.clone(),
        id: m.id.clone(),
    }
}
