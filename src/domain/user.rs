//! Rules for user names and passwords.
use super::{FieldError, Problem};

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// 1-64 characters of letters, digits, `_`, `-`, `.` and `@` (so an email works as a name).
pub fn parse_user_name(name: &str) -> Result<String, FieldError> {
    let name = name.trim();
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'));
    if ok {
        Ok(name.to_owned())
    } else {
        Err(FieldError::new("name", Problem::UserName))
    }
}

pub fn check_password(field: &'static str, pw: &str) -> Result<(), FieldError> {
    if pw.chars().count() < MIN_PASSWORD_CHARS {
        return Err(FieldError::new(
            field,
            Problem::PasswordTooShort {
                min: MIN_PASSWORD_CHARS,
            },
        ));
    }
    if pw.len() > MAX_PASSWORD_BYTES {
        return Err(FieldError::new(
            field,
            Problem::PasswordTooLong {
                max: MAX_PASSWORD_BYTES,
            },
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_passwords() {
        assert_eq!(
            parse_user_name(" ops@example.com "),
            Ok("ops@example.com".into())
        );
        assert_eq!(parse_user_name("a b").unwrap_err().code(), "bad_user_name");
        assert_eq!(
            check_password("password", "short").unwrap_err().code(),
            "password_too_short"
        );
        assert!(check_password("password", "long enough").is_ok());
        assert_eq!(
            check_password("new", &"x".repeat(1025))
                .unwrap_err()
                .to_string(),
            "new: must be at most 1024 bytes"
        );
    }
}
