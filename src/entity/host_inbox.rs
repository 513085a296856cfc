use sea_orm::entity::prelude::*;

/// A name that reports but is not in the inventory ("reporting but not configured").
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "host_inbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub name_key: String,
    pub name: String,
    pub first_seen_at: i64,
    pub last_seen_at: i64,
    pub reports: i64,
    pub source: Option<String>,
    /// The latest report, as JSON.
    pub snapshot: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
