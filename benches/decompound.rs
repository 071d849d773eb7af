//! Swedish decompounding: the Hunspell dictionary's load time and memory, and BM25 indexing
//! speed of Swedish statute paragraphs with and without compound splitting. The paragraphs are
//! those of the Swedish development set (`tests/data/swedish_dev`), repeated to
//! `BENCH_PASSAGES` (default 20,000). Run with `just bench`; writes
//! `bench/results/decompound-<unix time>.json`.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use constitutional_rag::retrieval::analyzer::AnalyzerLanguage;
use constitutional_rag::retrieval::bm25::{Bm25Index, Bm25Params, Slot};
use constitutional_rag::retrieval::decompound::Decompounder;
use serde_json::json;

mod common;

/// Resident memory of this process, in KiB (Linux).
fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The paragraphs of the Swedish development set's acts.
fn paragraphs(root: &Path) -> Vec<String> {
    let mut files: Vec<_> = std::fs::read_dir(root.join("tests/data/swedish_dev"))
        .expect("the Swedish development set")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(file).expect("an act");
            text.split("\n\n")
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let count: usize = std::env::var("BENCH_PASSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let before = resident_kib();
    let started = Instant::now();
    let dictionary = Arc::new(
        Decompounder::load(&root.join(".cache/models/hunspell-sv")).expect("run `just setup`"),
    );
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    let resident_mib = resident_kib().saturating_sub(before) / 1024;
    println!(
        "dictionary: {load_ms:.0} ms, {} forms, +{resident_mib} MiB resident",
        dictionary.form_count()
    );
    let unique = paragraphs(root);
    let passages: Vec<&String> = unique.iter().cycle().take(count).collect();
    let mut rows = Vec::new();
    for split in [false, true] {
        let mut index = Bm25Index::new(AnalyzerLanguage::Swedish, Bm25Params::default());
        if split {
            index = index.with_decompounder(dictionary.clone());
        }
        let started = Instant::now();
        for (slot, text) in passages.iter().enumerate() {
            index.insert(slot as Slot, text);
        }
        let per_second = passages.len() as f64 / started.elapsed().as_secs_f64();
        println!(
            "split {split}: {per_second:.0} passages/s, {} terms",
            index.term_count()
        );
        rows.push(
            json!({"split": split, "passages_per_s": per_second, "terms": index.term_count()}),
        );
    }
    common::write_results(
        "decompound",
        &json!({
            "dictionary_load_ms": load_ms,
            "dictionary_resident_mib": resident_mib,
            "forms": dictionary.form_count(),
            "passages": passages.len(),
            "distinct_paragraphs": unique.len(),
            "indexing": rows,
        }),
    );
}
