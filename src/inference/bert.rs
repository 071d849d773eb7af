//! The BERT encoder (Devlin et al., 2019) and its XLM-RoBERTa variant, on libtorch.
//!
//! `embeddings → N × [self-attention → add & norm → feed-forward → add & norm]`, post-norm as
//! in the paper. XLM-R differs only in its position ids (counted from `pad_token_id + 1`,
//! padding skipped) and its single token type.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Deserialize;
use tch::{Device, Kind, Tensor};

use super::Encoded;
use super::InferenceError;

type Result<T> = std::result::Result<T, InferenceError>;

/// The fields of a Hugging Face `config.json` that the network needs.
#[derive(Debug, Clone, Deserialize)]
pub struct BertConfig {
    /// `bert`, or `xlm-roberta` / `roberta` / `camembert` for the RoBERTa family.
    pub model_type: String,
    /// Width of every hidden state.
    pub hidden_size: i64,
    /// Number of encoder layers.
    pub num_hidden_layers: usize,
    /// Attention heads per layer.
    pub num_attention_heads: i64,
    /// Width of the feed-forward layer.
    pub intermediate_size: i64,
    /// Rows of the position embedding table.
    pub max_position_embeddings: i64,
    /// Rows of the token-type embedding table (1 for XLM-R).
    #[serde(default = "default_type_vocab_size")]
    pub type_vocab_size: i64,
    /// Epsilon of every LayerNorm.
    #[serde(default = "default_layer_norm_eps")]
    pub layer_norm_eps: f64,
    /// Feed-forward activation: `gelu`, `gelu_new`, `gelu_pytorch_tanh` or `relu`.
    #[serde(default = "default_hidden_act")]
    pub hidden_act: String,
    /// Only `absolute` is supported.
    #[serde(default = "default_position_embedding_type")]
    pub position_embedding_type: String,
    /// Id of the padding token.
    #[serde(default)]
    pub pad_token_id: i64,
    /// Classifier outputs, when stated explicitly.
    #[serde(default)]
    pub num_labels: Option<i64>,
    /// Classifier label names by output index.
    #[serde(default)]
    pub id2label: Option<BTreeMap<String, String>>,
}

fn default_type_vocab_size() -> i64 {
    2
}

fn default_layer_norm_eps() -> f64 {
    1e-12
}

fn default_hidden_act() -> String {
    "gelu".into()
}

fn default_position_embedding_type() -> String {
    "absolute".into()
}

impl BertConfig {
    /// Whether the model uses RoBERTa position ids and classification head.
    pub fn is_roberta(&self) -> Result<bool> {
        match self.model_type.as_str() {
            "bert" => Ok(false),
            "xlm-roberta" | "roberta" | "camembert" => Ok(true),
            other => Err(InferenceError::Unsupported(format!("model_type {other:?}"))),
        }
    }

    /// Classifier outputs: `num_labels`, else the size of `id2label`, else transformers' 2.
    pub fn num_labels(&self) -> i64 {
        self.num_labels
            .or_else(|| self.id2label.as_ref().map(|m| m.len() as i64))
            .unwrap_or(2)
    }

    /// The longest input (special tokens included) the position table can hold.
    pub fn max_input_length(&self) -> Result<usize> {
        let offset = if self.is_roberta()? {
            self.pad_token_id + 1
        } else {
            0
        };
        usize::try_from(self.max_position_embeddings - offset)
            .map_err(|_| InferenceError::Unsupported("no room for positions".into()))
    }
}

/// The tensors of `model.safetensors`, keyed without any `bert.` / `roberta.` prefix and
/// moved to the target device and kind as they are taken.
pub struct Weights {
    tensors: HashMap<String, Tensor>,
    device: Device,
    kind: Kind,
}

impl Weights {
    /// Reads a safetensors file; tensors are converted to `device` and `kind` on [`Self::take`].
    pub fn load(path: &Path, device: Device, kind: Kind) -> Result<Self> {
        let tensors = Tensor::read_safetensors(path)?
            .into_iter()
            .map(|(name, tensor)| (strip_prefix(name), tensor))
            .collect();
        Ok(Self {
            tensors,
            device,
            kind,
        })
    }

    /// Wraps tensors already named as [`Self::load`] names them (no `bert.` prefix).
    pub fn from_tensors(tensors: HashMap<String, Tensor>, device: Device, kind: Kind) -> Self {
        Self {
            tensors,
            device,
            kind,
        }
    }

    /// Removes the tensor `name` and returns it on the target device and kind.
    pub fn take(&mut self, name: &str) -> Result<Tensor> {
        let tensor = self
            .tensors
            .remove(name)
            .ok_or_else(|| InferenceError::Unsupported(format!("missing weight {name:?}")))?;
        Ok(tensor.f_to_device_(self.device, self.kind, false, false)?)
    }
}

fn strip_prefix(name: String) -> String {
    match ["bert.", "roberta."]
        .iter()
        .find_map(|p| name.strip_prefix(p))
    {
        Some(rest) => rest.to_owned(),
        None => name,
    }
}

/// `x Wᵀ + b`.
pub struct Linear {
    weight: Tensor,
    bias: Tensor,
}

impl Linear {
    /// Takes `{prefix}.weight` and `{prefix}.bias`.
    pub fn load(weights: &mut Weights, prefix: &str) -> Result<Self> {
        Ok(Self {
            weight: weights.take(&format!("{prefix}.weight"))?,
            bias: weights.take(&format!("{prefix}.bias"))?,
        })
    }

    /// One layer computing the outputs of `parts` side by side (e.g. query, key and value
    /// projections fused into a single matrix product).
    fn concatenated(parts: &[Linear]) -> Result<Self> {
        let weights: Vec<&Tensor> = parts.iter().map(|p| &p.weight).collect();
        let biases: Vec<&Tensor> = parts.iter().map(|p| &p.bias).collect();
        Ok(Self {
            weight: Tensor::f_cat(&weights, 0)?,
            bias: Tensor::f_cat(&biases, 0)?,
        })
    }

    /// Applies the layer to the last dimension of `x`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.f_linear(&self.weight, Some(&self.bias))?)
    }

    /// Number of outputs.
    pub fn out_features(&self) -> i64 {
        self.weight.size()[0]
    }
}

struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm {
    fn load(weights: &mut Weights, prefix: &str, eps: f64) -> Result<Self> {
        Ok(Self {
            weight: weights.take(&format!("{prefix}.weight"))?,
            bias: weights.take(&format!("{prefix}.bias"))?,
            eps,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let width = self.weight.size();
        Ok(x.f_layer_norm(width, Some(&self.weight), Some(&self.bias), self.eps, true)?)
    }
}

/// How position ids are derived from the input ids.
enum Positions {
    /// BERT: 0, 1, 2, … for every row.
    Absolute,
    /// RoBERTa: `cumsum(mask) · mask + pad`, so real tokens count from `pad + 1`.
    AfterPadding { pad: i64 },
}

impl Positions {
    fn ids(&self, input_ids: &Tensor) -> Result<Tensor> {
        match *self {
            Self::Absolute => {
                let length = input_ids.size()[1];
                Ok(Tensor::f_arange(length, (Kind::Int64, input_ids.device()))?.f_unsqueeze(0)?)
            }
            Self::AfterPadding { pad } => {
                let mask = input_ids.f_ne(pad)?.f_to_kind(Kind::Int64)?;
                Ok(mask
                    .f_cumsum(1, Kind::Int64)?
                    .f_mul(&mask)?
                    .f_add_scalar(pad)?)
            }
        }
    }
}

/// Word + position + token-type embeddings, then LayerNorm.
struct Embeddings {
    words: Tensor,
    positions: Tensor,
    token_types: Tensor,
    position_ids: Positions,
    norm: LayerNorm,
}

impl Embeddings {
    fn load(weights: &mut Weights, config: &BertConfig) -> Result<Self> {
        let position_ids = if config.is_roberta()? {
            Positions::AfterPadding {
                pad: config.pad_token_id,
            }
        } else {
            Positions::Absolute
        };
        Ok(Self {
            words: weights.take("embeddings.word_embeddings.weight")?,
            positions: weights.take("embeddings.position_embeddings.weight")?,
            token_types: weights.take("embeddings.token_type_embeddings.weight")?,
            position_ids,
            norm: LayerNorm::load(weights, "embeddings.LayerNorm", config.layer_norm_eps)?,
        })
    }

    fn forward(&self, input_ids: &Tensor, type_ids: &Tensor) -> Result<Tensor> {
        let lookup =
            |table: &Tensor, ids: &Tensor| Tensor::f_embedding(table, ids, -1, false, false);
        let token_types = if self.token_types.size()[0] == 1 {
            self.token_types.f_get(0)?
        } else {
            lookup(&self.token_types, type_ids)?
        };
        let sum = lookup(&self.words, input_ids)?
            .f_add(&lookup(
                &self.positions,
                &self.position_ids.ids(input_ids)?,
            )?)?
            .f_add(&token_types)?;
        self.norm.forward(&sum)
    }
}

/// Multi-head self-attention with its output projection, residual and LayerNorm.
struct SelfAttention {
    /// Query, key and value projections as one `[3 · hidden, hidden]` layer.
    query_key_value: Linear,
    output: Linear,
    norm: LayerNorm,
    heads: i64,
}

impl SelfAttention {
    fn load(weights: &mut Weights, prefix: &str, config: &BertConfig) -> Result<Self> {
        if config.num_attention_heads <= 0 || config.hidden_size % config.num_attention_heads != 0 {
            return Err(InferenceError::Unsupported(format!(
                "hidden_size {} is not a multiple of {} heads",
                config.hidden_size, config.num_attention_heads
            )));
        }
        Ok(Self {
            query_key_value: Linear::concatenated(&[
                Linear::load(weights, &format!("{prefix}.self.query"))?,
                Linear::load(weights, &format!("{prefix}.self.key"))?,
                Linear::load(weights, &format!("{prefix}.self.value"))?,
            ])?,
            output: Linear::load(weights, &format!("{prefix}.output.dense"))?,
            norm: LayerNorm::load(
                weights,
                &format!("{prefix}.output.LayerNorm"),
                config.layer_norm_eps,
            )?,
            heads: config.num_attention_heads,
        })
    }

    /// `x`: [batch, tokens, hidden]; `bias`: additive mask broadcastable to
    /// [batch, heads, tokens, tokens].
    fn forward(&self, x: &Tensor, bias: &Tensor) -> Result<Tensor> {
        let (batch, tokens, hidden) = x.size3()?;
        // [batch, tokens, 3 · hidden] → three [batch, heads, tokens, head_dim] views.
        let projected = self
            .query_key_value
            .forward(x)?
            .f_view([batch, tokens, 3, self.heads, -1])?
            .f_permute([2, 0, 3, 1, 4])?;
        let (query, key, value) = (
            projected.f_get(0)?,
            projected.f_get(1)?,
            projected.f_get(2)?,
        );
        let context = Tensor::f_scaled_dot_product_attention(
            &query,
            &key,
            &value,
            Some(bias),
            0.0,
            false,
            None::<f64>,
            false,
        )?
        .f_transpose(1, 2)?
        .f_reshape([batch, tokens, hidden])?;
        self.norm.forward(&self.output.forward(&context)?.f_add(x)?)
    }
}

/// Feed-forward activation.
enum Activation {
    Gelu,
    GeluTanh,
    Relu,
}

impl Activation {
    fn parse(name: &str) -> Result<Self> {
        match name {
            "gelu" => Ok(Self::Gelu),
            "gelu_new" | "gelu_pytorch_tanh" => Ok(Self::GeluTanh),
            "relu" => Ok(Self::Relu),
            other => Err(InferenceError::Unsupported(format!("hidden_act {other:?}"))),
        }
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Self::Gelu => x.f_gelu("none")?,
            Self::GeluTanh => x.f_gelu("tanh")?,
            Self::Relu => x.f_relu()?,
        })
    }
}

/// Position-wise feed-forward network with residual and LayerNorm.
struct FeedForward {
    intermediate: Linear,
    activation: Activation,
    output: Linear,
    norm: LayerNorm,
}

impl FeedForward {
    fn load(weights: &mut Weights, prefix: &str, config: &BertConfig) -> Result<Self> {
        Ok(Self {
            intermediate: Linear::load(weights, &format!("{prefix}.intermediate.dense"))?,
            activation: Activation::parse(&config.hidden_act)?,
            output: Linear::load(weights, &format!("{prefix}.output.dense"))?,
            norm: LayerNorm::load(
                weights,
                &format!("{prefix}.output.LayerNorm"),
                config.layer_norm_eps,
            )?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let inner = self.activation.forward(&self.intermediate.forward(x)?)?;
        self.norm.forward(&self.output.forward(&inner)?.f_add(x)?)
    }
}

struct EncoderLayer {
    attention: SelfAttention,
    feed_forward: FeedForward,
}

impl EncoderLayer {
    fn load(weights: &mut Weights, index: usize, config: &BertConfig) -> Result<Self> {
        let prefix = format!("encoder.layer.{index}");
        Ok(Self {
            attention: SelfAttention::load(weights, &format!("{prefix}.attention"), config)?,
            feed_forward: FeedForward::load(weights, &prefix, config)?,
        })
    }

    fn forward(&self, x: &Tensor, bias: &Tensor) -> Result<Tensor> {
        self.feed_forward.forward(&self.attention.forward(x, bias)?)
    }
}

/// A padded batch on the model's device: ids, token types and the 1/0 padding mask, each
/// [batch, tokens] of `Int64`.
pub struct BertInput {
    /// Token ids, padded with `pad_token_id`.
    pub ids: Tensor,
    /// Token-type ids, padded with 0.
    pub type_ids: Tensor,
    /// 1 for real tokens, 0 for padding.
    pub mask: Tensor,
}

impl BertInput {
    /// Right-pads `inputs` to the longest of them.
    pub fn pad(inputs: &[&Encoded], pad_id: i64, device: Device) -> Result<Self> {
        let width = inputs.iter().map(|e| e.ids.len()).max().unwrap_or(0);
        let (mut ids, mut type_ids, mut mask) = (Vec::new(), Vec::new(), Vec::new());
        for input in inputs {
            let padding = width - input.ids.len();
            ids.extend(
                input
                    .ids
                    .iter()
                    .copied()
                    .chain(std::iter::repeat_n(pad_id, padding)),
            );
            type_ids.extend(
                input
                    .type_ids
                    .iter()
                    .copied()
                    .chain(std::iter::repeat_n(0, padding)),
            );
            mask.extend(
                std::iter::repeat_n(1, input.ids.len()).chain(std::iter::repeat_n(0, padding)),
            );
        }
        let shape = [inputs.len() as i64, width as i64];
        let tensor = |values: Vec<i64>| -> Result<Tensor> {
            Ok(Tensor::f_from_slice(&values)?
                .f_view(shape)?
                .f_to_device(device)?)
        };
        Ok(Self {
            ids: tensor(ids)?,
            type_ids: tensor(type_ids)?,
            mask: tensor(mask)?,
        })
    }
}

/// The encoder network: embeddings and a stack of transformer layers.
pub struct Bert {
    embeddings: Embeddings,
    layers: Vec<EncoderLayer>,
    kind: Kind,
}

impl Bert {
    /// Builds the network from `weights`, leaving task heads (pooler, classifier) in them.
    pub fn load(weights: &mut Weights, config: &BertConfig) -> Result<Self> {
        if config.position_embedding_type != "absolute" {
            return Err(InferenceError::Unsupported(format!(
                "position_embedding_type {:?}",
                config.position_embedding_type
            )));
        }
        let embeddings = Embeddings::load(weights, config)?;
        let layers = (0..config.num_hidden_layers)
            .map(|index| EncoderLayer::load(weights, index, config))
            .collect::<Result<_>>()?;
        Ok(Self {
            embeddings,
            layers,
            kind: weights.kind,
        })
    }

    /// Final hidden states, [batch, tokens, hidden] in the weights' kind.
    pub fn forward(&self, input: &BertInput) -> Result<Tensor> {
        let bias = attention_bias(&input.mask, self.kind)?;
        let mut hidden = self.embeddings.forward(&input.ids, &input.type_ids)?;
        for layer in &self.layers {
            hidden = layer.forward(&hidden, &bias)?;
        }
        Ok(hidden)
    }
}

/// Additive attention mask [batch, 1, 1, tokens]: 0 for real keys, the kind's lowest finite
/// value for padding, so padded keys get zero attention weight.
fn attention_bias(mask: &Tensor, kind: Kind) -> Result<Tensor> {
    let lowest = match kind {
        Kind::Half => -65504.0,
        Kind::BFloat16 => -3.389_531_389_251_535_5e38,
        Kind::Double => f64::MIN,
        _ => f64::from(f32::MIN),
    };
    let padding = mask.f_eq(0)?.f_unsqueeze(1)?.f_unsqueeze(1)?;
    Ok(Tensor::f_zeros(padding.size(), (kind, mask.device()))?.f_masked_fill(&padding, lowest)?)
}
