//! Credentials already verified, remembered as HMAC digests under a per-process random
//! key, so a script pinging many times a second costs no argon2 after its first ping.
//!
//! Dropped whenever any credential changes: in this process at once, in other processes
//! (the CLI, other instances) within `refresh_every`, by comparing a fingerprint of the
//! credential tables. After a drop, every cron job's next ping is unknown again and many
//! arrive together: identical credentials then share one verification (one "flight")
//! instead of queueing one hash each, and instead of filling the throttle with tries that
//! are all the same.
use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use rand::RngCore;
use sea_orm::DatabaseConnection;
use sha2::Sha256;
use tokio::sync::watch;

use super::{AuthError, AuthUser, Credentials};
use crate::store::users;

type Generation = (i64, i64, i64, i64);
pub type Digest = [u8; 32];

const MAX_ENTRIES: usize = 10_000;

struct Entries {
    /// Bumped whenever the entries are dropped. A verification that started under an older
    /// epoch may have read a credential that has since changed, so it is not remembered.
    epoch: u64,
    generation: Option<Generation>,
    checked_at: Option<Instant>,
    map: HashMap<Digest, AuthUser>,
}

pub struct Remembered {
    secret: [u8; 32],
    refresh_every: Duration,
    entries: RwLock<Entries>,
    refreshing: tokio::sync::Mutex<()>,
    /// Verifications under way, by digest: a success is sent to whoever waits on it.
    flights: Mutex<HashMap<Digest, watch::Receiver<Option<AuthUser>>>>,
}

/// What [`Remembered::lookup`] found.
pub enum Lookup<'a> {
    Known(AuthUser),
    /// Verify it, then [`Flight::landed`] with the user; `epoch` says whether to remember.
    Lead(Flight<'a>),
    /// The same credential is being verified: wait for its success.
    Follow(watch::Receiver<Option<AuthUser>>),
}

/// A verification this request leads; others with the same credential wait on it.
/// Dropped without landing (a wrong password, an error, a client that went away), the
/// waiters are released to try for themselves.
pub struct Flight<'a> {
    owner: &'a Remembered,
    digest: Digest,
    epoch: u64,
    tx: watch::Sender<Option<AuthUser>>,
}

impl Flight<'_> {
    /// The credential is right: remember it (unless the credentials changed meanwhile)
    /// and hand it to the waiters.
    pub fn landed(self, user: &AuthUser) {
        let mut entries = self.owner.write();
        if entries.epoch == self.epoch {
            if entries.map.len() >= MAX_ENTRIES {
                entries.map.clear();
            }
            entries.map.insert(self.digest, user.clone());
        }
        drop(entries);
        let _ = self.tx.send(Some(user.clone()));
    }
}

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        self.owner
            .flights
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.digest);
    }
}

impl Remembered {
    pub fn new(refresh_every: Duration) -> Self {
        let mut secret = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut secret);
        Self {
            secret,
            refresh_every,
            entries: RwLock::new(Entries {
                epoch: 0,
                generation: None,
                checked_at: None,
                map: HashMap::new(),
            }),
            refreshing: tokio::sync::Mutex::new(()),
            flights: Mutex::new(HashMap::new()),
        }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Entries> {
        self.entries.write().unwrap_or_else(|e| e.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Entries> {
        self.entries.read().unwrap_or_else(|e| e.into_inner())
    }

    fn digest(&self, creds: &Credentials) -> Digest {
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
        let mut entries = self.write();
        entries.map.clear();
        entries.epoch += 1;
        entries.generation = None;
        entries.checked_at = None;
    }

    /// Compare the credential fingerprint with the one the entries were built under.
    pub async fn refresh(&self, db: &DatabaseConnection) -> Result<(), AuthError> {
        let stale = self
            .read()
            .checked_at
            .is_none_or(|t| t.elapsed() >= self.refresh_every);
        if !stale {
            return Ok(());
        }
        // One request refreshes; the others carry on with what is known.
        let Ok(_guard) = self.refreshing.try_lock() else {
            return Ok(());
        };
        let generation = users::credentials_generation(db).await?;
        let mut entries = self.write();
        if entries.generation != Some(generation) {
            entries.map.clear();
            entries.epoch += 1;
            entries.generation = Some(generation);
        }
        entries.checked_at = Some(Instant::now());
        Ok(())
    }

    pub fn lookup(&self, creds: &Credentials) -> Lookup<'_> {
        let digest = self.digest(creds);
        let epoch = {
            let entries = self.read();
            if let Some(user) = entries.map.get(&digest) {
                return Lookup::Known(user.clone());
            }
            entries.epoch
        };
        let mut flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(rx) = flights.get(&digest) {
            return Lookup::Follow(rx.clone());
        }
        let (tx, rx) = watch::channel(None);
        flights.insert(digest, rx);
        Lookup::Lead(Flight {
            owner: self,
            digest,
            epoch,
            tx,
        })
    }
}
