//! Services: create, read, update, delete, pause and resume. Lists and searches are in
//! [`super::service_list`]; every write here keeps [`super::service_index`] in step.
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};

use super::channels::{ChannelChoice, Reminders};
use super::{StoreError, StoreResult, service_index};
use crate::clock::{from_ms, to_ms};
use crate::domain::runs::{PingUuid, SLUG_MAX, slugify};
use crate::domain::schedule::{Schedule, ScheduleKind};
use crate::domain::status::{self, OpenRun, RunRules, Status, Timing, Tracking, planned_check};
use crate::domain::{EmailAddress, FieldError, Problem, ServiceId, Tags, notify_to_column};
use crate::entity::services::{self, Column, Entity, Model};

/// A validated service, ready to store.
#[derive(Debug, Clone)]
pub struct NewService {
    pub name: String,
    pub schedule: Schedule,
    pub timezone: Tz,
    pub grace_secs: i64,
    pub tags: Tags,
    pub notify: Vec<EmailAddress>,
    /// `None`: the channels marked "default for new".
    pub channels: ChannelChoice,
    pub reminders: Reminders,
    /// `None`: made from the name (or the id), with `-2`, `-3`… when taken.
    pub slug: Option<String>,
    pub max_run_secs: Option<i64>,
    pub min_run_secs: Option<i64>,
    pub fail_after: i32,
    pub description: String,
}

impl NewService {
    /// A service with nothing else said: UTC, no grace time, no tags, nobody notified, no
    /// channels, no run-time bounds, alerting on the first failure. Set what differs with
    /// `NewService { grace_secs: 300, ..NewService::new(name, schedule) }`.
    pub fn new(name: String, schedule: Schedule) -> Self {
        Self {
            name,
            schedule,
            timezone: chrono_tz::UTC,
            grace_secs: 0,
            tags: Tags::default(),
            notify: Vec::new(),
            channels: Some(Vec::new()),
            reminders: Reminders::default(),
            slug: None,
            max_run_secs: None,
            min_run_secs: None,
            fail_after: 1,
            description: String::new(),
        }
    }
}

/// A validated partial update; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ServicePatch {
    pub name: Option<String>,
    pub schedule: Option<Schedule>,
    pub timezone: Option<Tz>,
    pub grace_secs: Option<i64>,
    pub tags: Option<Tags>,
    pub notify: Option<Vec<EmailAddress>>,
    pub channels: Option<Vec<String>>,
    pub reminders: Option<Reminders>,
    pub slug: Option<String>,
    /// `Some(None)` removes the bound.
    pub max_run_secs: Option<Option<i64>>,
    pub min_run_secs: Option<Option<i64>>,
    pub fail_after: Option<i32>,
    pub description: Option<String>,
}

/// The schedule's columns: kind, period, at, cron.
fn schedule_columns(s: &Schedule) -> (ScheduleKind, Option<i64>, Option<String>, Option<String>) {
    match s {
        Schedule::Interval { period } => (
            ScheduleKind::Interval,
            Some(period.num_seconds()),
            None,
            None,
        ),
        Schedule::Daily { at } => (ScheduleKind::Daily, None, Some(at.to_string()), None),
        Schedule::Cron { expr } => (ScheduleKind::Cron, None, None, Some(expr.to_string())),
    }
}

fn name_taken(name: String) -> FieldError {
    FieldError::new("name", Problem::ServiceNameTaken { name })
}

/// The schedule a stored row describes. Rows are validated on the way in, so a failure
/// here means the database was edited by hand.
pub fn schedule_of(m: &Model) -> Result<Schedule, FieldError> {
    Schedule::of_kind(
        m.kind,
        m.period_secs,
        m.at_time.as_deref(),
        m.cron_expr.as_deref(),
    )
}

pub fn timezone_of(m: &Model) -> Tz {
    m.timezone.parse().unwrap_or(chrono_tz::UTC)
}

pub fn tracking_of(m: &Model) -> Tracking {
    Tracking {
        status: m.status,
        last_ping_at: m.last_ping_at.map(from_ms),
        last_ping_kind: m.last_ping_kind,
        next_due_at: m.next_due_at.map(from_ms),
        down_at: m.down_at.map(from_ms),
        next_check_at: m.next_check_at.map(from_ms),
    }
}

/// The columns a ping or the scheduler changes.
pub const TRACKING_COLUMNS: [Column; 8] = [
    Column::Status,
    Column::LastPingAt,
    Column::LastPingKind,
    Column::NextDueAt,
    Column::DownAt,
    Column::NextCheckAt,
    Column::Version,
    Column::UpdatedAt,
];

/// The run columns a ping changes, written with [`TRACKING_COLUMNS`].
pub const RUN_COLUMNS: [Column; 4] = [
    Column::FailStreak,
    Column::OpenRuns,
    Column::RunStartedAt,
    Column::LastRunMs,
];

/// Where a service's pings chain starts, and how many it has received: every ping writes
/// them.
pub const PING_LOG_COLUMNS: [Column; 2] = [Column::LastPingId, Column::PingCount];

/// The run a row watches for hanging, when it has one open and a maximum run time.
pub fn open_run_of(m: &Model) -> Option<OpenRun> {
    OpenRun::of(
        m.run_started_at.map(from_ms),
        m.max_run_secs.map(Duration::seconds),
    )
}

/// A row's run-time bounds and failure threshold.
pub fn rules_of(m: &Model) -> RunRules {
    RunRules {
        min_run: m.min_run_secs.map(Duration::seconds),
        max_run: m.max_run_secs.map(Duration::seconds),
        fail_after: m.fail_after,
    }
}

/// Copy a tracking state onto a row (in memory).
pub fn apply_tracking(m: &mut Model, t: &Tracking) {
    m.status = t.status;
    m.last_ping_at = t.last_ping_at.map(to_ms);
    m.last_ping_kind = t.last_ping_kind;
    m.next_due_at = t.next_due_at.map(to_ms);
    m.down_at = t.down_at.map(to_ms);
    m.next_check_at = t.next_check_at.map(to_ms);
}

/// Run `f` with the schedule timing of a row.
pub fn with_timing<R>(m: &Model, f: impl FnOnce(&Timing<'_>) -> R) -> Result<R, FieldError> {
    let schedule = schedule_of(m)?;
    let timing = Timing {
        schedule: &schedule,
        tz: timezone_of(m),
        grace: Duration::seconds(m.grace_secs),
    };
    Ok(f(&timing))
}

/// The row a new service starts as (not yet stored).
pub(crate) fn new_model(new: NewService, now: DateTime<Utc>) -> Model {
    let (kind, period, at, cron) = schedule_columns(&new.schedule);
    let now_ms = to_ms(now);
    Model {
        id: ServiceId::generate().to_string(),
        name_key: service_index::name_key(&new.name),
        name: new.name,
        kind,
        period_secs: period,
        at_time: at,
        cron_expr: cron,
        timezone: new.timezone.name().to_owned(),
        grace_secs: new.grace_secs,
        tags: new.tags.to_column(),
        notify: notify_to_column(&new.notify),
        status: Status::New,
        last_ping_at: None,
        last_ping_kind: None,
        next_due_at: None,
        down_at: None,
        next_check_at: None,
        version: 0,
        created_at: now_ms,
        updated_at: now_ms,
        channels: new
            .channels
            .as_deref()
            .map(crate::domain::channel::channels_to_column)
            .unwrap_or_default(),
        remind_every_secs: new.reminders.every_secs,
        remind_max: new.reminders.max,
        snoozed_until: None,
        ping_uuid: PingUuid::generate().to_string(),
        slug: new.slug.unwrap_or_default(),
        max_run_secs: new.max_run_secs,
        min_run_secs: new.min_run_secs,
        fail_after: new.fail_after,
        fail_streak: 0,
        open_runs: 0,
        run_started_at: None,
        last_run_ms: None,
        description: new.description,
        last_ping_id: None,
        ping_count: 0,
    }
}

fn slug_taken(slug: String) -> FieldError {
    FieldError::new("slug", Problem::SlugTaken { slug })
}

/// Whether another service than `except` has `slug`.
async fn has_slug<C: ConnectionTrait>(db: &C, slug: &str, except: &str) -> StoreResult<bool> {
    Ok(Entity::find()
        .filter(Column::Slug.eq(slug))
        .filter(Column::Id.ne(except))
        .one(db)
        .await?
        .is_some())
}

/// A free slug for a new service: its name's, else its id's, with `-2`, `-3`… when taken.
async fn free_slug<C: ConnectionTrait>(db: &C, name: &str, id: &str) -> StoreResult<String> {
    let mut base = slugify(name);
    if base.is_empty() {
        base = id.to_ascii_lowercase();
    }
    // Room for the suffix within the limit.
    base.truncate(SLUG_MAX - 8);
    let base = base.trim_end_matches('-').to_owned();
    let mut slug = base.clone();
    let mut n = 2;
    while has_slug(db, &slug, id).await? {
        slug = format!("{base}-{n}");
        n += 1;
    }
    Ok(slug)
}

/// The service with ping UUID `uuid`, if any.
pub async fn by_ping_uuid<C: ConnectionTrait>(db: &C, uuid: &str) -> StoreResult<Option<Model>> {
    Ok(Entity::find()
        .filter(Column::PingUuid.eq(uuid))
        .one(db)
        .await?)
}

/// The service with slug `slug`, if any.
pub async fn by_slug<C: ConnectionTrait>(db: &C, slug: &str) -> StoreResult<Option<Model>> {
    Ok(Entity::find().filter(Column::Slug.eq(slug)).one(db).await?)
}

/// Give a service a new ping UUID: the old ping URLs stop working at once.
pub async fn regenerate_ping_uuid(
    db: &DatabaseConnection,
    id: &str,
    now: DateTime<Utc>,
) -> StoreResult<Model> {
    let txn = begin_write(db).await?;
    let mut m = get_for_update(&txn, id).await?;
    m.ping_uuid = PingUuid::generate().to_string();
    let m = save(&txn, m, now).await?;
    txn.commit().await?;
    service_index::touched();
    Ok(m)
}

#[tracing::instrument(skip(db, new), fields(name = %new.name))]
pub async fn create(
    db: &DatabaseConnection,
    new: NewService,
    now: DateTime<Utc>,
) -> StoreResult<Model> {
    let name = new.name.clone();
    let txn = begin_write(db).await?;
    let channels = super::channels::chosen(&txn, &new.channels).await?;
    let given_slug = new.slug.clone();
    let mut row = new_model(new, now);
    row.channels = channels;
    row.slug = match given_slug {
        Some(slug) if has_slug(&txn, &slug, &row.id).await? => {
            return Err(StoreError::Conflict(slug_taken(slug)));
        }
        Some(slug) => slug,
        None => free_slug(&txn, &row.name, &row.id).await?,
    };
    let row = row.into_active_model().reset_all();
    let m = row
        .insert(&txn)
        .await
        .map_err(|e| StoreError::unique(e, name_taken(name.clone())))?;
    service_index::sync(&txn, &m).await?;
    service_index::catalog_changed(&txn).await?;
    txn.commit().await?;
    service_index::touched();
    Ok(m)
}

#[tracing::instrument(skip(db))]
pub async fn get<C: ConnectionTrait>(db: &C, id: &str) -> StoreResult<Model> {
    Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .ok_or(StoreError::NotFound("service"))
}

/// A write transaction. On SQLite it takes the write lock at once: a deferred one that
/// reads, then writes after a ping batch committed, fails with SQLITE_BUSY_SNAPSHOT.
pub async fn begin_write(
    db: &DatabaseConnection,
) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
    db.begin_with_options(sea_orm::TransactionOptions {
        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// Load a row for update inside `txn`, locking it where the database can.
pub async fn get_for_update<C: ConnectionTrait>(txn: &C, id: &str) -> StoreResult<Model> {
    Entity::find_by_id(id.to_owned())
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(StoreError::NotFound("service"))
}

/// Write a whole row back, bumping its version.
pub async fn save<C: ConnectionTrait>(
    txn: &C,
    mut m: Model,
    now: DateTime<Utc>,
) -> StoreResult<Model> {
    m.version += 1;
    m.updated_at = to_ms(now);
    m.name_key = service_index::name_key(&m.name);
    let name = m.name.clone();
    // Every column may have changed; mark them all for the UPDATE.
    let m = m
        .into_active_model()
        .reset_all()
        .update(txn)
        .await
        .map_err(|e| StoreError::unique(e, name_taken(name.clone())))?;
    service_index::sync(txn, &m).await?;
    Ok(m)
}

#[tracing::instrument(skip(db, patch))]
pub async fn update(
    db: &DatabaseConnection,
    id: &str,
    patch: ServicePatch,
    now: DateTime<Utc>,
) -> StoreResult<Model> {
    let txn = begin_write(db).await?;
    let mut m = get_for_update(&txn, id).await?;
    let timing_changed =
        patch.schedule.is_some() || patch.timezone.is_some() || patch.grace_secs.is_some();
    if let Some(name) = patch.name {
        m.name = name;
    }
    if let Some(schedule) = &patch.schedule {
        let (kind, period, at, cron) = schedule_columns(schedule);
        m.kind = kind;
        m.period_secs = period;
        m.at_time = at;
        m.cron_expr = cron;
    }
    if let Some(tz) = patch.timezone {
        m.timezone = tz.name().to_owned();
    }
    if let Some(g) = patch.grace_secs {
        m.grace_secs = g;
    }
    if let Some(tags) = patch.tags {
        m.tags = tags.to_column();
    }
    if let Some(notify) = patch.notify {
        m.notify = notify_to_column(&notify);
    }
    if let Some(channels) = patch.channels {
        m.channels = crate::domain::channel::channels_to_column(&channels);
    }
    if let Some(r) = patch.reminders {
        m.remind_every_secs = r.every_secs;
        m.remind_max = r.max;
    }
    if let Some(slug) = patch.slug {
        if has_slug(&txn, &slug, &m.id).await? {
            return Err(StoreError::Conflict(slug_taken(slug)));
        }
        m.slug = slug;
    }
    let max_run_changed = patch.max_run_secs.is_some_and(|max| max != m.max_run_secs);
    if let Some(max) = patch.max_run_secs {
        m.max_run_secs = max;
    }
    if let Some(min) = patch.min_run_secs {
        m.min_run_secs = min;
    }
    if let Some(n) = patch.fail_after {
        m.fail_after = n;
    }
    if let Some(d) = patch.description {
        m.description = d;
    }
    if timing_changed {
        let tracking = with_timing(&m, |t| status::reschedule(&tracking_of(&m), t, now))?;
        apply_tracking(&mut m, &tracking);
    }
    if timing_changed || max_run_changed {
        // The hung deadline moves with the maximum run time.
        m.next_check_at = planned_check(&tracking_of(&m), open_run_of(&m)).map(to_ms);
    }
    let m = save(&txn, m, now).await?;
    service_index::catalog_changed(&txn).await?;
    txn.commit().await?;
    service_index::touched();
    Ok(m)
}

#[tracing::instrument(skip(db))]
pub async fn delete(db: &DatabaseConnection, id: &str) -> StoreResult<()> {
    let txn = begin_write(db).await?;
    service_index::remove(&txn, id).await?;
    // Flips and alerts go by their foreign keys; pings and runs have none.
    super::pings::delete_of_service(&txn, id).await?;
    crate::entity::runs::Entity::delete_many()
        .filter(crate::entity::runs::Column::ServiceId.eq(id))
        .exec(&txn)
        .await?;
    let res = Entity::delete_by_id(id.to_owned()).exec(&txn).await?;
    if res.rows_affected == 0 {
        return Err(StoreError::NotFound("service"));
    }
    txn.commit().await?;
    service_index::touched();
    Ok(())
}

/// Pause or resume a service.
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
    let (next, flip) = match (pause, current.status) {
        (true, Status::Paused)
        | (false, Status::New | Status::Up | Status::Late | Status::Down) => {
            txn.commit().await?;
            return Ok(m);
        }
        (true, _) => status::paused(&current, now),
        (false, Status::Paused) => with_timing(&m, |t| status::resumed(&current, t, now))?,
    };
    apply_tracking(&mut m, &next);
    m.next_check_at = planned_check(&next, open_run_of(&m)).map(to_ms);
    let m = save(&txn, m, now).await?;
    // Pauses and resumes are in the status history; they never alert.
    super::alerts::record_flip(&txn, &m, &flip).await?;
    txn.commit().await?;
    service_index::touched();
    Ok(m)
}

/// The earliest deadline the scheduler has to honour, if any.
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

/// Write what a scheduler tick decided for `row`, if the row is still the version it read:
/// the new status and next deadline (planned with the runs that stay open), or, when the
/// tick changed nothing (a deadline left by an edit), the deadline `next` carries.
/// Returns `false` when another process changed the row first.
#[tracing::instrument(level = "debug", skip_all, fields(service = %row.id))]
pub async fn apply_tick_cas<C: ConnectionTrait>(
    txn: &C,
    row: &Model,
    next: &Tracking,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let update = Entity::update_many()
        .col_expr(Column::Version, Expr::col(Column::Version).add(1))
        .col_expr(Column::UpdatedAt, Expr::val(to_ms(now)))
        .col_expr(Column::Status, Expr::val(next.status))
        .col_expr(
            Column::NextCheckAt,
            Expr::val(next.next_check_at.map(to_ms)),
        )
        .filter(Column::Id.eq(row.id.clone()))
        .filter(Column::Version.eq(row.version));
    let won = update.exec(txn).await?.rows_affected == 1;
    if won && next.status != row.status {
        service_index::set_statuses(txn, &[(row.id.clone(), next.status)]).await?;
    }
    Ok(won)
}

/// Set the oldest open run not yet reported hung and the check planned with it, after the
/// scheduler marked runs hung (the row is locked by the tick's update in the same
/// transaction).
pub async fn set_open_run<C: ConnectionTrait>(
    txn: &C,
    id: &str,
    run_started_at: Option<i64>,
    next_check_at: Option<i64>,
) -> StoreResult<()> {
    Entity::update_many()
        .col_expr(Column::RunStartedAt, Expr::val(run_started_at))
        .col_expr(Column::NextCheckAt, Expr::val(next_check_at))
        .filter(Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Services whose deadline has passed, oldest deadline first.
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

pub use services::Model as ServiceRow;

/// Silence a service's alerts until `until`, or (`None`) end its snooze. Its status,
/// deadlines and version are untouched: the scheduler goes on as before.
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
    service_index::touched();
    Ok(m)
}
