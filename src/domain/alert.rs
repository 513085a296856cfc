//! Where an alert stands in the outbox.
use sea_orm::DeriveValueType;
use serde::{Deserialize, Serialize};

use super::closed_set;

/// `pending` until delivered (`sent`) or given up on (`failed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, DeriveValueType)]
#[serde(rename_all = "lowercase")]
#[sea_orm(value_type = "String")]
pub enum AlertState {
    Pending,
    Sent,
    Failed,
}

closed_set!(AlertState, "alert state", {
    Pending => "pending",
    Sent => "sent",
    Failed => "failed",
});

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
