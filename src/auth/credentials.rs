//! Credentials as they arrive in an `Authorization` header, and never printed.
use base64::Engine;

use crate::store::users;

#[derive(Clone)]
pub enum Credentials {
    Basic { user: String, password: String },
    Bearer(String),
}

/// Never the password or the key: credentials end up in spans and error logs.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Basic { user, .. } => f
                .debug_struct("Basic")
                .field("user", user)
                .field("password", &"<redacted>")
                .finish(),
            Credentials::Bearer(key) => f
                .debug_tuple("Bearer")
                .field(&users::key_prefix(key).unwrap_or("<redacted>"))
                .finish(),
        }
    }
}

impl Credentials {
    /// Parse an `Authorization` header value.
    pub fn from_header(value: &str) -> Option<Self> {
        let (scheme, rest) = value.trim().split_once(' ')?;
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest)
                .ok()?;
            let decoded = String::from_utf8(decoded).ok()?;
            let (user, password) = decoded.split_once(':')?;
            Some(Self::Basic {
                user: user.to_owned(),
                password: password.to_owned(),
            })
        } else if scheme.eq_ignore_ascii_case("bearer") {
            Some(Self::Bearer(rest.to_owned()))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_print_their_secret() {
        let basic = Credentials::Basic {
            user: "ops".into(),
            password: "hunter2-secret".into(),
        };
        let printed = format!("{basic:?}");
        assert!(
            printed.contains("ops") && !printed.contains("hunter2"),
            "{printed}"
        );
        let key = Credentials::Bearer("hb_abcdefgh_0123456789abcdefghijKLMN".into());
        let printed = format!("{key:?}");
        assert!(
            printed.contains("abcdefgh") && !printed.contains("0123456789"),
            "{printed}"
        );
    }
}
