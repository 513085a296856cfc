//! Status badges: what a badge says (label, status, colour), the flat SVG shields.io draws
//! and the JSON its endpoint badges read, and the signature that makes a badge's URL
//! unguessable (a truncated HMAC-SHA256 of its subject with the server's badge key).
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::status::Status;

/// Hex characters of the signature in a badge URL: 64 bits, beyond guessing over HTTP.
pub const SIG_LEN: usize = 16;

/// What a badge is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// Every service.
    All,
    /// The services with this tag.
    Tag(String),
    /// One service, by id.
    Service(String),
}

impl Subject {
    /// The signed text: kinds apart, so a tag and a service id that are spelt alike do
    /// not share a signature.
    fn message(&self) -> String {
        match self {
            Subject::All => "all".to_owned(),
            Subject::Tag(t) => format!("tag:{t}"),
            Subject::Service(id) => format!("service:{id}"),
        }
    }
}

/// The signature of `subject` under `key`.
pub fn sign(key: &str, subject: &Subject) -> String {
    // HMAC takes keys of any length.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.as_bytes()) else {
        unreachable!("HMAC accepts every key length")
    };
    mac.update(subject.message().as_bytes());
    let mut sig = hex::encode(mac.finalize().into_bytes());
    sig.truncate(SIG_LEN);
    sig
}

/// Whether `sig` is `subject`'s signature, compared in constant time.
pub fn verify(key: &str, subject: &Subject, sig: &str) -> bool {
    let want = sign(key, subject);
    sig.len() == want.len() && bool::from(sig.as_bytes().ct_eq(want.as_bytes()))
}

/// A badge's status: a service's, or the worst of several; `None` is a tag without
/// services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown(pub Option<Status>);

impl Shown {
    pub fn message(self) -> &'static str {
        match self.0 {
            Some(s) => s.as_str(),
            None => "no services",
        }
    }

    /// The colour in the SVG: shields.io's brightgreen, orange, red and lightgrey.
    pub fn hex(self) -> &'static str {
        match self.0 {
            Some(Status::Up) => "#4c1",
            Some(Status::Late) => "#fe7d37",
            Some(Status::Down) => "#e05d44",
            _ => "#9f9f9f",
        }
    }

    /// The same colour by the name shields.io's endpoint badges know it by.
    pub fn color_name(self) -> &'static str {
        match self.0 {
            Some(Status::Up) => "brightgreen",
            Some(Status::Late) => "orange",
            Some(Status::Down) => "red",
            _ => "lightgrey",
        }
    }
}

/// The worst of some statuses, as a tag badge shows it: down, then late, up, new, paused.
pub fn worst(statuses: impl IntoIterator<Item = Status>) -> Shown {
    let rank = |s: &Status| match s {
        Status::Down => 0,
        Status::Late => 1,
        Status::Up => 2,
        Status::New => 3,
        Status::Paused => 4,
    };
    Shown(statuses.into_iter().min_by_key(rank))
}

/// Text width in pixels in 11 px Verdana, near enough for a badge: shields.io measures
/// each glyph; here narrow, wide and CJK characters get their own widths.
fn text_width(s: &str) -> u32 {
    let tenths: u32 = s
        .chars()
        .map(|c| match c {
            'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '\'' | '!' | '|' => 31,
            'f' | 'r' | 't' | ' ' | '(' | ')' | '[' | ']' | '-' | '/' => 45,
            'm' | 'w' | 'M' | 'W' | '@' | '%' => 100,
            'A'..='Z' => 75,
            c if c.is_ascii() => 66,
            // CJK and other wide scripts take about a full em.
            _ => 110,
        })
        .sum();
    tenths.div_ceil(10)
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A flat badge: `label` on grey, the status on its colour.
pub fn svg(label: &str, shown: Shown) -> String {
    let message = shown.message();
    let lw = text_width(label) + 10;
    let mw = text_width(message) + 10;
    let w = lw + mw;
    let (label_x, message_x) = (lw * 5, lw * 10 + mw * 5);
    let (label_len, message_len) = ((lw - 10) * 10, (mw - 10) * 10);
    let label = xml_escape(label);
    let color = shown.hex();
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="20" role="img" aria-label="{label}: {message}"><title>{label}: {message}</title><linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient><clipPath id="r"><rect width="{w}" height="20" rx="3" fill="#fff"/></clipPath><g clip-path="url(#r)"><rect width="{lw}" height="20" fill="#555"/><rect x="{lw}" width="{mw}" height="20" fill="{color}"/><rect width="{w}" height="20" fill="url(#s)"/></g><g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="110"><text aria-hidden="true" x="{label_x}" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" textLength="{label_len}">{label}</text><text x="{label_x}" y="140" transform="scale(.1)" fill="#fff" textLength="{label_len}">{label}</text><text aria-hidden="true" x="{message_x}" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" textLength="{message_len}">{message}</text><text x="{message_x}" y="140" transform="scale(.1)" fill="#fff" textLength="{message_len}">{message}</text></g></svg>"##
    )
}

/// A badge's format: the SVG image, or shields.io's endpoint JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Svg,
    Json,
}

impl Format {
    pub fn ext(self) -> &'static str {
        match self {
            Format::Svg => "svg",
            Format::Json => "json",
        }
    }
}

/// The path of a badge, signed with `key`: `/badge/<sig>/all.svg`,
/// `/badge/<sig>/tag/<tag>.svg` (the tag percent-encoded), `/badge/<sig>/service/<id>.svg`.
pub fn path(key: &str, subject: &Subject, format: Format) -> String {
    let sig = sign(key, subject);
    let ext = format.ext();
    match subject {
        Subject::All => format!("/badge/{sig}/all.{ext}"),
        Subject::Tag(t) => format!("/badge/{sig}/tag/{}.{ext}", encode(t)),
        Subject::Service(id) => format!("/badge/{sig}/service/{}.{ext}", encode(id)),
    }
}

/// The signature, subject and format a badge path names (what follows `/badge/`, still
/// percent-encoded); `None` when it names none.
pub fn parse_path(rest: &str) -> Option<(String, Subject, Format)> {
    let (sig, rest) = rest.split_once('/')?;
    let (rest, format) = if let Some(r) = rest.strip_suffix(".svg") {
        (r, Format::Svg)
    } else if let Some(r) = rest.strip_suffix(".json") {
        (r, Format::Json)
    } else {
        return None;
    };
    let subject = if rest == "all" {
        Subject::All
    } else if let Some(t) = rest.strip_prefix("tag/") {
        Subject::Tag(decode(t)?)
    } else if let Some(id) = rest.strip_prefix("service/") {
        Subject::Service(decode(id)?)
    } else {
        return None;
    };
    Some((sig.to_owned(), subject, format))
}

/// Percent-encoding of everything but unreserved ASCII.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok().filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_differ_by_key_and_subject_kind() {
        let tag = Subject::Tag("abc".into());
        let svc = Subject::Service("abc".into());
        let sig = sign("k1", &tag);
        assert_eq!(sig.len(), SIG_LEN);
        assert!(sig.chars().all(|c| c.is_ascii_hexdigit()));
        assert!(verify("k1", &tag, &sig));
        assert!(!verify("k2", &tag, &sig));
        assert!(!verify("k1", &svc, &sig));
        assert!(!verify("k1", &tag, &sig[..SIG_LEN - 1]));
        assert_ne!(sign("k1", &Subject::All), sign("k1", &tag));
    }

    #[test]
    fn paths_round_trip_with_odd_tags() {
        for subject in [
            Subject::All,
            Subject::Tag("备份/夜间.svg?x#y".into()),
            Subject::Service("aB3-x_9".into()),
        ] {
            for format in [Format::Svg, Format::Json] {
                let p = path("k", &subject, format);
                let rest = p.strip_prefix("/badge/").unwrap();
                assert!(!rest.contains('?') && !rest.contains('#'), "{p}");
                let (sig, back, f) = parse_path(rest).unwrap();
                assert_eq!((&back, f), (&subject, format));
                assert!(verify("k", &back, &sig));
            }
        }
        assert_eq!(parse_path("abc/all.png"), None);
        assert_eq!(parse_path("abc/tag/%zz.svg"), None);
        assert_eq!(parse_path("abc/other/x.svg"), None);
    }

    #[test]
    fn the_worst_status_wins() {
        use Status::*;
        assert_eq!(worst([Up, Late, Paused]), Shown(Some(Late)));
        assert_eq!(worst([Up, Down, Late]), Shown(Some(Down)));
        assert_eq!(worst([Paused, New]), Shown(Some(New)));
        assert_eq!(worst([]), Shown(None));
        assert_eq!(Shown(Some(Up)).hex(), "#4c1");
        assert_eq!(Shown(Some(Paused)).color_name(), "lightgrey");
    }

    #[test]
    fn labels_are_escaped_and_widen_the_badge() {
        let short = svg("db", Shown(Some(Status::Up)));
        let long = svg("备份 <nightly> & \"more\"", Shown(Some(Status::Down)));
        assert!(long.contains("备份 &lt;nightly&gt; &amp; &quot;more&quot;"));
        assert!(!long.contains("<nightly>"));
        let width = |s: &str| {
            s.split("width=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .parse::<u32>()
                .unwrap()
        };
        assert!(width(&long) > width(&short) + 100, "{long}");
        assert!(long.contains("#e05d44") && long.contains(">down</text>"));
    }
}
