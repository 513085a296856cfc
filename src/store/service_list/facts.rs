//! What a page's rows say beyond their own columns: since when each down service has been
//! down and why (its latest flip), the worst status among the services of each tag shown
//! (so a chip can warn), and which services notify nobody. Each is a few index probes, so
//! a page costs the same at a million services.
use std::collections::{BTreeSet, HashMap};

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::Count;
use super::sql;
use crate::domain::Tags;
use crate::domain::status::{Reason, Status};
use crate::entity::flips;
use crate::entity::services::Model;
use crate::store::StoreResult;

/// Why and since when a down service is down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownSince {
    /// When it went down (ms since the epoch).
    pub at: i64,
    /// What its job reported, when it went down by a reported error.
    pub error: Option<String>,
}

#[derive(Debug, Default)]
pub struct Facts {
    /// By service id, for the page's down services.
    pub down: HashMap<String, DownSince>,
    /// By tag, for the page's tags whose services include a down or late one.
    pub worst: HashMap<String, Status>,
}

/// The facts for one page of rows.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn facts(db: &DatabaseConnection, rows: &[Model]) -> StoreResult<Facts> {
    let mut out = Facts::default();
    for row in rows.iter().filter(|r| r.status == Status::Down) {
        let latest = flips::Entity::find()
            .select_only()
            .columns([
                flips::Column::At,
                flips::Column::Reason,
                flips::Column::Data,
            ])
            .filter(flips::Column::ServiceId.eq(row.id.as_str()))
            .filter(flips::Column::ToStatus.eq(Status::Down))
            .order_by_desc(flips::Column::Id)
            .limit(1)
            .into_tuple::<(i64, Reason, Option<String>)>()
            .one(db)
            .await?;
        if let Some((at, reason, data)) = latest {
            let error = data.filter(|_| reason == Reason::Error);
            out.down.insert(row.id.clone(), DownSince { at, error });
        }
    }
    let tags: BTreeSet<String> = rows
        .iter()
        .flat_map(|r| Tags::from_column(&r.tags).into_vec())
        .collect();
    let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
    // Bound the statement's size; a page rarely shows more than a few dozen tags.
    for chunk in tags.chunks(50) {
        let stmt = sql::worst_of_tags(db.get_database_backend(), chunk);
        for row in db.query_all_raw(stmt).await? {
            let tag: String = row.try_get("", "tag")?;
            let status: String = row.try_get("", "status")?;
            if let Ok(status) = status.parse() {
                out.worst.insert(tag, status);
            }
        }
    }
    Ok(out)
}

/// Services that can never alert because they notify nobody: the first `limit` by name,
/// and how many there are (counted up to a cap).
#[derive(Debug, Default)]
pub struct Silent {
    pub first: Vec<(String, String)>,
    pub count: Count,
}

pub const SILENT_CAP: u64 = 1_000;

#[tracing::instrument(level = "debug", skip_all)]
pub async fn silent(db: &DatabaseConnection, limit: u64) -> StoreResult<Silent> {
    let backend = db.get_database_backend();
    let mut first = Vec::new();
    for row in db.query_all_raw(sql::silent(backend, limit)).await? {
        first.push((row.try_get("", "id")?, row.try_get("", "name")?));
    }
    if first.is_empty() {
        return Ok(Silent::default());
    }
    let n: i64 = match db
        .query_one_raw(sql::silent_count(backend, SILENT_CAP + 1))
        .await?
    {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    let n = n as u64;
    Ok(Silent {
        first,
        count: Count {
            n: n.min(SILENT_CAP),
            more: n > SILENT_CAP,
        },
    })
}
