//! Job runs, healthchecks-compatible ping URLs, badges.
//!
//! - `runs`: one row per started run (a `start` ping), closed by the next success or
//!   failure (paired by `rid` when given): when it started and ended, its duration, exit
//!   status, outcome and the finishing ping's output.
//! - `services` gains `ping_uuid` (the secret of `/ping/<uuid>`), `slug` (for
//!   `/ping/<ping-key>/<slug>`), run-time bounds (`max_run_secs`: hung while open past it,
//!   failed when a run took longer; `min_run_secs`: failed when a run was shorter),
//!   `fail_after` (alert after this many failures in a row) with the current
//!   `fail_streak`, and what the ping writer keeps about runs: `open_runs`,
//!   `run_started_at` (the oldest open run not yet reported hung) and `last_run_ms`.
//! - `services` gains `description` (free text, as healthchecks' `desc`).
//! - `users` gains `ping_key` (the first part of slug ping URLs).
//! - `pings` gains `rid` and `exit_status`.
//! - `instance_secrets` holds server-wide secrets: `badge_key` signs badge URLs.
//!
//! Existing services get a random v4 UUID and a slug made from their name (the service id
//! when the name has no letter or digit in ASCII; `-2`, `-3`… when two names make one
//! slug); existing users get a random ping key. Nothing else changes for them: no bounds,
//! alerts after the first failure, as before.
use std::collections::HashSet;

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, Statement, Value};

use crate::sql::placeholder;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A random v4 UUID in lower-case text, computed by the database per row.
fn uuid_sql(backend: DatabaseBackend) -> &'static str {
    match backend {
        DatabaseBackend::Postgres => "gen_random_uuid()::text",
        DatabaseBackend::MySql => {
            "LOWER(CONCAT(HEX(RANDOM_BYTES(4)), '-', HEX(RANDOM_BYTES(2)), '-4', \
             SUBSTR(HEX(RANDOM_BYTES(2)), 2), '-', ELT(1 + FLOOR(RAND() * 4), '8', '9', 'a', 'b'), \
             SUBSTR(HEX(RANDOM_BYTES(2)), 2), '-', HEX(RANDOM_BYTES(6))))"
        }
        _ => {
            "lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || \
             substr(lower(hex(randomblob(2))), 2) || '-' || \
             substr('89ab', 1 + (abs(random()) % 4), 1) || \
             substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))"
        }
    }
}

/// 32 random hex digits, computed by the database per row.
fn key_sql(backend: DatabaseBackend) -> &'static str {
    match backend {
        DatabaseBackend::Postgres => "replace(gen_random_uuid()::text, '-', '')",
        DatabaseBackend::MySql => "LOWER(HEX(RANDOM_BYTES(16)))",
        _ => "lower(hex(randomblob(16)))",
    }
}

/// The slug rule as this migration shipped it (a frozen copy: the server's
/// `domain::slug::slugify` may change, what this migration wrote may not): ASCII letters
/// and digits lower-cased, every other run of characters one `-`, at most 100 characters.
fn slugify(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out: String = out.chars().take(100).collect();
    while out.ends_with('-') {
        out.pop();
    }
    out
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let conn = manager.get_connection();
        let (id, text, table) = match backend {
            DatabaseBackend::Postgres => ("BIGSERIAL PRIMARY KEY", "TEXT", ""),
            DatabaseBackend::MySql => (
                "BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY",
                "MEDIUMTEXT",
                " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
            ),
            _ => ("INTEGER PRIMARY KEY AUTOINCREMENT", "TEXT", ""),
        };
        // MySQL gives TEXT columns no default; a VARCHAR may have one.
        let desc = match backend {
            DatabaseBackend::MySql => "VARCHAR(2000)",
            _ => "TEXT",
        };
        let mut sql = vec![
            format!(
                "CREATE TABLE runs (\
                   id {id}, \
                   service_id VARCHAR(16) NOT NULL, \
                   rid VARCHAR(64) NULL, \
                   started_at BIGINT NOT NULL, \
                   ended_at BIGINT NULL, \
                   duration_ms BIGINT NULL, \
                   exit_status INTEGER NULL, \
                   outcome VARCHAR(16) NOT NULL, \
                   output {text} NOT NULL\
                 ){table}"
            ),
            // A service's runs, newest first.
            "CREATE INDEX idx_runs_service ON runs (service_id, id)".to_owned(),
            // The open runs of a service, and the one with a given rid.
            "CREATE INDEX idx_runs_open ON runs (service_id, ended_at, id)".to_owned(),
            "CREATE INDEX idx_runs_rid ON runs (service_id, rid)".to_owned(),
            // Retention deletes the oldest runs.
            "CREATE INDEX idx_runs_started ON runs (started_at)".to_owned(),
            format!(
                "CREATE TABLE instance_secrets (\
                   name VARCHAR(64) NOT NULL PRIMARY KEY, \
                   value VARCHAR(200) NOT NULL\
                 ){table}"
            ),
            format!(
                "INSERT INTO instance_secrets (name, value) VALUES ('badge_key', {})",
                key_sql(backend)
            ),
            "ALTER TABLE services ADD COLUMN ping_uuid VARCHAR(36) NULL".to_owned(),
            "ALTER TABLE services ADD COLUMN slug VARCHAR(100) NULL".to_owned(),
            "ALTER TABLE services ADD COLUMN max_run_secs BIGINT NULL".to_owned(),
            "ALTER TABLE services ADD COLUMN min_run_secs BIGINT NULL".to_owned(),
            "ALTER TABLE services ADD COLUMN fail_after INTEGER NOT NULL DEFAULT 1".to_owned(),
            "ALTER TABLE services ADD COLUMN fail_streak INTEGER NOT NULL DEFAULT 0".to_owned(),
            "ALTER TABLE services ADD COLUMN open_runs INTEGER NOT NULL DEFAULT 0".to_owned(),
            "ALTER TABLE services ADD COLUMN run_started_at BIGINT NULL".to_owned(),
            "ALTER TABLE services ADD COLUMN last_run_ms BIGINT NULL".to_owned(),
            format!("ALTER TABLE services ADD COLUMN description {desc} NOT NULL DEFAULT ''"),
            format!("UPDATE services SET ping_uuid = {}", uuid_sql(backend)),
            "ALTER TABLE users ADD COLUMN ping_key VARCHAR(64) NULL".to_owned(),
            format!("UPDATE users SET ping_key = {}", key_sql(backend)),
            "ALTER TABLE pings ADD COLUMN rid VARCHAR(64) NULL".to_owned(),
            "ALTER TABLE pings ADD COLUMN exit_status INTEGER NULL".to_owned(),
        ];
        for s in sql.drain(..) {
            conn.execute_unprepared(&s).await?;
        }

        // Slugs, from the names, in id order so the first of two alike keeps the plain one.
        let rows = conn
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT id, name FROM services ORDER BY id",
            ))
            .await?;
        let mut taken = HashSet::new();
        let mut slugs = Vec::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get("", "id")?;
            let name: String = row.try_get("", "name")?;
            let mut base = slugify(&name);
            if base.is_empty() {
                base = slugify(&id);
            }
            if base.is_empty() {
                base = "service".to_owned();
            }
            // Room for a `-NNN` suffix within the column's 100 characters.
            base.truncate(92);
            let base = base.trim_end_matches('-').to_owned();
            let mut slug = base.clone();
            let mut n = 2;
            while !taken.insert(slug.clone()) {
                slug = format!("{base}-{n}");
                n += 1;
            }
            slugs.push((id, slug));
        }
        for chunk in slugs.chunks(500) {
            let mut values = Vec::with_capacity(chunk.len() * 3);
            let mut cases = String::new();
            let mut n = 1;
            for (id, slug) in chunk {
                cases.push_str(&format!(
                    " WHEN {} THEN {}",
                    placeholder(backend, n),
                    placeholder(backend, n + 1)
                ));
                values.push(Value::from(id.clone()));
                values.push(Value::from(slug.clone()));
                n += 2;
            }
            let mut ins = Vec::with_capacity(chunk.len());
            for (id, _) in chunk {
                ins.push(placeholder(backend, n));
                values.push(Value::from(id.clone()));
                n += 1;
            }
            let sql = format!(
                "UPDATE services SET slug = CASE id{cases} END WHERE id IN ({})",
                ins.join(", ")
            );
            conn.execute_raw(Statement::from_sql_and_values(backend, sql, values))
                .await?;
        }

        for s in [
            "CREATE UNIQUE INDEX idx_services_ping_uuid ON services (ping_uuid)",
            "CREATE UNIQUE INDEX idx_services_slug ON services (slug)",
            "CREATE UNIQUE INDEX idx_users_ping_key ON users (ping_key)",
        ] {
            conn.execute_unprepared(s).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let conn = manager.get_connection();
        let drop_index = |name: &str, table: &str| match backend {
            DatabaseBackend::MySql => format!("DROP INDEX {name} ON {table}"),
            _ => format!("DROP INDEX {name}"),
        };
        let mut sql = vec![
            drop_index("idx_services_ping_uuid", "services"),
            drop_index("idx_services_slug", "services"),
            drop_index("idx_users_ping_key", "users"),
            // The kinds the previous release does not know become what it can show.
            "UPDATE pings SET kind = 'success' WHERE kind IN ('start', 'log')".to_owned(),
            "UPDATE flips SET reason = 'error' WHERE reason IN ('hung', 'run_time')".to_owned(),
            "ALTER TABLE pings DROP COLUMN exit_status".to_owned(),
            "ALTER TABLE pings DROP COLUMN rid".to_owned(),
            "ALTER TABLE users DROP COLUMN ping_key".to_owned(),
        ];
        for c in [
            "description",
            "last_run_ms",
            "run_started_at",
            "open_runs",
            "fail_streak",
            "fail_after",
            "min_run_secs",
            "max_run_secs",
            "slug",
            "ping_uuid",
        ] {
            sql.push(format!("ALTER TABLE services DROP COLUMN {c}"));
        }
        sql.push("DROP TABLE instance_secrets".to_owned());
        sql.push("DROP TABLE runs".to_owned());
        for s in sql {
            conn.execute_unprepared(&s).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::slugify;

    #[test]
    fn slugs_from_names() {
        assert_eq!(slugify("Nightly Backup (db1)"), "nightly-backup-db1");
        assert_eq!(slugify("  --x--  "), "x");
        assert_eq!(slugify("数据库备份"), "");
        assert_eq!(slugify("备份 db"), "db");
    }
}
