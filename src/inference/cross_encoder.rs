//! Cross-encoder reranking: `BertForSequenceClassification` /
//! `XLMRobertaForSequenceClassification` checkpoints scoring (query, passage) pairs.

use std::path::Path;
use std::sync::Arc;

use tch::{Device, Kind, Tensor};

use super::Encoded;
use super::bert::{Bert, BertInput, Linear, Weights};
use super::precision::PrecisionChoice;
use super::tokenizer::TextTokenizer;
use super::{Backbone, InferenceError, LoadOptions, in_length_batches};

type Result<T> = std::result::Result<T, InferenceError>;

/// The relevance of one passage to the query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairScore {
    /// The model's raw logit (higher is more relevant; `sigmoid` maps it to [0, 1]).
    pub logit: f32,
    /// Whether the pair was cut to fit the token budget.
    pub truncated: bool,
}

/// A sequence-classification model with a single output, used as a reranker.
/// `Send` but not `Sync` (libtorch tensors): share it behind a `Mutex`.
pub struct CrossEncoder {
    bert: Bert,
    head: ClassificationHead,
    tokenizer: TextTokenizer,
    pad_id: i64,
    options: LoadOptions,
    precision: Arc<PrecisionChoice>,
}

impl CrossEncoder {
    /// Loads a model directory (`config.json`, `model.safetensors`, `tokenizer.json`). Without
    /// `options.max_length` the token budget is the model's position limit. It is not probed
    /// yet: `auto` precision is bf16 on a GPU and f32 on the CPU.
    pub fn load(dir: &Path, options: LoadOptions) -> Result<Self> {
        let precision = PrecisionChoice::without_probe(options.precision, options.device);
        precision.log(dir);
        let mut backbone = Backbone::load(dir, &options, precision.precision, None)?;
        let head = ClassificationHead::load(&mut backbone.rest, backbone.config.is_roberta()?)?;
        let labels = backbone.config.num_labels();
        if head.out.out_features() != labels || labels != 1 {
            return Err(InferenceError::Unsupported(format!(
                "need one label; config says {labels}, classifier has {}",
                head.out.out_features()
            )));
        }
        Ok(Self {
            bert: backbone.bert,
            head,
            tokenizer: backbone.tokenizer,
            pad_id: backbone.config.pad_token_id,
            options,
            precision: Arc::new(precision),
        })
    }

    /// The precision it runs in and how that was chosen.
    pub fn precision(&self) -> &Arc<PrecisionChoice> {
        &self.precision
    }

    /// The tokenizer whose pair encodings [`Self::score_encoded`] expects.
    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }

    /// Token budget per (query, passage) pair, special tokens included.
    pub fn max_length(&self) -> usize {
        self.tokenizer.max_length()
    }

    /// Scores every passage against `query`, in passage order.
    pub fn score(&self, query: &str, passages: &[&str]) -> Result<Vec<PairScore>> {
        let pairs = passages
            .iter()
            .map(|passage| self.tokenizer.encode_pair(query, passage))
            .collect::<Result<Vec<_>>>()?;
        let logits = self.score_encoded(&pairs)?;
        Ok(pairs
            .iter()
            .zip(logits)
            .map(|(pair, logit)| PairScore {
                logit,
                truncated: pair.truncated,
            })
            .collect())
    }

    /// One logit per encoded pair, in input order, batched by similar length.
    pub fn score_encoded(&self, pairs: &[Encoded]) -> Result<Vec<f32>> {
        in_length_batches(pairs, self.options.batch_size, |batch| {
            let _no_grad = tch::no_grad_guard();
            let input = BertInput::pad(batch, self.pad_id, self.options.device)?;
            let logits = self.head.forward(&self.bert.forward(&input)?)?;
            let logits = logits.f_to_kind(Kind::Float)?.f_flatten(0, -1)?;
            Ok(Vec::<f32>::try_from(&logits.f_to_device(Device::Cpu)?)?)
        })
    }
}

/// `out(tanh(dense(h₀)))` on the first token: BERT's pooler + classifier, or RoBERTa's
/// classification head (same arithmetic, different weight names).
struct ClassificationHead {
    dense: Linear,
    out: Linear,
}

impl ClassificationHead {
    fn load(weights: &mut Weights, roberta: bool) -> Result<Self> {
        let (dense, out) = if roberta {
            ("classifier.dense", "classifier.out_proj")
        } else {
            ("pooler.dense", "classifier")
        };
        Ok(Self {
            dense: Linear::load(weights, dense)?,
            out: Linear::load(weights, out)?,
        })
    }

    /// `hidden`: [batch, tokens, hidden] → logits [batch, labels].
    fn forward(&self, hidden: &Tensor) -> Result<Tensor> {
        let first = hidden.f_select(1, 0)?;
        self.out.forward(&self.dense.forward(&first)?.f_tanh()?)
    }
}
