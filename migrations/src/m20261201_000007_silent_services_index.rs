//! The services list warns about services that can never alert because they notify
//! nobody (`notify = ''`). An index finds them without reading every service: a partial
//! index on SQLite and PostgreSQL, which holds only those services in name order; MySQL
//! and MariaDB have no partial indexes, so there it is a one-character prefix of `notify`
//! (the empty string's prefix is empty) followed by the name key.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = match manager.get_database_backend() {
            DatabaseBackend::MySql => {
                "CREATE INDEX idx_services_silent ON services (notify(1), name_key)"
            }
            _ => "CREATE INDEX idx_services_silent ON services (name_key) WHERE notify = ''",
        };
        manager.get_connection().execute_unprepared(sql).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_services_silent")
                    .table("services")
                    .to_owned(),
            )
            .await
    }
}
