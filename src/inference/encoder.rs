//! Sentence embeddings (sentence-transformers style: mean pooling, L2 normalisation) and
//! per-token vectors for late-interaction (MaxSim) scoring.

use std::path::Path;
use std::sync::Arc;

use tch::{Device, Kind, Tensor};

use super::bert::{Bert, BertInput};
use super::cosine_scale::CosineScale;
use super::precision::{PrecisionChoice, Probed, load_with_precision};
use super::tokenizer::TextTokenizer;
use super::{
    Backbone, Encoded, InferenceError, LoadOptions, in_length_batches, model_config, read_json,
    token_budget,
};
use crate::config::Precision;
use crate::retrieval::kernels::dot_f32;

type Result<T> = std::result::Result<T, InferenceError>;

/// What an encoder is, known from its files before its weights are loaded.
#[derive(Debug, Clone)]
pub struct ModelInfo {
    /// Directory name plus a hash of the weights.
    pub model_id: String,
    /// Embedding length.
    pub dimension: usize,
    /// Token budget per text, special tokens included.
    pub max_length: usize,
    /// Where its cosines fall: the cut-offs of relevance and support.
    pub cosine_scale: CosineScale,
}

/// A sentence-transformers bi-encoder (BERT or XLM-R backbone with mean pooling).
/// `Send` but not `Sync` (libtorch tensors): share it behind a `Mutex`.
pub struct SentenceEncoder {
    bert: Bert,
    tokenizer: TextTokenizer,
    pad_id: i64,
    dimension: usize,
    options: LoadOptions,
    model_id: String,
    precision: Arc<PrecisionChoice>,
}

impl SentenceEncoder {
    /// Loads a sentence-transformers model directory in `options.precision`; `auto` runs the
    /// precision probe (see [`super::precision`]). Without `options.max_length` the token
    /// budget is `sentence_bert_config.json`'s `max_seq_length`, else the model's limit.
    pub fn load(dir: &Path, options: LoadOptions) -> Result<Self> {
        check_mean_pooling(dir)?;
        options.apply_threads()?;
        let (max_length, model_id) = (sentence_max_length(dir)?, model_id(dir)?);
        let load = |precision: Precision| -> Result<Self> {
            let backbone = Backbone::load(dir, &options, precision, max_length)?;
            Ok(Self {
                dimension: usize::try_from(backbone.config.hidden_size)
                    .map_err(|_| InferenceError::Unsupported("negative hidden_size".into()))?,
                pad_id: backbone.config.pad_token_id,
                bert: backbone.bert,
                tokenizer: backbone.tokenizer,
                options,
                model_id: model_id.clone(),
                precision: Arc::new(PrecisionChoice::unprobed(
                    precision,
                    super::precision::ChosenBy::Configuration,
                )),
            })
        };
        let (encoder, precision) = load_with_precision(
            dir,
            options.precision,
            options.device,
            (options.threads, options.bulk_threads),
            load,
        )?;
        Ok(Self {
            precision,
            ..encoder
        })
    }

    /// The precision it runs in and how that was chosen.
    pub fn precision(&self) -> &Arc<PrecisionChoice> {
        &self.precision
    }

    /// What [`Self::load`] with the same arguments gives, read from `dir`'s configuration
    /// without loading the weights (they are hashed for the model id).
    pub fn describe(dir: &Path, options: &LoadOptions) -> Result<ModelInfo> {
        check_mean_pooling(dir)?;
        let config = model_config(dir)?;
        let model_id = model_id(dir)?;
        Ok(ModelInfo {
            cosine_scale: CosineScale::of(&model_id),
            model_id,
            dimension: usize::try_from(config.hidden_size)
                .map_err(|_| InferenceError::Unsupported("negative hidden_size".into()))?,
            max_length: token_budget(&config, options, sentence_max_length(dir)?)?,
        })
    }

    /// The tokenizer whose output [`Self::embed`] expects.
    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }

    /// Directory name plus a BLAKE3 prefix of the weights file: changes with the weights.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// Length of every embedding.
    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// Token budget per input, special tokens included.
    pub fn max_length(&self) -> usize {
        self.tokenizer.max_length()
    }

    /// One unit-length f32 embedding per input, in input order. Inputs run in batches of
    /// `batch_size` similar-length inputs, each padded to its longest.
    pub fn embed(&self, inputs: &[Encoded]) -> Result<Vec<Vec<f32>>> {
        in_length_batches(inputs, self.options.batch_size, |batch| {
            self.embed_batch(batch)
        })
    }

    /// Embeddings of one batch, run in one forward pass.
    fn embed_batch(&self, batch: &[&Encoded]) -> Result<Vec<Vec<f32>>> {
        let (hidden, mask) = self.hidden_states(batch)?;
        self.pooled_rows(&hidden, &mask)
    }

    /// Unit-length f32 vectors for every real (non-padding) token of each input, special
    /// tokens included.
    pub fn token_embeddings(&self, inputs: &[Encoded]) -> Result<Vec<TokenVectors>> {
        in_length_batches(inputs, self.options.batch_size, |batch| {
            let (hidden, _) = self.hidden_states(batch)?;
            self.token_rows(batch, &hidden)
        })
    }

    /// [`Self::embed`] and [`Self::token_embeddings`] of every input from the same forward
    /// passes: what ingestion keeps for a late-interaction reranker over this encoder.
    pub fn embed_with_tokens(&self, inputs: &[Encoded]) -> Result<Vec<(Vec<f32>, TokenVectors)>> {
        in_length_batches(inputs, self.options.batch_size, |batch| {
            let (hidden, mask) = self.hidden_states(batch)?;
            let pooled = self.pooled_rows(&hidden, &mask)?;
            Ok(pooled
                .into_iter()
                .zip(self.token_rows(batch, &hidden)?)
                .collect())
        })
    }

    /// The unit-length mean of each input's hidden states.
    fn pooled_rows(&self, hidden: &Tensor, mask: &Tensor) -> Result<Vec<Vec<f32>>> {
        let rows = to_vec(&l2_normalize(&mean_pool(hidden, mask)?)?)?;
        Ok(rows.chunks(self.dimension).map(<[f32]>::to_vec).collect())
    }

    /// Each input's hidden states at its real tokens, each made unit-length.
    fn token_rows(&self, batch: &[&Encoded], hidden: &Tensor) -> Result<Vec<TokenVectors>> {
        let values = to_vec(&l2_normalize(hidden)?)?;
        let width = hidden.size()[1] as usize * self.dimension;
        let rows = batch.iter().zip(values.chunks(width));
        Ok(rows
            .map(|(input, row)| TokenVectors {
                dimension: self.dimension,
                values: row[..input.ids.len() * self.dimension].to_vec(),
            })
            .collect())
    }

    /// Final hidden states in f32 and the padding mask as [batch, tokens, 1] f32.
    fn hidden_states(&self, batch: &[&Encoded]) -> Result<(Tensor, Tensor)> {
        let _no_grad = tch::no_grad_guard();
        let input = BertInput::pad(batch, self.pad_id, self.options.device)?;
        let hidden = self.bert.forward(&input)?.f_to_kind(Kind::Float)?;
        let mask = input.mask.f_unsqueeze(-1)?.f_to_kind(Kind::Float)?;
        Ok((hidden, mask))
    }
}

impl Probed for SentenceEncoder {
    fn probe_outputs(&self, inputs: &[Encoded]) -> Result<Vec<Vec<f32>>> {
        self.embed_batch(&inputs.iter().collect::<Vec<_>>())
    }
}

/// The unit-length vectors of one text's tokens, row after row.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenVectors {
    dimension: usize,
    values: Vec<f32>,
}

impl TokenVectors {
    /// Wraps `values` read back from storage; `None` unless they split into rows of `dimension`.
    pub fn from_flat(dimension: usize, values: Vec<f32>) -> Option<Self> {
        (dimension > 0 && values.len().is_multiple_of(dimension))
            .then_some(Self { dimension, values })
    }

    /// All rows concatenated.
    pub fn as_flat(&self) -> &[f32] {
        &self.values
    }

    /// Length of each row.
    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.values.len() / self.dimension
    }

    /// Whether there are no tokens.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// One vector per token.
    pub fn rows(&self) -> impl Iterator<Item = &[f32]> {
        self.values.chunks_exact(self.dimension)
    }

    /// The rows in a quarter of the space, for storage: per row its largest magnitude as a
    /// little-endian `f32`, then each value as the nearest of 255 steps of it (`i8`).
    pub fn to_int8_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.len() * (4 + self.dimension));
        for row in self.rows() {
            let largest = row.iter().fold(0f32, |m, v| m.max(v.abs()));
            bytes.extend_from_slice(&largest.to_le_bytes());
            let step = if largest > 0.0 { largest / 127.0 } else { 1.0 };
            bytes.extend(row.iter().map(|v| (v / step).round() as i8 as u8));
        }
        bytes
    }

    /// Rows of `dimension` read back from [`Self::to_int8_bytes`], each made unit-length
    /// again; `None` unless `bytes` split into such rows.
    pub fn from_int8_bytes(dimension: usize, bytes: &[u8]) -> Option<Self> {
        let stride = 4 + dimension;
        if dimension == 0 || !bytes.len().is_multiple_of(stride) {
            return None;
        }
        let mut values = Vec::with_capacity(bytes.len() / stride * dimension);
        for row in bytes.chunks_exact(stride) {
            let (largest, steps) = row.split_at(4);
            let largest = f32::from_le_bytes(largest.try_into().expect("four bytes"));
            let start = values.len();
            values.extend(steps.iter().map(|&q| f32::from(q as i8) * largest / 127.0));
            let norm = values[start..].iter().map(|v| v * v).sum::<f32>().sqrt();
            if norm > 0.0 {
                values[start..].iter_mut().for_each(|v| *v /= norm);
            }
        }
        Some(Self { dimension, values })
    }
}

/// Late-interaction relevance: for each query token its best cosine against the document's
/// tokens, averaged over the query tokens (so in [-1, 1]); 0 when either side is empty.
pub fn max_sim(query: &TokenVectors, doc: &TokenVectors) -> f32 {
    if query.is_empty() || doc.is_empty() {
        return 0.0;
    }
    let best = |q: &[f32]| {
        doc.rows()
            .map(|d| dot_f32(q, d))
            .fold(f32::NEG_INFINITY, f32::max)
    };
    query.rows().map(best).sum::<f32>() / query.len() as f32
}

/// Average of the hidden states [batch, tokens, hidden] over the real tokens of `mask`
/// [batch, tokens, 1].
fn mean_pool(hidden: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let sum = hidden
        .f_mul(mask)?
        .f_sum_dim_intlist(1, false, Kind::Float)?;
    let count = mask
        .f_sum_dim_intlist(1, false, Kind::Float)?
        .f_clamp_min(1e-9)?;
    Ok(sum.f_div(&count)?)
}

/// Divides the last dimension by its L2 norm (floored at 1e-12, as `F.normalize`).
fn l2_normalize(x: &Tensor) -> Result<Tensor> {
    let norm = x.f_norm_scalaropt_dim(2, -1, true)?.f_clamp_min(1e-12)?;
    Ok(x.f_div(&norm)?)
}

/// Copies an f32 tensor to a flat host vector.
fn to_vec(x: &Tensor) -> Result<Vec<f32>> {
    let flat = x.f_flatten(0, -1)?.f_to_device(Device::Cpu)?;
    Ok(Vec::<f32>::try_from(&flat)?)
}

/// Rejects sentence-transformers models whose pooling is not mean-of-tokens.
fn check_mean_pooling(dir: &Path) -> Result<()> {
    let path = dir.join("1_Pooling/config.json");
    if !path.exists() {
        return Ok(());
    }
    let config: serde_json::Map<String, serde_json::Value> = read_json(&path)?;
    let modes: Vec<&str> = config
        .iter()
        .filter(|(key, value)| key.starts_with("pooling_mode_") && value.as_bool() == Some(true))
        .map(|(key, _)| key.as_str())
        .collect();
    if modes != ["pooling_mode_mean_tokens"] {
        return Err(InferenceError::Unsupported(format!("pooling {modes:?}")));
    }
    Ok(())
}

/// `max_seq_length` from `sentence_bert_config.json`, if present.
fn sentence_max_length(dir: &Path) -> Result<Option<usize>> {
    #[derive(serde::Deserialize)]
    struct SentenceBertConfig {
        max_seq_length: Option<usize>,
    }
    let path = dir.join("sentence_bert_config.json");
    if !path.exists() {
        return Ok(None);
    }
    Ok(read_json::<SentenceBertConfig>(&path)?.max_seq_length)
}

/// `<directory name>-<first 12 hex digits of BLAKE3(weights file)>`.
fn model_id(dir: &Path) -> Result<String> {
    let path = super::weights_file(dir);
    let io_error = |source| InferenceError::Io {
        path: path.clone(),
        source,
    };
    let mut hasher = blake3::Hasher::new();
    let file = std::fs::File::open(&path).map_err(io_error)?;
    hasher.update_reader(file).map_err(io_error)?;
    let name = dir
        .file_name()
        .map_or("model".into(), |n| n.to_string_lossy());
    Ok(format!("{name}-{}", &hasher.finalize().to_hex()[..12]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unit rows of `dimension` from a fixed pseudo-random sequence.
    fn unit_rows(tokens: usize, dimension: usize, seed: u32) -> TokenVectors {
        let mut state = seed;
        let mut values = Vec::with_capacity(tokens * dimension);
        for _ in 0..tokens {
            let row: Vec<f32> = (0..dimension)
                .map(|_| {
                    state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5
                })
                .collect();
            let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
            values.extend(row.iter().map(|v| v / norm));
        }
        TokenVectors::from_flat(dimension, values).unwrap()
    }

    #[test]
    fn int8_rows_keep_max_sim_within_a_thousandth() {
        let (query, passage) = (unit_rows(12, 384, 1), unit_rows(200, 384, 2));
        let bytes = passage.to_int8_bytes();
        assert_eq!(bytes.len(), 200 * (4 + 384));
        let stored = TokenVectors::from_int8_bytes(384, &bytes).unwrap();
        assert_eq!((stored.len(), stored.dimension()), (200, 384));
        for row in stored.rows() {
            let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5, "{norm}");
        }
        let (exact, approximate) = (max_sim(&query, &passage), max_sim(&query, &stored));
        assert!(
            (exact - approximate).abs() < 1e-3,
            "{exact} vs {approximate}"
        );
    }

    #[test]
    fn int8_bytes_that_do_not_split_into_rows_are_refused() {
        let bytes = unit_rows(3, 8, 3).to_int8_bytes();
        assert!(TokenVectors::from_int8_bytes(8, &bytes[..bytes.len() - 1]).is_none());
        assert!(TokenVectors::from_int8_bytes(0, &bytes).is_none());
        let zero = TokenVectors::from_flat(4, vec![0.0; 4]).unwrap();
        let read = TokenVectors::from_int8_bytes(4, &zero.to_int8_bytes()).unwrap();
        assert_eq!(read.as_flat(), [0.0; 4]);
        assert!(TokenVectors::from_int8_bytes(8, &[]).unwrap().is_empty());
    }
}
