//! Use cases shared by the JSON API, the web UI and the command line. Each takes a typed
//! draft, validates it once, stores the result and does what must follow (wake the
//! scheduler, forget cached credentials), so no front end repeats a rule.
//!
//! Errors carry the field and a [`Problem`](crate::domain::Problem) with a stable code:
//! the API shows them as JSON, the UI translates them, the CLI prints them.
pub mod audit;
pub mod channels;
pub mod host_metrics;
pub mod hosts;
pub mod keys;
pub mod maintenance;
pub mod presence;
pub mod reports;
pub mod services;
pub mod users;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::DatabaseConnection;

use crate::auth::Authenticator;
use crate::clock::SharedClock;
use crate::domain::role::{Action, KeyScope, Role};
use crate::domain::{FieldError, Problem};
use crate::jobs::scheduler::Wakeup;
use crate::store::{self, StoreError};

/// What a use case needs: storage, time, the default zone, and the in-process parts a
/// change must reach.
pub struct App {
    pub db: DatabaseConnection,
    pub clock: SharedClock,
    pub default_tz: Tz,
    pub auth: Arc<Authenticator>,
    /// The scheduler of this process, woken when a deadline may have moved. The CLI has
    /// none: running servers see its changes through the database.
    pub wake: Option<Arc<Wakeup>>,
    /// The host staleness job of this process, woken when an offline deadline may have
    /// moved; `None` from the CLI.
    pub host_wake: Option<Arc<Wakeup>>,
    /// Writes host reports (group commit); `None` from the CLI, which stores none.
    pub reports: Option<crate::store::host_reports::ReportWriter>,
    /// The latest snapshots, kept for the live view.
    pub live: Arc<crate::store::host_live::LiveHosts>,
    /// Host values summed per minute until the roll-up job writes them.
    pub rollups: Arc<crate::store::rollups::Rollups>,
    /// Push agents' open sockets (`/api/v1/agent/ws`).
    pub presence: Arc<presence::Presence>,
}

impl App {
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn deadlines_changed(&self) {
        if let Some(wake) = &self.wake {
            wake.poke();
        }
    }

    fn host_deadlines_changed(&self) {
        if let Some(wake) = &self.host_wake {
            wake.poke();
        }
    }

    fn credentials_changed(&self) {
        self.auth.invalidate();
    }

    /// Append to the audit log. The change itself has committed; a log that cannot be
    /// written is reported, not turned into a failed request.
    async fn audit(&self, actor: &Actor, action: &str, target: &str, detail: Option<&str>) {
        let entry = store::audit::Entry {
            at: self.now(),
            actor_id: actor.user_id,
            actor: &actor.name,
            source: actor.source.as_deref(),
            action,
            target: Some(target),
            detail,
        };
        if let Err(e) = store::audit::record(&self.db, &entry).await {
            tracing::error!(error = %e, action, target, "cannot write the audit log");
        }
    }
}

/// Who is asking, with what rights, from where: a signed-in user, an API caller (whose
/// key scope may narrow the role), or the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `None` for the command line.
    pub user_id: Option<i64>,
    pub name: String,
    pub role: Role,
    pub scope: KeyScope,
    /// The client address, or `cli`.
    pub source: Option<String>,
}

impl Actor {
    /// The operator at the server's command line: may do everything.
    pub fn cli() -> Self {
        Self {
            user_id: None,
            name: "cli".into(),
            role: Role::Admin,
            scope: KeyScope::Full,
            source: Some("cli".into()),
        }
    }

    pub fn user(user: &crate::entity::users::Model, source: Option<String>) -> Self {
        Self {
            user_id: Some(user.id),
            name: user.name.clone(),
            role: user.role,
            scope: KeyScope::Full,
            source,
        }
    }

    pub fn may(&self, action: Action) -> bool {
        self.role.allows(action) && self.scope.allows(action)
    }

    /// Refuse with 403 unless the role and the key scope both allow `action`.
    pub fn require(&self, action: Action) -> AppResult<()> {
        if self.may(action) {
            Ok(())
        } else {
            tracing::info!(actor = %self.name, role = %self.role, scope = %self.scope, action = action.as_str(), "refused");
            Err(AppError::Forbidden(action))
        }
    }

    /// Whether `user_id` is the actor's own account.
    pub fn is(&self, user_id: i64) -> bool {
        self.user_id == Some(user_id)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// One or more values were refused; never empty.
    #[error("{}", .0.first().map(ToString::to_string).unwrap_or_default())]
    Invalid(Vec<FieldError>),
    /// A value inside a request body was refused; `path` names it, e.g.
    /// `reports[3].disks[0].used_pct`.
    #[error("{path}: {problem}")]
    InvalidAt { path: String, problem: Problem },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("not allowed: {} needs a role or key scope that allows it", .0.as_str())]
    Forbidden(Action),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl AppError {
    pub fn invalid(e: FieldError) -> Self {
        AppError::Invalid(vec![e])
    }

    /// The refused fields, for forms that show each next to its input.
    pub fn fields(&self) -> &[FieldError] {
        match self {
            AppError::Invalid(v) => v,
            _ => &[],
        }
    }
}

impl From<FieldError> for AppError {
    fn from(e: FieldError) -> Self {
        AppError::invalid(e)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => AppError::NotFound(what),
            StoreError::Conflict(f) | StoreError::Invalid(f) => AppError::invalid(f),
            other => AppError::Store(other),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// Collects every refused value of a draft, so a form can show them all at once.
#[derive(Debug, Default)]
pub struct Check(Vec<FieldError>);

impl Check {
    /// Keep the value, or remember why it was refused.
    pub fn take<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    /// Remember a refused value.
    pub fn refuse(&mut self, e: FieldError) {
        self.0.push(e);
    }

    pub fn finish(self) -> AppResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Invalid(self.0))
        }
    }
}
