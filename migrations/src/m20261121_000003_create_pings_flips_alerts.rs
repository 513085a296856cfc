use sea_orm_migration::{prelude::*, schema::*};

use crate::long_text;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn service_fk(table: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_service"))
        .from(table, "service_id")
        .to("services", "id")
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("pings")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(string_len("service_id", 16))
                    .col(big_integer("at"))
                    .col(string_len("kind", 8))
                    .col(long_text(manager, "data").not_null())
                    .col(string_len_null("source", 64))
                    .col(string_len_null("user_agent", 512))
                    .foreign_key(&mut service_fk("pings"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_pings_service_id")
                    .table("pings")
                    .col("service_id")
                    .col("id")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("flips")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(string_len("service_id", 16))
                    .col(string_len("service_name", 200))
                    .col(big_integer("at"))
                    .col(string_len("from_status", 16))
                    .col(string_len("to_status", 16))
                    .col(string_len("reason", 16))
                    .col(long_text(manager, "data").null())
                    .col(big_integer_null("due_at"))
                    .col(big_integer_null("last_ping_at"))
                    .foreign_key(&mut service_fk("flips"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_flips_service_id")
                    .table("flips")
                    .col("service_id")
                    .col("id")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("alerts")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer("flip_id"))
                    .col(string_len("service_id", 16))
                    .col(string_len("recipient", 320))
                    .col(string_len("state", 16))
                    .col(integer("attempts"))
                    .col(big_integer("next_attempt_at"))
                    .col(big_integer_null("claimed_until"))
                    .col(text_null("last_error"))
                    .col(big_integer_null("sent_at"))
                    .col(big_integer("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_alerts_flip")
                            .from("alerts", "flip_id")
                            .to("flips", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(&mut service_fk("alerts"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_alerts_due")
                    .table("alerts")
                    .col("state")
                    .col("next_attempt_at")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["alerts", "flips", "pings"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
