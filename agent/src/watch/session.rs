//! One long-lived SSH session per host, over its master connection: the collection
//! script goes to the host once, when the session opens, and each cycle is one request
//! line on the session's stdin, so a cycle starts no process on the agent's side (no
//! `ssh` client, no handshake).
//!
//! The remote side is a small `sh` loop ([`LOOP`]). It reads `<nonce> <args...>` per
//! request and runs the script as `sh -c "$script" hb-agent <args...>`: a new shell per
//! request, so the script's `exit`, `set` and `$$` (`@@hb self`, by which the parser
//! leaves out the collection's own processes) mean what they mean in a one-shot run.
//! After the script it prints `@@hb-done <nonce> <status>` on stdout and
//! `@@hb-done <nonce>` on stderr, each on a line of its own, so the agent knows where
//! this request's output ends on both streams. The nonce is new for every request:
//! output left over from a request that was cut short can never pass for a later one.
//!
//! A request that does not end within the command timeout kills the session (the
//! local `ssh` client's process group; the master then closes the channel, the remote
//! loop reads EOF and ends, and each outside tool of the script is bounded by
//! `timeout -k` there already); the worker opens a new one next cycle.

use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};

use crate::config::{Host, SshOptions};
use crate::ssh::{self, Output, RunError};

/// The most output one request may send; a sane host sends tens of kilobytes.
const MAX_OUTPUT: usize = 16 * 1024 * 1024;
/// How long a closing session gets to end by itself once its stdin is closed.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// The remote loop; `s` holds the collection script (set by the lines before it).
/// `set -f`: the arguments are split on blanks, never globbed.
const LOOP: &str = r#"set -f
echo "@@hb-ready $$"
while IFS=' ' read -r nonce args; do
	sh -c "$s" hb-agent $args </dev/null
	rc=$?
	printf '\n@@hb-done %s %s\n' "$nonce" "$rc"
	printf '\n@@hb-done %s\n' "$nonce" >&2
done
"#;

/// Nonces differ across sessions of one agent and across agents on one host.
static NEXT: AtomicU64 = AtomicU64::new(0);

pub struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    stderr: BufReader<ChildStderr>,
    group: Option<i32>,
    /// The remote loop's shell: a process of ours the parser does not know about.
    loop_pid: Option<u32>,
    /// Unique to this session; each request adds its own number.
    tag: String,
    requests: u64,
    /// To explain a failure in the host's terms.
    options: SshOptions,
}

/// The program sent on stdin at start: the script as a shell variable, then the loop.
pub fn program(script: &str) -> String {
    format!("s='{}'\n{LOOP}", script.replace('\'', r"'\''"))
}

/// `ssh` for a session over the master at `host.ssh.control_path`: the remote command
/// reads exactly the program's lines (`head -n`) and evaluates them; the rest of stdin
/// stays for the requests. The agent sends no request before the loop says it is
/// ready, so `head` cannot read past the program.
pub fn session_command(host: &Host, program: &str) -> Command {
    let lines = program.lines().count();
    let mut cmd = Command::new("ssh");
    for option in ssh::ssh_options(&host.ssh) {
        cmd.arg("-o").arg(option);
    }
    cmd.args(["-T", "-x", "-a"]);
    ssh::target_args(&mut cmd, host);
    cmd.arg(format!("sh -c 'eval \"$(head -n {lines})\"' hb-agent"));
    cmd
}

impl Session {
    /// Starts the session and waits for the remote loop to be ready, within the host's
    /// command timeout.
    #[tracing::instrument(skip_all, fields(host = %host.label))]
    pub async fn open(host: &Host, script: &str) -> Result<Session, RunError> {
        let program = program(script);
        let mut cmd = session_command(host, &program);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // Its own process group: a timeout kills whatever ssh started too.
            .process_group(0);
        let spawn_error = |e: std::io::Error| RunError::Spawn {
            program: "ssh".into(),
            message: e.to_string(),
        };
        let mut child = cmd.spawn().map_err(spawn_error)?;
        let group = child.id().and_then(|id| i32::try_from(id).ok());
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(RunError::Ssh("session without pipes".into()));
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
        let tag = format!(
            "{:x}.{:x}.{:x}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            nanos
        );
        let mut session = Session {
            child,
            stdin: Some(stdin),
            stdout: BufReader::new(stdout),
            stderr: BufReader::new(stderr),
            group,
            loop_pid: None,
            tag,
            requests: 0,
            options: host.ssh.clone(),
        };
        let limit = host.ssh.command_timeout;
        let ready = async {
            if let Some(stdin) = session.stdin.as_mut() {
                // A session that fails says why on stderr, not with EPIPE.
                let _ = stdin.write_all(program.as_bytes()).await;
                let _ = stdin.flush().await;
            }
            let mut line = String::new();
            loop {
                line.clear();
                match session.stdout.read_line(&mut line).await {
                    Ok(0) | Err(_) => return None,
                    Ok(_) => {}
                }
                if let Some(pid) = line.trim_end().strip_prefix("@@hb-ready ") {
                    return Some(pid.parse::<u32>().ok());
                }
                if line.len() > MAX_OUTPUT {
                    return None;
                }
            }
        };
        match tokio::time::timeout(limit, ready).await {
            Ok(Some(pid)) => {
                session.loop_pid = pid;
                tracing::debug!(remote_pid = ?pid, "session open");
                Ok(session)
            }
            Ok(None) => Err(session.failure().await),
            Err(_) => {
                session.kill().await;
                Err(RunError::Timeout(limit))
            }
        }
    }

    /// The local client still runs.
    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The remote loop's pid, to leave out of the host's process list.
    pub fn loop_pid(&self) -> Option<u32> {
        self.loop_pid
    }

    /// Runs the script once with `args`. Any error leaves the session unusable: the
    /// caller closes it and opens a new one next time.
    pub async fn run(&mut self, args: &[String], limit: Duration) -> Result<Output, RunError> {
        if let Some(bad) = args
            .iter()
            .find(|a| a.is_empty() || a.chars().any(|c| c.is_whitespace() || c == '\''))
        {
            return Err(RunError::Spawn {
                program: "ssh".into(),
                message: format!("argument {bad:?} cannot go in a request line"),
            });
        }
        self.requests += 1;
        let nonce = format!("{}.{}", self.tag, self.requests);
        let mut request = nonce.clone();
        for a in args {
            request.push(' ');
            request.push_str(a);
        }
        request.push('\n');
        let out_end = format!("@@hb-done {nonce} ");
        let err_end = format!("@@hb-done {nonce}");
        let exchange = async {
            let stdin = self.stdin.as_mut()?;
            if stdin.write_all(request.as_bytes()).await.is_err() || stdin.flush().await.is_err() {
                return None;
            }
            let (out, err) = tokio::join!(
                read_until_marker(&mut self.stdout, |l| l.starts_with(&out_end)),
                read_until_marker(&mut self.stderr, |l| l == err_end)
            );
            Some((out?, err?))
        };
        match tokio::time::timeout(limit, exchange).await {
            Ok(Some(((stdout, marker), (stderr, _)))) => {
                let code = marker[out_end.len()..].trim().parse::<i32>().unwrap_or(-1);
                if code == 0 {
                    Ok(Output { stdout, stderr })
                } else {
                    Err(RunError::Script {
                        code,
                        message: stderr
                            .lines()
                            .map(str::trim)
                            .rfind(|l| !l.is_empty())
                            .unwrap_or("no message")
                            .to_owned(),
                    })
                }
            }
            Ok(None) => Err(self.failure().await),
            Err(_) => {
                self.kill().await;
                Err(RunError::Timeout(limit))
            }
        }
    }

    /// Why the session ended: ssh's own message (exit 255), or what the remote side said.
    async fn failure(&mut self) -> RunError {
        self.stdin = None;
        let status = tokio::time::timeout(CLOSE_GRACE, self.child.wait()).await;
        let mut rest = String::new();
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            read_capped(&mut self.stderr, &mut rest),
        )
        .await;
        let code = match status {
            Ok(Ok(status)) => status.code(),
            _ => {
                self.kill().await;
                None
            }
        };
        let last = rest
            .lines()
            .map(str::trim)
            .rfind(|l| !l.is_empty() && !l.starts_with("@@hb-done "));
        match code {
            Some(255) => ssh::classify_ssh_failure(&rest, &self.options),
            _ => RunError::Ssh(format!(
                "session ended unexpectedly{}",
                last.map(|l| format!(": {l}")).unwrap_or_default()
            )),
        }
    }

    async fn kill(&mut self) {
        if let Some(pgid) = self.group {
            // ESRCH just means everything in it is gone already.
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        }
        let _ = self.child.kill().await;
    }

    /// Ends the session: its stdin closes, so the remote loop ends; SIGKILL if the
    /// client is still there after a grace time.
    pub async fn close(mut self) {
        self.stdin = None;
        if tokio::time::timeout(CLOSE_GRACE, self.child.wait())
            .await
            .is_err()
        {
            self.kill().await;
        }
        let _ = self.child.wait().await;
    }
}

/// Reads lines up to the one `is_end` accepts; returns what came before it (without
/// the newline the marker's `printf` added) and the marker line. `None` at EOF, on a
/// read error, or past [`MAX_OUTPUT`].
async fn read_until_marker<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    is_end: impl Fn(&str) -> bool,
) -> Option<(String, String)> {
    let mut text = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
        let decoded = String::from_utf8_lossy(&line);
        if is_end(decoded.trim_end_matches('\n')) {
            if text.last() == Some(&b'\n') {
                text.pop();
            }
            let text = String::from_utf8_lossy(&text).into_owned();
            return Some((text, decoded.trim_end().to_owned()));
        }
        text.extend_from_slice(&line);
        if text.len() > MAX_OUTPUT {
            return None;
        }
    }
}

async fn read_capped<R: AsyncBufRead + Unpin>(reader: &mut R, into: &mut String) {
    let mut line = String::new();
    while let Ok(n) = reader.read_line(&mut line).await {
        if n == 0 || into.len() > 64 * 1024 {
            break;
        }
        into.push_str(&line);
        line.clear();
    }
}
