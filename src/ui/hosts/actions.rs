//! Every change the hosts pages make, through `app::hosts` (the use cases the API and the
//! CLI share): create, update, pause, resume, delete (after a confirmation page), and
//! adopt or dismiss a name from the unmanaged inbox. All are POST forms with the session's
//! CSRF token; each forgets the rendered overview so the next look shows the change.
use actix_web::http::StatusCode;
use actix_web::web;
use askama::Template;
use serde::Deserialize;

use crate::app::hosts::HostDraft;
use crate::app::{self, AppResult};
use crate::domain::role::Action;
use crate::entity::hosts::Model;
use crate::store::hosts;
use crate::ui::http::encode;
use crate::ui::login::CsrfForm;
use crate::ui::page::{Chrome, InLang, UiResult};
use crate::ui::session::SignedIn;

fn changed(s: &SignedIn) {
    s.state.ui.host_cache.clear();
}

pub async fn create(s: &SignedIn, draft: &HostDraft) -> AppResult<Model> {
    let m = app::hosts::create(&s.state.app, &s.actor, draft).await?;
    changed(s);
    Ok(m)
}

pub async fn update(s: &SignedIn, id: &str, draft: &HostDraft) -> AppResult<Model> {
    let m = app::hosts::update(&s.state.app, &s.actor, id, draft).await?;
    changed(s);
    Ok(m)
}

async fn set_paused(s: SignedIn, id: &str, csrf: &str, pause: bool) -> UiResult {
    s.check_csrf(csrf)?;
    let m = if pause {
        app::hosts::pause(&s.state.app, &s.actor, id).await
    } else {
        app::hosts::resume(&s.state.app, &s.actor, id).await
    }
    .lang(s.lang)?;
    changed(&s);
    Ok(s.redirect(
        &format!("/hosts/{}", m.id),
        Some(if pause { "host_paused" } else { "host_resumed" }),
    ))
}

pub async fn pause(s: SignedIn, id: web::Path<String>, form: web::Form<CsrfForm>) -> UiResult {
    set_paused(s, &id, &form.csrf, true).await
}

pub async fn resume(s: SignedIn, id: web::Path<String>, form: web::Form<CsrfForm>) -> UiResult {
    set_paused(s, &id, &form.csrf, false).await
}

pub async fn snooze(
    s: SignedIn,
    id: web::Path<String>,
    form: web::Form<crate::ui::maintenance::SnoozeForm>,
) -> UiResult {
    s.check_csrf(&form.csrf)?;
    let minutes = form.minutes().lang(s.lang)?;
    let m = app::hosts::snooze(&s.state.app, &s.actor, &id, Some(minutes), None)
        .await
        .lang(s.lang)?;
    Ok(s.redirect(&format!("/hosts/{}", m.id), None))
}

pub async fn unsnooze(s: SignedIn, id: web::Path<String>, form: web::Form<CsrfForm>) -> UiResult {
    s.check_csrf(&form.csrf)?;
    let m = app::hosts::unsnooze(&s.state.app, &s.actor, &id)
        .await
        .lang(s.lang)?;
    Ok(s.redirect(&format!("/hosts/{}", m.id), None))
}

/// Ask the host's collector for a new unit list with its next report.
pub async fn refresh_units(
    s: SignedIn,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> UiResult {
    s.check_csrf(&form.csrf)?;
    let m = app::hosts::agent::refresh_units(&s.state.app, &s.actor, &id)
        .await
        .lang(s.lang)?;
    Ok(s.redirect(&format!("/hosts/{}", m.id), Some("units_refresh")))
}

#[derive(Template)]
#[template(path = "host_delete.html")]
struct DeletePage<'a> {
    c: &'a Chrome,
    host: &'a Model,
}

pub async fn confirm_delete(s: SignedIn, id: web::Path<String>) -> UiResult {
    s.actor.require(Action::EditHosts).lang(s.lang)?;
    let m = hosts::get(&s.state.db, &id).await.lang(s.lang)?;
    let c = s.chrome("hosts");
    s.render(StatusCode::OK, &DeletePage { c: &c, host: &m })
}

pub async fn delete(s: SignedIn, id: web::Path<String>, form: web::Form<CsrfForm>) -> UiResult {
    s.check_csrf(&form.csrf)?;
    let m = app::hosts::delete(&s.state.app, &s.actor, &id)
        .await
        .lang(s.lang)?;
    changed(&s);
    Ok(s.redirect("/hosts", Some(&format!("deleted:{}", encode(&m.name)))))
}

#[derive(Debug, Deserialize)]
pub struct InboxForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub name: String,
}

/// Adopt a reporting name with the defaults for new hosts; its page follows.
pub async fn adopt(s: SignedIn, form: web::Form<InboxForm>) -> UiResult {
    s.check_csrf(&form.csrf)?;
    let m = app::hosts::adopt(&s.state.app, &s.actor, &form.name, &HostDraft::default())
        .await
        .lang(s.lang)?;
    changed(&s);
    Ok(s.redirect(&format!("/hosts/{}", m.id), Some("adopted")))
}

pub async fn dismiss(s: SignedIn, form: web::Form<InboxForm>) -> UiResult {
    s.check_csrf(&form.csrf)?;
    app::hosts::dismiss(&s.state.app, &s.actor, &form.name)
        .await
        .lang(s.lang)?;
    changed(&s);
    Ok(s.redirect(
        "/hosts/inbox",
        Some(&format!("dismissed:{}", encode(&form.name))),
    ))
}
