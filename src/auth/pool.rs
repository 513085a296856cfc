//! Every argon2 computation of the server runs here: a few worker threads, each owning one
//! block buffer that it reuses for every hash.
//!
//! Why not `spawn_blocking` with argon2's own helpers: each of those allocates the whole
//! memory cost (19 MiB by default) per call. Under a burst of wrong passwords that means
//! 19 MiB times the number of concurrent checks, and the C allocator keeps freed arenas
//! after the burst (1.2 GB stayed resident after 150 parallel sign-ins). Here memory is
//! `workers × m_cost` and never grows with traffic; the rest wait in a queue.
//!
//! The queue has two lanes: a check from an address that has been failing waits in the
//! low lane, so a correct password from elsewhere is not stuck behind someone's guesses.
use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use anyhow::Context;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;

/// Which queue a computation waits in; the workers empty `High` first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    High,
    Low,
}

/// More waiting than this and new work is refused: the throttle bounds each address, so
/// only a very wide attack gets here, and it should get an answer, not a growing queue.
const MAX_QUEUED: usize = 4096;
/// The largest memory cost a stored hash may ask for (256 MiB), so one odd row cannot
/// make a worker's buffer grow without bound.
const MAX_BLOCKS: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("too many password checks are waiting")]
    Busy,
    #[error("the password check was lost")]
    Lost,
}

type Task = Box<dyn FnOnce(&mut Memory) + Send>;

#[derive(Default)]
struct Lanes {
    high: VecDeque<Task>,
    low: VecDeque<Task>,
    closed: bool,
}

impl Lanes {
    fn len(&self) -> usize {
        self.high.len() + self.low.len()
    }

    fn pop(&mut self) -> Option<Task> {
        self.high.pop_front().or_else(|| self.low.pop_front())
    }
}

#[derive(Default)]
struct Shared {
    lanes: Mutex<Lanes>,
    ready: Condvar,
    completed: AtomicU64,
}

/// A worker's argon2 memory, allocated on first use and kept.
#[derive(Default)]
pub struct Memory(Vec<Block>);

impl Memory {
    fn blocks(&mut self, count: usize) -> anyhow::Result<&mut [Block]> {
        anyhow::ensure!(
            count <= MAX_BLOCKS,
            "a password hash asks for {count} KiB of memory; at most {MAX_BLOCKS} KiB is allowed"
        );
        if self.0.len() < count {
            self.0.resize(count, Block::default());
        }
        Ok(&mut self.0[..count])
    }
}

pub struct Pool {
    shared: Arc<Shared>,
}

impl Pool {
    /// Half the cores, at most four: each worker keeps its buffer (19 MiB by default) for
    /// the life of the process, and a LAN server needs far fewer than 100 checks a second.
    pub fn workers_for_this_machine() -> usize {
        std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).clamp(1, 4))
    }

    pub fn new(workers: usize) -> anyhow::Result<Self> {
        let shared = Arc::new(Shared::default());
        for i in 0..workers.max(1) {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || work(&shared))
                .context("cannot start a password-hashing thread")?;
        }
        Ok(Self { shared })
    }

    /// How many computations have finished since start (for tests and figures).
    pub fn completed(&self) -> u64 {
        self.shared.completed.load(Ordering::Relaxed)
    }

    async fn run<T: Send + 'static>(
        &self,
        lane: Lane,
        f: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let shared = self.shared.clone();
        let task: Task = Box::new(move |memory| {
            // Its caller went away (the client hung up): the hash would be for no one.
            if tx.is_closed() {
                return;
            }
            let result = f(memory);
            shared.completed.fetch_add(1, Ordering::Relaxed);
            let _ = tx.send(result);
        });
        {
            let mut lanes = self.shared.lanes.lock().unwrap_or_else(|e| e.into_inner());
            if lanes.len() >= MAX_QUEUED {
                return Err(PoolError::Busy);
            }
            match lane {
                Lane::High => lanes.high.push_back(task),
                Lane::Low => lanes.low.push_back(task),
            }
        }
        self.shared.ready.notify_one();
        rx.await.map_err(|_| PoolError::Lost)
    }

    /// Does `password` match the PHC string `hash`? A malformed hash is an error.
    pub async fn verify(
        &self,
        lane: Lane,
        password: String,
        hash: String,
    ) -> Result<anyhow::Result<bool>, PoolError> {
        self.run(lane, move |memory| {
            verify(memory, password.as_bytes(), &hash)
        })
        .await
    }

    /// A new PHC string for `password` with argon2's default parameters.
    pub async fn hash(&self, password: String) -> Result<anyhow::Result<String>, PoolError> {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        self.run(Lane::High, move |memory| {
            hash(memory, password.as_bytes(), &salt)
        })
        .await
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared
            .lanes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .closed = true;
        self.shared.ready.notify_all();
    }
}

fn work(shared: &Shared) {
    let mut memory = Memory::default();
    loop {
        let task = {
            let mut lanes = shared.lanes.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if lanes.closed {
                    return;
                }
                if let Some(task) = lanes.pop() {
                    break task;
                }
                lanes = shared.ready.wait(lanes).unwrap_or_else(|e| e.into_inner());
            }
        };
        // A panic drops the task's reply (its caller sees `Lost`), not the worker.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| task(&mut memory)));
    }
}

fn hasher(params: Params, algorithm: Algorithm, version: Version) -> Argon2<'static> {
    Argon2::new(algorithm, version, params)
}

fn verify(memory: &mut Memory, password: &[u8], phc: &str) -> anyhow::Result<bool> {
    let parsed = PasswordHash::new(phc).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
    let algorithm = Algorithm::try_from(parsed.algorithm)
        .map_err(|e| anyhow::anyhow!("stored hash algorithm: {e}"))?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|e| anyhow::anyhow!("stored hash version: {e}"))?
        .unwrap_or_default();
    let params = Params::try_from(&parsed).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        anyhow::bail!("stored hash has no salt or no output");
    };
    let mut salt_buf = [0u8; 64];
    let salt = salt
        .decode_b64(&mut salt_buf)
        .map_err(|e| anyhow::anyhow!("stored hash salt: {e}"))?;
    let mut out = [0u8; Output::MAX_LENGTH];
    let out = &mut out[..expected.len()];
    let blocks = memory.blocks(params.block_count())?;
    hasher(params, algorithm, version)
        .hash_password_into_with_memory(password, salt, out, blocks)
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    Ok(out.ct_eq(expected.as_bytes()).into())
}

fn hash(memory: &mut Memory, password: &[u8], salt: &SaltString) -> anyhow::Result<String> {
    let params = Params::default();
    let salt = salt.as_salt();
    let mut salt_buf = [0u8; 64];
    let raw_salt = salt
        .decode_b64(&mut salt_buf)
        .map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let blocks = memory.blocks(params.block_count())?;
    hasher(params.clone(), Algorithm::Argon2id, Version::V0x13)
        .hash_password_into_with_memory(password, raw_salt, &mut out, blocks)
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| anyhow::anyhow!("params: {e}"))?,
        salt: Some(salt),
        hash: Some(Output::new(&out).map_err(|e| anyhow::anyhow!("output: {e}"))?),
    };
    Ok(phc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    #[tokio::test]
    async fn agrees_with_argon2_both_ways_and_reuses_its_buffer() {
        let pool = Pool::new(1).unwrap();
        let theirs = Argon2::default()
            .hash_password(
                b"correct horse",
                &SaltString::generate(&mut argon2::password_hash::rand_core::OsRng),
            )
            .unwrap()
            .to_string();
        let ours = pool.hash("correct horse".into()).await.unwrap().unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        // The buffer is dirty from the hashes before: the results must not depend on it.
        for (hash, pw, expected) in [
            (&theirs, "correct horse", true),
            (&theirs, "wrong horse", false),
            (&ours, "correct horse", true),
            (&ours, "correct horsf", false),
        ] {
            let got = pool
                .verify(Lane::Low, pw.into(), hash.clone())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(got, expected, "{pw} against {hash}");
        }
        assert_eq!(pool.completed(), 5);
        let bad = pool
            .verify(Lane::High, "x".into(), "$plain$text".into())
            .await;
        assert!(bad.unwrap().is_err());
    }

    #[test]
    fn the_high_lane_is_served_first() {
        let mut lanes = Lanes::default();
        let (tx, rx) = std::sync::mpsc::channel();
        for (lane, name) in [
            (Lane::Low, "low 1"),
            (Lane::Low, "low 2"),
            (Lane::High, "high"),
        ] {
            let tx = tx.clone();
            let task: Task = Box::new(move |_| tx.send(name).unwrap());
            match lane {
                Lane::High => lanes.high.push_back(task),
                Lane::Low => lanes.low.push_back(task),
            }
        }
        let mut memory = Memory::default();
        while let Some(task) = lanes.pop() {
            task(&mut memory);
        }
        let order: Vec<_> = rx.try_iter().collect();
        assert_eq!(order, ["high", "low 1", "low 2"]);
    }
}
