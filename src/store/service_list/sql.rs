//! The statements behind a list page. Each reads keys only (name key and id) from one
//! index, in the index's own order: `idx_services_list (status, name_key, id)` or
//! `idx_service_tags_list (tag, status, name_key, service_id)`. Term filters use only
//! what that index holds (the name key, and the id to probe other tags), so no row is
//! read from `services` until the page's ids are known.
use sea_orm::{DbBackend, Statement, Value};

use super::Term;
use crate::domain::status::Status;
use crate::store::service_index::placeholder;

/// Where a status range's keys come from.
#[derive(Debug, Clone, Copy)]
pub(super) enum Source<'a> {
    /// `services` itself.
    Services,
    /// The services with this tag.
    Tag(&'a str),
    /// These services (a name search's few matches, looked up once).
    Ids(&'a [String]),
}

/// One end of a range: keys after (or, going backwards, before) this name key and id.
pub(super) struct Bound<'a> {
    pub key: &'a str,
    pub id: &'a str,
}

/// A statement being written, with its parameters numbered as the backend wants.
struct Sql {
    backend: DbBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    fn new(backend: DbBackend) -> Self {
        Self {
            backend,
            text: String::with_capacity(256),
            values: Vec::new(),
        }
    }

    fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    fn bind(&mut self, v: impl Into<Value>) -> &mut Self {
        self.values.push(v.into());
        self.text
            .push_str(&placeholder(self.backend, self.values.len()));
        self
    }

    fn build(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.text, self.values)
    }

    /// An id column in byte order: PostgreSQL databases often default to a linguistic
    /// collation, which would not agree with the index or with the application.
    fn id(&self, col: &str) -> String {
        match self.backend {
            DbBackend::Postgres => format!("{col} COLLATE \"C\""),
            _ => col.to_owned(),
        }
    }

    /// `<name key> contains <needle>`; the key is lower-case, as is the needle.
    fn name_contains(&mut self, key: &str, needle: &str) -> &mut Self {
        let f = match self.backend {
            DbBackend::Postgres => "strpos",
            _ => "instr",
        };
        self.push(&format!("{f}({key}, "))
            .bind(needle)
            .push(") > 0")
    }

    fn has_tag(&mut self, id: &str, tag: &str) -> &mut Self {
        self.push(&format!(
            "EXISTS (SELECT 1 FROM service_tags x WHERE x.service_id = {id} AND x.tag = "
        ))
        .bind(tag)
        .push(")")
    }

    /// `AND` each term's condition on the key and id columns.
    fn terms(&mut self, key: &str, id: &str, terms: &[&Term]) -> &mut Self {
        for term in terms {
            self.push(" AND ");
            match term {
                Term::Tag(t) => self.has_tag(id, t),
                Term::Name(n) => self.name_contains(key, n),
                Term::TagOrName(t) => self
                    .push("(")
                    .has_tag(id, t)
                    .push(" OR ")
                    .name_contains(key, t)
                    .push(")"),
            };
        }
        self
    }

    /// `SELECT k, i FROM … WHERE` the keys of `status` from `source`, after (or before)
    /// `bound`. Returns the key and id columns, for the conditions that follow.
    fn keys(
        &mut self,
        source: Source<'_>,
        status: Status,
        bound: Option<&Bound<'_>>,
        backwards: bool,
    ) -> (&'static str, &'static str) {
        let (key, id) = match source {
            Source::Tag(_) => ("g.name_key", "g.service_id"),
            Source::Services | Source::Ids(_) => ("s.name_key", "s.id"),
        };
        self.push(&format!("SELECT {key} AS k, {id} AS i"));
        match source {
            Source::Tag(tag) => {
                self.push(" FROM service_tags g WHERE g.tag = ")
                    .bind(tag)
                    .push(" AND g.status = ")
                    .bind(status.as_str());
            }
            Source::Services => {
                self.push(" FROM services s WHERE s.status = ")
                    .bind(status.as_str());
            }
            Source::Ids(ids) => {
                self.push(" FROM services s WHERE s.status = ")
                    .bind(status.as_str())
                    .push(" AND s.id IN (");
                for (i, id) in ids.iter().enumerate() {
                    if i > 0 {
                        self.push(", ");
                    }
                    self.bind(id.as_str());
                }
                self.push(")");
            }
        }
        if let Some(b) = bound {
            // `key >= k` lets every planner start the range at k; the rest drops the
            // keys at or before the cursor within it.
            let (ge, gt) = if backwards { ("<=", "<") } else { (">=", ">") };
            let id_col = self.id(id);
            self.push(&format!(" AND {key} {ge} "))
                .bind(b.key)
                .push(&format!(" AND ({key} {gt} "))
                .bind(b.key)
                .push(&format!(" OR {id_col} {gt} "))
                .bind(b.id)
                .push(")");
        }
        (key, id)
    }
}

/// The name keys and ids (`k`, `i`) of up to `limit` services of one status from
/// `source` that match `terms`, in key order (or reversed).
pub(super) fn range(
    backend: DbBackend,
    source: Source<'_>,
    status: Status,
    bound: Option<&Bound<'_>>,
    backwards: bool,
    terms: &[&Term],
    limit: u64,
) -> Statement {
    let mut sql = Sql::new(backend);
    let (key, id) = sql.keys(source, status, bound, backwards);
    sql.terms(key, id, terms);
    let dir = if backwards { "DESC" } else { "ASC" };
    let id = sql.id(id);
    sql.push(&format!(" ORDER BY {key} {dir}, {id} {dir} LIMIT {limit}"));
    sql.build()
}

/// One row per status (`s`): of the first `budget`
/// services of that status in `source` (`n`), how many match `terms` (`m`). Each reads
/// one index range of at most `budget` entries; `n = budget` means the count stopped.
pub(super) fn counts(
    backend: DbBackend,
    source: Source<'_>,
    terms: &[&Term],
    budget: u64,
) -> Statement {
    let mut sql = Sql::new(backend);
    let int = |e: &str| match backend {
        DbBackend::MySql => format!("CAST({e} AS SIGNED)"),
        _ => e.to_owned(),
    };
    for (i, status) in Status::ALL.iter().enumerate() {
        if i > 0 {
            sql.push(" UNION ALL ");
        }
        sql.push(&format!(
            "SELECT '{status}' AS s, {} AS n, ",
            int("COUNT(*)")
        ));
        if terms.is_empty() {
            sql.push(&int("COUNT(*)"));
        } else {
            // Matches among the range read; the terms' parameters come first in the text.
            let (open, close) = match backend {
                DbBackend::MySql => ("CAST(", " AS SIGNED)"),
                _ => ("", ""),
            };
            sql.push(&format!("{open}COALESCE(SUM(CASE WHEN 1 = 1"));
            sql.terms(&format!("d{i}.k"), &format!("d{i}.i"), terms);
            sql.push(&format!(" THEN 1 ELSE 0 END), 0){close}"));
        }
        sql.push(" AS m FROM (");
        sql.keys(source, *status, None, false);
        sql.push(&format!(" LIMIT {budget}) d{i}"));
    }
    sql.build()
}

/// Per status, how many of `ids` match `terms` but lack the tag `except` (those are
/// counted through the tag index already).
pub(super) fn id_counts(
    backend: DbBackend,
    ids: &[String],
    except: Option<&str>,
    terms: &[&Term],
) -> Statement {
    let mut sql = Sql::new(backend);
    let count = match backend {
        DbBackend::MySql => "CAST(COUNT(*) AS SIGNED)",
        _ => "COUNT(*)",
    };
    sql.push(&format!(
        "SELECT s.status AS status, {count} AS n FROM services s WHERE s.id IN ("
    ));
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(id.as_str());
    }
    sql.push(")");
    if let Some(tag) = except {
        sql.push(" AND NOT ").has_tag("s.id", tag);
    }
    sql.terms("s.name_key", "s.id", terms)
        .push(" GROUP BY s.status");
    sql.build()
}

/// The ids of up to `limit` services whose name key contains `needle`: one pass over an
/// index that holds the key, or less when matches are many.
pub(super) fn name_matches(backend: DbBackend, needle: &str, limit: u64) -> Statement {
    let mut sql = Sql::new(backend);
    sql.push("SELECT s.id AS id FROM services s WHERE ")
        .name_contains("s.name_key", needle)
        .push(&format!(" LIMIT {limit}"));
    sql.build()
}

/// Up to `cap + 1` services with this tag, counted on the tag index.
pub(super) fn tag_size(backend: DbBackend, tag: &str, cap: u64) -> Statement {
    let mut sql = Sql::new(backend);
    let count = match backend {
        DbBackend::MySql => "CAST(COUNT(*) AS SIGNED)",
        _ => "COUNT(*)",
    };
    sql.push(&format!(
        "SELECT {count} AS n FROM (SELECT 1 AS one FROM service_tags WHERE tag = "
    ))
    .bind(tag)
    .push(&format!(" LIMIT {}) c", cap + 1));
    sql.build()
}

/// For each tag, its worst status if that is down or late: one probe of
/// `idx_service_tags_list` per tag (`down` sorts before `late`), so a page's chips cost the
/// same whatever the number of services. Returns `tag` and `status` columns.
pub(super) fn worst_of_tags(backend: DbBackend, tags: &[&str]) -> Statement {
    let mut q = Sql::new(backend);
    for (i, tag) in tags.iter().enumerate() {
        if i > 0 {
            q.push(" UNION ALL ");
        }
        q.push("SELECT * FROM (SELECT tag, status FROM service_tags WHERE tag = ")
            .bind(*tag)
            .push(" AND status IN ('down', 'late') ORDER BY status LIMIT 1)")
            .push(&format!(" w{i}"));
    }
    q.build()
}

/// The first services, by name, that notify nobody (`idx_services_silent`), and one more
/// than `limit` so the caller knows whether there are others. Returns `id` and `name`.
pub(super) fn silent(backend: DbBackend, limit: u64) -> Statement {
    Statement::from_string(
        backend,
        format!("SELECT id, name FROM services WHERE notify = '' ORDER BY name_key LIMIT {limit}"),
    )
}

/// How many services notify nobody, counting no further than `cap`.
pub(super) fn silent_count(backend: DbBackend, cap: u64) -> Statement {
    Statement::from_string(
        backend,
        format!(
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM services WHERE notify = '' LIMIT {cap}) c"
        ),
    )
}
