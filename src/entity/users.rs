use sea_orm::entity::prelude::*;

use crate::domain::role::Role;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub name: String,
    pub email: Option<String>,
    pub password_hash: String,
    pub created_at: i64,
    pub password_changed_at: i64,
    pub role: Role,
    /// The first part of slug ping URLs, `/ping/<ping_key>/<slug>`.
    #[sea_orm(unique)]
    pub ping_key: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
