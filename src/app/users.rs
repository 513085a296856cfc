//! Users: add, change a password or a role, remove. Managing others is for admins; a
//! user may change their own password.
use super::{Actor, App, AppError, AppResult, Check};
use crate::domain::role::{Action, Role};
use crate::domain::user::{check_password, parse_user_name};
use crate::domain::{EmailAddress, FieldError, Problem};
use crate::entity::users::Model;
use crate::store::{sessions, users};

/// A new user as typed.
#[derive(Clone)]
pub struct UserDraft {
    pub name: String,
    pub email: Option<String>,
    pub password: String,
    pub role: Role,
}

impl Default for UserDraft {
    fn default() -> Self {
        Self {
            name: String::new(),
            email: None,
            password: String::new(),
            role: Role::Member,
        }
    }
}

impl std::fmt::Debug for UserDraft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserDraft")
            .field("name", &self.name)
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .field("role", &self.role)
            .finish()
    }
}

#[tracing::instrument(skip_all, fields(actor = %actor.name, name = %draft.name))]
pub async fn add(app: &App, actor: &Actor, draft: &UserDraft) -> AppResult<Model> {
    actor.require(Action::ManageUsers)?;
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
    // The first user administers the server, whatever was asked: someone must.
    let role = if users::count(&app.db).await? == 0 {
        Role::Admin
    } else {
        draft.role
    };
    let hash = app.auth.hash_password(draft.password.clone()).await?;
    let user = users::create(&app.db, &name, email.as_deref(), hash, role, app.now()).await?;
    app.credentials_changed();
    tracing::info!(user = %user.name, role = %user.role, "user added");
    app.audit(actor, "user.add", &user.name, Some(user.role.as_str()))
        .await;
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

/// The user `name`, and whether it is the actor's own account; managing another user
/// needs an admin.
async fn subject(app: &App, actor: &Actor, name: &str, own: Action) -> AppResult<Model> {
    let user = users::find_by_name(&app.db, name).await?;
    match &user {
        Some(u) if actor.is(u.id) => actor.require(own)?,
        _ => actor.require(Action::ManageUsers)?,
    }
    user.ok_or(AppError::NotFound("user"))
}

#[tracing::instrument(skip(app, actor, change), fields(actor = %actor.name))]
pub async fn change_password(
    app: &App,
    actor: &Actor,
    name: &str,
    change: &PasswordChange<'_>,
) -> AppResult<()> {
    let user = subject(app, actor, name, Action::OwnAccount).await?;
    let mut check = Check::default();
    let new = change.new;
    if let Some(current) = change.current {
        let verified = app
            .auth
            .verify_password(&user.name, current)
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
    let hash = app.auth.hash_password(new.to_owned()).await?;
    let user = users::set_password_hash(&app.db, &user.name, hash, app.now()).await?;
    let ended = sessions::delete_others(&app.db, user.id, change.keep_session).await?;
    app.credentials_changed();
    tracing::info!(user = %user.name, sessions_ended = ended, "password changed");
    app.audit(actor, "user.password", &user.name, None).await;
    Ok(())
}

/// A user's ping key (their own, or anyone's for an admin); one is made if they have none.
#[tracing::instrument(skip(app, actor), fields(actor = %actor.name))]
pub async fn ping_key(app: &App, actor: &Actor, name: &str) -> AppResult<Model> {
    let user = subject(app, actor, name, Action::OwnAccount).await?;
    if user.ping_key.is_some() {
        return Ok(user);
    }
    Ok(users::regenerate_ping_key(&app.db, &user.name).await?)
}

/// Give a user a new ping key: their `/ping/<ping-key>/<slug>` URLs change at once.
#[tracing::instrument(skip(app, actor), fields(actor = %actor.name))]
pub async fn regenerate_ping_key(app: &App, actor: &Actor, name: &str) -> AppResult<Model> {
    let user = subject(app, actor, name, Action::OwnAccount).await?;
    let user = users::regenerate_ping_key(&app.db, &user.name).await?;
    app.audit(actor, "user.ping_key", &user.name, None).await;
    Ok(user)
}

/// Refuse to leave the server without an admin.
async fn keep_an_admin(app: &App, user: &Model, field: &'static str) -> AppResult<()> {
    if user.role == Role::Admin && users::count_admins(&app.db).await? <= 1 {
        return Err(FieldError::new(field, Problem::LastAdmin).into());
    }
    Ok(())
}

#[tracing::instrument(skip(app, actor), fields(actor = %actor.name))]
pub async fn set_role(app: &App, actor: &Actor, name: &str, role: Role) -> AppResult<Model> {
    actor.require(Action::ManageUsers)?;
    let user = users::find_by_name(&app.db, name)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    if user.role == role {
        return Ok(user);
    }
    keep_an_admin(app, &user, "role").await?;
    let user = users::set_role(&app.db, name, role).await?;
    app.credentials_changed();
    tracing::info!(user = %user.name, role = %role, "role changed");
    app.audit(actor, "user.role", &user.name, Some(role.as_str()))
        .await;
    Ok(user)
}

#[tracing::instrument(skip(app, actor), fields(actor = %actor.name))]
pub async fn remove(app: &App, actor: &Actor, name: &str) -> AppResult<()> {
    actor.require(Action::ManageUsers)?;
    let user = users::find_by_name(&app.db, name)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    keep_an_admin(app, &user, "name").await?;
    sessions::delete_others(&app.db, user.id, None).await?;
    users::remove(&app.db, name).await?;
    app.credentials_changed();
    tracing::info!(user = %name, "user removed");
    app.audit(actor, "user.remove", name, None).await;
    Ok(())
}

/// Every user, by name (admins only).
pub async fn list(app: &App, actor: &Actor) -> AppResult<Vec<Model>> {
    actor.require(Action::ManageUsers)?;
    Ok(users::list(&app.db).await?)
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
        role: Role::Admin,
    };
    add(app, &Actor::cli(), &draft).await.map_err(|e| {
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
