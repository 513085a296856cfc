//! Reading the audit log (admins only). Entries are written by each use case.
use super::{Actor, App, AppResult};
use crate::domain::role::Action;
use crate::entity::audit_log::Model;
use crate::store::audit;

/// A page of entries, newest first, optionally of one action (`service.update`, …).
pub async fn page(
    app: &App,
    actor: &Actor,
    action: Option<&str>,
    before: Option<i64>,
    limit: u64,
) -> AppResult<Vec<Model>> {
    actor.require(Action::ManageUsers)?;
    Ok(audit::page(&app.db, action, before, limit.clamp(1, 500)).await?)
}

/// Record a sign-in to the web UI, or a failed one (with the name that was tried).
pub async fn sign_in(app: &App, name: &str, user_id: Option<i64>, source: &str, ok: bool) {
    let actor = Actor {
        user_id,
        name: name.chars().take(64).collect(),
        role: crate::domain::role::Role::Viewer,
        scope: crate::domain::role::KeyScope::Read,
        source: Some(source.to_owned()),
    };
    let action = if ok { "signin" } else { "signin.failed" };
    app.audit(&actor, action, name, None).await;
}
