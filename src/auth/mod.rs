//! Who is calling: HTTP Basic (user name and password), `Bearer <api key>`, or the
//! sign-in form, and the one place a password is checked.
//!
//! A correct API credential costs one argon2 verification, then is remembered
//! ([`cache`]), so scripts that ping many times a second do not pay for a slow hash on
//! every request. What is not remembered goes through the guessing [`throttle`] (counted
//! before the hash) and then the bounded argon2 [`pool`]; a remembered credential skips
//! both, so cron jobs keep pinging while someone guesses their user's password.
mod cache;
mod credentials;
pub mod pool;
pub mod throttle;

pub use credentials::Credentials;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
use rand::Rng;
use sea_orm::DatabaseConnection;
use subtle::ConstantTimeEq;

use crate::clock::SharedClock;
use crate::domain::role::{KeyScope, Role};
use crate::store::users;
use cache::{Lookup, Remembered};
use pool::{Lane, Pool, PoolError};
use throttle::{Throttle, Ticket};

/// How often an API key's "last used" time is written.
const KEY_TOUCH_EVERY: Duration = Duration::from_secs(60);
/// API keys whose last write is remembered; past this, the memory starts over.
const MAX_TOUCHED: usize = 10_000;

/// Hash with argon2's own allocation, off the async runtime: for tools and tests. The
/// server hashes through [`Authenticator::hash_password`], whose memory is bounded.
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

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("authentication required")]
    Missing,
    #[error("invalid credentials")]
    Invalid,
    /// Too many failures for this user from this address, or from this address.
    #[error("too many failed attempts; try again in {} s", .retry_after.as_secs())]
    Throttled { retry_after: Duration },
    /// More password checks are waiting than the server queues.
    #[error("too many password checks are waiting; try again shortly")]
    Busy,
    #[error("credential check failed: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("credential check failed: {0:#}")]
    Other(#[from] anyhow::Error),
}

impl From<PoolError> for AuthError {
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::Busy => AuthError::Busy,
            PoolError::Lost => AuthError::Other(e.into()),
        }
    }
}

pub struct Authenticator {
    db: DatabaseConnection,
    clock: SharedClock,
    remembered: Remembered,
    throttle: Throttle,
    /// Every argon2 run: a few threads with a buffer each, so memory stays bounded.
    pool: Pool,
    /// Verified against when the user does not exist, so a wrong name costs as much as a
    /// wrong password and does not reveal which names exist.
    dummy_hash: String,
    /// When each API key's use was last written.
    touched: std::sync::Mutex<HashMap<i64, Instant>>,
}

impl Authenticator {
    pub async fn new(
        db: DatabaseConnection,
        clock: SharedClock,
        refresh_every: Duration,
    ) -> anyhow::Result<Self> {
        let pool = Pool::new(Pool::workers_for_this_machine())?;
        let dummy_hash = pool.hash(generate_password()).await??;
        Ok(Self {
            db,
            clock,
            remembered: Remembered::new(refresh_every),
            throttle: Throttle::default(),
            pool,
            dummy_hash,
            touched: std::sync::Mutex::new(HashMap::new()),
        })
    }

    /// How many argon2 computations have run since start.
    pub fn hashes_run(&self) -> u64 {
        self.pool.completed()
    }

    /// A PHC string for a new password, through the bounded pool.
    pub async fn hash_password(&self, password: String) -> anyhow::Result<String> {
        self.pool.hash(password).await?
    }

    /// Forget every remembered credential (after a change made in this process).
    pub fn invalidate(&self) {
        self.remembered.invalidate();
    }

    /// An API caller, from `from` (see [`crate::peer::client_ip`]). A remembered
    /// credential is answered at once; anything else is throttled, then checked.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn authenticate(
        &self,
        creds: &Credentials,
        from: &str,
    ) -> Result<AuthUser, AuthError> {
        let user = self.remembered_or_checked(creds, from).await?;
        if let Some(key_id) = user.key_id {
            self.touch_key(key_id).await;
        }
        Ok(user)
    }

    async fn remembered_or_checked(
        &self,
        creds: &Credentials,
        from: &str,
    ) -> Result<AuthUser, AuthError> {
        self.remembered.refresh(&self.db).await?;
        loop {
            let flight = match self.remembered.lookup(creds) {
                Lookup::Known(user) => return Ok(user),
                Lookup::Lead(flight) => flight,
                Lookup::Follow(mut rx) => {
                    // A failed flight lands nothing: then try for ourselves.
                    let landed = rx
                        .wait_for(Option::is_some)
                        .await
                        .ok()
                        .and_then(|u| u.clone());
                    match landed {
                        Some(user) => return Ok(user),
                        None => continue,
                    }
                }
            };
            let user = match creds {
                Credentials::Basic { user, password } => self
                    .sign_in(user, password, from)
                    .await?
                    .map(|u| AuthUser {
                        id: u.id,
                        name: u.name,
                        role: u.role,
                        scope: KeyScope::Full,
                        key_id: None,
                    })
                    .ok_or(AuthError::Invalid)?,
                Credentials::Bearer(key) => self.check_key(key, from).await?,
            };
            flight.landed(&user);
            return Ok(user);
        }
    }

    fn admit(&self, user: Option<&str>, from: &str) -> Result<Ticket<'_>, AuthError> {
        self.throttle
            .admit(user, from, self.clock.now())
            .map_err(|refused| {
                let retry_after = refused.retry_after.num_seconds().max(1).unsigned_abs();
                tracing::warn!(
                    user = ?user.unwrap_or("(api key)"),
                    address = %from,
                    retry_after,
                    "credentials refused: too many failures"
                );
                AuthError::Throttled {
                    retry_after: Duration::from_secs(retry_after),
                }
            })
    }

    /// A user name and password from `from` (the sign-in form, HTTP Basic): counted by the
    /// throttle before the hash runs. `None` when they do not match.
    #[tracing::instrument(level = "debug", skip(self, password))]
    pub async fn sign_in(
        &self,
        name: &str,
        password: &str,
        from: &str,
    ) -> Result<Option<crate::entity::users::Model>, AuthError> {
        let ticket = self.admit(Some(name), from)?;
        if let Some(pause) = ticket.pause {
            tokio::time::sleep(pause).await;
        }
        let (found, ok) = match self.check(name, password, ticket.lane).await {
            Ok(checked) => checked,
            Err(e) => {
                ticket.withdraw();
                return Err(e);
            }
        };
        if ok && found.is_some() {
            ticket.succeeded(self.clock.now());
            return Ok(found);
        }
        ticket.failed();
        // Names are the caller's text: quoted and escaped, so one cannot forge a log line.
        tracing::warn!(user = ?name, address = %from, "wrong user name or password");
        Ok(None)
    }

    /// Check a signed-in user's own password (the account page): not throttled, since
    /// the session already proves who it is.
    #[tracing::instrument(level = "debug", skip(self, password))]
    pub async fn verify_password(
        &self,
        name: &str,
        password: &str,
    ) -> Result<Option<crate::entity::users::Model>, AuthError> {
        let (found, ok) = self.check(name, password, Lane::High).await?;
        Ok(found.filter(|_| ok))
    }

    /// An unknown name costs the same hash as a wrong password, so timing does not
    /// reveal which names exist.
    async fn check(
        &self,
        name: &str,
        password: &str,
        lane: Lane,
    ) -> Result<(Option<crate::entity::users::Model>, bool), AuthError> {
        let found = users::find_by_name(&self.db, name).await?;
        let hash = found
            .as_ref()
            .map_or_else(|| self.dummy_hash.clone(), |u| u.password_hash.clone());
        let ok = self
            .pool
            .verify(lane, password.to_owned(), hash)
            .await?
            .unwrap_or_else(|e| {
                tracing::error!(user = %name, error = %format!("{e:#}"), "unusable password hash");
                false
            });
        Ok((found, ok))
    }

    /// An API key costs no argon2 (it is long and random), but a wrong one still counts
    /// against the address.
    async fn check_key(&self, key: &str, from: &str) -> Result<AuthUser, AuthError> {
        let ticket = self.admit(None, from)?;
        match self.find_key_user(key).await {
            Ok(Some(user)) => {
                ticket.withdraw();
                Ok(user)
            }
            Ok(None) => {
                ticket.failed();
                tracing::warn!(
                    key = ?users::key_prefix(key).unwrap_or("(malformed)"),
                    address = %from,
                    "wrong API key"
                );
                Err(AuthError::Invalid)
            }
            Err(e) => {
                ticket.withdraw();
                Err(e)
            }
        }
    }

    async fn find_key_user(&self, key: &str) -> Result<Option<AuthUser>, AuthError> {
        let Some(prefix) = users::key_prefix(key) else {
            return Ok(None);
        };
        let Some(row) = users::find_api_key(&self.db, prefix).await? else {
            return Ok(None);
        };
        let given = users::key_digest(key);
        if !bool::from(given.as_bytes().ct_eq(row.key_hash.as_bytes())) {
            return Ok(None);
        }
        Ok(users::find_by_id(&self.db, row.user_id)
            .await?
            .map(|user| AuthUser {
                id: user.id,
                name: user.name,
                role: user.role,
                scope: row.scope,
                key_id: Some(row.id),
            }))
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
            if touched.len() >= MAX_TOUCHED {
                touched.clear();
            }
            touched.insert(key_id, now);
        }
        if let Err(e) = users::touch_api_key(&self.db, key_id, chrono::Utc::now()).await {
            tracing::warn!(error = %e, key_id, "cannot record an API key's last use");
        }
    }
}
