//! Maintenance windows: a small table, read whole by the outbox on every batch.
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder,
};

use super::{StoreError, StoreResult};
use crate::clock::to_ms;
use crate::domain::Tags;
use crate::domain::maintenance::{Repeat, Window, WindowColumns, day_name, time_text};
use crate::entity::maintenance_windows::{Column, Entity, Model};

/// Windows are few (dozens); more than this is refused at creation, so a list and the
/// outbox's read stay one small query.
pub const MAX_WINDOWS: u64 = 1000;

/// The stored row of `w`.
fn model_of(w: &Window, created_at: i64, now: DateTime<Utc>) -> Model {
    let (starts_at, ends_at, days, start_time, duration_secs) = match &w.repeat {
        Repeat::Once { starts_at, ends_at } => (
            Some(to_ms(*starts_at)),
            Some(to_ms(*ends_at)),
            None,
            None,
            None,
        ),
        Repeat::Daily { start, duration } => (
            None,
            None,
            None,
            Some(time_text(*start)),
            Some(duration.num_seconds()),
        ),
        Repeat::Weekly {
            days,
            start,
            duration,
        } => (
            None,
            None,
            Some(
                days.iter()
                    .map(|d| day_name(*d))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            Some(time_text(*start)),
            Some(duration.num_seconds()),
        ),
    };
    Model {
        id: w.id.clone(),
        name: w.name.clone(),
        tags: Tags::parse(&w.tags).unwrap_or_default().to_column(),
        applies_to: w.applies_to.as_str().to_owned(),
        repeat_kind: w.repeat.kind().as_str().to_owned(),
        starts_at,
        ends_at,
        days,
        start_time,
        duration_secs,
        timezone: w.tz.name().to_owned(),
        created_at,
        updated_at: to_ms(now),
    }
}

/// The window a row holds, or why it no longer parses.
pub fn window_of(m: &Model) -> Result<Window, String> {
    WindowColumns {
        id: &m.id,
        name: &m.name,
        tags: &m.tags,
        applies_to: &m.applies_to,
        repeat_kind: &m.repeat_kind,
        starts_at: m.starts_at,
        ends_at: m.ends_at,
        days: m.days.as_deref(),
        start_time: m.start_time.as_deref(),
        duration_secs: m.duration_secs,
        timezone: &m.timezone,
    }
    .window()
}

#[tracing::instrument(skip(db, w), fields(id = %w.id, name = %w.name))]
pub async fn create(db: &DatabaseConnection, w: &Window, now: DateTime<Utc>) -> StoreResult<Model> {
    let m = model_of(w, to_ms(now), now);
    Ok(m.into_active_model().reset_all().insert(db).await?)
}

#[tracing::instrument(skip(db))]
pub async fn get(db: &DatabaseConnection, id: &str) -> StoreResult<Model> {
    Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .ok_or(StoreError::NotFound("maintenance window"))
}

/// Replace a window's settings; its id and creation time stay.
#[tracing::instrument(skip(db, w), fields(id = %w.id))]
pub async fn update(db: &DatabaseConnection, w: &Window, now: DateTime<Utc>) -> StoreResult<Model> {
    let current = get(db, &w.id).await?;
    let m = model_of(w, current.created_at, now);
    // Not `ActiveModel::update`: MySQL reports an UPDATE that changes nothing as no row.
    Entity::update_many()
        .set(m.clone().into_active_model().reset_all())
        .filter(Column::Id.eq(w.id.as_str()))
        .exec(db)
        .await?;
    Ok(m)
}

#[tracing::instrument(skip(db))]
pub async fn delete(db: &DatabaseConnection, id: &str) -> StoreResult<()> {
    let res = Entity::delete_by_id(id.to_owned()).exec(db).await?;
    if res.rows_affected == 0 {
        return Err(StoreError::NotFound("maintenance window"));
    }
    Ok(())
}

/// Every window's row, by name.
#[tracing::instrument(level = "debug", skip(db))]
pub async fn list(db: &DatabaseConnection) -> StoreResult<Vec<Model>> {
    use sea_orm::QuerySelect;
    Ok(Entity::find()
        .order_by_asc(Column::Name)
        .order_by_asc(Column::Id)
        .limit(MAX_WINDOWS)
        .all(db)
        .await?)
}

pub async fn count(db: &DatabaseConnection) -> StoreResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(Entity::find().count(db).await?)
}

/// Every window that parses, for [`crate::domain::maintenance::silenced_until`]. A row
/// that no longer parses (a zone removed from the database of zones, a hand edit) is
/// skipped with a warning rather than stopping every alert.
#[tracing::instrument(level = "debug", skip(db))]
pub async fn all_windows(db: &DatabaseConnection) -> StoreResult<Vec<Window>> {
    Ok(list(db)
        .await?
        .iter()
        .filter_map(|m| {
            window_of(m)
                .map_err(|error| {
                    tracing::warn!(id = %m.id, name = %m.name, %error, "maintenance window skipped")
                })
                .ok()
        })
        .collect())
}
