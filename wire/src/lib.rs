//! Request and response bodies shared by the server, `hb-agent` and the tests.
#![forbid(unsafe_code)]

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub mod agent;
pub mod channels;
pub mod hosts;
pub mod maintenance;

/// Maximum ping data accepted by default (bytes); the server's limit is configurable.
pub const DEFAULT_MAX_PING_DATA: usize = 100 * 1024;

/// What `/api/pings` answers when a ping was stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PingAccepted {
    pub ok: bool,
    pub service: String,
    /// `success`, `error`, `start` or `log`.
    pub kind: String,
    /// The service's status after this ping.
    pub status: String,
    pub received_at: DateTime<Utc>,
}

/// Every JSON error the API returns.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErrorBody {
    pub error: String,
    /// The request field the error is about, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// A stable, machine-readable name for the error (`required`, `cron_out_of_range`,
    /// `name_taken`, `not_found`, …), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// The JSON API's resources (`/api/v1/…`), as the server sends them. Closed sets (status,
/// kind, reason, state) travel as their lower-case names.
pub mod api {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Serialize};

    /// A service: durations in seconds, times in UTC.
    #[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
    pub struct Service {
        pub id: String,
        pub name: String,
        /// `interval`, `daily` or `cron`.
        pub kind: String,
        pub period: Option<i64>,
        /// `HH:MM` for a daily service.
        pub at: Option<String>,
        pub cron: Option<String>,
        pub timezone: String,
        pub grace: i64,
        pub tags: Vec<String>,
        pub notify: Vec<String>,
        /// `new`, `up`, `late`, `down` or `paused`.
        pub status: String,
        /// The schedule in words, e.g. `every 2 h`.
        pub schedule: String,
        pub last_ping_at: Option<DateTime<Utc>>,
        /// `success` or `error`.
        pub last_ping_kind: Option<String>,
        pub next_due_at: Option<DateTime<Utc>>,
        pub down_at: Option<DateTime<Utc>>,
        pub created_at: DateTime<Utc>,
        pub ping_url: String,
        /// Channel ids alerts go to, besides `notify`.
        #[serde(default)]
        pub channels: Vec<String>,
        /// Remind every so many seconds while down (`null`: no reminders), at most `remind_max` times.
        #[serde(default)]
        pub remind_every: Option<i64>,
        #[serde(default)]
        pub remind_max: i32,
        /// No alert goes out before this time; statuses still change.
        #[serde(default)]
        pub snoozed_until: Option<DateTime<Utc>>,
        /// The secret of the healthchecks-compatible URL `/ping/<uuid>`.
        #[serde(default)]
        pub ping_uuid: String,
        /// `<base>/ping/<ping_uuid>`, for healthchecks clients.
        #[serde(default)]
        pub uuid_ping_url: String,
        /// For `/ping/<ping-key>/<slug>`.
        #[serde(default)]
        pub slug: String,
        /// Seconds: a run open longer is hung, a run that took longer failed.
        #[serde(default)]
        pub max_run: Option<i64>,
        /// Seconds: a run that took less failed.
        #[serde(default)]
        pub min_run: Option<i64>,
        /// Go down at this many failures in a row.
        #[serde(default)]
        pub fail_after: i32,
        /// Failures in a row so far.
        #[serde(default)]
        pub fail_streak: i32,
        /// Runs started and not finished.
        #[serde(default)]
        pub open_runs: i32,
        /// How long the last finished run took, milliseconds.
        #[serde(default)]
        pub last_duration_ms: Option<i64>,
        #[serde(default)]
        pub description: String,
    }

    /// One run of a job: a start and the finish paired with it.
    #[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
    pub struct Run {
        pub id: i64,
        pub rid: Option<String>,
        pub started_at: DateTime<Utc>,
        pub ended_at: Option<DateTime<Utc>>,
        pub duration_ms: Option<i64>,
        pub exit_status: Option<i32>,
        /// `running`, `hung`, `success`, `failure`, `too_short`, `too_long` or `abandoned`.
        pub outcome: String,
        pub output: String,
    }

    /// One stored ping.
    #[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
    pub struct Ping {
        pub id: i64,
        pub at: DateTime<Utc>,
        /// `success`, `error`, `start` or `log`.
        pub kind: String,
        pub data: String,
        pub source: Option<String>,
        pub user_agent: Option<String>,
        #[serde(default)]
        pub rid: Option<String>,
        #[serde(default)]
        pub exit_status: Option<i32>,
    }

    /// A status change and why.
    #[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
    pub struct Flip {
        pub id: i64,
        pub at: DateTime<Utc>,
        pub from: String,
        pub to: String,
        /// `late`, `missed`, `error`, `recovered` or `back`.
        pub reason: String,
        pub data: Option<String>,
    }

    /// One alert in the outbox and how its delivery stands.
    #[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
    pub struct Alert {
        pub id: i64,
        /// The flip behind it: a service's flip, or for a host's alert the host's flip.
        pub flip_id: i64,
        /// The service it is about; `None` for a host's alert.
        pub service_id: Option<String>,
        /// The host it is about; `None` for a service's alert.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub host_id: Option<String>,
        /// The address, or for a channel's alert the channel's id.
        pub recipient: String,
        /// The channel it goes to; `None` for a `notify` address.
        #[serde(default)]
        pub channel_id: Option<String>,
        /// `flip` (the flip's own message) or `reminder` (number `seq`).
        #[serde(default)]
        pub purpose: String,
        #[serde(default)]
        pub seq: i32,
        /// `pending`, `sent`, `failed`, `held` (waiting for a snooze or maintenance window
        /// to end) or `skipped` (no longer true when it was due; `last_error` says why).
        pub state: String,
        pub attempts: i32,
        pub next_attempt_at: Option<DateTime<Utc>>,
        pub last_error: Option<String>,
        pub sent_at: Option<DateTime<Utc>>,
        pub created_at: DateTime<Utc>,
    }

    /// `GET /api/v1/schedule/preview`: the next fire times.
    #[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
    pub struct SchedulePreview {
        pub schedule: String,
        pub timezone: String,
        pub times: Vec<DateTime<Utc>>,
    }

    /// A user (`/api/v1/users`, admins only).
    #[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
    pub struct User {
        pub name: String,
        pub email: Option<String>,
        /// `admin`, `member` or `viewer`.
        pub role: String,
        pub created_at: DateTime<Utc>,
    }

    /// One entry of the audit log (`/api/v1/audit`, admins only).
    #[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
    pub struct AuditEntry {
        pub id: i64,
        pub at: DateTime<Utc>,
        pub actor: String,
        pub source: Option<String>,
        /// e.g. `service.update`, `user.role`, `signin.failed`.
        pub action: String,
        pub target: Option<String>,
        pub detail: Option<String>,
    }
}
