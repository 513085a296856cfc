//! Status tab counts: index range counts, capped; for a search, bounded per status and
//! remembered until a status or a service changes.
use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DatabaseConnection};

use super::sql::{self, Source};
use super::{Driver, Plan, SearchCache, remember};
use crate::domain::status::Status;
use crate::store::StoreResult;

/// Counts stop here: past it, a tab says "10000+" rather than read every row.
pub const COUNT_CAP: u64 = 10_000;

/// A search's count reads at most this many index entries per status (each checked
/// against the other terms); past it, the tab shows what it found with a "+".
pub const COUNT_BUDGET: u64 = 20_000;

/// How many services of a status match: `n`, or at least `n` when `more`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    pub n: u64,
    pub more: bool,
}

pub type Counts = HashMap<Status, Count>;

/// Matching services per status, from the cache while no status and no service changed.
#[tracing::instrument(level = "debug", skip(db, cache, plan))]
pub async fn counts(
    db: &DatabaseConnection,
    cache: &SearchCache,
    plan: &Plan,
) -> StoreResult<Counts> {
    let key = format!("{:?}", plan.terms);
    {
        let map = cache.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((rev, counts)) = map.get(&key)
            && *rev == plan.revisions
        {
            return Ok(counts.clone());
        }
    }
    let counts = count(db, plan).await?;
    remember(&cache.counts, key, (plan.revisions, counts.clone()));
    Ok(counts)
}

async fn count(db: &DatabaseConnection, plan: &Plan) -> StoreResult<Counts> {
    let backend = db.get_database_backend();
    let mut out: Counts = Status::ALL.iter().map(|s| (*s, Count::default())).collect();
    let (sources, terms) = plan.sources();
    let except = match &plan.driver {
        Driver::Term { tag, .. } => tag.as_deref(),
        _ => None,
    };
    // Without other terms a count is an index range count: it may stop just past the cap.
    let budget = if terms.is_empty() {
        COUNT_CAP + 1
    } else {
        COUNT_BUDGET
    };
    for source in sources {
        if let Source::Ids(ids) = source {
            for row in db
                .query_all_raw(sql::id_counts(backend, ids, except, &terms))
                .await?
            {
                let status: String = row.try_get("", "status")?;
                if let Ok(s) = status.parse::<Status>() {
                    out.entry(s).or_default().n += row.try_get::<i64>("", "n")? as u64;
                }
            }
            continue;
        }
        for row in db
            .query_all_raw(sql::counts(backend, source, &terms, budget))
            .await?
        {
            let status: String = row.try_get("", "s")?;
            let Ok(s) = status.parse::<Status>() else {
                continue;
            };
            let scanned: i64 = row.try_get("", "n")?;
            let matched: i64 = row.try_get("", "m")?;
            let c = out.entry(s).or_default();
            c.n += matched as u64;
            c.more |= scanned as u64 >= budget;
        }
    }
    for c in out.values_mut() {
        if c.n > COUNT_CAP {
            c.n = COUNT_CAP;
            c.more = true;
        }
    }
    Ok(out)
}
