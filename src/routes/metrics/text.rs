//! The Prometheus text format 0.0.4: `# HELP` and `# TYPE` once per family, then its
//! samples, one group per family; label values escaped (`\\`, `\"`, `\n`), since service
//! and host names are user text.
use std::fmt::Write;

/// `# HELP` and `# TYPE` lines of a family.
pub fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// One sample: `name{a="x",b="y"} value`.
pub fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: impl Value) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        self::labels(out, labels);
        out.push('}');
    }
    out.push(' ');
    value.write(out);
    out.push('\n');
}

/// Labels as a sample spells them inside its braces, escaped: `a="x",b="y"`. A scrape
/// writes a service's `id` and `name` once this way and reuses them for every family.
pub fn labels(out: &mut String, labels: &[(&str, &str)]) {
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        escape_into(out, v);
        out.push('"');
    }
}

/// One sample whose first labels are already spelled (by [`labels`]), then `more`:
/// the same line [`sample`] writes for all of them.
pub fn sample_spelled(
    out: &mut String,
    name: &str,
    spelled: &str,
    more: &[(&str, &str)],
    value: impl Value,
) {
    out.push_str(name);
    out.push('{');
    out.push_str(spelled);
    for (k, v) in more {
        out.push(',');
        out.push_str(k);
        out.push_str("=\"");
        escape_into(out, v);
        out.push('"');
    }
    out.push_str("} ");
    value.write(out);
    out.push('\n');
}

/// Escapes `\\`, `"` and newline (ASCII, so a byte scan keeps UTF-8 whole), copying the
/// runs between them at once.
fn escape_into(out: &mut String, v: &str) {
    let mut start = 0;
    for (i, b) in v.bytes().enumerate() {
        let escaped = match b {
            b'\\' => "\\\\",
            b'"' => "\\\"",
            b'\n' => "\\n",
            _ => continue,
        };
        out.push_str(&v[start..i]);
        out.push_str(escaped);
        start = i + 1;
    }
    out.push_str(&v[start..]);
}

/// A sample value as the format spells it.
pub trait Value {
    fn write(self, out: &mut String);
}

impl Value for u64 {
    fn write(self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl Value for i64 {
    fn write(self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl Value for bool {
    fn write(self, out: &mut String) {
        out.push(if self { '1' } else { '0' });
    }
}

impl Value for f64 {
    fn write(self, out: &mut String) {
        if self.is_nan() {
            out.push_str("NaN");
        } else if self.is_infinite() {
            out.push_str(if self > 0.0 { "+Inf" } else { "-Inf" });
        } else {
            let _ = write!(out, "{self}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let mut out = String::new();
        sample(
            &mut out,
            "hb_x",
            &[("name", "a \"b\" \\ c\nd 备份")],
            1.5f64,
        );
        assert_eq!(out, "hb_x{name=\"a \\\"b\\\" \\\\ c\\nd 备份\"} 1.5\n");
        let mut out = String::new();
        sample(&mut out, "hb_y", &[], f64::INFINITY);
        sample(&mut out, "hb_y", &[], true);
        assert_eq!(out, "hb_y +Inf\nhb_y 1\n");
    }

    #[test]
    fn spelled_labels_give_the_same_line() {
        let (id, name) = ("V1StGXR8", "back\\up \"夜间\"\n");
        let mut plain = String::new();
        sample(
            &mut plain,
            "hb_z",
            &[("id", id), ("name", name), ("status", "up")],
            2.25f64,
        );
        let mut spelled = String::new();
        labels(&mut spelled, &[("id", id), ("name", name)]);
        let mut out = String::new();
        sample_spelled(&mut out, "hb_z", &spelled, &[("status", "up")], 2.25f64);
        assert_eq!(out, plain);
        assert_eq!(
            plain,
            "hb_z{id=\"V1StGXR8\",name=\"back\\\\up \\\"夜间\\\"\\n\",status=\"up\"} 2.25\n"
        );
    }
}
