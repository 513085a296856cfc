use sea_orm::entity::prelude::*;

use crate::domain::runs::RunOutcome;

/// One run of a job: opened by a `start` ping, closed by the next success or failure
/// (paired by `rid` when the client sends one).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub service_id: String,
    pub rid: Option<String>,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub duration_ms: Option<i64>,
    pub exit_status: Option<i32>,
    pub outcome: RunOutcome,
    /// What the finishing ping carried (its body or `data`).
    pub output: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
