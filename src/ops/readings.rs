//! Families read at scrape time from counters kept elsewhere (model workers, the embedding
//! cache, the process), written in the same text exposition as the registry's.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, prometheus_text};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// The `Content-Type` of a text exposition.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// What a read family measures, as its `# TYPE` line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A value that only goes up (reset at restart); its name ends in `_total`.
    Counter,
    /// A value that goes up and down.
    Gauge,
}

/// One sample's value: a whole count or a measure such as seconds.
#[derive(Debug, Clone, Copy)]
pub enum Value {
    /// A count, a size in bytes, a depth.
    Whole(u64),
    /// A measure with a fraction (seconds).
    Real(f64),
}

impl From<u64> for Value {
    fn from(value: u64) -> Self {
        Self::Whole(value)
    }
}

impl From<f64> for Value {
    fn from(value: f64) -> Self {
        Self::Real(value)
    }
}

/// One family's samples, each with its label values.
#[derive(Debug)]
pub struct Reading {
    name: &'static str,
    help: &'static str,
    kind: Kind,
    samples: Vec<(Vec<(&'static str, String)>, Value)>,
}

impl Reading {
    /// Adds the sample with these labels (name, value).
    pub fn sample(&mut self, labels: &[(&'static str, &str)], value: impl Into<Value>) {
        let labels = labels
            .iter()
            .map(|(label, value)| (*label, (*value).to_string()))
            .collect();
        self.samples.push((labels, value.into()));
    }
}

/// Families read at one scrape.
#[derive(Debug, Default)]
pub struct Readings {
    families: Vec<Reading>,
}

impl Readings {
    /// No families yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts family `name` (a counter's ends in `_total`); add its samples to the result.
    pub fn family(&mut self, name: &'static str, help: &'static str, kind: Kind) -> &mut Reading {
        self.families.push(Reading {
            name,
            help,
            kind,
            samples: Vec::new(),
        });
        self.families.last_mut().expect("just pushed")
    }

    /// Appends the text exposition (format 0.0.4) of every family to `out`.
    pub fn render(self, out: &mut String) {
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register_collector(Box::new(self));
        prometheus_text::encode(out, &registry).expect("writing to a String");
    }
}

impl Collector for Readings {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for family in &self.families {
            let kind = match family.kind {
                Kind::Counter => MetricType::Counter,
                Kind::Gauge => MetricType::Gauge,
            };
            let mut metric = encoder.encode_descriptor(
                family_name(family.name, kind),
                family.help,
                None,
                kind,
            )?;
            for (labels, value) in &family.samples {
                let sample = metric.encode_family(labels)?;
                match (family.kind, *value) {
                    (Kind::Counter, Value::Whole(n)) => ConstCounter::new(n).encode(sample)?,
                    (Kind::Counter, Value::Real(x)) => ConstCounter::new(x).encode(sample)?,
                    (Kind::Gauge, Value::Whole(n)) => ConstGauge::new(n).encode(sample)?,
                    (Kind::Gauge, Value::Real(x)) => ConstGauge::new(x).encode(sample)?,
                }
            }
        }
        Ok(())
    }
}

/// The name a family is registered under: a counter's without the `_total` the encoder adds.
///
/// # Panics
/// When a counter's name does not end in `_total` (a programming error).
pub(super) fn family_name(name: &'static str, kind: MetricType) -> &'static str {
    match kind {
        MetricType::Counter => name
            .strip_suffix("_total")
            .unwrap_or_else(|| panic!("counter {name} must end in _total")),
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_headers_samples_and_escapes() {
        let mut readings = Readings::new();
        let things = readings.family("x_total", "Things.\nMore", Kind::Counter);
        things.sample(&[("a", "q\"\\\n"), ("b", "c")], 3_u64);
        things.sample(&[], 0.25);
        readings
            .family("depth", "Depth.", Kind::Gauge)
            .sample(&[("model", "encoder")], 2_u64);
        let mut out = String::new();
        readings.render(&mut out);
        assert_eq!(
            out,
            "# HELP x_total Things.\\nMore\n# TYPE x_total counter\n\
             x_total{a=\"q\\\"\\\\\\n\",b=\"c\"} 3\nx_total 0.25\n\
             # HELP depth Depth.\n# TYPE depth gauge\ndepth{model=\"encoder\"} 2\n"
        );
    }
}
