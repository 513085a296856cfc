use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: [&str; 7] = [
    "users", "api_keys", "services", "pings", "flips", "alerts", "sessions",
];

/// MySQL tables take the database's default character set, which is latin1 on older
/// MariaDB and often utf8mb3 in databases carried over from the old tool: Chinese text or
/// emoji in a ping would then be refused. Convert every table to utf8mb4, with a binary
/// collation so that service ids (`aB3` vs `ab3`) compare exactly as on the other databases.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::MySql {
            return Ok(());
        }
        // MariaDB will not change the character set of a column in a foreign key, even
        // with the checks off: drop the keys on `services.id`, convert, put them back.
        let referencing = ["pings", "flips", "alerts"];
        for table in referencing {
            manager
                .drop_foreign_key(
                    ForeignKey::drop()
                        .name(format!("fk_{table}_service"))
                        .table(table)
                        .to_owned(),
                )
                .await?;
        }
        let conn = manager.get_connection();
        for table in TABLES {
            conn.execute_unprepared(&format!(
                "ALTER TABLE `{table}` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
            ))
            .await?;
        }
        for table in referencing {
            manager
                .create_foreign_key(
                    ForeignKey::create()
                        .name(format!("fk_{table}_service"))
                        .from(table, "service_id")
                        .to("services", "id")
                        .on_delete(ForeignKeyAction::Cascade)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
