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
//! names contain it, found once per change of names and remembered in [`SearchCache`]);
//! the other terms filter those rows, using only what the driving index holds. A term
//! whose text is part of many names, and no term's tag, leaves only the scan of
//! `(status, name_key, id)`, which stops as soon as the page is full.
//!
//! Ranges read keys only; the page's rows are fetched by id at the end (`page.rs`).
//! Status tab counts are capped, bounded and remembered (`counts.rs`).
mod counts;
mod cursor;
mod facts;
mod page;
mod sql;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, QuerySelect};

pub use counts::{COUNT_BUDGET, COUNT_CAP, Count, Counts, counts};
pub use cursor::Cursor;
pub use facts::{DownSince, Facts, SILENT_CAP, Silent, facts, silent};
pub use page::page;
use sql::Source;

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
/// A name search with at most this many matches is remembered as their ids.
const FEW_NAMES: usize = 500;
const CACHE_MAX: usize = 256;
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

/// Whether there is any service at all.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn any(db: &DatabaseConnection) -> StoreResult<bool> {
    Ok(services::Entity::find()
        .select_only()
        .column(services::Column::Id)
        .into_tuple::<String>()
        .one(db)
        .await?
        .is_some())
}
