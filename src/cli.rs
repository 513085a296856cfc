//! The `heartbeats` command line: serve (the default), migrate, users, API keys, schedule
//! previews and a test email.
use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};

use crate::app::users::{PasswordChange, UserDraft};
use crate::app::{self, Actor, App};
use crate::auth::Authenticator;
use crate::clock::SystemClock;
use crate::db;
use crate::domain::role::{KeyScope, Role};
use crate::domain::schedule::{Schedule, ScheduleKind, parse_timezone};
use crate::notify::Mailer;
use crate::settings::Settings;
use crate::startup::{Application, BuildOptions};

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
    /// Hosts.
    #[command(subcommand)]
    Host(HostCommand),
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
        /// admin, member or viewer.
        #[arg(long, default_value = "member")]
        role: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Give a user another role: admin, member or viewer.
    Role {
        name: String,
        role: String,
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
        /// full (the owner's role), read (read-only) or ping (pings and reports only).
        #[arg(long, default_value = "full")]
        scope: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum HostCommand {
    /// List hosts in name order: id, name, status, address, tags, last report (UTC).
    List {
        /// Only hosts with all these tags (comma-separated).
        #[arg(long)]
        tag: Option<String>,
        /// new, up, degraded, down or paused.
        #[arg(long)]
        status: Option<String>,
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

/// A closed-set argument (`--role`, `--scope`), refused with the choices named.
fn parse_arg<T: std::str::FromStr<Err = crate::domain::UnknownValue>>(
    what: &str,
    value: &str,
) -> anyhow::Result<T> {
    value
        .trim()
        .to_lowercase()
        .parse()
        .map_err(|e| anyhow::anyhow!("{what}: {e}"))
}

pub async fn run(args: Cli) -> anyhow::Result<()> {
    let command = args.command.unwrap_or(Command::Serve);
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
    let conn = db::connect_with(
        &settings.database_url,
        settings.sqlite_synchronous,
        settings.db_timeout,
    )
    .await?;
    db::migrate(&conn).await?;
    let app = App {
        db: conn.clone(),
        clock: Arc::new(SystemClock),
        default_tz: settings.timezone,
        auth: Arc::new(
            Authenticator::new(conn.clone(), Arc::new(SystemClock), Duration::from_secs(1)).await?,
        ),
        wake: None,
        host_wake: None,
        reports: None,
        live: Default::default(),
        rollups: Default::default(),
        presence: Default::default(),
    };
    let cli = Actor::cli();
    match command {
        Command::Migrate => println!(
            "migrations applied to {}",
            db::redact(&settings.database_url)
        ),
        Command::User(UserCommand::Add {
            name,
            email,
            role,
            password_stdin,
        }) => {
            let draft = UserDraft {
                name: name.clone(),
                email,
                role: parse_arg("--role", &role)?,
                password: read_password(password_stdin)?,
            };
            let user = app::users::add(&app, &cli, &draft).await?;
            println!("user '{name}' added ({})", user.role);
        }
        Command::User(UserCommand::Role { name, role }) => {
            let role: Role = parse_arg("ROLE", &role)?;
            app::users::set_role(&app, &cli, &name, role).await?;
            println!("'{name}' is now {role}");
        }
        Command::User(UserCommand::Passwd {
            name,
            password_stdin,
        }) => {
            let pw = read_password(password_stdin)?;
            let change = PasswordChange {
                new: &pw,
                ..Default::default()
            };
            app::users::change_password(&app, &cli, &name, &change).await?;
            println!("password of '{name}' changed");
        }
        Command::User(UserCommand::List) => {
            for u in app::users::list(&app, &cli).await? {
                println!("{}\t{}\t{}", u.name, u.role, u.email.unwrap_or_default());
            }
        }
        Command::User(UserCommand::Remove { name }) => {
            app::users::remove(&app, &cli, &name).await?;
            println!("user '{name}' removed");
        }
        Command::Apikey(ApiKeyCommand::Create { user, name, scope }) => {
            let scope: KeyScope = parse_arg("--scope", &scope)?;
            let label = name.as_deref().unwrap_or("");
            let key = app::keys::create(&app, &cli, &user, label, scope).await?;
            println!("{}", key.key);
            eprintln!(
                "API key '{}' for '{user}' created; it is shown only this once.",
                key.row.label
            );
        }
        Command::Host(HostCommand::List { tag, status }) => {
            for line in host_lines(&app, tag.as_deref(), status.as_deref()).await? {
                println!("{line}");
            }
        }
        Command::Serve | Command::Schedule { .. } | Command::SendTestEmail { .. } => unreachable!(),
    }
    Ok(())
}

/// `heartbeats host list`: one tab-separated line per host, every page.
pub async fn host_lines(
    app: &App,
    tag: Option<&str>,
    status: Option<&str>,
) -> anyhow::Result<Vec<String>> {
    use crate::store::host_list::{self, HostFilter};
    let filter = HostFilter {
        tags: crate::domain::Tags::parse(&[tag.unwrap_or_default()])
            .map_err(|e| anyhow::anyhow!("--tag: {}", e.message()))?
            .into_vec(),
        status: status.map(|s| parse_arg("--status", s)).transpose()?,
        q: None,
    };
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let rows = host_list::page(&app.db, &filter, after.as_ref(), 1000)
            .await
            .context("cannot read the hosts")?;
        let full = rows.len() == 1000;
        after = rows.last().map(host_list::cursor_after);
        for h in rows {
            let seen = h
                .last_report_at
                .map(|t| {
                    crate::clock::from_ms(t)
                        .format("%Y-%m-%dT%H:%M:%SZ")
                        .to_string()
                })
                .unwrap_or_else(|| "-".into());
            out.push(format!(
                "{}\t{}\t{}\t{}\t{}\t{seen}",
                h.id,
                h.name,
                h.status,
                h.address.as_deref().unwrap_or("-"),
                crate::domain::Tags::from_column(&h.tags)
                    .as_slice()
                    .join(","),
            ));
        }
        if !full {
            return Ok(out);
        }
    }
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
        Schedule::of_kind(ScheduleKind::Daily, None, Some(expr), None)
    } else {
        Schedule::of_kind(ScheduleKind::Cron, None, None, Some(expr))
    }
    .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    Ok(schedule.upcoming(after, tz).take(count).collect())
}
