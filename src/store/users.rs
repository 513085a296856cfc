//! Users and API keys. Passwords are argon2id hashes; API keys are random and stored as
//! SHA-256 digests (they carry enough entropy that a slow hash adds nothing).
use chrono::{DateTime, Utc};
use rand::Rng;
use rand::distributions::Alphanumeric;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use sha2::{Digest, Sha256};

use super::{StoreError, StoreResult};
use crate::clock::to_ms;
use crate::domain::role::{KeyScope, Role};
use crate::domain::runs::generate_ping_key;
use crate::domain::{FieldError, Problem};
use crate::entity::{api_keys, users};

/// Store a user whose name, email and password were validated and hashed by the caller.
#[tracing::instrument(skip(db, password_hash))]
pub async fn create(
    db: &DatabaseConnection,
    name: &str,
    email: Option<&str>,
    password_hash: String,
    role: Role,
    now: DateTime<Utc>,
) -> StoreResult<users::Model> {
    users::ActiveModel {
        name: Set(name.to_owned()),
        role: Set(role),
        email: Set(email.map(str::to_owned)),
        password_hash: Set(password_hash),
        created_at: Set(to_ms(now)),
        password_changed_at: Set(to_ms(now)),
        ping_key: Set(Some(generate_ping_key())),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| {
        StoreError::unique(
            e,
            FieldError::new(
                "name",
                Problem::UserNameTaken {
                    name: name.to_owned(),
                },
            ),
        )
    })
}

#[tracing::instrument(skip(db))]
pub async fn find_by_id(db: &DatabaseConnection, id: i64) -> StoreResult<Option<users::Model>> {
    Ok(users::Entity::find_by_id(id).one(db).await?)
}

#[tracing::instrument(skip(db))]
pub async fn find_by_name(
    db: &DatabaseConnection,
    name: &str,
) -> StoreResult<Option<users::Model>> {
    Ok(users::Entity::find()
        .filter(users::Column::Name.eq(name))
        .one(db)
        .await?)
}

/// The user whose ping key is `key`.
#[tracing::instrument(skip_all)]
pub async fn find_by_ping_key(
    db: &DatabaseConnection,
    key: &str,
) -> StoreResult<Option<users::Model>> {
    Ok(users::Entity::find()
        .filter(users::Column::PingKey.eq(key))
        .one(db)
        .await?)
}

/// Give a user a new ping key (their slug ping URLs change); returns the user.
#[tracing::instrument(skip(db))]
pub async fn regenerate_ping_key(db: &DatabaseConnection, name: &str) -> StoreResult<users::Model> {
    let user = find_by_name(db, name)
        .await?
        .ok_or(StoreError::NotFound("user"))?;
    let mut active = user.into_active_model();
    active.ping_key = Set(Some(generate_ping_key()));
    Ok(active.update(db).await?)
}

/// Replace a user's password hash; returns the user.
#[tracing::instrument(skip(db, password_hash))]
pub async fn set_password_hash(
    db: &DatabaseConnection,
    name: &str,
    password_hash: String,
    now: DateTime<Utc>,
) -> StoreResult<users::Model> {
    let user = find_by_name(db, name)
        .await?
        .ok_or(StoreError::NotFound("user"))?;
    let mut active = user.into_active_model();
    active.password_hash = Set(password_hash);
    // Strictly increasing, so the auth cache notices even two changes within a millisecond.
    active.password_changed_at = Set(Ord::max(
        to_ms(now),
        active.password_changed_at.as_ref() + 1,
    ));
    Ok(active.update(db).await?)
}

/// Give a user another role; returns the user.
#[tracing::instrument(skip(db))]
pub async fn set_role(
    db: &DatabaseConnection,
    name: &str,
    role: Role,
) -> StoreResult<users::Model> {
    let user = find_by_name(db, name)
        .await?
        .ok_or(StoreError::NotFound("user"))?;
    let mut active = user.into_active_model();
    active.role = Set(role);
    // What a user may do changed: move the credentials generation on, so other
    // processes drop the rights they remember for this user (see `credentials_generation`).
    active.password_changed_at = Set(active.password_changed_at.as_ref() + 1);
    Ok(active.update(db).await?)
}

/// How many users are admins (the last one cannot be demoted or removed).
pub async fn count_admins(db: &DatabaseConnection) -> StoreResult<u64> {
    Ok(users::Entity::find()
        .filter(users::Column::Role.eq(Role::Admin))
        .count(db)
        .await?)
}

pub async fn list(db: &DatabaseConnection) -> StoreResult<Vec<users::Model>> {
    Ok(users::Entity::find()
        .order_by_asc(users::Column::Name)
        .all(db)
        .await?)
}

pub async fn count(db: &DatabaseConnection) -> StoreResult<u64> {
    Ok(users::Entity::find().count(db).await?)
}

#[tracing::instrument(skip(db))]
pub async fn remove(db: &DatabaseConnection, name: &str) -> StoreResult<()> {
    let res = users::Entity::delete_many()
        .filter(users::Column::Name.eq(name))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(StoreError::NotFound("user"));
    }
    Ok(())
}

/// An API key as shown once to its owner: `hb_<prefix>_<secret>`.
pub struct NewApiKey {
    pub key: String,
    pub row: api_keys::Model,
}

pub fn key_digest(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The lookup prefix of a key, if it has our shape.
pub fn key_prefix(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("hb_")?;
    let (prefix, secret) = rest.split_once('_')?;
    (prefix.len() == 8 && secret.len() >= 20).then_some(prefix)
}

pub async fn create_api_key(
    db: &DatabaseConnection,
    user_name: &str,
    label: &str,
    scope: KeyScope,
    now: DateTime<Utc>,
) -> StoreResult<NewApiKey> {
    let user = find_by_name(db, user_name)
        .await?
        .ok_or(StoreError::NotFound("user"))?;
    let random = |n| -> String {
        rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(n)
            .map(char::from)
            .collect()
    };
    let prefix = random(8);
    let key = format!("hb_{prefix}_{}", random(32));
    let label = label.trim();
    let label = if label.is_empty() { "api key" } else { label };
    let row = api_keys::ActiveModel {
        user_id: Set(user.id),
        label: Set(label.chars().take(100).collect()),
        scope: Set(scope),
        prefix: Set(prefix),
        key_hash: Set(key_digest(&key)),
        created_at: Set(to_ms(now)),
        last_used_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(NewApiKey { key, row })
}

/// Remember when a key was last used, at most once a minute per key: the write is
/// skipped while the stored time is recent, so a key pinging every second costs one
/// write a minute.
#[tracing::instrument(level = "debug", skip(db))]
pub async fn touch_api_key(
    db: &DatabaseConnection,
    id: i64,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let stale = to_ms(now) - 60_000;
    api_keys::Entity::update_many()
        .col_expr(api_keys::Column::LastUsedAt, Expr::val(to_ms(now)))
        .filter(api_keys::Column::Id.eq(id))
        .filter(
            sea_orm::Condition::any()
                .add(api_keys::Column::LastUsedAt.is_null())
                .add(api_keys::Column::LastUsedAt.lt(stale)),
        )
        .exec(db)
        .await?;
    Ok(())
}

pub async fn find_api_key(
    db: &DatabaseConnection,
    prefix: &str,
) -> StoreResult<Option<api_keys::Model>> {
    Ok(api_keys::Entity::find()
        .filter(api_keys::Column::Prefix.eq(prefix))
        .one(db)
        .await?)
}

pub async fn list_api_keys(
    db: &DatabaseConnection,
    user_id: i64,
) -> StoreResult<Vec<api_keys::Model>> {
    Ok(api_keys::Entity::find()
        .filter(api_keys::Column::UserId.eq(user_id))
        .order_by_desc(api_keys::Column::Id)
        .all(db)
        .await?)
}

pub async fn revoke_api_key(db: &DatabaseConnection, user_id: i64, id: i64) -> StoreResult<()> {
    let res = api_keys::Entity::delete_many()
        .filter(api_keys::Column::Id.eq(id))
        .filter(api_keys::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(StoreError::NotFound("api key"));
    }
    Ok(())
}

/// A fingerprint of every credential: it changes whenever a user, password or key is
/// added, changed or removed, in this process or another one.
pub async fn credentials_generation(db: &DatabaseConnection) -> StoreResult<(i64, i64, i64, i64)> {
    let users: Option<(i64, Option<i64>)> = users::Entity::find()
        .select_only()
        .column_as(Expr::col(users::Column::Id).count(), "n")
        .column_as(Expr::col(users::Column::PasswordChangedAt).max(), "m")
        .into_tuple()
        .one(db)
        .await?;
    let keys: Option<(i64, Option<i64>)> = api_keys::Entity::find()
        .select_only()
        .column_as(Expr::col(api_keys::Column::Id).count(), "n")
        .column_as(Expr::col(api_keys::Column::Id).max(), "m")
        .into_tuple()
        .one(db)
        .await?;
    let (un, um) = users.unwrap_or((0, None));
    let (kn, km) = keys.unwrap_or((0, None));
    Ok((un, um.unwrap_or(0), kn, km.unwrap_or(0)))
}
