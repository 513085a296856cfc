//! `hb-agent push --server URL --key KEY [--name NAME] [--interval SECS]`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use url::Url;

use super::{PushOptions, hostname, run};
use crate::client::Auth;
use crate::pass::exit;

#[derive(Debug, Args)]
pub struct PushArgs {
    /// The Heartbeats server's URL, e.g. https://hb.example.com.
    #[arg(long, env = "HB_SERVER", value_name = "URL")]
    pub server: Option<String>,
    /// An API key that may send reports (scope ping or full). Prefer --key-file: a key on
    /// the command line is visible in `ps`.
    #[arg(long, env = "HB_API_KEY", value_name = "KEY", hide_env_values = true)]
    pub key: Option<String>,
    /// A file holding the API key (its first line), e.g. a systemd credential.
    #[arg(
        long,
        env = "HB_API_KEY_FILE",
        value_name = "PATH",
        conflicts_with = "key"
    )]
    pub key_file: Option<PathBuf>,
    /// This host's name in the inventory (default: the machine's host name).
    #[arg(long, env = "HB_AGENT_NAME", value_name = "NAME")]
    pub name: Option<String>,
    /// Seconds between reports, 2 to 3600 (default: the host's interval on the server,
    /// 60 for a host the server does not know yet).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u32).range(2..=3600))]
    pub interval: Option<u32>,
}

/// The options the arguments describe, or what is wrong with them.
pub fn options(args: PushArgs) -> Result<PushOptions, String> {
    let server = args
        .server
        .ok_or("no server: give --server URL or set HB_SERVER")?;
    let url = Url::parse(server.trim()).map_err(|e| {
        format!("--server {server:?} is not a URL ({e}); use e.g. https://hb.example.com")
    })?;
    super::ws_url(&url)?;
    let key = match (args.key, args.key_file) {
        (Some(key), _) => key,
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("--key-file {}: cannot read it: {e}", path.display()))?;
            text.lines().next().unwrap_or_default().to_owned()
        }
        (None, None) => {
            return Err("no API key: give --key-file PATH, --key KEY or set HB_API_KEY".into());
        }
    };
    let key = key.trim().to_owned();
    if key.is_empty() {
        return Err("the API key is empty".into());
    }
    let name = match args.name.map(|n| n.trim().to_owned()) {
        Some(n) if !n.is_empty() => n,
        Some(_) => return Err("--name is empty".into()),
        None => hostname().ok_or(
            "cannot read this machine's host name (/proc/sys/kernel/hostname, /etc/hostname); give --name",
        )?,
    };
    let mut opts = PushOptions::new(url, Auth::Bearer(key), name);
    opts.interval = args.interval;
    Ok(opts)
}

/// Runs `push` until SIGTERM or SIGINT.
pub fn main(args: PushArgs) -> ExitCode {
    let opts = match options(args) {
        Ok(opts) => opts,
        Err(e) => {
            eprintln!("hb-agent push: {e}");
            return ExitCode::from(exit::CONFIG);
        }
    };
    // One thread: a socket, a timer and a child `sh` per interval.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hb-agent push: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        tracing::info!(server = %opts.server, name = %opts.name, "hb-agent push starting");
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("hb-agent push: cannot listen for SIGTERM: {e}");
                    return ExitCode::FAILURE;
                }
            };
        tokio::select! {
            () = run(opts, None) => ExitCode::FAILURE,
            _ = term.recv() => {
                tracing::info!("SIGTERM: stopping");
                ExitCode::SUCCESS
            }
            _ = tokio::signal::ctrl_c() => ExitCode::SUCCESS,
        }
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        push: PushArgs,
    }

    fn parse(args: &[&str]) -> Result<PushOptions, String> {
        let cli = Cli::try_parse_from(std::iter::once("push").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        options(cli.push)
    }

    #[test]
    fn arguments_become_options() {
        let o = parse(&[
            "--server",
            "http://hb.lan:5827",
            "--key",
            " hb_k1 ",
            "--name",
            "gpu-01",
            "--interval",
            "5",
        ])
        .unwrap();
        assert_eq!(o.server.as_str(), "http://hb.lan:5827/");
        assert_eq!(o.auth, Auth::Bearer("hb_k1".into()));
        assert_eq!((o.name.as_str(), o.interval), ("gpu-01", Some(5)));
        let o = parse(&["--server", "http://hb.lan", "--key", "k"]).unwrap();
        assert_eq!(Some(o.name), hostname(), "the host name by default");
    }

    #[test]
    fn the_key_can_come_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "hb_from_file\n").unwrap();
        let o = parse(&[
            "--server",
            "http://hb.lan",
            "--key-file",
            path.to_str().unwrap(),
        ])
        .unwrap();
        assert_eq!(o.auth, Auth::Bearer("hb_from_file".into()));
        std::fs::write(&path, "\n").unwrap();
        let e = parse(&[
            "--server",
            "http://hb.lan",
            "--key-file",
            path.to_str().unwrap(),
        ])
        .unwrap_err();
        assert_eq!(e, "the API key is empty");
        let e = parse(&[
            "--server",
            "http://hb.lan",
            "--key-file",
            "/nonexistent/key",
        ])
        .unwrap_err();
        assert!(
            e.starts_with("--key-file /nonexistent/key: cannot read it"),
            "{e}"
        );
    }

    #[test]
    fn bad_arguments_say_what_to_give() {
        // Only when the environment does not set them (the test runner's does not).
        if std::env::var_os("HB_SERVER").is_none() && std::env::var_os("HB_API_KEY").is_none() {
            assert_eq!(
                parse(&["--key", "k"]).unwrap_err(),
                "no server: give --server URL or set HB_SERVER"
            );
            assert!(
                parse(&["--server", "http://hb.lan"])
                    .unwrap_err()
                    .starts_with("no API key")
            );
        }
        assert!(
            parse(&["--server", "hb.lan", "--key", "k"])
                .unwrap_err()
                .contains("is not a URL")
        );
        assert!(
            parse(&["--server", "ftp://hb.lan", "--key", "k"])
                .unwrap_err()
                .contains("use http:// or https://")
        );
        assert!(
            parse(&["--server", "http://hb.lan", "--key", "k", "--interval", "1"])
                .unwrap_err()
                .contains("2..=3600")
        );
        assert_eq!(
            parse(&["--server", "http://hb.lan", "--key", "k", "--name", " "]).unwrap_err(),
            "--name is empty"
        );
    }
}
