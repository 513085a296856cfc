//! The JSON types a report's known fields must have, checked before deserializing so that
//! a wrong type is refused naming its value (`disks[0].used_pct`), which serde's own error
//! (a line and a column) does not. Fields not listed are ignored.
use serde_json::Value;

use crate::domain::Problem;

#[derive(Clone, Copy)]
enum Kind {
    /// Any JSON number.
    Number,
    /// A whole number from 0 to the bound.
    Whole(u64),
    Text,
    /// RFC 3339.
    Time,
    Bool,
    /// An array of strings.
    TextList,
    /// An array of objects of these fields.
    List(&'static [Field]),
    Object(&'static [Field]),
}

/// A field, its kind, and whether an object of its list must have it.
type Field = (&'static str, Kind, bool);

const U32: u64 = u32::MAX as u64;

const DISK: &[Field] = &[
    ("mount", Kind::Text, true),
    ("used_bytes", Kind::Whole(u64::MAX), false),
    ("total_bytes", Kind::Whole(u64::MAX), false),
    ("used_pct", Kind::Number, false),
];

const GPU: &[Field] = &[
    ("index", Kind::Whole(U32), true),
    ("name", Kind::Text, false),
    ("util_pct", Kind::Number, false),
    ("mem_used_mb", Kind::Whole(u64::MAX), false),
    ("mem_total_mb", Kind::Whole(u64::MAX), false),
    ("temp_c", Kind::Number, false),
    ("power_w", Kind::Number, false),
];

const PROCESS: &[Field] = &[
    ("pid", Kind::Whole(U32), true),
    ("user", Kind::Text, false),
    ("cpu_pct", Kind::Number, false),
    ("mem_pct", Kind::Number, false),
    ("rss_bytes", Kind::Whole(u64::MAX), false),
    ("command", Kind::Text, false),
];

const REQUIRED: &[Field] = &[
    ("pattern", Kind::Text, true),
    ("count", Kind::Whole(U32), true),
    ("regex", Kind::Bool, false),
    ("min", Kind::Whole(U32), false),
    ("running", Kind::Bool, false),
];

const PROCESSES: &[Field] = &[
    ("top_cpu", Kind::List(PROCESS), false),
    ("top_mem", Kind::List(PROCESS), false),
    ("required", Kind::List(REQUIRED), false),
];

const UNIT: &[Field] = &[
    ("name", Kind::Text, true),
    ("active_state", Kind::Text, true),
    ("sub_state", Kind::Text, false),
    ("unit_file_state", Kind::Text, false),
];

const GPU_PROCESS: &[Field] = &[
    ("gpu", Kind::Whole(U32), false),
    ("pid", Kind::Whole(U32), true),
    ("name", Kind::Text, false),
    ("mem_used_mb", Kind::Whole(u64::MAX), false),
];

const REPORT: &[Field] = &[
    ("name", Kind::Text, false),
    ("node_id", Kind::Text, false),
    ("host", Kind::Text, false),
    ("at", Kind::Time, false),
    ("ts", Kind::Time, false),
    ("interval", Kind::Whole(U32), false),
    ("timeout", Kind::Whole(U32), false),
    ("error", Kind::Text, false),
    ("cpu_pct", Kind::Number, false),
    ("load1", Kind::Number, false),
    ("load5", Kind::Number, false),
    ("load15", Kind::Number, false),
    ("cores", Kind::Whole(U32), false),
    ("mem_used_bytes", Kind::Whole(u64::MAX), false),
    ("mem_total_bytes", Kind::Whole(u64::MAX), false),
    ("swap_used_bytes", Kind::Whole(u64::MAX), false),
    ("swap_total_bytes", Kind::Whole(u64::MAX), false),
    ("disks", Kind::List(DISK), false),
    ("gpus", Kind::List(GPU), false),
    ("processes", Kind::Object(PROCESSES), false),
    ("units", Kind::List(UNIT), false),
    ("services", Kind::List(UNIT), false),
    ("gpu_processes", Kind::List(GPU_PROCESS), false),
    ("discovered_units", Kind::List(UNIT), false),
    ("failures", Kind::TextList, false),
];

/// The first value of a report whose type is wrong (or that is missing where its list's
/// objects need it): its path within the report and why.
pub fn first_wrong(report: &Value) -> Option<(String, Problem)> {
    let obj = report.as_object()?;
    // Two names for one value (`at` and `ts`, `units` and `services`) would be ambiguous.
    for (a, b) in [("at", "ts"), ("units", "services")] {
        if obj.contains_key(a) && obj.contains_key(b) {
            return Some((
                b.to_owned(),
                Problem::WrongType {
                    expected: "absent when its other name is given",
                },
            ));
        }
    }
    object(obj, REPORT, "")
}

fn object(
    obj: &serde_json::Map<String, Value>,
    fields: &'static [Field],
    path: &str,
) -> Option<(String, Problem)> {
    for (name, kind, required) in fields {
        let here = if path.is_empty() {
            (*name).to_owned()
        } else {
            format!("{path}.{name}")
        };
        match obj.get(*name) {
            None => {
                if *required {
                    return Some((here, Problem::Required));
                }
            }
            // null is "not given", as serde reads an `Option`.
            Some(Value::Null) if !required => {}
            Some(v) => {
                if let Some(wrong) = value(v, *kind, &here) {
                    return Some(wrong);
                }
            }
        }
    }
    None
}

fn value(v: &Value, kind: Kind, path: &str) -> Option<(String, Problem)> {
    let wrong = |expected| Some((path.to_owned(), Problem::WrongType { expected }));
    match kind {
        Kind::Number => (!v.is_number())
            .then_some(())
            .and_then(|()| wrong("a number")),
        Kind::Whole(max) => match v.as_u64() {
            Some(n) if n <= max => None,
            _ => wrong("a whole number of 0 or more"),
        },
        Kind::Text => (!v.is_string())
            .then_some(())
            .and_then(|()| wrong("a string")),
        Kind::Bool => (!v.is_boolean())
            .then_some(())
            .and_then(|()| wrong("true or false")),
        Kind::Time => match v.as_str() {
            Some(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => None,
            _ => wrong("an RFC 3339 time, e.g. 2026-01-17T10:00:00Z"),
        },
        Kind::TextList => {
            let Some(list) = v.as_array() else {
                return wrong("an array of strings");
            };
            list.iter().enumerate().find_map(|(i, item)| {
                (!item.is_string()).then(|| {
                    (
                        format!("{path}[{i}]"),
                        Problem::WrongType {
                            expected: "a string",
                        },
                    )
                })
            })
        }
        Kind::List(fields) => {
            let Some(list) = v.as_array() else {
                return wrong("an array");
            };
            list.iter().enumerate().find_map(|(i, item)| {
                let here = format!("{path}[{i}]");
                match item.as_object() {
                    Some(obj) => object(obj, fields, &here),
                    None => Some((
                        here,
                        Problem::WrongType {
                            expected: "an object",
                        },
                    )),
                }
            })
        }
        Kind::Object(fields) => match v.as_object() {
            Some(obj) => object(obj, fields, path),
            None => wrong("an object"),
        },
    }
}
