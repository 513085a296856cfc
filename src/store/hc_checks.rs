//! The reads the healthchecks-compatible management API needs beyond the services store:
//! the upsert look-up (`unique`) and flips in a time range. (A check's ping count is the
//! service's `ping_count`.)

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::StoreResult;
use super::service_index::name_key;
use crate::domain::Tags;
use crate::domain::schedule::ScheduleKind;
use crate::domain::status::Status;
use crate::entity::{flips, services};

/// What an upsert matches on: each `Some` must be equal (healthchecks' `unique`).
#[derive(Debug, Clone, Default)]
pub struct Match {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub tags: Option<Tags>,
    /// An interval service with this period.
    pub period_secs: Option<i64>,
    pub grace_secs: Option<i64>,
}

/// The first service (by id) that matches every given field, if any. Names and slugs are
/// unique and indexed, so a match that names one reads one row. Tags match as a set, in
/// any order: the rows holding each tag are read and the exact set kept.
pub async fn find_match<C: ConnectionTrait>(
    db: &C,
    m: &Match,
) -> StoreResult<Option<services::Model>> {
    let mut q = services::Entity::find();
    if let Some(name) = &m.name {
        q = q.filter(services::Column::NameKey.eq(name_key(name)));
    }
    if let Some(slug) = &m.slug {
        q = q.filter(services::Column::Slug.eq(slug.as_str()));
    }
    if let Some(tags) = &m.tags {
        if tags.as_slice().is_empty() {
            q = q.filter(services::Column::Tags.eq(""));
        }
        for t in tags.as_slice() {
            q = q.filter(services::Column::Tags.like(format!("%,{t},%")));
        }
    }
    if let Some(period) = m.period_secs {
        q = q
            .filter(services::Column::Kind.eq(ScheduleKind::Interval))
            .filter(services::Column::PeriodSecs.eq(period));
    }
    if let Some(grace) = m.grace_secs {
        q = q.filter(services::Column::GraceSecs.eq(grace));
    }
    let q = q.order_by_asc(services::Column::Id);
    let Some(tags) = &m.tags else {
        return Ok(q.one(db).await?);
    };
    let want = tags.as_slice();
    Ok(q.all(db).await?.into_iter().find(|s| {
        let have = Tags::from_column(&s.tags);
        have.as_slice().len() == want.len() && want.iter().all(|t| have.as_slice().contains(t))
    }))
}

/// A service's flips to up, down, paused or new (not to late: healthchecks counts a late
/// check as up), newest first, at or after `since_ms` and before `before_ms` when given.
pub async fn flips<C: ConnectionTrait>(
    db: &C,
    service_id: &str,
    since_ms: Option<i64>,
    before_ms: Option<i64>,
    limit: u64,
) -> StoreResult<Vec<flips::Model>> {
    let mut q = flips::Entity::find()
        .filter(flips::Column::ServiceId.eq(service_id))
        .filter(flips::Column::ToStatus.ne(Status::Late));
    if let Some(since) = since_ms {
        q = q.filter(flips::Column::At.gte(since));
    }
    if let Some(before) = before_ms {
        q = q.filter(flips::Column::At.lt(before));
    }
    Ok(q.order_by_desc(flips::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}
