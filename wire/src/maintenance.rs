//! Maintenance windows (`/api/v1/maintenance`) and snoozes
//! (`/api/v1/services/{id}/snooze`, `/api/v1/hosts/{id}/snooze`).
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A maintenance window as the API shows it. Fields another `repeat` does not use are
/// `null` (`days`: empty).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Window {
    pub id: String,
    pub name: String,
    /// Empty: every service or host.
    pub tags: Vec<String>,
    /// `all`, `services` or `hosts`.
    pub applies_to: String,
    /// `once`, `daily` or `weekly`.
    pub repeat: String,
    /// weekly: `mon` … `sun`, the days an occurrence starts on.
    pub days: Vec<String>,
    /// daily, weekly: `HH:MM` in `timezone`.
    pub start_time: Option<String>,
    /// daily, weekly: seconds.
    pub duration: Option<i64>,
    pub timezone: String,
    /// once: the window.
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// When the occurrence open now ends; `null` when the window is not open.
    pub active_until: Option<DateTime<Utc>>,
    /// The next start after now; `null` for a one-off window that has started.
    pub next_start: Option<DateTime<Utc>>,
}

/// Body of `POST /api/v1/maintenance`; on `PATCH` every field is optional and what is
/// left out stays.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WindowInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applies_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// RFC 3339, or `YYYY-MM-DDTHH:MM` in `timezone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<String>,
}

/// Body of `POST …/snooze`: `minutes` (1 … 43200) or `until` (RFC 3339), not both.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SnoozeInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

/// What `/api/pings/snooze` answers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SnoozeAccepted {
    pub ok: bool,
    pub service: String,
    pub snoozed_until: DateTime<Utc>,
}
