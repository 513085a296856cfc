//! Host metric roll-ups: 1-minute buckets (kept 7 days by default) and hourly buckets
//! (400 days), each holding a series' sample count, sum, maximum, minimum and last value.
//!
//! Reports are summed in memory per host, series and minute ([`Rollups::record`]: a map
//! insert, no query); the roll-up job writes each minute once it is over, into both
//! tables, as additive upserts in key order. So two instances ingesting the same host add
//! their counts and sums (never overwrite), concurrent writers take row locks in one order,
//! and a crash loses at most the minute in progress. Charts read the tables and add what
//! this instance has not written yet.
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait, Value};

use super::StoreResult;
use super::service_index::placeholder;
use crate::clock::to_ms;
use crate::domain::metrics::{self, Agg, HOUR, MINUTE, Metric, Sample};

/// A bucket's samples, summed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Acc {
    pub n: i64,
    pub sum: f64,
    pub max: f64,
    pub min: f64,
    pub last: f64,
    /// When `last` was sampled (ms).
    pub last_at: i64,
}

impl Acc {
    fn of(value: f64, at: i64) -> Self {
        Self {
            n: 1,
            sum: value,
            max: value,
            min: value,
            last: value,
            last_at: at,
        }
    }

    fn merge(&mut self, o: &Acc) {
        self.n += o.n;
        self.sum += o.sum;
        self.max = self.max.max(o.max);
        self.min = self.min.min(o.min);
        if o.last_at >= self.last_at {
            self.last = o.last;
            self.last_at = o.last_at;
        }
    }

    /// The bucket's value for `agg`.
    pub fn value(&self, agg: Agg) -> f64 {
        match agg {
            Agg::Avg => self.sum / self.n.max(1) as f64,
            Agg::Max => self.max,
            Agg::Min => self.min,
            Agg::Last => self.last,
        }
    }
}

/// One series of one host: `(host id, metric, part)`.
type Series = (String, Metric, String);

/// The roll-ups this instance has summed and not written yet, by series and minute.
#[derive(Default)]
pub struct Rollups {
    pending: Mutex<HashMap<Series, BTreeMap<i64, Acc>>>,
}

impl Rollups {
    /// Add one report's values, sampled at `at`.
    pub fn record(&self, host_id: &str, at: DateTime<Utc>, samples: &[Sample]) {
        let at_ms = to_ms(at);
        let minute = metrics::bucket(at_ms, MINUTE);
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        for s in samples.iter().filter(|s| s.value.is_finite()) {
            let series = (host_id.to_owned(), s.metric, s.part.clone());
            let acc = Acc::of(s.value, at_ms);
            pending
                .entry(series)
                .or_default()
                .entry(minute)
                .and_modify(|a| a.merge(&acc))
                .or_insert(acc);
        }
    }

    /// How many series have minutes not yet written.
    pub fn pending_series(&self) -> usize {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Take the minutes before `before` (ms; every minute when `None`).
    fn take(&self, before: Option<i64>) -> Vec<(Series, i64, Acc)> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        pending.retain(|series, minutes| {
            let keep = match before {
                Some(b) => minutes.split_off(&b),
                None => BTreeMap::new(),
            };
            for (minute, acc) in std::mem::replace(minutes, keep) {
                out.push((series.clone(), minute, acc));
            }
            !minutes.is_empty()
        });
        out
    }

    /// Put back minutes a failed write took, so the next run writes them.
    fn restore(&self, rows: Vec<(Series, i64, Acc)>) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        for (series, minute, acc) in rows {
            pending
                .entry(series)
                .or_default()
                .entry(minute)
                .and_modify(|a| a.merge(&acc))
                .or_insert(acc);
        }
    }

    /// Write the minutes that ended before `before` (all of them when `None`, at shutdown)
    /// into both tables. Returns how many minute rows were written.
    pub async fn flush(
        &self,
        db: &DatabaseConnection,
        before: Option<DateTime<Utc>>,
    ) -> StoreResult<usize> {
        let rows = self.take(before.map(|b| metrics::bucket(to_ms(b), MINUTE)));
        if rows.is_empty() {
            return Ok(0);
        }
        match write(db, &rows).await {
            Ok(()) => Ok(rows.len()),
            Err(e) => {
                self.restore(rows);
                Err(e)
            }
        }
    }

    /// What this instance holds for a series and not yet written, per minute.
    fn unwritten(&self, host_id: &str, metric: Metric, part: &str) -> Vec<(i64, Acc)> {
        let pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending
            .get(&(host_id.to_owned(), metric, part.to_owned()))
            .map(|m| m.iter().map(|(k, v)| (*k, *v)).collect())
            .unwrap_or_default()
    }

    /// The parts of a metric this instance holds unwritten minutes for.
    fn unwritten_parts(&self, host_id: &str, metric: Metric) -> Vec<String> {
        let pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending
            .keys()
            .filter(|(h, m, _)| h == host_id && *m == metric)
            .map(|(_, _, p)| p.clone())
            .collect()
    }
}

/// Rows per statement: well under every backend's bind-parameter limit.
const CHUNK: usize = 400;

async fn write(db: &DatabaseConnection, minutes: &[(Series, i64, Acc)]) -> StoreResult<()> {
    // The hours the minutes fall in, summed.
    let mut hours: BTreeMap<(&Series, i64), Acc> = BTreeMap::new();
    for (series, minute, acc) in minutes {
        hours
            .entry((series, metrics::bucket(*minute, HOUR)))
            .and_modify(|a| a.merge(acc))
            .or_insert(*acc);
    }
    // Key order, so that two instances writing the same rows lock them in one order.
    let mut minute_rows: Vec<(&Series, i64, &Acc)> =
        minutes.iter().map(|(s, m, a)| (s, *m, a)).collect();
    minute_rows.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    let hour_rows: Vec<(&Series, i64, &Acc)> =
        hours.iter().map(|((s, h), a)| (*s, *h, a)).collect();
    let backend = db.get_database_backend();
    let txn = db.begin().await?;
    for (table, rows) in [("host_minutes", &minute_rows), ("host_hours", &hour_rows)] {
        for chunk in rows.chunks(CHUNK) {
            txn.execute_raw(upsert(backend, table, chunk)).await?;
        }
    }
    txn.commit().await?;
    Ok(())
}

/// One statement adding these buckets to `table`'s: counts and sums add, the maximum and
/// minimum widen, the last value is the later one.
fn upsert(backend: DbBackend, table: &str, rows: &[(&Series, i64, &Acc)]) -> Statement {
    let mut sql = format!(
        "INSERT INTO {table} (host_id, metric, part, bucket, n, vsum, vmax, vmin, vlast, vlast_at) VALUES "
    );
    let mut values: Vec<Value> = Vec::with_capacity(rows.len() * 10);
    for (i, ((host, metric, part), bucket, acc)) in rows.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        let row: [Value; 10] = [
            host.as_str().into(),
            metric.as_str().into(),
            part.as_str().into(),
            (*bucket).into(),
            acc.n.into(),
            acc.sum.into(),
            acc.max.into(),
            acc.min.into(),
            acc.last.into(),
            acc.last_at.into(),
        ];
        for (j, v) in row.into_iter().enumerate() {
            if j > 0 {
                sql.push_str(", ");
            }
            values.push(v);
            sql.push_str(&placeholder(backend, values.len()));
        }
        sql.push(')');
    }
    match backend {
        DbBackend::MySql => sql.push_str(
            " ON DUPLICATE KEY UPDATE n = n + VALUES(n), vsum = vsum + VALUES(vsum), \
             vmax = GREATEST(vmax, VALUES(vmax)), vmin = LEAST(vmin, VALUES(vmin)), \
             vlast = IF(VALUES(vlast_at) >= vlast_at, VALUES(vlast), vlast), \
             vlast_at = GREATEST(vlast_at, VALUES(vlast_at))",
        ),
        _ => sql.push_str(&format!(
            " ON CONFLICT (host_id, metric, part, bucket) DO UPDATE SET \
             n = {table}.n + excluded.n, vsum = {table}.vsum + excluded.vsum, \
             vmax = CASE WHEN excluded.vmax > {table}.vmax THEN excluded.vmax ELSE {table}.vmax END, \
             vmin = CASE WHEN excluded.vmin < {table}.vmin THEN excluded.vmin ELSE {table}.vmin END, \
             vlast = CASE WHEN excluded.vlast_at >= {table}.vlast_at THEN excluded.vlast ELSE {table}.vlast END, \
             vlast_at = CASE WHEN excluded.vlast_at >= {table}.vlast_at THEN excluded.vlast_at ELSE {table}.vlast_at END"
        )),
    }
    Statement::from_sql_and_values(backend, sql, values)
}

/// A chart's question.
#[derive(Debug, Clone)]
pub struct SeriesQuery<'a> {
    pub host_id: &'a str,
    pub metric: Metric,
    /// A mount or GPU index; `None` takes, per bucket, the highest over every part (the
    /// fullest disk, the busiest GPU).
    pub part: Option<&'a str>,
    pub agg: Agg,
    /// 60 or 3600.
    pub step: i64,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// One point of a series: the bucket's start (ms) and its value.
pub type Point = (i64, f64);

/// The points of a series, oldest first: one per bucket that has samples.
#[tracing::instrument(level = "debug", skip(db, rollups))]
pub async fn series(
    db: &DatabaseConnection,
    rollups: &Rollups,
    q: &SeriesQuery<'_>,
) -> StoreResult<Vec<Point>> {
    let backend = db.get_database_backend();
    let table = if q.step == HOUR {
        "host_hours"
    } else {
        "host_minutes"
    };
    let from = metrics::bucket(to_ms(q.from), q.step);
    let to = to_ms(q.to);
    // A host-wide metric has one part, the empty one: naming it makes the query a range of
    // the primary key.
    let part = q
        .part
        .or((q.metric.part() == metrics::Part::Host).then_some(""));
    let mut values: Vec<Value> = vec![q.host_id.into(), q.metric.as_str().into()];
    let mut sql = format!(
        "SELECT part, bucket, n, vsum, vmax, vmin, vlast, vlast_at FROM {table} \
         WHERE host_id = {} AND metric = {}",
        placeholder(backend, 1),
        placeholder(backend, 2)
    );
    if let Some(part) = part {
        values.push(part.into());
        sql.push_str(&format!(
            " AND part = {}",
            placeholder(backend, values.len())
        ));
    }
    values.push(from.into());
    sql.push_str(&format!(
        " AND bucket >= {}",
        placeholder(backend, values.len())
    ));
    values.push(to.into());
    sql.push_str(&format!(
        " AND bucket <= {} ORDER BY bucket",
        placeholder(backend, values.len())
    ));
    // Per part, per bucket: what is written, plus what this instance has not written.
    let mut buckets: BTreeMap<(String, i64), Acc> = BTreeMap::new();
    for row in db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?
    {
        let acc = Acc {
            n: row.try_get_by_index(2)?,
            sum: row.try_get_by_index(3)?,
            max: row.try_get_by_index(4)?,
            min: row.try_get_by_index(5)?,
            last: row.try_get_by_index(6)?,
            last_at: row.try_get_by_index(7)?,
        };
        buckets.insert((row.try_get_by_index(0)?, row.try_get_by_index(1)?), acc);
    }
    let parts = match part {
        Some(p) => vec![p.to_owned()],
        None => rollups.unwritten_parts(q.host_id, q.metric),
    };
    for part in parts {
        for (minute, acc) in rollups.unwritten(q.host_id, q.metric, &part) {
            let bucket = metrics::bucket(minute, q.step);
            if bucket < from || bucket > to {
                continue;
            }
            buckets
                .entry((part.clone(), bucket))
                .and_modify(|a| a.merge(&acc))
                .or_insert(acc);
        }
    }
    // Across parts, the highest value per bucket.
    let mut points: BTreeMap<i64, f64> = BTreeMap::new();
    for ((_, bucket), acc) in buckets {
        let v = acc.value(q.agg);
        points
            .entry(bucket)
            .and_modify(|p| *p = p.max(v))
            .or_insert(v);
    }
    Ok(points.into_iter().collect())
}

/// Delete the buckets older than the cut-offs, a bucket at a time so no statement holds
/// locks for long. Returns how many rows went.
#[tracing::instrument(level = "debug", skip(db))]
pub async fn prune(
    db: &DatabaseConnection,
    minutes_before: Option<DateTime<Utc>>,
    hours_before: Option<DateTime<Utc>>,
) -> StoreResult<u64> {
    let backend = db.get_database_backend();
    let mut deleted = 0;
    for (table, before) in [
        ("host_minutes", minutes_before),
        ("host_hours", hours_before),
    ] {
        let Some(before) = before else { continue };
        let cutoff = to_ms(before);
        loop {
            let oldest = db
                .query_one_raw(Statement::from_sql_and_values(
                    backend,
                    format!(
                        "SELECT MIN(bucket) AS b FROM {table} WHERE bucket < {}",
                        placeholder(backend, 1)
                    ),
                    [cutoff.into()],
                ))
                .await?
                .map(|r| r.try_get::<Option<i64>>("", "b"))
                .transpose()?
                .flatten();
            let Some(oldest) = oldest else { break };
            let res = db
                .execute_raw(Statement::from_sql_and_values(
                    backend,
                    format!(
                        "DELETE FROM {table} WHERE bucket = {}",
                        placeholder(backend, 1)
                    ),
                    [oldest.into()],
                ))
                .await?;
            deleted += res.rows_affected();
        }
    }
    Ok(deleted)
}
