//! Password guessing, slowed for the sign-in form and HTTP Basic alike.
//!
//! A try is counted when it is let through, before its hash runs, so a burst of parallel
//! guesses cannot all pass a check that only sees finished ones; a success takes its try
//! back. Tries are limited per (user, address) and per address. Failures for one user
//! from every address together only slow that user's unproven tries (low lane, a pause):
//! a lock per user would let anyone lock the owner out by guessing wrong.
//!
//! In memory: a restart forgets it, which costs an attacker a restart of our process.
//! Remembered credentials never come here (see [`super::Authenticator`]).
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use super::pool::Lane;

/// Tries per user name from one address, per window.
pub const PER_USER_AND_ADDRESS: usize = 5;
/// Tries from one address, whatever the names, per window.
pub const PER_ADDRESS: usize = 10;
/// Failures for one user, from any addresses, past which that user's tries are slowed.
pub const USER_SLOWED_AFTER: usize = 5;
pub const WINDOW: Duration = Duration::minutes(15);
/// The pause before a slowed try's hash.
pub const SLOWDOWN: std::time::Duration = std::time::Duration::from_secs(1);
/// How long an address stays proven for a user after a correct password from it.
const TRUSTED_FOR: Duration = Duration::days(30);
/// Past this many tracked keys (or proven pairs), stale ones are swept; never unbounded.
const MAX_KEYS: usize = 50_000;
/// Tries kept per key; more are never needed to decide.
const MAX_KEPT: usize = 64;
/// User names are keys: a long one is cut, so a key stays small.
const MAX_NAME: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Pair(String, String),
    Address(String),
    User(String),
}

#[derive(Debug)]
struct Try {
    id: u64,
    at: DateTime<Utc>,
    /// Let through and not yet answered: counts against the limits, but is not (yet) a
    /// failure for choosing a lane.
    pending: bool,
}

#[derive(Default)]
struct Book {
    next_id: u64,
    tries: HashMap<Key, VecDeque<Try>>,
    /// (user, address) pairs that gave a correct password, and when.
    proven: HashMap<(String, String), DateTime<Utc>>,
}

impl Book {
    fn recent(&mut self, key: &Key, now: DateTime<Utc>) -> Option<&mut VecDeque<Try>> {
        let tries = self.tries.get_mut(key)?;
        while tries.front().is_some_and(|t| now - t.at >= WINDOW) {
            tries.pop_front();
        }
        Some(tries)
    }

    fn count(&mut self, key: &Key, now: DateTime<Utc>) -> usize {
        self.recent(key, now).map_or(0, |t| t.len())
    }

    fn failures(&mut self, key: &Key, now: DateTime<Utc>) -> usize {
        self.recent(key, now)
            .map_or(0, |t| t.iter().filter(|t| !t.pending).count())
    }

    /// `Some(wait)` when `key` has `limit` tries in the window: until the oldest leaves.
    fn full(&mut self, key: &Key, limit: usize, now: DateTime<Utc>) -> Option<Duration> {
        let tries = self.recent(key, now)?;
        let n = tries.len();
        (n >= limit).then(|| tries[n - limit].at + WINDOW - now)
    }

    fn sweep(&mut self, now: DateTime<Utc>) {
        if self.tries.len() >= MAX_KEYS {
            self.tries
                .retain(|_, t| t.back().is_some_and(|t| now - t.at < WINDOW));
            if self.tries.len() >= MAX_KEYS {
                self.tries.clear();
            }
        }
        if self.proven.len() >= MAX_KEYS {
            self.proven.retain(|_, at| now - *at < TRUSTED_FOR);
            if self.proven.len() >= MAX_KEYS {
                self.proven.clear();
            }
        }
    }
}

/// Why a try was not let through, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub retry_after: Duration,
}

#[derive(Default)]
pub struct Throttle {
    book: Mutex<Book>,
}

/// A try let through. Answer it with [`Ticket::succeeded`]; dropped otherwise, it stays
/// counted as a failure (a guess whose client hung up still counts).
pub struct Ticket<'a> {
    throttle: &'a Throttle,
    id: u64,
    keys: Vec<Key>,
    user: Option<String>,
    address: String,
    /// Where its hash waits.
    pub lane: Lane,
    /// How long to pause before the hash (a user under attack from many addresses).
    pub pause: Option<std::time::Duration>,
    answered: bool,
}

fn user_key(name: &str) -> String {
    name.trim()
        .chars()
        .take(MAX_NAME)
        .flat_map(char::to_lowercase)
        .collect()
}

impl Throttle {
    fn lock(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Let a try for `user` (none for an API key) from `address` through, counting it now.
    pub fn admit(
        &self,
        user: Option<&str>,
        address: &str,
        now: DateTime<Utc>,
    ) -> Result<Ticket<'_>, Refused> {
        let user = user.map(user_key);
        let address = address.to_owned();
        let mut book = self.lock();
        book.sweep(now);
        let proven = user.as_ref().is_some_and(|u| {
            book.proven
                .get(&(u.clone(), address.clone()))
                .is_some_and(|at| now - *at < TRUSTED_FOR)
        });
        let addr_key = Key::Address(address.clone());
        let mut keys = vec![addr_key.clone()];
        let mut wait = Duration::zero();
        // An address where this user has proven themselves is not refused for others'
        // failures from it (an office behind one address); its own limit still holds.
        if !proven && let Some(w) = book.full(&addr_key, PER_ADDRESS, now) {
            wait = wait.max(w);
        }
        if let Some(u) = &user {
            let pair = Key::Pair(u.clone(), address.clone());
            if let Some(w) = book.full(&pair, PER_USER_AND_ADDRESS, now) {
                wait = wait.max(w);
            }
            keys.push(pair);
            keys.push(Key::User(u.clone()));
        }
        if wait > Duration::zero() {
            return Err(Refused { retry_after: wait });
        }

        let failing_here = book.failures(&addr_key, now) > 0;
        let user_attacked = user
            .as_ref()
            .is_some_and(|u| book.failures(&Key::User(u.clone()), now) >= USER_SLOWED_AFTER);
        let (lane, pause) = match (proven, failing_here, user_attacked) {
            (true, _, _) => (Lane::High, None),
            (false, _, true) => (Lane::Low, Some(SLOWDOWN)),
            (false, true, false) => (Lane::Low, None),
            (false, false, false) => (Lane::High, None),
        };
        book.next_id += 1;
        let id = book.next_id;
        for key in &keys {
            let tries = book.tries.entry(key.clone()).or_default();
            tries.push_back(Try {
                id,
                at: now,
                pending: true,
            });
            while tries.len() > MAX_KEPT {
                tries.pop_front();
            }
        }
        Ok(Ticket {
            throttle: self,
            id,
            keys,
            user,
            address,
            lane,
            pause,
            answered: false,
        })
    }

    /// How many tries are counted against `address` now (for tests).
    pub fn tries_from(&self, address: &str, now: DateTime<Utc>) -> usize {
        self.lock().count(&Key::Address(address.to_owned()), now)
    }
}

impl Ticket<'_> {
    /// The password was right: the try is taken back, this user's earlier failures from
    /// this address are forgotten, and the address is proven for the user.
    pub fn succeeded(mut self, now: DateTime<Utc>) {
        self.answered = true;
        let mut book = self.throttle.lock();
        for key in &self.keys {
            if let Some(tries) = book.tries.get_mut(key) {
                tries.retain(|t| t.id != self.id);
            }
        }
        if let Some(user) = self.user.take() {
            let address = std::mem::take(&mut self.address);
            book.tries.remove(&Key::Pair(user.clone(), address.clone()));
            book.proven.insert((user, address), now);
        }
    }

    /// The password was wrong: the try stays counted, now as a failure.
    pub fn failed(self) {}

    /// The check could not run (storage down, queue full): not a failure.
    pub fn withdraw(mut self) {
        self.answered = true;
        let mut book = self.throttle.lock();
        for key in &self.keys {
            if let Some(tries) = book.tries.get_mut(key) {
                tries.retain(|t| t.id != self.id);
            }
        }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if self.answered {
            return;
        }
        let mut book = self.throttle.lock();
        for key in &self.keys {
            if let Some(t) = book
                .tries
                .get_mut(key)
                .and_then(|tries| tries.iter_mut().find(|t| t.id == self.id))
            {
                t.pending = false;
            }
        }
    }
}

#[cfg(test)]
#[path = "throttle_test.rs"]
mod tests;
