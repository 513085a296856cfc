//! Who is calling: HTTP Basic (user name and password) or `Bearer <api key>`.
//!
//! A correct password costs one argon2 verification, then is remembered as an HMAC digest
//! under a per-process random key, so scripts that ping many times a second do not pay for
//! a slow hash on every request. The memory is dropped whenever any credential changes: in
//! this process at once, in other processes (the CLI, other instances) within
//! `refresh_every`, by comparing a fingerprint of the credential tables.
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::{Rng, RngCore};
use sea_orm::DatabaseConnection;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::domain::role::{KeyScope, Role};
use crate::store::users;

/// How often an API key's "last used" time is written.
const KEY_TOUCH_EVERY: Duration = Duration::from_secs(60);

/// Hash off the async runtime: argon2 takes tens of milliseconds by design.
pub async fn hash_password(pw: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(pw.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
    })
    .await?
}

/// Check a password against a stored hash, off the async runtime. Callers go through
/// [`Authenticator::verify_password`], which bounds how many run at once.
async fn verify_hash(pw: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(pw.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A random 20-character password, for the first admin when none is configured.
pub fn generate_password() -> String {
    rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(20)
        .map(char::from)
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// `Full` for a password; the key's scope for an API key.
    pub scope: KeyScope,
    /// The API key used, if any.
    pub key_id: Option<i64>,
}

#[derive(Clone)]
pub enum Credentials {
    Basic { user: String, password: String },
    Bearer(String),
}

/// Never the password or the key: credentials end up in spans and error logs.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Basic { user, .. } => f
                .debug_struct("Basic")
                .field("user", user)
                .field("password", &"<redacted>")
                .finish(),
            Credentials::Bearer(key) => f
                .debug_tuple("Bearer")
                .field(&users::key_prefix(key).unwrap_or("<redacted>"))
                .finish(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("authentication required")]
    Missing,
    #[error("invalid credentials")]
    Invalid,
    #[error("credential check failed: {0}")]
    Store(#[from] crate::store::StoreError),
}

impl Credentials {
    /// Parse an `Authorization` header value.
    pub fn from_header(value: &str) -> Option<Self> {
        let (scheme, rest) = value.trim().split_once(' ')?;
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest)
                .ok()?;
            let decoded = String::from_utf8(decoded).ok()?;
            let (user, password) = decoded.split_once(':')?;
            Some(Self::Basic {
                user: user.to_owned(),
                password: password.to_owned(),
            })
        } else if scheme.eq_ignore_ascii_case("bearer") {
            Some(Self::Bearer(rest.to_owned()))
        } else {
            None
        }
    }
}

type Generation = (i64, i64, i64, i64);

struct Cache {
    /// Bumped whenever the entries are dropped. A verification that started under an older
    /// epoch may have read a credential that has since changed, so it is not remembered.
    epoch: u64,
    generation: Option<Generation>,
    checked_at: Option<Instant>,
    entries: HashMap<[u8; 32], AuthUser>,
}

pub struct Authenticator {
    db: DatabaseConnection,
    secret: [u8; 32],
    refresh_every: Duration,
    cache: RwLock<Cache>,
    refreshing: tokio::sync::Mutex<()>,
    /// Argon2 verifications running at once. Cached credentials need none, so this only
    /// slows down wrong or new passwords: a flood of bad ones cannot take every core.
    verifying: tokio::sync::Semaphore,
    /// Verified against when the user does not exist, so a wrong name costs as much as a
    /// wrong password and does not reveal which names exist.
    dummy_hash: String,
    /// When each API key's use was last written.
    touched: std::sync::Mutex<HashMap<i64, Instant>>,
}

const MAX_ENTRIES: usize = 10_000;

impl Authenticator {
    pub async fn new(db: DatabaseConnection, refresh_every: Duration) -> anyhow::Result<Self> {
        let mut secret = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut secret);
        let dummy_hash = hash_password(generate_password()).await?;
        Ok(Self {
            db,
            secret,
            refresh_every,
            cache: RwLock::new(Cache {
                epoch: 0,
                generation: None,
                checked_at: None,
                entries: HashMap::new(),
            }),
            refreshing: tokio::sync::Mutex::new(()),
            verifying: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1)),
            ),
            dummy_hash,
            touched: std::sync::Mutex::new(HashMap::new()),
        })
    }

    fn digest(&self, creds: &Credentials) -> [u8; 32] {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).unwrap_or_else(|_| unreachable!());
        match creds {
            Credentials::Basic { user, password } => {
                mac.update(b"basic\0");
                mac.update(user.as_bytes());
                mac.update(b"\0");
                mac.update(password.as_bytes());
            }
            Credentials::Bearer(key) => {
                mac.update(b"bearer\0");
                mac.update(key.as_bytes());
            }
        }
        mac.finalize().into_bytes().into()
    }

    /// Forget every remembered credential (after a change made in this process).
    pub fn invalidate(&self) {
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        cache.entries.clear();
        cache.epoch += 1;
        cache.generation = None;
        cache.checked_at = None;
    }

    /// Compare the credential fingerprint with the one the cache was built under.
    async fn refresh(&self) -> Result<(), AuthError> {
        let stale = {
            let cache = self.cache.read().unwrap_or_else(|e| e.into_inner());
            cache
                .checked_at
                .is_none_or(|t| t.elapsed() >= self.refresh_every)
        };
        if !stale {
            return Ok(());
        }
        // One request refreshes; the others carry on with what is known.
        let Ok(_guard) = self.refreshing.try_lock() else {
            return Ok(());
        };
        let generation = users::credentials_generation(&self.db).await?;
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        if cache.generation != Some(generation) {
            cache.entries.clear();
            cache.epoch += 1;
            cache.generation = Some(generation);
        }
        cache.checked_at = Some(Instant::now());
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn authenticate(&self, creds: &Credentials) -> Result<AuthUser, AuthError> {
        let user = self.remembered_or_checked(creds).await?;
        if let Some(key_id) = user.key_id {
            self.touch_key(key_id).await;
        }
        Ok(user)
    }

    async fn remembered_or_checked(&self, creds: &Credentials) -> Result<AuthUser, AuthError> {
        self.refresh().await?;
        let digest = self.digest(creds);
        let epoch = {
            let cache = self.cache.read().unwrap_or_else(|e| e.into_inner());
            if let Some(user) = cache.entries.get(&digest) {
                return Ok(user.clone());
            }
            cache.epoch
        };
        let user = match creds {
            Credentials::Basic { user, password } => self.check_password(user, password).await?,
            Credentials::Bearer(key) => self.check_key(key).await?,
        };
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        if cache.epoch != epoch {
            return Ok(user);
        }
        if cache.entries.len() >= MAX_ENTRIES {
            cache.entries.clear();
        }
        cache.entries.insert(digest, user.clone());
        Ok(user)
    }

    async fn check_password(&self, name: &str, password: &str) -> Result<AuthUser, AuthError> {
        let user = self
            .verify_password(name, password)
            .await?
            .ok_or(AuthError::Invalid)?;
        Ok(AuthUser {
            id: user.id,
            name: user.name,
            role: user.role,
            scope: KeyScope::Full,
            key_id: None,
        })
    }

    /// The one way a password is checked (HTTP Basic, the sign-in form, the account
    /// page): at most half the cores hash at once, and an unknown name costs the same
    /// hash as a wrong password, so timing does not reveal which names exist.
    #[tracing::instrument(level = "debug", skip(self, password))]
    pub async fn verify_password(
        &self,
        name: &str,
        password: &str,
    ) -> Result<Option<crate::entity::users::Model>, AuthError> {
        let found = users::find_by_name(&self.db, name).await?;
        let hash = found
            .as_ref()
            .map_or_else(|| self.dummy_hash.clone(), |u| u.password_hash.clone());
        let ok = {
            let _slot = self
                .verifying
                .acquire()
                .await
                .map_err(|_| AuthError::Invalid)?;
            verify_hash(password.to_owned(), hash).await
        };
        Ok(found.filter(|_| ok))
    }

    async fn check_key(&self, key: &str) -> Result<AuthUser, AuthError> {
        let prefix = users::key_prefix(key).ok_or(AuthError::Invalid)?;
        let row = users::find_api_key(&self.db, prefix)
            .await?
            .ok_or(AuthError::Invalid)?;
        let given = users::key_digest(key);
        if !bool::from(given.as_bytes().ct_eq(row.key_hash.as_bytes())) {
            return Err(AuthError::Invalid);
        }
        let user = users::find_by_id(&self.db, row.user_id)
            .await?
            .ok_or(AuthError::Invalid)?;
        Ok(AuthUser {
            id: user.id,
            name: user.name,
            role: user.role,
            scope: row.scope,
            key_id: Some(row.id),
        })
    }

    /// Record that a key was used, at most once a minute per key: cached keys reach here
    /// too, so "last used" stays true for keys that ping every second, at the cost of one
    /// small write a minute (made in the request, so what a reply says is on record).
    async fn touch_key(&self, key_id: i64) {
        let now = Instant::now();
        {
            let mut touched = self.touched.lock().unwrap_or_else(|e| e.into_inner());
            if touched
                .get(&key_id)
                .is_some_and(|t| now.duration_since(*t) < KEY_TOUCH_EVERY)
            {
                return;
            }
            if touched.len() >= MAX_ENTRIES {
                touched.clear();
            }
            touched.insert(key_id, now);
        }
        if let Err(e) = users::touch_api_key(&self.db, key_id, chrono::Utc::now()).await {
            tracing::warn!(error = %e, key_id, "cannot record an API key's last use");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_print_their_secret() {
        let basic = Credentials::Basic {
            user: "ops".into(),
            password: "hunter2-secret".into(),
        };
        let printed = format!("{basic:?}");
        assert!(
            printed.contains("ops") && !printed.contains("hunter2"),
            "{printed}"
        );
        let key = Credentials::Bearer("hb_abcdefgh_0123456789abcdefghijKLMN".into());
        let printed = format!("{key:?}");
        assert!(
            printed.contains("abcdefgh") && !printed.contains("0123456789"),
            "{printed}"
        );
    }
}
