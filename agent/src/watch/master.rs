//! One OpenSSH master connection per host (`ssh -N -o ControlMaster=yes`, connection multiplexing), so a
//! cycle is a new session on an open connection instead of a TCP connect and a key
//! exchange. The masters are the agent's own children: it knows when one dies, reopens
//! it, and ends every one of them (and removes their sockets) when a host goes away or
//! the agent stops.

use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;
use tokio::task::JoinHandle;

use crate::config::Host;
use crate::ssh::{self, RunError};

/// Directory names start with this, then `.<pid>.<n>`.
const DIR_PREFIX: &str = "hb-agent-watch";
/// sun_path holds 108 bytes; ssh binds `<path>.<16 random chars>` first, then renames.
const MAX_SOCKET_PATH: usize = 108 - 18;
/// How long a master gets to end by itself after SIGTERM before SIGKILL.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// How much of a master's stderr is kept to explain why it ended.
const STDERR_TAIL: usize = 4096;

/// A private directory (mode 0700) for the control sockets, removed with everything in it
/// when dropped. Under `$XDG_RUNTIME_DIR` when set, else `/tmp`.
#[derive(Debug)]
pub struct ControlDir {
    path: PathBuf,
    next: AtomicU64,
}

impl ControlDir {
    pub fn create() -> io::Result<ControlDir> {
        let runtime = std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .filter(|p| p.is_dir());
        match runtime {
            // A long runtime path would leave no room for the socket names.
            Some(dir) if dir.as_os_str().len() < 60 => ControlDir::create_in(&dir),
            _ => ControlDir::create_in(Path::new("/tmp")),
        }
    }

    pub fn create_in(parent: &Path) -> io::Result<ControlDir> {
        let pid = std::process::id();
        let mut builder = std::fs::DirBuilder::new();
        builder.mode(0o700);
        let mut attempt = 0u32;
        let path = loop {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let path = parent.join(format!("{DIR_PREFIX}.{pid}.{nanos:x}"));
            // create_dir fails on anything already there, a planted symlink included.
            match builder.create(&path) {
                Ok(()) => break path,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 16 => {
                    attempt += 1;
                }
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("cannot create {}: {e}", path.display()),
                    ));
                }
            }
        };
        let dir = ControlDir {
            path,
            next: AtomicU64::new(0),
        };
        dir.remove_stale(parent);
        Ok(dir)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A fresh socket path in the directory (never reused within a run, so a master
    /// that is still dying cannot unlink its successor's socket).
    pub fn socket_path(&self) -> PathBuf {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        self.path.join(n.to_string())
    }

    /// Directories left by an agent that was killed (SIGKILL, power loss): same owner,
    /// and the pid in the name no longer runs.
    fn remove_stale(&self, parent: &Path) {
        let Ok(mine) = std::fs::metadata(&self.path) else {
            return;
        };
        let Ok(entries) = std::fs::read_dir(parent) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .and_then(|n| n.strip_prefix(DIR_PREFIX))
                .and_then(|n| n.strip_prefix('.'))
                .and_then(|n| n.split('.').next())
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let path = entry.path();
            let ours =
                std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir() && m.uid() == mine.uid());
            if ours && path != self.path && !Path::new(&format!("/proc/{pid}")).exists() {
                tracing::info!(dir = %path.display(), "removing a control directory left by a stopped agent");
                let _ = std::fs::remove_dir_all(&path);
            }
        }
    }
}

impl Drop for ControlDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A running master (`ssh -N -o ControlMaster=yes`) for one host.
#[derive(Debug)]
pub struct Master {
    child: Child,
    path: PathBuf,
    stderr: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
}

impl Master {
    /// Starts the master and waits until it listens on `path` (it has connected and
    /// authenticated), within the host's command timeout.
    #[tracing::instrument(skip_all, fields(host = %host.label))]
    pub async fn open(host: &Host, path: PathBuf) -> Result<Master, RunError> {
        if path.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(RunError::Spawn {
                program: "ssh".into(),
                message: format!("control socket path too long: {}", path.display()),
            });
        }
        let _ = std::fs::remove_file(&path);
        let mut cmd = ssh::master_command(host, &path);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // Its own process group: a Ctrl-C on the agent's terminal reaches the agent,
            // which then ends the masters itself, in order.
            .process_group(0);
        let mut child = cmd.spawn().map_err(|e| RunError::Spawn {
            program: "ssh".into(),
            message: e.to_string(),
        })?;
        let stderr = Arc::new(Mutex::new(String::new()));
        let reader = child.stderr.take().map(|pipe| {
            let tail = stderr.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(pipe).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
                    tail.push_str(&line);
                    tail.push('\n');
                    if tail.len() > STDERR_TAIL {
                        let cut = tail.len() - STDERR_TAIL;
                        let cut = (cut..tail.len())
                            .find(|&i| tail.is_char_boundary(i))
                            .unwrap_or(0);
                        tail.drain(..cut);
                    }
                }
            })
        });
        let mut master = Master {
            child,
            path,
            stderr,
            reader,
        };
        let limit = host.ssh.command_timeout;
        let deadline = Instant::now() + limit;
        loop {
            if master.path.exists() {
                tracing::debug!(pid = ?master.pid(), "master connection open");
                return Ok(master);
            }
            if let Ok(Some(status)) = master.child.try_wait() {
                let message = master.stderr_after_exit().await;
                tracing::debug!(%status, stderr = %message.trim(), "master connection failed");
                return Err(ssh::classify_ssh_failure(&message, &host.ssh));
            }
            if Instant::now() >= deadline {
                master.close().await;
                return Err(RunError::Timeout(limit));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The master still runs and its socket is still there.
    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None)) && self.path.exists()
    }

    /// Why the master ended, from its stderr.
    pub async fn stderr_after_exit(&mut self) -> String {
        if let Some(reader) = self.reader.take() {
            // The pipe closes when ssh exits; a grandchild holding it must not stall us.
            let _ = tokio::time::timeout(Duration::from_secs(1), reader).await;
        }
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Ends the master: SIGTERM (ssh closes the connection and removes its socket),
    /// SIGKILL if it is still there after a grace time, then reaps it and removes the
    /// socket should ssh not have.
    pub async fn close(mut self) {
        if let Some(pid) = self.child.id().and_then(|id| i32::try_from(id).ok()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            if tokio::time::timeout(CLOSE_GRACE, self.child.wait())
                .await
                .is_err()
            {
                let _ = self.child.kill().await;
            }
        }
        let _ = self.child.wait().await;
        if let Some(reader) = self.reader.take() {
            reader.abort();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for Master {
    // The safety net when a master is dropped without close() (a task aborted):
    // kill_on_drop sends SIGKILL and tokio reaps the child; the socket goes here.
    fn drop(&mut self) {
        if let Some(reader) = self.reader.take() {
            reader.abort();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_dir_is_private_and_removed() {
        let parent = tempfile::tempdir().unwrap();
        let dir = ControlDir::create_in(parent.path()).unwrap();
        let meta = std::fs::metadata(dir.path()).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o700);
        let a = dir.socket_path();
        let b = dir.socket_path();
        assert_ne!(a, b);
        assert!(a.starts_with(dir.path()));
        let path = dir.path().to_owned();
        drop(dir);
        assert!(!path.exists());
    }

    #[test]
    fn stale_dirs_of_dead_agents_are_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let parent = tmp.path();
        // pid 0 never names a running agent; the live pid 1 does.
        let stale = parent.join(format!("{DIR_PREFIX}.0.abc"));
        let live = parent.join(format!("{DIR_PREFIX}.1.abc"));
        let other = parent.join("something-else.0");
        for d in [&stale, &live, &other] {
            std::fs::create_dir(d).unwrap();
        }
        let dir = ControlDir::create_in(parent).unwrap();
        assert!(!stale.exists());
        assert!(live.exists() && other.exists());
        drop(dir);
    }
}
