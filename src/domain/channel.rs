//! Notification channels: where alerts go besides a service's own `notify` addresses.
//! A channel is a kind and its settings; the settings are checked here once, when saved,
//! and their secrets are masked here for every screen and answer.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use url::Url;

use super::{FieldError, Problem, closed_set, parse_notify};

/// What a channel talks to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sea_orm::DeriveValueType,
)]
#[serde(rename_all = "lowercase")]
#[sea_orm(value_type = "String")]
pub enum ChannelKind {
    Email,
    Webhook,
    Dingtalk,
    Wecom,
    Feishu,
    Slack,
    Telegram,
    Ntfy,
    Gotify,
}

closed_set!(ChannelKind, "channel kind", {
    Email => "email",
    Webhook => "webhook",
    Dingtalk => "dingtalk",
    Wecom => "wecom",
    Feishu => "feishu",
    Slack => "slack",
    Telegram => "telegram",
    Ntfy => "ntfy",
    Gotify => "gotify",
});

impl ChannelKind {
    /// Chat services and webhooks: one request per message, grouped into one message per
    /// burst. Email groups per recipient.
    pub fn is_chat(self) -> bool {
        self != ChannelKind::Email
    }

    /// Where the service lives when the URL is left out (`None`: the URL is required).
    pub fn default_url(self) -> Option<&'static str> {
        match self {
            ChannelKind::Telegram => Some("https://api.telegram.org"),
            ChannelKind::Ntfy => Some("https://ntfy.sh"),
            _ => None,
        }
    }
}

/// The language a channel's messages are written in.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    sea_orm::DeriveValueType,
)]
#[serde(rename_all = "lowercase")]
#[sea_orm(value_type = "String")]
pub enum MessageLang {
    #[default]
    En,
    Zh,
}

closed_set!(MessageLang, "language", {
    En => "en",
    Zh => "zh",
});

/// Every setting any kind has; each kind uses some (see [`ChannelSettings::validate`]).
/// Stored as one JSON document (`channels.settings`), secrets included; shown through
/// [`ChannelSettings::masked`] only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelSettings {
    /// webhook: the URL called; dingtalk, wecom, feishu, slack: the robot's webhook URL
    /// (with its `access_token` / `key`); telegram: the Bot API base (default
    /// `https://api.telegram.org`); ntfy, gotify: the server (ntfy default `https://ntfy.sh`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// dingtalk, feishu: the signing secret (optional).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// telegram: the bot token; ntfy: an access token (optional); gotify: the app token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// telegram: the chat id (`-100…` for groups, `@channel` for channels).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<String>,
    /// ntfy: the topic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// webhook: `POST` (default), `PUT`, `PATCH` or `GET`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// webhook: extra request headers. Their values are secrets (an `Authorization`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// webhook: the body sent when something goes down / comes back, with `{{variables}}`.
    /// Left out: the documented default JSON document.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_down: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_up: Option<String>,
    /// email: the addresses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<String>,
    /// Bursts: when at least this many alerts for this channel are ready together (or the
    /// channel sent this many within `burst_window_secs`), they go out as one message.
    /// 0 turns grouping off. Default [`DEFAULT_BURST_THRESHOLD`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burst_threshold: Option<u32>,
    /// Default [`DEFAULT_BURST_WINDOW_SECS`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burst_window_secs: Option<u32>,
}

pub const DEFAULT_BURST_THRESHOLD: u32 = 3;
pub const DEFAULT_BURST_WINDOW_SECS: u32 = 60;
pub const MAX_BURST_WINDOW_SECS: u32 = 3600;
pub const MAX_TEMPLATE_BYTES: usize = 16 * 1024;
pub const MAX_HEADERS: usize = 20;
const MAX_SETTING_CHARS: usize = 2048;

/// What a masked secret looks like: its last four characters after bullets, so people can
/// tell two tokens apart without reading either.
pub const MASK: &str = "••••";

/// Mask a secret: `••••abcd` (or `••••` when it is short).
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 12 {
        return MASK.to_owned();
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{MASK}{tail}")
}

/// Whether a value sent back is a masked secret (the form shows it; saving it keeps the
/// stored secret).
pub fn is_masked(value: &str) -> bool {
    value.starts_with(MASK)
}

/// Query parameters that carry a robot's credential in its URL.
const SECRET_QUERY_KEYS: &[&str] = &["access_token", "key", "token", "sign"];

/// A URL with its credentials masked: query values of `access_token`, `key`, `token`;
/// a user's password; a Telegram-style `/bot<token>` path segment; a Feishu or Slack hook
/// path's last segment.
pub fn mask_url(raw: &str) -> String {
    let Ok(mut url) = Url::parse(raw) else {
        return mask(raw);
    };
    if url.password().is_some() {
        let _ = url.set_password(Some(MASK));
    }
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if SECRET_QUERY_KEYS.contains(&k.as_ref()) {
                mask(&v)
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    if !pairs.is_empty() {
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    let host = url.host_str().unwrap_or("").to_owned();
    let hook_path =
        host.contains("feishu") || host.contains("larksuite") || host == "hooks.slack.com";
    if hook_path {
        let segments: Vec<String> = url
            .path_segments()
            .map(|s| s.map(str::to_owned).collect())
            .unwrap_or_default();
        if let Some((last, rest)) = segments.split_last() {
            let mut path = rest.join("/");
            path.push('/');
            path.push_str(&mask(last));
            url.set_path(&path);
        }
    }
    // Percent-encoded bullets read worse than bullets.
    url.to_string().replace("%E2%80%A2", "•")
}

/// What can go wrong with a channel, by field.
pub type ChannelErrors = Vec<FieldError>;

impl ChannelSettings {
    /// Check the settings for `kind` and normalise them (trimmed, defaults filled in,
    /// settings the kind does not use dropped). Every refused field is collected.
    pub fn validate(mut self, kind: ChannelKind) -> Result<Self, ChannelErrors> {
        let mut errors = Vec::new();
        let trim = |v: &mut Option<String>| {
            if let Some(s) = v {
                let t = s.trim();
                *v = (!t.is_empty()).then(|| t.to_owned());
            }
        };
        for v in [
            &mut self.url,
            &mut self.secret,
            &mut self.token,
            &mut self.chat_id,
            &mut self.topic,
            &mut self.method,
        ] {
            trim(v);
        }
        for (field, value) in [
            ("secret", &self.secret),
            ("token", &self.token),
            ("chat_id", &self.chat_id),
            ("topic", &self.topic),
        ] {
            if let Some(v) = value {
                if v.chars().count() > MAX_SETTING_CHARS {
                    errors.push(FieldError::new(
                        field,
                        Problem::TooLong {
                            max: MAX_SETTING_CHARS,
                        },
                    ));
                } else if v.chars().any(char::is_control) {
                    errors.push(FieldError::new(field, Problem::ControlCharacters));
                }
            }
        }
        use ChannelKind as K;
        let uses = |field: &str| -> bool {
            match field {
                "url" => kind != K::Email,
                "secret" => matches!(kind, K::Dingtalk | K::Feishu),
                "token" => matches!(kind, K::Telegram | K::Ntfy | K::Gotify),
                "chat_id" => kind == K::Telegram,
                "topic" => kind == K::Ntfy,
                "method" | "headers" | "body_down" | "body_up" => kind == K::Webhook,
                "to" => kind == K::Email,
                _ => true,
            }
        };
        if !uses("secret") {
            self.secret = None;
        }
        if !uses("token") {
            self.token = None;
        }
        if !uses("chat_id") {
            self.chat_id = None;
        }
        if !uses("topic") {
            self.topic = None;
        }
        if !uses("method") {
            self.method = None;
            self.headers.clear();
            self.body_down = None;
            self.body_up = None;
        }
        if !uses("to") {
            self.to.clear();
        }
        if kind == K::Email {
            self.url = None;
        } else {
            if self.url.is_none() {
                self.url = kind.default_url().map(str::to_owned);
            }
            match &self.url {
                None => errors.push(FieldError::new("url", Problem::Required)),
                Some(u) => {
                    if let Err(p) = check_url(u) {
                        errors.push(FieldError::new("url", p));
                    }
                }
            }
        }
        match kind {
            K::Telegram => {
                if self.token.is_none() {
                    errors.push(FieldError::new("token", Problem::Required));
                }
                if self.chat_id.is_none() {
                    errors.push(FieldError::new("chat_id", Problem::Required));
                }
            }
            K::Gotify if self.token.is_none() => {
                errors.push(FieldError::new("token", Problem::Required));
            }
            K::Ntfy => match &self.topic {
                None => errors.push(FieldError::new("topic", Problem::Required)),
                Some(t)
                    if t.len() > 64
                        || !t
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
                {
                    errors.push(FieldError::new("topic", Problem::BadTopic));
                }
                _ => {}
            },
            K::Email => {
                if self.to.is_empty() {
                    errors.push(FieldError::new("to", Problem::Required));
                } else {
                    match parse_notify(&self.to) {
                        Ok(list) => self.to = list.iter().map(|a| a.as_str().to_owned()).collect(),
                        Err(e) => errors.push(FieldError::new("to", e.problem)),
                    }
                }
            }
            K::Webhook => {
                let method = self
                    .method
                    .take()
                    .unwrap_or_else(|| "POST".to_owned())
                    .to_ascii_uppercase();
                if !["POST", "PUT", "PATCH", "GET"].contains(&method.as_str()) {
                    errors.push(FieldError::new(
                        "method",
                        super::UnknownValue {
                            what: "method",
                            value: method.clone(),
                            allowed: "POST, PUT, PATCH, GET".into(),
                        },
                    ));
                }
                self.method = Some(method);
                if self.headers.len() > MAX_HEADERS {
                    errors.push(FieldError::new(
                        "headers",
                        Problem::TooManyItems { max: MAX_HEADERS },
                    ));
                }
                for (name, value) in &self.headers {
                    let name_ok = !name.is_empty()
                        && name.len() <= 128
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
                    let value_ok = value.len() <= MAX_SETTING_CHARS
                        && !value.chars().any(|c| c.is_control() && c != '\t');
                    if !name_ok || !value_ok {
                        errors.push(FieldError::new(
                            "headers",
                            Problem::BadHeader { name: name.clone() },
                        ));
                    }
                }
                for (field, body) in [
                    ("body_down", &mut self.body_down),
                    ("body_up", &mut self.body_up),
                ] {
                    if body.as_deref().is_some_and(|b| b.trim().is_empty()) {
                        *body = None;
                    }
                    if body.as_ref().is_some_and(|b| b.len() > MAX_TEMPLATE_BYTES) {
                        errors.push(FieldError::new(
                            field,
                            Problem::TooLong {
                                max: MAX_TEMPLATE_BYTES,
                            },
                        ));
                    }
                }
            }
            _ => {}
        }
        if let Some(w) = self.burst_window_secs
            && !(1..=MAX_BURST_WINDOW_SECS).contains(&w)
        {
            errors.push(FieldError::new(
                "burst_window_secs",
                Problem::NumberRange {
                    min: 1,
                    max: MAX_BURST_WINDOW_SECS as i64,
                },
            ));
        }
        if let Some(t) = self.burst_threshold
            && t > 1000
        {
            errors.push(FieldError::new(
                "burst_threshold",
                Problem::NumberRange { min: 0, max: 1000 },
            ));
        }
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(errors)
        }
    }

    /// The settings as they may be shown: secrets, tokens, header values and the
    /// credentials in robot URLs masked.
    pub fn masked(&self) -> Self {
        let mut out = self.clone();
        out.url = self.url.as_deref().map(mask_url);
        out.secret = self.secret.as_deref().map(mask);
        out.token = self.token.as_deref().map(mask);
        out.headers = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), mask(v)))
            .collect();
        out
    }

    /// Apply an edit: a value sent back masked (as the form and the API showed it) keeps
    /// the stored secret; anything else replaces it.
    pub fn keep_secrets_from(mut self, stored: &ChannelSettings) -> Self {
        let keep = |new: &mut Option<String>, old: &Option<String>, masked: Option<String>| {
            if let Some(v) = new
                && (is_masked(v) || Some(v.clone()) == masked)
            {
                *new = old.clone();
            }
        };
        keep(&mut self.secret, &stored.secret, None);
        keep(&mut self.token, &stored.token, None);
        keep(
            &mut self.url,
            &stored.url,
            stored.url.as_deref().map(mask_url),
        );
        for (k, v) in self.headers.iter_mut() {
            if is_masked(v)
                && let Some(old) = stored.headers.get(k)
            {
                *v = old.clone();
            }
        }
        self
    }

    pub fn burst_threshold(&self) -> u32 {
        self.burst_threshold.unwrap_or(DEFAULT_BURST_THRESHOLD)
    }

    pub fn burst_window_secs(&self) -> u32 {
        self.burst_window_secs.unwrap_or(DEFAULT_BURST_WINDOW_SECS)
    }
}

fn check_url(raw: &str) -> Result<(), Problem> {
    if raw.chars().count() > MAX_SETTING_CHARS {
        return Err(Problem::TooLong {
            max: MAX_SETTING_CHARS,
        });
    }
    match Url::parse(raw) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(()),
        _ => Err(Problem::BadUrl),
    }
}

/// A channel's ids as stored on a service or host (`channels` column: comma-separated).
pub fn channels_from_column(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

pub fn channels_to_column(ids: &[String]) -> String {
    ids.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dingtalk(url: &str) -> ChannelSettings {
        ChannelSettings {
            url: Some(url.into()),
            secret: Some("SEC0123456789abcdef".into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_robot_needs_an_http_url() {
        let errs = ChannelSettings::default()
            .validate(ChannelKind::Dingtalk)
            .unwrap_err();
        assert_eq!(errs[0].field, "url");
        assert_eq!(errs[0].problem, Problem::Required);
        let errs = dingtalk("ftp://x/y")
            .validate(ChannelKind::Dingtalk)
            .unwrap_err();
        assert_eq!(errs[0].problem, Problem::BadUrl);
        assert!(
            dingtalk("https://oapi.dingtalk.com/robot/send?access_token=abc")
                .validate(ChannelKind::Dingtalk)
                .is_ok()
        );
    }

    #[test]
    fn settings_a_kind_does_not_use_are_dropped_and_defaults_filled() {
        let s = ChannelSettings {
            token: Some("tok".into()),
            topic: Some("backups".into()),
            secret: Some("x".into()),
            ..Default::default()
        }
        .validate(ChannelKind::Ntfy)
        .unwrap();
        assert_eq!(s.url.as_deref(), Some("https://ntfy.sh"));
        assert_eq!(s.secret, None);
        let w = ChannelSettings {
            url: Some("http://127.0.0.1:9/hook".into()),
            ..Default::default()
        }
        .validate(ChannelKind::Webhook)
        .unwrap();
        assert_eq!(w.method.as_deref(), Some("POST"));
    }

    #[test]
    fn every_missing_setting_is_reported() {
        let errs = ChannelSettings::default()
            .validate(ChannelKind::Telegram)
            .unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["token", "chat_id"]);
        let errs = ChannelSettings {
            topic: Some("a b".into()),
            ..Default::default()
        }
        .validate(ChannelKind::Ntfy)
        .unwrap_err();
        assert_eq!(errs[0].problem, Problem::BadTopic);
    }

    #[test]
    fn secrets_are_masked_and_kept_when_sent_back_masked() {
        let stored =
            dingtalk("https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef0123")
                .validate(ChannelKind::Dingtalk)
                .unwrap();
        let shown = stored.masked();
        assert_eq!(shown.secret.as_deref(), Some("••••cdef"));
        let url = shown.url.clone().unwrap();
        assert!(!url.contains("0123456789abcdef0123"), "{url}");
        assert!(url.ends_with("access_token=••••0123"), "{url}");
        let back = shown.clone().keep_secrets_from(&stored);
        assert_eq!(back, stored);
        let changed = ChannelSettings {
            secret: Some("SECnew".into()),
            ..shown
        }
        .keep_secrets_from(&stored);
        assert_eq!(changed.secret.as_deref(), Some("SECnew"));
        assert_eq!(changed.url, stored.url);
    }

    #[test]
    fn hook_paths_and_passwords_are_masked() {
        let m = mask_url(
            "https://open.feishu.cn/open-apis/bot/v2/hook/0a1b2c3d-4e5f-6789-abcd-ef0123456789",
        );
        assert!(
            m.starts_with("https://open.feishu.cn/open-apis/bot/v2/hook/••••"),
            "{m}"
        );
        assert!(!m.contains("0a1b2c3d"), "{m}");
        let m = mask_url("https://user:hunter2hunter2@example.com/x");
        assert!(!m.contains("hunter2"), "{m}");
    }
}
