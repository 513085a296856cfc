//! Request and response bodies shared by the server, `hb-agent` and the tests.
#![forbid(unsafe_code)]

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Maximum ping data accepted by default (bytes); the server's limit is configurable.
pub const DEFAULT_MAX_PING_DATA: usize = 100 * 1024;

/// What `/api/pings` answers when a ping was stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PingAccepted {
    pub ok: bool,
    pub service: String,
    /// `success` or `error`.
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
