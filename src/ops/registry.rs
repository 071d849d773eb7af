//! Metric families (counters, gauges, histograms, each split by labels) kept by
//! `prometheus-client`, behind the small API the rest of the server registers with.

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::prometheus_text;
use prometheus_client::encoding::{EncodeMetric, MetricEncoder};
use prometheus_client::metrics::family::{Family as Series, MetricConstructor};
use prometheus_client::metrics::histogram::Histogram as Buckets;
use prometheus_client::metrics::{MetricType, TypedMetric};

use super::readings::family_name;

/// Bucket bounds in seconds for latencies from 0.5 ms to 30 s, about 1.6× apart, so that
/// p50/p95/p99 can be read within a bucket's width.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.04, 0.06, 0.1, 0.15, 0.25,
    0.4, 0.6, 1.0, 1.5, 2.5, 4.0, 6.0, 10.0, 15.0, 30.0,
];

/// A count that only goes up.
pub type Counter = prometheus_client::metrics::counter::Counter;

/// A value that goes up and down.
pub type Gauge = prometheus_client::metrics::gauge::Gauge;

/// One time series of a family, made from what every series of the family shares.
pub trait Metric: EncodeMetric + TypedMetric + Clone + Debug + Send + Sync + 'static {
    /// What every series of the family shares (e.g. histogram bounds).
    type Shape: Clone + Debug + Send + Sync + 'static;
    /// A fresh series.
    fn new(shape: &Self::Shape) -> Self;
}

impl Metric for Counter {
    type Shape = ();

    fn new((): &()) -> Self {
        Self::default()
    }
}

impl Metric for Gauge {
    type Shape = ();

    fn new((): &()) -> Self {
        Self::default()
    }
}

/// Observations counted in buckets by upper bound, with their count and sum readable here
/// (the legacy JSON metrics report the mean).
#[derive(Debug, Clone)]
pub struct Histogram {
    buckets: Buckets,
    count: Arc<AtomicU64>,
    /// Sum of observations, as `f64` bits.
    sum: Arc<AtomicU64>,
}

impl Histogram {
    /// Records `value` (e.g. seconds).
    pub fn observe(&self, value: f64) {
        self.buckets.observe(value);
        self.count.fetch_add(1, Relaxed);
        let _ = self.sum.fetch_update(Relaxed, Relaxed, |bits| {
            Some((f64::from_bits(bits) + value).to_bits())
        });
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    /// Sum of the observations so far.
    pub fn sum(&self) -> f64 {
        f64::from_bits(self.sum.load(Relaxed))
    }
}

impl TypedMetric for Histogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Histogram {
    fn encode(&self, encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        self.buckets.encode(encoder)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

impl Metric for Histogram {
    type Shape = Arc<[f64]>;

    fn new(bounds: &Arc<[f64]>) -> Self {
        Self {
            buckets: Buckets::new(bounds.iter().copied()),
            count: Arc::default(),
            sum: Arc::new(AtomicU64::new(0f64.to_bits())),
        }
    }
}

/// Makes the series of a family from its shape.
#[derive(Debug, Clone)]
struct Maker<M: Metric>(M::Shape);

impl<M: Metric> MetricConstructor<M> for Maker<M> {
    fn new_metric(&self) -> M {
        M::new(&self.0)
    }
}

/// The label values of one series, each beside its label.
type LabelValues = Vec<(&'static str, String)>;

/// A metric split into series by the values of its labels.
pub struct Family<M: Metric> {
    labels: &'static [&'static str],
    series: Series<LabelValues, M, Maker<M>>,
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
        let key: LabelValues = self
            .labels
            .iter()
            .zip(values)
            .map(|(label, value)| (*label, value.to_string()))
            .collect();
        Arc::new(self.series.get_or_create_owned(&key))
    }
}

/// The metric families of one server, rendered together at `/metrics`.
#[derive(Default)]
pub struct Registry {
    inner: Mutex<Registered>,
}

#[derive(Default)]
struct Registered {
    families: prometheus_client::registry::Registry,
    names: Vec<&'static str>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers counter family `name` (ending in `_total`) split by `labels`.
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

    /// Appends the text exposition (format 0.0.4) of every family that has a series to
    /// `out`, in registration order.
    pub fn render(&self, out: &mut String) {
        let inner = self.inner.lock().expect("registry lock");
        prometheus_text::encode(out, &inner.families).expect("writing to a String");
    }

    /// # Panics
    /// When `name` is already registered, or `help` does not end in a full stop (both
    /// programming errors).
    fn register<M: Metric>(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &'static [&'static str],
        shape: M::Shape,
    ) -> Arc<Family<M>> {
        // The library ends every help text with a full stop of its own.
        let help_text = help
            .strip_suffix('.')
            .unwrap_or_else(|| panic!("help of {name} must end in a full stop"));
        let series = Series::new_with_constructor(Maker(shape));
        let mut inner = self.inner.lock().expect("registry lock");
        assert!(
            !inner.names.contains(&name),
            "metric {name} registered twice"
        );
        inner.names.push(name);
        inner
            .families
            .register(family_name(name, M::TYPE), help_text, series.clone());
        Arc::new(Family { labels, series })
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
        hits.with(&["a\"b"]).inc_by(2);
        hits.with(&["a\"b"]).inc();
        for value in [0.0625, 0.125, 0.5, 7.0] {
            latency.with(&[]).observe(value);
        }
        assert_eq!(latency.with(&[]).count(), 4);
        let mut text = String::new();
        registry.render(&mut text);
        assert_eq!(
            text,
            "# HELP hits_total Hits.\n\
             # TYPE hits_total counter\n\
             hits_total{kind=\"a\\\"b\"} 3\n\
             # HELP latency_seconds Latency.\n\
             # TYPE latency_seconds histogram\n\
             latency_seconds_bucket{le=\"0.125\"} 2\n\
             latency_seconds_bucket{le=\"1\"} 3\n\
             latency_seconds_bucket{le=\"+Inf\"} 4\n\
             latency_seconds_sum 7.6875\n\
             latency_seconds_count 4\n"
        );
    }

    #[test]
    #[should_panic(expected = "registered twice")]
    fn refuses_duplicate_names() {
        let registry = Registry::new();
        registry.gauge("g", "G.", &[]);
        registry.gauge("g", "G.", &[]);
    }
}
