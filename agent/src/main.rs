//! `hb-agent run|check --config FILE [--json] [--host NAME]`, `hb-agent watch` and
//! `hb-agent push`; see agent/README.md.
#![forbid(unsafe_code)]

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use hb_agent::pass::{ReportsOutcome, exit, post_reports};
use hb_agent::watch::{self, Control, WatchArgs};
use hb_agent::{Config, PassOptions, PingOutcome, run_pass};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

#[derive(Parser)]
#[command(
    name = "hb-agent",
    version,
    about = "Checks a fleet of Linux hosts over SSH and pings a Heartbeats service with what it found"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// One pass: collect, evaluate, print the report, ping the server (what cron runs).
    Run(PassArgs),
    /// The same pass without pinging, for setting up.
    Check(PassArgs),
    /// Run on the host itself: collect locally every interval and report over a WebSocket
    /// that is the host's presence (behind NAT, or without SSH).
    Push(hb_agent::push::cli::PushArgs),
    /// Collect the hosts the server lists, continuously, each at its own interval.
    Watch(WatchCli),
}

#[derive(Args)]
struct WatchCli {
    /// A config file: its `server`, `ssh` and `collect` sections (hosts come from the server).
    #[arg(long, short, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The server's URL (instead of the config's).
    #[arg(long, env = "HB_SERVER", value_name = "URL")]
    server: Option<String>,
    /// An API key that may send reports (prefer --key-file or HB_API_KEY: a command line
    /// is visible to every user of the machine).
    #[arg(long, env = "HB_API_KEY", hide_env_values = true, value_name = "KEY")]
    key: Option<String>,
    /// A file holding the API key (wins over --key and HB_API_KEY).
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
    /// Collect the hosts assigned to this collector (default: those assigned to none).
    #[arg(long, value_name = "NAME")]
    collector: Option<String>,
    /// Collect every host at this interval, whatever the server says (2 to 3600).
    #[arg(long, value_name = "SECS")]
    interval: Option<u32>,
    /// A new SSH connection for every collection instead of one kept open per host.
    #[arg(long)]
    no_multiplex: bool,
    /// Reports kept while the server is unreachable (default 10000; the oldest go first).
    #[arg(long, value_name = "REPORTS")]
    buffer: Option<usize>,
    /// Seconds between the summaries in the log.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    stats_every: u64,
}

#[derive(Args)]
struct PassArgs {
    /// The YAML config file.
    #[arg(
        long,
        short,
        env = "HB_AGENT_CONFIG",
        default_value = "/etc/hb-agent/config.yaml"
    )]
    config: PathBuf,
    /// Print the full report as JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Only this host (its name or address).
    #[arg(long, value_name = "NAME")]
    host: Option<String>,
    /// How often cron runs this, e.g. `300` or `5m`: sent as the interval of the host
    /// reports `run` posts, so the server knows when the next one is due.
    #[arg(long, value_name = "DURATION", value_parser = parse_period)]
    period: Option<u32>,
}

/// Seconds, or a number with `s`, `m` or `h`.
fn parse_period(text: &str) -> Result<u32, String> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u32 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?}: use seconds (300) or a unit (5m, 1h)"))?;
    let secs = match unit.trim() {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        _ => None,
    }
    .filter(|s| (1..=86_400).contains(s));
    secs.ok_or_else(|| {
        format!("{text:?}: use 1 s to 24 h, as seconds (300) or with a unit (5m, 1h)")
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Long-running modes say what they do (connections, hosts); a pass only warns.
    let default_level = match cli.command {
        Command::Push(_) | Command::Watch(_) => "info",
        _ => "warn",
    };
    // Logs go to stderr so stdout stays the report (and valid JSON with --json).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // cron mails stderr: colour codes only for a terminal.
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .init();
    let code = match cli.command {
        // It runs its own runtime.
        Command::Push(args) => return hb_agent::push::cli::main(args),
        Command::Run(args) => block_on(pass(args, true)),
        Command::Check(args) => block_on(pass(args, false)),
        Command::Watch(args) => block_on(watch(args)),
    };
    ExitCode::from(code)
}

/// Runs `task` on one thread: plenty, as the agent waits on ssh children and HTTP requests.
fn block_on(task: impl std::future::Future<Output = u8>) -> u8 {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(task),
        Err(e) => {
            eprintln!("hb-agent: cannot start the async runtime: {e}");
            1
        }
    }
}

async fn watch(cli: WatchCli) -> u8 {
    let args = WatchArgs {
        config: cli.config,
        server: cli.server,
        key: cli.key,
        key_file: cli.key_file,
        collector: cli.collector,
        interval: cli.interval,
        no_multiplex: cli.no_multiplex,
        buffer: cli.buffer,
        stats_every: Some(cli.stats_every),
    };
    let opts = match watch::settings::options(&args) {
        Ok(opts) => opts,
        Err(e) => {
            eprintln!("hb-agent: {e}");
            return exit::CONFIG;
        }
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let signals = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) {
        (Ok(term), Ok(int), Ok(hup)) => (term, int, hup),
        _ => {
            eprintln!("hb-agent: cannot handle signals");
            return 1;
        }
    };
    tokio::spawn(async move {
        let (mut term, mut int, mut hup) = signals;
        loop {
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
                _ = hup.recv() => {
                    match args.config.as_ref().map(|_| watch::settings::options(&args)) {
                        None => tracing::info!("SIGHUP: no config file to reload"),
                        Some(Ok(opts)) => {
                            tracing::info!("SIGHUP: reloading the config");
                            let _ = tx.send(Control::Reload(Box::new(opts)));
                        }
                        Some(Err(e)) => tracing::error!("SIGHUP: {e}; keeping the previous settings"),
                    }
                    continue;
                }
            };
            tracing::info!("{name}: stopping");
            let _ = tx.send(Control::Shutdown);
            break;
        }
    });
    match watch::run(opts, rx).await {
        Ok(stats) => {
            tracing::info!("stopped; whole run: {stats}");
            exit::OK
        }
        Err(e) => {
            eprintln!("hb-agent: {e}");
            1
        }
    }
}

async fn pass(args: PassArgs, ping: bool) -> u8 {
    let cfg = match Config::load(&args.config) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("hb-agent: {e}");
            return exit::CONFIG;
        }
    };
    let opts = PassOptions {
        ping,
        host: args.host,
    };
    let outcome = match run_pass(&cfg, &opts).await {
        Ok(outcome) => outcome,
        Err(e) => {
            eprintln!("hb-agent: {e}");
            return e.exit_code();
        }
    };
    if args.json {
        match serde_json::to_string_pretty(&outcome.report) {
            Ok(json) => println!("{json}"),
            Err(e) => eprintln!("hb-agent: cannot render the report: {e}"),
        }
    } else {
        print!("{}", outcome.report.render_text());
        match &outcome.ping {
            PingOutcome::Skipped => println!("not pinged (check)"),
            PingOutcome::Accepted(a) => println!(
                "pinged service {} ({}): status {}",
                a.service, a.kind, a.status
            ),
            PingOutcome::Failed(_) => {}
        }
    }
    if let PingOutcome::Failed(e) = &outcome.ping {
        eprintln!("hb-agent: ping failed: {e}");
    }
    if let PingOutcome::Accepted(_) = &outcome.ping {
        // History for cron users; a server without hosts support stays quiet. (When the
        // ping failed, the server has been heard from already.)
        match post_reports(&cfg, &outcome.report, args.period).await {
            ReportsOutcome::Sent { accepted } => {
                tracing::info!("{accepted} host report(s) stored");
            }
            ReportsOutcome::NoCredentials | ReportsOutcome::OldServer => {}
            ReportsOutcome::Failed(e) => eprintln!("hb-agent: host reports not sent: {e}"),
        }
    }
    outcome.exit_code()
}
