//! Running the collection script on a host: through the system's OpenSSH client, or
//! with the local `sh` for `local: true` hosts.
//!
//! OpenSSH rather than a Rust SSH library: it already speaks every key type users have
//! (ed25519, ECDSA, RSA, certificates, ssh-agent), honours their `~/.ssh/config`
//! (ProxyJump, per-host users), and its known_hosts handling is the one they trust.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use crate::config::{Host, HostKeyPolicy, SshOptions};

/// The most output a host may send; a sane host sends tens of kilobytes.
const MAX_OUTPUT: u64 = 16 * 1024 * 1024;

/// Why a host could not be collected. The texts are what follows the host label in a
/// problem line, so they are written for the person reading the alert.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RunError {
    #[error("unreachable: {0}")]
    Unreachable(String),
    #[error("host key mismatch (refused; possible man-in-the-middle)")]
    HostKeyMismatch,
    #[error(
        "host key unknown (not in known_hosts; add it with ssh-keyscan, or set host_key_policy: accept-new)"
    )]
    HostKeyUnknown,
    #[error("authentication failed{0}")]
    AuthFailed(String),
    #[error("collection timed out after {}", human(*.0))]
    Timeout(Duration),
    #[error("ssh failed: {0}")]
    Ssh(String),
    #[error("collection script failed (exit {code}): {message}")]
    Script { code: i32, message: String },
    #[error("cannot start {program}: {message}")]
    Spawn { program: String, message: String },
}

/// Output of a finished run: stdout, and stderr for diagnostics.
#[derive(Debug)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
}

/// `5 s`, `1.5 s`, `500 ms`: how durations read in problem lines.
pub fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// Runs `script` with `args` on `host`, within the host's command timeout.
pub async fn run_script(host: &Host, script: &str, args: &[String]) -> Result<Output, RunError> {
    let (mut cmd, stdin) = if host.local {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(script).arg("hb-agent").args(args);
        (cmd, None)
    } else {
        (ssh_command(host, args), Some(script.as_bytes().to_vec()))
    };
    let program = if host.local { "sh" } else { "ssh" };
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .kill_on_drop(true)
    // Its own process group, so a timeout can kill what it started too (a
    // ProxyCommand, or the local script's sleep).
    .process_group(0);
    let mut child = cmd.spawn().map_err(|e| RunError::Spawn {
        program: program.to_owned(),
        message: e.to_string(),
    })?;
    let group = GroupGuard(child.id().and_then(|id| i32::try_from(id).ok()));
    let stdin_pipe = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let feed = async move {
        if let (Some(mut pipe), Some(bytes)) = (stdin_pipe, stdin) {
            // ssh exits early when it cannot connect; its error says why, not EPIPE.
            let _ = pipe.write_all(&bytes).await;
        }
    };
    let finished = async {
        let (_, out, err, status) =
            tokio::join!(feed, read_capped(stdout), read_capped(stderr), child.wait());
        (out, err, status)
    };
    let limit = host.ssh.command_timeout;
    let (stdout, stderr, status) = match tokio::time::timeout(limit, finished).await {
        Ok(done) => done,
        Err(_) => {
            group.kill();
            let _ = child.kill().await;
            return Err(RunError::Timeout(limit));
        }
    };
    let status = status.map_err(|e| RunError::Spawn {
        program: program.to_owned(),
        message: e.to_string(),
    })?;
    match status.code() {
        Some(0) => Ok(Output { stdout, stderr }),
        Some(255) if !host.local => Err(classify_ssh_failure(&stderr, &host.ssh)),
        code => Err(RunError::Script {
            code: code.unwrap_or(-1),
            message: last_line(&stderr).unwrap_or("no message").to_owned(),
        }),
    }
}

/// Kills a timed-out run's whole process group.
struct GroupGuard(Option<i32>);

impl GroupGuard {
    fn kill(&self) {
        if let Some(pgid) = self.0 {
            // ESRCH just means everything in it is gone already.
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        }
    }
}

async fn read_capped<R: AsyncRead + Unpin>(reader: Option<R>) -> String {
    let mut buf = Vec::new();
    if let Some(r) = reader {
        let _ = r.take(MAX_OUTPUT).read_to_end(&mut buf).await;
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// The ssh invocation. The script arrives on stdin and runs through `eval "$(cat)"`:
/// the remote command line stays short and free of quoting the login shell could
/// mangle, and the script's own commands see an empty stdin.
pub fn ssh_command(host: &Host, args: &[String]) -> Command {
    let mut cmd = Command::new("ssh");
    for option in ssh_options(&host.ssh) {
        cmd.arg("-o").arg(option);
    }
    cmd.args(["-T", "-x", "-a"]);
    target_args(&mut cmd, host);
    let mut remote = String::from("sh -c 'eval \"$(cat)\"' hb-agent");
    for a in args {
        remote.push(' ');
        remote.push_str(a);
    }
    cmd.arg(remote);
    cmd
}

/// `-o` options; command-line options win over `~/.ssh/config`, which still supplies
/// everything not set here (ProxyJump, ciphers, …).
///
/// With `control_path` set (`watch`), the run goes through the master connection
/// listening there and never opens one of its own; without it, one session per run.
pub fn ssh_options(o: &SshOptions) -> Vec<String> {
    let control = match &o.control_path {
        Some(path) => [
            "ControlMaster=no".to_owned(),
            format!("ControlPath={}", path.display()),
        ],
        // A shared master connection would outlive the pass; one session per host.
        None => ["ControlMaster=no".to_owned(), "ControlPath=none".to_owned()],
    };
    connection_options(o, control)
}

/// A master connection for `host` that listens on `control_path` and runs nothing
/// itself (`ControlMaster=yes -N`; not `-M` as well: `-M` on top of `yes` means `ask`,
/// and a master that asks refuses every session in batch mode): later runs with the same `control_path` are a new session on it,
/// not a new TCP connection and key exchange. It stays in the foreground, a child the
/// caller supervises; `ControlPersist=no` so it ends when the caller ends it.
pub fn master_command(host: &Host, control_path: &Path) -> Command {
    let mut cmd = Command::new("ssh");
    let control = [
        "ControlMaster=yes".to_owned(),
        format!("ControlPath={}", control_path.display()),
    ];
    for option in connection_options(&host.ssh, control) {
        cmd.arg("-o").arg(option);
    }
    cmd.arg("-o").arg("ControlPersist=no");
    cmd.args(["-N", "-T", "-x", "-a"]);
    target_args(&mut cmd, host);
    cmd
}

/// `ssh -O check`: whether the master listening on `control_path` answers.
pub fn control_check_command(host: &Host, control_path: &Path) -> Command {
    let mut cmd = Command::new("ssh");
    cmd.arg("-o")
        .arg(format!("ControlPath={}", control_path.display()))
        .args(["-o", "LogLevel=ERROR", "-O", "check"]);
    target_args(&mut cmd, host);
    cmd
}

pub fn target_args(cmd: &mut Command, host: &Host) {
    if let Some(port) = host.ssh.port {
        cmd.arg("-p").arg(port.to_string());
    }
    if let Some(user) = &host.ssh.user {
        cmd.arg("-l").arg(user);
    }
    cmd.arg("--").arg(&host.address);
}

fn connection_options(o: &SshOptions, control: [String; 2]) -> Vec<String> {
    let policy = match o.host_key_policy {
        HostKeyPolicy::Strict => "yes",
        HostKeyPolicy::AcceptNew => "accept-new",
    };
    let connect = o.connect_timeout.as_secs_f64().ceil().max(1.0) as u64;
    let mut opts = vec![
        // Never prompt: cron has nobody to answer.
        "BatchMode=yes".to_owned(),
        format!("StrictHostKeyChecking={policy}"),
        format!("ConnectTimeout={connect}"),
        "ServerAliveInterval=5".to_owned(),
        "ServerAliveCountMax=3".to_owned(),
    ];
    opts.extend(control);
    opts.push("LogLevel=ERROR".to_owned());
    if let Some(known) = &o.known_hosts {
        opts.push(format!("UserKnownHostsFile={}", known.display()));
    }
    if let Some(key) = &o.private_key {
        opts.push(format!("IdentityFile={}", key.display()));
    }
    opts.extend(o.options.iter().cloned());
    opts
}

/// Turns ssh's exit-255 chatter into one clear reason.
pub fn classify_ssh_failure(stderr: &str, o: &SshOptions) -> RunError {
    let lower = stderr.to_lowercase();
    let has = |s: &str| lower.contains(s);
    if has("remote host identification has changed") || has("host key for") && has("has changed") {
        RunError::HostKeyMismatch
    } else if has("host key verification failed") || has("no matching host key") && has("known") {
        RunError::HostKeyUnknown
    } else if has("permission denied") || has("too many authentication failures") {
        let detail = match &o.user {
            Some(user) => format!(" for user {user}"),
            None => String::new(),
        };
        RunError::AuthFailed(detail)
    } else if has("connection timed out") || has("operation timed out") {
        RunError::Unreachable(format!(
            "connection timed out after {}",
            human(o.connect_timeout)
        ))
    } else if has("connection refused") {
        RunError::Unreachable("connection refused".into())
    } else if has("no route to host") {
        RunError::Unreachable("no route to host".into())
    } else if has("network is unreachable") {
        RunError::Unreachable("network is unreachable".into())
    } else if has("could not resolve hostname") {
        RunError::Unreachable("cannot resolve host name".into())
    } else {
        RunError::Ssh(
            last_line(stderr)
                .unwrap_or("exit 255 without a message")
                .to_owned(),
        )
    }
}

fn last_line(text: &str) -> Option<&str> {
    text.lines().map(str::trim).rfind(|l| !l.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> SshOptions {
        SshOptions {
            user: Some("root".into()),
            port: None,
            private_key: None,
            known_hosts: None,
            host_key_policy: HostKeyPolicy::Strict,
            connect_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(30),
            options: Vec::new(),
            control_path: None,
        }
    }

    // Messages as OpenSSH 9.x prints them.
    #[test]
    fn classifies_openssh_messages() {
        let o = opts();
        let c = |s: &str| classify_ssh_failure(s, &o).to_string();
        assert_eq!(
            c("ssh: connect to host 10.0.0.7 port 22: Connection timed out\r\n"),
            "unreachable: connection timed out after 5 s"
        );
        assert_eq!(
            c(
                "Connection timed out during banner exchange\r\nConnection to 127.0.0.1 port 2 timed out\r\n"
            ),
            "unreachable: connection timed out after 5 s"
        );
        assert_eq!(
            c("ssh: connect to host 127.0.0.1 port 1: Connection refused\r\n"),
            "unreachable: connection refused"
        );
        assert_eq!(
            c(
                "@@@@@@@@\r\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\nHost key verification failed.\r\n"
            ),
            "host key mismatch (refused; possible man-in-the-middle)"
        );
        assert!(c("No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\r\nHost key verification failed.\r\n")
            .starts_with("host key unknown"));
        assert_eq!(
            c("root@127.0.0.1: Permission denied (publickey).\r\n"),
            "authentication failed for user root"
        );
        assert_eq!(
            c("ssh: Could not resolve hostname nope.invalid: Name or service not known\r\n"),
            "unreachable: cannot resolve host name"
        );
        assert_eq!(
            c("kex_exchange_identification: read: Connection reset by peer\r\n"),
            "ssh failed: kex_exchange_identification: read: Connection reset by peer"
        );
    }

    fn host() -> Host {
        Host {
            label: "gpu-01".into(),
            address: "10.0.0.3".into(),
            name: None,
            description: None,
            local: false,
            ssh: SshOptions {
                port: Some(2222),
                options: vec!["ControlMaster=auto".into()],
                ..opts()
            },
            thresholds: Default::default(),
            processes: Vec::new(),
            units: Vec::new(),
            discover_units: false,
        }
    }

    fn args(cmd: &Command) -> Vec<String> {
        cmd.as_std()
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn one_session_per_run_unless_a_master_is_given() {
        let mut h = host();
        let plain = args(&ssh_command(&h, &[]));
        assert!(plain.contains(&"ControlPath=none".to_owned()), "{plain:?}");
        h.ssh.control_path = Some("/run/user/0/hb/3".into());
        let routed = args(&ssh_command(&h, &[]));
        // ssh keeps the first value of an option: ours come before the user's.
        let master = routed
            .iter()
            .position(|a| a.starts_with("ControlMaster="))
            .unwrap();
        assert_eq!(routed[master], "ControlMaster=no");
        assert!(routed.contains(&"ControlPath=/run/user/0/hb/3".to_owned()));
        assert!(!routed.contains(&"ControlPath=none".to_owned()));
        let tail = &routed[routed.len() - 7..];
        assert_eq!(&tail[..6], ["-p", "2222", "-l", "root", "--", "10.0.0.3"]);
    }

    #[test]
    fn the_master_listens_and_runs_nothing() {
        let m = args(&master_command(&host(), Path::new("/tmp/hb/0")));
        let first_master = m.iter().find(|a| a.starts_with("ControlMaster=")).unwrap();
        assert_eq!(first_master, "ControlMaster=yes");
        for want in [
            "ControlPath=/tmp/hb/0",
            "ControlPersist=no",
            "StrictHostKeyChecking=yes",
            "BatchMode=yes",
            "-N",
        ] {
            assert!(m.contains(&want.to_owned()), "{want} in {m:?}");
        }
        assert!(
            !m.contains(&"-M".to_owned()),
            "-M with ControlMaster=yes asks"
        );
        assert_eq!(&m[m.len() - 2..], ["--", "10.0.0.3"]);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human(Duration::from_secs(5)), "5 s");
        assert_eq!(human(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(human(Duration::from_millis(300)), "300 ms");
    }
}
