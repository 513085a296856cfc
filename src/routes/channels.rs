//! `/api/v1/channels`: list, create, read, update (PATCH: what is left out stays), delete,
//! and send a test message. Settings travel flat beside the name and kind; answers show
//! them masked. Thin: the rules are in `app::channels`.
use actix_web::{HttpResponse, web};
use heartbeats_wire::ErrorBody;
use heartbeats_wire::channels as wire;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::services::ServiceError;
use super::{Caller, error_body};
use crate::app::{self, channels::ChannelDraft, channels::SETTING_FIELDS};
use crate::clock::from_ms;
use crate::domain::channel::ChannelSettings;
use crate::entity::channels::Model;
use crate::state::AppState;
use crate::store::channels::settings_of;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/channels")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/channels/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(update))
            .route(web::delete().to(delete)),
    )
    .service(web::resource("/channels/{id}/test").route(web::post().to(test)));
}

/// Body of create and update: the channel's own fields and its settings, flat.
#[derive(Debug, Deserialize)]
pub struct ChannelInput {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub lang: Option<String>,
    pub default_for_new: Option<bool>,
    #[serde(flatten)]
    pub settings: Map<String, Value>,
}

impl ChannelInput {
    /// The draft, or a 400 naming a field no channel has (as `deny_unknown_fields` does
    /// for the other resources).
    fn draft(self) -> Result<ChannelDraft, Box<HttpResponse>> {
        if let Some(unknown) = self
            .settings
            .keys()
            .find(|k| !SETTING_FIELDS.iter().any(|(f, _)| f == k))
        {
            let known: Vec<&str> = ["name", "kind", "lang", "default_for_new"]
                .into_iter()
                .chain(SETTING_FIELDS.iter().map(|(f, _)| *f))
                .collect();
            return Err(Box::new(error_body(
                actix_web::http::StatusCode::BAD_REQUEST,
                ErrorBody {
                    error: format!(
                        "invalid JSON body: unknown field `{}`, expected one of {}",
                        unknown.chars().take(64).collect::<String>(),
                        known.join(", ")
                    ),
                    field: None,
                    code: Some("bad_json".into()),
                },
            )));
        }
        Ok(ChannelDraft {
            name: self.name,
            kind: self.kind,
            lang: self.lang,
            default_for_new: self.default_for_new,
            settings: self.settings,
        })
    }
}

/// The settings as they may be shown.
pub fn masked_settings(s: &ChannelSettings) -> wire::ChannelSettings {
    let m = s.masked();
    wire::ChannelSettings {
        url: m.url,
        secret: m.secret,
        token: m.token,
        chat_id: m.chat_id,
        topic: m.topic,
        method: m.method,
        headers: m.headers,
        body_down: m.body_down,
        body_up: m.body_up,
        to: m.to,
        burst_threshold: m.burst_threshold,
        burst_window_secs: m.burst_window_secs,
    }
}

/// A stored channel as the API shows it: secrets masked.
pub fn channel_json(m: &Model) -> wire::Channel {
    wire::Channel {
        id: m.id.clone(),
        name: m.name.clone(),
        kind: m.kind.to_string(),
        lang: m.lang.to_string(),
        default_for_new: m.default_for_new,
        settings: masked_settings(&settings_of(m)),
        created_at: from_ms(m.created_at),
        updated_at: from_ms(m.updated_at),
    }
}

async fn list(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ServiceError> {
    let rows = app::channels::list(&state.app, &caller.0).await?;
    let body: Vec<wire::Channel> = rows.iter().map(channel_json).collect();
    Ok(HttpResponse::Ok().json(body))
}

#[tracing::instrument(skip_all)]
async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Json<ChannelInput>,
) -> Result<HttpResponse, ServiceError> {
    let draft = match body.into_inner().draft() {
        Ok(d) => d,
        Err(resp) => return Ok(*resp),
    };
    let row = app::channels::create(&state.app, &caller.0, &draft).await?;
    Ok(HttpResponse::Created().json(channel_json(&row)))
}

async fn get(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    let row = app::channels::get(&state.app, &caller.0, &id).await?;
    Ok(HttpResponse::Ok().json(channel_json(&row)))
}

#[tracing::instrument(skip_all)]
async fn update(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<ChannelInput>,
) -> Result<HttpResponse, ServiceError> {
    let draft = match body.into_inner().draft() {
        Ok(d) => d,
        Err(resp) => return Ok(*resp),
    };
    let row = app::channels::update(&state.app, &caller.0, &id, &draft).await?;
    Ok(HttpResponse::Ok().json(channel_json(&row)))
}

async fn delete(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    app::channels::delete(&state.app, &caller.0, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `200 {"ok":true}`, or `502 {"ok":false,"error":"…"}` when the channel refused the
/// message or could not be reached.
#[tracing::instrument(skip_all)]
async fn test(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    let result = app::channels::test(&state.app, &caller.0, &id, &state.settings).await?;
    Ok(match result {
        Ok(()) => HttpResponse::Ok().json(wire::ChannelTest {
            ok: true,
            error: None,
        }),
        Err(error) => HttpResponse::BadGateway().json(wire::ChannelTest {
            ok: false,
            error: Some(error),
        }),
    })
}
