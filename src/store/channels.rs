//! Notification channels: create, read, update, delete and list; the defaults new services
//! and hosts get; the targets the outbox sends to. Settings are stored as one JSON
//! document, secrets included; every screen and answer masks them (`domain::channel`).
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};

use super::services::begin_write;
use super::{StoreError, StoreResult};
use crate::clock::to_ms;
use crate::domain::channel::{
    ChannelKind, ChannelSettings, MessageLang, channels_from_column, channels_to_column,
};
use crate::domain::{FieldError, Problem, ServiceId};
use crate::entity::channels::{Column, Entity, Model};
use crate::entity::{hosts, services};
use crate::notify::message::Target;

/// A validated channel, ready to store.
#[derive(Debug, Clone)]
pub struct NewChannel {
    pub name: String,
    pub kind: ChannelKind,
    pub lang: MessageLang,
    pub settings: ChannelSettings,
    pub default_for_new: bool,
}

/// Reminders while something stays down: every `every_secs` (`None`: never), at most
/// `max` times (0 when off). Services and hosts both have them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reminders {
    pub every_secs: Option<i64>,
    pub max: i32,
}

/// The channels of a new service or host: `None` takes the channels marked "default for
/// new" (read inside the creating transaction).
pub type ChannelChoice = Option<Vec<String>>;

fn name_key(name: &str) -> String {
    name.to_lowercase()
}

fn name_taken(name: String) -> FieldError {
    FieldError::new("name", Problem::ChannelNameTaken { name })
}

fn settings_column(s: &ChannelSettings) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "{}".into())
}

/// A row's settings, secrets included. Rows are validated on the way in; a row edited by
/// hand into nonsense has no settings (and fails to send, saying why).
pub fn settings_of(m: &Model) -> ChannelSettings {
    serde_json::from_str(&m.settings).unwrap_or_default()
}

#[tracing::instrument(skip(db, new), fields(name = %new.name, kind = %new.kind))]
pub async fn create(
    db: &DatabaseConnection,
    new: NewChannel,
    now: DateTime<Utc>,
) -> StoreResult<Model> {
    let now_ms = to_ms(now);
    let name = new.name.clone();
    let m = Model {
        id: ServiceId::generate().to_string(),
        name_key: name_key(&new.name),
        name: new.name,
        kind: new.kind,
        lang: new.lang,
        settings: settings_column(&new.settings),
        default_for_new: new.default_for_new,
        created_at: now_ms,
        updated_at: now_ms,
    };
    m.into_active_model()
        .reset_all()
        .insert(db)
        .await
        .map_err(|e| StoreError::unique(e, name_taken(name)))
}

#[tracing::instrument(skip(db))]
pub async fn get<C: ConnectionTrait>(db: &C, id: &str) -> StoreResult<Model> {
    Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .ok_or(StoreError::NotFound("channel"))
}

/// Replace a channel's name, kind, language, settings and default flag (the use case has
/// merged the change into the stored row).
#[tracing::instrument(skip(db, new), fields(name = %new.name, kind = %new.kind))]
pub async fn update(
    db: &DatabaseConnection,
    id: &str,
    new: NewChannel,
    now: DateTime<Utc>,
) -> StoreResult<Model> {
    let mut m = get(db, id).await?;
    let name = new.name.clone();
    m.name_key = name_key(&new.name);
    m.name = new.name;
    m.kind = new.kind;
    m.lang = new.lang;
    m.settings = settings_column(&new.settings);
    m.default_for_new = new.default_for_new;
    m.updated_at = to_ms(now);
    m.into_active_model()
        .reset_all()
        .update(db)
        .await
        .map_err(|e| StoreError::unique(e, name_taken(name)))
}

/// Delete a channel and take its id out of every service and host that lists it. Its
/// past alerts stay (they name the channel by id).
#[tracing::instrument(skip(db))]
pub async fn delete(db: &DatabaseConnection, id: &str) -> StoreResult<Model> {
    let txn = begin_write(db).await?;
    let m = get(&txn, id).await?;
    Entity::delete_by_id(id.to_owned()).exec(&txn).await?;
    // Ids are alphanumeric: a LIKE on the id finds every row listing it (and perhaps a
    // few whose other ids contain it, which the rewrite leaves as they are).
    let pattern = format!("%{id}%");
    let listed: Vec<(String, String)> = services::Entity::find()
        .select_only()
        .column(services::Column::Id)
        .column(services::Column::Channels)
        .filter(services::Column::Channels.like(pattern.clone()))
        .into_tuple()
        .all(&txn)
        .await?;
    for (row, column) in listed {
        let Some(kept) = without(&column, id) else {
            continue;
        };
        services::Entity::update_many()
            .col_expr(services::Column::Channels, Expr::val(kept))
            .filter(services::Column::Id.eq(row))
            .exec(&txn)
            .await?;
    }
    let listed: Vec<(String, String)> = hosts::Entity::find()
        .select_only()
        .column(hosts::Column::Id)
        .column(hosts::Column::Channels)
        .filter(hosts::Column::Channels.like(pattern))
        .into_tuple()
        .all(&txn)
        .await?;
    for (row, column) in listed {
        let Some(kept) = without(&column, id) else {
            continue;
        };
        hosts::Entity::update_many()
            .col_expr(hosts::Column::Channels, Expr::val(kept))
            .filter(hosts::Column::Id.eq(row))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(m)
}

/// The column without `id`, or `None` when it does not list it.
fn without(column: &str, id: &str) -> Option<String> {
    let ids = channels_from_column(column);
    if !ids.iter().any(|c| c == id) {
        return None;
    }
    let kept: Vec<String> = ids.into_iter().filter(|c| c != id).collect();
    Some(channels_to_column(&kept))
}

/// Every channel in name order. Channels are few (a team has a handful), so the list is
/// not paged; the unique `name_key` index serves the order.
#[tracing::instrument(skip(db))]
pub async fn list<C: ConnectionTrait>(db: &C) -> StoreResult<Vec<Model>> {
    Ok(Entity::find().order_by_asc(Column::NameKey).all(db).await?)
}

/// The ids of the channels marked "default for new", in name order.
#[tracing::instrument(level = "debug", skip(db))]
pub async fn defaults_for_new<C: ConnectionTrait>(db: &C) -> StoreResult<Vec<String>> {
    Ok(Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::DefaultForNew.eq(true))
        .order_by_asc(Column::NameKey)
        .into_tuple()
        .all(db)
        .await?)
}

/// The channels a new service or host gets: those chosen, or the defaults.
pub async fn chosen<C: ConnectionTrait>(db: &C, choice: &ChannelChoice) -> StoreResult<String> {
    let ids = match choice {
        Some(ids) => ids.clone(),
        None => defaults_for_new(db).await?,
    };
    Ok(channels_to_column(&ids))
}

/// Which of `ids` exist (to validate a service's or host's list).
#[tracing::instrument(level = "debug", skip(db))]
pub async fn existing<C: ConnectionTrait>(db: &C, ids: &[String]) -> StoreResult<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::Id.is_in(ids.iter().cloned()))
        .into_tuple()
        .all(db)
        .await?)
}

/// The channels with these ids as the sender needs them (settings unmasked), by id. Ids
/// of deleted channels are left out.
#[tracing::instrument(level = "debug", skip(db))]
pub async fn targets<C: ConnectionTrait>(
    db: &C,
    ids: &[String],
) -> StoreResult<HashMap<String, Target>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = Entity::find()
        .filter(Column::Id.is_in(ids.iter().cloned()))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|m| (m.id.clone(), target_of(&m)))
        .collect())
}

/// A row as the sender needs it.
pub fn target_of(m: &Model) -> Target {
    Target {
        id: m.id.clone(),
        name: m.name.clone(),
        kind: m.kind,
        lang: m.lang,
        settings: settings_of(m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deleted_id_leaves_the_others() {
        assert_eq!(without("ab,cd,ef", "cd").as_deref(), Some("ab,ef"));
        assert_eq!(without("cd", "cd").as_deref(), Some(""));
        // `abcd` contains `cd` (the LIKE finds it) but does not list it.
        assert_eq!(without("abcd", "cd"), None);
    }
}
