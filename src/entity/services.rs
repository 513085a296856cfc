use sea_orm::entity::prelude::*;

use crate::domain::schedule::ScheduleKind;
use crate::domain::status::{PingKind, Status};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "services")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub name: String,
    /// The name lower-cased (`store::service_index::name_key`): unique, so names that
    /// differ only in case are one name; the list sorts and searches by it.
    pub name_key: String,
    pub kind: ScheduleKind,
    pub period_secs: Option<i64>,
    pub at_time: Option<String>,
    pub cron_expr: Option<String>,
    pub timezone: String,
    pub grace_secs: i64,
    pub tags: String,
    pub notify: String,
    pub status: Status,
    pub last_ping_at: Option<i64>,
    pub last_ping_kind: Option<PingKind>,
    pub next_due_at: Option<i64>,
    pub down_at: Option<i64>,
    pub next_check_at: Option<i64>,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// Channel ids, comma-separated (`domain::channel::channels_from_column`).
    pub channels: String,
    /// Remind every so often while down (`None`: never), at most `remind_max` times.
    pub remind_every_secs: Option<i64>,
    pub remind_max: i32,
    /// No alert goes out before this time (Unix ms); statuses still change.
    pub snoozed_until: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
