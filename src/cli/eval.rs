//! `constitutional-rag eval`: a labelled set scored in a throw-away in-memory database.

use std::path::Path;
use std::sync::Arc;

use clap::ValueEnum;

use crate::config::Config;
use crate::eval::dev_run::{self, LibraryBackend};
use crate::eval::dev_set::DevSet;
use crate::eval::outcome::SEARCHES;
use crate::eval::{EvalSet, evaluate, format_table};
use crate::service::Library;

/// The searches `eval` scores beside the development set's answers.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Searches {
    /// Every mode, with and without reranking.
    All,
    /// Every mode without reranking.
    Plain,
    /// None: answers only.
    None,
}

/// Runs `eval`: a directory is a development set (answers, and `searches`), a JSON file the
/// synthetic retrieval set; prints the table and writes the scores to `json` when given.
pub async fn run(
    config: Arc<Config>,
    set: &Path,
    corpus: &Path,
    json: Option<&Path>,
    searches: Searches,
) -> anyhow::Result<()> {
    // A throw-away cache file, so that reranking reads the token vectors ingestion stored,
    // as on a server.
    let scratch = tempfile::tempdir()?;
    let mut config = (*super::in_memory(&config)).clone();
    let cache_file = scratch.path().join("embedding-cache.redb");
    config.cache.embedding_path = cache_file.display().to_string();
    let library = Library::open(Arc::new(config)).await?;
    let reranker = library.reranker().name().to_string();
    let scores = if set.is_dir() {
        let set = DevSet::load(set, corpus)?;
        let searches: Vec<_> = SEARCHES
            .into_iter()
            .filter(|&(_, rerank)| match searches {
                Searches::All => true,
                Searches::Plain => !rerank,
                Searches::None => false,
            })
            .collect();
        let report = dev_run::run(&set, &LibraryBackend::new(library)?, &searches).await?;
        print!("{}", report.format_table(&reranker));
        serde_json::to_value(&report)?
    } else {
        let set = EvalSet::from_json(&std::fs::read_to_string(set)?)?;
        let rows = evaluate(&library, &set).await?;
        println!(
            "{} queries over {} documents",
            set.queries.len(),
            set.documents.len()
        );
        print!("{}", format_table(&rows, &reranker));
        serde_json::to_value(&rows)?
    };
    if let Some(path) = json {
        std::fs::write(path, serde_json::to_string_pretty(&scores)? + "\n")?;
        println!("scores written to {}", path.display());
    }
    Ok(())
}
