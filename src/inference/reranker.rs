//! The reranking service: a cross-encoder when one is configured, otherwise late interaction
//! (MaxSim over the sentence encoder's token vectors). Either runs on its own batching worker.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use super::Encoded;
use super::LoadOptions;
use super::batcher::{
    BatchLimits, BatchModel, BatchStats, Batcher, ModelState, Priority, ThreadPlan,
};
use super::cross_encoder::CrossEncoder;
use super::encoder::{ModelInfo, SentenceEncoder, TokenVectors, max_sim};
use super::precision::PrecisionChoice;
use super::tokenizer::TextTokenizer;
use crate::cache::embedding::{CacheKey, EmbeddingCache};
use crate::config::Loading;
use crate::error::{AppError, AppResult};
use quick_cache::sync::Cache;
use quick_cache::{DefaultHashBuilder, Weighter};

/// MaxSim at or below which a passage is unrelated.
const MAXSIM_FLOOR: f64 = 0.35;
/// MaxSim at or above which a passage is clearly relevant.
const MAXSIM_CEILING: f64 = 0.8;

/// A cross-encoder scoring encoded (query, passage) pairs.
struct PairScorer(CrossEncoder);

impl BatchModel for PairScorer {
    type Input = Encoded;
    type Output = f32;

    fn length(input: &Encoded) -> usize {
        input.ids.len()
    }

    fn run(&mut self, batch: Vec<Encoded>) -> Result<Vec<f32>, String> {
        self.0.score_encoded(&batch).map_err(|e| e.to_string())
    }
}

/// The sentence encoder producing per-token vectors.
struct TokenEncoder(SentenceEncoder);

impl BatchModel for TokenEncoder {
    type Input = Encoded;
    type Output = TokenVectors;

    fn length(input: &Encoded) -> usize {
        input.ids.len()
    }

    fn run(&mut self, batch: Vec<Encoded>) -> Result<Vec<TokenVectors>, String> {
        self.0.token_embeddings(&batch).map_err(|e| e.to_string())
    }

    fn thread_plan(&self) -> Option<ThreadPlan> {
        self.0.precision().threads.as_ref().map(|t| t.plan)
    }
}

enum Engine {
    CrossEncoder(Batcher<PairScorer>),
    MaxSim(Batcher<TokenEncoder>, PassageVectors),
}

/// Scores passages against a query; higher is more relevant. Cheap to clone.
#[derive(Clone)]
pub struct Reranker {
    engine: Arc<Engine>,
    tokenizer: Arc<TextTokenizer>,
    name: Arc<str>,
    max_length: usize,
    precision: Arc<OnceLock<Arc<PrecisionChoice>>>,
}

/// Where the MaxSim reranker finds passages' token vectors before it encodes them.
pub struct TokenVectorSources {
    /// Bound of the in-memory cache of the token vectors it has used, in bytes (0 = none).
    pub memory_bytes: u64,
    /// The cache file where ingestion stored them (see `Embedder::keep_token_vectors_for`).
    pub stored: Option<Arc<EmbeddingCache>>,
}

/// How many candidates' token vectors came from where, since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenVectorCounts {
    /// Found in memory.
    pub memory: u64,
    /// Read from the cache file (stored at ingestion, or by an earlier process).
    pub stored: u64,
    /// Encoded for the request.
    pub encoded: u64,
}

/// The MaxSim reranker's passages: token vectors by (encoder, max length, text) — the key
/// ingestion stores them under — in memory and in the cache file.
struct PassageVectors {
    memory: Option<Cache<CacheKey, Arc<TokenVectors>, TokenVectorsWeighter, DefaultHashBuilder>>,
    stored: Option<Arc<EmbeddingCache>>,
    encoder: ModelInfo,
    from_memory: AtomicU64,
    from_store: AtomicU64,
    encoded: AtomicU64,
}

/// Bytes of an entry beyond its vectors (key, `Arc`, table slot).
const PASSAGE_ENTRY_OVERHEAD_BYTES: u64 = 96;
/// A passage of 128 tokens of 384 dimensions, to size the table.
const TYPICAL_PASSAGE_BYTES: u64 = 128 * 384 * 4;

#[derive(Clone)]
struct TokenVectorsWeighter;

impl Weighter<CacheKey, Arc<TokenVectors>> for TokenVectorsWeighter {
    fn weight(&self, _key: &CacheKey, vectors: &Arc<TokenVectors>) -> u64 {
        std::mem::size_of_val(vectors.as_flat()) as u64 + PASSAGE_ENTRY_OVERHEAD_BYTES
    }
}

impl Reranker {
    /// A cross-encoder from `dir`, with pairs cut to `max_length` tokens.
    pub fn cross_encoder(
        dir: &Path,
        options: LoadOptions,
        limits: BatchLimits,
        loading: Loading,
        max_length: usize,
    ) -> AppResult<Self> {
        let precision = Arc::new(OnceLock::new());
        let batcher = start_worker(
            "reranker",
            dir,
            options,
            (limits, loading, max_length),
            precision.clone(),
            |dir, options| {
                let model = CrossEncoder::load(dir, options)?;
                Ok((model.precision().clone(), PairScorer(model)))
            },
        )?;
        Self::assemble(
            Engine::CrossEncoder(batcher),
            dir,
            max_length,
            "cross-encoder",
            precision,
        )
    }

    /// Late interaction with the sentence encoder in `dir`, passages cut to `max_length` tokens;
    /// passages' token vectors are looked for in `sources` before they are encoded.
    pub fn max_sim(
        dir: &Path,
        options: LoadOptions,
        limits: BatchLimits,
        loading: Loading,
        max_length: usize,
        sources: TokenVectorSources,
    ) -> AppResult<Self> {
        let encoder = SentenceEncoder::describe(dir, &options).map_err(|e| {
            AppError::Unavailable(format!("cannot load reranker from {}: {e}", dir.display()))
        })?;
        let precision = Arc::new(OnceLock::new());
        let batcher = start_worker(
            "maxsim",
            dir,
            options,
            (limits, loading, max_length),
            precision.clone(),
            |dir, options| {
                let model = SentenceEncoder::load(dir, options)?;
                Ok((model.precision().clone(), TokenEncoder(model)))
            },
        )?;
        let passages = PassageVectors {
            memory: crate::cache::bounded(
                sources.memory_bytes,
                TYPICAL_PASSAGE_BYTES,
                TokenVectorsWeighter,
            ),
            stored: sources.stored.filter(|cache| cache.stores_token_vectors()),
            encoder,
            from_memory: AtomicU64::new(0),
            from_store: AtomicU64::new(0),
            encoded: AtomicU64::new(0),
        };
        let engine = Engine::MaxSim(batcher, passages);
        Self::assemble(engine, dir, max_length, "maxsim", precision)
    }

    fn assemble(
        engine: Engine,
        dir: &Path,
        max_length: usize,
        kind: &str,
        precision: Arc<OnceLock<Arc<PrecisionChoice>>>,
    ) -> AppResult<Self> {
        let tokenizer = TextTokenizer::load(dir, max_length).map_err(|e| {
            AppError::Unavailable(format!("cannot load tokenizer from {}: {e}", dir.display()))
        })?;
        let model = dir.file_name().map_or_else(
            || dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Ok(Self {
            engine: Arc::new(engine),
            tokenizer: Arc::new(tokenizer),
            name: format!("{kind}:{model}").into(),
            max_length,
            precision,
        })
    }

    /// The precision the reranker runs in and how it was chosen; `None` until it has loaded.
    /// The MaxSim reranker shares the encoder's probe (same network).
    pub fn precision(&self) -> Option<&PrecisionChoice> {
        self.precision.get().map(|choice| &**choice)
    }

    /// `cross-encoder:<model>` or `maxsim:<model>`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A raw score of [`Reranker::score`] mapped onto [0, 1] with the same meaning for every
    /// engine: the logistic function of a cross-encoder's logit; for MaxSim (an average of
    /// per-token cosines, which sits near 0.35 for unrelated text with sentence encoders) a
    /// linear map of [0.35, 0.8].
    pub fn calibrate(&self, raw: f32) -> f64 {
        let raw = f64::from(raw);
        match &*self.engine {
            Engine::CrossEncoder(_) => 1.0 / (1.0 + (-raw).exp()),
            Engine::MaxSim(..) => {
                ((raw - MAXSIM_FLOOR) / (MAXSIM_CEILING - MAXSIM_FLOOR)).clamp(0.0, 1.0)
            }
        }
    }

    /// Where the MaxSim reranker's candidates' token vectors came from; `None` for a
    /// cross-encoder.
    pub fn token_vector_counts(&self) -> Option<TokenVectorCounts> {
        match &*self.engine {
            Engine::CrossEncoder(_) => None,
            Engine::MaxSim(_, passages) => Some(TokenVectorCounts {
                memory: passages.from_memory.load(Ordering::Relaxed),
                stored: passages.from_store.load(Ordering::Relaxed),
                encoded: passages.encoded.load(Ordering::Relaxed),
            }),
        }
    }

    /// The worker's queue depth and counters.
    pub fn batcher_stats(&self) -> (usize, &BatchStats) {
        match &*self.engine {
            Engine::CrossEncoder(batcher) => (batcher.queue_depth(), batcher.stats()),
            Engine::MaxSim(batcher, _) => (batcher.queue_depth(), batcher.stats()),
        }
    }

    /// Whether the model worker still runs.
    pub fn is_running(&self) -> bool {
        match &*self.engine {
            Engine::CrossEncoder(batcher) => batcher.is_running(),
            Engine::MaxSim(batcher, _) => batcher.is_running(),
        }
    }

    /// Where the reranker's weights are: not loaded yet, loading, loaded or failed.
    pub fn model_state(&self) -> ModelState {
        match &*self.engine {
            Engine::CrossEncoder(batcher) => batcher.model_state(),
            Engine::MaxSim(batcher, _) => batcher.model_state(),
        }
    }

    /// One relevance score per passage, in order.
    pub async fn score(
        &self,
        query: &str,
        passages: &[String],
        priority: Priority,
    ) -> AppResult<Vec<f32>> {
        if passages.is_empty() {
            return Ok(Vec::new());
        }
        match self.engine.as_ref() {
            Engine::CrossEncoder(batcher) => {
                let pairs = self
                    .tokenize(
                        move |tokenizer, query, passages| {
                            passages
                                .iter()
                                .map(|p| tokenizer.encode_pair(&query, p))
                                .collect()
                        },
                        query,
                        passages.to_vec(),
                    )
                    .await?;
                Ok(batcher.submit(pairs, priority).await?)
            }
            Engine::MaxSim(batcher, known) => {
                self.max_sim_scores((batcher, known), query, passages, priority)
                    .await
            }
        }
    }

    /// MaxSim of the query's token vectors against each passage's, encoding only the passages
    /// whose vectors are neither in memory nor stored (the query and those in one batch).
    async fn max_sim_scores(
        &self,
        (batcher, known): (&Batcher<TokenEncoder>, &PassageVectors),
        query: &str,
        passages: &[String],
        priority: Priority,
    ) -> AppResult<Vec<f32>> {
        let keys: Vec<CacheKey> = passages
            .iter()
            .map(|p| CacheKey::new(&known.encoder.model_id, self.max_length, p))
            .collect();
        let mut vectors = known.find(&keys).await?;
        let missing: Vec<usize> = (0..passages.len())
            .filter(|&i| vectors[i].is_none())
            .collect();
        count(&known.encoded, missing.len());
        let texts: Vec<String> = missing.iter().map(|&i| passages[i].clone()).collect();
        // The query first, then the passages to encode.
        let inputs = self
            .tokenize(
                move |tokenizer, query, texts| {
                    std::iter::once(query.as_str())
                        .chain(texts.iter().map(String::as_str))
                        .map(|text| tokenizer.encode(text))
                        .collect()
                },
                query,
                texts,
            )
            .await?;
        let mut encoded = batcher.submit(inputs, priority).await?.into_iter();
        let query = encoded.next().expect("query vectors first");
        for (i, passage) in missing.into_iter().zip(encoded) {
            let passage = Arc::new(passage);
            known.keep(keys[i], &passage);
            vectors[i] = Some(passage);
        }
        Ok(vectors
            .iter()
            .flatten()
            .map(|passage| max_sim(&query, passage))
            .collect())
    }

    /// Runs `encode` (the query and passages into model inputs) on the blocking pool.
    async fn tokenize(
        &self,
        encode: impl FnOnce(
            &TextTokenizer,
            String,
            Vec<String>,
        ) -> Result<Vec<Encoded>, super::InferenceError>
        + Send
        + 'static,
        query: &str,
        passages: Vec<String>,
    ) -> AppResult<Vec<Encoded>> {
        let tokenizer = self.tokenizer.clone();
        let query = query.to_string();
        tokio::task::spawn_blocking(move || encode(&tokenizer, query, passages))
            .await
            .map_err(|e| AppError::Internal(format!("tokenizer task: {e}")))?
            .map_err(|e| AppError::invalid("tokenization_failed", e))
    }
}

impl PassageVectors {
    /// The token vectors of each key found in memory, then in the cache file (those are
    /// kept in memory from then on).
    async fn find(&self, keys: &[CacheKey]) -> AppResult<Vec<Option<Arc<TokenVectors>>>> {
        let mut found: Vec<Option<Arc<TokenVectors>>> = keys
            .iter()
            .map(|key| self.memory.as_ref().and_then(|memory| memory.get(key)))
            .collect();
        count(&self.from_memory, found.iter().flatten().count());
        let missing: Vec<usize> = (0..keys.len()).filter(|&i| found[i].is_none()).collect();
        let Some(stored) = self.stored.clone().filter(|_| !missing.is_empty()) else {
            return Ok(found);
        };
        let wanted: Vec<CacheKey> = missing.iter().map(|&i| keys[i]).collect();
        let dimension = self.encoder.dimension;
        let read = tokio::task::spawn_blocking(move || {
            let bytes = stored.get_token_vectors(&wanted);
            bytes
                .into_iter()
                .map(|bytes| {
                    bytes.and_then(|bytes| TokenVectors::from_int8_bytes(dimension, &bytes))
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| AppError::Internal(format!("token vector read: {e}")))?;
        for (i, vectors) in missing.into_iter().zip(read) {
            if let Some(vectors) = vectors.map(Arc::new) {
                if let Some(memory) = &self.memory {
                    memory.insert(keys[i], vectors.clone());
                }
                count(&self.from_store, 1);
                found[i] = Some(vectors);
            }
        }
        Ok(found)
    }

    /// Keeps a passage's freshly encoded token vectors in memory and in the cache file.
    fn keep(&self, key: CacheKey, vectors: &Arc<TokenVectors>) {
        if let Some(memory) = &self.memory {
            memory.insert(key, vectors.clone());
        }
        if let Some(stored) = &self.stored {
            stored.put_token_vectors(key, vectors.to_int8_bytes());
        }
    }
}

fn count(counter: &AtomicU64, n: usize) {
    counter.fetch_add(n as u64, Ordering::Relaxed);
}

/// A loaded reranking model and the precision it runs in.
type Loaded<M> = Result<(Arc<PrecisionChoice>, M), super::InferenceError>;

/// Starts a worker that loads its model from `dir` (when `loading` says) with inputs cut to
/// `max_length` tokens, and records its precision in `precision` once loaded.
fn start_worker<M: BatchModel>(
    name: &str,
    dir: &Path,
    options: LoadOptions,
    (limits, loading, max_length): (BatchLimits, Loading, usize),
    precision: Arc<OnceLock<Arc<PrecisionChoice>>>,
    load: fn(&Path, LoadOptions) -> Loaded<M>,
) -> AppResult<Batcher<M>> {
    let model_dir: PathBuf = dir.to_path_buf();
    let options = LoadOptions {
        max_length: Some(max_length),
        batch_size: limits.max_batch_size,
        ..options
    };
    Batcher::start(name, limits, loading, move || {
        let (choice, model) = load(&model_dir, options)
            .map_err(|e| format!("cannot load reranker from {}: {e}", model_dir.display()))?;
        let _ = precision.set(choice);
        Ok(model)
    })
    .map_err(AppError::Unavailable)
}
