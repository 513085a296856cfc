//! Chat robots and webhooks: DingTalk, WeCom, Feishu / Lark, Slack, Telegram, ntfy, Gotify
//! and generic webhooks. Renders a [`Message`] for a [`Target`]'s kind and language and
//! sends it. (Being built: this placeholder refuses every message.)
use std::time::Duration;

use super::message::{Message, SendError, Target};

/// One HTTP client for every channel (connection reuse, one timeout).
#[derive(Clone)]
pub struct Sender {
    timeout: Duration,
}

impl Sender {
    pub fn new(timeout: Duration) -> Self {
        Self { timeout }
    }

    /// Send one message; `Err` says why, and whether a retry may help.
    pub async fn send(&self, target: &Target, msg: &Message) -> Result<(), SendError> {
        let _ = (target, msg, self.timeout);
        Err(SendError::fatal("chat channels are not built yet"))
    }
}
