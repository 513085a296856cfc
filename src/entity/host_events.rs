use sea_orm::entity::prelude::*;

use crate::domain::host::EventKind;

/// The events log: status changes and every check failing or passing again.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "host_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub host_id: String,
    pub host_name: String,
    pub at: i64,
    pub kind: EventKind,
    pub check_key: Option<String>,
    pub detail: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
