//! The alerts page filters by service and by delivery state, newest first: an index for
//! each, ending in the id, keeps a filtered page a range scan at a million alerts.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_alerts_service_id")
                    .table("alerts")
                    .col("service_id")
                    .col("id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_alerts_state_id")
                    .table("alerts")
                    .col("state")
                    .col("id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ["idx_alerts_state_id", "idx_alerts_service_id"] {
            manager
                .drop_index(Index::drop().name(name).table("alerts").to_owned())
                .await?;
        }
        Ok(())
    }
}
