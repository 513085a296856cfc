//! Collectors and discovered units: `hosts.collector` names the `hb-agent watch` instance
//! that must collect the host (NULL: the default collector, the one started without
//! `--collector`); `hosts.discovered_units` is the JSON list of units the agent last found
//! running or enabled on the host, `hosts.discovered_at` when (Unix milliseconds; NULL:
//! never, or a user asked for a new list). Existing hosts keep every value and get NULL in
//! the three columns: they belong to the default collector, which collected them all.
//!
//! `GET /api/v1/agent/hosts?collector=NAME` reads a collector's hosts through
//! `idx_hosts_collector (collector, name_key)`: an index range in name order, the same on
//! every backend (IS NULL uses the index too).
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        // MySQL's TEXT stops at 64 KiB; a unit list of a busy host may come near it.
        let long_text = match backend {
            DatabaseBackend::MySql => "MEDIUMTEXT",
            _ => "TEXT",
        };
        let conn = manager.get_connection();
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for sql in [
            "ALTER TABLE hosts ADD COLUMN collector VARCHAR(64) NULL".to_owned(),
            format!("ALTER TABLE hosts ADD COLUMN discovered_units {long_text} NULL"),
            "ALTER TABLE hosts ADD COLUMN discovered_at BIGINT NULL".to_owned(),
            "CREATE INDEX idx_hosts_collector ON hosts (collector, name_key)".to_owned(),
        ] {
            conn.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let conn = manager.get_connection();
        let drop_index = match backend {
            DatabaseBackend::MySql => "DROP INDEX idx_hosts_collector ON hosts",
            _ => "DROP INDEX idx_hosts_collector",
        };
        // The index first: SQLite refuses to drop an indexed column.
        for sql in [
            drop_index,
            "ALTER TABLE hosts DROP COLUMN discovered_at",
            "ALTER TABLE hosts DROP COLUMN discovered_units",
            "ALTER TABLE hosts DROP COLUMN collector",
        ] {
            conn.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
