//! Pages of services, searched and counted through indexes, whatever the number of
//! services (see the migration `services_list_index` for the schema).
//!
//! A page is assembled from one ordered range per status (down, late, up, new, paused),
//! each an index range scan starting at the cursor and read no further than the page
//! needs; the ranges are merged here. The UI's order puts down first, then late, then the
//! rest, each by name; the API's is by name alone.
//!
//! A search is a list of terms that must all match. One term drives: the rows come from
//! its tag's index range (and, when it may also match names, from the few services whose
//! names contain it, found once per change of names and remembered in [`TermCache`]);
//! the other terms filter those rows. A term whose text is part of many names, and no
//! term's tag, leaves only the scan of `(status, name_key, id)`, which stops as soon as
//! the page is full.
mod cursor;
mod sql;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
};

pub use cursor::Cursor;
use sql::{Bound, Source};

use super::StoreResult;
use super::service_index::{Revisions, name_key, revisions};
use crate::domain::status::Status;
use crate::entity::services::{self, Model};

/// One search term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// The service has this tag.
    Tag(String),
    /// The name contains this, any case.
    Name(String),
    /// Either: the search box's terms.
    TagOrName(String),
}

impl Term {
    /// A name search term, lower-cased as names are keyed.
    pub fn name(s: &str) -> Self {
        Term::Name(name_key(s))
    }

    pub fn tag_or_name(s: &str) -> Self {
        Term::TagOrName(name_key(s))
    }

    fn tag(&self) -> Option<&str> {
        match self {
            Term::Tag(t) | Term::TagOrName(t) => Some(t),
            Term::Name(_) => None,
        }
    }

    fn needle(&self) -> Option<&str> {
        match self {
            Term::Name(n) | Term::TagOrName(n) => Some(n),
            Term::Tag(_) => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Down, then late, then the rest; each group by name.
    Attention,
    /// By name.
    Name,
}

#[derive(Debug, Clone)]
pub struct ListQuery {
    pub terms: Vec<Term>,
    pub status: Option<Status>,
    pub order: Order,
}

/// Which page.
#[derive(Debug, Clone)]
pub enum At {
    First,
    After(Cursor),
    Before(Cursor),
}

#[derive(Debug)]
pub struct Page {
    pub rows: Vec<Model>,
    /// Set when there are rows after this page.
    pub next: Option<Cursor>,
    /// Set when there are (or, after a cursor, may be) rows before this page.
    pub prev: Option<Cursor>,
}

/// Counts stop here: past it, a tab says "10000+" rather than read every row.
pub const COUNT_CAP: u64 = 10_000;

/// A search's count reads at most this many index entries per status (each checked
/// against the other terms); past it, the tab shows what it found with a "+".
pub const COUNT_BUDGET: u64 = 20_000;

/// A name search with at most this many matches is remembered as their ids.
const FEW_NAMES: usize = 500;
const CACHE_MAX: usize = 256;

/// How many services of a status match: `n`, or at least `n` when `more`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    pub n: u64,
    pub more: bool,
}

pub type Counts = HashMap<Status, Count>;

#[derive(Debug, Clone)]
enum Names {
    Few(Arc<Vec<String>>),
    Many,
}

/// What searches learnt, reused until it may have changed (by any process: the
/// `revisions` counters are in the database): the services whose names contain a term,
/// until a service is created, renamed or deleted; a search's counts, until a status
/// changes too.
#[derive(Default)]
pub struct SearchCache {
    names: Mutex<HashMap<String, (i64, Names)>>,
    counts: Mutex<HashMap<String, (Revisions, Counts)>>,
}

fn remember<V>(map: &Mutex<HashMap<String, V>>, key: String, value: V) {
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    if map.len() >= CACHE_MAX {
        map.clear();
    }
    map.insert(key, value);
}

impl SearchCache {
    async fn names<C: ConnectionTrait>(
        &self,
        db: &C,
        needle: &str,
        revision: i64,
    ) -> StoreResult<Names> {
        {
            let map = self.names.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((rev, names)) = map.get(needle)
                && *rev == revision
            {
                return Ok(names.clone());
            }
        }
        let stmt = sql::name_matches(db.get_database_backend(), needle, FEW_NAMES as u64 + 1);
        let mut ids = Vec::new();
        for row in db.query_all_raw(stmt).await? {
            ids.push(row.try_get::<String>("", "id")?);
        }
        let names = if ids.len() > FEW_NAMES {
            Names::Many
        } else {
            Names::Few(Arc::new(ids))
        };
        remember(&self.names, needle.to_owned(), (revision, names.clone()));
        Ok(names)
    }
}

/// How a query's rows are found; made once per request by [`plan`].
#[derive(Debug)]
pub struct Plan {
    query: ListQuery,
    /// The terms as they can match here: a term whose text is no tag matches only
    /// names, one in no name only tags.
    terms: Vec<Term>,
    driver: Driver,
    revisions: Revisions,
}

#[derive(Debug)]
enum Driver {
    /// Some term matches nothing.
    Nothing,
    /// Every service (of the status), filtered by every term.
    Scan,
    /// The services of `terms[term]`: its tag's rows and the ids of the names it is in.
    Term {
        term: usize,
        tag: Option<String>,
        ids: Arc<Vec<String>>,
    },
}

/// Choose the term that drives: the one with the fewest services, counted on indexes.
#[tracing::instrument(level = "debug", skip(db, cache))]
pub async fn plan(
    db: &DatabaseConnection,
    cache: &SearchCache,
    query: ListQuery,
) -> StoreResult<Plan> {
    let backend = db.get_database_backend();
    let revisions = revisions(db).await?;
    let mut terms = Vec::with_capacity(query.terms.len());
    let mut best: Option<(u64, Driver)> = None;
    for (i, term) in query.terms.iter().enumerate() {
        let mut size = 0;
        let mut tag = None;
        if let Some(t) = term.tag() {
            let row = db
                .query_one_raw(sql::tag_size(backend, t, COUNT_CAP))
                .await?;
            let n: i64 = row.map(|r| r.try_get("", "n")).transpose()?.unwrap_or(0);
            if n > 0 {
                tag = Some(t.to_owned());
                size += n as u64;
            }
        }
        let names = match term.needle() {
            Some(needle) => Some(cache.names(db, needle, revisions.catalog).await?),
            None => None,
        };
        let ids = match &names {
            Some(Names::Few(ids)) => ids.clone(),
            _ => Arc::new(Vec::new()),
        };
        size += ids.len() as u64;
        let in_names = matches!(&names, Some(Names::Many)) || !ids.is_empty();
        terms.push(match (&tag, term.needle()) {
            (Some(t), Some(_)) if in_names => Term::TagOrName(t.clone()),
            (Some(t), _) => Term::Tag(t.clone()),
            (None, needle) => Term::Name(needle.unwrap_or_default().to_owned()),
        });
        if matches!(names, Some(Names::Many)) {
            continue;
        }
        if best.as_ref().is_none_or(|(s, _)| size < *s) {
            let driver = if size == 0 {
                Driver::Nothing
            } else {
                Driver::Term { term: i, tag, ids }
            };
            best = Some((size, driver));
        }
    }
    let driver = best.map_or(Driver::Scan, |(_, d)| d);
    Ok(Plan {
        query,
        terms,
        driver,
        revisions,
    })
}

impl Plan {
    /// The sources keys come from, and the terms that filter them.
    fn sources(&self) -> (Vec<Source<'_>>, Vec<&Term>) {
        let all: Vec<&Term> = self.terms.iter().collect();
        match &self.driver {
            Driver::Nothing => (Vec::new(), all),
            Driver::Scan => (vec![Source::Services], all),
            Driver::Term { term, tag, ids } => {
                let mut sources = Vec::new();
                if let Some(tag) = tag {
                    sources.push(Source::Tag(tag));
                }
                if !ids.is_empty() {
                    sources.push(Source::Ids(ids));
                }
                let others = all
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| i != term)
                    .map(|(_, t)| t)
                    .collect();
                (sources, others)
            }
        }
    }

    fn statuses(&self) -> Vec<Status> {
        match self.query.status {
            Some(s) => vec![s],
            None => Status::ALL.to_vec(),
        }
    }

    /// A status's place in the order; a single status tab has one group.
    fn group(&self, status: Status) -> u8 {
        match (self.query.order, self.query.status) {
            (Order::Attention, None) => match status {
                Status::Down => 0,
                Status::Late => 1,
                _ => 2,
            },
            _ => 0,
        }
    }
}

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

/// Whether there is any service at all.
pub async fn any(db: &DatabaseConnection) -> StoreResult<bool> {
    Ok(services::Entity::find()
        .select_only()
        .column(services::Column::Id)
        .into_tuple::<String>()
        .one(db)
        .await?
        .is_some())
}
