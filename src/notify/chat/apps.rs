//! Chat and push apps: Slack incoming webhooks, Telegram bots, ntfy and Gotify. Their
//! refusals come as HTTP statuses (checked in `Call::execute`).
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use super::text::{Doc, Tone, doc};
use super::{Call, parse_json, snippet};
use crate::notify::message::{Message, SendError};

/// Slack's mrkdwn: `&`, `<` and `>` are control characters.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn slack_text(d: &Doc) -> String {
    let mut out = format!("*{}*", slack_escape(&d.title));
    for line in &d.lines {
        out.push('\n');
        let text = slack_escape(&line.text);
        match &line.href {
            Some(href) => out.push_str(&format!("<{}|{text}>", slack_escape(href))),
            None => out.push_str(&text),
        }
    }
    out
}

pub(super) async fn slack(call: &Call<'_>, msg: &Message) -> Result<(), SendError> {
    let url = call.url()?;
    let d = doc(msg, call.target.lang);
    let body = json!({ "text": slack_text(&d) });
    // Slack answers `ok` with 200, and a refusal with a 4xx and a word (`invalid_payload`).
    call.execute(call.client.post(url).json(&body)).await?;
    Ok(())
}

/// Telegram's HTML parse mode knows `&lt;`, `&gt;`, `&amp;` and `&quot;`.
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn telegram_html(d: &Doc) -> String {
    let mut out = format!("<b>{}</b>", html_escape(&d.title));
    for line in &d.lines {
        out.push('\n');
        let text = html_escape(&line.text);
        match &line.href {
            Some(href) => out.push_str(&format!("<a href=\"{}\">{text}</a>", html_escape(href))),
            None => out.push_str(&text),
        }
    }
    out
}

pub(super) async fn telegram(call: &Call<'_>, msg: &Message) -> Result<(), SendError> {
    let base = call.url()?;
    let token = call.setting(&call.target.settings.token, "bot token")?;
    let chat_id = call.setting(&call.target.settings.chat_id, "chat id")?;
    let url = format!(
        "{}/bot{token}/sendMessage",
        base.as_str().trim_end_matches('/')
    );
    let d = doc(msg, call.target.lang);
    let body = json!({
        "chat_id": chat_id,
        "text": telegram_html(&d),
        "parse_mode": "HTML",
        "disable_web_page_preview": true,
    });
    let reply = call.execute(call.client.post(url).json(&body)).await?;
    match parse_json(&reply) {
        Some(v) if v.get("ok").and_then(Value::as_bool) == Some(false) => {
            Err(SendError::retry(format!(
                "{}: Telegram refused the message: {}",
                call.what,
                snippet(&reply).unwrap_or_default()
            )))
        }
        _ => Ok(()),
    }
}

/// An HTTP header value must be ASCII: anything else goes as an RFC 2047 encoded word,
/// which ntfy decodes.
pub fn header_text(s: &str) -> String {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        s.to_owned()
    } else {
        format!("=?UTF-8?B?{}?=", BASE64.encode(s))
    }
}

pub(super) async fn ntfy(call: &Call<'_>, msg: &Message) -> Result<(), SendError> {
    let base = call.url()?;
    let topic = call.setting(&call.target.settings.topic, "topic")?;
    let url = format!("{}/{topic}", base.as_str().trim_end_matches('/'));
    let d = doc(msg, call.target.lang);
    let (tags, priority) = match d.tone {
        Tone::Down => ("rotating_light", "4"),
        Tone::Up | Tone::Info => ("white_check_mark", "3"),
    };
    let mut req = call
        .client
        .post(url)
        .header("Title", header_text(&d.title))
        .header("Tags", tags)
        .header("Priority", priority)
        .header("Content-Type", "text/plain; charset=utf-8")
        .body(d.plain_body());
    if let Some(link) = &d.link {
        req = req.header("Click", header_text(link));
    }
    if let Some(token) = call.target.settings.token.as_deref() {
        req = req.bearer_auth(token);
    }
    call.execute(req).await?;
    Ok(())
}

fn gotify_markdown(d: &Doc) -> String {
    let mut out = String::new();
    for line in &d.lines {
        if !out.is_empty() {
            out.push_str("  \n");
        }
        let text = line.text.replace('\n', "  \n");
        match &line.href {
            Some(href) => out.push_str(&format!("[{text}]({href})")),
            None => out.push_str(&text),
        }
    }
    out
}

pub(super) async fn gotify(call: &Call<'_>, msg: &Message) -> Result<(), SendError> {
    let base = call.url()?;
    let token = call.setting(&call.target.settings.token, "app token")?;
    let url = format!("{}/message", base.as_str().trim_end_matches('/'));
    let d = doc(msg, call.target.lang);
    // Gotify's Android app pops up 8 and above and rings for 4 to 7.
    let priority = if d.tone == Tone::Down { 8 } else { 5 };
    let mut extras = json!({ "client::display": { "contentType": "text/markdown" } });
    if let Some(link) = &d.link {
        extras["client::notification"] = json!({ "click": { "url": link } });
    }
    let body = json!({
        "title": d.title,
        "message": gotify_markdown(&d),
        "priority": priority,
        "extras": extras,
    });
    let req = call
        .client
        .post(url)
        .header("X-Gotify-Key", token)
        .json(&body);
    call.execute(req).await?;
    Ok(())
}
