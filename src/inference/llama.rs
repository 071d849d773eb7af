//! A Llama-family decoder (Touvron et al., 2023) on libtorch, with a per-sequence KV cache.
//!
//! `embed → N × [RMSNorm → attention (RoPE, grouped-query) → add → RMSNorm → SwiGLU → add]
//! → RMSNorm → lm_head`. One forward pass runs any mix of sequences and token counts
//! (prefill chunks and single decode tokens): the projections see all tokens as one matrix;
//! attention runs per sequence against its own cache.
//!
//! Weights come from GGUF (llama.cpp names; Q/K rows are stored in the interleaved RoPE
//! order and are put back into Hugging Face's half-split order at load) or from a Hugging
//! Face directory (`config.json` + `model.safetensors`).

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use tch::{Device, Kind, Tensor};

use super::gguf::{BLOCK, GgufFile, MetaValue, Q4Blocks};
use super::{InferenceError, read_json};

type Result<T> = std::result::Result<T, InferenceError>;

/// The shape of a Llama-family network.
#[derive(Debug, Clone, PartialEq)]
pub struct LlamaConfig {
    /// Width of every hidden state.
    pub hidden_size: i64,
    /// Decoder layers.
    pub layers: usize,
    /// Query heads.
    pub heads: i64,
    /// Key/value heads (fewer than `heads` for grouped-query attention).
    pub kv_heads: i64,
    /// Width of the SwiGLU layer.
    pub intermediate_size: i64,
    /// Rows of the embedding table.
    pub vocab_size: i64,
    /// Epsilon of every RMSNorm.
    pub rms_eps: f64,
    /// RoPE base frequency.
    pub rope_theta: f64,
    /// Longest context the model was trained for.
    pub max_positions: usize,
}

impl LlamaConfig {
    /// Width of one attention head.
    pub fn head_dim(&self) -> i64 {
        self.hidden_size / self.heads
    }

    /// Reads `{arch}.*` metadata of a GGUF file (`llama` architecture only).
    pub fn from_gguf(file: &GgufFile) -> Result<Self> {
        let arch = file.get("general.architecture").and_then(MetaValue::as_str);
        if arch != Some("llama") {
            return Err(InferenceError::Unsupported(format!(
                "architecture {arch:?}"
            )));
        }
        let number = |key: &str| {
            file.get(&format!("llama.{key}"))
                .and_then(MetaValue::as_f64)
                .ok_or_else(|| InferenceError::Unsupported(format!("GGUF without llama.{key}")))
        };
        let heads = number("attention.head_count")? as i64;
        let vocab_size = match file.get("llama.vocab_size").and_then(MetaValue::as_i64) {
            Some(n) => n,
            None => file
                .get("tokenizer.ggml.tokens")
                .and_then(MetaValue::as_array)
                .map_or(0, |t| t.len() as i64),
        };
        Ok(Self {
            hidden_size: number("embedding_length")? as i64,
            layers: number("block_count")? as usize,
            heads,
            kv_heads: number("attention.head_count_kv").map_or(heads, |n| n as i64),
            intermediate_size: number("feed_forward_length")? as i64,
            vocab_size,
            rms_eps: number("attention.layer_norm_rms_epsilon")?,
            rope_theta: number("rope.freq_base").unwrap_or(10_000.0),
            max_positions: number("context_length")? as usize,
        })
    }

    /// Reads a Hugging Face `config.json` (`llama` model type).
    pub fn from_hf_dir(dir: &Path) -> Result<Self> {
        #[derive(Deserialize)]
        struct Hf {
            model_type: String,
            hidden_size: i64,
            num_hidden_layers: usize,
            num_attention_heads: i64,
            num_key_value_heads: Option<i64>,
            intermediate_size: i64,
            vocab_size: i64,
            rms_norm_eps: f64,
            rope_theta: Option<f64>,
            max_position_embeddings: usize,
            head_dim: Option<i64>,
            rope_scaling: Option<serde_json::Value>,
            /// transformers ≥ 5 keeps `rope_theta` and the RoPE type here.
            rope_parameters: Option<serde_json::Value>,
        }
        let hf: Hf = read_json(&dir.join("config.json"))?;
        if hf.model_type != "llama" {
            return Err(InferenceError::Unsupported(format!(
                "model_type {:?}",
                hf.model_type
            )));
        }
        let parameters = hf.rope_parameters.unwrap_or_default();
        let rope_type = parameters["rope_type"].as_str().unwrap_or("default");
        if hf.rope_scaling.is_some_and(|v| !v.is_null()) || rope_type != "default" {
            return Err(InferenceError::Unsupported("scaled RoPE".into()));
        }
        let rope_theta = parameters["rope_theta"].as_f64().or(hf.rope_theta);
        if hf
            .head_dim
            .is_some_and(|d| d * hf.num_attention_heads != hf.hidden_size)
        {
            return Err(InferenceError::Unsupported(
                "head_dim × heads ≠ hidden".into(),
            ));
        }
        Ok(Self {
            hidden_size: hf.hidden_size,
            layers: hf.num_hidden_layers,
            heads: hf.num_attention_heads,
            kv_heads: hf.num_key_value_heads.unwrap_or(hf.num_attention_heads),
            intermediate_size: hf.intermediate_size,
            vocab_size: hf.vocab_size,
            rms_eps: hf.rms_norm_eps,
            rope_theta: rope_theta.unwrap_or(10_000.0),
            max_positions: hf.max_position_embeddings,
        })
    }
}

/// How weight matrices are stored and multiplied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Numerics {
    /// Every matrix dequantised to `kind` (f32, f16 or bf16) and multiplied densely.
    Dense(Kind),
    /// CPU only: 4-bit GGUF matrices (Q4_0, Q4_1) stay 4-bit and go through libtorch's packed
    /// int4 kernel (bf16 activations, exact weights up to bf16 scales); the rest is f32.
    PackedInt4,
}

impl std::fmt::Display for Numerics {
    /// `f32`, `bf16`, `f16` (or the tensor kind's name) or `int4`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Numerics::Dense(Kind::Float) => f.write_str("f32"),
            Numerics::Dense(Kind::BFloat16) => f.write_str("bf16"),
            Numerics::Dense(Kind::Half) => f.write_str("f16"),
            Numerics::Dense(kind) => write!(f, "{kind:?}"),
            Numerics::PackedInt4 => f.write_str("int4"),
        }
    }
}

impl Numerics {
    /// The floating-point kind of activations.
    fn activation_kind(self) -> Kind {
        match self {
            Numerics::Dense(kind) => kind,
            Numerics::PackedInt4 => Kind::Float,
        }
    }
}

/// A weight matrix by rows (`[out, in]`), before it becomes a [`Linear`].
enum Rows {
    Dense(Tensor),
    Q4(Q4Blocks),
}

impl Rows {
    /// Applies a row-wise reshuffle to every part.
    fn map(self, f: impl Fn(&Tensor) -> Tensor) -> Rows {
        match self {
            Rows::Dense(t) => Rows::Dense(f(&t)),
            Rows::Q4(q) => Rows::Q4(Q4Blocks {
                nibbles: f(&q.nibbles),
                scales: f(&q.scales),
                zeros: f(&q.zeros),
            }),
        }
    }

    fn dense(self) -> Tensor {
        match self {
            Rows::Dense(t) => t,
            Rows::Q4(q) => {
                let groups = q.scales.size()[1];
                let rows = q.nibbles.size()[0];
                let blocks = (q.nibbles.to_kind(Kind::Float) - 8.0).view([rows, groups, -1]);
                (blocks * q.scales.unsqueeze(2) + q.zeros.unsqueeze(2)).view([rows, -1])
            }
        }
    }

    /// Stacks matrices with the same input width (fused projections).
    fn cat(parts: Vec<Rows>) -> Rows {
        if parts.iter().all(|p| matches!(p, Rows::Q4(_))) {
            let q4: Vec<Q4Blocks> = parts
                .into_iter()
                .map(|p| match p {
                    Rows::Q4(q) => q,
                    Rows::Dense(_) => unreachable!("checked above"),
                })
                .collect();
            let stack =
                |f: fn(&Q4Blocks) -> &Tensor| Tensor::cat(&q4.iter().map(f).collect::<Vec<_>>(), 0);
            Rows::Q4(Q4Blocks {
                nibbles: stack(|q| &q.nibbles),
                scales: stack(|q| &q.scales),
                zeros: stack(|q| &q.zeros),
            })
        } else {
            Rows::Dense(Tensor::cat(
                &parts.into_iter().map(Rows::dense).collect::<Vec<_>>(),
                0,
            ))
        }
    }

    fn into_linear(self, numerics: Numerics, device: Device) -> Linear {
        match (self, numerics) {
            (Rows::Q4(q), Numerics::PackedInt4) => {
                let packed = q.nibbles.internal_convert_weight_to_int4pack_for_cpu(1);
                let scales_zeros = Tensor::stack(&[q.scales.tr(), q.zeros.tr()], 2)
                    .to_kind(Kind::BFloat16)
                    .contiguous();
                Linear::Int4 {
                    packed,
                    scales_zeros,
                }
            }
            (rows, numerics) => Linear::Dense(
                rows.dense()
                    .to_device(device)
                    .to_kind(numerics.activation_kind()),
            ),
        }
    }
}

/// `y = x Wᵀ` for one weight matrix.
enum Linear {
    Dense(Tensor),
    Int4 {
        packed: Tensor,
        scales_zeros: Tensor,
    },
}

impl Linear {
    fn forward(&self, x: &Tensor) -> Tensor {
        match self {
            Linear::Dense(w) => x.matmul(&w.tr()),
            Linear::Int4 {
                packed,
                scales_zeros,
            } => x
                .to_kind(Kind::BFloat16)
                .internal_weight_int4pack_mm_for_cpu(packed, BLOCK as i64, scales_zeros)
                .to_kind(x.kind()),
        }
    }
}

/// Where weights are read from; names are llama.cpp's.
enum Source {
    Gguf(GgufFile),
    SafeTensors(HashMap<String, Tensor>),
}

impl Source {
    /// A matrix as rows; 4-bit GGUF blocks stay packed when `keep_q4`.
    fn rows(&mut self, name: &str, keep_q4: bool) -> Result<Rows> {
        match self {
            Source::Gguf(file) => {
                if keep_q4 && let Some(q4) = file.q4_blocks(name)? {
                    return Ok(Rows::Q4(q4));
                }
                Ok(Rows::Dense(file.dequantize(name)?))
            }
            Source::SafeTensors(_) => Ok(Rows::Dense(self.vector(name)?)),
        }
    }

    /// A tensor in f32 on the CPU.
    fn vector(&mut self, name: &str) -> Result<Tensor> {
        match self {
            Source::Gguf(file) => file.dequantize(name),
            Source::SafeTensors(tensors) => {
                let hf = hf_name(name);
                let t = tensors
                    .remove(&hf)
                    .ok_or_else(|| InferenceError::Unsupported(format!("missing weight {hf:?}")))?;
                Ok(t.to_kind(Kind::Float))
            }
        }
    }

    fn has(&self, name: &str) -> bool {
        match self {
            Source::Gguf(file) => file.tensor_info(name).is_some(),
            Source::SafeTensors(tensors) => tensors.contains_key(&hf_name(name)),
        }
    }
}

/// The Hugging Face name of a llama.cpp tensor name.
fn hf_name(name: &str) -> String {
    let global = [
        ("token_embd.weight", "model.embed_tokens.weight"),
        ("output_norm.weight", "model.norm.weight"),
        ("output.weight", "lm_head.weight"),
    ];
    if let Some((_, hf)) = global.iter().find(|(gguf, _)| *gguf == name) {
        return (*hf).to_owned();
    }
    let per_layer = [
        ("attn_norm", "input_layernorm"),
        ("attn_q", "self_attn.q_proj"),
        ("attn_k", "self_attn.k_proj"),
        ("attn_v", "self_attn.v_proj"),
        ("attn_output", "self_attn.o_proj"),
        ("ffn_norm", "post_attention_layernorm"),
        ("ffn_gate", "mlp.gate_proj"),
        ("ffn_up", "mlp.up_proj"),
        ("ffn_down", "mlp.down_proj"),
    ];
    let mut parts = name.splitn(3, '.');
    if let (Some("blk"), Some(layer), Some(rest)) = (parts.next(), parts.next(), parts.next()) {
        for (gguf, hf) in per_layer {
            if let Some(suffix) = rest.strip_prefix(gguf).and_then(|s| s.strip_prefix('.')) {
                return format!("model.layers.{layer}.{hf}.{suffix}");
            }
        }
    }
    name.to_owned()
}

/// One decoder layer.
struct Layer {
    attn_norm: Tensor,
    qkv: Linear,
    out: Linear,
    ffn_norm: Tensor,
    gate_up: Linear,
    down: Linear,
}

/// The keys and values a sequence has seen, per layer, `[kv_heads, capacity, head_dim]`.
pub struct KvCache {
    layers: Vec<(Tensor, Tensor)>,
    len: i64,
}

impl KvCache {
    /// Tokens cached so far.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn capacity(&self) -> i64 {
        self.layers.first().map_or(0, |(k, _)| k.size()[1])
    }

    /// Makes room for `extra` more tokens (doubling, to amortise the copies).
    fn reserve(&mut self, extra: i64) {
        let needed = self.len + extra;
        let capacity = self.capacity();
        if needed <= capacity {
            return;
        }
        let grown = needed.max(capacity * 2).max(64);
        for (k, v) in &mut self.layers {
            for t in [k, v] {
                let size = t.size();
                let bigger = Tensor::zeros([size[0], grown, size[2]], (t.kind(), t.device()));
                bigger
                    .narrow(1, 0, self.len)
                    .copy_(&t.narrow(1, 0, self.len));
                *t = bigger;
            }
        }
    }
}

/// Some tokens of one sequence for a forward pass.
pub struct Segment<'a> {
    /// The sequence's cache; the tokens are appended to it.
    pub cache: &'a mut KvCache,
    /// Token ids following the cached ones.
    pub tokens: &'a [u32],
}

/// A loaded Llama-family decoder.
pub struct Llama {
    config: LlamaConfig,
    embed: Tensor,
    layers: Vec<Layer>,
    norm: Tensor,
    lm_head: Linear,
    cos: Tensor,
    sin: Tensor,
    kind: Kind,
    device: Device,
}

impl Llama {
    /// Loads the network of a GGUF file.
    pub fn from_gguf(file: GgufFile, numerics: Numerics, device: Device) -> Result<Self> {
        let config = LlamaConfig::from_gguf(&file)?;
        Self::load(config, Source::Gguf(file), numerics, device)
    }

    /// Loads `config.json` and `model.safetensors` of a Hugging Face directory.
    pub fn from_hf_dir(dir: &Path, numerics: Numerics, device: Device) -> Result<Self> {
        let config = LlamaConfig::from_hf_dir(dir)?;
        let tensors = Tensor::read_safetensors(dir.join("model.safetensors"))?
            .into_iter()
            .collect();
        Self::load(config, Source::SafeTensors(tensors), numerics, device)
    }

    fn load(
        config: LlamaConfig,
        mut source: Source,
        numerics: Numerics,
        device: Device,
    ) -> Result<Self> {
        if numerics == Numerics::PackedInt4 && device != Device::Cpu {
            return Err(InferenceError::Invalid(
                "packed int4 weights run on the CPU only".into(),
            ));
        }
        let kind = numerics.activation_kind();
        let keep_q4 = numerics == Numerics::PackedInt4;
        let head_dim = config.head_dim();
        let gguf = matches!(source, Source::Gguf(_));
        // llama.cpp stores Q and K rows of each head as interleaved pairs; undo it so RoPE
        // can rotate the two halves of each head as Hugging Face does.
        let unpermute = |rows: Rows, heads: i64| {
            if gguf {
                rows.map(|t| {
                    let size = t.size();
                    t.reshape([heads, head_dim / 2, 2, size[1]])
                        .transpose(1, 2)
                        .reshape([size[0], size[1]])
                })
            } else {
                rows
            }
        };
        let vector = |source: &mut Source, name: &str| -> Result<Tensor> {
            Ok(source.vector(name)?.to_device(device).to_kind(kind))
        };
        let mut layers = Vec::with_capacity(config.layers);
        for i in 0..config.layers {
            let name = |part: &str| format!("blk.{i}.{part}.weight");
            let q = unpermute(source.rows(&name("attn_q"), keep_q4)?, config.heads);
            let k = unpermute(source.rows(&name("attn_k"), keep_q4)?, config.kv_heads);
            let v = source.rows(&name("attn_v"), keep_q4)?;
            let gate = source.rows(&name("ffn_gate"), keep_q4)?;
            let up = source.rows(&name("ffn_up"), keep_q4)?;
            layers.push(Layer {
                attn_norm: vector(&mut source, &name("attn_norm"))?,
                qkv: Rows::cat(vec![q, k, v]).into_linear(numerics, device),
                out: source
                    .rows(&name("attn_output"), keep_q4)?
                    .into_linear(numerics, device),
                ffn_norm: vector(&mut source, &name("ffn_norm"))?,
                gate_up: Rows::cat(vec![gate, up]).into_linear(numerics, device),
                down: source
                    .rows(&name("ffn_down"), keep_q4)?
                    .into_linear(numerics, device),
            });
        }
        let embed = source.vector("token_embd.weight")?;
        let lm_head = if source.has("output.weight") {
            source.rows("output.weight", keep_q4)?
        } else {
            Rows::Dense(embed.shallow_clone())
        };
        let (cos, sin) = rope_tables(&config, kind, device);
        Ok(Self {
            norm: vector(&mut source, "output_norm.weight")?,
            lm_head: lm_head.into_linear(numerics, device),
            embed: embed.to_device(device).to_kind(kind),
            layers,
            cos,
            sin,
            kind,
            device,
            config,
        })
    }

    /// The network's shape.
    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    /// An empty cache for one sequence.
    pub fn new_cache(&self) -> KvCache {
        let empty = || {
            Tensor::zeros(
                [self.config.kv_heads, 0, self.config.head_dim()],
                (self.kind, self.device),
            )
        };
        KvCache {
            layers: (0..self.config.layers)
                .map(|_| (empty(), empty()))
                .collect(),
            len: 0,
        }
    }

    /// Runs the segments' tokens through the network, appending them to their caches, and
    /// returns the f32 logits after the last token of each segment, `[segments, vocab]`.
    pub fn forward(&self, segments: &mut [Segment<'_>]) -> Result<Tensor> {
        let max = self.config.max_positions as i64;
        let mut ids = Vec::new();
        let mut positions = Vec::new();
        for segment in segments.iter_mut() {
            let n = segment.tokens.len() as i64;
            if n == 0 || segment.cache.len + n > max {
                return Err(InferenceError::Invalid(format!(
                    "{n} tokens after {} cached: outside 1..={max} positions",
                    segment.cache.len
                )));
            }
            segment.cache.reserve(n);
            ids.extend(segment.tokens.iter().map(|&t| i64::from(t)));
            positions.extend(segment.cache.len..segment.cache.len + n);
        }
        let ids = Tensor::from_slice(&ids).to_device(self.device);
        let positions = Tensor::from_slice(&positions).to_device(self.device);
        let cos = self.cos.index_select(0, &positions).unsqueeze(1);
        let sin = self.sin.index_select(0, &positions).unsqueeze(1);
        let mut x = self.embed.index_select(0, &ids);
        for (index, layer) in self.layers.iter().enumerate() {
            let attended = self.attention(index, layer, &x, &cos, &sin, segments);
            x += layer.out.forward(&attended);
            let gate_up =
                layer
                    .gate_up
                    .forward(&rms_norm(&x, &layer.ffn_norm, self.config.rms_eps));
            let [gate, up] = split(&gate_up, &[self.config.intermediate_size; 2]);
            x += layer.down.forward(&(gate.silu() * up));
        }
        let mut last = 0;
        let ends: Vec<i64> = segments
            .iter_mut()
            .map(|segment| {
                let n = segment.tokens.len() as i64;
                segment.cache.len += n;
                last += n;
                last - 1
            })
            .collect();
        let x = x.index_select(0, &Tensor::from_slice(&ends).to_device(self.device));
        let logits = self
            .lm_head
            .forward(&rms_norm(&x, &self.norm, self.config.rms_eps));
        Ok(logits.to_kind(Kind::Float))
    }

    /// Self-attention of layer `index` over `x` (`[tokens, hidden]`, all segments in a row).
    fn attention(
        &self,
        index: usize,
        layer: &Layer,
        x: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        segments: &mut [Segment<'_>],
    ) -> Tensor {
        let c = &self.config;
        let hd = c.head_dim();
        let qkv = layer.qkv.forward(&rms_norm(x, &layer.attn_norm, c.rms_eps));
        let [q, k, v] = split(&qkv, &[c.heads * hd, c.kv_heads * hd, c.kv_heads * hd]);
        let tokens = x.size()[0];
        let q = rope(&q.view([tokens, c.heads, hd]), cos, sin);
        let k = rope(&k.view([tokens, c.kv_heads, hd]), cos, sin);
        let v = v.view([tokens, c.kv_heads, hd]);
        let mut outputs = Vec::with_capacity(segments.len());
        let mut start = 0;
        for segment in segments.iter_mut() {
            let n = segment.tokens.len() as i64;
            let past = segment.cache.len;
            let (cache_k, cache_v) = &mut segment.cache.layers[index];
            cache_k
                .narrow(1, past, n)
                .copy_(&k.narrow(0, start, n).transpose(0, 1));
            cache_v
                .narrow(1, past, n)
                .copy_(&v.narrow(0, start, n).transpose(0, 1));
            let keys = cache_k.narrow(1, 0, past + n);
            let values = cache_v.narrow(1, 0, past + n);
            let query = q.narrow(0, start, n).transpose(0, 1);
            // Query i (at position past + i) sees keys 0..=past + i.
            let mask = (n > 1).then(|| {
                let rows = Tensor::arange(n, (Kind::Int64, self.device)).unsqueeze(1) + past;
                let cols = Tensor::arange(past + n, (Kind::Int64, self.device)).unsqueeze(0);
                cols.le_tensor(&rows)
            });
            let out = Tensor::scaled_dot_product_attention(
                &query,
                &keys,
                &values,
                mask.as_ref(),
                0.0,
                false,
                None,
                c.kv_heads != c.heads,
            );
            outputs.push(out.transpose(0, 1).reshape([n, c.heads * hd]));
            start += n;
        }
        Tensor::cat(&outputs, 0)
    }
}

/// Splits the last dimension into consecutive widths.
fn split<const N: usize>(t: &Tensor, widths: &[i64; N]) -> [Tensor; N] {
    let parts = t.split_with_sizes(widths, -1);
    parts.try_into().expect("one part per width")
}

/// `x / rms(x) * weight`, computed in f32.
fn rms_norm(x: &Tensor, weight: &Tensor, eps: f64) -> Tensor {
    let x32 = x.to_kind(Kind::Float);
    let scale = (x32.square().mean_dim(-1, true, Kind::Float) + eps).rsqrt();
    (x32 * scale).to_kind(x.kind()) * weight
}

/// Rotates each head's two halves by the position angles (Hugging Face's layout).
fn rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Tensor {
    let half = x.size()[2] / 2;
    let rotated = Tensor::cat(&[-x.narrow(2, half, half), x.narrow(2, 0, half)], 2);
    x * cos + rotated * sin
}

/// cos and sin of every position's angles, `[positions, head_dim]`, in the activation kind.
fn rope_tables(config: &LlamaConfig, kind: Kind, device: Device) -> (Tensor, Tensor) {
    let hd = config.head_dim();
    let exponents = Tensor::arange_start_step(0, hd, 2, (Kind::Float, device)) / hd as f64;
    let inverse = Tensor::from(config.rope_theta as f32)
        .to_device(device)
        .pow(&exponents)
        .reciprocal();
    let positions = Tensor::arange(config.max_positions as i64, (Kind::Float, device));
    let angles = positions.outer(&inverse);
    let angles = Tensor::cat(&[&angles, &angles], 1);
    (angles.cos().to_kind(kind), angles.sin().to_kind(kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_llama_cpp_names_to_hugging_face() {
        assert_eq!(hf_name("token_embd.weight"), "model.embed_tokens.weight");
        assert_eq!(
            hf_name("blk.12.attn_output.weight"),
            "model.layers.12.self_attn.o_proj.weight"
        );
        assert_eq!(
            hf_name("blk.0.ffn_norm.weight"),
            "model.layers.0.post_attention_layernorm.weight"
        );
    }

    #[test]
    fn packed_rows_dequantise_like_their_blocks() {
        let nibbles = Tensor::arange(64, (Kind::Int, Device::Cpu))
            .remainder(16)
            .view([1, 64]);
        let q4 = Q4Blocks {
            nibbles,
            scales: Tensor::from_slice(&[0.5f32, 2.0]).view([1, 2]),
            zeros: Tensor::from_slice(&[1.0f32, -1.0]).view([1, 2]),
        };
        let dense = Rows::Q4(q4).dense();
        assert_eq!(dense.double_value(&[0, 3]), (3.0 - 8.0) * 0.5 + 1.0);
        assert_eq!(dense.double_value(&[0, 40]), (8.0 - 8.0) * 2.0 - 1.0);
    }
}
