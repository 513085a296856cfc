//! Chat robots and webhooks: DingTalk, WeCom, Feishu / Lark, Slack, Telegram, ntfy, Gotify
//! and generic webhooks. Renders a [`Message`] for a [`Target`]'s kind and language
//! ([`text`]) and sends it over one HTTP client. What each kind sends is documented in
//! `docs/CHANNELS.md`.
use std::time::Duration;

use reqwest::{RequestBuilder, Response, StatusCode};
use url::Url;

use super::message::{Message, SendError, Target};
use crate::domain::channel::{ChannelKind, MASK};

mod apps;
mod robots;
pub mod template;
pub mod text;
mod webhook;

/// Vendor replies and error texts are cut to this many characters.
const MAX_ERROR_CHARS: usize = 300;

/// One HTTP client for every channel (connection reuse, one timeout).
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
}

impl Sender {
    pub fn new(timeout: Duration) -> Self {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("Heartbeats/", env!("CARGO_PKG_VERSION")))
            .build()
            // Building fails only when the TLS backend cannot start; nothing works then.
            .unwrap_or_else(|_| reqwest::Client::new());
        Self { client }
    }

    /// Send one message; `Err` says why, and whether a retry may help. The error's text
    /// names the channel by kind and host only and never holds a secret.
    pub async fn send(&self, target: &Target, msg: &Message) -> Result<(), SendError> {
        let call = Call {
            client: &self.client,
            target,
            what: describe(target),
        };
        let sent = match target.kind {
            ChannelKind::Email => Err(SendError::fatal(
                "email channels are delivered by the outbox's mailer, not the chat sender",
            )),
            ChannelKind::Dingtalk => robots::dingtalk(&call, msg).await,
            ChannelKind::Wecom => robots::wecom(&call, msg).await,
            ChannelKind::Feishu => robots::feishu(&call, msg).await,
            ChannelKind::Slack => apps::slack(&call, msg).await,
            ChannelKind::Telegram => apps::telegram(&call, msg).await,
            ChannelKind::Ntfy => apps::ntfy(&call, msg).await,
            ChannelKind::Gotify => apps::gotify(&call, msg).await,
            ChannelKind::Webhook => webhook::send(&call, msg).await,
        };
        sent.map_err(|e| SendError {
            text: scrub(&e.text, target),
            retryable: e.retryable,
        })
    }
}

/// One delivery in progress: the client, the channel and how errors name it.
struct Call<'a> {
    client: &'a reqwest::Client,
    target: &'a Target,
    /// `dingtalk (oapi.dingtalk.com)`.
    what: String,
}

impl Call<'_> {
    /// The channel's URL setting, parsed.
    fn url(&self) -> Result<Url, SendError> {
        let raw = self.target.settings.url.as_deref().unwrap_or_default();
        Url::parse(raw)
            .map_err(|_| SendError::fatal(format!("{}: the URL is not valid", self.what)))
    }

    fn setting<'s>(&self, value: &'s Option<String>, name: &str) -> Result<&'s str, SendError> {
        value
            .as_deref()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| SendError::fatal(format!("{}: no {name} is set", self.what)))
    }

    /// Send the request; a transport error or an HTTP failure becomes a [`SendError`]. On
    /// a 2xx status the reply body is returned for the vendor's own verdict.
    async fn execute(&self, req: RequestBuilder) -> Result<String, SendError> {
        let reply = req.send().await.map_err(|e| self.transport(e))?;
        let status = reply.status();
        let body = read_body(reply).await;
        if status.is_success() {
            return Ok(body);
        }
        let text = format!(
            "{}: HTTP {}{}",
            self.what,
            status.as_u16(),
            snippet(&body).map(|s| format!(": {s}")).unwrap_or_default()
        );
        Err(if retryable_status(status) {
            SendError::retry(text)
        } else {
            SendError::fatal(text)
        })
    }

    fn transport(&self, e: reqwest::Error) -> SendError {
        let e = e.without_url();
        let kind = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "could not connect"
        } else {
            "request failed"
        };
        let mut text = format!("{}: {kind}: {e}", self.what);
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        // Every transport failure may pass: a network, a proxy, a server restarting.
        SendError::retry(cut(&text, MAX_ERROR_CHARS))
    }
}

async fn read_body(reply: Response) -> String {
    reply.text().await.unwrap_or_default()
}

/// 408, 429 and 5xx may pass; any other refusal (400, 401, 403, 404, …) needs a person.
fn retryable_status(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
}

/// A reply body, whitespace folded and cut, for an error text.
fn snippet(body: &str) -> Option<String> {
    let folded = body.split_whitespace().collect::<Vec<_>>().join(" ");
    (!folded.is_empty()).then(|| cut(&folded, MAX_ERROR_CHARS))
}

fn cut(s: &str, max: usize) -> String {
    text::cut_chars(s, max)
}

/// How an error names a channel: kind and host (`dingtalk (oapi.dingtalk.com)`), never the
/// URL's path or query, which may hold its credential.
fn describe(target: &Target) -> String {
    let host = target
        .settings
        .url
        .as_deref()
        .and_then(|u| Url::parse(u).ok())
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_owned(),
            })
        })
        .unwrap_or_else(|| "no host".to_owned());
    format!("{} ({host})", target.kind)
}

/// Every secret a target holds, long enough to be recognised in a text.
fn secrets_of(target: &Target) -> Vec<String> {
    let s = &target.settings;
    let mut out: Vec<String> = [&s.secret, &s.token]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    out.extend(s.headers.values().cloned());
    if let Some(url) = s.url.as_deref().and_then(|u| Url::parse(u).ok()) {
        out.extend(url.query_pairs().map(|(_, v)| v.into_owned()));
        out.extend(url.path_segments().into_iter().flatten().map(str::to_owned));
        if let Some(p) = url.password() {
            out.push(p.to_owned());
        }
    }
    // Short values ("v2", "hook") would mangle ordinary words; real credentials are longer.
    out.retain(|v| v.len() >= 8);
    out.sort_by_key(|v| std::cmp::Reverse(v.len()));
    out
}

/// Belt and braces: whatever a vendor echoed or a library printed, no secret of the
/// target's leaves in an error text.
fn scrub(text: &str, target: &Target) -> String {
    let mut out = text.to_owned();
    for secret in secrets_of(target) {
        if out.contains(&secret) {
            out = out.replace(&secret, MASK);
        }
    }
    out
}

/// A vendor's JSON verdict (`errcode`, `code`, `ok`), for the robots that answer 200 and
/// say in the body whether they took the message.
fn parse_json(body: &str) -> Option<serde_json::Value> {
    serde_json::from_str(body).ok()
}
