use sea_orm::entity::prelude::*;

/// A host's latest snapshot (the report as JSON), for the live view after a restart or on
/// another instance.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "host_latest")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub host_id: String,
    /// When it was collected.
    pub at: i64,
    pub received_at: i64,
    pub snapshot: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
