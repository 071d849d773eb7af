//! The Prometheus text exposition format, version 0.0.4.

use std::fmt::Write;

/// The `Content-Type` of a text exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What a metric family measures, as its `# TYPE` line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A value that only goes up (reset at restart).
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Observations counted in cumulative buckets, with their sum and count.
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// Builds an exposition: a family header, then its samples, family after family.
#[derive(Debug, Default)]
pub struct TextWriter {
    out: String,
}

impl TextWriter {
    /// An empty exposition.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts family `name` with its `# HELP` and `# TYPE` lines.
    pub fn family(&mut self, name: &str, help: &str, kind: Kind) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {}", kind.as_str());
    }

    /// Writes one sample line: `name{label="value",...} value`.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (label, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{label}=\"");
                escape_label_value(&mut self.out, value);
                self.out.push('"');
            }
            self.out.push('}');
        }
        self.out.push(' ');
        push_number(&mut self.out, value);
        self.out.push('\n');
    }

    /// The exposition text.
    pub fn finish(self) -> String {
        self.out
    }
}

/// Formats a bucket bound or sample value as the format expects (`+Inf`, `NaN`, `0.005`).
pub fn format_number(value: f64) -> String {
    let mut out = String::new();
    push_number(&mut out, value);
    out
}

fn push_number(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let _ = write!(out, "{value}");
    }
}

fn escape_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_headers_samples_and_escapes() {
        let mut writer = TextWriter::new();
        writer.family("x_total", "Things.\nMore", Kind::Counter);
        writer.sample("x_total", &[("a", "q\"\\\n"), ("b", "c")], 3.0);
        writer.sample("x_total", &[], 0.25);
        assert_eq!(
            writer.finish(),
            "# HELP x_total Things.\\nMore\n# TYPE x_total counter\n\
             x_total{a=\"q\\\"\\\\\\n\",b=\"c\"} 3\nx_total 0.25\n"
        );
        assert_eq!(format_number(f64::INFINITY), "+Inf");
    }
}
