//! The reranking service: a cross-encoder when one is configured, otherwise late interaction
//! (MaxSim over the sentence encoder's token vectors). Either runs on its own batching worker.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use super::Encoded;
use super::LoadOptions;
use super::batcher::{
    BatchLimits, BatchModel, BatchStats, Batcher, ModelState, Priority, ThreadPlan,
};
use super::cross_encoder::CrossEncoder;
use super::encoder::{SentenceEncoder, TokenVectors, max_sim};
use super::precision::PrecisionChoice;
use super::tokenizer::TextTokenizer;
use crate::cache::embedding::CacheKey;
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
    MaxSim(Batcher<TokenEncoder>),
}

/// Scores passages against a query; higher is more relevant. Cheap to clone.
#[derive(Clone)]
pub struct Reranker {
    engine: Arc<Engine>,
    tokenizer: Arc<TextTokenizer>,
    name: Arc<str>,
    max_length: usize,
    precision: Arc<OnceLock<Arc<PrecisionChoice>>>,
    passages: Option<Arc<PassageVectors>>,
}

/// Token vectors of passages the MaxSim reranker has encoded, by (reranker, max length,
/// text): a chunk among the candidates of another question is not encoded again.
type PassageVectors = Cache<CacheKey, Arc<TokenVectors>, TokenVectorsWeighter, DefaultHashBuilder>;

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
    /// the token vectors of passages it has encoded are kept up to `cache_bytes` (0 = none).
    pub fn max_sim(
        dir: &Path,
        options: LoadOptions,
        limits: BatchLimits,
        loading: Loading,
        max_length: usize,
        cache_bytes: u64,
    ) -> AppResult<Self> {
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
        let mut reranker = Self::assemble(
            Engine::MaxSim(batcher),
            dir,
            max_length,
            "maxsim",
            precision,
        )?;
        reranker.passages =
            crate::cache::bounded(cache_bytes, TYPICAL_PASSAGE_BYTES, TokenVectorsWeighter)
                .map(Arc::new);
        Ok(reranker)
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
            passages: None,
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
            Engine::MaxSim(_) => {
                ((raw - MAXSIM_FLOOR) / (MAXSIM_CEILING - MAXSIM_FLOOR)).clamp(0.0, 1.0)
            }
        }
    }

    /// The worker's queue depth and counters.
    pub fn batcher_stats(&self) -> (usize, &BatchStats) {
        match &*self.engine {
            Engine::CrossEncoder(batcher) => (batcher.queue_depth(), batcher.stats()),
            Engine::MaxSim(batcher) => (batcher.queue_depth(), batcher.stats()),
        }
    }

    /// Whether the model worker still runs.
    pub fn is_running(&self) -> bool {
        match &*self.engine {
            Engine::CrossEncoder(batcher) => batcher.is_running(),
            Engine::MaxSim(batcher) => batcher.is_running(),
        }
    }

    /// Where the reranker's weights are: not loaded yet, loading, loaded or failed.
    pub fn model_state(&self) -> ModelState {
        match &*self.engine {
            Engine::CrossEncoder(batcher) => batcher.model_state(),
            Engine::MaxSim(batcher) => batcher.model_state(),
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
            Engine::MaxSim(batcher) => {
                self.max_sim_scores(batcher, query, passages, priority)
                    .await
            }
        }
    }

    /// MaxSim of the query's token vectors against each passage's, encoding only the passages
    /// whose vectors are not cached (the query and those in one batch).
    async fn max_sim_scores(
        &self,
        batcher: &Batcher<TokenEncoder>,
        query: &str,
        passages: &[String],
        priority: Priority,
    ) -> AppResult<Vec<f32>> {
        let keys: Vec<CacheKey> = passages
            .iter()
            .map(|p| CacheKey::new(&self.name, self.max_length, p))
            .collect();
        let mut vectors: Vec<Option<Arc<TokenVectors>>> = keys
            .iter()
            .map(|key| self.passages.as_ref().and_then(|cache| cache.get(key)))
            .collect();
        let missing: Vec<usize> = (0..passages.len())
            .filter(|&i| vectors[i].is_none())
            .collect();
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
            if let Some(cache) = &self.passages {
                cache.insert(keys[i], passage.clone());
            }
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
