//! Webhook bodies: the documented default JSON document, and user templates with
//! `{{variables}}` (listed in `docs/CHANNELS.md`). In a JSON body every substituted value
//! is JSON-string-escaped, so data with quotes or newlines keeps the document valid.
use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::text::{self, Doc};
use crate::domain::channel::MessageLang;
use crate::notify::message::{AlertItem, Cause, Message, SubjectKind};

/// Every variable a template may use, in the order the docs list them.
pub const VARIABLES: &[&str] = &[
    "name",
    "id",
    "kind",
    "status",
    "reason",
    "reason_text",
    "title",
    "text",
    "data",
    "at",
    "at_utc",
    "tz",
    "due_at",
    "last_seen",
    "link",
    "tags",
    "outage",
    "outage_secs",
    "reminder",
    "down_for",
    "down_for_secs",
    "count",
    "alerts",
];

/// Variables whose value is JSON already and goes in as is.
const RAW_JSON: &[&str] = &["alerts"];

fn utc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn local(t: DateTime<Utc>, item: &AlertItem) -> String {
    t.with_timezone(&item.tz)
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn reason_code(cause: Cause) -> &'static str {
    match cause {
        Cause::Service(r) => r.as_str(),
        Cause::Host(r) => r.as_str(),
    }
}

fn subject(item: &AlertItem) -> &'static str {
    match item.subject {
        SubjectKind::Service => "service",
        SubjectKind::Host => "host",
    }
}

/// One alert as the default body describes it.
pub fn item_json(item: &AlertItem, lang: MessageLang) -> Value {
    let d = text::doc(&Message::One(item.clone()), lang);
    json!({
        "kind": subject(item),
        "id": item.id,
        "name": item.name,
        "status": item.status,
        "reason": reason_code(item.cause),
        "title": d.title,
        "text": d.plain(),
        "data": item.detail,
        "at": local(item.at, item),
        "at_utc": utc(item.at),
        "tz": item.tz.name(),
        "due_at": item.due_at.map(utc),
        "last_seen": item.last_seen.map(utc),
        "link": item.link,
        "tags": item.tags,
        "outage_secs": item.outage.map(|d| d.num_seconds()),
        "reminder": item.reminder,
        "down_for_secs": item.down_for.map(|d| d.num_seconds()),
    })
}

/// The default body: one alert's document, `{"alerts": […], "count": N, …}` for a burst,
/// `{"test": true, …}` for a test.
pub fn default_body(msg: &Message, lang: MessageLang) -> Value {
    let d = text::doc(msg, lang);
    match msg {
        Message::One(item) => item_json(item, lang),
        Message::Burst(items) => json!({
            "title": d.title,
            "text": d.plain(),
            "count": items.len(),
            "alerts": items.iter().map(|i| item_json(i, lang)).collect::<Vec<_>>(),
        }),
        Message::Test { base_url } => json!({
            "test": true,
            "title": d.title,
            "text": d.plain(),
            "link": base_url,
        }),
    }
}

/// The variables' values for a message.
pub fn variables(msg: &Message, lang: MessageLang) -> BTreeMap<&'static str, String> {
    let d: Doc = text::doc(msg, lang);
    let mut v: BTreeMap<&'static str, String> =
        VARIABLES.iter().map(|k| (*k, String::new())).collect();
    v.insert("title", d.title.clone());
    v.insert("text", d.plain());
    let words = |d: chrono::Duration| text::duration(d, lang);
    match msg {
        Message::One(item) => {
            v.insert("name", item.name.clone());
            v.insert("id", item.id.clone());
            v.insert("kind", subject(item).to_owned());
            v.insert("status", item.status.clone());
            v.insert("reason", reason_code(item.cause).to_owned());
            v.insert("reason_text", text::reason(item.cause, lang).to_owned());
            v.insert("data", item.detail.clone().unwrap_or_default());
            v.insert("at", local(item.at, item));
            v.insert("at_utc", utc(item.at));
            v.insert("tz", item.tz.name().to_owned());
            v.insert("due_at", item.due_at.map(utc).unwrap_or_default());
            v.insert("last_seen", item.last_seen.map(utc).unwrap_or_default());
            v.insert("link", item.link.clone());
            v.insert("tags", item.tags.join(","));
            v.insert("outage", item.outage.map(words).unwrap_or_default());
            let secs = |d: Option<chrono::Duration>| {
                d.map(|d| d.num_seconds().to_string()).unwrap_or_default()
            };
            v.insert("outage_secs", secs(item.outage));
            v.insert(
                "reminder",
                item.reminder.map(|n| n.to_string()).unwrap_or_default(),
            );
            v.insert("down_for", item.down_for.map(words).unwrap_or_default());
            v.insert("down_for_secs", secs(item.down_for));
            v.insert("count", "1".to_owned());
            v.insert("alerts", json!([item_json(item, lang)]).to_string());
        }
        Message::Burst(items) => {
            let join = |f: &dyn Fn(&AlertItem) -> String| {
                items.iter().map(f).collect::<Vec<_>>().join(",")
            };
            v.insert("name", join(&|i| i.name.clone()));
            v.insert("id", join(&|i| i.id.clone()));
            let down = items.iter().any(|i| !i.cause.is_up());
            v.insert("status", if down { "down" } else { "up" }.to_owned());
            v.insert("link", d.link.clone().unwrap_or_default());
            v.insert(
                "at_utc",
                items.first().map(|i| utc(i.at)).unwrap_or_default(),
            );
            v.insert("count", items.len().to_string());
            let docs: Vec<Value> = items.iter().map(|i| item_json(i, lang)).collect();
            v.insert("alerts", Value::Array(docs).to_string());
        }
        Message::Test { base_url } => {
            v.insert("name", "Heartbeats".to_owned());
            v.insert("kind", "test".to_owned());
            v.insert("status", "test".to_owned());
            v.insert("reason", "test".to_owned());
            v.insert("at_utc", utc(Utc::now()));
            v.insert("link", base_url.clone());
            v.insert("count", "0".to_owned());
            v.insert("alerts", "[]".to_owned());
        }
    }
    v
}

/// Fill `template`'s `{{name}}`s (spaces inside the braces allowed). With `json`, values
/// are JSON-string-escaped without quotes (the template writes them). An unknown name is
/// left as written.
pub fn render(template: &str, vars: &BTreeMap<&'static str, String>, json: bool) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = after[..end].trim();
        match vars.get(name) {
            Some(value) if json && !RAW_JSON.contains(&name) => out.push_str(&escape_json(value)),
            Some(value) => out.push_str(value),
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// A JSON string's contents, without the quotes.
pub fn escape_json(s: &str) -> String {
    let quoted = Value::String(s.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_known_names_and_keep_unknown_ones() {
        let mut vars = BTreeMap::new();
        vars.insert("name", "say \"hi\"\nnow".to_owned());
        let json = render(r#"{"n":"{{ name }}","x":"{{nope}}"}"#, &vars, true);
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["n"], "say \"hi\"\nnow");
        assert_eq!(v["x"], "{{nope}}");
        assert_eq!(render("{{name}} {{", &vars, false), "say \"hi\"\nnow {{");
    }
}
