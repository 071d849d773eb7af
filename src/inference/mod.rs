//! Neural text encoders on libtorch: a BERT / XLM-RoBERTa network ([`bert`]), its tokenizer
//! ([`tokenizer`]), a sentence embedder ([`encoder`]) and a reranker ([`cross_encoder`]).

pub mod bert;
pub mod cross_encoder;
pub mod encoder;
pub mod tokenizer;

use std::path::PathBuf;

use tch::{Device, Kind};

use tokenizer::Encoded;

/// Anything that can go wrong loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum InferenceError {
    /// libtorch refused an operation.
    #[error("torch: {0}")]
    Torch(#[from] tch::TchError),
    /// A model file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A JSON file of the model directory is malformed.
    #[error("parsing {path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
    /// The tokenizer failed to load or to encode.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The model is not one this module can run (missing weight, unknown activation, ...).
    #[error("unsupported model: {0}")]
    Unsupported(String),
    /// A caller-supplied setting is invalid.
    #[error("invalid setting: {0}")]
    Invalid(String),
}

/// Where and how a model runs.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// Device the weights live on.
    pub device: Device,
    /// Floating-point kind of the weights and activations (`Float`, `Half`, `BFloat16`).
    pub kind: Kind,
    /// Token budget per input (special tokens included); `None` takes the model's own limit.
    pub max_length: Option<usize>,
    /// Inputs per forward pass in the batched helpers.
    pub batch_size: usize,
    /// Torch intra-op threads. Process-wide: the last model loaded sets it for all.
    pub threads: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            device: Device::Cpu,
            kind: Kind::Float,
            max_length: None,
            batch_size: 32,
            threads: 1,
        }
    }
}

impl LoadOptions {
    /// Applies the thread count to torch.
    fn apply_threads(&self) -> Result<(), InferenceError> {
        let threads = i32::try_from(self.threads)
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| InferenceError::Invalid(format!("threads = {}", self.threads)))?;
        tch::set_num_threads(threads);
        Ok(())
    }
}

/// Parses "auto" (CUDA when available), "cpu", "cuda" or "cuda:N".
pub fn parse_device(s: &str) -> Result<Device, InferenceError> {
    let invalid = || InferenceError::Invalid(format!("device {s:?}"));
    let index = match s.trim().to_ascii_lowercase().as_str() {
        "auto" => return Ok(Device::cuda_if_available()),
        "cpu" => return Ok(Device::Cpu),
        "cuda" => 0,
        other => other
            .strip_prefix("cuda:")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(invalid)?,
    };
    let available = usize::try_from(tch::Cuda::device_count()).unwrap_or(0);
    if index >= available {
        return Err(InferenceError::Invalid(format!(
            "device {s:?}: {available} CUDA device(s) available"
        )));
    }
    Ok(Device::Cuda(index))
}

/// Parses "f32", "f16" or "bf16" into a tensor kind.
pub fn parse_precision(s: &str) -> Result<Kind, InferenceError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "f32" | "fp32" | "float32" => Ok(Kind::Float),
        "f16" | "fp16" | "float16" => Ok(Kind::Half),
        "bf16" | "bfloat16" => Ok(Kind::BFloat16),
        _ => Err(InferenceError::Invalid(format!("precision {s:?}"))),
    }
}

/// Runs `run` over `inputs` in batches of similar length (less padding) and returns its
/// per-input outputs in the original order.
fn in_length_batches<T>(
    inputs: &[Encoded],
    batch_size: usize,
    mut run: impl FnMut(&[&Encoded]) -> Result<Vec<T>, InferenceError>,
) -> Result<Vec<T>, InferenceError> {
    let mut order: Vec<usize> = (0..inputs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(inputs[i].ids.len()));
    let mut slots: Vec<Option<T>> = std::iter::repeat_with(|| None).take(inputs.len()).collect();
    for chunk in order.chunks(batch_size.max(1)) {
        let batch: Vec<&Encoded> = chunk.iter().map(|&i| &inputs[i]).collect();
        for (&i, output) in chunk.iter().zip(run(&batch)?) {
            slots[i] = Some(output);
        }
    }
    Ok(slots.into_iter().flatten().collect())
}
