//! The admin web UI: pages rendered on the server with askama, a session cookie, a CSRF
//! token in every form, English and Simplified Chinese. Every flow works without
//! JavaScript; `static/app.js` only adds the live list, the schedule preview and copy
//! buttons.
pub mod account;
pub mod alerts;
pub mod assets;
pub mod audit;
pub mod badges;
pub mod channels;
pub mod cron_words;
pub mod format;
pub mod hosts;
pub mod http;
pub mod i18n;
pub mod list;
pub mod list_cache;
pub mod list_view;
pub mod live;
pub mod login;
pub mod maintenance;
pub mod page;
pub mod preview;
pub mod runs;
pub mod service;
pub mod service_form;
pub mod session;
pub mod snippets;
pub mod users;

use actix_web::middleware::Compress;
use actix_web::{HttpResponse, web};

/// The UI's share of the application state.
#[derive(Default)]
pub struct UiState {
    pub test_mail: alerts::TestMailLimit,
    pub list_cache: list_cache::ListCache,
    /// Rendered hosts overview rows, reused by live refreshes within the refresh floor.
    pub host_cache: list_cache::ListCache,
}

fn form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(64 * 1024)
        .error_handler(|err, _| {
            let resp = HttpResponse::BadRequest()
                .content_type("text/plain; charset=utf-8")
                .body(format!("invalid form: {err}"));
            actix_web::error::InternalError::from_response(err, resp).into()
        })
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(form_config())
        // CSS and JS go compressed to browsers that ask (a phone on a slow link).
        .service(
            web::resource("/static/{name}")
                .wrap(Compress::default())
                .route(web::get().to(assets::serve)),
        )
        .route("/login", web::get().to(login::form))
        .route("/badges", web::get().to(badges::page))
        .route("/login", web::post().to(login::submit))
        .route("/logout", web::post().to(login::logout))
        .route("/lang/{code}", web::get().to(login::switch_language))
        // The list can be large: compress it (and only the pages that can be).
        .service(
            web::resource("/")
                .wrap(Compress::default())
                .route(web::get().to(list::page)),
        )
        .service(
            web::resource("/ui/rows")
                .wrap(Compress::default())
                .route(web::get().to(list::fragment)),
        )
        .route("/ui/preview", web::get().to(preview::preview_json))
        .route("/services/new", web::get().to(service_form::new_form))
        .route("/services/new", web::post().to(service_form::create))
        .route("/services/{id}", web::get().to(service::page))
        .route(
            "/services/{id}/edit",
            web::get().to(service_form::edit_form),
        )
        .route("/services/{id}/edit", web::post().to(service_form::update))
        .route("/services/{id}/pause", web::post().to(service::pause))
        .route("/services/{id}/resume", web::post().to(service::resume))
        .route(
            "/services/{id}/ping-uuid",
            web::post().to(service::regenerate_ping_uuid),
        )
        .route("/services/{id}/snooze", web::post().to(service::snooze))
        .route(
            "/services/{id}/snooze/clear",
            web::post().to(service::unsnooze),
        )
        .route(
            "/services/{id}/delete",
            web::get().to(service::confirm_delete),
        )
        .route("/services/{id}/delete", web::post().to(service::delete))
        .configure(hosts::configure)
        .route("/maintenance", web::get().to(maintenance::page))
        .route("/maintenance", web::post().to(maintenance::create))
        .route(
            "/maintenance/{id}/edit",
            web::get().to(maintenance::edit_form),
        )
        .route(
            "/maintenance/{id}/edit",
            web::post().to(maintenance::update),
        )
        .route(
            "/maintenance/{id}/delete",
            web::post().to(maintenance::delete),
        )
        .route("/alerts", web::get().to(alerts::page))
        .route("/alerts/test", web::post().to(alerts::send_test))
        .route("/channels", web::get().to(channels::page))
        .route("/channels/new", web::get().to(channels::new_form))
        .route("/channels/new", web::post().to(channels::create))
        .route("/channels/{id}", web::get().to(channels::edit_form))
        .route("/channels/{id}", web::post().to(channels::update))
        .route("/channels/{id}/test", web::post().to(channels::test))
        .route("/channels/{id}/delete", web::post().to(channels::delete))
        .route("/users", web::get().to(users::page))
        .route("/users", web::post().to(users::add))
        .route("/users/{name}/role", web::post().to(users::set_role))
        .route("/users/{name}/remove", web::post().to(users::remove))
        .route("/audit", web::get().to(audit::page))
        .route("/account", web::get().to(account::page))
        .route(
            "/account/password",
            web::post().to(account::change_password),
        )
        .route("/account/keys", web::post().to(account::create_key))
        .route(
            "/account/ping-key",
            web::post().to(account::regenerate_ping_key),
        )
        .route(
            "/account/keys/{id}/revoke",
            web::post().to(account::revoke_key),
        );
}
