//! Command line: `serve`, `ingest`, `reindex`, `eval`, `openapi`, `keys`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};

use constitutional_rag::auth::cli::KeysCommand;
use constitutional_rag::config::Config;
use constitutional_rag::eval::dev_run::{self, LibraryBackend, SEARCHES};
use constitutional_rag::eval::dev_set::DevSet;
use constitutional_rag::eval::{EvalSet, evaluate, format_table};
use constitutional_rag::ingest::files::{collect_files, ingest_files};
use constitutional_rag::model::Language;
use constitutional_rag::server::{BoundServer, shutdown_signal, wait_for_background_tasks};
use constitutional_rag::service::Library;
use constitutional_rag::{api, telemetry};

#[derive(Parser)]
#[command(
    version,
    about = "Grounded question answering over legal document collections"
)]
struct Cli {
    /// TOML configuration file; `CRAG_*` environment variables override it.
    #[arg(long, global = true, env = "CRAG_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Ingest files (txt, md, html, json, jsonl, pdf; directories recursively, following
    /// symbolic links but not their cycles) into a collection.
    Ingest {
        /// Files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Target collection; created when missing.
        #[arg(long)]
        collection: String,
        /// Analyzer language when the collection is created.
        #[arg(long, default_value = "english", value_parser = ["english", "swedish"])]
        language: String,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Re-embed a collection with the configured encoder (after changing the model).
    Reindex {
        /// The collection.
        #[arg(long)]
        collection: String,
    },
    /// Evaluate on a labelled set in a throw-away in-memory database: a directory is a
    /// development set (evidence answers and searches, per question kind, ingested with the
    /// set's language), a JSON file the synthetic retrieval set (recall@k and MRR per search
    /// mode).
    Eval {
        /// The set: tests/data/legal_dev (English licences), tests/data/swedish_dev (Swedish
        /// statutes) or tests/data/retrieval_eval.json.
        #[arg(long = "set", value_name = "SET", required_unless_present = "set_path")]
        set: Option<PathBuf>,
        /// The set, as a positional argument (same as `--set`).
        #[arg(value_name = "SET", conflicts_with = "set")]
        set_path: Option<PathBuf>,
        /// Where `just setup` installed the development corpus's packages.
        #[arg(long, default_value = ".cache/legal-corpus")]
        corpus: PathBuf,
        /// Also write the scores (and, for the development set, every question's
        /// observations) to this JSON file.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Development set only: which searches to score beside the answers (`plain` skips
        /// the reranked ones, `none` all of them: quicker when comparing settings).
        #[arg(long, value_enum, default_value_t = Searches::All)]
        searches: Searches,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Manage API keys (on the database directly; stop the server first when it uses the
    /// same embedded database, or use the admin API).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref(), std::env::vars()) {
        Ok(config) => Arc::new(config),
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&config.log);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Ingest {
            paths,
            collection,
            language,
            quiet,
        } => ingest(config, &paths, &collection, &language, quiet).await,
        Command::Reindex { collection } => reindex(config, &collection).await,
        Command::Eval {
            set,
            set_path,
            corpus,
            json,
            searches,
        } => {
            let set = set.or(set_path).expect("clap requires a set");
            eval(config, &set, &corpus, json.as_deref(), searches).await
        }
        Command::Openapi => openapi(config).await,
        Command::Keys { command } => constitutional_rag::auth::cli::run(&config, command).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Arc<Config>) -> anyhow::Result<()> {
    let server = BoundServer::bind(config.clone()).await?;
    let addr = server.local_addr();
    tracing::info!(%addr, storage = %config.storage.url, "listening");
    println!("constitutional-rag listening on http://{addr}");
    println!("Swagger UI: http://{addr}/docs   OpenAPI: http://{addr}/openapi.json");
    server.serve(shutdown_signal()).await?;
    wait_for_background_tasks().await;
    tracing::info!("stopped");
    Ok(())
}

async fn ingest(
    config: Arc<Config>,
    paths: &[PathBuf],
    collection: &str,
    language: &str,
    quiet: bool,
) -> anyhow::Result<()> {
    let language = if language == "swedish" {
        Language::Swedish
    } else {
        Language::English
    };
    let files = collect_files(paths)?;
    let library = Library::open(config).await?;
    let summary = ingest_files(&library, collection, language, &files, quiet).await?;
    println!(
        "ingested {} files into '{collection}': {} created, {} updated, {} unchanged, {} chunks, {} failures",
        summary.files,
        summary.created,
        summary.updated,
        summary.unchanged,
        summary.chunks,
        summary.failures.len()
    );
    for failure in &summary.failures {
        eprintln!("failed: {failure}");
    }
    if summary.failures.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{} failures", summary.failures.len())
    }
}

async fn reindex(config: Arc<Config>, collection: &str) -> anyhow::Result<()> {
    let library = Library::open(config).await?;
    let summary = library.reindex_collection(collection).await?;
    println!(
        "reindexed '{}': {} chunks with {} ({} dimensions) in {} ms",
        summary.collection,
        summary.chunks,
        summary.embedding_model,
        summary.embedding_dimension,
        summary.took_ms
    );
    Ok(())
}

/// The searches `eval` scores beside the development set's answers.
#[derive(Clone, Copy, ValueEnum)]
enum Searches {
    /// Every mode, with and without reranking.
    All,
    /// Every mode without reranking.
    Plain,
    /// None: answers only.
    None,
}

async fn eval(
    config: Arc<Config>,
    set: &std::path::Path,
    corpus: &std::path::Path,
    json: Option<&std::path::Path>,
    searches: Searches,
) -> anyhow::Result<()> {
    let mut config = (*config).clone();
    config.storage.url = "mem://".into();
    config.cache.embedding_path = String::new();
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

async fn openapi(config: Arc<Config>) -> anyhow::Result<()> {
    let mut config = (*config).clone();
    config.storage.url = "mem://".into();
    config.cache.embedding_path = String::new();
    let library = Library::open(Arc::new(config)).await?;
    println!("{}", api::spec_json(&library)?);
    Ok(())
}
