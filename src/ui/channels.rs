//! `/channels`: the notification channels: a list, a form whose fields follow the kind
//! (every field is in the page; a small script hides those the kind does not use, so the
//! form works without it), "send a test message", and delete with confirmation. Secrets
//! are shown masked and kept when sent back as shown.
use actix_web::http::StatusCode;
use actix_web::web;
use askama::Template;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::i18n::{Lang, Tr};
use super::page::{Chrome, InLang, UiError, UiResult};
use super::service_form::{Errors, field_errors};
use super::session::SignedIn;
use crate::app::channels::ChannelDraft;
use crate::app::services::Amount;
use crate::app::{self, AppError};
use crate::domain::channel::{ChannelKind, ChannelSettings, MessageLang, mask_url};
use crate::domain::role::Action;
use crate::entity::channels::Model;
use crate::store::channels::settings_of;

/// Every kind, in the order the form offers them.
pub const KINDS: [ChannelKind; 9] = [
    ChannelKind::Dingtalk,
    ChannelKind::Wecom,
    ChannelKind::Feishu,
    ChannelKind::Slack,
    ChannelKind::Telegram,
    ChannelKind::Ntfy,
    ChannelKind::Gotify,
    ChannelKind::Webhook,
    ChannelKind::Email,
];

pub fn kind_label(kind: ChannelKind, t: &Tr) -> &'static str {
    match kind {
        ChannelKind::Email => t.kind_email,
        ChannelKind::Webhook => t.kind_webhook,
        ChannelKind::Dingtalk => t.kind_dingtalk,
        ChannelKind::Wecom => t.kind_wecom,
        ChannelKind::Feishu => t.kind_feishu,
        ChannelKind::Slack => t.kind_slack,
        ChannelKind::Telegram => t.kind_telegram,
        ChannelKind::Ntfy => t.kind_ntfy,
        ChannelKind::Gotify => t.kind_gotify,
    }
}

fn lang_label(lang: MessageLang, t: &Tr) -> &'static str {
    match lang {
        MessageLang::En => t.lang_en,
        MessageLang::Zh => t.lang_zh,
    }
}

/// Where a channel sends, masked: its URL, or its addresses.
pub fn target_text(m: &Model) -> String {
    let s = settings_of(m);
    match m.kind {
        ChannelKind::Email => s.to.join(", "),
        ChannelKind::Telegram => format!("chat {}", s.chat_id.unwrap_or_default()),
        ChannelKind::Ntfy => format!(
            "{}/{}",
            s.url
                .as_deref()
                .map(mask_url)
                .unwrap_or_default()
                .trim_end_matches('/'),
            s.topic.unwrap_or_default()
        ),
        _ => s.url.as_deref().map(mask_url).unwrap_or_default(),
    }
}

/// The form as typed: every field a string, so a refused value is shown back unchanged.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct ChannelForm {
    pub csrf: String,
    pub name: String,
    pub kind: String,
    pub lang: String,
    pub default_for_new: String,
    pub url: String,
    pub secret: String,
    pub token: String,
    pub chat_id: String,
    pub topic: String,
    pub method: String,
    /// `Name: value`, one per line.
    pub headers: String,
    pub body_down: String,
    pub body_up: String,
    pub to: String,
    pub burst_threshold: String,
    pub burst_window_secs: String,
}

impl ChannelForm {
    fn blank() -> Self {
        Self {
            kind: "dingtalk".into(),
            lang: "en".into(),
            method: "POST".into(),
            ..Default::default()
        }
    }

    /// A stored channel as the form shows it: secrets masked.
    fn from_model(m: &Model) -> Self {
        let s: ChannelSettings = settings_of(m).masked();
        let text = |v: Option<String>| v.unwrap_or_default();
        let num = |v: Option<u32>| v.map(|n| n.to_string()).unwrap_or_default();
        Self {
            csrf: String::new(),
            name: m.name.clone(),
            kind: m.kind.to_string(),
            lang: m.lang.to_string(),
            default_for_new: if m.default_for_new {
                "1".into()
            } else {
                String::new()
            },
            url: text(s.url),
            secret: text(s.secret),
            token: text(s.token),
            chat_id: text(s.chat_id),
            topic: text(s.topic),
            method: s.method.unwrap_or_else(|| "POST".into()),
            headers: s
                .headers
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join("\n"),
            body_down: text(s.body_down),
            body_up: text(s.body_up),
            to: s.to.join(", "),
            burst_threshold: num(s.burst_threshold),
            burst_window_secs: num(s.burst_window_secs),
        }
    }

    /// The form as a draft: every setting given; an empty one is cleared.
    pub fn draft(&self) -> ChannelDraft {
        let mut settings = Map::new();
        let text = |v: &str| {
            let v = v.trim();
            if v.is_empty() {
                Value::Null
            } else {
                Value::String(v.to_owned())
            }
        };
        // A number that is not one goes on as text, for the use case to refuse by field.
        let number = |v: &str| match v.trim() {
            "" => Value::Null,
            n => n
                .parse::<u32>()
                .map_or_else(|_| Value::String(n.to_owned()), Value::from),
        };
        for (key, value) in [
            ("url", &self.url),
            ("secret", &self.secret),
            ("token", &self.token),
            ("chat_id", &self.chat_id),
            ("topic", &self.topic),
            ("method", &self.method),
            ("body_down", &self.body_down),
            ("body_up", &self.body_up),
            ("to", &self.to),
        ] {
            settings.insert(key.into(), text(value));
        }
        let headers: Map<String, Value> = self
            .headers
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (k, v) = l.split_once(':').unwrap_or((l, ""));
                (k.trim().to_owned(), Value::String(v.trim().to_owned()))
            })
            .collect();
        settings.insert("headers".into(), Value::Object(headers));
        settings.insert("burst_threshold".into(), number(&self.burst_threshold));
        settings.insert("burst_window_secs".into(), number(&self.burst_window_secs));
        ChannelDraft {
            name: Some(self.name.clone()),
            kind: Some(self.kind.clone()),
            lang: Some(self.lang.clone()),
            default_for_new: Some(!self.default_for_new.is_empty()),
            settings,
        }
    }
}

pub struct ChannelRow {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub kind_key: String,
    pub lang: &'static str,
    pub default_for_new: bool,
    pub target: String,
}

#[derive(Template)]
#[template(path = "channels.html")]
struct ListPage<'a> {
    c: &'a Chrome,
    rows: Vec<ChannelRow>,
}

pub async fn page(s: SignedIn) -> UiResult {
    let t = s.lang.t();
    let rows = app::channels::list(&s.state.app, &s.actor)
        .await
        .lang(s.lang)?
        .iter()
        .map(|m| ChannelRow {
            id: m.id.clone(),
            name: m.name.clone(),
            kind: kind_label(m.kind, t),
            kind_key: m.kind.to_string(),
            lang: lang_label(m.lang, t),
            default_for_new: m.default_for_new,
            target: target_text(m),
        })
        .collect();
    let c = s.chrome("channels");
    s.render(StatusCode::OK, &ListPage { c: &c, rows })
}

#[derive(Template)]
#[template(path = "channels_form.html")]
struct FormPage<'a> {
    c: &'a Chrome,
    /// `None` for a new channel.
    id: Option<&'a str>,
    f: &'a ChannelForm,
    errors: &'a Errors,
    kinds: Vec<(String, &'static str)>,
    text_fields: Vec<TextField>,
    test_result: Option<(bool, String)>,
}

/// A text setting as the form shows it, with the kinds that use it (`data-kinds`, for
/// the script that hides the others).
struct TextField {
    name: &'static str,
    label: &'static str,
    help: &'static str,
    value: String,
    multi: bool,
    kinds: &'static str,
}

impl FormPage<'_> {
    fn err(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }

    /// The kinds that use a field, space-separated, for the script that hides the others.
    fn uses(&self, field: &str) -> &'static str {
        uses(field)
    }
}

fn uses(field: &str) -> &'static str {
    {
        match field {
            "url" => "webhook dingtalk wecom feishu slack telegram ntfy gotify",
            "secret" => "dingtalk feishu",
            "token" => "telegram ntfy gotify",
            "chat_id" => "telegram",
            "topic" => "ntfy",
            "to" => "email",
            _ => "webhook",
        }
    }
}

fn render_form(
    s: &SignedIn,
    status: StatusCode,
    id: Option<&str>,
    f: &ChannelForm,
    errors: &Errors,
    test_result: Option<(bool, String)>,
) -> UiResult {
    let t = s.lang.t();
    let c = s.chrome("channels");
    let text = |name: &'static str, label, help, value: &str, multi| TextField {
        name,
        label,
        help,
        value: value.to_owned(),
        multi,
        kinds: uses(name),
    };
    let text_fields = vec![
        text("url", t.ch_url, t.ch_url_help, &f.url, false),
        text("secret", t.ch_secret, t.ch_secret_help, &f.secret, false),
        text("token", t.ch_token, t.ch_token_help, &f.token, false),
        text("chat_id", t.ch_chat_id, "", &f.chat_id, false),
        text("topic", t.ch_topic, "", &f.topic, false),
        text("to", t.ch_to, "", &f.to, true),
    ];
    s.render(
        status,
        &FormPage {
            c: &c,
            id,
            f,
            errors,
            kinds: KINDS
                .iter()
                .map(|k| (k.to_string(), kind_label(*k, t)))
                .collect(),
            text_fields,
            test_result,
        },
    )
}

fn refused(s: &SignedIn, id: Option<&str>, f: &ChannelForm, e: AppError) -> UiResult {
    if e.fields().is_empty() {
        return Err(e).lang(s.lang);
    }
    let errors = field_errors(&e, s.lang);
    render_form(s, StatusCode::UNPROCESSABLE_ENTITY, id, f, &errors, None)
}

fn require_edit(s: &SignedIn) -> Result<(), UiError> {
    if s.actor.may(Action::EditHosts) {
        return Ok(());
    }
    s.actor.require(Action::EditServices).lang(s.lang)
}

pub async fn new_form(s: SignedIn) -> UiResult {
    require_edit(&s)?;
    render_form(
        &s,
        StatusCode::OK,
        None,
        &ChannelForm::blank(),
        &Errors::new(),
        None,
    )
}

#[tracing::instrument(skip_all, fields(user = %s.user.name))]
pub async fn create(s: SignedIn, form: web::Form<ChannelForm>) -> UiResult {
    s.check_csrf(&form.csrf)?;
    let f = form.into_inner();
    match app::channels::create(&s.state.app, &s.actor, &f.draft()).await {
        Ok(m) => Ok(s.redirect(&format!("/channels/{}", m.id), Some("channel_created"))),
        Err(e) => refused(&s, None, &f, e),
    }
}

pub async fn edit_form(s: SignedIn, id: web::Path<String>) -> UiResult {
    require_edit(&s)?;
    let m = app::channels::get(&s.state.app, &s.actor, &id)
        .await
        .lang(s.lang)?;
    let f = ChannelForm::from_model(&m);
    render_form(&s, StatusCode::OK, Some(&m.id), &f, &Errors::new(), None)
}

#[tracing::instrument(skip_all, fields(id = %id, user = %s.user.name))]
pub async fn update(s: SignedIn, id: web::Path<String>, form: web::Form<ChannelForm>) -> UiResult {
    s.check_csrf(&form.csrf)?;
    let f = form.into_inner();
    match app::channels::update(&s.state.app, &s.actor, &id, &f.draft()).await {
        Ok(m) => Ok(s.redirect(&format!("/channels/{}", m.id), Some("saved"))),
        Err(e) => refused(&s, Some(&id), &f, e),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsrfForm {
    csrf: String,
}

/// Send a test message and show the channel again with the result.
#[tracing::instrument(skip_all, fields(id = %id, user = %s.user.name))]
pub async fn test(s: SignedIn, id: web::Path<String>, form: web::Form<CsrfForm>) -> UiResult {
    s.check_csrf(&form.csrf)?;
    let lang: Lang = s.lang;
    let result = app::channels::test(&s.state.app, &s.actor, &id, &s.state.settings)
        .await
        .lang(lang)?;
    let m = app::channels::get(&s.state.app, &s.actor, &id)
        .await
        .lang(lang)?;
    let t = lang.t();
    let shown = match result {
        Ok(()) => (true, t.test_message_ok.to_owned()),
        Err(e) => (false, lang.labelled(t.test_message_failed, &e)),
    };
    let f = ChannelForm::from_model(&m);
    render_form(
        &s,
        StatusCode::OK,
        Some(&m.id),
        &f,
        &Errors::new(),
        Some(shown),
    )
}

#[tracing::instrument(skip_all, fields(id = %id, user = %s.user.name))]
pub async fn delete(s: SignedIn, id: web::Path<String>, form: web::Form<CsrfForm>) -> UiResult {
    s.check_csrf(&form.csrf)?;
    app::channels::delete(&s.state.app, &s.actor, &id)
        .await
        .lang(s.lang)?;
    Ok(s.redirect("/channels", Some("channel_deleted")))
}

/// The channels a service or host form offers as checkboxes: id, name and kind.
pub struct Pick {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub checked: bool,
}

/// Every channel as a checkbox, those in `chosen` ticked.
pub async fn picks(s: &SignedIn, chosen: &[String]) -> Result<Vec<Pick>, UiError> {
    let t = s.lang.t();
    Ok(app::channels::list(&s.state.app, &s.actor)
        .await
        .lang(s.lang)?
        .into_iter()
        .map(|m| Pick {
            checked: chosen.contains(&m.id),
            kind: kind_label(m.kind, t),
            id: m.id,
            name: m.name,
        })
        .collect())
}

/// The default channels' ids, ticked on a new service's or host's form.
pub async fn default_ids(s: &SignedIn) -> Result<Vec<String>, UiError> {
    Ok(app::channels::list(&s.state.app, &s.actor)
        .await
        .lang(s.lang)?
        .into_iter()
        .filter(|m| m.default_for_new)
        .map(|m| m.id)
        .collect())
}

/// What a service or host form shows about channels and reminders (the partial
/// `channels_pick.html`): a checkbox per channel, the reminder interval and count.
pub struct ChannelFields {
    pub picks: Vec<Pick>,
    pub remind_every: String,
    pub remind_unit: String,
    pub remind_max: String,
    pub units: [(&'static str, &'static str); 3],
    pub channels_err: Option<String>,
    pub every_err: Option<String>,
    pub max_err: Option<String>,
}

/// The inputs as typed on a service or host form.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChannelInputs {
    /// Whether the form had the channel checkboxes (`channels_offered`).
    pub offered: bool,
    pub picked: Vec<String>,
    pub remind_every: String,
    pub remind_unit: String,
    pub remind_max: String,
}

/// A checkbox's name: `channel.<id>`.
pub const PICK_PREFIX: &str = "channel.";

impl ChannelInputs {
    /// From a form's pairs: `channels_offered`, `channel.<id>`, `remind_every`,
    /// `remind_every_unit`, `remind_max`.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut out = Self::default();
        for (k, v) in pairs {
            match k {
                "channels_offered" => out.offered = !v.is_empty(),
                "remind_every" => out.remind_every = v.to_owned(),
                "remind_every_unit" => out.remind_unit = v.to_owned(),
                "remind_max" => out.remind_max = v.to_owned(),
                _ => {
                    if let Some(id) = k.strip_prefix(PICK_PREFIX)
                        && !v.is_empty()
                    {
                        out.picked.push(id.to_owned());
                    }
                }
            }
        }
        out
    }

    /// A stored row's channels and reminders as the form shows them.
    pub fn of(column: &str, every: Option<i64>, max: i32) -> Self {
        let (remind_every, unit) = match every {
            Some(secs) => {
                let (v, u) = crate::app::services::split_secs(secs);
                (v, u.to_owned())
            }
            None => (String::new(), "h".to_owned()),
        };
        Self {
            offered: true,
            picked: crate::app::channels::listed(column),
            remind_every,
            remind_unit: unit,
            remind_max: if every.is_some() {
                max.to_string()
            } else {
                String::new()
            },
        }
    }

    /// The draft's `channels`, `remind_every` and `remind_max`. A form without the
    /// checkboxes leaves the channels as they are (on create: the defaults); an empty
    /// interval turns reminders off (and the count with them).
    pub fn draft(&self) -> (Option<Vec<String>>, Option<Option<Amount>>, Option<i64>) {
        let channels = self.offered.then(|| self.picked.clone());
        if !self.offered && self.remind_every.is_empty() && self.remind_max.is_empty() {
            return (channels, None, None);
        }
        let every = self.remind_every.trim();
        if every.is_empty() {
            return (channels, Some(None), None);
        }
        let unit = if self.remind_unit.is_empty() {
            "h"
        } else {
            self.remind_unit.as_str()
        };
        let max = match self.remind_max.trim() {
            "" => None,
            // Not a number: out of range, said at the count's field.
            m => Some(m.parse::<i64>().unwrap_or(-1)),
        };
        (
            channels,
            Some(Some(Amount::Text {
                value: every.to_owned(),
                unit: unit.to_owned(),
            })),
            max,
        )
    }

    /// What the form shows, with the refusals of `errors`.
    pub async fn fields(
        &self,
        s: &SignedIn,
        err: impl Fn(&str) -> Option<String>,
    ) -> Result<ChannelFields, UiError> {
        let t = s.lang.t();
        Ok(ChannelFields {
            picks: picks(s, &self.picked).await?,
            remind_every: self.remind_every.clone(),
            remind_unit: if self.remind_unit.is_empty() {
                "h".into()
            } else {
                self.remind_unit.clone()
            },
            remind_max: self.remind_max.clone(),
            units: [("min", t.unit_min), ("h", t.unit_h), ("d", t.unit_d)],
            channels_err: err("channels"),
            every_err: err("remind_every"),
            max_err: err("remind_max"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_becomes_a_draft_with_every_setting() {
        let f = ChannelForm {
            name: "ops".into(),
            kind: "webhook".into(),
            url: " http://127.0.0.1/x ".into(),
            headers: "Authorization: Bearer x\n\nX-Team: ops".into(),
            burst_threshold: "many".into(),
            burst_window_secs: "60".into(),
            ..ChannelForm::blank()
        };
        let d = f.draft();
        assert_eq!(d.settings["url"], "http://127.0.0.1/x");
        assert_eq!(d.settings["secret"], Value::Null);
        assert_eq!(d.settings["headers"]["X-Team"], "ops");
        assert_eq!(d.settings["burst_threshold"], "many");
        assert_eq!(d.settings["burst_window_secs"], 60);
        assert_eq!(d.default_for_new, Some(false));
    }
}
