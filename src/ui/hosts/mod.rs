//! The hosts pages: the overview with its live rows, a host's page with its live values
//! and charts, the add/edit form, delete with confirmation, pause and resume, the events
//! log and the unmanaged inbox. Changes go through `app::hosts` (see [`actions`]).
pub mod actions;
pub mod chart;
pub mod charts;
pub mod edit;
pub mod form;
pub mod list;
pub mod logs;
pub mod page;
pub mod rows;
pub mod snapshot;
pub mod values;

use actix_web::middleware::Compress;
use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/hosts")
            .wrap(Compress::default())
            .route(web::get().to(list::page)),
    )
    .service(
        web::resource("/ui/hosts/rows")
            .wrap(Compress::default())
            .route(web::get().to(list::fragment)),
    )
    .route("/hosts/new", web::get().to(edit::new_form))
    .route("/hosts/new", web::post().to(edit::create))
    .route("/hosts/inbox", web::get().to(logs::inbox))
    .route("/hosts/inbox/adopt", web::post().to(actions::adopt))
    .route("/hosts/inbox/dismiss", web::post().to(actions::dismiss))
    .route("/events", web::get().to(logs::events))
    .service(
        web::resource("/hosts/{id}")
            .wrap(Compress::default())
            .route(web::get().to(page::page)),
    )
    .route("/ui/hosts/{id}/live", web::get().to(page::live))
    .route("/hosts/{id}/edit", web::get().to(edit::edit_form))
    .route("/hosts/{id}/edit", web::post().to(edit::update))
    .route("/hosts/{id}/pause", web::post().to(actions::pause))
    .route("/hosts/{id}/resume", web::post().to(actions::resume))
    .route("/hosts/{id}/snooze", web::post().to(actions::snooze))
    .route(
        "/hosts/{id}/snooze/clear",
        web::post().to(actions::unsnooze),
    )
    .route(
        "/hosts/{id}/refresh-units",
        web::post().to(actions::refresh_units),
    )
    .route("/hosts/{id}/delete", web::get().to(actions::confirm_delete))
    .route("/hosts/{id}/delete", web::post().to(actions::delete));
}
