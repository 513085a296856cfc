//! Who may do what. A user has a role; an API key has a scope that can only narrow its
//! owner's role. Every use case states the [`Action`] it needs, so the rule is checked in
//! one place whichever front end (API, UI, CLI) asks.
use sea_orm::DeriveValueType;
use serde::{Deserialize, Serialize};

use super::closed_set;

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, DeriveValueType,
)]
#[serde(rename_all = "lowercase")]
#[sea_orm(value_type = "String")]
pub enum Role {
    /// Users, roles, channels, server-wide settings, the audit log; and all below.
    Admin,
    /// Services and hosts: create, edit, pause, delete; sends pings. New users' default.
    #[default]
    Member,
    /// Reads everything, changes nothing but their own password and keys.
    Viewer,
}

closed_set!(Role, "role", {
    Admin => "admin",
    Member => "member",
    Viewer => "viewer",
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, DeriveValueType)]
#[serde(rename_all = "lowercase")]
#[sea_orm(value_type = "String")]
pub enum KeyScope {
    /// Whatever the owner's role allows.
    Full,
    /// Reads only.
    Read,
    /// Pings and host reports only: the key for cron jobs and agents.
    Ping,
}

closed_set!(KeyScope, "scope", {
    Full => "full",
    Read => "read",
    Ping => "ping",
});

/// What a caller wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// See services, pings, alerts.
    Read,
    /// Send pings (and host reports).
    Ping,
    /// Create, edit, pause, resume, delete services.
    EditServices,
    /// Add, edit, pause, resume, remove hosts; edit the defaults for new hosts; adopt or
    /// dismiss unmanaged hosts.
    EditHosts,
    /// Add and remove users, change roles, read the audit log.
    ManageUsers,
    /// Change one's own password; create and revoke one's own API keys.
    OwnAccount,
    /// Send a test mail.
    SendTestMail,
}

impl Action {
    /// A short name for logs and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Ping => "ping",
            Action::EditServices => "edit services",
            Action::EditHosts => "edit hosts",
            Action::ManageUsers => "manage users",
            Action::OwnAccount => "manage own account",
            Action::SendTestMail => "send test mail",
        }
    }
}

impl Role {
    pub fn allows(self, action: Action) -> bool {
        match self {
            Role::Admin => true,
            Role::Member => !matches!(action, Action::ManageUsers),
            Role::Viewer => matches!(action, Action::Read | Action::OwnAccount),
        }
    }
}

impl KeyScope {
    pub fn allows(self, action: Action) -> bool {
        match self {
            KeyScope::Full => true,
            KeyScope::Read => action == Action::Read,
            KeyScope::Ping => action == Action::Ping,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_scopes() {
        assert!(Role::Admin.allows(Action::ManageUsers));
        assert!(!Role::Member.allows(Action::ManageUsers));
        assert!(Role::Member.allows(Action::EditServices));
        assert!(Role::Member.allows(Action::EditHosts));
        assert!(!Role::Viewer.allows(Action::EditHosts));
        assert!(Role::Member.allows(Action::Ping));
        assert!(!Role::Viewer.allows(Action::EditServices));
        assert!(!Role::Viewer.allows(Action::Ping));
        assert!(Role::Viewer.allows(Action::Read));
        assert!(Role::Viewer.allows(Action::OwnAccount));
        assert!(KeyScope::Ping.allows(Action::Ping));
        assert!(!KeyScope::Ping.allows(Action::Read));
        assert!(!KeyScope::Read.allows(Action::Ping));
        assert!(KeyScope::Full.allows(Action::ManageUsers));
        assert_eq!("viewer".parse::<Role>(), Ok(Role::Viewer));
        assert!("root".parse::<Role>().is_err());
    }
}
