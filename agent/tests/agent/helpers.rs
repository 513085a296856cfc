//! A real OpenSSH `sshd` per test: on 127.0.0.1, a free port, generated host and user
//! keys, its own authorized_keys, and `SetEnv PATH=` putting a fake `nvidia-smi` (the
//! one thing this machine cannot have) first on the remote session's PATH.

use std::fmt::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hb_agent::config::Config;
use hb_agent::report::Report;
use hb_agent::{PassOptions, run_pass};
use tempfile::TempDir;

/// What `nvidia-smi` looks like on the test host.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Gpu {
    /// Not installed: the host has no NVIDIA GPUs.
    Absent,
    /// Two A100s, GPU 0 busy (99% utilisation, 95% memory).
    Busy,
    /// Installed, but the driver is gone (exit 9, as the real tool does).
    Failing,
    /// Wedged: never answers, and ignores SIGTERM (`sleep 3600.424242` under it).
    Hanging,
}

/// The argument marking the hanging fake's `sleep`, to find it in the process list.
pub const HANGING_NVIDIA_SMI_SLEEP: &str = "3600.424242";

/// nvidia-smi on a two-A100 machine, answering exactly the agent's two queries in the
/// documented CSV shape (no header, no units), and refusing any other arguments:
/// `--query-gpu=index,uuid,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw,name`
/// and `--query-compute-apps=gpu_uuid,pid,used_memory,process_name`, each with
/// `--format=csv,noheader,nounits`.
const NVIDIA_SMI_BUSY: &str = r#"#!/bin/sh
case "$*" in
"--query-gpu=index,uuid,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw,name --format=csv,noheader,nounits")
	echo "0, GPU-4f2a7c1e-0d3b-4e5f-8a9b-1c2d3e4f5a6b, 99, 38912, 40960, 67, 312.50, NVIDIA A100-SXM4-40GB"
	echo "1, GPU-9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c5b, 3, 1024, 40960, 35, 48.21, NVIDIA A100-SXM4-40GB"
	;;
"--query-compute-apps=gpu_uuid,pid,used_memory,process_name --format=csv,noheader,nounits")
	echo "GPU-4f2a7c1e-0d3b-4e5f-8a9b-1c2d3e4f5a6b, 4242, 37000, /usr/bin/python3"
	echo "GPU-9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c5b, 4343, 1000, /opt/bench/gpu-burn"
	;;
*) echo "fake nvidia-smi: unexpected arguments: $*" >&2; exit 2 ;;
esac
"#;

const NVIDIA_SMI_HANGING: &str = r#"#!/bin/sh
trap '' TERM
sleep 3600.424242
"#;

const NVIDIA_SMI_FAILING: &str = r#"#!/bin/sh
echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running."
exit 9
"#;

pub struct TestSshd {
    pub dir: TempDir,
    pub port: u16,
    pub user: String,
    child: Child,
}

impl Drop for TestSshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn keygen(path: &Path) {
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "hb-agent-test", "-f"])
        .arg(path));
}

pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn current_user() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

impl TestSshd {
    pub fn start(gpu: Gpu) -> TestSshd {
        assert!(
            Path::new("/usr/sbin/sshd").exists(),
            "these tests need OpenSSH's sshd: apt-get install -y openssh-server"
        );
        // sshd's privilege-separation directory; the Debian package creates it at boot.
        let _ = std::fs::create_dir_all("/run/sshd");
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        keygen(&d.join("host_key"));
        keygen(&d.join("user_key"));
        std::fs::copy(d.join("user_key.pub"), d.join("authorized_keys")).unwrap();
        let bin = d.join("bin");
        std::fs::create_dir(&bin).unwrap();
        let fake = match gpu {
            Gpu::Absent => None,
            Gpu::Busy => Some(NVIDIA_SMI_BUSY),
            Gpu::Failing => Some(NVIDIA_SMI_FAILING),
            Gpu::Hanging => Some(NVIDIA_SMI_HANGING),
        };
        if let Some(script) = fake {
            let path = bin.join("nvidia-smi");
            std::fs::write(&path, script).unwrap();
            run(Command::new("chmod").arg("755").arg(&path));
        }
        for _ in 0..5 {
            let port = free_port();
            let config = d.join("sshd_config");
            std::fs::write(&config, sshd_config(d, port)).unwrap();
            let log = std::fs::File::create(d.join("sshd.log")).unwrap();
            let mut child = Command::new("/usr/sbin/sshd")
                .args(["-D", "-e", "-f"])
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start sshd");
            if wait_listening(port, &mut child) {
                return TestSshd {
                    dir,
                    port,
                    user: current_user(),
                    child,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "sshd did not start: {}",
            std::fs::read_to_string(d.join("sshd.log")).unwrap_or_default()
        );
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A known_hosts file holding this server's real host key.
    pub fn known_hosts(&self) -> PathBuf {
        let path = self.path("known_hosts");
        let key = std::fs::read_to_string(self.path("host_key.pub")).unwrap();
        std::fs::write(&path, format!("[127.0.0.1]:{} {key}", self.port)).unwrap();
        path
    }

    /// A config whose `ssh:` section reaches this server; `hosts` is the YAML list
    /// body (indented two spaces), `extra` top-level sections such as `defaults:`.
    pub fn config(&self, hosts: &str, extra: &str) -> String {
        format!(
            "server:\n  url: http://127.0.0.1:9\n  service: test-service\n  retries: 0\n\
             ssh:\n  user: {user}\n  port: {port}\n  private_key: {key}\n  known_hosts: {known}\n  connect_timeout: 5s\n  command_timeout: 20s\n\
             collect:\n  sample_interval: 0.5s\n{extra}hosts:\n{hosts}",
            user = self.user,
            port = self.port,
            key = self.path("user_key").display(),
            known = self.known_hosts().display(),
        )
    }

    pub fn write_config(&self, hosts: &str, extra: &str) -> PathBuf {
        let path = self.path("config.yaml");
        std::fs::write(&path, self.config(hosts, extra)).unwrap();
        path
    }

    /// ssh client processes still connected to (or trying) this server's port.
    pub fn ssh_clients(&self) -> Vec<String> {
        ssh_clients_for(self.port)
    }
}

fn sshd_config(d: &Path, port: u16) -> String {
    let mut c = String::new();
    let _ = writeln!(c, "Port {port}\nListenAddress 127.0.0.1");
    let _ = writeln!(c, "HostKey {}", d.join("host_key").display());
    let _ = writeln!(c, "PidFile {}", d.join("sshd.pid").display());
    let _ = writeln!(
        c,
        "AuthorizedKeysFile {}",
        d.join("authorized_keys").display()
    );
    // Temp dirs are not root-owned 0755 chains; tests run as root.
    c.push_str("StrictModes no\nPermitRootLogin prohibit-password\nUsePAM no\n");
    c.push_str(
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n",
    );
    // 50 parallel sessions in the benchmark; the default 10:30:100 would drop some.
    c.push_str("MaxStartups 200\nMaxSessions 200\nLogLevel ERROR\n");
    // The session's PATH: the fake nvidia-smi first, then the system's tools.
    let _ = writeln!(
        c,
        "SetEnv PATH={}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        d.join("bin").display()
    );
    c
}

fn wait_listening(port: u16, child: &mut Child) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Live `ssh` processes whose command line names `port`.
pub fn ssh_clients_for(port: u16) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = raw
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let is_ssh = args
            .first()
            .is_some_and(|a| a == "ssh" || a.ends_with("/ssh"));
        if is_ssh
            && args
                .windows(2)
                .any(|w| w[0] == "-p" && w[1] == port.to_string())
        {
            found.push(args.join(" "));
        }
    }
    found
}

/// A process that runs until dropped, e.g. a "required" process or a CPU burner.
pub struct Running(Child);

impl From<Child> for Running {
    fn from(child: Child) -> Self {
        Running(child)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `sleep` with a unique duration, so its command line is a pattern nothing else has.
pub fn unique_sleep() -> (Running, String) {
    let secs = format!("3600.{}{}", std::process::id(), free_port());
    let child = Command::new("sleep").arg(&secs).spawn().unwrap();
    (Running(child), format!("sleep {secs}"))
}

/// Keeps one core busy until dropped.
pub fn burn_cpu() -> Running {
    Running(
        Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .unwrap(),
    )
}

pub fn load5() -> f64 {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap();
    text.split_whitespace().nth(1).unwrap().parse().unwrap()
}

pub async fn check(yaml: &str) -> Report {
    let cfg = Config::from_yaml(yaml, "test.yaml").unwrap();
    let opts = PassOptions {
        ping: false,
        host: None,
    };
    run_pass(&cfg, &opts).await.unwrap().report
}

pub fn assert_problem(report: &Report, pattern: &str) {
    let re = regex::Regex::new(pattern).unwrap();
    assert!(
        report.problems.iter().any(|p| re.is_match(p)),
        "no problem matching {pattern:?} in {:#?}",
        report.problems
    );
}
