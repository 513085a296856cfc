//! What a channel message says, before it is written for one kind of channel: built by the
//! outbox from flips (services' and hosts'), rendered by `notify::chat` in the channel's
//! language.
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use crate::domain::channel::{ChannelKind, ChannelSettings, MessageLang};
use crate::domain::host::HostReason;
use crate::domain::status::Reason;

pub use crate::domain::alert::SubjectKind;

/// Why the message goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    Service(Reason),
    Host(HostReason),
}

impl Cause {
    /// A recovery (service `recovered`, host `recovered` / `cleared`).
    pub fn is_up(self) -> bool {
        match self {
            Cause::Service(r) => r == Reason::Recovered,
            Cause::Host(r) => matches!(r, HostReason::Recovered | HostReason::Cleared),
        }
    }
}

/// One flip as a channel tells it.
#[derive(Debug, Clone)]
pub struct AlertItem {
    pub subject: SubjectKind,
    /// The service's or host's id and name.
    pub id: String,
    pub name: String,
    pub cause: Cause,
    /// The status it flipped to: `down`, `up`, `degraded`, …
    pub status: String,
    /// The reported data (a service's ping data), or a host's problem lines (one per line).
    pub detail: Option<String>,
    /// When it flipped.
    pub at: DateTime<Utc>,
    /// When the service was due, and when it (or the host) was last seen well.
    pub due_at: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    /// The zone times are shown in (the service's; the server's default for hosts). UTC is
    /// always shown as well.
    pub tz: Tz,
    /// Its page: `HB_BASE_URL` + `/services/{id}` or `/hosts/{id}`.
    pub link: String,
    pub tags: Vec<String>,
    /// For a recovery: how long the outage lasted.
    pub outage: Option<Duration>,
    /// For a reminder: which one (1, 2, …) and for how long it has been down by now.
    pub reminder: Option<u32>,
    pub down_for: Option<Duration>,
}

/// What one request to a channel carries. Built and dropped per delivery, so the size
/// difference between its variants costs nothing worth a box.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum Message {
    /// One alert.
    One(AlertItem),
    /// Many alerts that happened together, in one message (a burst): a count by status
    /// and a line per item (at most [`MAX_BURST_LINES`], then "and N more").
    Burst(Vec<AlertItem>),
    /// "Send a test message" from the channel's page.
    Test { base_url: String },
}

pub const MAX_BURST_LINES: usize = 30;

/// A channel as the sender needs it: kind, language and its (unmasked) settings.
#[derive(Debug, Clone)]
pub struct Target {
    pub id: String,
    pub name: String,
    pub kind: ChannelKind,
    pub lang: MessageLang,
    pub settings: ChannelSettings,
}

/// Why a delivery failed, with whether trying again later may help. The text never holds
/// a secret (no URL with its token, no signing secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text}")]
pub struct SendError {
    pub text: String,
    pub retryable: bool,
}

impl SendError {
    pub fn retry(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            retryable: true,
        }
    }

    pub fn fatal(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            retryable: false,
        }
    }
}
