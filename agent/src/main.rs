//! `hb-agent run|check --config FILE [--json] [--host NAME]`; see agent/README.md.
#![forbid(unsafe_code)]

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use hb_agent::pass::exit;
use hb_agent::{Config, PassOptions, PingOutcome, run_pass};

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A long-running agent says when it connects and disconnects; a pass only warns.
    let default_level = match cli.command {
        Command::Push(_) => "info",
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
    let (args, ping) = match cli.command {
        Command::Run(args) => (args, true),
        Command::Check(args) => (args, false),
        Command::Push(args) => return hb_agent::push::cli::main(args),
    };
    // One thread is plenty: the pass waits on ssh children and one HTTP request.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hb-agent: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    ExitCode::from(runtime.block_on(pass(args, ping)))
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
    outcome.exit_code()
}
