//! Web sessions: the table holds the SHA-256 digest of each cookie token, the user, a
//! per-session CSRF token and a sliding expiry.
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
};
use sha2::{Digest, Sha256};

use super::StoreResult;
use crate::clock::to_ms;
use crate::entity::{sessions, users};

/// A session lives this long after its last use.
pub const LIFETIME: Duration = Duration::days(14);
/// Last-use times are written at most this often, so live refreshes do not write.
const TOUCH_EVERY: Duration = Duration::seconds(60);

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A cookie token: 32 random bytes, URL-safe base64.
pub fn random_token() -> String {
    use base64::Engine;
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn random_hex() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// Start a session for `user_id`; returns the cookie token. Expired sessions are swept here.
#[tracing::instrument(skip(db))]
pub async fn create(
    db: &DatabaseConnection,
    user_id: i64,
    now: DateTime<Utc>,
) -> StoreResult<String> {
    sessions::Entity::delete_many()
        .filter(sessions::Column::ExpiresAt.lte(to_ms(now)))
        .exec(db)
        .await?;
    let token = random_token();
    sessions::ActiveModel {
        token_hash: Set(digest(&token)),
        user_id: Set(user_id),
        csrf_token: Set(random_hex()),
        created_at: Set(to_ms(now)),
        expires_at: Set(to_ms(now + LIFETIME)),
        last_seen: Set(to_ms(now)),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(token)
}

pub async fn delete(db: &DatabaseConnection, id: i64) -> StoreResult<()> {
    sessions::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// End every session of a user but `keep` (after a password change, or all of them when
/// the user is removed).
#[tracing::instrument(skip(db))]
pub async fn delete_others(
    db: &DatabaseConnection,
    user_id: i64,
    keep: Option<i64>,
) -> StoreResult<u64> {
    let mut q = sessions::Entity::delete_many().filter(sessions::Column::UserId.eq(user_id));
    if let Some(keep) = keep {
        q = q.filter(sessions::Column::Id.ne(keep));
    }
    Ok(q.exec(db).await?.rows_affected)
}

/// The live session for a token and its user; slides the expiry when due.
pub async fn lookup(
    db: &DatabaseConnection,
    token: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<(sessions::Model, users::Model, bool)>> {
    let now_ms = to_ms(now);
    let Some(session) = sessions::Entity::find()
        .filter(sessions::Column::TokenHash.eq(digest(token)))
        .filter(sessions::Column::ExpiresAt.gt(now_ms))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let Some(user) = users::Entity::find_by_id(session.user_id).one(db).await? else {
        return Ok(None);
    };
    let renew = now_ms - session.last_seen >= TOUCH_EVERY.num_milliseconds();
    if renew {
        sessions::Entity::update_many()
            .col_expr(sessions::Column::LastSeen, Expr::val(now_ms))
            .col_expr(
                sessions::Column::ExpiresAt,
                Expr::val(to_ms(now + LIFETIME)),
            )
            .filter(sessions::Column::Id.eq(session.id))
            .exec(db)
            .await?;
    }
    Ok(Some((session, user, renew)))
}
