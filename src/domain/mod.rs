//! Validated values the rest of the code can trust once constructed.
pub mod alert;
pub mod badge;
pub mod channel;
pub mod cron;
pub mod host;
pub mod host_checks;
pub mod host_status;
pub mod maintenance;
pub mod metrics;
pub mod problem;
pub mod role;
pub mod runs;
pub mod schedule;
pub mod status;
pub mod user;
pub mod zone;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use problem::{FieldError, Problem};

/// A text that is not one of a closed set of values (a status, a kind, a state).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{value}'; use one of {allowed}")]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
    pub allowed: String,
}

/// A closed set of values with one text form each, used in storage, URLs and JSON:
/// `as_str`, `ALL`, `Display` and `FromStr` (refusing anything else with [`UnknownValue`]).
/// Stored columns of these types derive sea-orm's `DeriveValueType` from the same text.
macro_rules! closed_set {
    ($name:ident, $what:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::domain::UnknownValue {
                        what: $what,
                        value: s.to_owned(),
                        allowed: [$($text),+].join(", "),
                    }),
                }
            }
        }
    };
}
pub(crate) use closed_set;

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
            return Err(FieldError::new("service", Problem::Required));
        }
        if s.len() > 16
            || !s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(FieldError::new("service", Problem::BadServiceId));
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

/// Control and format characters: line breaks, zero-width spaces and joiners, bidi
/// overrides and isolates, the byte-order mark. They make names that look alike
/// (`dup` and `dup\u{200b}`) or read backwards (`abc\u{202e}gpj.exe`).
pub fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{061c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        )
}

/// A service's name: unique, shown everywhere.
pub fn parse_name(s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(FieldError::new("name", Problem::Required));
    }
    if s.chars().count() > 200 {
        return Err(FieldError::new("name", Problem::TooLong { max: 200 }));
    }
    if s.chars().any(is_invisible) {
        return Err(FieldError::new("name", Problem::ControlCharacters));
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
                    return Err(FieldError::new("tags", Problem::TagTooLong { tag }));
                }
                if tag
                    .chars()
                    .any(|c| c.is_whitespace() || is_invisible(c) || c == '%' || c == ',')
                {
                    return Err(FieldError::new("tags", Problem::TagCharacters { tag }));
                }
                if !tags.contains(&tag) {
                    tags.push(tag);
                }
            }
        }
        if tags.len() > 32 {
            return Err(FieldError::new("tags", Problem::TooManyTags { max: 32 }));
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
    /// A plain `local@domain` that the mail builder (`lettre`'s `Mailbox`) and SMTP
    /// servers take as it is: a dot-atom local part and a host name; no quoted local
    /// parts, address literals (`[127.0.0.1]`) or display names, which pass a lenient
    /// parser and then fail at every delivery.
    pub fn parse(s: &str) -> Result<Self, Problem> {
        let s = s.trim();
        let atom = |c: char| c.is_alphanumeric() || "!#$%&'*+/=?^`{|}~-_".contains(c);
        let dot_separated = |part: &str, ok: &dyn Fn(char) -> bool| {
            !part.is_empty() && part.split('.').all(|p| !p.is_empty() && p.chars().all(ok))
        };
        let host_label = |label: &str| {
            !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        let valid = s.len() <= 320
            && s.split_once('@').is_some_and(|(local, domain)| {
                dot_separated(local, &atom)
                    && dot_separated(domain, &|c| c.is_alphanumeric() || c == '-')
                    && domain.split('.').all(host_label)
            })
            && s.parse::<lettre::message::Mailbox>()
                .is_ok_and(|m| m.name.is_none() && m.email.to_string() == s);
        if valid {
            Ok(Self(s.to_owned()))
        } else {
            Err(Problem::BadEmail {
                value: s.to_owned(),
            })
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
        return Err(FieldError::new(
            "notify",
            Problem::TooManyAddresses { max: 50 },
        ));
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
            Problem::DurationRange {
                got: secs,
                max: MAX,
            },
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
        assert!(Tags::parse(&["gpu\u{200b}"]).is_err());
        assert_eq!(Tags::parse(&["gpu_a100"]).unwrap().as_slice(), ["gpu_a100"]);
    }

    #[test]
    fn names_refuse_invisible_characters() {
        for bad in [
            "dup\u{200b}",
            "abc\u{202e}gpj.exe",
            "a\u{2066}b",
            "\u{feff}x",
            "a\nb",
        ] {
            assert_eq!(
                parse_name(bad).unwrap_err().problem,
                Problem::ControlCharacters,
                "{bad:?}"
            );
        }
        assert_eq!(parse_name(" 数据库备份 ").as_deref(), Ok("数据库备份"));
    }

    #[test]
    fn addresses_are_what_the_mail_builder_can_send() {
        for good in [
            "ops@example.com",
            "first.last+tag@mail.example.cn",
            "ops@localhost",
        ] {
            assert!(EmailAddress::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "\"<script>\"@example.com",
            "a@[127.0.0.1]",
            "nope",
            "a b@example.com",
            ".a@example.com",
            "a..b@example.com",
            "a@-example.com",
            "a@example..com",
            "Ops <ops@example.com>",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
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
