//! Value types of the config file that check themselves while the YAML is read, so a
//! bad value is reported with the line, column and key where it was written.

use std::fmt;
use std::time::Duration;

use regex::Regex;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

/// A percentage threshold: `90`, `92.5` or `"90%"`, within 0..=100; `off` disables an
/// inherited threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    At(f64),
    Off,
}

impl Limit {
    pub fn value(self) -> Option<f64> {
        match self {
            Limit::At(v) => Some(v),
            Limit::Off => None,
        }
    }
}

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LimitVisitor { max: Some(100.0) })
    }
}

/// Load average per core: any non-negative number, or `off`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadLimit(pub Limit);

impl<'de> Deserialize<'de> for LoadLimit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LimitVisitor { max: None }).map(LoadLimit)
    }
}

struct LimitVisitor {
    max: Option<f64>,
}

impl LimitVisitor {
    fn check<E: de::Error>(&self, v: f64) -> Result<Limit, E> {
        let in_range = v.is_finite() && v >= 0.0 && self.max.is_none_or(|max| v <= max);
        if in_range {
            Ok(Limit::At(v))
        } else if let Some(max) = self.max {
            Err(E::custom(format!(
                "{v} is out of range: use 0..={max}, or `off`"
            )))
        } else {
            Err(E::custom(format!(
                "{v} is out of range: use a number >= 0, or `off`"
            )))
        }
    }
}

impl Visitor<'_> for LimitVisitor {
    type Value = Limit;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.max {
            Some(_) => f.write_str("a percentage (0..=100, e.g. 90 or \"90%\") or `off`"),
            None => f.write_str("a number >= 0 or `off`"),
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Limit, E> {
        self.check(v as f64)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Limit, E> {
        self.check(v as f64)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Limit, E> {
        self.check(v)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Limit, E> {
        // YAML 1.1 readers turn `off` into false; people write it meaning "disabled".
        if v {
            Err(E::invalid_value(de::Unexpected::Bool(v), &self))
        } else {
            Ok(Limit::Off)
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Limit, E> {
        let t = v.trim();
        if matches!(
            t.to_ascii_lowercase().as_str(),
            "off" | "none" | "no" | "false"
        ) {
            return Ok(Limit::Off);
        }
        let number = if self.max.is_some() {
            t.strip_suffix('%').unwrap_or(t).trim()
        } else {
            t
        };
        match number.parse::<f64>() {
            Ok(n) => self.check(n),
            Err(_) => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
        }
    }
}

/// A duration: a number of seconds (`5`, `0.5`) or a string with a unit
/// (`"500ms"`, `"5s"`, `"2m"`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seconds(pub Duration);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SecondsVisitor)
    }
}

struct SecondsVisitor;

fn seconds<E: de::Error>(v: f64) -> Result<Seconds, E> {
    if v.is_finite() && (0.0..=86_400.0).contains(&v) {
        Ok(Seconds(Duration::from_secs_f64(v)))
    } else {
        Err(E::custom(format!(
            "{v} s is out of range: use 0 to 86400 seconds"
        )))
    }
}

impl Visitor<'_> for SecondsVisitor {
    type Value = Seconds;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a duration: seconds as a number, or a string like \"500ms\", \"5s\", \"2m\"")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Seconds, E> {
        seconds(v as f64)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Seconds, E> {
        seconds(v as f64)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Seconds, E> {
        seconds(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Seconds, E> {
        let t = v.trim();
        let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
        let (number, unit) = t.split_at(split);
        let factor = match unit.trim() {
            "" | "s" | "sec" | "secs" => 1.0,
            "ms" => 0.001,
            "m" | "min" | "mins" => 60.0,
            "h" => 3600.0,
            _ => return Err(E::invalid_value(de::Unexpected::Str(v), &self)),
        };
        match number.trim().parse::<f64>() {
            Ok(n) => seconds(n * factor),
            Err(_) => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
        }
    }
}

/// A scalar read as text whatever YAML made of it: old configs write `PASSWD: 123456`
/// or `PORT: "22"` and expect both to work.
#[derive(Debug, Clone, PartialEq)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor)
    }
}

struct TextVisitor;

impl Visitor<'_> for TextVisitor {
    type Value = Text;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or a number")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
        Ok(Text(v.to_owned()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
        Ok(Text(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
        Ok(Text(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
        Ok(Text(v.to_string()))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
        Ok(Text(v.to_string()))
    }
}

/// Reads `F` from a map and converts it with `convert`, inside the map's own
/// deserializer: a cross-field error then carries the map's line and key path, where
/// serde's `#[serde(try_from)]` would report the document's first line and no key.
pub fn checked_map<'de, D, F, T>(d: D, convert: fn(F) -> Result<T, String>) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    F: Deserialize<'de>,
{
    struct Checked<F, T>(fn(F) -> Result<T, String>);
    impl<'de, F: Deserialize<'de>, T> Visitor<'de> for Checked<F, T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a map")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            let fields = F::deserialize(de::value::MapAccessDeserializer::new(map))?;
            (self.0)(fields).map_err(de::Error::custom)
        }
    }
    d.deserialize_map(Checked(convert))
}

/// An extra `-o` option for ssh, `Key=Value` (e.g. `KexAlgorithms=curve25519-sha256`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshOption(pub String);

impl<'de> Deserialize<'de> for SshOption {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(SshOptionVisitor)
    }
}

struct SshOptionVisitor;

impl Visitor<'_> for SshOptionVisitor {
    type Value = SshOption;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an ssh option as Key=Value")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<SshOption, E> {
        let t = text.trim();
        let key_ok = t.starts_with(|c: char| c.is_ascii_alphabetic());
        if !key_ok || !t.contains(['=', ' ']) || t.contains(['\n', '\r']) {
            return Err(E::custom(format!(
                "{text:?} is not an ssh option: write Key=Value, as after `ssh -o`"
            )));
        }
        Ok(SshOption(t.to_owned()))
    }
}

/// How the SSH client treats a host key it has not seen before. A *changed* key is
/// refused under both policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum HostKeyPolicy {
    /// Only hosts already in known_hosts are accepted (`StrictHostKeyChecking=yes`).
    #[default]
    #[serde(alias = "yes")]
    Strict,
    /// A new host's key is recorded on first contact (`StrictHostKeyChecking=accept-new`).
    #[serde(alias = "accept_new")]
    AcceptNew,
}

/// A process that must be running on a host: a substring of its command line or a
/// regular expression over it, at least `min` times.
#[derive(Debug, Clone)]
pub struct ProcessRule {
    pub pattern: String,
    pub regex: Option<Regex>,
    pub min: u32,
}

impl ProcessRule {
    pub fn substring(pattern: impl Into<String>) -> Self {
        ProcessRule {
            pattern: pattern.into(),
            regex: None,
            min: 1,
        }
    }

    pub fn matches(&self, command_line: &str) -> bool {
        match &self.regex {
            Some(re) => re.is_match(command_line),
            None => command_line.contains(&self.pattern),
        }
    }
}

impl<'de> Deserialize<'de> for ProcessRule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ProcessVisitor)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProcessFields {
    #[serde(rename = "match")]
    substring: Option<String>,
    regex: Option<String>,
    min: Option<u32>,
}

struct ProcessVisitor;

impl<'de> Visitor<'de> for ProcessVisitor {
    type Value = ProcessRule;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a command-line substring, or a map with `match` or `regex` and `min`")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<ProcessRule, E> {
        if v.trim().is_empty() {
            return Err(E::custom("an empty process pattern matches everything"));
        }
        Ok(ProcessRule::substring(v))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ProcessRule, A::Error> {
        let fields = ProcessFields::deserialize(de::value::MapAccessDeserializer::new(map))?;
        let min = fields.min.unwrap_or(1);
        match (fields.substring, fields.regex) {
            (Some(s), None) => {
                let mut rule = self.visit_str::<A::Error>(&s)?;
                rule.min = min;
                Ok(rule)
            }
            (None, Some(r)) => {
                let regex = Regex::new(&r)
                    .map_err(|e| de::Error::custom(format!("bad regex {r:?}: {e}")))?;
                Ok(ProcessRule {
                    pattern: r,
                    regex: Some(regex),
                    min,
                })
            }
            _ => Err(de::Error::custom("give exactly one of `match` or `regex`")),
        }
    }
}
