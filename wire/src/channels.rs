//! The channels API (`/api/v1/channels`): a channel as the server shows it, with its
//! settings flat beside its name and kind, secrets masked (`••••` and the last four
//! characters at most).
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A channel's settings; each kind uses some (see the README's channel table).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ChannelSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Values masked.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_down: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_up: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burst_threshold: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burst_window_secs: Option<u32>,
}

/// A channel.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Channel {
    pub id: String,
    pub name: String,
    /// `email`, `webhook`, `dingtalk`, `wecom`, `feishu`, `slack`, `telegram`, `ntfy` or
    /// `gotify`.
    pub kind: String,
    /// The messages' language: `en` or `zh`.
    pub lang: String,
    /// Whether new services and hosts that name no channels get this one.
    pub default_for_new: bool,
    #[serde(flatten)]
    pub settings: ChannelSettings,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What `POST /api/v1/channels/{id}/test` answers: `200` with `{"ok": true}` when the
/// message was accepted, `502` with `{"ok": false, "error": "…"}` when the channel refused
/// it or could not be reached.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChannelTest {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
