//! The benchmark corpus: `chunks` statute-like chunks in three English collections
//! (`bench0`..`bench2`), built from 2,000 distinct section texts so that embedding it takes
//! minutes rather than hours on a 2-core CPU.

use std::time::{Duration, Instant};

use constitutional_rag::model::DocumentInput;
use constitutional_rag::model::Language;
use constitutional_rag::service::Library;
use serde_json::json;

use super::Rng;

/// Section texts: 100 variants of each of 20 section numbers.
pub fn section_pool() -> Vec<Vec<String>> {
    let mut rng = Rng(3);
    (0..20)
        .map(|_| {
            (0..100)
                .map(|_| format!("{} {}", rng.sentence(14), rng.sentence(12)))
                .collect()
        })
        .collect()
}

/// Questions whose words come from the corpus's sections, so that they are answerable.
pub fn questions(count: usize) -> Vec<String> {
    let pool = section_pool();
    (0..count)
        .map(|i| {
            let section = i % pool.len();
            let words: Vec<&str> = pool[section][i % 100].split_whitespace().take(4).collect();
            format!("What does § {} say about {}?", section + 1, words.join(" "))
        })
        .collect()
}

/// Statute number `number`: one chapter of 20 sections, each a variant from `pool`.
pub fn statute(pool: &[Vec<String>], number: usize) -> String {
    let mut text = String::from("1 kap. Allmänna bestämmelser\n\n");
    for (section, variants) in pool.iter().enumerate() {
        let variant = &variants[(number * 31 + section * 7) % variants.len()];
        text.push_str(&format!("{} § {variant}\n\n", section + 1));
    }
    text
}

/// Ingests the corpus into `library`, reporting its size and speed.
pub async fn ingest_corpus(library: &Library, chunks: usize) -> serde_json::Value {
    let pool = section_pool();
    let documents = chunks.div_ceil(20);
    for c in 0..3 {
        library
            .create_collection(&format!("bench{c}"), "", Language::English)
            .await
            .expect("collection");
    }
    let started = Instant::now();
    let mut first_window: Option<(usize, f64)> = None;
    let mut stored = 0;
    for number in 0..documents {
        let input = DocumentInput {
            external_id: Some(format!("doc-{number}")),
            title: Some("Synthetic statute".into()),
            text: statute(&pool, number),
            metadata: [("part".to_string(), json!(number % 10))].into(),
            ..DocumentInput::default()
        };
        let (document, _) = library
            .upsert_document(&format!("bench{}", number % 3), input)
            .await
            .expect("ingest");
        stored += document.chunk_count as usize;
        if first_window.is_none() && started.elapsed() > Duration::from_secs(1) && stored >= 2_000 {
            first_window = Some((stored, started.elapsed().as_secs_f64()));
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "ingested {stored} chunks in {seconds:.1} s ({:.0} chunks/s overall)",
        stored as f64 / seconds
    );
    json!({"chunks": stored, "seconds": seconds, "chunks_per_s": stored as f64 / seconds,
           "first_2000_chunks_per_s": first_window.map(|(n, s)| n as f64 / s)})
}
