//! Integration tests for the BM25 index and its analyzer.
//!
//! The benchmark is ignored by default; run it with
//! `cargo test --release --test bm25_index -- --ignored --nocapture`.

use std::time::{Duration, Instant};

use constitutional_rag::retrieval::analyzer::{AnalyzerLanguage, analyze};
use constitutional_rag::retrieval::bm25::{Bm25Index, Bm25Params, Slot};

const EN: AnalyzerLanguage = AnalyzerLanguage::English;
const SV: AnalyzerLanguage = AnalyzerLanguage::Swedish;

/// Deterministic xorshift64 generator.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn index_of(language: AnalyzerLanguage, docs: &[(Slot, &str)]) -> Bm25Index {
    let mut index = Bm25Index::new(language, Bm25Params::default());
    for &(slot, text) in docs {
        index.insert(slot, text);
    }
    index
}

fn slots(hits: &[(Slot, f32)]) -> Vec<Slot> {
    hits.iter().map(|&(slot, _)| slot).collect()
}

// ---------------------------------------------------------------- analyzer

#[test]
fn english_stems_inflections_to_one_term() {
    assert_eq!(analyze(EN, "searches"), analyze(EN, "searching"));
    assert_eq!(analyze(EN, "Searched"), analyze(EN, "search"));
}

#[test]
fn swedish_stems_inflections_to_one_term() {
    assert_eq!(analyze(SV, "handlingarna"), analyze(SV, "handlingar"));
    assert_eq!(
        analyze(SV, "yttrandefriheten"),
        analyze(SV, "yttrandefrihet")
    );
}

#[test]
fn ascii_folding_only_in_english() {
    assert_eq!(analyze(EN, "Café"), analyze(EN, "cafe"));
    assert_eq!(analyze(EN, "Överklagande"), analyze(EN, "overklagande"));
    let swedish = analyze(SV, "Överklagande år");
    assert!(swedish[0].starts_with('ö'), "{swedish:?}");
    assert_eq!(swedish[1], "år");
    assert_ne!(analyze(SV, "år"), analyze(SV, "ar"));
}

#[test]
fn numbers_and_single_letters_are_terms() {
    assert_eq!(
        analyze(SV, "SFS 1974:152, 3 a §"),
        ["sfs", "1974", "152", "3", "a"]
    );
    assert!(analyze(EN, " §§ -- ... ").is_empty());
}

// ---------------------------------------------------------------- ranking

#[test]
fn rare_query_terms_rank_first() {
    let index = index_of(
        EN,
        &[
            (0, "the court held that the law applies"),
            (1, "the law of the land and the court"),
            (2, "the court considered habeas corpus under the law"),
            (3, "the law the law the law"),
        ],
    );
    let hits = index.search("law habeas corpus", 10, None);
    assert_eq!(hits[0].0, 2);
    assert_eq!(hits.len(), 4);
    assert!(hits.windows(2).all(|w| w[0].1 >= w[1].1));
}

#[test]
fn shorter_document_ranks_above_longer_with_same_tf() {
    let index = index_of(
        EN,
        &[
            (
                0,
                "parliament decides budget alpha beta gamma delta epsilon zeta",
            ),
            (1, "parliament decides budget"),
            (2, "unrelated text entirely"),
        ],
    );
    let hits = index.search("budget", 10, None);
    assert_eq!(slots(&hits), [1, 0]);
    assert!(hits[0].1 > hits[1].1);
}

#[test]
fn ties_are_broken_by_smaller_slot() {
    let index = index_of(EN, &[(7, "same words"), (3, "same words"), (5, "other")]);
    assert_eq!(slots(&index.search("words", 10, None)), [3, 7]);
}

/// BM25 by hand: IDF = ln(1 + (N - n + 0.5)/(n + 0.5)),
/// score = IDF * tf (k1 + 1) / (tf + k1 (1 - b + b dl/avgdl)).
fn bm25(tf: f64, dl: f64, avgdl: f64, n: f64, docs: f64) -> f64 {
    let (k1, b) = (1.2, 0.75);
    let idf = (1.0 + (docs - n + 0.5) / (n + 0.5)).ln();
    idf * tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * dl / avgdl))
}

#[test]
fn scores_match_hand_computed_bm25() {
    // Lengths 6, 3, 4 (avgdl 13/3); "cats" and "dogs" stem to cat and dog.
    let index = index_of(
        EN,
        &[
            (0, "the cat sat on the mat"),
            (1, "the dog sat"),
            (2, "cats and dogs cats"),
        ],
    );
    let avgdl = 13.0 / 3.0;
    // cat: n = 2 (tf 1 in doc 0, tf 2 in doc 2); sat: n = 2 (docs 0 and 1).
    let expected = [
        (
            0,
            bm25(1.0, 6.0, avgdl, 2.0, 3.0) + bm25(1.0, 6.0, avgdl, 2.0, 3.0),
        ),
        (2, bm25(2.0, 4.0, avgdl, 2.0, 3.0)),
        (1, bm25(1.0, 3.0, avgdl, 2.0, 3.0)),
    ];
    let mut expected = expected.to_vec();
    expected.sort_by(|a, b| b.1.total_cmp(&a.1));
    let hits = index.search("cat sat cat", 10, None);
    assert_eq!(hits.len(), 3);
    for (&(slot, score), &(want_slot, want)) in hits.iter().zip(&expected) {
        assert_eq!(slot, want_slot);
        assert!((f64::from(score) - want).abs() < 1e-5, "{score} vs {want}");
    }
}

#[test]
fn empty_query_or_no_match_returns_nothing() {
    let index = index_of(EN, &[(0, "some text"), (1, "more text")]);
    assert!(index.search("", 10, None).is_empty());
    assert!(index.search("  §  ", 10, None).is_empty());
    assert!(index.search("absent", 10, None).is_empty());
    assert!(index.search("text", 0, None).is_empty());
    let empty = Bm25Index::new(EN, Bm25Params::default());
    assert!(empty.search("text", 10, None).is_empty());
}

#[test]
fn index_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Bm25Index>();
    let index = index_of(SV, &[(0, "offentlighetsprincipen"), (1, "tryckfrihet")]);
    let hits = std::thread::scope(|s| {
        s.spawn(|| index.search("Tryckfriheten", 10, None))
            .join()
            .expect("search thread")
    });
    assert_eq!(slots(&hits), [1]);
}

// ---------------------------------------------------------------- filters

#[test]
fn allowed_filter_applies_before_the_limit() {
    let mut index = Bm25Index::new(EN, Bm25Params::default());
    for slot in 0..40 {
        // Smaller slots repeat the term more often, so they score highest.
        let text = "tax ".repeat(41 - slot as usize) + "filler words here";
        index.insert(slot, &text);
    }
    let allowed = |slot: Slot| slot >= 30;
    let hits = index.search("tax", 5, Some(&allowed));
    assert_eq!(slots(&hits), [30, 31, 32, 33, 34]);
    let unfiltered = index.search("tax", 40, None);
    let expected: Vec<_> = unfiltered
        .into_iter()
        .filter(|&(s, _)| s >= 30)
        .take(5)
        .collect();
    assert_eq!(hits, expected);
    let none = |_: Slot| false;
    assert!(index.search("tax", 5, Some(&none)).is_empty());
}

#[test]
fn nested_search_inside_filter_works() {
    let index = index_of(EN, &[(0, "alpha beta"), (1, "alpha"), (2, "beta")]);
    let allowed = |slot: Slot| slots(&index.search("beta", 10, None)).contains(&slot);
    assert_eq!(slots(&index.search("alpha", 10, Some(&allowed))), [0]);
}

// ---------------------------------------------------------------- updates

#[test]
fn remove_and_replace_match_a_fresh_index() {
    let mut index = index_of(
        EN,
        &[
            (0, "freedom of expression"),
            (1, "freedom of the press and expression"),
            (2, "taxation of income"),
            (3, "the press council"),
        ],
    );
    index.remove(2);
    index.remove(2);
    index.remove(99);
    index.insert(1, "public access to official documents");
    index.insert(4, "freedom of information and press");
    let fresh = index_of(
        EN,
        &[
            (0, "freedom of expression"),
            (1, "public access to official documents"),
            (3, "the press council"),
            (4, "freedom of information and press"),
        ],
    );
    assert_eq!(index.len(), 4);
    assert!(!index.contains(2) && index.contains(4));
    assert_eq!(index.term_count(), fresh.term_count());
    for query in ["freedom press", "taxation", "documents access", "of the"] {
        assert_eq!(index.search(query, 10, None), fresh.search(query, 10, None));
    }
    assert!(index.search("taxation", 10, None).is_empty());
}

#[test]
fn repeated_replace_does_not_grow_memory() {
    let text = |slot: Slot, round: usize| format!("common words and unique{slot}x{round}");
    let mut index = Bm25Index::new(EN, Bm25Params::default());
    for round in 0..300 {
        for slot in 0..50 {
            index.insert(slot, &text(slot, round));
        }
    }
    let mut fresh = Bm25Index::new(EN, Bm25Params::default());
    for slot in 0..50 {
        fresh.insert(slot, &text(slot, 299));
    }
    assert_eq!(index.len(), 50);
    assert_eq!(index.term_count(), 53);
    assert_eq!(index.term_count(), fresh.term_count());
    let (used, baseline) = (index.memory_bytes(), fresh.memory_bytes());
    assert!(used <= 2 * baseline, "{used} > 2 * {baseline}");
}

const VOCAB: [&str; 24] = [
    "court",
    "law",
    "freedom",
    "press",
    "tax",
    "appeal",
    "judge",
    "rights",
    "state",
    "public",
    "access",
    "document",
    "record",
    "the",
    "of",
    "and",
    "a",
    "1974",
    "152",
    "chapter",
    "section",
    "municipal",
    "council",
    "decision",
];

fn random_text(rng: &mut XorShift) -> String {
    let len = rng.below(12);
    (0..len)
        .map(|_| {
            // Skewed towards the first words, so some terms are common.
            let bound = rng.below(VOCAB.len()) + 1;
            VOCAB[rng.below(bound)]
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn random_updates_match_fresh_rebuild() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut index = Bm25Index::new(EN, Bm25Params::default());
    let mut truth: Vec<Option<String>> = vec![None; 64];
    for step in 0..3000 {
        let slot = rng.below(truth.len());
        if rng.below(4) == 0 {
            index.remove(slot as Slot);
            truth[slot] = None;
        } else {
            let text = random_text(&mut rng);
            index.insert(slot as Slot, &text);
            truth[slot] = Some(text);
        }
        if step % 50 == 49 {
            assert_same_as_rebuild(&index, &truth, &mut rng);
        }
    }
}

fn assert_same_as_rebuild(index: &Bm25Index, truth: &[Option<String>], rng: &mut XorShift) {
    let mut fresh = Bm25Index::new(EN, Bm25Params::default());
    for (slot, text) in truth.iter().enumerate() {
        if let Some(text) = text {
            fresh.insert(slot as Slot, text);
        }
    }
    assert_eq!(index.len(), fresh.len());
    assert_eq!(index.term_count(), fresh.term_count());
    let odd = |slot: Slot| slot % 2 == 1;
    for _ in 0..8 {
        let query = random_text(rng);
        assert_eq!(
            index.search(&query, 10, None),
            fresh.search(&query, 10, None),
            "{query}"
        );
        assert_eq!(
            index.search(&query, 10, Some(&odd)),
            fresh.search(&query, 10, Some(&odd)),
            "{query}"
        );
    }
}

// ---------------------------------------------------------------- benchmark

/// Deterministic pseudo-word for vocabulary rank `i`.
fn synthetic_word(mut i: usize) -> String {
    const SYLLABLES: [&str; 16] = [
        "ka", "lo", "mi", "ne", "ru", "ta", "sor", "vel", "pin", "dag", "het", "bur", "fe", "gi",
        "mos", "tul",
    ];
    let mut word = String::new();
    loop {
        word.push_str(SYLLABLES[i % SYLLABLES.len()]);
        i /= SYLLABLES.len();
        if i == 0 {
            return word;
        }
    }
}

/// Samples ranks with probability proportional to 1 / (rank + 1).
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: usize) -> Self {
        let mut total = 0.0;
        let cumulative = (0..n)
            .map(|r| {
                total += 1.0 / (r as f64 + 1.0);
                total
            })
            .collect();
        Self { cumulative }
    }

    fn sample(&self, rng: &mut XorShift) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = (rng.next() >> 11) as f64 / (1u64 << 53) as f64 * total;
        self.cumulative.partition_point(|&c| c < x)
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn time_queries(index: &Bm25Index, queries: &[String]) -> (Duration, Duration) {
    let mut times: Vec<Duration> = queries
        .iter()
        .map(|q| {
            let start = Instant::now();
            std::hint::black_box(index.search(q, 10, None));
            start.elapsed()
        })
        .collect();
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.95))
}

#[test]
#[ignore = "benchmark; run in release with --ignored --nocapture"]
fn benchmark_100k_chunks() {
    const CHUNKS: usize = 100_000;
    let words: Vec<String> = (0..5000).map(synthetic_word).collect();
    let zipf = Zipf::new(words.len());
    let mut rng = XorShift(42);
    let texts: Vec<String> = (0..CHUNKS)
        .map(|_| {
            let terms: Vec<&str> = (0..120).map(|_| &*words[zipf.sample(&mut rng)]).collect();
            terms.join(" ")
        })
        .collect();

    let start = Instant::now();
    let mut index = Bm25Index::new(EN, Bm25Params::default());
    for (slot, text) in texts.iter().enumerate() {
        index.insert(slot as Slot, text);
    }
    let build = start.elapsed();
    let mib = |bytes: usize| bytes as f64 / (1024.0 * 1024.0);
    let before = index.memory_bytes();
    index.shrink_to_fit();
    eprintln!(
        "build: {CHUNKS} chunks x 120 terms in {build:.2?}; {} terms; \
         ~{:.1} MiB (~{:.1} MiB after shrink_to_fit)",
        index.term_count(),
        mib(before),
        mib(index.memory_bytes())
    );

    let mut query = |n: usize, common: bool| -> String {
        let pick = |rng: &mut XorShift| {
            if common {
                rng.below(50)
            } else {
                zipf.sample(rng)
            }
        };
        (0..n)
            .map(|_| words[pick(&mut rng)].as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let sets = [
        (
            "1-term zipf",
            (0..1000).map(|_| query(1, false)).collect::<Vec<_>>(),
        ),
        ("3-term zipf", (0..1000).map(|_| query(3, false)).collect()),
        (
            "1-term common (top 50)",
            (0..1000).map(|_| query(1, true)).collect(),
        ),
        (
            "3-term common (top 50)",
            (0..1000).map(|_| query(3, true)).collect(),
        ),
    ];
    for (name, queries) in &sets {
        let (p50, p95) = time_queries(&index, queries);
        eprintln!("{name}: p50 {p50:.2?}  p95 {p95:.2?}");
    }

    let start = Instant::now();
    for slot in 0..1000 {
        index.insert(slot, &texts[CHUNKS - 1 - slot as usize]);
    }
    eprintln!("replace: {:.2?} per chunk", start.elapsed() / 1000);

    let megabyte = "Regeringsformen 2 kap. 1 § yttrandefrihet handlingar ".repeat(20_000);
    let start = Instant::now();
    let terms = analyze(SV, &megabyte);
    eprintln!(
        "analyze: {} bytes -> {} terms in {:.2?}",
        megabyte.len(),
        terms.len(),
        start.elapsed()
    );
}
