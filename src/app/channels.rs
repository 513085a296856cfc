//! Notification channels: create, update, delete, send a test message; and what services
//! and hosts say about channels and reminders (their lists checked against the stored
//! channels, the reminder interval and count).
use std::time::Duration as StdDuration;

use serde_json::{Map, Value};

use super::services::Amount;
use super::{Actor, App, AppError, AppResult, Check};
use crate::domain::channel::{
    ChannelKind, ChannelSettings, MessageLang, channels_from_column, mask, mask_url,
};
use crate::domain::role::Action;
use crate::domain::{FieldError, Problem, parse_name};
use crate::entity::channels::Model;
use crate::notify::Mailer;
use crate::notify::chat::Sender;
use crate::notify::message::Message;
use crate::settings::Settings;
use crate::store::channels::{self, NewChannel, Reminders, settings_of};

/// The settings a body or form may carry, with what each must be.
pub const SETTING_FIELDS: [(&str, &str); 12] = [
    ("url", "text"),
    ("secret", "text"),
    ("token", "text"),
    ("chat_id", "text"),
    ("topic", "text"),
    ("method", "text"),
    ("headers", "an object of header names and values"),
    ("body_down", "text"),
    ("body_up", "text"),
    ("to", "a list of email addresses"),
    ("burst_threshold", "a whole number"),
    ("burst_window_secs", "a whole number"),
];

/// A channel as typed, from any front end. On create `name` and `kind` are required; on
/// update `None` (and a setting left out) leaves it as it is.
#[derive(Debug, Clone, Default)]
pub struct ChannelDraft {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub lang: Option<String>,
    pub default_for_new: Option<bool>,
    /// Settings given, by name (see [`SETTING_FIELDS`]); `null` clears one. A secret sent
    /// back masked, as it was shown, keeps the stored one.
    pub settings: Map<String, Value>,
}

impl ChannelDraft {
    /// Validate over `current` (`None`: a new channel), collecting every refused field.
    fn validate(&self, current: Option<&Model>) -> AppResult<NewChannel> {
        let mut check = Check::default();
        let name = match (&self.name, current) {
            (None, Some(m)) => Some(m.name.clone()),
            (name, _) => check.take(parse_name(name.as_deref().unwrap_or_default())),
        };
        let kind = match (self.kind.as_deref().map(str::trim), current) {
            (None, Some(m)) => Some(m.kind),
            (None | Some(""), _) => {
                check.refuse(FieldError::new("kind", Problem::Required));
                None
            }
            (Some(k), _) => check.take(
                k.to_lowercase()
                    .parse::<ChannelKind>()
                    .map_err(|e| FieldError::new("kind", e)),
            ),
        };
        let lang = match (self.lang.as_deref().map(str::trim), current) {
            (None, Some(m)) => Some(m.lang),
            (None | Some(""), _) => Some(MessageLang::default()),
            (Some(l), _) => check.take(
                l.to_lowercase()
                    .parse::<MessageLang>()
                    .map_err(|e| FieldError::new("lang", e)),
            ),
        };
        let stored = current.map(settings_of).unwrap_or_default();
        let settings = check.take(self.merged_settings(current.map(|_| &stored)));
        let default_for_new = self
            .default_for_new
            .or(current.map(|m| m.default_for_new))
            .unwrap_or(false);
        let settings = match (settings, kind) {
            (Some(s), Some(kind)) => match s.validate(kind) {
                Ok(s) => Some(s),
                Err(errors) => {
                    for e in errors {
                        check.refuse(e);
                    }
                    None
                }
            },
            _ => None,
        };
        check.finish()?;
        match (name, kind, lang, settings) {
            (Some(name), Some(kind), Some(lang), Some(settings)) => Ok(NewChannel {
                name,
                kind,
                lang,
                settings,
                default_for_new,
            }),
            _ => Err(anyhow::anyhow!("a checked draft lost a value").into()),
        }
    }

    /// The stored settings with the draft's laid over them; masked secrets sent back keep
    /// the stored ones.
    fn merged_settings(
        &self,
        stored: Option<&ChannelSettings>,
    ) -> Result<ChannelSettings, FieldError> {
        let mut merged = match stored.map(serde_json::to_value) {
            Some(Ok(Value::Object(m))) => m,
            _ => Map::new(),
        };
        for (key, value) in &self.settings {
            let Some((field, expected)) = SETTING_FIELDS.iter().find(|(f, _)| f == key) else {
                // Front ends refuse unknown names before they get here.
                continue;
            };
            let wrong = || FieldError::new(field, Problem::WrongType { expected });
            let value = match (key.as_str(), value) {
                (_, Value::Null) => {
                    merged.remove(key);
                    continue;
                }
                // Addresses may come as one text, separated by commas or lines.
                ("to", Value::String(s)) => Value::Array(
                    s.split([',', '\n', ';'])
                        .map(str::trim)
                        .filter(|a| !a.is_empty())
                        .map(|a| Value::String(a.to_owned()))
                        .collect(),
                ),
                _ => value.clone(),
            };
            let mut one = Map::new();
            one.insert(key.clone(), value.clone());
            if serde_json::from_value::<ChannelSettings>(Value::Object(one)).is_err() {
                return Err(wrong());
            }
            merged.insert(key.clone(), value);
        }
        let settings: ChannelSettings = serde_json::from_value(Value::Object(merged))
            .map_err(|_| FieldError::new("url", Problem::WrongType { expected: "text" }))?;
        Ok(match stored {
            Some(stored) => settings.keep_secrets_from(stored),
            None => settings,
        })
    }
}

/// Changing channels is part of setting up services or hosts.
fn require_edit(actor: &Actor) -> AppResult<()> {
    if actor.may(Action::EditServices) || actor.may(Action::EditHosts) {
        Ok(())
    } else {
        actor.require(Action::EditServices)
    }
}

fn target(m: &Model) -> String {
    format!("{} {}", m.id, m.name)
}

fn detail(m: &Model) -> String {
    format!(
        "kind={} lang={} default={}",
        m.kind, m.lang, m.default_for_new
    )
}

pub async fn list(app: &App, actor: &Actor) -> AppResult<Vec<Model>> {
    actor.require(Action::Read)?;
    Ok(channels::list(&app.db).await?)
}

pub async fn get(app: &App, actor: &Actor, id: &str) -> AppResult<Model> {
    actor.require(Action::Read)?;
    Ok(channels::get(&app.db, id).await?)
}

#[tracing::instrument(skip_all, fields(actor = %actor.name, name = ?draft.name))]
pub async fn create(app: &App, actor: &Actor, draft: &ChannelDraft) -> AppResult<Model> {
    require_edit(actor)?;
    let new = draft.validate(None)?;
    let row = channels::create(&app.db, new, app.now()).await?;
    tracing::info!(id = %row.id, name = %row.name, kind = %row.kind, "channel created");
    app.audit(actor, "channel.create", &target(&row), Some(&detail(&row)))
        .await;
    Ok(row)
}

/// PATCH semantics: what the draft leaves out stays; secrets sent back masked stay.
#[tracing::instrument(skip(app, actor, draft), fields(actor = %actor.name))]
pub async fn update(app: &App, actor: &Actor, id: &str, draft: &ChannelDraft) -> AppResult<Model> {
    require_edit(actor)?;
    let current = channels::get(&app.db, id).await?;
    let new = draft.validate(Some(&current))?;
    let row = channels::update(&app.db, id, new, app.now()).await?;
    app.audit(actor, "channel.update", &target(&row), Some(&detail(&row)))
        .await;
    Ok(row)
}

/// Delete a channel; services and hosts that listed it no longer do. Its past alerts stay.
#[tracing::instrument(skip(app, actor), fields(actor = %actor.name))]
pub async fn delete(app: &App, actor: &Actor, id: &str) -> AppResult<Model> {
    require_edit(actor)?;
    let row = channels::delete(&app.db, id).await?;
    tracing::info!(%id, name = %row.name, "channel deleted");
    app.audit(actor, "channel.delete", &target(&row), None)
        .await;
    Ok(row)
}

/// How long a test message may take.
const TEST_TIMEOUT: StdDuration = StdDuration::from_secs(10);

/// Send a test message through the channel: `Ok(Err(text))` when the channel refused it
/// or could not be reached (the text holds no secret of the channel's).
#[tracing::instrument(skip(app, actor, settings), fields(actor = %actor.name))]
pub async fn test(
    app: &App,
    actor: &Actor,
    id: &str,
    settings: &Settings,
) -> AppResult<Result<(), String>> {
    require_edit(actor)?;
    let row = channels::get(&app.db, id).await?;
    let target = channels::target_of(&row);
    let result = match target.kind {
        ChannelKind::Email => match Mailer::from_settings(settings) {
            Err(e) => Err(e.to_string()),
            Ok(mailer) => {
                let mut result = Ok(());
                for to in &target.settings.to {
                    if let Err(e) = mailer.send_test(to, &settings.base_url).await {
                        result = Err(format!("{to}: {e}"));
                        break;
                    }
                }
                result
            }
        },
        _ => Sender::new(TEST_TIMEOUT)
            .send(
                &target,
                &Message::Test {
                    base_url: settings.base_url.to_string(),
                },
            )
            .await
            .map_err(|e| e.text),
    };
    let result = result.map_err(|text| scrub(&text, &target.settings));
    match &result {
        Ok(()) => tracing::info!(channel = %row.id, "test message sent"),
        Err(e) => tracing::warn!(channel = %row.id, error = %e, "test message failed"),
    }
    app.audit(actor, "channel.test", &target_of_test(&row, &result), None)
        .await;
    Ok(result)
}

fn target_of_test(m: &Model, result: &Result<(), String>) -> String {
    let outcome = if result.is_ok() { "ok" } else { "failed" };
    format!("{} ({outcome})", target(m))
}

/// An error text with every secret of the settings masked: senders promise not to quote
/// them, and this makes sure (a library's error may quote the URL it called).
pub fn scrub(text: &str, s: &ChannelSettings) -> String {
    let mut out = text.to_owned();
    if let Some(url) = &s.url {
        out = out.replace(url.as_str(), &mask_url(url));
        if let Ok(parsed) = url::Url::parse(url) {
            for (_, v) in parsed
                .query_pairs()
                .filter(|(k, _)| ["access_token", "key", "token", "sign"].contains(&k.as_ref()))
            {
                if v.len() >= 4 {
                    out = out.replace(v.as_ref(), &mask(&v));
                }
            }
            if let Some(last) = parsed.path_segments().and_then(|mut s| s.next_back())
                && last.len() >= 16
            {
                out = out.replace(last, &mask(last));
            }
        }
    }
    for secret in [&s.secret, &s.token].into_iter().flatten() {
        if secret.len() >= 4 {
            out = out.replace(secret.as_str(), &mask(secret));
        }
    }
    for v in s.headers.values() {
        if v.len() >= 4 {
            out = out.replace(v.as_str(), &mask(v));
        }
    }
    out
}

/// Most channels one service or host may list.
pub const MAX_CHANNELS: usize = 50;

/// A service's or host's channel list as given: trimmed, without repeats, each an
/// existing channel (`unknown_channel` on `channels` otherwise).
pub async fn check_list(app: &App, ids: &[String]) -> AppResult<Result<Vec<String>, FieldError>> {
    let mut list: Vec<String> = Vec::new();
    for id in ids.iter().flat_map(|i| i.split(',')).map(str::trim) {
        if !id.is_empty() && !list.iter().any(|l| l == id) {
            list.push(id.to_owned());
        }
    }
    if list.len() > MAX_CHANNELS {
        return Ok(Err(FieldError::new(
            "channels",
            Problem::TooManyItems { max: MAX_CHANNELS },
        )));
    }
    let found = channels::existing(&app.db, &list).await?;
    Ok(match list.iter().find(|id| !found.contains(id)) {
        Some(id) => Err(FieldError::new(
            "channels",
            Problem::UnknownChannel {
                id: id.chars().take(40).collect(),
            },
        )),
        None => Ok(list),
    })
}

/// `checked` with the channel list's refusal added to its own: a form shows them all.
pub async fn with_list<T>(
    app: &App,
    checked: AppResult<T>,
    ids: Option<&[String]>,
) -> AppResult<(T, Option<Vec<String>>)> {
    let list = match ids {
        Some(ids) => Some(check_list(app, ids).await?),
        None => None,
    };
    match (checked, list) {
        (Ok(v), None) => Ok((v, None)),
        (Ok(v), Some(Ok(list))) => Ok((v, Some(list))),
        (Ok(_), Some(Err(e))) => Err(AppError::invalid(e)),
        (Err(AppError::Invalid(mut fields)), Some(Err(e))) => {
            fields.push(e);
            Err(AppError::Invalid(fields))
        }
        (Err(e), _) => Err(e),
    }
}

/// The channel ids a stored column lists.
pub fn listed(column: &str) -> Vec<String> {
    channels_from_column(column)
}

pub const MIN_REMIND_SECS: i64 = 60;
pub const MAX_REMIND_SECS: i64 = 7 * 86_400;
pub const MAX_REMINDERS: i64 = 100;
/// How many reminders when an interval is set and the count left out.
pub const DEFAULT_REMIND_MAX: i32 = 3;

/// Reminders as typed: `every` `None` leaves it, `Some(None)` (or 0, or an empty form
/// field) turns reminders off; `max` 0 … 100, at least 1 while an interval is set (3 when
/// left out). Returns `None` when neither is given.
pub fn parse_reminders(
    every: Option<&Option<Amount>>,
    max: Option<i64>,
    current: Reminders,
    check: &mut Check,
) -> Option<Reminders> {
    if every.is_none() && max.is_none() {
        return None;
    }
    let range = |field: &'static str, v: i64, min: i64, max: i64| {
        if (min..=max).contains(&v) {
            Ok(v)
        } else {
            Err(FieldError::new(field, Problem::NumberRange { min, max }))
        }
    };
    let every_secs = match every {
        None => Ok(current.every_secs),
        Some(None) => Ok(None),
        Some(Some(Amount::Secs(0))) => Ok(None),
        Some(Some(Amount::Text { value, .. })) if value.trim().is_empty() => Ok(None),
        Some(Some(a)) => a
            .secs("remind_every")
            .and_then(|s| range("remind_every", s, MIN_REMIND_SECS, MAX_REMIND_SECS))
            .map(Some),
    };
    let every_secs = check.take(every_secs)?;
    let max = match max {
        Some(m) => check.take(range("remind_max", m, 0, MAX_REMINDERS))? as i32,
        None if every_secs.is_none() => 0,
        None if current.max >= 1 => current.max,
        None => DEFAULT_REMIND_MAX,
    };
    match every_secs {
        Some(_) if max == 0 => {
            check.refuse(FieldError::new(
                "remind_max",
                Problem::NumberRange {
                    min: 1,
                    max: MAX_REMINDERS,
                },
            ));
            None
        }
        None if max > 0 => {
            check.refuse(FieldError::new("remind_every", Problem::Required));
            None
        }
        _ => Some(Reminders { every_secs, max }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remind(
        every: Option<Option<i64>>,
        max: Option<i64>,
        current: Reminders,
    ) -> Result<Option<Reminders>, Vec<&'static str>> {
        let mut check = Check::default();
        let every = every.map(|e| e.map(Amount::Secs));
        let r = parse_reminders(every.as_ref(), max, current, &mut check);
        match check.finish() {
            Ok(()) => Ok(r),
            Err(e) => Err(e.fields().iter().map(|f| f.field).collect()),
        }
    }

    #[test]
    fn reminders_default_to_three_and_zero_means_off() {
        let off = Reminders::default();
        assert_eq!(remind(None, None, off), Ok(None));
        assert_eq!(
            remind(Some(Some(3600)), None, off),
            Ok(Some(Reminders {
                every_secs: Some(3600),
                max: 3
            }))
        );
        assert_eq!(remind(Some(Some(0)), None, off), Ok(Some(off)));
        assert_eq!(remind(Some(None), Some(0), off), Ok(Some(off)));
        assert_eq!(
            remind(Some(Some(3600)), Some(0), off),
            Err(vec!["remind_max"])
        );
        assert_eq!(remind(None, Some(5), off), Err(vec!["remind_every"]));
        assert_eq!(remind(Some(Some(59)), None, off), Err(vec!["remind_every"]));
        assert_eq!(
            remind(Some(Some(3600)), Some(101), off),
            Err(vec!["remind_max"])
        );
        let on = Reminders {
            every_secs: Some(600),
            max: 7,
        };
        assert_eq!(
            remind(Some(Some(3600)), None, on),
            Ok(Some(Reminders {
                every_secs: Some(3600),
                max: 7
            }))
        );
        assert_eq!(remind(Some(None), None, on), Ok(Some(off)));
    }

    #[test]
    fn secrets_are_scrubbed_from_error_texts() {
        let s = ChannelSettings {
            url: Some("http://127.0.0.1:9/robot/send?access_token=abcdef0123456789".into()),
            secret: Some("SECabcdef0123456789".into()),
            ..Default::default()
        };
        let text = scrub(
            "error sending request for url (http://127.0.0.1:9/robot/send?access_token=abcdef0123456789): SECabcdef0123456789",
            &s,
        );
        assert!(!text.contains("abcdef0123456789"), "{text}");
        assert!(text.contains("127.0.0.1:9"), "{text}");
    }
}
