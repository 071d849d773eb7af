//! The local text generator: a Llama-family decoder on libtorch (GGUF or a Hugging Face
//! directory), owned by one worker thread that batches all active sequences' steps.

pub mod probe;
mod sampler;
mod template;
mod text;
mod worker;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};

use futures::StreamExt;

use crate::config::Config;
use crate::config::PrecisionSetting;
use crate::inference::batcher::set_torch_threads;
use crate::inference::bpe::BpeTokenizer;
use crate::inference::gguf::GgufFile;
use crate::inference::llama::{Llama, Numerics};
use crate::inference::{InferenceError, device_of};
use crate::llm::{GenerationError, GenerationRequest, GenerationStream, Generator};
use probe::DecoderChoice;
use template::ChatTemplate;
use worker::{Job, Limits};

/// A generator that runs the configured decoder in this process.
pub struct LocalGenerator {
    name: String,
    tokenizer: Arc<BpeTokenizer>,
    template: ChatTemplate,
    context: usize,
    max_waiting: usize,
    waiting: Arc<AtomicUsize>,
    jobs: mpsc::Sender<Job>,
    numerics: DecoderChoice,
}

/// Where a configured model lives.
enum ModelFiles {
    Gguf(PathBuf),
    HfDir(PathBuf),
}

impl ModelFiles {
    /// A `.gguf` file, a folder with `config.json`, or a folder holding one `.gguf` file.
    fn find(path: &Path) -> Result<Self, GenerationError> {
        if path.is_file() {
            return Ok(ModelFiles::Gguf(path.to_owned()));
        }
        if path.join("config.json").is_file() {
            return Ok(ModelFiles::HfDir(path.to_owned()));
        }
        let ggufs: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| GenerationError::Invalid(format!("{}: {e}", path.display())))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "gguf"))
            .collect();
        match ggufs.as_slice() {
            [one] => Ok(ModelFiles::Gguf(one.clone())),
            _ => Err(GenerationError::Invalid(format!(
                "{}: expected one .gguf file or a config.json, found {} .gguf files",
                path.display(),
                ggufs.len()
            ))),
        }
    }

    /// The model name: the GGUF file stem or the folder name.
    fn name(&self) -> String {
        let (ModelFiles::Gguf(p) | ModelFiles::HfDir(p)) = self;
        let stem = match self {
            ModelFiles::Gguf(_) => p.file_stem(),
            ModelFiles::HfDir(_) => p.file_name(),
        };
        stem.map_or_else(|| "local".into(), |s| s.to_string_lossy().into_owned())
    }
}

/// Loads the decoder and its tokenizer: in the kind `inference.precision` names, or under
/// `auto` in the one the probe measures fastest here (see [`probe`]).
fn load_model(
    files: &ModelFiles,
    config: &Config,
) -> Result<(Llama, BpeTokenizer, DecoderChoice), InferenceError> {
    let device = device_of(config.inference.device)?;
    let threads = config.inference.threads.count();
    set_torch_threads(threads);
    let (path, gguf) = match files {
        ModelFiles::Gguf(path) => (path, true),
        ModelFiles::HfDir(dir) => (dir, false),
    };
    let load = |numerics: Numerics| match files {
        ModelFiles::Gguf(path) => Llama::from_gguf(GgufFile::read(path)?, numerics, device),
        ModelFiles::HfDir(dir) => Llama::from_hf_dir(dir, numerics, device),
    };
    let tokenizer = match files {
        ModelFiles::Gguf(path) => BpeTokenizer::from_gguf(&GgufFile::read(path)?)?,
        ModelFiles::HfDir(dir) => BpeTokenizer::from_hf_dir(dir)?,
    };
    let (model, choice) = match config.inference.precision {
        PrecisionSetting::Fixed(precision) => {
            let numerics = Numerics::Dense(precision.kind());
            (
                load(numerics)?,
                DecoderChoice::configured(numerics, threads),
            )
        }
        PrecisionSetting::Auto => {
            let prompt = tokenizer.encode(probe::PROMPT)?;
            let kinds = probe::candidates(device, gguf);
            probe::load_fastest(path, device, threads, &kinds, &prompt, load)?
        }
    };
    Ok((model, tokenizer, choice))
}

impl LocalGenerator {
    /// The name [`Self::load`] would report, found without loading the weights.
    pub fn model_name(config: &Config) -> Result<String, GenerationError> {
        Ok(ModelFiles::find(&config.models.path_of(&config.generation.model))?.name())
    }

    /// Loads `generation.model` (resolved under `models.dir`) on `inference.device` and
    /// starts its worker thread.
    pub fn load(config: &Config) -> Result<LocalGenerator, GenerationError> {
        let files = ModelFiles::find(&config.models.path_of(&config.generation.model))?;
        let (model, tokenizer, numerics) = load_model(&files, config)
            .map_err(|e| GenerationError::Invalid(format!("loading the local model: {e}")))?;
        let generation = &config.generation;
        let max_positions = model.config().max_positions;
        let context = match generation.context_tokens {
            0 => max_positions,
            n => n.min(max_positions),
        };
        let tokenizer = Arc::new(tokenizer);
        let template = ChatTemplate::new(
            tokenizer.chat_template.clone(),
            tokenizer.bos_text.clone(),
            tokenizer.eos_text.clone(),
        )?;
        let waiting = Arc::new(AtomicUsize::new(0));
        let (jobs, receiver) = mpsc::channel();
        let limits = Limits {
            max_sequences: generation.max_sequences.max(1),
            prefill_chunk: generation.prefill_chunk_tokens.max(1),
            context,
            greedy: generation.deterministic,
        };
        let worker_tokenizer = Arc::clone(&tokenizer);
        let worker_waiting = Arc::clone(&waiting);
        // Generation answers a request: it decodes on the interactive thread count, the one
        // it was loaded (and probed) on.
        let threads = numerics.threads;
        std::thread::Builder::new()
            .name("local-decoder".into())
            .spawn(move || {
                set_torch_threads(threads);
                worker::run(model, worker_tokenizer, receiver, worker_waiting, limits);
            })
            .map_err(|e| GenerationError::Internal(format!("starting the decoder thread: {e}")))?;
        Ok(LocalGenerator {
            name: files.name(),
            tokenizer,
            template,
            context,
            max_waiting: generation.max_waiting,
            waiting,
            jobs,
            numerics,
        })
    }

    /// The prompt tokens of `request`, checked against the context window.
    fn prompt(&self, request: &GenerationRequest) -> Result<Vec<u32>, GenerationError> {
        if request.sampling.max_tokens == 0 {
            return Err(GenerationError::Invalid(
                "max_tokens must be positive".into(),
            ));
        }
        let text = self.template.render(&request.messages)?;
        let prompt = self
            .tokenizer
            .encode(&text)
            .map_err(|e| GenerationError::Invalid(e.to_string()))?;
        if prompt.len() >= self.context {
            return Err(GenerationError::Invalid(format!(
                "the prompt has {} tokens; the context window holds {} including the answer",
                prompt.len(),
                self.context
            )));
        }
        Ok(prompt)
    }

    fn submit(&self, request: GenerationRequest) -> Result<GenerationStream, GenerationError> {
        let prompt = self.prompt(&request)?;
        let admitted = self
            .waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max_waiting).then_some(n + 1)
            });
        if admitted.is_err() {
            return Err(GenerationError::Overloaded(format!(
                "{} generations are waiting for the local model",
                self.max_waiting
            )));
        }
        let (events, mut receiver) = tokio::sync::mpsc::unbounded_channel();
        let job = Job {
            prompt,
            sampling: request.sampling,
            events,
        };
        if self.jobs.send(job).is_err() {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(GenerationError::Internal(
                "the local decoder has stopped".into(),
            ));
        }
        Ok(futures::stream::poll_fn(move |cx| receiver.poll_recv(cx)).boxed())
    }
}

impl Generator for LocalGenerator {
    fn model(&self) -> &str {
        &self.name
    }

    fn numerics(&self) -> Option<&DecoderChoice> {
        Some(&self.numerics)
    }

    fn generate(&self, request: GenerationRequest) -> GenerationStream {
        self.submit(request)
            .unwrap_or_else(|e| futures::stream::once(async move { Err(e) }).boxed())
    }
}
