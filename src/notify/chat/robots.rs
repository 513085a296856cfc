//! The group robots of Chinese workplace chats: DingTalk, WeCom (企业微信) and Feishu / Lark.
//! All three answer HTTP 200 and say in the JSON body whether they took the message; a
//! refusal there is retried, because their refusals include throttling (DingTalk 130101,
//! WeCom 45009) and settings a person fixes while the alert waits (a wrong secret).
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::text::{Doc, Tone, doc};
use super::{Call, MAX_ERROR_CHARS, cut, parse_json};
use crate::domain::channel::MessageLang;
use crate::notify::message::{Message, SendError};

/// WeCom refuses markdown content over this many bytes (UTF-8).
pub const WECOM_MAX_BYTES: usize = 4096;

type HmacSha256 = Hmac<Sha256>;

fn hmac_base64(key: &[u8], message: &[u8]) -> String {
    // HMAC takes a key of any length, so this never refuses.
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return String::new();
    };
    mac.update(message);
    BASE64.encode(mac.finalize().into_bytes())
}

/// DingTalk's signature: base64(HMAC-SHA256(key = secret, message = `timestamp\nsecret`)),
/// `timestamp` in milliseconds. It goes into the query URL-encoded.
pub fn dingtalk_sign(timestamp_ms: i64, secret: &str) -> String {
    hmac_base64(
        secret.as_bytes(),
        format!("{timestamp_ms}\n{secret}").as_bytes(),
    )
}

/// Feishu's signature: base64(HMAC-SHA256(key = `timestamp\nsecret`, message = empty)),
/// `timestamp` in seconds.
pub fn feishu_sign(timestamp_secs: i64, secret: &str) -> String {
    hmac_base64(format!("{timestamp_secs}\n{secret}").as_bytes(), b"")
}

/// Markdown with a link per linked line; `break_` joins lines (and the lines inside one).
fn markdown(d: &Doc, title: String, join: &str, inner_break: &str) -> String {
    let mut out = title;
    for line in &d.lines {
        out.push_str(join);
        let text = line.text.replace('\n', inner_break);
        match &line.href {
            Some(href) => out.push_str(&format!("[{text}]({href})")),
            None => out.push_str(&text),
        }
    }
    out
}

/// The JSON verdict of a robot: `errcode` (DingTalk, WeCom) or `code` / `StatusCode`
/// (Feishu) other than 0 is a refusal.
fn verdict(call: &Call<'_>, vendor: &str, body: &str) -> Result<(), SendError> {
    let Some(v) = parse_json(body) else {
        // A private gateway may answer plain text; the HTTP status already said 2xx.
        return Ok(());
    };
    let code = ["errcode", "code", "StatusCode"].iter().find_map(|k| {
        v.get(*k)
            .and_then(Value::as_i64)
            .filter(|c| *c != 0)
            .map(|c| (*k, c))
    });
    let Some((field, code)) = code else {
        return Ok(());
    };
    let msg = ["errmsg", "msg", "StatusMessage"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str))
        .unwrap_or("");
    let hint = match code {
        310000 | 19021 => "; check the signing secret and the server's clock",
        130101 | 45009 | 11232 => "; the robot is throttling messages, will retry",
        _ => "; will retry",
    };
    Err(SendError::retry(cut(
        &format!(
            "{}: {vendor} refused the message: {field} {code} ({}){hint}",
            call.what,
            cut(msg, 200)
        ),
        MAX_ERROR_CHARS,
    )))
}

pub(super) async fn dingtalk(call: &Call<'_>, msg: &Message) -> Result<(), SendError> {
    let mut url = call.url()?;
    if let Some(secret) = call.target.settings.secret.as_deref() {
        let ts = chrono::Utc::now().timestamp_millis();
        url.query_pairs_mut()
            .append_pair("timestamp", &ts.to_string())
            .append_pair("sign", &dingtalk_sign(ts, secret));
    }
    let d = doc(msg, call.target.lang);
    // The title is what the notification preview shows; the text repeats it as a heading.
    let text = markdown(&d, format!("#### {}", d.title), "\n\n", "  \n");
    let body = json!({
        "msgtype": "markdown",
        "markdown": { "title": d.title, "text": text },
    });
    let reply = call.execute(call.client.post(url).json(&body)).await?;
    verdict(call, "DingTalk", &reply)
}

/// Cut `s` to at most `max` bytes on a character boundary, marking the cut with "…".
pub fn cut_bytes(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let room = max.saturating_sub('…'.len_utf8());
    let mut end = room;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

pub(super) async fn wecom(call: &Call<'_>, msg: &Message) -> Result<(), SendError> {
    let url = call.url()?;
    let d = doc(msg, call.target.lang);
    let colour = match d.tone {
        Tone::Down => "warning",
        Tone::Up => "info",
        Tone::Info => "comment",
    };
    let title = format!("<font color=\"{colour}\">**{}**</font>", d.title);
    let content = cut_bytes(&markdown(&d, title, "\n", "\n"), WECOM_MAX_BYTES);
    let body = json!({ "msgtype": "markdown", "markdown": { "content": content } });
    let reply = call.execute(call.client.post(url).json(&body)).await?;
    verdict(call, "WeCom", &reply)
}

pub(super) async fn feishu(call: &Call<'_>, msg: &Message) -> Result<(), SendError> {
    let url = call.url()?;
    let d = doc(msg, call.target.lang);
    let paragraphs: Vec<Value> = d
        .lines
        .iter()
        .map(|line| match &line.href {
            Some(href) => json!([{ "tag": "a", "text": line.text, "href": href }]),
            None => json!([{ "tag": "text", "text": line.text }]),
        })
        .collect();
    let locale = match call.target.lang {
        MessageLang::Zh => "zh_cn",
        MessageLang::En => "en_us",
    };
    let mut body = json!({
        "msg_type": "post",
        "content": { "post": { locale: { "title": d.title, "content": paragraphs } } },
    });
    if let Some(secret) = call.target.settings.secret.as_deref() {
        let ts = chrono::Utc::now().timestamp();
        body["timestamp"] = json!(ts.to_string());
        body["sign"] = json!(feishu_sign(ts, secret));
    }
    let reply = call.execute(call.client.post(url).json(&body)).await?;
    verdict(call, "Feishu", &reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_cuts_land_on_character_boundaries() {
        let s = "故障".repeat(2000);
        let c = cut_bytes(&s, WECOM_MAX_BYTES);
        assert!(c.len() <= WECOM_MAX_BYTES);
        assert!(c.ends_with('…'));
        assert_eq!(cut_bytes("short", 10), "short");
    }
}
