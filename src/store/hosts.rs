//! Hosts: create, read, update, delete, pause and resume; the defaults for new hosts; the
//! staleness job's reads and writes. Every write keeps `host_tags` in step; pages and tag
//! searches are in [`super::host_list`].
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, sea_query::OnConflict,
};

use super::channels::{ChannelChoice, Reminders};
use super::services::begin_write;
use super::{StoreError, StoreResult, host_events};
use crate::clock::{from_ms, to_ms};
use crate::domain::host::{Checks, HostDefaults, HostStatus, generate_host_id};
use crate::domain::host_status::{self, Breaches, HostTiming, HostTracking};
use crate::domain::{EmailAddress, FieldError, Problem, Tags, notify_to_column};
use crate::entity::hosts::{Column, Entity, Model};
use crate::entity::{host_defaults, host_latest, host_tags};

/// SSH settings the collector uses instead of its defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ssh {
    pub user: Option<String>,
    pub port: Option<u16>,
    pub key: Option<String>,
}

/// A validated host, ready to store.
#[derive(Debug, Clone)]
pub struct NewHost {
    pub name: String,
    pub address: Option<String>,
    pub description: Option<String>,
    pub interval_secs: i64,
    pub tags: Tags,
    pub notify: Vec<EmailAddress>,
    pub ssh: Ssh,
    pub checks: Checks,
    pub collector: Option<String>,
    /// `None`: the channels marked "default for new".
    pub channels: ChannelChoice,
    pub reminders: Reminders,
}

/// A validated partial update; `None` leaves a field as it is (`Some(None)` clears it).
#[derive(Debug, Clone, Default)]
pub struct HostPatch {
    pub name: Option<String>,
    pub address: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub interval_secs: Option<i64>,
    pub tags: Option<Tags>,
    pub notify: Option<Vec<EmailAddress>>,
    pub ssh: Option<Ssh>,
    pub checks: Option<Checks>,
    pub collector: Option<Option<String>>,
    pub channels: Option<Vec<String>>,
    pub reminders: Option<Reminders>,
}

/// The key names sort and are unique by.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

fn name_taken(name: String) -> FieldError {
    FieldError::new("name", Problem::HostNameTaken { name })
}

/// A row's checks. Rows are validated on the way in; a row edited by hand into nonsense
/// checks what a new host would.
pub fn checks_of(m: &Model) -> Checks {
    serde_json::from_str(&m.checks).unwrap_or_else(|_| Checks::builtin())
}

pub fn ssh_of(m: &Model) -> Ssh {
    Ssh {
        user: m.ssh_user.clone(),
        port: m.ssh_port.and_then(|p| u16::try_from(p).ok()),
        key: m.ssh_key.clone(),
    }
}

pub fn problems_of(m: &Model) -> Vec<String> {
    m.problems
        .as_deref()
        .map(|p| p.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}

pub fn tracking_of(m: &Model) -> HostTracking {
    HostTracking {
        status: m.status,
        status_since: m.status_since.map(from_ms),
        last_report_at: m.last_report_at.map(from_ms),
        last_ok_at: m.last_ok_at.map(from_ms),
        last_error: m.last_error.clone(),
        report_interval_secs: m.report_interval_secs,
        report_timeout_secs: m.report_timeout_secs,
        breaches: m
            .breaches
            .as_deref()
            .and_then(|b| serde_json::from_str(b).ok())
            .unwrap_or_default(),
        problems: problems_of(m),
        next_check_at: m.next_check_at.map(from_ms),
    }
}

/// The columns reports and the staleness job change.
pub const TRACKING_COLUMNS: [Column; 12] = [
    Column::Status,
    Column::StatusSince,
    Column::Problems,
    Column::LastReportAt,
    Column::LastOkAt,
    Column::LastError,
    Column::ReportIntervalSecs,
    Column::ReportTimeoutSecs,
    Column::Breaches,
    Column::NextCheckAt,
    Column::Version,
    Column::UpdatedAt,
];

fn breaches_column(b: &Breaches) -> Option<String> {
    (!b.0.is_empty()).then(|| serde_json::to_string(b).unwrap_or_default())
}

/// Copy a tracking state onto a row (in memory).
pub fn apply_tracking(m: &mut Model, t: &HostTracking) {
    m.status = t.status;
    m.status_since = t.status_since.map(to_ms);
    m.problems = (!t.problems.is_empty()).then(|| t.problems.join("\n"));
    m.last_report_at = t.last_report_at.map(to_ms);
    m.last_ok_at = t.last_ok_at.map(to_ms);
    m.last_error = t.last_error.clone();
    m.report_interval_secs = t.report_interval_secs;
    m.report_timeout_secs = t.report_timeout_secs;
    m.breaches = breaches_column(&t.breaches);
    m.next_check_at = t.next_check_at.map(to_ms);
}

fn checks_column(c: &Checks) -> String {
    serde_json::to_string(c).unwrap_or_else(|_| "{}".into())
}

#[tracing::instrument(skip(db, new), fields(name = %new.name))]
pub async fn create(
    db: &DatabaseConnection,
    new: NewHost,
    now: DateTime<Utc>,
) -> StoreResult<Model> {
    let now_ms = to_ms(now);
    let name = new.name.clone();
    let m = Model {
        id: generate_host_id(),
        name_key: name_key(&new.name),
        name: new.name,
        address: new.address,
        description: new.description,
        interval_secs: new.interval_secs,
        tags: new.tags.to_column(),
        notify: notify_to_column(&new.notify),
        ssh_user: new.ssh.user,
        ssh_port: new.ssh.port.map(i32::from),
        ssh_key: new.ssh.key,
        checks: checks_column(&new.checks),
        status: HostStatus::New,
        status_since: Some(now_ms),
        problems: None,
        last_report_at: None,
        last_ok_at: None,
        last_error: None,
        report_interval_secs: None,
        report_timeout_secs: None,
        breaches: None,
        next_check_at: None,
        version: 0,
        created_at: now_ms,
        updated_at: now_ms,
        collector: new.collector,
        discovered_at: None,
        channels: String::new(),
        remind_every_secs: new.reminders.every_secs,
        remind_max: new.reminders.max,
        snoozed_until: None,
    };
    let txn = begin_write(db).await?;
    let m = Model {
        channels: super::channels::chosen(&txn, &new.channels).await?,
        ..m
    };
    let m = m
        .into_active_model()
        .reset_all()
        .insert(&txn)
        .await
        .map_err(|e| StoreError::unique(e, name_taken(name.clone())))?;
    sync_tags(&txn, &m).await?;
    bump(&txn).await?;
    txn.commit().await?;
    Ok(m)
}

#[tracing::instrument(skip(db))]
pub async fn get<C: ConnectionTrait>(db: &C, id: &str) -> StoreResult<Model> {
    Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .ok_or(StoreError::NotFound("host"))
}

pub async fn get_for_update<C: ConnectionTrait>(txn: &C, id: &str) -> StoreResult<Model> {
    Entity::find_by_id(id.to_owned())
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(StoreError::NotFound("host"))
}

pub async fn by_name<C: ConnectionTrait>(db: &C, name: &str) -> StoreResult<Option<Model>> {
    Ok(Entity::find()
        .filter(Column::NameKey.eq(name_key(name)))
        .one(db)
        .await?)
}

/// Write a whole row back, bumping its version.
async fn save<C: ConnectionTrait>(txn: &C, mut m: Model, now: DateTime<Utc>) -> StoreResult<Model> {
    m.version += 1;
    m.updated_at = to_ms(now);
    m.name_key = name_key(&m.name);
    let name = m.name.clone();
    let m = m
        .into_active_model()
        .reset_all()
        .update(txn)
        .await
        .map_err(|e| StoreError::unique(e, name_taken(name.clone())))?;
    sync_tags(txn, &m).await?;
    Ok(m)
}

#[tracing::instrument(skip(db, patch))]
pub async fn update(
    db: &DatabaseConnection,
    id: &str,
    patch: HostPatch,
    now: DateTime<Utc>,
) -> StoreResult<Model> {
    let txn = begin_write(db).await?;
    let mut m = get_for_update(&txn, id).await?;
    if let Some(name) = patch.name {
        m.name = name;
    }
    if let Some(address) = patch.address {
        m.address = address;
    }
    if let Some(description) = patch.description {
        m.description = description;
    }
    if let Some(tags) = patch.tags {
        m.tags = tags.to_column();
    }
    if let Some(notify) = patch.notify {
        m.notify = notify_to_column(&notify);
    }
    if let Some(ssh) = patch.ssh {
        m.ssh_user = ssh.user;
        m.ssh_port = ssh.port.map(i32::from);
        m.ssh_key = ssh.key;
    }
    if let Some(checks) = &patch.checks {
        m.checks = checks_column(checks);
    }
    if let Some(collector) = patch.collector {
        m.collector = collector;
    }
    if let Some(channels) = patch.channels {
        m.channels = crate::domain::channel::channels_to_column(&channels);
    }
    if let Some(r) = patch.reminders {
        m.remind_every_secs = r.every_secs;
        m.remind_max = r.max;
    }
    if let Some(interval) = patch.interval_secs
        && interval != m.interval_secs
    {
        m.interval_secs = interval;
        let next = host_status::reschedule(&tracking_of(&m), interval);
        apply_tracking(&mut m, &next);
    }
    let m = save(&txn, m, now).await?;
    bump(&txn).await?;
    txn.commit().await?;
    Ok(m)
}

/// Delete a host with its snapshot, flips, events and alerts.
#[tracing::instrument(skip(db))]
pub async fn delete(db: &DatabaseConnection, id: &str) -> StoreResult<Model> {
    let txn = begin_write(db).await?;
    let m = get_for_update(&txn, id).await?;
    Entity::delete_by_id(id.to_owned()).exec(&txn).await?;
    bump(&txn).await?;
    txn.commit().await?;
    Ok(m)
}

/// Pause or resume a host; the flip is in its history and never alerts.
#[tracing::instrument(skip(db))]
pub async fn set_paused(
    db: &DatabaseConnection,
    id: &str,
    pause: bool,
    now: DateTime<Utc>,
) -> StoreResult<Model> {
    let txn = begin_write(db).await?;
    let mut m = get_for_update(&txn, id).await?;
    let current = tracking_of(&m);
    let checks = checks_of(&m);
    let change = match (pause, current.status) {
        (true, HostStatus::Paused)
        | (false, HostStatus::New | HostStatus::Up | HostStatus::Degraded | HostStatus::Down) => {
            txn.commit().await?;
            return Ok(m);
        }
        (true, _) => host_status::paused(&current, now),
        (false, HostStatus::Paused) => host_status::resumed(
            &current,
            HostTiming {
                interval_secs: m.interval_secs,
                checks: &checks,
            },
            now,
        ),
    };
    apply_tracking(&mut m, &change.next);
    let m = save(&txn, m, now).await?;
    host_events::record(&txn, &m, &change).await?;
    bump(&txn).await?;
    txn.commit().await?;
    Ok(m)
}

/// Rewrite a host's tag rows from its row, inside the writer's transaction.
async fn sync_tags<C: ConnectionTrait>(txn: &C, m: &Model) -> StoreResult<()> {
    host_tags::Entity::delete_many()
        .filter(host_tags::Column::HostId.eq(m.id.as_str()))
        .exec(txn)
        .await?;
    let rows: Vec<host_tags::ActiveModel> = Tags::from_column(&m.tags)
        .into_vec()
        .into_iter()
        .map(|tag| host_tags::ActiveModel {
            host_id: Set(m.id.clone()),
            tag: Set(tag),
            name_key: Set(m.name_key.clone()),
        })
        .collect();
    if !rows.is_empty() {
        host_tags::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// Bump the `hosts` revision: the inventory or a status changed.
pub async fn bump<C: ConnectionTrait>(txn: &C) -> Result<(), sea_orm::DbErr> {
    txn.execute_unprepared("UPDATE revisions SET value = value + 1 WHERE name = 'hosts'")
        .await?;
    Ok(())
}

/// The defaults for new hosts: as last saved, else the built-in ones.
#[tracing::instrument(skip(db))]
pub async fn defaults<C: ConnectionTrait>(db: &C) -> StoreResult<HostDefaults> {
    let row = host_defaults::Entity::find_by_id(1).one(db).await?;
    Ok(row
        .and_then(|r| {
            Some(HostDefaults {
                interval_secs: r.interval_secs,
                checks: serde_json::from_str(&r.checks).ok()?,
            })
        })
        .unwrap_or_default())
}

#[tracing::instrument(skip(db, d))]
pub async fn set_defaults(
    db: &DatabaseConnection,
    d: &HostDefaults,
    now: DateTime<Utc>,
) -> StoreResult<HostDefaults> {
    let row = host_defaults::ActiveModel {
        id: Set(1),
        interval_secs: Set(d.interval_secs),
        checks: Set(checks_column(&d.checks)),
        updated_at: Set(to_ms(now)),
    };
    host_defaults::Entity::insert(row)
        .on_conflict(
            OnConflict::column(host_defaults::Column::Id)
                .update_columns([
                    host_defaults::Column::IntervalSecs,
                    host_defaults::Column::Checks,
                    host_defaults::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(d.clone())
}

/// A host's latest snapshot as stored.
pub async fn latest<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> StoreResult<Option<host_latest::Model>> {
    Ok(host_latest::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?)
}

/// The latest snapshots of these hosts.
pub async fn latest_many<C: ConnectionTrait>(
    db: &C,
    ids: &[String],
) -> StoreResult<Vec<host_latest::Model>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(host_latest::Entity::find()
        .filter(host_latest::Column::HostId.is_in(ids.iter().cloned()))
        .all(db)
        .await?)
}

/// The earliest offline deadline, if any.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn earliest_check(db: &DatabaseConnection) -> StoreResult<Option<DateTime<Utc>>> {
    let row: Option<Option<i64>> = Entity::find()
        .select_only()
        .column_as(Expr::col(Column::NextCheckAt).min(), "min")
        .into_tuple()
        .one(db)
        .await?;
    Ok(row.flatten().map(from_ms))
}

/// Hosts whose offline deadline has passed, oldest first.
#[tracing::instrument(level = "debug", skip(db))]
pub async fn due<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    limit: u64,
) -> StoreResult<Vec<Model>> {
    Ok(Entity::find()
        .filter(Column::NextCheckAt.lte(to_ms(now)))
        .order_by_asc(Column::NextCheckAt)
        .limit(limit)
        .all(db)
        .await?)
}

/// Write what the staleness job decided for `row` if it is still the version it read
/// (`next` `None`: nothing to do, clear the deadline). `false`: another process (or a
/// report) changed the row first.
#[tracing::instrument(level = "debug", skip_all, fields(host = %row.id))]
pub async fn apply_tick_cas<C: ConnectionTrait>(
    txn: &C,
    row: &Model,
    next: Option<&HostTracking>,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let mut update = Entity::update_many()
        .col_expr(Column::Version, Expr::col(Column::Version).add(1))
        .col_expr(Column::UpdatedAt, Expr::val(to_ms(now)))
        .filter(Column::Id.eq(row.id.clone()))
        .filter(Column::Version.eq(row.version));
    update = match next {
        Some(next) => update
            .col_expr(Column::Status, Expr::val(next.status))
            .col_expr(Column::StatusSince, Expr::val(next.status_since.map(to_ms)))
            .col_expr(
                Column::Problems,
                Expr::val((!next.problems.is_empty()).then(|| next.problems.join("\n"))),
            )
            .col_expr(
                Column::NextCheckAt,
                Expr::val(next.next_check_at.map(to_ms)),
            ),
        None => update.col_expr(Column::NextCheckAt, Expr::val(Option::<i64>::None)),
    };
    Ok(update.exec(txn).await?.rows_affected == 1)
}

/// What a collector needs of one host (`GET /api/v1/agent/hosts`).
#[derive(Debug, Clone, PartialEq, sea_orm::FromQueryResult)]
pub struct CollectRow {
    pub id: String,
    pub name: String,
    pub address: Option<String>,
    pub interval_secs: i64,
    pub ssh_user: Option<String>,
    pub ssh_port: Option<i32>,
    pub ssh_key: Option<String>,
    pub checks: String,
    pub discovered_at: Option<i64>,
}

/// The hosts a collector must collect: enabled (not paused), with an address, assigned to
/// `collector` (`None`: to no collector), in name order. One query, one index range
/// (`idx_hosts_collector (collector, name_key)`); every such host in one answer (a fleet is
/// thousands of hosts, and the columns are a few hundred bytes each).
#[tracing::instrument(level = "debug", skip(db))]
pub async fn to_collect<C: ConnectionTrait>(
    db: &C,
    collector: Option<&str>,
) -> StoreResult<Vec<CollectRow>> {
    let assigned = match collector {
        Some(c) => Column::Collector.eq(c),
        None => Column::Collector.is_null(),
    };
    Ok(Entity::find()
        .select_only()
        .columns([
            Column::Id,
            Column::Name,
            Column::Address,
            Column::IntervalSecs,
            Column::SshUser,
            Column::SshPort,
            Column::SshKey,
            Column::Checks,
            Column::DiscoveredAt,
        ])
        .filter(assigned)
        .filter(Column::Status.ne(HostStatus::Paused))
        .filter(Column::Address.is_not_null())
        .order_by_asc(Column::NameKey)
        .into_model::<CollectRow>()
        .all(db)
        .await?)
}

/// The column the entity leaves out (see `entity::hosts::Model::discovered_at`).
fn discovered_units_col() -> sea_orm::sea_query::Alias {
    sea_orm::sea_query::Alias::new("discovered_units")
}

/// A host's discovered units as the agent last sent them (the JSON list of
/// `wire::hosts::UnitReport`), and when; `None` when it never sent any.
pub async fn discovered_units<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> StoreResult<Option<(String, Option<i64>)>> {
    let row: Option<(Option<String>, Option<i64>)> = Entity::find_by_id(id.to_owned())
        .select_only()
        .expr_as(
            Expr::col((Entity, discovered_units_col())),
            "discovered_units",
        )
        .column(Column::DiscoveredAt)
        .into_tuple()
        .one(db)
        .await?;
    match row {
        None => Err(StoreError::NotFound("host")),
        Some((units, at)) => Ok(units.map(|u| (u, at))),
    }
}

/// Store discovered unit lists (`(host id, JSON, collected at)`). A list older than the
/// one a host has is not news; a host deleted in the meantime is skipped.
#[tracing::instrument(level = "debug", skip_all, fields(hosts = lists.len()))]
pub async fn set_discovered_units(
    db: &DatabaseConnection,
    lists: &[(String, String, DateTime<Utc>)],
) -> StoreResult<()> {
    if lists.is_empty() {
        return Ok(());
    }
    let txn = begin_write(db).await?;
    for (id, json, at) in lists {
        let at = to_ms(*at);
        Entity::update_many()
            .col_expr(discovered_units_col(), Expr::val(json.as_str()))
            .col_expr(Column::DiscoveredAt, Expr::val(at))
            .filter(Column::Id.eq(id.as_str()))
            .filter(
                sea_orm::Condition::any()
                    .add(Column::DiscoveredAt.is_null())
                    .add(Column::DiscoveredAt.lte(at)),
            )
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Ask for a new unit list: the next host list tells the host's collector to discover
/// (the list already stored stays until the new one comes).
#[tracing::instrument(level = "debug", skip(db))]
pub async fn forget_discovery(db: &DatabaseConnection, id: &str) -> StoreResult<Model> {
    let txn = begin_write(db).await?;
    let mut m = get_for_update(&txn, id).await?;
    Entity::update_many()
        .col_expr(Column::DiscoveredAt, Expr::val(Option::<i64>::None))
        .filter(Column::Id.eq(id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    m.discovered_at = None;
    Ok(m)
}

/// Silence a host's alerts until `until`, or (`None`) end its snooze. Its status,
/// deadlines and version are untouched.
#[tracing::instrument(skip(db))]
pub async fn set_snoozed_until(
    db: &DatabaseConnection,
    id: &str,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> StoreResult<Model> {
    // Read first: MySQL counts an UPDATE that changes nothing as no row.
    let mut m = get(db, id).await?;
    Entity::update_many()
        .col_expr(Column::SnoozedUntil, Expr::val(until.map(to_ms)))
        .col_expr(Column::UpdatedAt, Expr::val(to_ms(now)))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    m.snoozed_until = until.map(to_ms);
    m.updated_at = to_ms(now);
    Ok(m)
}
