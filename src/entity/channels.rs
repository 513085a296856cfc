use sea_orm::entity::prelude::*;

use crate::domain::channel::{ChannelKind, MessageLang};

/// A notification channel; services and hosts name theirs in their `channels` column.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "channels")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    /// The name lower-cased: unique, the list's order.
    pub name_key: String,
    pub kind: ChannelKind,
    pub lang: MessageLang,
    /// `domain::channel::ChannelSettings` as JSON, secrets included: never shown as is.
    pub settings: String,
    /// Whether new services and hosts get this channel when they name none.
    pub default_for_new: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
