//! Flips and the alert outbox. A flip and its alerts are written in the transaction that
//! changes the service's status, so a crash can lose neither.
use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait,
    DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::StoreResult;
use crate::clock::to_ms;
use crate::domain::alert::AlertPurpose;
use crate::domain::channel::channels_from_column;
use crate::domain::notify_from_column;
use crate::domain::status::Flip;
use crate::entity::{alerts, flips, services};

pub use crate::domain::alert::AlertState;
pub const PENDING: AlertState = AlertState::Pending;
pub const SENT: AlertState = AlertState::Sent;
pub const FAILED: AlertState = AlertState::Failed;
pub const HELD: AlertState = AlertState::Held;
pub const SKIPPED: AlertState = AlertState::Skipped;

/// The states the outbox still works on.
fn open_states() -> [AlertState; 2] {
    [PENDING, HELD]
}

/// How long a worker owns an alert it claimed; after that another worker may retry it.
pub const CLAIM_LEASE: Duration = Duration::seconds(120);

/// Store a flip and, when its reason alerts, one outbox row per recipient and channel.
/// Returns how many alerts were queued.
#[tracing::instrument(level = "debug", skip_all, fields(service = %service.id))]
pub async fn record_flip<C: ConnectionTrait>(
    txn: &C,
    service: &services::Model,
    flip: &Flip,
) -> StoreResult<usize> {
    let row = flips::ActiveModel {
        service_id: Set(service.id.clone()),
        service_name: Set(service.name.clone()),
        at: Set(to_ms(flip.at)),
        from_status: Set(flip.from),
        to_status: Set(flip.to),
        reason: Set(flip.reason),
        data: Set(flip.data.clone()),
        due_at: Set(flip.due_at.map(to_ms)),
        last_ping_at: Set(flip.last_ping_at.map(to_ms)),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    if !flip.reason.alerts() {
        return Ok(0);
    }
    queue(
        txn,
        Subject::Service(&service.id, row.id),
        &service.notify,
        &service.channels,
        flip.at,
    )
    .await
}

/// What an alert is about: a service's flip or a host's (their ids).
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    Service(&'a str, i64),
    Host(&'a str, i64),
}

/// Queue one alert per recipient in the `notify` column and one per channel in the
/// `channels` column for a flip at `at`, in the writer's transaction. Returns how many.
pub async fn queue<C: ConnectionTrait>(
    txn: &C,
    subject: Subject<'_>,
    notify: &str,
    channels: &str,
    at: DateTime<Utc>,
) -> StoreResult<usize> {
    let recipients: Vec<(String, Option<String>)> = notify_from_column(notify)
        .into_iter()
        .map(|to| (to, None))
        .chain(
            channels_from_column(channels)
                .into_iter()
                .map(|id| (id.clone(), Some(id))),
        )
        .collect();
    if recipients.is_empty() {
        return Ok(0);
    }
    let at = to_ms(at);
    let (flip_id, service_id, host_flip_id, host_id) = match subject {
        Subject::Service(id, flip) => (Some(flip), Some(id.to_owned()), None, None),
        Subject::Host(id, flip) => (None, None, Some(flip), Some(id.to_owned())),
    };
    let rows = recipients.iter().map(|(to, channel)| alerts::ActiveModel {
        flip_id: Set(flip_id),
        service_id: Set(service_id.clone()),
        host_flip_id: Set(host_flip_id),
        host_id: Set(host_id.clone()),
        recipient: Set(to.clone()),
        state: Set(PENDING.to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(at),
        claimed_until: Set(None),
        claim_token: Set(None),
        last_error: Set(None),
        sent_at: Set(None),
        created_at: Set(at),
        channel_id: Set(channel.clone()),
        purpose: Set(AlertPurpose::Flip),
        seq: Set(0),
        ..Default::default()
    });
    alerts::Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await?;
    Ok(recipients.len())
}

/// Alerts ready to be sent now, oldest first.
#[tracing::instrument(level = "debug", skip(db))]
pub async fn ready(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    limit: u64,
) -> StoreResult<Vec<alerts::Model>> {
    let now = to_ms(now);
    Ok(alerts::Entity::find()
        .filter(alerts::Column::State.is_in(open_states()))
        .filter(alerts::Column::NextAttemptAt.lte(now))
        .filter(
            Condition::any()
                .add(alerts::Column::ClaimedUntil.is_null())
                .add(alerts::Column::ClaimedUntil.lt(now)),
        )
        .order_by_asc(alerts::Column::NextAttemptAt)
        .order_by_asc(alerts::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Take ownership of some alerts for one delivery attempt each, and return those this
/// worker won. One conditional update claims them all: in any number of processes, only
/// one worker can hold a live claim on an alert.
#[tracing::instrument(level = "debug", skip(db, ids), fields(alerts = ids.len()))]
pub async fn claim(db: &DatabaseConnection, ids: &[i64], now: DateTime<Utc>) -> StoreResult<Claim> {
    let token = nanoid::nanoid!(24);
    if ids.is_empty() {
        return Ok(Claim {
            token,
            alerts: Vec::new(),
        });
    }
    let now_ms = to_ms(now);
    alerts::Entity::update_many()
        .col_expr(
            alerts::Column::ClaimedUntil,
            Expr::val(to_ms(now + CLAIM_LEASE)),
        )
        .col_expr(alerts::Column::ClaimToken, Expr::val(token.clone()))
        .filter(alerts::Column::Id.is_in(ids.iter().copied()))
        .filter(alerts::Column::State.is_in(open_states()))
        .filter(
            Condition::any()
                .add(alerts::Column::ClaimedUntil.is_null())
                .add(alerts::Column::ClaimedUntil.lt(now_ms)),
        )
        .exec(db)
        .await?;
    let alerts = alerts::Entity::find()
        .filter(alerts::Column::ClaimToken.eq(token.clone()))
        .filter(alerts::Column::State.is_in(open_states()))
        .order_by_asc(alerts::Column::Id)
        .all(db)
        .await?;
    Ok(Claim { token, alerts })
}

/// Alerts one worker holds, and the token that proves it.
pub struct Claim {
    pub token: String,
    pub alerts: Vec<alerts::Model>,
}

/// Record successful deliveries.
/// Only the holder of the claim may record the outcome: a worker whose lease ran out and
/// whose alerts another worker took over changes nothing.
#[tracing::instrument(level = "debug", skip(db, ids), fields(alerts = ids.len()))]
pub async fn mark_sent(
    db: &DatabaseConnection,
    token: &str,
    ids: &[i64],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    alerts::Entity::update_many()
        .col_expr(alerts::Column::State, Expr::val(SENT))
        .col_expr(alerts::Column::SentAt, Expr::val(to_ms(now)))
        .col_expr(
            alerts::Column::Attempts,
            Expr::col(alerts::Column::Attempts).add(1),
        )
        .col_expr(alerts::Column::ClaimedUntil, Expr::val(Option::<i64>::None))
        .col_expr(alerts::Column::LastError, Expr::val(Option::<String>::None))
        .filter(alerts::Column::Id.is_in(ids.iter().copied()))
        .filter(alerts::Column::ClaimToken.eq(token))
        .exec(db)
        .await?;
    Ok(())
}

/// Record a failed attempt: retry at `retry_at`, or give up when it is `None`.
#[tracing::instrument(level = "debug", skip(db, error))]
pub async fn mark_failed(
    db: &DatabaseConnection,
    token: &str,
    id: i64,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> StoreResult<()> {
    let mut update = alerts::Entity::update_many()
        .col_expr(
            alerts::Column::Attempts,
            Expr::col(alerts::Column::Attempts).add(1),
        )
        .col_expr(alerts::Column::ClaimedUntil, Expr::val(Option::<i64>::None))
        .col_expr(alerts::Column::LastError, Expr::val(error.to_owned()));
    update = match retry_at {
        Some(at) => update
            .col_expr(alerts::Column::NextAttemptAt, Expr::val(to_ms(at)))
            .col_expr(alerts::Column::State, Expr::val(PENDING)),
        None => update.col_expr(alerts::Column::State, Expr::val(FAILED)),
    };
    update
        .filter(alerts::Column::Id.eq(id))
        .filter(alerts::Column::ClaimToken.eq(token))
        .exec(db)
        .await?;
    Ok(())
}

/// Each alert's flip with the time zone of its service (`None` when the service is gone
/// or its zone is unknown), keyed by flip id: what a batch's messages need, in two queries.
#[tracing::instrument(level = "debug", skip_all, fields(alerts = batch.len()))]
pub async fn delivery_context(
    db: &DatabaseConnection,
    batch: &[alerts::Model],
) -> StoreResult<HashMap<i64, (flips::Model, Option<Tz>)>> {
    let flip_ids: Vec<i64> = batch.iter().filter_map(|a| a.flip_id).collect();
    if flip_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let service_ids: Vec<String> = batch.iter().filter_map(|a| a.service_id.clone()).collect();
    let zones: HashMap<String, Tz> = services::Entity::find()
        .filter(services::Column::Id.is_in(service_ids))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|s| Some((s.id, s.timezone.parse().ok()?)))
        .collect();
    Ok(flips::Entity::find()
        .filter(flips::Column::Id.is_in(flip_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|f| {
            let tz = zones.get(&f.service_id).copied();
            (f.id, (f, tz))
        })
        .collect())
}

/// For each recovery among `flips` (a flip to up), the id of the service's flip before it,
/// the one it ends: its mail answers that flip's mail. One probe of
/// `flips (service_id, id)` per recovery.
pub async fn ended_flips<'a>(
    db: &DatabaseConnection,
    flips: impl Iterator<Item = &'a flips::Model>,
) -> StoreResult<HashMap<i64, i64>> {
    let mut out = HashMap::new();
    for f in flips.filter(|f| f.to_status == crate::domain::status::Status::Up) {
        let before = super::previous_id::<flips::Entity>(
            db,
            flips::Column::Id,
            flips::Column::ServiceId,
            &f.service_id,
            f.id,
        )
        .await?;
        if let Some(id) = before {
            out.insert(f.id, id);
        }
    }
    Ok(out)
}

pub async fn flip(db: &DatabaseConnection, id: i64) -> StoreResult<Option<flips::Model>> {
    Ok(flips::Entity::find_by_id(id).one(db).await?)
}

/// Whose alerts a list shows.
#[derive(Debug, Clone, Copy, Default)]
pub enum AlertsOf<'a> {
    #[default]
    All,
    Service(&'a str),
    Host(&'a str),
    Channel(&'a str),
}

/// Newest first, for everything, one service or one host.
pub async fn list(
    db: &DatabaseConnection,
    of: AlertsOf<'_>,
    limit: u64,
) -> StoreResult<Vec<alerts::Model>> {
    let mut q = alerts::Entity::find();
    match of {
        AlertsOf::All => {}
        AlertsOf::Service(id) => q = q.filter(alerts::Column::ServiceId.eq(id)),
        AlertsOf::Host(id) => q = q.filter(alerts::Column::HostId.eq(id)),
        AlertsOf::Channel(id) => q = q.filter(alerts::Column::ChannelId.eq(id)),
    }
    Ok(q.order_by_desc(alerts::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

pub async fn list_flips(
    db: &DatabaseConnection,
    service_id: &str,
    limit: u64,
) -> StoreResult<Vec<flips::Model>> {
    Ok(flips::Entity::find()
        .filter(flips::Column::ServiceId.eq(service_id))
        .order_by_desc(flips::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// When the next pending alert becomes ready, so the worker can sleep until then.
#[tracing::instrument(level = "debug", skip(db))]
pub async fn next_attempt(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> StoreResult<Option<DateTime<Utc>>> {
    let now_ms = to_ms(now);
    let min_of = |column: alerts::Column, claimed: bool| {
        let live_claim = alerts::Column::ClaimedUntil.gte(now_ms);
        alerts::Entity::find()
            .select_only()
            .column_as(Expr::col(column).min(), "min")
            .filter(alerts::Column::State.is_in(open_states()))
            .filter(if claimed {
                Condition::all().add(live_claim)
            } else {
                Condition::any()
                    .add(alerts::Column::ClaimedUntil.is_null())
                    .add(alerts::Column::ClaimedUntil.lt(now_ms))
            })
            .into_tuple::<Option<i64>>()
            .one(db)
    };
    // Alerts another worker holds come back when their claim runs out, not before: waking
    // for them earlier would spin.
    let free = min_of(alerts::Column::NextAttemptAt, false)
        .await?
        .flatten();
    let held = min_of(alerts::Column::ClaimedUntil, true).await?.flatten();
    Ok([free, held]
        .into_iter()
        .flatten()
        .min()
        .map(crate::clock::from_ms))
}

/// Put claimed alerts aside without an attempt: `Held` until a silence ends (sent then
/// only if what they are about still stands), or `Pending` until `until` (a burst's
/// messages wait for the channel's window). `note` says why, on the Alerts page.
#[tracing::instrument(level = "debug", skip(db, ids, note), fields(alerts = ids.len()))]
pub async fn set_aside(
    db: &DatabaseConnection,
    token: &str,
    ids: &[i64],
    state: AlertState,
    until: DateTime<Utc>,
    note: &str,
) -> StoreResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    alerts::Entity::update_many()
        .col_expr(alerts::Column::State, Expr::val(state))
        .col_expr(alerts::Column::NextAttemptAt, Expr::val(to_ms(until)))
        .col_expr(alerts::Column::ClaimedUntil, Expr::val(Option::<i64>::None))
        .col_expr(alerts::Column::LastError, Expr::val(note.to_owned()))
        .filter(alerts::Column::Id.is_in(ids.iter().copied()))
        .filter(alerts::Column::ClaimToken.eq(token))
        .exec(db)
        .await?;
    Ok(())
}

/// Close claimed alerts without sending them (`Skipped`), saying why.
pub async fn skip(
    db: &DatabaseConnection,
    token: &str,
    ids: &[i64],
    note: &str,
) -> StoreResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    alerts::Entity::update_many()
        .col_expr(alerts::Column::State, Expr::val(SKIPPED))
        .col_expr(alerts::Column::ClaimedUntil, Expr::val(Option::<i64>::None))
        .col_expr(alerts::Column::LastError, Expr::val(note.to_owned()))
        .filter(alerts::Column::Id.is_in(ids.iter().copied()))
        .filter(alerts::Column::ClaimToken.eq(token))
        .exec(db)
        .await?;
    Ok(())
}

/// Queue the next reminder after `after` (a flip's alert or the previous reminder, just
/// sent): the same flip and destination, `seq` one more, due at `at`.
pub async fn queue_reminders(
    db: &DatabaseConnection,
    next: &[(&alerts::Model, DateTime<Utc>)],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    if next.is_empty() {
        return Ok(());
    }
    let rows = next.iter().map(|(after, at)| alerts::ActiveModel {
        flip_id: Set(after.flip_id),
        service_id: Set(after.service_id.clone()),
        host_flip_id: Set(after.host_flip_id),
        host_id: Set(after.host_id.clone()),
        recipient: Set(after.recipient.clone()),
        state: Set(PENDING),
        attempts: Set(0),
        next_attempt_at: Set(to_ms(*at)),
        claimed_until: Set(None),
        claim_token: Set(None),
        last_error: Set(None),
        sent_at: Set(None),
        created_at: Set(to_ms(now)),
        channel_id: Set(after.channel_id.clone()),
        purpose: Set(AlertPurpose::Reminder),
        seq: Set(after.seq + 1),
        ..Default::default()
    });
    alerts::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Which of these (flip id, destination) pairs had an alert sent: a held recovery goes
/// out only when the outage it ends was told.
pub async fn sent_for(
    db: &DatabaseConnection,
    service_flips: &[i64],
    host_flips: &[i64],
) -> StoreResult<Vec<alerts::Model>> {
    if service_flips.is_empty() && host_flips.is_empty() {
        return Ok(Vec::new());
    }
    Ok(alerts::Entity::find()
        .filter(alerts::Column::State.eq(SENT))
        .filter(
            Condition::any()
                .add(alerts::Column::FlipId.is_in(service_flips.iter().copied()))
                .add(alerts::Column::HostFlipId.is_in(host_flips.iter().copied())),
        )
        .all(db)
        .await?)
}
