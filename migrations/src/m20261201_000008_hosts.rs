//! Hosts: the inventory, its tag rows, each host's latest snapshot, status flips, the
//! events log, the inbox of reports from unknown names, and the defaults for new hosts.
//!
//! Host flips alert through the same outbox as services' flips: `alerts` gains `host_id`
//! and `host_flip_id`, and its `service_id` and `flip_id` become nullable (an alert is
//! about a service or about a host). Existing alerts keep every column and id. SQLite
//! cannot drop a NOT NULL, so there the table is rebuilt (a new table, the rows copied,
//! the old one dropped, the new one renamed, the indexes made again); nothing refers to
//! `alerts`, so dropping it cascades nowhere.
//!
//! Name keys and tag rows work as for services (see `services_list_index`): the name
//! lower-cased by the application, compared byte-wise, unique; one `host_tags` row per
//! tag so a tag search is an index range scan.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction where the database has transactional DDL (SQLite, PostgreSQL): the
    /// alerts rebuild is all or nothing.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let conn = manager.get_connection();
        for sql in tables(backend).into_iter().chain(alerts_for_hosts(backend)) {
            conn.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let conn = manager.get_connection();
        // Host alerts cannot survive without their hosts.
        let mut sql = vec!["DELETE FROM alerts WHERE host_id IS NOT NULL".to_owned()];
        match backend {
            DatabaseBackend::Sqlite => {
                sql.extend(rebuild_alerts(backend, false));
            }
            DatabaseBackend::Postgres => sql.extend([
                "DROP INDEX idx_alerts_host_id".to_owned(),
                "ALTER TABLE alerts DROP COLUMN host_flip_id, DROP COLUMN host_id, \
                 ALTER COLUMN flip_id SET NOT NULL, ALTER COLUMN service_id SET NOT NULL"
                    .to_owned(),
            ]),
            _ => sql.extend([
                "ALTER TABLE alerts DROP FOREIGN KEY fk_alerts_host_flip, \
                 DROP FOREIGN KEY fk_alerts_host"
                    .to_owned(),
                "DROP INDEX idx_alerts_host_id ON alerts".to_owned(),
                "ALTER TABLE alerts DROP COLUMN host_flip_id, DROP COLUMN host_id, \
                 MODIFY flip_id BIGINT NOT NULL, \
                 MODIFY service_id VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL"
                    .to_owned(),
            ]),
        }
        sql.push("DELETE FROM revisions WHERE name = 'hosts'".to_owned());
        for table in [
            "host_defaults",
            "host_inbox",
            "host_events",
            "host_flips",
            "host_latest",
            "host_tags",
            "hosts",
        ] {
            sql.push(format!("DROP TABLE {table}"));
        }
        for s in sql {
            conn.execute_unprepared(&s).await?;
        }
        Ok(())
    }
}

/// Column types and table options per backend.
struct Types {
    /// A byte-wise compared name key.
    key: &'static str,
    /// An auto-increment primary key.
    serial: &'static str,
    /// Text of any length a report can have (MySQL's `TEXT` stops at 64 KiB).
    long_text: &'static str,
    /// Ids compared byte-wise, so PostgreSQL's index order matches the others'.
    id_order: &'static str,
    table: &'static str,
    without_rowid: &'static str,
}

fn types(backend: DatabaseBackend) -> Types {
    match backend {
        DatabaseBackend::Postgres => Types {
            key: "VARCHAR(400) COLLATE \"C\"",
            serial: "BIGSERIAL PRIMARY KEY",
            long_text: "TEXT",
            id_order: "COLLATE \"C\"",
            table: "",
            without_rowid: "",
        },
        DatabaseBackend::MySql => Types {
            key: "VARCHAR(400) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
            serial: "BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY",
            long_text: "MEDIUMTEXT",
            id_order: "",
            table: " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
            without_rowid: "",
        },
        _ => Types {
            key: "VARCHAR(400)",
            serial: "INTEGER PRIMARY KEY AUTOINCREMENT",
            long_text: "TEXT",
            id_order: "",
            table: "",
            without_rowid: " WITHOUT ROWID",
        },
    }
}

fn tables(backend: DatabaseBackend) -> Vec<String> {
    let Types {
        key,
        serial,
        long_text,
        id_order,
        table,
        without_rowid,
    } = types(backend);
    let host_fk = |t: &str| {
        format!(
            "CONSTRAINT fk_{t}_host FOREIGN KEY (host_id) REFERENCES hosts (id) ON DELETE CASCADE"
        )
    };
    vec![
        // `next_check_at`: when the staleness job must look at the host (its offline
        // deadline), indexed so the job reads only the hosts that are due.
        format!(
            "CREATE TABLE hosts (\
               id VARCHAR(16) NOT NULL PRIMARY KEY, \
               name VARCHAR(200) NOT NULL, \
               name_key {key} NOT NULL, \
               address VARCHAR(255) NULL, \
               description TEXT NULL, \
               interval_secs BIGINT NOT NULL, \
               tags VARCHAR(2000) NOT NULL, \
               notify TEXT NOT NULL, \
               ssh_user VARCHAR(64) NULL, \
               ssh_port INTEGER NULL, \
               ssh_key VARCHAR(1024) NULL, \
               checks TEXT NOT NULL, \
               status VARCHAR(16) NOT NULL, \
               status_since BIGINT NULL, \
               problems TEXT NULL, \
               last_report_at BIGINT NULL, \
               last_ok_at BIGINT NULL, \
               last_error TEXT NULL, \
               report_interval_secs BIGINT NULL, \
               report_timeout_secs BIGINT NULL, \
               breaches TEXT NULL, \
               next_check_at BIGINT NULL, \
               version BIGINT NOT NULL, \
               created_at BIGINT NOT NULL, \
               updated_at BIGINT NOT NULL\
             ){table}"
        ),
        "CREATE UNIQUE INDEX idx_hosts_name_key_unique ON hosts (name_key)".to_owned(),
        format!("CREATE INDEX idx_hosts_list ON hosts (status, name_key, id {id_order})"),
        "CREATE INDEX idx_hosts_next_check ON hosts (next_check_at)".to_owned(),
        "CREATE INDEX idx_hosts_updated_at ON hosts (updated_at)".to_owned(),
        format!(
            "CREATE TABLE host_tags (\
               host_id VARCHAR(16) NOT NULL, \
               tag VARCHAR(64) NOT NULL, \
               name_key {key} NOT NULL, \
               PRIMARY KEY (host_id, tag), \
               {}\
             ){table}{without_rowid}",
            host_fk("host_tags")
        ),
        format!("CREATE INDEX idx_host_tags_list ON host_tags (tag, name_key, host_id {id_order})"),
        // The latest snapshot, as JSON: what the live view shows after a restart or on
        // another instance.
        format!(
            "CREATE TABLE host_latest (\
               host_id VARCHAR(16) NOT NULL PRIMARY KEY, \
               at BIGINT NOT NULL, \
               received_at BIGINT NOT NULL, \
               snapshot {long_text} NOT NULL, \
               {}\
             ){table}",
            host_fk("host_latest")
        ),
        format!(
            "CREATE TABLE host_flips (\
               id {serial}, \
               host_id VARCHAR(16) NOT NULL, \
               host_name VARCHAR(200) NOT NULL, \
               at BIGINT NOT NULL, \
               from_status VARCHAR(16) NOT NULL, \
               to_status VARCHAR(16) NOT NULL, \
               reason VARCHAR(16) NOT NULL, \
               detail TEXT NULL, \
               since BIGINT NULL, \
               last_ok_at BIGINT NULL, \
               {}\
             ){table}",
            host_fk("host_flips")
        ),
        "CREATE INDEX idx_host_flips_host ON host_flips (host_id, id)".to_owned(),
        format!(
            "CREATE TABLE host_events (\
               id {serial}, \
               host_id VARCHAR(16) NOT NULL, \
               host_name VARCHAR(200) NOT NULL, \
               at BIGINT NOT NULL, \
               kind VARCHAR(32) NOT NULL, \
               check_key VARCHAR(300) NULL, \
               detail TEXT NULL, \
               {}\
             ){table}",
            host_fk("host_events")
        ),
        "CREATE INDEX idx_host_events_host ON host_events (host_id, id)".to_owned(),
        format!(
            "CREATE TABLE host_inbox (\
               name_key {key} NOT NULL PRIMARY KEY, \
               name VARCHAR(200) NOT NULL, \
               first_seen_at BIGINT NOT NULL, \
               last_seen_at BIGINT NOT NULL, \
               reports BIGINT NOT NULL, \
               source VARCHAR(64) NULL, \
               snapshot {long_text} NULL\
             ){table}"
        ),
        "CREATE INDEX idx_host_inbox_seen ON host_inbox (last_seen_at)".to_owned(),
        format!(
            "CREATE TABLE host_defaults (\
               id INTEGER NOT NULL PRIMARY KEY, \
               interval_secs BIGINT NOT NULL, \
               checks TEXT NOT NULL, \
               updated_at BIGINT NOT NULL\
             ){table}"
        ),
        "INSERT INTO revisions (name, value) VALUES ('hosts', 0)".to_owned(),
    ]
}

fn alerts_for_hosts(backend: DatabaseBackend) -> Vec<String> {
    match backend {
        DatabaseBackend::Postgres => vec![
            "ALTER TABLE alerts ALTER COLUMN flip_id DROP NOT NULL, \
             ALTER COLUMN service_id DROP NOT NULL, \
             ADD COLUMN host_flip_id BIGINT NULL, \
             ADD COLUMN host_id VARCHAR(16) NULL, \
             ADD CONSTRAINT fk_alerts_host_flip FOREIGN KEY (host_flip_id) \
               REFERENCES host_flips (id) ON DELETE CASCADE, \
             ADD CONSTRAINT fk_alerts_host FOREIGN KEY (host_id) \
               REFERENCES hosts (id) ON DELETE CASCADE"
                .to_owned(),
            "CREATE INDEX idx_alerts_host_id ON alerts (host_id, id)".to_owned(),
        ],
        DatabaseBackend::MySql => vec![
            "ALTER TABLE alerts MODIFY flip_id BIGINT NULL, \
             MODIFY service_id VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL, \
             ADD COLUMN host_flip_id BIGINT NULL, \
             ADD COLUMN host_id VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL"
                .to_owned(),
            "CREATE INDEX idx_alerts_host_id ON alerts (host_id, id)".to_owned(),
            "ALTER TABLE alerts \
             ADD CONSTRAINT fk_alerts_host_flip FOREIGN KEY (host_flip_id) \
               REFERENCES host_flips (id) ON DELETE CASCADE, \
             ADD CONSTRAINT fk_alerts_host FOREIGN KEY (host_id) \
               REFERENCES hosts (id) ON DELETE CASCADE"
                .to_owned(),
        ],
        _ => rebuild_alerts(backend, true),
    }
}

/// SQLite: `alerts` made again with (`for_hosts`) or without the host columns, every
/// row and id kept.
fn rebuild_alerts(backend: DatabaseBackend, for_hosts: bool) -> Vec<String> {
    let serial = types(backend).serial;
    let (null, host_cols, host_fks) = if for_hosts {
        (
            "NULL",
            ", host_flip_id BIGINT NULL, host_id VARCHAR(16) NULL",
            ", CONSTRAINT fk_alerts_host_flip FOREIGN KEY (host_flip_id) \
               REFERENCES host_flips (id) ON DELETE CASCADE, \
             CONSTRAINT fk_alerts_host FOREIGN KEY (host_id) \
               REFERENCES hosts (id) ON DELETE CASCADE",
        )
    } else {
        ("NOT NULL", "", "")
    };
    let columns = "id, flip_id, service_id, recipient, state, attempts, next_attempt_at, \
                   claimed_until, last_error, sent_at, created_at, claim_token";
    let mut sql = vec![
        format!(
            "CREATE TABLE alerts_new (\
               id {serial}, \
               flip_id BIGINT {null}, \
               service_id VARCHAR(16) {null}, \
               recipient VARCHAR(320) NOT NULL, \
               state VARCHAR(16) NOT NULL, \
               attempts INTEGER NOT NULL, \
               next_attempt_at BIGINT NOT NULL, \
               claimed_until BIGINT NULL, \
               last_error TEXT NULL, \
               sent_at BIGINT NULL, \
               created_at BIGINT NOT NULL, \
               claim_token VARCHAR(32) NULL\
               {host_cols}, \
               CONSTRAINT fk_alerts_flip FOREIGN KEY (flip_id) \
                 REFERENCES flips (id) ON DELETE CASCADE, \
               CONSTRAINT fk_alerts_service FOREIGN KEY (service_id) \
                 REFERENCES services (id) ON DELETE CASCADE\
               {host_fks}\
             )"
        ),
        format!("INSERT INTO alerts_new ({columns}) SELECT {columns} FROM alerts"),
        "DROP TABLE alerts".to_owned(),
        "ALTER TABLE alerts_new RENAME TO alerts".to_owned(),
        "CREATE INDEX idx_alerts_due ON alerts (state, next_attempt_at)".to_owned(),
        "CREATE INDEX idx_alerts_service_id ON alerts (service_id, id)".to_owned(),
        "CREATE INDEX idx_alerts_state_id ON alerts (state, id)".to_owned(),
    ];
    if for_hosts {
        sql.push("CREATE INDEX idx_alerts_host_id ON alerts (host_id, id)".to_owned());
    }
    sql
}
