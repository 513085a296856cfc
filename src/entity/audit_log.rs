//! Who changed what, when and from where (see `store::audit`).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: i64,
    /// The user who acted; `None` for the command line and for failed sign-ins.
    pub actor_id: Option<i64>,
    pub actor: String,
    /// The client address, or `cli`.
    pub source: Option<String>,
    /// What happened, e.g. `service.update`, `user.role`, `signin.failed`.
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
