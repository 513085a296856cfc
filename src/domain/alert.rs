//! Where an alert stands in the outbox.
use sea_orm::DeriveValueType;
use serde::{Deserialize, Serialize};

use super::closed_set;

/// `pending` until delivered (`sent`) or given up on (`failed`). `held`: waiting for a
/// snooze or maintenance window to end (then sent if what it is about still stands);
/// `skipped`: not sent because it no longer stood (the service recovered meanwhile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, DeriveValueType)]
#[serde(rename_all = "lowercase")]
#[sea_orm(value_type = "String")]
pub enum AlertState {
    Pending,
    Sent,
    Failed,
    Held,
    Skipped,
}

closed_set!(AlertState, "alert state", {
    Pending => "pending",
    Sent => "sent",
    Failed => "failed",
    Held => "held",
    Skipped => "skipped",
});

impl AlertState {
    /// Whether the outbox still has work to do for the alert.
    pub fn is_open(self) -> bool {
        matches!(self, AlertState::Pending | AlertState::Held)
    }
}

/// Why an alert row exists: a flip's own message, or a reminder that something is still
/// down (`alerts.seq` counts them, 1 for the first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, DeriveValueType)]
#[serde(rename_all = "lowercase")]
#[sea_orm(value_type = "String")]
pub enum AlertPurpose {
    Flip,
    Reminder,
}

closed_set!(AlertPurpose, "alert purpose", {
    Flip => "flip",
    Reminder => "reminder",
});

/// Whether an alert (or a silence) is about a service or a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubjectKind {
    Service,
    Host,
}
