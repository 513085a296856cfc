//! Maintenance windows: list, read, create, update, delete. Members (who edit services or
//! hosts) manage them; everyone who may read sees them.
use super::{Actor, App, AppError, AppResult};
use crate::domain::maintenance::{Window, WindowDraft};
use crate::domain::role::Action;
use crate::domain::{FieldError, Problem, ServiceId};
use crate::entity::maintenance_windows::Model;
use crate::store::maintenance::{self, MAX_WINDOWS};

/// A window silences services and hosts, so either right is enough to manage one.
fn require_edit(actor: &Actor) -> AppResult<()> {
    if actor.may(Action::EditServices) || actor.may(Action::EditHosts) {
        Ok(())
    } else {
        actor.require(Action::EditServices)
    }
}

fn target(id: &str, name: &str) -> String {
    format!("{id} {name}")
}

fn parsed(m: &Model) -> AppResult<Window> {
    maintenance::window_of(m).map_err(|e| {
        AppError::Other(anyhow::anyhow!(
            "maintenance window {} no longer parses: {e}",
            m.id
        ))
    })
}

/// Every window that parses, by name.
#[tracing::instrument(skip_all, fields(actor = %actor.name))]
pub async fn list(app: &App, actor: &Actor) -> AppResult<Vec<Window>> {
    actor.require(Action::Read)?;
    Ok(maintenance::all_windows(&app.db).await?)
}

#[tracing::instrument(skip(app, actor), fields(actor = %actor.name))]
pub async fn get(app: &App, actor: &Actor, id: &str) -> AppResult<Window> {
    actor.require(Action::Read)?;
    parsed(&maintenance::get(&app.db, id).await?)
}

#[tracing::instrument(skip_all, fields(actor = %actor.name, name = %draft.name))]
pub async fn create(app: &App, actor: &Actor, draft: &WindowDraft) -> AppResult<Window> {
    require_edit(actor)?;
    let w = draft
        .validate(ServiceId::generate().to_string(), app.default_tz)
        .map_err(AppError::Invalid)?;
    if maintenance::count(&app.db).await? >= MAX_WINDOWS {
        return Err(AppError::invalid(FieldError::new(
            "name",
            Problem::TooManyItems {
                max: MAX_WINDOWS as usize,
            },
        )));
    }
    maintenance::create(&app.db, &w, app.now()).await?;
    tracing::info!(id = %w.id, name = %w.name, "maintenance window created");
    app.audit(actor, "maintenance.create", &target(&w.id, &w.name), None)
        .await;
    Ok(w)
}

/// Replace a window's settings with `draft` (the API's PATCH starts from
/// [`Window::draft`] and changes what was sent).
#[tracing::instrument(skip(app, actor, draft), fields(actor = %actor.name))]
pub async fn update(app: &App, actor: &Actor, id: &str, draft: &WindowDraft) -> AppResult<Window> {
    require_edit(actor)?;
    maintenance::get(&app.db, id).await?;
    let w = draft
        .validate(id.to_owned(), app.default_tz)
        .map_err(AppError::Invalid)?;
    maintenance::update(&app.db, &w, app.now()).await?;
    app.audit(actor, "maintenance.update", &target(&w.id, &w.name), None)
        .await;
    Ok(w)
}

/// Delete a window, even one that no longer parses; returns its row.
#[tracing::instrument(skip(app, actor), fields(actor = %actor.name))]
pub async fn delete(app: &App, actor: &Actor, id: &str) -> AppResult<Model> {
    require_edit(actor)?;
    let row = maintenance::get(&app.db, id).await?;
    maintenance::delete(&app.db, id).await?;
    tracing::info!(%id, name = %row.name, "maintenance window deleted");
    app.audit(
        actor,
        "maintenance.delete",
        &target(&row.id, &row.name),
        None,
    )
    .await;
    Ok(row)
}
