//! A page: the keys of each status range read in the order's direction, merged, and the
//! page's rows fetched by id.
use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::sql::{self, Bound};
use super::{At, Cursor, Page, Plan};
use crate::domain::status::Status;
use crate::entity::services::{self, Model};
use crate::store::StoreResult;

/// A page of at most `limit` services.
#[tracing::instrument(level = "debug", skip(db, plan))]
pub async fn page(db: &DatabaseConnection, plan: &Plan, at: &At, limit: u64) -> StoreResult<Page> {
    let first = async || read(db, plan, None, false, limit + 1).await;
    let (mut keys, backwards, from) = match at {
        At::First => (first().await?, false, None),
        At::After(c) => (
            read(db, plan, Some(c), false, limit + 1).await?,
            false,
            Some(c),
        ),
        At::Before(c) => {
            let keys = read(db, plan, Some(c), true, limit + 1).await?;
            if (keys.len() as u64) < limit {
                // Near the start: show the whole first page rather than a short one.
                (first().await?, false, None)
            } else {
                (keys, true, Some(c))
            }
        }
    };
    let more = keys.len() as u64 > limit;
    keys.truncate(limit as usize);
    if backwards {
        keys.reverse();
    }
    let (next, prev) = if backwards {
        let prev = if more { keys.first().cloned() } else { None };
        (keys.last().cloned(), prev)
    } else {
        let next = if more { keys.last().cloned() } else { None };
        // After a cursor there is a page before, even when this one came out empty.
        let prev = from.map(|c| keys.first().cloned().unwrap_or_else(|| c.clone()));
        (next, prev)
    };
    Ok(Page {
        rows: fetch(db, &keys).await?,
        next,
        prev,
    })
}

/// The rows of these keys, in their order.
async fn fetch(db: &DatabaseConnection, keys: &[Cursor]) -> StoreResult<Vec<Model>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows: HashMap<String, Model> = services::Entity::find()
        .filter(services::Column::Id.is_in(keys.iter().map(|k| k.id.clone())))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.id.clone(), m))
        .collect();
    // A service deleted since its key was read is left out.
    Ok(keys.iter().filter_map(|k| rows.remove(&k.id)).collect())
}

/// Up to `want` keys after (or before) the cursor, nearest first.
async fn read(
    db: &DatabaseConnection,
    plan: &Plan,
    cursor: Option<&Cursor>,
    backwards: bool,
    want: u64,
) -> StoreResult<Vec<Cursor>> {
    let backend = db.get_database_backend();
    let (sources, terms) = plan.sources();
    // Statuses in the order's direction, so that a later group is read only when the
    // earlier ones did not fill the page.
    let mut statuses: Vec<(u8, Status)> = plan
        .statuses()
        .into_iter()
        .map(|s| (plan.group(s), s))
        .collect();
    statuses.sort_by_key(|(g, _)| *g);
    if backwards {
        statuses.reverse();
    }
    let mut found: Vec<Cursor> = Vec::new();
    let mut full_group: Option<u8> = None;
    for (group, status) in statuses {
        if full_group.is_some_and(|g| g != group) {
            break;
        }
        let bound = match cursor {
            // Groups the cursor has passed hold nothing for this page.
            Some(c) if (!backwards && group < c.group) || (backwards && group > c.group) => {
                continue;
            }
            Some(c) if group == c.group => Some(Bound {
                key: &c.key,
                id: &c.id,
            }),
            _ => None,
        };
        for source in &sources {
            let stmt = sql::range(
                backend,
                *source,
                status,
                bound.as_ref(),
                backwards,
                &terms,
                want,
            );
            for row in db.query_all_raw(stmt).await? {
                found.push(Cursor {
                    group,
                    key: row.try_get("", "k")?,
                    id: row.try_get("", "i")?,
                });
            }
        }
        if found.len() as u64 >= want {
            full_group = Some(group);
        }
    }
    found.sort();
    found.dedup_by(|a, b| a.id == b.id);
    if backwards {
        found.reverse();
    }
    found.truncate(want as usize);
    Ok(found)
}
