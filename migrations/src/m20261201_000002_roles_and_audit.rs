//! Roles for users, scopes for API keys, and the audit log.
//!
//! Existing users become admins and existing keys keep full access, so no one loses what
//! they could do before the upgrade.
use sea_orm_migration::sea_orm::DatabaseBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("users")
                    .add_column(string_len("role", 16).default("admin"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("api_keys")
                    .add_column(string_len("scope", 16).default("full"))
                    .to_owned(),
            )
            .await?;
        let mut audit = Table::create();
        audit
            .table("audit_log")
            .if_not_exists()
            .col(big_pk_auto("id"))
            .col(big_integer("at"))
            .col(big_integer_null("actor_id"))
            .col(string_len("actor", 64))
            .col(string_len_null("source", 64))
            .col(string_len("action", 64))
            .col(string_len_null("target", 256))
            .col(text_null("detail"));
        // Old MariaDB databases default to latin1; names and details may be Chinese.
        if manager.get_database_backend() == DatabaseBackend::MySql {
            audit
                .engine("InnoDB")
                .character_set("utf8mb4")
                .collate("utf8mb4_bin");
        }
        manager.create_table(audit.to_owned()).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_log_action")
                    .table("audit_log")
                    .col("action")
                    .col("id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("audit_log").to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("api_keys")
                    .drop_column("scope")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(Table::alter().table("users").drop_column("role").to_owned())
            .await
    }
}
