//! Users: add, change a password, remove.
use super::{App, AppError, AppResult, Check};
use crate::auth::hash_password;
use crate::domain::user::{check_password, parse_user_name};
use crate::domain::{EmailAddress, FieldError, Problem};
use crate::entity::users::Model;
use crate::store::{sessions, users};

/// A new user as typed.
#[derive(Clone, Default)]
pub struct UserDraft {
    pub name: String,
    pub email: Option<String>,
    pub password: String,
}

impl std::fmt::Debug for UserDraft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserDraft")
            .field("name", &self.name)
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .finish()
    }
}

#[tracing::instrument(skip_all, fields(name = %draft.name))]
pub async fn add(app: &App, draft: &UserDraft) -> AppResult<Model> {
    let mut check = Check::default();
    let name = check.take(parse_user_name(&draft.name));
    let email = match draft
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        Some(e) => check
            .take(EmailAddress::parse(e).map_err(|p| FieldError::new("email", p)))
            .map(|e| Some(e.as_str().to_owned())),
        None => Some(None),
    };
    check.take(check_password("password", &draft.password));
    check.finish()?;
    let (Some(name), Some(email)) = (name, email) else {
        return Err(anyhow::anyhow!("a checked draft lost a value").into());
    };
    let hash = hash_password(draft.password.clone()).await?;
    let user = users::create(&app.db, &name, email.as_deref(), hash, app.now()).await?;
    app.credentials_changed();
    tracing::info!(user = %user.name, "user added");
    Ok(user)
}

/// A new password, with what the account page also asks for.
#[derive(Default)]
pub struct PasswordChange<'a> {
    pub new: &'a str,
    /// Typed twice on a form: must equal `new`.
    pub confirm: Option<&'a str>,
    /// The user's present password, when the user changes it themselves; the CLI and
    /// administrators pass `None`.
    pub current: Option<&'a str>,
    /// The web session making the change, which stays signed in; every other session of
    /// the user ends.
    pub keep_session: Option<i64>,
}

#[tracing::instrument(skip(app, change))]
pub async fn change_password(app: &App, name: &str, change: &PasswordChange<'_>) -> AppResult<()> {
    let mut check = Check::default();
    let new = change.new;
    if let Some(current) = change.current {
        let verified = app
            .auth
            .verify_password(name, current)
            .await
            .map_err(|e| AppError::Other(e.into()))?;
        if verified.is_none() {
            check.take::<()>(Err(FieldError::new("current", Problem::WrongPassword)));
        }
    }
    check.take(check_password("new", new));
    if change.confirm.is_some_and(|c| c != new) {
        check.take::<()>(Err(FieldError::new("confirm", Problem::PasswordMismatch)));
    }
    check.finish()?;
    let hash = hash_password(new.to_owned()).await?;
    let user = users::set_password_hash(&app.db, name, hash, app.now()).await?;
    sessions::delete_others(&app.db, user.id, change.keep_session).await?;
    app.credentials_changed();
    tracing::info!(user = %name, "password changed");
    Ok(())
}

#[tracing::instrument(skip(app))]
pub async fn remove(app: &App, name: &str) -> AppResult<()> {
    let user = users::find_by_name(&app.db, name)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    sessions::delete_others(&app.db, user.id, None).await?;
    users::remove(&app.db, name).await?;
    app.credentials_changed();
    tracing::info!(user = %name, "user removed");
    Ok(())
}

/// On first start there are no users: create the admin, printing a generated password once.
pub async fn ensure_admin(app: &App, name: &str, password: Option<&str>) -> anyhow::Result<()> {
    if users::count(&app.db).await? > 0 {
        return Ok(());
    }
    let generated = password.is_none();
    let password = password.map_or_else(crate::auth::generate_password, str::to_owned);
    let draft = UserDraft {
        name: name.to_owned(),
        email: None,
        password: password.clone(),
    };
    add(app, &draft).await.map_err(|e| {
        anyhow::anyhow!("HB_ADMIN_USER / HB_ADMIN_PASSWORD: cannot create admin '{name}': {e}")
    })?;
    if generated {
        tracing::warn!(
            user = %name,
            %password,
            "created the first admin with a generated password; it is shown only this once. \
             Change it with: heartbeats user passwd {name} --password-stdin",
        );
    } else {
        tracing::info!(user = %name, "created the first admin from HB_ADMIN_USER / HB_ADMIN_PASSWORD");
    }
    Ok(())
}
