//! The local decoder's numerics under `inference.precision = "auto"`: every kind the device
//! can run (4-bit packed matrices for a GGUF file on the CPU, and f32, bf16, f16) decodes the
//! same prompt; a kind whose logits leave f32's by more than [`LOGIT_TOLERANCE`] is rejected,
//! and the fastest of the rest is kept — f32 unless another is [`MIN_SPEEDUP`] times faster.
//!
//! Machines differ: libtorch's packed int4 and bf16 kernels that win on one CPU can lose
//! several times over on another, so the decoder's numerics are measured where it runs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use tch::{Device, Kind};

use crate::inference::InferenceError;
use crate::inference::llama::{Llama, Numerics, Segment};
use crate::inference::precision::{ChosenBy, probing_alone, rejection_note};

/// Largest difference in any logit from f32's along the probe's path: the tolerance the
/// decoder's parity test holds it to against llama.cpp (logits span about 30).
pub const LOGIT_TOLERANCE: f32 = 2.0;

/// How much faster than f32 another kind must decode the probe to be chosen: timings on a
/// shared machine vary by a few percent, and within that noise the exact kind is better.
const MIN_SPEEDUP: f64 = 1.1;

/// A kind whose warm-up run takes longer than this many f32 runs is not timed further.
const GIVE_UP_FACTOR: f64 = 4.0;

/// Tokens decoded one at a time after the prompt.
const STEPS: usize = 8;

/// The probe's prompt: a short grounded question as an assist answer sees one.
pub const PROMPT: &str = "Answer from the numbered sources only.\n\
[1] The Riksdag enacts the laws, determines state taxes and decides how state funds shall be \
employed. The Riksdag shall examine the government and administration of the realm.\n\
[2] Courts of law shall observe objectivity and impartiality.\n\
Question: Who decides on state taxes?\nAnswer:";

/// How one kind did in the probe.
#[derive(Debug, Clone, PartialEq)]
pub struct DecoderTiming {
    /// The kind timed.
    pub numerics: Numerics,
    /// Time to read the prompt (best of the timed runs).
    pub prefill: Duration,
    /// Mean time of one decoded token (best of the timed runs).
    pub step: Duration,
    /// Largest |Δlogit| from f32's over the prompt and the steps (0 for f32 itself).
    pub max_logit_diff: f32,
    /// Why it is not used although it could be faster (disagrees, too slow, failed).
    pub rejected: Option<String>,
}

impl DecoderTiming {
    /// Prefill plus the decoded steps: the probe's whole answer, which the choice compares.
    pub fn total(&self) -> Duration {
        self.prefill + self.step * STEPS as u32
    }
}

/// The kind the decoder runs in, who chose it and the probe's measurements (f32 first).
#[derive(Debug, Clone, PartialEq)]
pub struct DecoderChoice {
    /// The kind in use.
    pub numerics: Numerics,
    /// The probe (`inference.precision = "auto"`) or the operator.
    pub chosen_by: ChosenBy,
    /// The torch threads it decodes on.
    pub threads: usize,
    /// The probe's measurements; empty unless the probe chose.
    pub probe: Vec<DecoderTiming>,
}

impl DecoderChoice {
    /// The kind `inference.precision` names, chosen without a probe.
    pub fn configured(numerics: Numerics, threads: usize) -> Self {
        Self {
            numerics,
            chosen_by: ChosenBy::Configuration,
            threads,
            probe: Vec::new(),
        }
    }

    /// Logs the choice and the probe's table at start-up.
    fn log(&self, model: &Path) {
        let table: Vec<String> = self
            .probe
            .iter()
            .map(|t| {
                format!(
                    "{}: prefill {:.1} ms, step {:.1} ms, max |Δlogit| {:.3}{}",
                    t.numerics,
                    t.prefill.as_secs_f64() * 1e3,
                    t.step.as_secs_f64() * 1e3,
                    t.max_logit_diff,
                    rejection_note(t.rejected.as_ref())
                )
            })
            .collect();
        tracing::info!(
            model = %model.display(),
            numerics = %self.numerics,
            probe = %table.join("; "),
            "decoder precision"
        );
    }
}

/// The kinds a decoder can run in on `device`, f32 first; packed 4-bit only on the CPU and
/// from a GGUF file.
pub fn candidates(device: Device, gguf: bool) -> Vec<Numerics> {
    let mut kinds = vec![Numerics::Dense(Kind::Float)];
    if gguf && device == Device::Cpu {
        kinds.push(Numerics::PackedInt4);
    }
    kinds.extend([Numerics::Dense(Kind::BFloat16), Numerics::Dense(Kind::Half)]);
    kinds
}

/// Choices already measured in this process, by model file, device and threads.
type ProbeKey = (PathBuf, String, usize);
static PROBED: LazyLock<Mutex<HashMap<ProbeKey, DecoderChoice>>> = LazyLock::new(Mutex::default);

/// Loads the decoder at `model` in the kind the probe picks among `candidates` (measured once
/// per process for each model, device and thread count); `load` builds it in one kind and
/// `prompt` is [`PROMPT`] in its tokens.
pub fn load_fastest(
    model: &Path,
    device: Device,
    threads: usize,
    candidates: &[Numerics],
    prompt: &[u32],
    load: impl Fn(Numerics) -> Result<Llama, InferenceError>,
) -> Result<(Llama, DecoderChoice), InferenceError> {
    let key = (model.to_path_buf(), format!("{device:?}"), threads);
    // Held while probing, so two loads on one machine never time each other.
    let mut probed = PROBED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(choice) = probed.get(&key) {
        let choice = choice.clone();
        return Ok((load(choice.numerics)?, choice));
    }
    let choice = {
        let _alone = probing_alone();
        probe(candidates, prompt, threads, &load)?
    };
    choice.log(model);
    probed.insert(key, choice.clone());
    Ok((load(choice.numerics)?, choice))
}

/// Times every kind in `candidates` (f32 first) on `prompt` and picks one.
fn probe(
    candidates: &[Numerics],
    prompt: &[u32],
    threads: usize,
    load: &impl Fn(Numerics) -> Result<Llama, InferenceError>,
) -> Result<DecoderChoice, InferenceError> {
    let (&reference_kind, others) = candidates
        .split_first()
        .ok_or_else(|| InferenceError::Invalid("no decoder kinds to probe".into()))?;
    let reference_model = load(reference_kind)?;
    let (reference, f32_timing) = measure(&reference_model, reference_kind, prompt, None)?;
    drop(reference_model);
    let budget = f32_timing.total().mul_f64(GIVE_UP_FACTOR);
    let mut timings = vec![f32_timing];
    for &numerics in others {
        let timing = load(numerics)
            .and_then(|model| measure(&model, numerics, prompt, Some((&reference, budget))))
            .map_or_else(
                |err| DecoderTiming {
                    numerics,
                    prefill: Duration::ZERO,
                    step: Duration::ZERO,
                    max_logit_diff: f32::INFINITY,
                    rejected: Some(err.to_string()),
                },
                |(_, timing)| timing,
            );
        timings.push(timing);
    }
    let reference_total = timings[0].total().as_secs_f64();
    let numerics = timings
        .iter()
        .skip(1)
        .filter(|t| t.rejected.is_none())
        .filter(|t| t.total().as_secs_f64() * MIN_SPEEDUP <= reference_total)
        .min_by_key(|t| t.total())
        .map_or(reference_kind, |t| t.numerics);
    Ok(DecoderChoice {
        numerics,
        chosen_by: ChosenBy::Probe,
        threads,
        probe: timings,
    })
}

/// The logits and greedy path of one run: the prompt, then [`STEPS`] tokens (f32's own
/// greedy tokens when `path` is given, so every kind is compared on the same inputs).
struct Run {
    logits: Vec<Vec<f32>>,
    path: Vec<u32>,
    prefill: Duration,
    steps: Duration,
}

fn run(model: &Llama, prompt: &[u32], path: Option<&[u32]>) -> Result<Run, InferenceError> {
    let mut cache = model.new_cache();
    let started = Instant::now();
    let mut last = model.forward(&mut [Segment {
        cache: &mut cache,
        tokens: prompt,
    }])?;
    let prefill = started.elapsed();
    let mut logits = vec![row(&last)?];
    let mut taken = Vec::with_capacity(STEPS);
    let started = Instant::now();
    for step in 0..STEPS {
        let token = match path {
            Some(path) => path[step],
            None => u32::try_from(last.argmax(-1, false).int64_value(&[0])).unwrap_or(0),
        };
        taken.push(token);
        last = model.forward(&mut [Segment {
            cache: &mut cache,
            tokens: &[token],
        }])?;
        logits.push(row(&last)?);
    }
    Ok(Run {
        logits,
        path: taken,
        prefill,
        steps: started.elapsed(),
    })
}

/// The logits of the one sequence in `logits` (`[1, vocab]`).
fn row(logits: &tch::Tensor) -> Result<Vec<f32>, InferenceError> {
    Vec::<f32>::try_from(logits.get(0)).map_err(|e| InferenceError::Invalid(e.to_string()))
}

/// One warm-up run, then two timed (the best counts); compared with `reference` (f32's run)
/// when given, giving up on timing once the warm-up exceeds its budget.
fn measure(
    model: &Llama,
    numerics: Numerics,
    prompt: &[u32],
    reference: Option<(&Run, Duration)>,
) -> Result<(Run, DecoderTiming), InferenceError> {
    let started = Instant::now();
    let warm_up = run(model, prompt, reference.map(|(r, _)| r.path.as_slice()))?;
    let warm_up_time = started.elapsed();
    let max_logit_diff = reference.map_or(0.0, |(r, _)| largest_difference(&warm_up, r));
    let mut timing = DecoderTiming {
        numerics,
        prefill: warm_up.prefill,
        step: warm_up.steps / STEPS as u32,
        max_logit_diff,
        rejected: (max_logit_diff > LOGIT_TOLERANCE)
            .then(|| format!("max |Δlogit| to f32 {max_logit_diff:.3} > {LOGIT_TOLERANCE}")),
    };
    if let Some((_, budget)) = reference
        && warm_up_time > budget
    {
        timing.rejected.get_or_insert_with(|| {
            format!(
                "warm-up {:.0} ms, over {GIVE_UP_FACTOR}x f32",
                warm_up_time.as_secs_f64() * 1e3
            )
        });
        return Ok((warm_up, timing));
    }
    for _ in 0..2 {
        let again = run(model, prompt, Some(&warm_up.path))?;
        timing.prefill = timing.prefill.min(again.prefill);
        timing.step = timing.step.min(again.steps / STEPS as u32);
    }
    Ok((warm_up, timing))
}

/// Largest |Δlogit| between two runs' rows (infinite when shapes differ or a value is not
/// finite).
fn largest_difference(ours: &Run, reference: &Run) -> f32 {
    if ours.logits.len() != reference.logits.len() {
        return f32::INFINITY;
    }
    ours.logits
        .iter()
        .zip(&reference.logits)
        .map(|(a, b)| {
            if a.len() != b.len() {
                return f32::INFINITY;
            }
            a.iter()
                .zip(b)
                .map(|(x, y)| {
                    let d = (x - y).abs();
                    if d.is_finite() { d } else { f32::INFINITY }
                })
                .fold(0.0, f32::max)
        })
        .fold(0.0, f32::max)
}
