//! The `heartbeats` command line: serve (the default), migrate, users, API keys, schedule
//! previews and a test email.
use std::io::BufRead;
use std::path::Path;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};

use crate::domain::schedule::parse_timezone;
use crate::notify::Mailer;
use crate::routes::services::build_schedule;
use crate::settings::Settings;
use crate::startup::{Application, BuildOptions};
use crate::store::users;
use crate::{db, store};

#[derive(Debug, Parser)]
#[command(
    name = "heartbeats",
    version,
    about = "A self-hosted dead man's switch for cron jobs and servers"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Apikey(ApiKeyCommand),
    /// Print the next fire times of a cron expression (or HH:MM) as RFC 3339 UTC.
    Schedule {
        expr: String,
        #[arg(long)]
        tz: Option<String>,
        #[arg(long)]
        after: Option<String>,
        #[arg(long, default_value_t = 5)]
        count: usize,
    },
    /// Send a test message with the configured mail settings.
    SendTestEmail { to: String },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is read from standard input.
    Add {
        name: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change a user's password, read from standard input.
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    List,
    Remove {
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create an API key; it is printed once.
    Create {
        #[arg(long)]
        user: String,
        #[arg(long)]
        name: Option<String>,
    },
}

fn read_password(flag: bool) -> anyhow::Result<String> {
    if !flag {
        bail!(
            "pass --password-stdin and write the password to standard input, e.g. echo 'secret' | heartbeats user add NAME --password-stdin"
        );
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let pw = line.trim_end_matches(['\r', '\n']).to_owned();
    if pw.is_empty() {
        bail!("the password on standard input is empty");
    }
    Ok(pw)
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Schedule {
        expr,
        tz,
        after,
        count,
    } = &command
    {
        for t in schedule_preview(expr, tz.as_deref(), after.as_deref(), *count)? {
            println!("{}", t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        }
        return Ok(());
    }
    let settings = Settings::load(Path::new("."))?;
    if let Command::Serve = command {
        let app = Application::build(settings.clone(), BuildOptions::default()).await?;
        tracing::info!(
            listen = %settings.listen,
            database = %db::redact(&settings.database_url),
            "heartbeats is listening on http://{}",
            settings.listen
        );
        return app.run_until_stopped().await;
    }
    if let Command::SendTestEmail { to } = &command {
        let mailer = Mailer::from_settings(&settings)?;
        mailer
            .send_test(to, &settings.base_url)
            .await
            .with_context(|| format!("sending through {} failed", mailer.describe()))?;
        println!("sent a test message to {to} through {}", mailer.describe());
        return Ok(());
    }
    let conn = db::connect(&settings.database_url, settings.sqlite_synchronous).await?;
    db::migrate(&conn).await?;
    let now = Utc::now();
    match command {
        Command::Migrate => println!(
            "migrations applied to {}",
            db::redact(&settings.database_url)
        ),
        Command::User(UserCommand::Add {
            name,
            email,
            password_stdin,
        }) => {
            let pw = read_password(password_stdin)?;
            users::create(&conn, &name, email.as_deref(), &pw, now)
                .await
                .map_err(cli_error)?;
            println!("user '{name}' added");
        }
        Command::User(UserCommand::Passwd {
            name,
            password_stdin,
        }) => {
            let pw = read_password(password_stdin)?;
            users::set_password(&conn, &name, &pw, now)
                .await
                .map_err(cli_error)?;
            println!("password of '{name}' changed");
        }
        Command::User(UserCommand::List) => {
            for u in users::list(&conn).await? {
                println!("{}\t{}", u.name, u.email.unwrap_or_default());
            }
        }
        Command::User(UserCommand::Remove { name }) => {
            users::remove(&conn, &name).await.map_err(cli_error)?;
            println!("user '{name}' removed");
        }
        Command::Apikey(ApiKeyCommand::Create { user, name }) => {
            let key = users::create_api_key(&conn, &user, name.as_deref().unwrap_or(""), now)
                .await
                .map_err(cli_error)?;
            println!("{}", key.key);
            eprintln!(
                "API key '{}' for '{user}' created; it is shown only this once.",
                key.row.label
            );
        }
        Command::Serve | Command::Schedule { .. } | Command::SendTestEmail { .. } => unreachable!(),
    }
    Ok(())
}

fn cli_error(e: store::StoreError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// Fire times for `heartbeats schedule`: a cron expression, or HH:MM for a daily schedule.
pub fn schedule_preview(
    expr: &str,
    tz: Option<&str>,
    after: Option<&str>,
    count: usize,
) -> anyhow::Result<Vec<DateTime<Utc>>> {
    let tz =
        parse_timezone(tz.unwrap_or("Asia/Shanghai")).map_err(|e| anyhow::anyhow!("--tz: {e}"))?;
    let after = match after {
        Some(a) => DateTime::parse_from_rfc3339(a)
            .map_err(|e| {
                anyhow::anyhow!(
                    "--after: '{a}' is not RFC 3339 ({e}); use e.g. 2026-11-21T08:00:00Z"
                )
            })?
            .with_timezone(&Utc),
        None => Utc::now(),
    };
    let looks_daily = expr.len() == 5 && expr.as_bytes().get(2) == Some(&b':');
    let schedule = if looks_daily {
        build_schedule(Some("daily"), None, Some(expr), None)
    } else {
        build_schedule(Some("cron"), None, None, Some(expr))
    }
    .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let mut out = Vec::with_capacity(count);
    let mut cursor = after;
    while out.len() < count {
        let Some(t) = schedule.next_occurrence_after(cursor, tz) else {
            break;
        };
        out.push(t);
        cursor = t;
    }
    Ok(out)
}
