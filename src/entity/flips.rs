use sea_orm::entity::prelude::*;

use crate::domain::status::{Reason, Status};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "flips")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub service_id: String,
    pub service_name: String,
    pub at: i64,
    pub from_status: Status,
    pub to_status: Status,
    pub reason: Reason,
    pub data: Option<String>,
    pub due_at: Option<i64>,
    pub last_ping_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
