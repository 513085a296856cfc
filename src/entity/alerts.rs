use sea_orm::entity::prelude::*;

use crate::domain::alert::{AlertPurpose, AlertState};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "alerts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The service flip this alert is about; `None` for a host's alert.
    pub flip_id: Option<i64>,
    pub service_id: Option<String>,
    pub recipient: String,
    pub state: AlertState,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub claimed_until: Option<i64>,
    /// Set with `claimed_until` by the worker that claimed this alert.
    pub claim_token: Option<String>,
    pub last_error: Option<String>,
    pub sent_at: Option<i64>,
    pub created_at: i64,
    /// The host flip this alert is about; `None` for a service's alert.
    pub host_flip_id: Option<i64>,
    pub host_id: Option<String>,
    /// The channel this alert goes to; `None`: `recipient` is a `notify` address.
    pub channel_id: Option<String>,
    pub purpose: AlertPurpose,
    /// Which reminder (1, 2, …); 0 for a flip's own alert.
    pub seq: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
