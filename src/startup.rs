//! Building the application: database, state, HTTP server and background workers.
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::web;
use anyhow::Context;
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::app;
use crate::auth::Authenticator;
use crate::clock::{SharedClock, SystemClock};
use crate::jobs::Runner;
use crate::jobs::outbox::Outbox;
use crate::jobs::retention::Retention;
use crate::jobs::rollups::RollupJob;
use crate::jobs::scheduler::{Scheduler, Wakeup};
use crate::jobs::staleness::Staleness;
use crate::notify::Mailer;
use crate::settings::Settings;
use crate::state::AppState;
use crate::store::host_live::LiveHosts;
use crate::store::host_reports::{Latest, ReportHooks, ReportWriter};
use crate::store::pings::{PingWriter, WriteHooks};
use crate::{db, serve};

/// Tells the scheduler and the outbox worker what a ping batch changed.
struct Signals {
    wake: Arc<Wakeup>,
    outbox: Arc<Notify>,
}

impl WriteHooks for Signals {
    fn committed(&self, earliest_check: Option<DateTime<Utc>>, alerts_queued: usize) {
        self.wake.hint(earliest_check);
        if alerts_queued > 0 {
            self.outbox.notify_one();
        }
    }
}

/// Tells the staleness job, the outbox worker and the live view what a report batch did.
struct HostSignals {
    wake: Arc<Wakeup>,
    outbox: Arc<Notify>,
    live: Arc<LiveHosts>,
}

impl ReportHooks for HostSignals {
    fn committed(
        &self,
        earliest_check: Option<DateTime<Utc>>,
        alerts_queued: usize,
        latest: Vec<(String, Latest)>,
    ) {
        self.wake.hint(earliest_check);
        if alerts_queued > 0 {
            self.outbox.notify_one();
        }
        self.live.update(latest);
    }
}

pub struct BuildOptions {
    pub clock: SharedClock,
    /// How often other processes' credential changes are noticed.
    pub auth_refresh: Duration,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            auth_refresh: Duration::from_secs(1),
        }
    }
}

pub struct Application {
    port: u16,
    metrics_port: Option<u16>,
    server: Server,
    pub state: web::Data<AppState>,
}

impl Application {
    pub async fn build(settings: Settings, opts: BuildOptions) -> anyhow::Result<Self> {
        let db = db::connect_with(
            &settings.database_url,
            settings.sqlite_synchronous,
            settings.db_timeout,
        )
        .await?;
        db::migrate(&db).await?;

        let listener = TcpListener::bind(settings.listen)
            .with_context(|| format!("HB_LISTEN: cannot listen on {}", settings.listen))?;
        let port = listener.local_addr()?.port();
        let metrics_listener = match settings.metrics_listen {
            None => None,
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .with_context(|| format!("HB_METRICS_LISTEN: cannot listen on {addr}"))?,
            ),
        };
        let metrics_port = match &metrics_listener {
            Some(l) => Some(l.local_addr()?.port()),
            None => None,
        };

        // The ping and report writers share one connection on SQLite (`db::connect_writer`).
        let writer_db = db::connect_writer(
            &settings.database_url,
            settings.sqlite_synchronous,
            settings.db_timeout,
            &db,
        )
        .await?;
        db::spawn_checkpointer(&settings.database_url, &db, &writer_db.db);
        let wake = Arc::new(Wakeup::default());
        let outbox_notify = Arc::new(Notify::new());
        let writer = PingWriter::spawn(
            writer_db.clone(),
            Arc::new(Signals {
                wake: wake.clone(),
                outbox: outbox_notify.clone(),
            }),
        );
        let host_wake = Arc::new(Wakeup::default());
        let live = Arc::new(LiveHosts::default());
        let reports = ReportWriter::spawn(
            writer_db,
            Arc::new(HostSignals {
                wake: host_wake.clone(),
                outbox: outbox_notify.clone(),
                live: live.clone(),
            }),
        );
        let auth =
            Arc::new(Authenticator::new(db.clone(), opts.clock.clone(), opts.auth_refresh).await?);
        let rollups = Arc::new(crate::store::rollups::Rollups::default());
        let app = app::App {
            db: db.clone(),
            clock: opts.clock.clone(),
            default_tz: settings.timezone,
            auth: auth.clone(),
            wake: Some(wake.clone()),
            host_wake: Some(host_wake.clone()),
            reports: Some(reports),
            live,
            rollups: rollups.clone(),
            presence: Arc::new(app::presence::Presence::new(chrono::Duration::seconds(
                i64::from(settings.agent_grace_secs),
            ))),
        };
        app::users::ensure_admin(
            &app,
            &settings.admin_user,
            settings.admin_password.as_deref(),
        )
        .await?;
        let state = web::Data::new(AppState {
            app,
            db,
            clock: opts.clock,
            settings: Arc::new(settings),
            auth,
            writer,
            wake,
            outbox_notify,
            ui: crate::ui::UiState::default(),
            list_search: Default::default(),
            rollups,
        });
        let server = serve::http_server(listener, metrics_listener, state.clone())?;
        Ok(Self {
            port,
            metrics_port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of `HB_METRICS_LISTEN`, when set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_port
    }

    /// The host staleness job over this application's database and signals.
    pub fn staleness(&self) -> Staleness {
        Staleness::new(
            self.state.db.clone(),
            self.state.app.host_wake.clone().unwrap_or_default(),
            self.state.outbox_notify.clone(),
        )
    }

    /// A scheduler sharing this application's database and wake-up signals.
    pub fn scheduler(&self) -> Scheduler {
        Scheduler::new(
            self.state.db.clone(),
            self.state.wake.clone(),
            self.state.outbox_notify.clone(),
        )
    }

    pub fn outbox(&self) -> anyhow::Result<Outbox> {
        let mailer = Mailer::from_settings(&self.state.settings)?;
        Ok(Outbox::new(
            self.state.db.clone(),
            mailer,
            self.state.clock.clone(),
            self.state.outbox_notify.clone(),
            self.state.settings.base_url.clone(),
            self.state.settings.timezone,
        )
        .with_channel_timeout(std::time::Duration::from_secs(u64::from(
            self.state.settings.channel_timeout_secs,
        )))
        .with_mail_burst(
            self.state.settings.mail_burst_threshold,
            self.state.settings.mail_burst_window_secs,
        ))
    }

    /// Ping retention over this application's database, as `HB_PING_RETENTION_DAYS` says.
    pub fn retention(&self) -> Retention {
        Retention::new(
            self.state.db.clone(),
            self.state.settings.ping_retention_days,
        )
    }

    /// Host roll-ups: writes finished minutes, deletes buckets past their age.
    pub fn rollups(&self) -> RollupJob {
        RollupJob::new(
            self.state.db.clone(),
            self.state.rollups.clone(),
            self.state.settings.minute_rollup_days,
            self.state.settings.hour_rollup_days,
        )
    }

    /// The HTTP server alone; tests drive the jobs themselves.
    pub fn into_server(self) -> Server {
        self.server
    }

    /// Serve with every background job running; the jobs stop when the server does.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let outbox = self.outbox()?;
        tracing::info!(mailer = %outbox.mailer().describe(), "alert delivery started");
        let _jobs = Runner::new(self.state.clock.clone())
            .with(self.scheduler())
            .with(self.staleness())
            .with(outbox)
            .with(self.retention())
            .with(self.rollups())
            .start();
        let served = self.server.await.context("HTTP server failed");
        // The minute in progress would be lost otherwise.
        if let Err(e) = self.state.rollups.flush(&self.state.db, None).await {
            tracing::warn!(error = %e, "cannot write the last host roll-ups");
        }
        served
    }
}
