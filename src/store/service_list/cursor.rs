//! Where a page of services ends: the sort key of its last (or first) row, handed to
//! clients as an opaque string so that the key's shape may change without breaking links.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::domain::{FieldError, Problem};

/// The sort key of a row: its group in the order (0 when the order has none), its name
/// key and its id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    pub group: u8,
    pub key: String,
    pub id: String,
}

/// The longest cursor accepted: a 400-character name key in UTF-8, base64-encoded, and room.
const MAX_ENCODED: usize = 2600;

impl Cursor {
    pub fn encode(&self) -> String {
        let json = serde_json::json!([1, self.group, self.key, self.id]);
        URL_SAFE_NO_PAD.encode(json.to_string())
    }

    pub fn decode(s: &str) -> Result<Self, FieldError> {
        let bad = || FieldError::new("cursor", Problem::BadCursor);
        if s.len() > MAX_ENCODED {
            return Err(bad());
        }
        let bytes = URL_SAFE_NO_PAD.decode(s.trim()).map_err(|_| bad())?;
        let (version, group, key, id): (u8, u8, String, String) =
            serde_json::from_slice(&bytes).map_err(|_| bad())?;
        if version != 1 || id.is_empty() {
            return Err(bad());
        }
        Ok(Self { group, key, id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_what_they_did_not_make() {
        let c = Cursor {
            group: 2,
            key: "backup 备份 \"x\"".into(),
            id: "V1StGXR8".into(),
        };
        let s = c.encode();
        assert!(
            s.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
        );
        assert_eq!(Cursor::decode(&s).unwrap(), c);
        for bad in ["", "nope", "W10", &"A".repeat(5000)] {
            assert_eq!(Cursor::decode(bad).unwrap_err().field, "cursor");
        }
    }
}
