//! Runs a development set against a backend: ingest the corpus into one collection of the
//! set's language, then for every question an evidence-mode answer and, for positives, a search in every mode
//! with and without reranking. The backend is the library in process (`eval` subcommand) or
//! a server over HTTP (`tests/legal_dev_eval.rs`); both report the same observations.

use std::time::Instant;

use super::dev_report::DevReport;
use super::dev_set::{DevDocument, DevQuestion, DevSet, TextLanguage, contains_quote};
use super::outcome::{DEPTH, QuestionOutcome, SearchOutcome};
use crate::error::AppResult;
use crate::model::DocumentInput;
use crate::model::Language;
use crate::pipeline::types::RequestedMode;
use crate::pipeline::{AnswerRequest, Events, Pipeline};
use crate::service::{Library, SearchMode, SearchRequest};

/// The collection the corpus is ingested into.
pub const COLLECTION: &str = "legal-dev";

/// What an answer looked like.
#[derive(Debug, Clone, Default)]
pub struct AnswerObservation {
    /// The answer text.
    pub text: String,
    /// Whether it is a refusal (`saknas_underlag`).
    pub refused: bool,
    /// Why it refused, when it did.
    pub refusal_reason: Option<String>,
    /// The full text of each source, in citation order.
    pub sources: Vec<String>,
}

/// Where the development set is run: ingestion, evidence answers and searches.
pub trait DevBackend {
    /// Creates `collection` with the analyzer of `language` and stores every document in it.
    fn ingest(
        &self,
        collection: &str,
        language: Language,
        documents: &[DevDocument],
    ) -> impl Future<Output = AppResult<()>> + Send;

    /// Answers `question` in evidence mode over `collection`.
    fn answer(
        &self,
        collection: &str,
        question: &str,
    ) -> impl Future<Output = AppResult<AnswerObservation>> + Send;

    /// The texts of the best [`DEPTH`] hits for `query` in `collection`.
    fn search(
        &self,
        collection: &str,
        query: &str,
        mode: SearchMode,
        rerank: bool,
    ) -> impl Future<Output = AppResult<Vec<String>>> + Send;
}

/// Ingests the corpus through `backend`, asks every question and runs `searches` (usually
/// [`SEARCHES`](super::outcome::SEARCHES); none to compare answer settings quickly), and scores the lot.
pub async fn run(
    set: &DevSet,
    backend: &impl DevBackend,
    searches: &[(SearchMode, bool)],
) -> AppResult<DevReport> {
    let started = Instant::now();
    backend
        .ingest(COLLECTION, set.language.analyzer(), &set.documents)
        .await?;
    let ingest_ms = elapsed_ms(started);
    let mut outcomes = Vec::with_capacity(set.questions.len());
    for question in &set.questions {
        let language = question.language.unwrap_or(set.language);
        outcomes.push(ask(backend, question, language, searches).await?);
    }
    Ok(DevReport::score(set, outcomes, ingest_ms))
}

async fn ask(
    backend: &impl DevBackend,
    question: &DevQuestion,
    language: TextLanguage,
    configurations: &[(SearchMode, bool)],
) -> AppResult<QuestionOutcome> {
    let started = Instant::now();
    let answer = backend.answer(COLLECTION, &question.question).await?;
    let answer_ms = elapsed_ms(started);
    let quote = question.normalised_quote();
    let found_in = |texts: &[String]| {
        quote.as_deref().and_then(|quote| {
            texts
                .iter()
                .take(DEPTH)
                .position(|text| contains_quote(text, quote))
        })
    };
    let mut searches = Vec::new();
    if quote.is_some() {
        for &(mode, rerank) in configurations {
            let started = Instant::now();
            let hits = backend
                .search(COLLECTION, &question.question, mode, rerank)
                .await?;
            searches.push(SearchOutcome {
                mode,
                rerank,
                found_at: found_in(&hits),
                ms: elapsed_ms(started),
            });
        }
    }
    Ok(QuestionOutcome {
        id: question.id.clone(),
        kind: question.kind,
        language,
        refused: answer.refused,
        refusal_reason: answer.refusal_reason,
        answer_found_at: found_in(&answer.sources),
        answer_contains_quote: quote
            .as_deref()
            .is_some_and(|quote| contains_quote(&answer.text, quote)),
        answer_ms,
        searches,
    })
}

fn elapsed_ms(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}

/// The library in this process, answering through the same [`Pipeline`] the server builds.
/// Evidence answers need no generator, so none is started.
pub struct LibraryBackend {
    pipeline: Pipeline,
}

impl LibraryBackend {
    /// A pipeline over `library`.
    pub fn new(library: Library) -> AppResult<Self> {
        Ok(Self {
            pipeline: Pipeline::new(library.clone(), library.metrics())?,
        })
    }

    fn library(&self) -> &Library {
        self.pipeline.library()
    }
}

impl DevBackend for LibraryBackend {
    async fn ingest(
        &self,
        collection: &str,
        language: Language,
        documents: &[DevDocument],
    ) -> AppResult<()> {
        self.library()
            .create_collection(collection, "development set", language)
            .await?;
        for document in documents {
            let input = DocumentInput {
                external_id: Some(document.entry.external_id.clone()),
                title: Some(document.entry.title.clone()),
                source: Some(document.entry.source()),
                text: document.text.clone(),
                ..DocumentInput::default()
            };
            self.library().upsert_document(collection, input).await?;
        }
        // What ingestion queued for the cache file (passages' token vectors) is read from
        // there by the first questions, as it would be on a server some time after ingestion.
        let encoder = self.library().embedder().clone();
        tokio::task::spawn_blocking(move || encoder.flush_cache())
            .await
            .map_err(|e| crate::error::AppError::Internal(format!("cache flush: {e}")))
    }

    async fn answer(&self, collection: &str, question: &str) -> AppResult<AnswerObservation> {
        let request = AnswerRequest {
            question: question.into(),
            mode: RequestedMode::Evidence,
            collections: vec![collection.into()],
            ..AnswerRequest::default()
        };
        let answer = self.pipeline.answer(request, &Events::none()).await?;
        Ok(AnswerObservation {
            text: answer.answer,
            refused: answer.saknas_underlag,
            refusal_reason: answer.refusal_reason,
            sources: answer.sources.into_iter().map(|s| s.snippet).collect(),
        })
    }

    async fn search(
        &self,
        collection: &str,
        query: &str,
        mode: SearchMode,
        rerank: bool,
    ) -> AppResult<Vec<String>> {
        let request = SearchRequest {
            query: query.into(),
            collections: vec![collection.into()],
            mode: Some(mode),
            limit: Some(DEPTH as u32),
            filter: None,
            rerank,
        };
        let (_, hits) = self.library().search(&request).await?;
        Ok(hits.into_iter().map(|hit| hit.text).collect())
    }
}
