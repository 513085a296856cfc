//! Connecting to the database and running migrations.
//!
//! Two failures shape the pool. A database that is away must not hold requests: a request
//! waits at most `HB_DB_TIMEOUT` for a connection, then gets 503 (the pool's own default,
//! 30 s, outlasts a cron job's `curl -m 10` and a load balancer's patience), and the next
//! request after the database returns connects afresh. And a SQLite connection whose
//! transaction failed half-way (a full disk) must not go back to the pool still inside it,
//! holding the write lock for good: such a connection is closed instead.
use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::Context;
use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::sqlx::{Connection, SqliteConnection, pool::PoolConnectionMetadata};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr};

use crate::settings::{DEFAULT_DB_TIMEOUT, SqliteSync};
use crate::store::log_sync::LogSync;

/// How long start-up waits for a database that is not there yet (e.g. a PostgreSQL
/// container starting next to this one).
const STARTUP_WAIT: Duration = Duration::from_secs(30);

/// Open a pool with the default `HB_DB_TIMEOUT`.
pub async fn connect(url: &str, sync: SqliteSync) -> anyhow::Result<DatabaseConnection> {
    connect_with(url, sync, DEFAULT_DB_TIMEOUT).await
}

/// Open a pool whose requests wait at most `timeout` for a connection. SQLite files (and
/// their directory) are created on first use, in WAL mode.
#[tracing::instrument(skip_all)]
pub async fn connect_with(
    url: &str,
    sync: SqliteSync,
    timeout: Duration,
) -> anyhow::Result<DatabaseConnection> {
    open(url, sync, timeout, Role::Shared).await
}

/// Which pool [`open`] makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Everything but the writers: reads, edits, jobs. Up to 8 SQLite connections.
    Shared,
    /// The ping and report writers' single SQLite connection.
    Writer,
}

/// How many frames the SQLite write-ahead log may hold before the writer checkpoints it
/// itself, in its commit. [`spawn_checkpointer`] normally does it well before, on another
/// connection and thread; this bounds the log (about 80 MB) should it fall behind.
const WRITER_AUTOCHECKPOINT: &str = "20000";

/// How often [`spawn_checkpointer`] copies the write-ahead log into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// The connection the ping and report writers write through, and what makes their
/// commits durable when the connection does not ([`LogSync`]).
#[derive(Clone)]
pub struct WriterDb {
    pub db: DatabaseConnection,
    /// When set, a commit is on disk only once [`LogSync::committed`] says so: answer the
    /// requests it carries after that, not before.
    pub log_sync: Option<LogSync>,
}

/// The writers' connection. On a SQLite file it is a pool of its own with a single
/// connection: the writers' transactions follow one another anyway (SQLite has one
/// writer), and a connection that made the last change keeps its page cache, where a
/// pooled one finds its cache stale after every other connection's commit and reads the
/// pages again. With `HB_SQLITE_SYNCHRONOUS=full` (the default) that connection commits
/// without syncing and a [`LogSync`] syncs the log beside it, so that the writer goes on
/// with the next batch while the disk confirms the last. Elsewhere (and for an in-memory
/// database, which a second pool would not share) it is `shared`.
pub async fn connect_writer(
    url: &str,
    sync: SqliteSync,
    timeout: Duration,
    shared: &DatabaseConnection,
) -> anyhow::Result<WriterDb> {
    if !is_sqlite_file(url) {
        return Ok(WriterDb {
            db: shared.clone(),
            log_sync: None,
        });
    }
    let db = open(url, SqliteSync::Normal, timeout, Role::Writer).await?;
    let log_sync = match sync {
        SqliteSync::Full => {
            let file = SqliteConnectOptions::from_str(url)
                .with_context(|| format!("DATABASE_URL: cannot parse '{url}'"))?
                .get_filename()
                .to_owned();
            Some(LogSync::spawn(file))
        }
        SqliteSync::Normal => None,
    };
    Ok(WriterDb { db, log_sync })
}

/// Whether `url` names a SQLite database in a file (not in memory, and not another
/// database): one a second pool opens too.
fn is_sqlite_file(url: &str) -> bool {
    url.starts_with("sqlite:") && !url.contains(":memory:") && !url.contains("mode=memory")
}

/// On a SQLite file, checkpoint the write-ahead log every [`CHECKPOINT_EVERY`], so that
/// the writers' commits do not: with SQLite's default, the commit that takes the log past
/// 1,000 pages copies them into the database and syncs it, a pause that every ping of that
/// batch waits for, several times a second under load.
///
/// Two steps. A passive checkpoint on a connection of `shared` copies the log beside the
/// writers, without blocking them. But the log only starts over from its beginning when a
/// writer finds every frame of it copied, and under steady writes there are always a few
/// new ones: it would grow until the writer's own autocheckpoint
/// ([`WRITER_AUTOCHECKPOINT`], 80 MB), whose copy, sync and truncation held a batch for
/// 20 ms and more. So once the log passes [`RESTART_AT`] frames and the frames left are
/// few, the second step copies them on the writers' connection (`writer`), between two of
/// their transactions; the next commit then starts the log over. That step syncs the log
/// and the database, a pause that one batch waits for (10–17 ms on the 2-core test VM
/// under the ping benchmark, about twice a second there, measured before pings were
/// chained: a batch now writes less than half the pages, so the log fills half as fast),
/// and only under heavy writing: a light load lets the first step copy the whole log.
pub fn spawn_checkpointer(url: &str, shared: &DatabaseConnection, writer: &DatabaseConnection) {
    if !is_sqlite_file(url) {
        return;
    }
    let (shared, writer) = (shared.clone(), writer.clone());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = checkpoint(&shared, &writer).await {
                tracing::warn!(error = %e, "checkpointing the SQLite write-ahead log failed");
            }
        }
    });
}

/// Frames the writers' connection may be left to copy: about what a few batches write.
const FINISH_AT_MOST: i64 = 1000;

/// Frames (32 MB) past which the writers' connection finishes a checkpoint so that the log
/// starts over.
const RESTART_AT: i64 = 8192;

async fn checkpoint(shared: &DatabaseConnection, writer: &DatabaseConnection) -> Result<(), DbErr> {
    let (mut log, mut copied) = passive_checkpoint(shared).await?;
    if log < RESTART_AT {
        return Ok(());
    }
    for _ in 0..3 {
        if log - copied <= FINISH_AT_MOST {
            break;
        }
        (log, copied) = passive_checkpoint(shared).await?;
    }
    let (log, copied) = passive_checkpoint(writer).await?;
    if copied < log {
        tracing::debug!(log, copied, "the write-ahead log could not be copied whole");
    }
    Ok(())
}

/// `PRAGMA wal_checkpoint(PASSIVE)`: the frames in the log and how many of them are now
/// copied into the database.
async fn passive_checkpoint(db: &DatabaseConnection) -> Result<(i64, i64), DbErr> {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Sqlite,
            "PRAGMA wal_checkpoint(PASSIVE)",
        ))
        .await?;
    Ok(match row {
        Some(r) => (r.try_get_by_index(1)?, r.try_get_by_index(2)?),
        None => (0, 0),
    })
}

/// Open a pool for `role`: on SQLite 8 connections, or the writer's one; 16 elsewhere.
async fn open(
    url: &str,
    sync: SqliteSync,
    timeout: Duration,
    role: Role,
) -> anyhow::Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.to_owned());
    // sea-orm maps both its connect and acquire timeouts to the pool's acquire timeout,
    // which bounds waiting for a free connection and opening a new one alike.
    opts.sqlx_logging(false).acquire_timeout(timeout);
    if url.starts_with("sqlite:") {
        let parsed = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("DATABASE_URL: cannot parse '{url}'"))?;
        let file = parsed.get_filename();
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty())
            && file != Path::new(":memory:")
        {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create directory {}", dir.display()))?;
        }
        let connections = match role {
            Role::Shared => 8,
            Role::Writer => 1,
        };
        opts.max_connections(connections).min_connections(1);
        opts.map_sqlx_sqlite_opts(move |o| {
            let o = match role {
                Role::Shared => o,
                // The writer's statements come in a few dozen fixed shapes
                // (`store::pings`): keep them all prepared.
                Role::Writer => o
                    .pragma("wal_autocheckpoint", WRITER_AUTOCHECKPOINT)
                    .statement_cache_capacity(400),
            };
            o.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(match sync {
                    SqliteSync::Full => SqliteSynchronous::Full,
                    SqliteSync::Normal => SqliteSynchronous::Normal,
                })
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
                // Keep hot pages in SQLite's own cache rather than re-reading them from
                // the kernel in every transaction; 8 MB a connection, since every pooled
                // connection keeps its own: with a million services, 64 MB each took the
                // process to 385 MB under bench/scale.sh (202 MB at 8 MB) for no faster
                // pages, the kernel's cache holding the file either way.
                .pragma("cache_size", "-8192")
                // After a checkpoint lets the log start over, cut its file back to 64 MB.
                .pragma("journal_size_limit", "67108864")
                .pragma("temp_store", "memory")
        });
        opts.map_sqlx_sqlite_pool_opts(|o| {
            o.after_release(|conn, meta| Box::pin(release_outside_transaction(conn, meta)))
        });
    } else {
        opts.max_connections(16).min_connections(1);
    }
    let started = Instant::now();
    loop {
        match Database::connect(opts.clone()).await {
            Ok(db) => return Ok(db),
            Err(e) if is_unreachable(&e) && started.elapsed() < STARTUP_WAIT => {
                tracing::warn!(error = %e, database = %redact(url), "waiting for the database");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot connect to the database at {}", redact(url)));
            }
        }
    }
}

fn is_unreachable(err: &DbErr) -> bool {
    matches!(err, DbErr::ConnectionAcquire(_) | DbErr::Conn(_))
}

/// Whether a SQLite connection may go back to the pool: only outside a transaction.
///
/// A transaction dropped after an error (SQLite's "database or disk is full") only queues
/// its `ROLLBACK`; the ping lets the connection's thread run it first. If the connection
/// still counts itself inside a transaction after that, the rollback failed (SQLite may
/// already have rolled back by itself, leaving sqlx's count wrong, and the next `BEGIN`
/// would become a `SAVEPOINT` that never lets go of the write lock): close it, which
/// releases every lock it holds.
async fn release_outside_transaction(
    conn: &mut SqliteConnection,
    _meta: PoolConnectionMetadata,
) -> Result<bool, sea_orm::sqlx::Error> {
    if !conn.is_in_transaction() {
        return Ok(true);
    }
    conn.ping().await?;
    if conn.is_in_transaction() {
        tracing::warn!("closing a SQLite connection left inside a failed transaction");
        return Ok(false);
    }
    Ok(true)
}

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None)
        .await
        .context("database migration failed")
}

/// A URL fit for logs: the password replaced.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}
