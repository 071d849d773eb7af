//! Metric families (counters, gauges, histograms, each split by labels) and the registry that
//! renders them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};

use super::exposition::{Kind, TextWriter, format_number};

/// Bucket bounds in seconds for latencies from 0.5 ms to 30 s, about 1.6× apart, so that
/// p50/p95/p99 can be read within a bucket's width.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.04, 0.06, 0.1, 0.15, 0.25,
    0.4, 0.6, 1.0, 1.5, 2.5, 4.0, 6.0, 10.0, 15.0, 30.0,
];

/// One time series of a family: what it counts and how it is written.
pub trait Metric: Send + Sync + 'static {
    /// What every series of the family shares (e.g. histogram bounds).
    type Shape: Send + Sync + 'static;
    /// The family's `# TYPE`.
    const KIND: Kind;
    /// A fresh series.
    fn new(shape: &Self::Shape) -> Self;
    /// Writes this series' sample lines.
    fn write(&self, name: &str, labels: &[(&str, &str)], out: &mut TextWriter);
}

/// A count that only goes up.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.inc_by(1);
    }

    /// Adds `n`.
    pub fn inc_by(&self, n: u64) {
        self.0.fetch_add(n, Relaxed);
    }

    /// The count now.
    pub fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

impl Metric for Counter {
    type Shape = ();
    const KIND: Kind = Kind::Counter;

    fn new(_: &()) -> Self {
        Self::default()
    }

    fn write(&self, name: &str, labels: &[(&str, &str)], out: &mut TextWriter) {
        out.sample(name, labels, self.get() as f64);
    }
}

/// A value that goes up and down.
#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Relaxed);
    }

    /// Subtracts one.
    pub fn dec(&self) {
        self.0.fetch_sub(1, Relaxed);
    }

    /// The value now.
    pub fn get(&self) -> i64 {
        self.0.load(Relaxed)
    }
}

impl Metric for Gauge {
    type Shape = ();
    const KIND: Kind = Kind::Gauge;

    fn new(_: &()) -> Self {
        Self::default()
    }

    fn write(&self, name: &str, labels: &[(&str, &str)], out: &mut TextWriter) {
        out.sample(name, labels, self.get() as f64);
    }
}

/// Observations counted in buckets by upper bound, with their sum.
#[derive(Debug)]
pub struct Histogram {
    bounds: Arc<[f64]>,
    /// Observations per bucket (not cumulative); the last one is `+Inf`.
    buckets: Box<[AtomicU64]>,
    /// Sum of observations, as `f64` bits.
    sum: AtomicU64,
}

impl Histogram {
    /// Records `value` (e.g. seconds).
    pub fn observe(&self, value: f64) {
        let index = self.bounds.partition_point(|bound| *bound < value);
        self.buckets[index].fetch_add(1, Relaxed);
        let _ = self.sum.fetch_update(Relaxed, Relaxed, |bits| {
            Some((f64::from_bits(bits) + value).to_bits())
        });
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Relaxed)).sum()
    }

    /// Sum of the observations so far.
    pub fn sum(&self) -> f64 {
        f64::from_bits(self.sum.load(Relaxed))
    }
}

impl Metric for Histogram {
    type Shape = Arc<[f64]>;
    const KIND: Kind = Kind::Histogram;

    fn new(bounds: &Arc<[f64]>) -> Self {
        Self {
            bounds: bounds.clone(),
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0f64.to_bits()),
        }
    }

    fn write(&self, name: &str, labels: &[(&str, &str)], out: &mut TextWriter) {
        let bucket_name = format!("{name}_bucket");
        let mut cumulative = 0;
        for (i, bucket) in self.buckets.iter().enumerate() {
            cumulative += bucket.load(Relaxed);
            let le = format_number(self.bounds.get(i).copied().unwrap_or(f64::INFINITY));
            let mut with_le = labels.to_vec();
            with_le.push(("le", &le));
            out.sample(&bucket_name, &with_le, cumulative as f64);
        }
        let sum = f64::from_bits(self.sum.load(Relaxed));
        out.sample(&format!("{name}_sum"), labels, sum);
        out.sample(&format!("{name}_count"), labels, cumulative as f64);
    }
}

/// A metric split into series by the values of its labels.
pub struct Family<M: Metric> {
    labels: &'static [&'static str],
    shape: M::Shape,
    series: RwLock<BTreeMap<Vec<String>, Arc<M>>>,
}

impl<M: Metric> Family<M> {
    /// The series with these label values (in the order the family declared its labels),
    /// created on first use. Keep label values to a small, bounded set.
    ///
    /// # Panics
    /// When the number of values differs from the number of labels.
    pub fn with(&self, values: &[&str]) -> Arc<M> {
        assert_eq!(
            values.len(),
            self.labels.len(),
            "label values of {:?}",
            self.labels
        );
        let key: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        if let Some(series) = self.series.read().expect("metric lock").get(&key) {
            return series.clone();
        }
        let mut write = self.series.write().expect("metric lock");
        write
            .entry(key)
            .or_insert_with(|| Arc::new(M::new(&self.shape)))
            .clone()
    }
}

/// A family as the registry sees it: something that writes its series.
trait Render: Send + Sync {
    fn render(&self, name: &str, out: &mut TextWriter);
}

impl<M: Metric> Render for Family<M> {
    fn render(&self, name: &str, out: &mut TextWriter) {
        for (values, series) in self.series.read().expect("metric lock").iter() {
            let labels: Vec<(&str, &str)> = self
                .labels
                .iter()
                .copied()
                .zip(values.iter().map(String::as_str))
                .collect();
            series.write(name, &labels, out);
        }
    }
}

struct Registered {
    name: &'static str,
    help: &'static str,
    kind: Kind,
    family: Arc<dyn Render>,
}

/// The metric families of one server, rendered together at `/metrics`.
#[derive(Default)]
pub struct Registry {
    families: Mutex<Vec<Registered>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers counter family `name` split by `labels`.
    pub fn counter(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &'static [&'static str],
    ) -> Arc<Family<Counter>> {
        self.register(name, help, labels, ())
    }

    /// Registers gauge family `name` split by `labels`.
    pub fn gauge(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &'static [&'static str],
    ) -> Arc<Family<Gauge>> {
        self.register(name, help, labels, ())
    }

    /// Registers histogram family `name` split by `labels`, with bucket upper bounds
    /// `buckets` (ascending; `+Inf` is implied), e.g. [`LATENCY_BUCKETS`].
    pub fn histogram(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &'static [&'static str],
        buckets: &[f64],
    ) -> Arc<Family<Histogram>> {
        assert!(
            buckets.windows(2).all(|w| w[0] < w[1]),
            "buckets of {name} must ascend"
        );
        self.register(name, help, labels, buckets.into())
    }

    /// Writes every registered family, in registration order.
    pub fn render(&self, out: &mut TextWriter) {
        for registered in self.families.lock().expect("registry lock").iter() {
            out.family(registered.name, registered.help, registered.kind);
            registered.family.render(registered.name, out);
        }
    }

    /// # Panics
    /// When `name` is already registered (a programming error).
    fn register<M: Metric>(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &'static [&'static str],
        shape: M::Shape,
    ) -> Arc<Family<M>> {
        let family = Arc::new(Family {
            labels,
            shape,
            series: RwLock::default(),
        });
        let mut families = self.families.lock().expect("registry lock");
        assert!(
            families.iter().all(|f| f.name != name),
            "metric {name} registered twice"
        );
        families.push(Registered {
            name,
            help,
            kind: M::KIND,
            family: family.clone(),
        });
        family
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_histograms() {
        let registry = Registry::new();
        let hits = registry.counter("hits_total", "Hits.", &["kind"]);
        let latency = registry.histogram("latency_seconds", "Latency.", &[], &[0.125, 1.0]);
        hits.with(&["a"]).inc_by(2);
        hits.with(&["a"]).inc();
        for value in [0.0625, 0.125, 0.5, 7.0] {
            latency.with(&[]).observe(value);
        }
        let mut out = TextWriter::new();
        registry.render(&mut out);
        let text = out.finish();
        for line in [
            "# TYPE hits_total counter",
            "hits_total{kind=\"a\"} 3",
            "latency_seconds_bucket{le=\"0.125\"} 2",
            "latency_seconds_bucket{le=\"1\"} 3",
            "latency_seconds_bucket{le=\"+Inf\"} 4",
            "latency_seconds_sum 7.6875",
            "latency_seconds_count 4",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
    }

    #[test]
    #[should_panic(expected = "registered twice")]
    fn refuses_duplicate_names() {
        let registry = Registry::new();
        registry.gauge("g", "G.", &[]);
        registry.gauge("g", "G.", &[]);
    }
}
