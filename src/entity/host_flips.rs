use sea_orm::entity::prelude::*;

use crate::domain::host::{HostReason, HostStatus};

/// A host's status change; its alerts point at it (`alerts.host_flip_id`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "host_flips")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub host_id: String,
    pub host_name: String,
    pub at: i64,
    pub from_status: HostStatus,
    pub to_status: HostStatus,
    pub reason: HostReason,
    /// What is wrong (one line each), or for a recovery what was.
    pub detail: Option<String>,
    /// Since when: the start of the problem, or on recovery the start of the outage.
    pub since: Option<i64>,
    pub last_ok_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
