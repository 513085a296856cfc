//! Notification channels, maintenance windows, reminders and snoozes.
//!
//! - `channels`: a named destination (email addresses, a webhook, a DingTalk / WeCom /
//!   Feishu robot, Slack, Telegram, ntfy, Gotify) with its settings as one JSON document.
//! - `maintenance_windows`: one-off (`starts_at`..`ends_at`) or repeating (`daily` /
//!   `weekly` on `days`, from `start_time` for `duration_secs`, in `timezone`) periods in
//!   which the services and hosts carrying one of `tags` (all when empty) alert nobody.
//! - `services` and `hosts` gain `channels` (comma-separated channel ids), reminders
//!   (`remind_every_secs`, `remind_max`) and `snoozed_until` (Unix ms).
//! - `alerts` gains `channel_id` (NULL: a `notify` address, as before), `purpose` (`flip`
//!   or `reminder`) and `seq` (which reminder). Existing rows keep every value and become
//!   flip alerts to their addresses; existing services and hosts use no channel, no
//!   reminder and no snooze, so they alert exactly as before.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn key_and_table(backend: DatabaseBackend) -> (&'static str, &'static str) {
    match backend {
        DatabaseBackend::Postgres => ("VARCHAR(400) COLLATE \"C\"", ""),
        DatabaseBackend::MySql => (
            "VARCHAR(400) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
            " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
        ),
        _ => ("VARCHAR(400)", ""),
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let (key, table) = key_and_table(backend);
        let boolean = match backend {
            DatabaseBackend::Postgres => "BOOLEAN NOT NULL DEFAULT FALSE",
            _ => "BOOLEAN NOT NULL DEFAULT 0",
        };
        let mut sql = vec![
            format!(
                "CREATE TABLE channels (\
                   id VARCHAR(16) NOT NULL PRIMARY KEY, \
                   name VARCHAR(200) NOT NULL, \
                   name_key {key} NOT NULL, \
                   kind VARCHAR(16) NOT NULL, \
                   lang VARCHAR(8) NOT NULL, \
                   settings TEXT NOT NULL, \
                   default_for_new {boolean}, \
                   created_at BIGINT NOT NULL, \
                   updated_at BIGINT NOT NULL\
                 ){table}"
            ),
            "CREATE UNIQUE INDEX idx_channels_name_key ON channels (name_key)".to_owned(),
            format!(
                "CREATE TABLE maintenance_windows (\
                   id VARCHAR(16) NOT NULL PRIMARY KEY, \
                   name VARCHAR(200) NOT NULL, \
                   tags VARCHAR(2000) NOT NULL, \
                   applies_to VARCHAR(16) NOT NULL, \
                   repeat_kind VARCHAR(16) NOT NULL, \
                   starts_at BIGINT NULL, \
                   ends_at BIGINT NULL, \
                   days VARCHAR(64) NULL, \
                   start_time VARCHAR(8) NULL, \
                   duration_secs BIGINT NULL, \
                   timezone VARCHAR(64) NOT NULL, \
                   created_at BIGINT NOT NULL, \
                   updated_at BIGINT NOT NULL\
                 ){table}"
            ),
        ];
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for t in ["services", "hosts"] {
            sql.extend([
                format!("ALTER TABLE {t} ADD COLUMN channels VARCHAR(2000) NOT NULL DEFAULT ''"),
                format!("ALTER TABLE {t} ADD COLUMN remind_every_secs BIGINT NULL"),
                format!("ALTER TABLE {t} ADD COLUMN remind_max INTEGER NOT NULL DEFAULT 0"),
                format!("ALTER TABLE {t} ADD COLUMN snoozed_until BIGINT NULL"),
            ]);
        }
        sql.extend([
            "ALTER TABLE alerts ADD COLUMN channel_id VARCHAR(16) NULL".to_owned(),
            "ALTER TABLE alerts ADD COLUMN purpose VARCHAR(16) NOT NULL DEFAULT 'flip'".to_owned(),
            "ALTER TABLE alerts ADD COLUMN seq INTEGER NOT NULL DEFAULT 0".to_owned(),
            // A channel's deliveries, newest first.
            "CREATE INDEX idx_alerts_channel ON alerts (channel_id, id)".to_owned(),
        ]);
        // A held recovery asks whether the outage it ends was told (by flip id). MySQL
        // already indexes both columns for their foreign keys (and would then refuse to
        // drop ours on the way down).
        if backend != DatabaseBackend::MySql {
            sql.push("CREATE INDEX idx_alerts_flip ON alerts (flip_id)".to_owned());
            sql.push("CREATE INDEX idx_alerts_host_flip ON alerts (host_flip_id)".to_owned());
        }
        let conn = manager.get_connection();
        for s in sql {
            conn.execute_unprepared(&s).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let conn = manager.get_connection();
        let drop_index = |name: &str| match backend {
            DatabaseBackend::MySql => format!("DROP INDEX {name} ON alerts"),
            _ => format!("DROP INDEX {name}"),
        };
        let mut sql = vec![
            "DELETE FROM alerts WHERE channel_id IS NOT NULL OR purpose <> 'flip'".to_owned(),
            "UPDATE alerts SET state = 'failed' WHERE state IN ('held', 'skipped')".to_owned(),
            drop_index("idx_alerts_channel"),
            "ALTER TABLE alerts DROP COLUMN seq".to_owned(),
            "ALTER TABLE alerts DROP COLUMN purpose".to_owned(),
            "ALTER TABLE alerts DROP COLUMN channel_id".to_owned(),
        ];
        if backend != DatabaseBackend::MySql {
            sql.insert(2, drop_index("idx_alerts_flip"));
            sql.insert(3, drop_index("idx_alerts_host_flip"));
        }
        for t in ["services", "hosts"] {
            for c in [
                "snoozed_until",
                "remind_max",
                "remind_every_secs",
                "channels",
            ] {
                sql.push(format!("ALTER TABLE {t} DROP COLUMN {c}"));
            }
        }
        sql.push("DROP TABLE maintenance_windows".to_owned());
        sql.push("DROP TABLE channels".to_owned());
        for s in sql {
            conn.execute_unprepared(&s).await?;
        }
        Ok(())
    }
}
