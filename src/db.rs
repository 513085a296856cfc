//! Connecting to the database and running migrations.
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

use crate::settings::SqliteSync;

/// Open a pool. SQLite files (and their directory) are created on first use, in WAL mode.
#[tracing::instrument(skip_all)]
pub async fn connect(url: &str, sync: SqliteSync) -> anyhow::Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30));
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
        opts.max_connections(8).min_connections(1);
        opts.map_sqlx_sqlite_opts(move |o| {
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
                .pragma("temp_store", "memory")
        });
    } else {
        opts.max_connections(16).min_connections(1);
    }
    let db = Database::connect(opts)
        .await
        .with_context(|| format!("cannot connect to the database at {}", redact(url)))?;
    Ok(db)
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
