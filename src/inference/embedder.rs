//! The embedding service: cache first, then the micro-batching worker that owns the encoder.

use std::path::Path;
use std::sync::{Arc, OnceLock};

pub use super::encoder::ModelInfo;

use super::Encoded;
use super::LoadOptions;
use super::batcher::{BatchLimits, BatchModel, Batcher, ModelState, Priority, ThreadPlan};
use super::encoder::SentenceEncoder;
use super::precision::PrecisionChoice;
use super::tokenizer::{TextRole, TextTokenizer};
use crate::cache::embedding::{CacheKey, Claim, EmbeddingCache, Pending};
use crate::config::Loading;
use crate::error::{AppError, AppResult};

/// Embeddings of a list of texts, in order.
#[derive(Debug, Clone)]
pub struct Embeddings {
    /// One unit-length vector per text.
    pub vectors: Vec<Arc<[f32]>>,
    /// Whether each text was cut to the token budget.
    pub truncated: Vec<bool>,
    /// Tokens of each text after truncation (special tokens included).
    pub tokens: Vec<usize>,
    /// How many vectors came from the cache.
    pub cache_hits: usize,
}

/// A text for the encoder, and whether its token vectors are wanted too.
struct EmbedInput {
    encoded: Encoded,
    keep_tokens: bool,
}

/// An embedding, and the text's token vectors (int8-encoded) when they were wanted.
type EmbedOutput = (Vec<f32>, Option<Vec<u8>>);

/// The encoder as the batching worker runs it.
struct EncoderModel(SentenceEncoder);

impl BatchModel for EncoderModel {
    type Input = EmbedInput;
    type Output = EmbedOutput;

    fn length(input: &EmbedInput) -> usize {
        input.encoded.ids.len()
    }

    fn run(&mut self, batch: Vec<EmbedInput>) -> Result<Vec<EmbedOutput>, String> {
        let keep: Vec<bool> = batch.iter().map(|input| input.keep_tokens).collect();
        let encoded: Vec<Encoded> = batch.into_iter().map(|input| input.encoded).collect();
        let outputs = if keep.contains(&true) {
            let both = self.0.embed_with_tokens(&encoded);
            both.map(|rows| {
                rows.into_iter()
                    .zip(keep)
                    .map(|((vector, tokens), keep)| (vector, keep.then(|| tokens.to_int8_bytes())))
                    .collect()
            })
        } else {
            let vectors = self.0.embed(&encoded);
            vectors.map(|rows| rows.into_iter().map(|vector| (vector, None)).collect())
        };
        outputs.map_err(|e| e.to_string())
    }

    fn thread_plan(&self) -> Option<ThreadPlan> {
        self.0.precision().threads.as_ref().map(|t| t.plan)
    }
}

/// The texts of one [`Embedder::embed`] call as the model reads them, and how to run them.
struct Work<'a> {
    encoded: &'a [Encoded],
    priority: Priority,
    keep_tokens: bool,
}

/// Embeds texts through a two-level cache and a batching worker; cheap to clone.
#[derive(Clone)]
pub struct Embedder {
    name: &'static str,
    batcher: Batcher<EncoderModel>,
    tokenizer: Arc<TextTokenizer>,
    cache: Arc<EmbeddingCache>,
    info: Arc<ModelInfo>,
    precision: Arc<OnceLock<Arc<PrecisionChoice>>>,
    keeps_token_vectors: bool,
}

impl Embedder {
    /// Starts the worker `name` that loads the encoder in `dir` (when `loading` says) and
    /// runs it.
    pub fn load(
        name: &'static str,
        dir: &Path,
        options: LoadOptions,
        limits: BatchLimits,
        loading: Loading,
        cache: Arc<EmbeddingCache>,
    ) -> AppResult<Self> {
        let load_options = LoadOptions {
            batch_size: limits.max_batch_size,
            ..options
        };
        let unavailable = |e: super::InferenceError| {
            AppError::Unavailable(format!("cannot load encoder from {}: {e}", dir.display()))
        };
        let info = SentenceEncoder::describe(dir, &load_options).map_err(unavailable)?;
        let tokenizer = TextTokenizer::load(dir, info.max_length).map_err(unavailable)?;
        let model_dir = dir.to_path_buf();
        let precision = Arc::new(OnceLock::new());
        let chosen = precision.clone();
        let batcher = Batcher::start(name, limits, loading, move || {
            let encoder = SentenceEncoder::load(&model_dir, load_options)
                .map_err(|e| format!("cannot load encoder from {}: {e}", model_dir.display()))?;
            let _ = chosen.set(encoder.precision().clone());
            Ok(EncoderModel(encoder))
        })
        .map_err(AppError::Unavailable)?;
        Ok(Self {
            name,
            batcher,
            tokenizer: Arc::new(tokenizer),
            cache,
            info: Arc::new(info),
            precision,
            keeps_token_vectors: false,
        })
    }

    /// Makes passages embedded for ingestion (bulk work) also store their token vectors in
    /// the cache file, from the same forward pass, where a late-interaction reranker over
    /// this encoder cutting passages at `max_length` tokens finds them under its own key.
    /// Nothing is kept when that reranker would read other tokens (a role prefix, another
    /// budget) or the cache stores no token vectors.
    pub fn keep_token_vectors_for(mut self, max_length: usize) -> Self {
        self.keeps_token_vectors = self.cache.stores_token_vectors()
            && self.info.max_length == max_length
            && self.tokenizer.prefix(TextRole::Passage).is_empty();
        self
    }

    /// The worker's name (`encoder`, `swedish-encoder`), as logs and metrics label it.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The precision the encoder runs in and how it was chosen; `None` until it has loaded.
    pub fn precision(&self) -> Option<&PrecisionChoice> {
        self.precision.get().map(|choice| &**choice)
    }

    /// What the encoder is.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// The encoder's tokenizer, to measure text the way the encoder reads it.
    pub fn tokenizer(&self) -> &Arc<TextTokenizer> {
        &self.tokenizer
    }

    /// The worker's queue depth and counters.
    pub fn batcher_stats(&self) -> (usize, &super::batcher::BatchStats) {
        (self.batcher.queue_depth(), self.batcher.stats())
    }

    /// Whether the model worker still runs.
    pub fn is_running(&self) -> bool {
        self.batcher.is_running()
    }

    /// Where the encoder's weights are: not loaded yet, loading, loaded or failed.
    pub fn model_state(&self) -> ModelState {
        self.batcher.model_state()
    }

    /// Blocks until every queued write of the embedding cache is on disk.
    pub fn flush_cache(&self) {
        self.cache.flush();
    }

    /// Hit and miss counters of the embedding cache.
    pub fn cache_stats(&self) -> crate::cache::embedding::CacheStats {
        self.cache.stats()
    }

    /// Embeds `texts` of `role` (questions or passages; it matters to models trained with
    /// role prefixes): memory cache, then disk cache, then the model for the rest. The cache
    /// key is the text the model reads, role prefix included.
    pub async fn embed(
        &self,
        texts: &[String],
        role: TextRole,
        priority: Priority,
    ) -> AppResult<Embeddings> {
        let encoded = self.tokenize(texts, role).await?;
        let prefix = self.tokenizer.prefix(role);
        let keys: Vec<CacheKey> = texts
            .iter()
            .map(|t| {
                let read = match prefix {
                    "" => std::borrow::Cow::Borrowed(t.as_str()),
                    prefix => format!("{prefix}{t}").into(),
                };
                CacheKey::new(&self.info.model_id, self.info.max_length, &read)
            })
            .collect();
        let mut vectors: Vec<Option<Arc<[f32]>>> =
            keys.iter().map(|k| self.cache.get_memory(k)).collect();
        let missing: Vec<usize> = (0..texts.len()).filter(|&i| vectors[i].is_none()).collect();
        if !missing.is_empty() {
            let cache = self.cache.clone();
            let missing_keys: Vec<CacheKey> = missing.iter().map(|&i| keys[i]).collect();
            let from_disk = tokio::task::spawn_blocking(move || cache.get_many(&missing_keys))
                .await
                .map_err(|e| AppError::Internal(format!("cache task: {e}")))?;
            for (&i, found) in missing.iter().zip(from_disk) {
                vectors[i] = found;
            }
        }
        let cache_hits = vectors.iter().filter(|v| v.is_some()).count();
        // Texts missing from both levels: each is computed by one caller, and callers asking
        // for it meanwhile wait for that result instead of computing it again.
        let mut mine = Vec::new();
        let mut theirs = Vec::new();
        let to_compute: Vec<usize> = (0..texts.len()).filter(|&i| vectors[i].is_none()).collect();
        for i in to_compute {
            match self.cache.claim(keys[i]) {
                Claim::Found(vector) => vectors[i] = Some(vector),
                Claim::Mine(pending) => mine.push((i, pending)),
                Claim::Theirs => theirs.push(i),
            }
        }
        let keep_tokens =
            self.keeps_token_vectors && role == TextRole::Passage && priority == Priority::Bulk;
        let work = Work {
            encoded: &encoded,
            priority,
            keep_tokens,
        };
        self.compute(mine, &work, &mut vectors).await?;
        for i in theirs {
            match self.cache.wait_for(keys[i]).await {
                Ok(vector) => vectors[i] = Some(vector),
                Err(pending) => {
                    self.compute(vec![(i, pending)], &work, &mut vectors)
                        .await?;
                }
            }
        }
        Ok(Embeddings {
            vectors: vectors.into_iter().flatten().collect(),
            truncated: encoded.iter().map(|e| e.truncated).collect(),
            tokens: encoded.iter().map(|e| e.ids.len()).collect(),
            cache_hits,
        })
    }

    /// Runs the model on the claimed texts (`(index, claim)` into `work.encoded`) and stores
    /// each vector (and the token vectors, when kept) in the cache and in `vectors`.
    async fn compute(
        &self,
        claimed: Vec<(usize, Pending<'_>)>,
        work: &Work<'_>,
        vectors: &mut [Option<Arc<[f32]>>],
    ) -> AppResult<()> {
        if claimed.is_empty() {
            return Ok(());
        }
        let inputs = claimed
            .iter()
            .map(|(i, _)| EmbedInput {
                encoded: work.encoded[*i].clone(),
                keep_tokens: work.keep_tokens,
            })
            .collect();
        let computed = self.batcher.submit(inputs, work.priority).await?;
        for ((i, pending), (vector, tokens)) in claimed.into_iter().zip(computed) {
            if let Some(tokens) = tokens {
                self.cache.put_token_vectors(pending.key(), tokens);
            }
            let vector: Arc<[f32]> = vector.into();
            self.cache.fulfil(pending, vector.clone());
            vectors[i] = Some(vector);
        }
        Ok(())
    }

    /// Tokenizes on the caller's thread for a few texts, on the blocking pool for many.
    async fn tokenize(&self, texts: &[String], role: TextRole) -> AppResult<Vec<Encoded>> {
        const INLINE: usize = 4;
        let encode =
            move |tokenizer: &TextTokenizer, texts: &[String]| -> AppResult<Vec<Encoded>> {
                texts
                    .iter()
                    .map(|t| {
                        tokenizer
                            .encode_as(t, role)
                            .map_err(|e| AppError::invalid("tokenization_failed", e))
                    })
                    .collect()
            };
        if texts.len() <= INLINE {
            return encode(&self.tokenizer, texts);
        }
        let tokenizer = self.tokenizer.clone();
        let texts = texts.to_vec();
        tokio::task::spawn_blocking(move || encode(&tokenizer, &texts))
            .await
            .map_err(|e| AppError::Internal(format!("tokenizer task: {e}")))?
    }
}
