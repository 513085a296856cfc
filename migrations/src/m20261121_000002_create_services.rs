use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Times are Unix milliseconds (UTC) in BIGINT columns: they compare and index the
        // same way on SQLite, PostgreSQL and MySQL, with no time-zone conversion by the driver.
        manager
            .create_table(
                Table::create()
                    .table("services")
                    .if_not_exists()
                    .col(string_len("id", 16).primary_key())
                    .col(string_len_uniq("name", 200))
                    .col(string_len("kind", 16))
                    .col(big_integer_null("period_secs"))
                    .col(string_len_null("at_time", 5))
                    .col(string_len_null("cron_expr", 200))
                    .col(string_len("timezone", 64))
                    .col(big_integer("grace_secs"))
                    // Stored as ",tag1,tag2," so that one tag is matched with LIKE '%,tag,%'.
                    .col(text("tags"))
                    .col(text("notify"))
                    .col(string_len("status", 16))
                    .col(big_integer_null("last_ping_at"))
                    .col(string_len_null("last_ping_kind", 8))
                    .col(big_integer_null("next_due_at"))
                    .col(big_integer_null("down_at"))
                    // The scheduler's deadline: when this service's status changes next unless
                    // a ping arrives first. NULL when nothing is pending (new, down, paused).
                    .col(big_integer_null("next_check_at"))
                    .col(big_integer("version"))
                    .col(big_integer("created_at"))
                    .col(big_integer("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_services_next_check_at")
                    .table("services")
                    .col("next_check_at")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("services").to_owned())
            .await
    }
}
