//! API keys: created for a user and shown once, revoked by their owner.
use super::{App, AppResult};
use crate::store::users::{self, NewApiKey};

#[tracing::instrument(skip(app))]
pub async fn create(app: &App, user_name: &str, label: &str) -> AppResult<NewApiKey> {
    let key = users::create_api_key(&app.db, user_name, label, app.now()).await?;
    app.credentials_changed();
    tracing::info!(prefix = %key.row.prefix, user = %user_name, "API key created");
    Ok(key)
}

#[tracing::instrument(skip(app))]
pub async fn revoke(app: &App, user_id: i64, key_id: i64) -> AppResult<()> {
    users::revoke_api_key(&app.db, user_id, key_id).await?;
    app.credentials_changed();
    tracing::info!(key_id, "API key revoked");
    Ok(())
}
