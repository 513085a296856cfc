//! API keys: created for a user and shown once, revoked by their owner (or an admin).
use super::{Actor, App, AppError, AppResult};
use crate::domain::role::{Action, KeyScope};
use crate::store::users::{self, NewApiKey};

#[tracing::instrument(skip(app, actor), fields(actor = %actor.name))]
pub async fn create(
    app: &App,
    actor: &Actor,
    user_name: &str,
    label: &str,
    scope: KeyScope,
) -> AppResult<NewApiKey> {
    let owner = users::find_by_name(&app.db, user_name).await?;
    match &owner {
        Some(u) if actor.is(u.id) => actor.require(Action::OwnAccount)?,
        _ => actor.require(Action::ManageUsers)?,
    }
    let owner = owner.ok_or(AppError::NotFound("user"))?;
    let key = users::create_api_key(&app.db, &owner.name, label, scope, app.now()).await?;
    app.credentials_changed();
    tracing::info!(prefix = %key.row.prefix, user = %owner.name, %scope, "API key created");
    let target = format!("{} {}", owner.name, key.row.prefix);
    app.audit(actor, "apikey.create", &target, Some(scope.as_str()))
        .await;
    Ok(key)
}

#[tracing::instrument(skip(app, actor), fields(actor = %actor.name))]
pub async fn revoke(app: &App, actor: &Actor, user_id: i64, key_id: i64) -> AppResult<()> {
    if actor.is(user_id) {
        actor.require(Action::OwnAccount)?;
    } else {
        actor.require(Action::ManageUsers)?;
    }
    users::revoke_api_key(&app.db, user_id, key_id).await?;
    app.credentials_changed();
    tracing::info!(key_id, "API key revoked");
    app.audit(actor, "apikey.revoke", &key_id.to_string(), None)
        .await;
    Ok(())
}
