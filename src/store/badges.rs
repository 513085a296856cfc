//! What badges read: the server's badge key, one service's status, the worst status among
//! a tag's services or all services (one indexed existence check per status, however many
//! services there are), and the tags and services to list badges for.
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
    Value,
};

use super::service_index::placeholder;
use super::{StoreError, StoreResult};
use crate::domain::status::Status;
use crate::entity::{instance_secrets, services};

/// The order a badge looks for statuses in: the first one any service has is the badge's.
pub const WORST_FIRST: [Status; 5] = [
    Status::Down,
    Status::Late,
    Status::Up,
    Status::New,
    Status::Paused,
];

/// The secret badge URLs are signed with (made by the migration, never changed).
#[tracing::instrument(level = "debug", skip(db))]
pub async fn badge_key<C: ConnectionTrait>(db: &C) -> StoreResult<String> {
    instance_secrets::Entity::find_by_id("badge_key")
        .one(db)
        .await?
        .map(|m| m.value)
        .ok_or(StoreError::NotFound("badge key"))
}

/// A service's name and status.
#[tracing::instrument(level = "debug", skip(db))]
pub async fn service<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> StoreResult<Option<(String, Status)>> {
    Ok(services::Entity::find_by_id(id)
        .select_only()
        .columns([services::Column::Name, services::Column::Status])
        .into_tuple()
        .one(db)
        .await?)
}

/// The worst status among the services tagged `tag` (among all services when `None`):
/// down, then late, up, new, paused. `None`: no such service.
#[tracing::instrument(level = "debug", skip(db))]
pub async fn worst<C: ConnectionTrait>(db: &C, tag: Option<&str>) -> StoreResult<Option<Status>> {
    let b = db.get_database_backend();
    for status in WORST_FIRST {
        let found = match tag {
            // Through `idx_services_list (status, name_key, id)`.
            None => services::Entity::find()
                .select_only()
                .column(services::Column::Id)
                .filter(services::Column::Status.eq(status))
                .limit(1)
                .into_tuple::<String>()
                .one(db)
                .await?
                .is_some(),
            // Through `idx_service_tags_list (tag, status, name_key, service_id)`.
            Some(tag) => db
                .query_one_raw(Statement::from_sql_and_values(
                    b,
                    format!(
                        "SELECT service_id FROM service_tags WHERE tag = {} AND status = {} LIMIT 1",
                        placeholder(b, 1),
                        placeholder(b, 2)
                    ),
                    [Value::from(tag), Value::from(status.as_str())],
                ))
                .await?
                .is_some(),
        };
        if found {
            return Ok(Some(status));
        }
    }
    Ok(None)
}

/// Tags in use, in byte order, at most `limit`: one index probe per tag (a loose index
/// scan), so a tag with a million services costs what a tag with one does.
#[tracing::instrument(level = "debug", skip(db))]
pub async fn tags<C: ConnectionTrait>(db: &C, limit: usize) -> StoreResult<Vec<String>> {
    let b = db.get_database_backend();
    let mut out: Vec<String> = Vec::new();
    while out.len() < limit {
        let (sql, values) = match out.last() {
            None => (
                "SELECT tag FROM service_tags ORDER BY tag LIMIT 1".to_owned(),
                vec![],
            ),
            Some(last) => (
                format!(
                    "SELECT tag FROM service_tags WHERE tag > {} ORDER BY tag LIMIT 1",
                    placeholder(b, 1)
                ),
                vec![Value::from(last.as_str())],
            ),
        };
        let row = db
            .query_one_raw(Statement::from_sql_and_values(b, sql, values))
            .await?;
        match row {
            Some(row) => out.push(row.try_get("", "tag")?),
            None => break,
        }
    }
    Ok(out)
}

/// A page of services (id, name, status) after `after`, in id order.
#[tracing::instrument(level = "debug", skip(db))]
pub async fn services_page<C: ConnectionTrait>(
    db: &C,
    after: Option<&str>,
    limit: u64,
) -> StoreResult<Vec<(String, String, Status)>> {
    let mut q = services::Entity::find().select_only().columns([
        services::Column::Id,
        services::Column::Name,
        services::Column::Status,
    ]);
    if let Some(after) = after {
        q = q.filter(services::Column::Id.gt(after));
    }
    Ok(q.order_by_asc(services::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?)
}
