//! Durable commits without making the writer wait for the disk.
//!
//! With SQLite's `synchronous=FULL`, every commit ends with a sync of the write-ahead log,
//! and the writer can do nothing else meanwhile: the next batch of pings waits for the disk
//! as well as for its own turn. Instead, the writers' connection commits with
//! `synchronous=NORMAL` (the log is written, not synced) and [`LogSync`] syncs the log file
//! on a thread of its own. A writer answers a batch's requests only once a sync that began
//! after its commit has finished, so an answered ping is on disk exactly as with `FULL`,
//! while the writer is already writing the next batch. Batches that commit together share
//! a sync.
//!
//! Why this is as safe as `FULL`: a commit has written all of its log frames (and, when the
//! log started over, its header) to the file before it returns; `fdatasync` of the file
//! afterwards puts all of them on disk. A checkpoint (the shared pool's connections keep
//! `FULL`) syncs the log before it copies frames into the database, and the log only
//! starts over after a checkpoint has copied and synced everything in it.
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc, oneshot};

use super::{StoreError, StoreResult};

/// Syncs that may run at once.
const IN_FLIGHT: usize = 4;

/// The outcome of a sync, shared by every commit it covers.
pub type Synced = Result<(), Arc<io::Error>>;

/// A writer's result once its commit's sync is known: a stored result whose commit the
/// disk did not confirm becomes unavailable, so that its client sends it again.
pub fn confirmed<T>(synced: &Synced, result: StoreResult<T>) -> StoreResult<T> {
    match (synced, result) {
        (Err(e), Ok(_)) => Err(StoreError::Unavailable(format!(
            "the disk did not confirm the write: {e}"
        ))),
        (_, result) => result,
    }
}

/// Syncs a SQLite database's write-ahead log on request; see the module's documentation.
#[derive(Clone)]
pub struct LogSync {
    tx: mpsc::UnboundedSender<oneshot::Sender<Synced>>,
}

impl LogSync {
    /// Sync `database`'s log (`<database>-wal`) on request, from a task of its own. The
    /// requests that arrive together share a sync; a request that arrives while a sync
    /// runs starts the next one at once, up to [`IN_FLIGHT`] at a time, rather than
    /// waiting for the running one to end first.
    pub fn spawn(database: PathBuf) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<oneshot::Sender<Synced>>();
        tokio::spawn(async move {
            let slots = Arc::new(Semaphore::new(IN_FLIGHT));
            let mut waiting = Vec::new();
            loop {
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    return;
                };
                if rx.recv_many(&mut waiting, 4096).await == 0 {
                    return;
                }
                let group = std::mem::take(&mut waiting);
                let path = database.clone();
                tokio::spawn(async move {
                    let result = tokio::task::spawn_blocking(move || sync_log(&path))
                        .await
                        .unwrap_or_else(|e| Err(io::Error::other(e)))
                        .map_err(Arc::new);
                    drop(slot);
                    if let Err(e) = &result {
                        tracing::error!(error = %e, "syncing the SQLite write-ahead log failed");
                    }
                    for w in group {
                        let _ = w.send(result.clone());
                    }
                });
            }
        });
        Self { tx }
    }

    /// Resolves once everything committed before this call is on disk. Call it after the
    /// commit; the sync it waits for starts after the call.
    pub async fn committed(&self) -> Synced {
        let (done, answer) = oneshot::channel();
        self.tx
            .send(done)
            .map_err(|_| Arc::new(io::Error::other("the log sync task has stopped")))?;
        answer
            .await
            .unwrap_or_else(|_| Err(Arc::new(io::Error::other("the log sync task stopped"))))
    }
}

/// `fdatasync` the log of `database`. Without a log file (no connection has it open, so
/// everything was checkpointed into the database), the database file itself.
fn sync_log(database: &std::path::Path) -> io::Result<()> {
    let mut wal = database.as_os_str().to_owned();
    wal.push("-wal");
    let open = |p: &std::path::Path| std::fs::OpenOptions::new().write(true).open(p);
    match open(std::path::Path::new(&wal)) {
        Ok(file) => file.sync_data(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => open(database)?.sync_data(),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::LogSync;

    #[tokio::test]
    async fn syncs_the_log_or_the_database_and_fails_without_either() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        std::fs::write(&db, b"database").unwrap();
        let sync = LogSync::spawn(db.clone());
        // No log yet: the database file is synced.
        sync.committed().await.expect("database synced");
        std::fs::write(dir.path().join("x.db-wal"), b"log").unwrap();
        let both = futures::future::join_all((0..50).map(|_| sync.committed())).await;
        assert!(both.iter().all(Result::is_ok), "{both:?}");
        // Neither file: the writers must hear that nothing was made durable.
        let gone = LogSync::spawn(dir.path().join("missing.db"));
        let err = gone.committed().await.expect_err("no file to sync");
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    }
}
