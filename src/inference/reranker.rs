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
use crate::config::Loading;
use crate::error::{AppError, AppResult};

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
    precision: Arc<OnceLock<Arc<PrecisionChoice>>>,
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

    /// Late interaction with the sentence encoder in `dir`, passages cut to `max_length` tokens.
    pub fn max_sim(
        dir: &Path,
        options: LoadOptions,
        limits: BatchLimits,
        loading: Loading,
        max_length: usize,
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
        Self::assemble(
            Engine::MaxSim(batcher),
            dir,
            max_length,
            "maxsim",
            precision,
        )
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
        let tokenizer = self.tokenizer.clone();
        let engine = self.engine.clone();
        let (query, passages) = (query.to_string(), passages.to_vec());
        let encoded =
            tokio::task::spawn_blocking(move || encode(&tokenizer, &engine, &query, &passages))
                .await
                .map_err(|e| AppError::Internal(format!("tokenizer task: {e}")))??;
        match (self.engine.as_ref(), encoded) {
            (Engine::CrossEncoder(batcher), Encodings::Pairs(pairs)) => {
                Ok(batcher.submit(pairs, priority).await?)
            }
            (Engine::MaxSim(batcher), Encodings::Separate { query, passages }) => {
                let mut inputs = Vec::with_capacity(passages.len() + 1);
                inputs.push(query);
                inputs.extend(passages);
                let vectors = batcher.submit(inputs, priority).await?;
                let (query, passages) = vectors.split_first().expect("query vectors first");
                Ok(passages.iter().map(|p| max_sim(query, p)).collect())
            }
            _ => Err(AppError::Internal("reranker encoding mismatch".into())),
        }
    }
}

enum Encodings {
    Pairs(Vec<Encoded>),
    Separate {
        query: Encoded,
        passages: Vec<Encoded>,
    },
}

fn encode(
    tokenizer: &TextTokenizer,
    engine: &Engine,
    query: &str,
    passages: &[String],
) -> AppResult<Encodings> {
    let fail = |e: super::InferenceError| AppError::invalid("tokenization_failed", e);
    match engine {
        Engine::CrossEncoder(_) => passages
            .iter()
            .map(|p| tokenizer.encode_pair(query, p).map_err(fail))
            .collect::<AppResult<_>>()
            .map(Encodings::Pairs),
        Engine::MaxSim(_) => Ok(Encodings::Separate {
            query: tokenizer.encode(query).map_err(fail)?,
            passages: passages
                .iter()
                .map(|p| tokenizer.encode(p).map_err(fail))
                .collect::<AppResult<_>>()?,
        }),
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
