use sea_orm::entity::prelude::*;

use crate::domain::host::HostStatus;

/// A watched machine. `checks` and `breaches` are JSON (`domain::host::Checks`, and the
/// breach starts `domain::host_status::Breaches`); times are Unix milliseconds.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "hosts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    /// The name lower-cased: unique; lists sort and search by it.
    pub name_key: String,
    pub address: Option<String>,
    pub description: Option<String>,
    pub interval_secs: i64,
    /// `,a,b,` like services' tags; `host_tags` holds the indexed copy.
    pub tags: String,
    pub notify: String,
    pub ssh_user: Option<String>,
    pub ssh_port: Option<i32>,
    pub ssh_key: Option<String>,
    pub checks: String,
    pub status: HostStatus,
    pub status_since: Option<i64>,
    /// What is wrong while degraded or down, one line each.
    pub problems: Option<String>,
    pub last_report_at: Option<i64>,
    pub last_ok_at: Option<i64>,
    pub last_error: Option<String>,
    pub report_interval_secs: Option<i64>,
    pub report_timeout_secs: Option<i64>,
    pub breaches: Option<String>,
    /// The offline deadline the staleness job honours.
    pub next_check_at: Option<i64>,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// The `hb-agent watch` instance that collects the host (`--collector NAME`); `None`:
    /// the default collector.
    pub collector: Option<String>,
    /// When the agent last sent the host's discovered units; `None`: never, or a user asked
    /// for a new list. The list itself (`discovered_units`, JSON) is deliberately not a
    /// field: the report writer reads and writes whole rows on every report, and the list
    /// is tens of KB; `store::hosts::discovered_units` reads it when a page needs it.
    pub discovered_at: Option<i64>,
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
