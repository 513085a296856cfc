//! Generic webhooks: the configured method, URL and headers, and a body from the channel's
//! template (or the default JSON document). Any 2xx reply is a delivery.
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};

use super::Call;
use super::template::{default_body, render, variables};
use crate::notify::message::{Message, SendError};

/// The template for a message: `body_up` for good news, `body_down` for the rest (a burst
/// with anything down counts as down; a test uses `body_down`, else `body_up`).
fn template_for<'s>(call: &'s Call<'_>, msg: &Message) -> Option<&'s str> {
    let s = &call.target.settings;
    let up = match msg {
        Message::One(item) => item.cause.is_up(),
        Message::Burst(items) => items.iter().all(|i| i.cause.is_up()),
        Message::Test { .. } => false,
    };
    let (first, second) = if up {
        (&s.body_up, &s.body_down)
    } else {
        (&s.body_down, &s.body_up)
    };
    match msg {
        Message::Test { .. } => first.as_deref().or(second.as_deref()),
        _ => first.as_deref(),
    }
}

/// The body's type: a configured `Content-Type` header wins; else JSON for the default
/// body and for a template that starts with `{` or `[` (but not with a `{{variable}}`),
/// plain text otherwise.
pub fn content_type(configured: Option<&str>, template: Option<&str>) -> String {
    if let Some(c) = configured {
        return c.to_owned();
    }
    match template.map(str::trim_start) {
        None => "application/json".to_owned(),
        Some(t) if (t.starts_with('{') && !t.starts_with("{{")) || t.starts_with('[') => {
            "application/json".to_owned()
        }
        Some(_) => "text/plain; charset=utf-8".to_owned(),
    }
}

pub(super) async fn send(call: &Call<'_>, msg: &Message) -> Result<(), SendError> {
    let url = call.url()?;
    let s = &call.target.settings;
    let method_name = s.method.as_deref().unwrap_or("POST");
    let method = Method::from_bytes(method_name.as_bytes()).map_err(|_| {
        SendError::fatal(format!("{}: method {method_name} is not valid", call.what))
    })?;
    let mut req = call.client.request(method.clone(), url);
    let mut configured_type = None;
    for (name, value) in &s.headers {
        let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) else {
            return Err(SendError::fatal(format!(
                "{}: header {name} is not valid",
                call.what
            )));
        };
        if n == CONTENT_TYPE {
            configured_type = Some(value.as_str());
        }
        req = req.header(n, v);
    }
    if method != Method::GET {
        let template = template_for(call, msg);
        let kind = content_type(configured_type, template);
        let json = kind.to_ascii_lowercase().contains("json");
        let body = match template {
            Some(t) => render(t, &variables(msg, call.target.lang), json),
            None => default_body(msg, call.target.lang).to_string(),
        };
        if configured_type.is_none() {
            req = req.header(CONTENT_TYPE, kind);
        }
        req = req.body(body);
    }
    call.execute(req).await?;
    Ok(())
}
