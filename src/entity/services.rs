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
    /// The secret of `/ping/<uuid>` (a random v4 UUID, lower-case).
    #[sea_orm(unique)]
    pub ping_uuid: String,
    /// For `/ping/<ping-key>/<slug>`: lower-case ASCII letters, digits, `-` and `_`.
    #[sea_orm(unique)]
    pub slug: String,
    /// A run open longer than this is hung (the service goes down); a run that took
    /// longer failed.
    pub max_run_secs: Option<i64>,
    /// A run that took less than this failed.
    pub min_run_secs: Option<i64>,
    /// Go down at this many failures in a row (1: at the first).
    pub fail_after: i32,
    /// Failures in a row so far; a success sets it to 0.
    pub fail_streak: i32,
    /// Runs started and not yet finished (younger than 72 h).
    pub open_runs: i32,
    /// The oldest open run not yet reported hung (Unix ms): the hung deadline is this
    /// plus `max_run_secs`.
    pub run_started_at: Option<i64>,
    /// The duration of the last finished run, ms.
    pub last_run_ms: Option<i64>,
    /// Free text about the job (healthchecks' `desc`), at most 2,000 characters.
    pub description: String,
    /// The service's newest ping, where a walk down its pings' `prev_id` chain starts
    /// (`store::pings::list`); `None` before the first.
    pub last_ping_id: Option<i64>,
    /// Pings received, ever (healthchecks' `n_pings`): retention does not lower it.
    pub ping_count: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
