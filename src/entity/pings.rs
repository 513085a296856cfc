use sea_orm::entity::prelude::*;

use crate::domain::status::PingKind;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub service_id: String,
    pub at: i64,
    pub kind: PingKind,
    pub data: String,
    pub source: Option<String>,
    pub user_agent: Option<String>,
    /// The run id the client sent (`?rid=`), lower-case.
    pub rid: Option<String>,
    /// The job's exit status (`/ping/<uuid>/<0-255>`, `exit=`).
    pub exit_status: Option<i32>,
    /// The same service's ping before this one: a service's pings are a chain from its
    /// `last_ping_id` down these links, newest first (no index by service).
    pub prev_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
