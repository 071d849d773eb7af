//! Shared by the benchmarks: a deterministic generator of statute-like text and percentiles.
#![allow(dead_code)]

pub mod corpus;

/// Vocabulary of the generated legal text.
pub const WORDS: &[&str] = &[
    "authority",
    "court",
    "appeal",
    "citizen",
    "freedom",
    "expression",
    "assembly",
    "parliament",
    "government",
    "minister",
    "decision",
    "regulation",
    "statute",
    "municipal",
    "tax",
    "property",
    "election",
    "vote",
    "referendum",
    "constitution",
    "right",
    "obligation",
    "procedure",
    "hearing",
    "evidence",
    "judgment",
    "review",
    "complaint",
    "ombudsman",
    "record",
    "document",
    "secrecy",
    "publication",
    "press",
    "broadcast",
    "religion",
    "association",
    "privacy",
    "search",
    "seizure",
    "detention",
    "liberty",
    "equality",
    "discrimination",
    "education",
    "health",
    "environment",
    "budget",
    "treaty",
    "union",
    "member",
    "state",
    "agency",
    "permit",
    "license",
    "fee",
    "penalty",
    "offence",
    "prosecutor",
    "police",
    "custody",
    "asylum",
    "residence",
    "employment",
    "pension",
];

/// Deterministic xorshift generator, so every run uses the same corpus and queries.
pub struct Rng(pub u64);

impl Rng {
    /// The next raw value.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A word, skewed towards the head of [`WORDS`] (roughly Zipf-like frequencies).
    pub fn word(&mut self) -> &'static str {
        let u = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        let index = ((WORDS.len() as f64).powf(u) as usize).saturating_sub(1);
        WORDS[index.min(WORDS.len() - 1)]
    }

    /// A capitalised sentence of `words` generated words and a full stop.
    pub fn sentence(&mut self, words: usize) -> String {
        let mut text: Vec<&str> = (0..words).map(|_| self.word()).collect();
        text.insert(0, "The");
        format!("{}.", text.join(" "))
    }
}

/// The `p` quantile (0..=1) of ascending `sorted` values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// p50, p95 and count of latencies in milliseconds.
pub fn summary(mut millis: Vec<f64>) -> serde_json::Value {
    millis.sort_by(f64::total_cmp);
    serde_json::json!({"p50_ms": percentile(&millis, 0.5), "p95_ms": percentile(&millis, 0.95), "n": millis.len()})
}

/// Writes `report` to `bench/results/<name>-<unix time>.json` and prints the path.
pub fn write_results(name: &str, report: &impl serde::Serialize) {
    std::fs::create_dir_all("bench/results").expect("results dir");
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let path = format!("bench/results/{name}-{stamp}.json");
    std::fs::write(&path, serde_json::to_string_pretty(report).unwrap()).expect("write results");
    println!("wrote {path}");
}

/// A pipeline over `library` answering with the generator `config` describes, loaded off
/// the async threads (the local decoder reads its weights).
pub async fn generating_pipeline(
    library: &constitutional_rag::service::Library,
    config: constitutional_rag::config::Config,
) -> constitutional_rag::pipeline::Pipeline {
    let load = move || constitutional_rag::llm::from_config(&config);
    let generator = tokio::task::spawn_blocking(load)
        .await
        .unwrap()
        .expect("generator");
    constitutional_rag::pipeline::Pipeline::new(
        library.clone().with_generator(generator),
        &constitutional_rag::ops::Registry::new(),
    )
    .expect("pipeline")
}
