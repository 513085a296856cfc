//! Everything the outbox needs to decide about and write a batch of alerts, read in a few
//! queries per batch: the flips (services' with their zones, hosts'), the flips recoveries
//! end (for threading and outage lengths), the services and hosts themselves (snoozes,
//! tags, reminders), which flip is each one's latest (does a held alert still stand?) and
//! the channels the alerts go to.
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::StoreResult;
use crate::clock::from_ms;
use crate::entity::{alerts, flips, host_flips, hosts, services};
use crate::notify::message::Target;

#[derive(Default)]
pub struct Context {
    /// Service flips by id, with their service's zone (`None` when gone or unknown).
    pub service_flips: HashMap<i64, (flips::Model, Option<Tz>)>,
    pub host_flips: HashMap<i64, host_flips::Model>,
    /// Recovery flip id → the flip it ends, per kind.
    pub service_ends: HashMap<i64, i64>,
    pub host_ends: HashMap<i64, i64>,
    /// When the flips that recoveries end happened (service flips; hosts carry `since`).
    pub ended_at: HashMap<i64, DateTime<Utc>>,
    pub services: HashMap<String, services::Model>,
    pub hosts: HashMap<String, hosts::Model>,
    /// Each subject's newest flip id.
    pub latest_service_flip: HashMap<String, i64>,
    pub latest_host_flip: HashMap<String, i64>,
    pub targets: HashMap<String, Target>,
}

impl Context {
    /// Whether the flip an alert is about is still its subject's latest: the state it
    /// announces still stands.
    pub fn still_stands(&self, alert: &alerts::Model) -> bool {
        match (alert.flip_id, alert.host_flip_id) {
            (Some(flip), _) => alert
                .service_id
                .as_ref()
                .and_then(|s| self.latest_service_flip.get(s))
                .is_none_or(|latest| *latest == flip),
            (None, Some(flip)) => alert
                .host_id
                .as_ref()
                .and_then(|h| self.latest_host_flip.get(h))
                .is_none_or(|latest| *latest == flip),
            _ => false,
        }
    }
}

/// Read the context of `batch`.
#[tracing::instrument(level = "debug", skip_all, fields(alerts = batch.len()))]
pub async fn load(db: &DatabaseConnection, batch: &[alerts::Model]) -> StoreResult<Context> {
    let mut cx = Context {
        service_flips: super::alerts::delivery_context(db, batch).await?,
        host_flips: super::host_events::flips_for_alerts(db, batch).await?,
        ..Default::default()
    };
    cx.service_ends =
        super::alerts::ended_flips(db, cx.service_flips.values().map(|(f, _)| f)).await?;
    cx.host_ends = super::host_events::ended_flips(db, cx.host_flips.values()).await?;
    let ended: Vec<i64> = cx.service_ends.values().copied().collect();
    if !ended.is_empty() {
        cx.ended_at = flips::Entity::find()
            .filter(flips::Column::Id.is_in(ended))
            .all(db)
            .await?
            .into_iter()
            .map(|f| (f.id, from_ms(f.at)))
            .collect();
    }
    let service_ids: Vec<String> = unique(batch.iter().filter_map(|a| a.service_id.clone()));
    let host_ids: Vec<String> = unique(batch.iter().filter_map(|a| a.host_id.clone()));
    if !service_ids.is_empty() {
        cx.services = services::Entity::find()
            .filter(services::Column::Id.is_in(service_ids.clone()))
            .all(db)
            .await?
            .into_iter()
            .map(|s| (s.id.clone(), s))
            .collect();
        cx.latest_service_flip = super::latest_ids::<flips::Entity>(
            db,
            flips::Column::Id,
            flips::Column::ServiceId,
            service_ids,
        )
        .await?;
    }
    if !host_ids.is_empty() {
        cx.hosts = hosts::Entity::find()
            .filter(hosts::Column::Id.is_in(host_ids.clone()))
            .all(db)
            .await?
            .into_iter()
            .map(|h| (h.id.clone(), h))
            .collect();
        cx.latest_host_flip = super::latest_ids::<host_flips::Entity>(
            db,
            host_flips::Column::Id,
            host_flips::Column::HostId,
            host_ids,
        )
        .await?;
    }
    let channel_ids = unique(batch.iter().filter_map(|a| a.channel_id.clone()));
    cx.targets = super::channels::targets(db, &channel_ids).await?;
    Ok(cx)
}

fn unique(ids: impl Iterator<Item = String>) -> Vec<String> {
    ids.collect::<HashSet<_>>().into_iter().collect()
}
