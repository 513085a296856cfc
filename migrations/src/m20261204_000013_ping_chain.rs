//! A service's pings are found through a chain, not an index.
//!
//! The index `pings (service_id, id)` put every new ping into the index page of its
//! service: with pings arriving for many services at once, each ping of a batch changed a
//! page of its own, and on SQLite every changed page is a 4 KB write to the log (76 of a
//! 64-ping batch's 134 page writes, measured on 1,000 services and 300,000 pings). Now:
//!
//! - `pings.prev_id`: the id of the same service's ping before this one (NULL for its
//!   first ping). A service's pings, newest first, are a walk down this chain.
//! - `services.last_ping_id`: where the walk starts (NULL before the first ping).
//! - `services.ping_count`: pings received, ever; healthchecks' `n_pings`, which retention
//!   does not lower. Before this migration it was counted from the rows on record.
//! - The foreign key `pings.service_id → services.id` goes with the index: cascading a
//!   service's deletion through it would read the whole table for each service deleted.
//!   The store deletes a service's pings by walking its chain instead.
//!
//! Existing pings are chained in id order per service, which is the order they were
//! received in. Down puts back the index and the foreign key (dropping pings whose service
//! is gone, which the key would refuse) and drops the new columns.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Every ping's predecessor among its service's pings.
const PREVIOUS: &str =
    "SELECT id, LAG(id) OVER (PARTITION BY service_id ORDER BY id) AS prev FROM pings";

/// The columns of `pings` as the previous release left them, in order.
const PING_COLUMNS: &str = "id, service_id, at, kind, data, source, user_agent, rid, exit_status";

/// `pings` on SQLite, as created by 000003 and grown by 000012, with `tail` added after
/// the last column (the new column, or the foreign key).
fn sqlite_pings(table: &str, tail: &str) -> String {
    format!(
        "CREATE TABLE \"{table}\" ( \"id\" integer NOT NULL PRIMARY KEY AUTOINCREMENT, \
         \"service_id\" varchar(16) NOT NULL, \"at\" integer NOT NULL, \
         \"kind\" varchar(8) NOT NULL, \"data\" text NOT NULL, \"source\" varchar(64) NULL, \
         \"user_agent\" varchar(512) NULL, rid VARCHAR(64) NULL, exit_status INTEGER NULL, \
         {tail} )"
    )
}

/// Rename `pings_new` to `pings` on SQLite, keeping the id sequence where it was (ids of
/// deleted pings are never handed out again).
fn sqlite_swap() -> Vec<String> {
    vec![
        "CREATE TEMP TABLE ping_seq AS SELECT seq FROM sqlite_sequence WHERE name = 'pings'"
            .to_owned(),
        "DROP TABLE pings".to_owned(),
        "ALTER TABLE pings_new RENAME TO pings".to_owned(),
        "UPDATE sqlite_sequence SET seq = MAX(seq, COALESCE((SELECT seq FROM ping_seq), 0)) \
         WHERE name = 'pings'"
            .to_owned(),
        "DROP TABLE ping_seq".to_owned(),
        "CREATE INDEX \"idx_pings_at\" ON \"pings\" (\"at\")".to_owned(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let conn = manager.get_connection();
        // While the index is still there to count with.
        let mut sql = vec![
            "ALTER TABLE services ADD COLUMN last_ping_id BIGINT NULL".to_owned(),
            "ALTER TABLE services ADD COLUMN ping_count BIGINT NOT NULL DEFAULT 0".to_owned(),
            "UPDATE services SET \
               last_ping_id = (SELECT MAX(p.id) FROM pings p WHERE p.service_id = services.id), \
               ping_count = (SELECT COUNT(*) FROM pings p WHERE p.service_id = services.id)"
                .to_owned(),
        ];
        match backend {
            DatabaseBackend::Sqlite => {
                // SQLite cannot drop a foreign key: copy the table without it.
                sql.push(sqlite_pings("pings_new", "prev_id BIGINT NULL"));
                sql.push(format!(
                    "INSERT INTO pings_new ({PING_COLUMNS}, prev_id) \
                     SELECT {PING_COLUMNS}, LAG(id) OVER (PARTITION BY service_id ORDER BY id) \
                     FROM pings ORDER BY id"
                ));
                sql.extend(sqlite_swap());
            }
            DatabaseBackend::Postgres => sql.extend([
                "ALTER TABLE pings ADD COLUMN prev_id BIGINT NULL".to_owned(),
                format!(
                    "UPDATE pings SET prev_id = c.prev FROM ({PREVIOUS}) c \
                     WHERE c.id = pings.id AND c.prev IS NOT NULL"
                ),
                "ALTER TABLE pings DROP CONSTRAINT fk_pings_service".to_owned(),
                "DROP INDEX idx_pings_service_id".to_owned(),
            ]),
            _ => sql.extend([
                "ALTER TABLE pings ADD COLUMN prev_id BIGINT NULL".to_owned(),
                format!(
                    "UPDATE pings JOIN ({PREVIOUS}) c ON c.id = pings.id \
                     SET pings.prev_id = c.prev WHERE c.prev IS NOT NULL"
                ),
                "ALTER TABLE pings DROP FOREIGN KEY fk_pings_service".to_owned(),
                "DROP INDEX idx_pings_service_id ON pings".to_owned(),
            ]),
        }
        for s in sql {
            conn.execute_unprepared(&s).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let conn = manager.get_connection();
        let mut sql =
            vec!["DELETE FROM pings WHERE service_id NOT IN (SELECT id FROM services)".to_owned()];
        match backend {
            DatabaseBackend::Sqlite => {
                sql.push(sqlite_pings(
                    "pings_new",
                    "FOREIGN KEY (\"service_id\") REFERENCES \"services\" (\"id\") \
                     ON DELETE CASCADE",
                ));
                sql.push(format!(
                    "INSERT INTO pings_new ({PING_COLUMNS}) SELECT {PING_COLUMNS} FROM pings \
                     ORDER BY id"
                ));
                sql.extend(sqlite_swap());
                sql.push(
                    "CREATE INDEX \"idx_pings_service_id\" ON \"pings\" (\"service_id\", \"id\")"
                        .to_owned(),
                );
            }
            DatabaseBackend::Postgres => sql.extend([
                "CREATE INDEX idx_pings_service_id ON pings (service_id, id)".to_owned(),
                "ALTER TABLE pings ADD CONSTRAINT fk_pings_service FOREIGN KEY (service_id) \
                 REFERENCES services (id) ON DELETE CASCADE"
                    .to_owned(),
                "ALTER TABLE pings DROP COLUMN prev_id".to_owned(),
            ]),
            _ => sql.extend([
                "CREATE INDEX idx_pings_service_id ON pings (service_id, id)".to_owned(),
                "ALTER TABLE pings ADD CONSTRAINT fk_pings_service FOREIGN KEY (service_id) \
                 REFERENCES services (id) ON DELETE CASCADE"
                    .to_owned(),
                "ALTER TABLE pings DROP COLUMN prev_id".to_owned(),
            ]),
        }
        sql.push("ALTER TABLE services DROP COLUMN ping_count".to_owned());
        sql.push("ALTER TABLE services DROP COLUMN last_ping_id".to_owned());
        for s in sql {
            conn.execute_unprepared(&s).await?;
        }
        Ok(())
    }
}
