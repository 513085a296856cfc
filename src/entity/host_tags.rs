use sea_orm::entity::prelude::*;

/// One row per tag of a host, with a copy of its name key: a tag search pages through the
/// index `(tag, name_key, host_id)`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "host_tags")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub host_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub tag: String,
    pub name_key: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
