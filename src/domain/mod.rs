//! Validated values the rest of the code can trust once constructed.
pub mod cron;
pub mod schedule;
pub mod status;

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a value from a request or a setting was refused; `field` names where it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// A service's short public id: URL-safe, used in ping URLs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ServiceId(String);

const ID_ALPHABET: [char; 62] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i',
    'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'A', 'B',
    'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', 'P', 'Q', 'R', 'S', 'T', 'U',
    'V', 'W', 'X', 'Y', 'Z',
];

impl ServiceId {
    /// A fresh random id. Alphanumeric only, so it survives copy-paste into shells and URLs.
    pub fn generate() -> Self {
        Self(nanoid::nanoid!(8, &ID_ALPHABET))
    }

    /// Ids come from URLs typed by people and from the old tool (e.g. `60y4E`).
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(FieldError::new("service", "is required"));
        }
        if s.len() > 16
            || !s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(FieldError::new(
                "service",
                "must be 1-16 characters of A-Z, a-z, 0-9, '_' or '-'",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A service's name: unique, shown everywhere.
pub fn parse_name(s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(FieldError::new("name", "is required"));
    }
    if s.chars().count() > 200 {
        return Err(FieldError::new("name", "must be at most 200 characters"));
    }
    if s.chars().any(char::is_control) {
        return Err(FieldError::new(
            "name",
            "must not contain control characters",
        ));
    }
    Ok(s.to_owned())
}

/// A set of tags, kept lower-case, trimmed, de-duplicated and in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags(Vec<String>);

impl Tags {
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<Self, FieldError> {
        let mut tags: Vec<String> = Vec::new();
        for item in items {
            // "a,b" inside one item is two tags, as in the search box.
            for raw in item.as_ref().split(',') {
                let tag = raw.trim().to_lowercase();
                if tag.is_empty() {
                    continue;
                }
                if tag.chars().count() > 50 {
                    return Err(FieldError::new(
                        "tags",
                        format!("tag '{tag}' is longer than 50 characters"),
                    ));
                }
                if tag
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == '%' || c == '_')
                {
                    return Err(FieldError::new(
                        "tags",
                        format!("tag '{tag}' may not contain spaces, '%' or '_'"),
                    ));
                }
                if !tags.contains(&tag) {
                    tags.push(tag);
                }
            }
        }
        if tags.len() > 32 {
            return Err(FieldError::new("tags", "at most 32 tags"));
        }
        Ok(Self(tags))
    }

    /// The stored form, `,a,b,`, so one tag is found with `LIKE '%,a,%'`.
    pub fn to_column(&self) -> String {
        if self.0.is_empty() {
            String::new()
        } else {
            format!(",{},", self.0.join(","))
        }
    }

    pub fn from_column(s: &str) -> Self {
        Self(
            s.split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    pub fn into_vec(self) -> Vec<String> {
        self.0
    }
}

/// An email address, checked for the shape `local@domain` that SMTP servers accept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let valid = s.len() <= 320
            && s.parse::<lettre::Address>().is_ok()
            && !s.chars().any(|c| c.is_whitespace() || c == ',');
        if valid {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!("'{s}' is not an email address"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A list of recipients, stored comma-separated.
pub fn parse_notify<S: AsRef<str>>(items: &[S]) -> Result<Vec<EmailAddress>, FieldError> {
    let mut out: Vec<EmailAddress> = Vec::new();
    for item in items {
        for raw in item.as_ref().split([',', ';']) {
            if raw.trim().is_empty() {
                continue;
            }
            let addr = EmailAddress::parse(raw).map_err(|m| FieldError::new("notify", m))?;
            if !out.contains(&addr) {
                out.push(addr);
            }
        }
    }
    if out.len() > 50 {
        return Err(FieldError::new("notify", "at most 50 addresses"));
    }
    Ok(out)
}

pub fn notify_to_column(list: &[EmailAddress]) -> String {
    list.iter()
        .map(EmailAddress::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

pub fn notify_from_column(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Periods and grace times: 1 s … 366 days.
pub fn parse_duration_secs(field: &'static str, secs: i64) -> Result<i64, FieldError> {
    const MAX: i64 = 366 * 24 * 3600;
    if (1..=MAX).contains(&secs) {
        Ok(secs)
    } else {
        Err(FieldError::new(
            field,
            format!("must be between 1 and {MAX} seconds (366 days), got {secs}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_normalise_and_round_trip() {
        let tags = Tags::parse(&["Cert, sync", "cert", ""]).unwrap();
        assert_eq!(tags.as_slice(), ["cert", "sync"]);
        assert_eq!(tags.to_column(), ",cert,sync,");
        assert_eq!(Tags::from_column(",cert,sync,"), tags);
        assert!(Tags::parse(&["a b"]).is_err());
        assert!(Tags::parse(&["50%"]).is_err());
    }

    #[test]
    fn service_ids() {
        assert!(ServiceId::parse("60y4E").is_ok());
        assert!(ServiceId::parse("").is_err());
        assert!(ServiceId::parse("a/b").is_err());
        assert_eq!(ServiceId::generate().as_str().len(), 8);
    }

    #[test]
    fn emails() {
        assert!(
            parse_notify(&["ops@example.com, dev@example.com"])
                .unwrap()
                .len()
                == 2
        );
        assert_eq!(parse_notify(&["nope"]).unwrap_err().field, "notify");
    }

    #[test]
    fn durations() {
        assert!(parse_duration_secs("period", 0).is_err());
        assert!(parse_duration_secs("period", 366 * 86400).is_ok());
        assert!(parse_duration_secs("grace", 366 * 86400 + 1).is_err());
    }
}
