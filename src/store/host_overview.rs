//! The hosts overview's read model: pages in attention order (down, then degraded, then
//! the rest, each by name), the status tab counts, and the size of the unmanaged inbox.
//!
//! A page walks one status at a time through `hosts (status, name_key, id)`, each walk an
//! index range scan from the cursor that stops once the page is full, and merges the
//! statuses of a group by name. Search terms filter those rows: a term matches a host
//! that has it as a tag (`host_tags (tag, ...)`, an index lookup) or whose name contains
//! it. Fleets are thousands of hosts, not millions, so the name test needs no index.
use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait,
};

use super::StoreResult;
use super::hosts::name_key;
use super::service_list::{At, Cursor};
use crate::domain::host::HostStatus;
use crate::entity::hosts::{Column, Entity, Model};
use crate::entity::{host_inbox, host_tags};

/// Which hosts the overview lists.
#[derive(Debug, Clone, Default)]
pub struct HostQuery {
    /// Every term must match: a tag of the host or part of its name (lower case).
    pub terms: Vec<String>,
    pub status: Option<HostStatus>,
}

/// One page of hosts and the cursors of the pages around it.
#[derive(Debug)]
pub struct HostPage {
    pub rows: Vec<Model>,
    pub next: Option<Cursor>,
    pub prev: Option<Cursor>,
}

/// The attention group of a status: what is broken first.
pub fn group(status: HostStatus) -> u8 {
    match status {
        HostStatus::Down => 0,
        HostStatus::Degraded => 1,
        HostStatus::New | HostStatus::Up | HostStatus::Paused => 2,
    }
}

/// The statuses in page order.
const ORDER: [HostStatus; 5] = [
    HostStatus::Down,
    HostStatus::Degraded,
    HostStatus::Up,
    HostStatus::New,
    HostStatus::Paused,
];

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Every term a tag of the host or part of its name.
fn terms_cond(terms: &[String]) -> Condition {
    let mut all = Condition::all();
    for t in terms {
        let key = name_key(t);
        let tagged = host_tags::Entity::find()
            .select_only()
            .column(host_tags::Column::HostId)
            .filter(host_tags::Column::Tag.eq(key.as_str()))
            .into_query();
        all =
            all.add(Condition::any().add(Column::Id.in_subquery(tagged)).add(
                Expr::col(Column::NameKey).like(LikeExpr::new(escape_like(&key)).escape('\\')),
            ));
    }
    all
}

/// Up to `want` rows of one status after (or before) `bound`, nearest first.
async fn range(
    db: &DatabaseConnection,
    status: HostStatus,
    terms: &Condition,
    bound: Option<&Cursor>,
    backwards: bool,
    want: u64,
) -> StoreResult<Vec<Model>> {
    let mut q = Entity::find()
        .filter(Column::Status.eq(status))
        .filter(terms.clone());
    if let Some(c) = bound {
        let (key, id) = (c.key.as_str(), c.id.as_str());
        q = q.filter(if backwards {
            Condition::any().add(Column::NameKey.lt(key)).add(
                Condition::all()
                    .add(Column::NameKey.eq(key))
                    .add(Column::Id.lt(id)),
            )
        } else {
            Condition::any().add(Column::NameKey.gt(key)).add(
                Condition::all()
                    .add(Column::NameKey.eq(key))
                    .add(Column::Id.gt(id)),
            )
        });
    }
    let q = if backwards {
        q.order_by_desc(Column::NameKey).order_by_desc(Column::Id)
    } else {
        q.order_by_asc(Column::NameKey).order_by_asc(Column::Id)
    };
    Ok(q.limit(want).all(db).await?)
}

fn cursor_of(m: &Model) -> Cursor {
    Cursor {
        group: group(m.status),
        key: m.name_key.clone(),
        id: m.id.clone(),
    }
}

/// Up to `want` rows after (or before) the cursor in page order, nearest first.
async fn read(
    db: &DatabaseConnection,
    q: &HostQuery,
    cursor: Option<&Cursor>,
    backwards: bool,
    want: u64,
) -> StoreResult<Vec<Model>> {
    let terms = terms_cond(&q.terms);
    let mut statuses: Vec<HostStatus> = ORDER
        .into_iter()
        .filter(|s| q.status.is_none_or(|only| only == *s))
        .collect();
    if backwards {
        statuses.reverse();
    }
    let mut found: Vec<Model> = Vec::new();
    let mut full_group: Option<u8> = None;
    for status in statuses {
        let g = group(status);
        if full_group.is_some_and(|f| f != g) {
            break;
        }
        let bound = match cursor {
            // Groups the cursor has passed hold nothing for this page.
            Some(c) if (!backwards && g < c.group) || (backwards && g > c.group) => continue,
            Some(c) if g == c.group => Some(c),
            _ => None,
        };
        found.extend(range(db, status, &terms, bound, backwards, want).await?);
        if found.len() as u64 >= want {
            full_group = Some(g);
        }
    }
    found.sort_by_cached_key(cursor_of);
    if backwards {
        found.reverse();
    }
    found.truncate(want as usize);
    Ok(found)
}

/// A page of at most `limit` hosts.
#[tracing::instrument(level = "debug", skip(db))]
pub async fn page(
    db: &DatabaseConnection,
    q: &HostQuery,
    at: &At,
    limit: u64,
) -> StoreResult<HostPage> {
    let (mut rows, backwards, from) = match at {
        At::First => (read(db, q, None, false, limit + 1).await?, false, None),
        At::After(c) => (
            read(db, q, Some(c), false, limit + 1).await?,
            false,
            Some(c),
        ),
        At::Before(c) => {
            let rows = read(db, q, Some(c), true, limit + 1).await?;
            if (rows.len() as u64) < limit {
                // Near the start: the whole first page rather than a short one.
                (read(db, q, None, false, limit + 1).await?, false, None)
            } else {
                (rows, true, Some(c))
            }
        }
    };
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    if backwards {
        rows.reverse();
    }
    let (next, prev) = if backwards {
        (
            rows.last().map(cursor_of),
            if more {
                rows.first().map(cursor_of)
            } else {
                None
            },
        )
    } else {
        (
            if more {
                rows.last().map(cursor_of)
            } else {
                None
            },
            // After a cursor there is a page before, even when this one came out empty.
            from.map(|c| rows.first().map(cursor_of).unwrap_or_else(|| c.clone())),
        )
    };
    Ok(HostPage { rows, next, prev })
}

/// How many hosts match the terms, per status.
#[tracing::instrument(level = "debug", skip(db))]
pub async fn counts(
    db: &DatabaseConnection,
    terms: &[String],
) -> StoreResult<HashMap<HostStatus, u64>> {
    let rows: Vec<(HostStatus, i64)> = Entity::find()
        .select_only()
        .column(Column::Status)
        .column_as(Expr::col(Column::Id).count(), "n")
        .filter(terms_cond(terms))
        .group_by(Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(s, n)| (s, u64::try_from(n).unwrap_or(0)))
        .collect())
}

/// Whether any host exists (an empty search says "no match", not "no hosts yet").
pub async fn any(db: &DatabaseConnection) -> StoreResult<bool> {
    Ok(Entity::find()
        .select_only()
        .column(Column::Id)
        .into_tuple::<String>()
        .one(db)
        .await?
        .is_some())
}

/// How many names wait in the unmanaged inbox.
pub async fn inbox_count(db: &DatabaseConnection) -> StoreResult<u64> {
    Ok(host_inbox::Entity::find().count(db).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_match_the_text_itself() {
        assert_eq!(escape_like("gpu_a100"), "%gpu\\_a100%");
        assert_eq!(escape_like("50%"), "%50\\%%");
    }

    #[test]
    fn broken_hosts_come_first() {
        assert!(group(HostStatus::Down) < group(HostStatus::Degraded));
        assert!(group(HostStatus::Degraded) < group(HostStatus::Up));
        assert_eq!(group(HostStatus::Paused), group(HostStatus::New));
    }
}
