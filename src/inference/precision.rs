//! Floating-point precision of the neural models: the `inference.precision` setting, and the
//! probe that, for `auto`, times each precision the device runs on a representative batch and
//! a single query, checks its outputs against f32 and keeps the fastest that agrees.
//!
//! Machines differ (bf16 is about 6x slower than f32 on an AVX2-only CPU and 2-3x faster on
//! one with AVX-512-BF16), so no precision is assumed: it is measured where the server runs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use tch::{Device, Kind};

use super::Encoded;
use super::InferenceError;
use super::batcher::{ThreadPlan, set_torch_threads};
use super::tokenizer::TextTokenizer;
use crate::config::{Precision, PrecisionSetting, Threads};

impl Precision {
    /// The tensor kind of this precision.
    pub fn kind(self) -> Kind {
        match self {
            Precision::F32 => Kind::Float,
            Precision::Bf16 => Kind::BFloat16,
            Precision::F16 => Kind::Half,
        }
    }
}

/// Least cosine between a precision's embedding and f32's, per input, for it to be used.
/// Measured on all-MiniLM-L6-v2 over the probe's passages: bf16 (8 mantissa bits) 0.99993,
/// f16 0.999999; the parity tests hold both to 0.999 against sentence-transformers. 0.999
/// keeps a margin of ten times bf16's loss and still rejects a precision that overflows or
/// loses the signal (NaN, saturated activations give cosines far below it).
pub const MIN_COSINE: f32 = 0.999;

/// How much faster than f32 a precision's batch must be to be chosen, and how much slower its
/// single query may be: timings on a shared machine vary by more than a few percent, and
/// within that noise the exact precision is the better choice. (A short query is dominated by
/// per-call overhead, so its time barely moves with the precision.)
const MIN_SPEEDUP: f64 = 1.1;

/// A precision whose warm-up batch takes longer than this many f32 batches is not timed
/// further (f16 on a CPU without f16 arithmetic can be tens of times slower).
const GIVE_UP_FACTOR: f64 = 4.0;

/// Tokens per probe passage (special tokens included): a typical chunk.
const PROBE_TOKENS: usize = 128;

/// The representative batch: eight passages of legal text (Regeringsformen, SFS 1974:152,
/// and its English translation), each cut to [`PROBE_TOKENS`] tokens.
const PROBE_PASSAGES: [&str; 8] = [
    "1 kap. Statsskickets grunder. 1 § All offentlig makt i Sverige utgår från folket. Den \
     svenska folkstyrelsen bygger på fri åsiktsbildning och på allmän och lika rösträtt. Den \
     förverkligas genom ett representativt och parlamentariskt statsskick och genom kommunal \
     självstyrelse. Den offentliga makten utövas under lagarna.",
    "2 § Den offentliga makten ska utövas med respekt för alla människors lika värde och för \
     den enskilda människans frihet och värdighet. Den enskildes personliga, ekonomiska och \
     kulturella välfärd ska vara grundläggande mål för den offentliga verksamheten. Särskilt \
     ska det allmänna trygga rätten till arbete, bostad och utbildning samt verka för social \
     omsorg och trygghet och för goda förutsättningar för hälsa.",
    "Chapter 1. Basic principles of the form of government. Art. 1. All public power in \
     Sweden proceeds from the people. Swedish democracy is founded on the free formation of \
     opinion and on universal and equal suffrage. It shall be realised through a \
     representative and parliamentary form of government and through local self-government. \
     Public power shall be exercised under the law.",
    "Art. 2. Public power shall be exercised with respect for the equal worth of all and the \
     liberty and dignity of the individual. The personal, economic and cultural welfare of \
     the individual shall be fundamental aims of public activity. In particular, the public \
     institutions shall secure the right to employment, housing and education, and shall \
     promote social care and social security, as well as favourable conditions for good \
     health.",
    "2 kap. Grundläggande fri- och rättigheter. 1 § Var och en är gentemot det allmänna \
     tillförsäkrad yttrandefrihet: frihet att i tal, skrift eller bild eller på annat sätt \
     meddela upplysningar samt uttrycka tankar, åsikter och känslor, informationsfrihet: \
     frihet att inhämta och ta emot upplysningar samt att i övrigt ta del av andras \
     yttranden, mötesfrihet och demonstrationsfrihet.",
    "Chapter 2. Fundamental rights and freedoms. Art. 1. Everyone shall be guaranteed the \
     following rights and freedoms in their relations with the public institutions: freedom \
     of expression, that is the freedom to communicate information and express thoughts, \
     opinions and sentiments, whether orally, pictorially, in writing or in any other way; \
     freedom of information, that is the freedom to procure and receive information and \
     otherwise acquaint oneself with the utterances of others.",
    "9 § Domstolar samt förvaltningsmyndigheter och andra som fullgör offentliga \
     förvaltningsuppgifter ska i sin verksamhet beakta allas likhet inför lagen och iaktta \
     saklighet och opartiskhet. 10 § Val till riksdagen sker varje fjärde år. Riksdagen \
     stiftar lag, beslutar om skatt till staten och bestämmer hur statens medel ska \
     användas. Riksdagen granskar rikets styrelse och förvaltning.",
    "Art. 9. Courts of law, administrative authorities and others performing public \
     administration functions shall pay regard in their work to the equality of all before \
     the law and shall observe objectivity and impartiality. The Riksdag enacts the laws, \
     determines state taxes and decides how state funds shall be employed. The Riksdag \
     shall examine the government and administration of the realm.",
];

/// The single short query of the probe.
const PROBE_QUERY: &str = "Vem stiftar lag och beslutar om skatt till staten?";

/// A model the probe can time: it runs encoded inputs and gives one vector per input.
pub(crate) trait Probed: Sized {
    /// One vector per input, in order, from one forward pass per call.
    fn probe_outputs(&self, inputs: &[Encoded]) -> Result<Vec<Vec<f32>>, InferenceError>;
}

/// How one precision did in the probe.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeTiming {
    /// The precision timed.
    pub precision: Precision,
    /// Time of the eight-passage batch (best of the timed runs).
    pub batch: Duration,
    /// Time of the single short query (best of the timed runs).
    pub query: Duration,
    /// Least cosine of its outputs to f32's (1 for f32 itself).
    pub min_cosine: f32,
    /// Why it cannot be used: outputs too far from f32, too slow to time, or an error.
    pub rejected: Option<String>,
}

/// Who chose a model's precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChosenBy {
    /// The probe, measuring at load (`inference.precision = "auto"`).
    Probe,
    /// The operator (`inference.precision` set to a precision).
    Configuration,
    /// A fixed rule for models the probe does not cover yet (the cross-encoder under `auto`:
    /// bf16 on a GPU, f32 on the CPU).
    Default,
}

impl ChosenBy {
    /// `probe`, `configuration` or `default`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChosenBy::Probe => "probe",
            ChosenBy::Configuration => "configuration",
            ChosenBy::Default => "default",
        }
    }
}

/// The precision a model runs in and how it was chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct PrecisionChoice {
    /// The precision in use.
    pub precision: Precision,
    /// Who chose it.
    pub chosen_by: ChosenBy,
    /// The probe's measurements, f32 first; empty unless the probe chose.
    pub probe: Vec<ProbeTiming>,
    /// The torch threads its batches run on, for a model loaded through the probe.
    pub threads: Option<ThreadChoice>,
}

/// The torch threads of a model's queries and of its bulk work, and how they were chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadChoice {
    /// Threads per kind of work.
    pub plan: ThreadPlan,
    /// Each thread count timed (fewest first) in the chosen precision; empty when both counts
    /// were set or the process may use one core.
    pub probe: Vec<ThreadTiming>,
}

/// How one thread count did.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadTiming {
    /// Threads timed.
    pub threads: usize,
    /// Time of the eight-passage batch (best run).
    pub batch: Duration,
    /// Time of the single short query (best run).
    pub query: Duration,
}

impl PrecisionChoice {
    /// A precision chosen without a probe.
    pub fn unprobed(precision: Precision, chosen_by: ChosenBy) -> Self {
        Self {
            precision,
            chosen_by,
            probe: Vec::new(),
            threads: None,
        }
    }

    /// The precision of an unprobed model under `setting` on `device`: the configured one, or
    /// for `auto` bf16 on a GPU and f32 on the CPU.
    pub fn without_probe(setting: PrecisionSetting, device: Device) -> Self {
        match setting {
            PrecisionSetting::Fixed(precision) => {
                Self::unprobed(precision, ChosenBy::Configuration)
            }
            PrecisionSetting::Auto if device.is_cuda() => {
                Self::unprobed(Precision::Bf16, ChosenBy::Default)
            }
            PrecisionSetting::Auto => Self::unprobed(Precision::F32, ChosenBy::Default),
        }
    }

    /// Logs the choice and the probe's table at start-up.
    pub(crate) fn log(&self, model: &Path) {
        let table: Vec<String> = self
            .probe
            .iter()
            .map(|t| {
                format!(
                    "{}: batch {:.1} ms, query {:.2} ms, min cosine {:.5}{}",
                    t.precision,
                    t.batch.as_secs_f64() * 1e3,
                    t.query.as_secs_f64() * 1e3,
                    t.min_cosine,
                    rejection_note(t.rejected.as_ref())
                )
            })
            .collect();
        let threads = self.threads.as_ref().map_or(String::new(), |t| {
            let timed: Vec<String> = t
                .probe
                .iter()
                .map(|t| {
                    format!(
                        "{}: batch {:.1} ms, query {:.2} ms",
                        t.threads,
                        t.batch.as_secs_f64() * 1e3,
                        t.query.as_secs_f64() * 1e3
                    )
                })
                .collect();
            format!(
                "interactive {}, bulk {} ({})",
                t.plan.interactive,
                t.plan.bulk,
                timed.join("; ")
            )
        });
        tracing::info!(
            model = %model.display(),
            precision = %self.precision,
            chosen_by = self.chosen_by.as_str(),
            probe = %table.join("; "),
            threads = %threads,
            "model precision"
        );
    }
}

/// ` (rejected: why)` after a probe's row, or nothing for a usable one.
pub(crate) fn rejection_note(rejected: Option<&String>) -> String {
    rejected.map_or(String::new(), |why| format!(" (rejected: {why})"))
}

/// Probe results already measured in this process, by model directory, device and the
/// precision and thread settings: a second worker on the same network (the MaxSim reranker
/// beside the encoder) reuses them.
type ProbeKey = (PathBuf, String, String);
static PROBED: LazyLock<Mutex<HashMap<ProbeKey, PrecisionChoice>>> = LazyLock::new(Mutex::default);

/// Held while any probe in this process times a model (the encoders' and the decoder's), so
/// that no probe's timings include another's work.
static PROBING: Mutex<()> = Mutex::new(());

/// Waits until no other probe runs and holds that until the guard drops.
pub(crate) fn probing_alone() -> std::sync::MutexGuard<'static, ()> {
    PROBING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The thread settings of a probed model: interactive and bulk, each a count or `auto`.
pub type ThreadSettings = (Threads, Threads);

/// Loads a model in the precision `setting` names, or for [`PrecisionSetting::Auto`] in the
/// one the probe picks on `device`, and chooses its threads: an `auto` count is the faster of
/// one thread and every core for the single query (interactive) or the batch (bulk) in that
/// precision. Measured once per process for each model directory, device and settings;
/// `load` builds the model from `dir` in one precision.
pub(crate) fn load_with_precision<M: Probed>(
    dir: &Path,
    setting: PrecisionSetting,
    device: Device,
    threads: ThreadSettings,
    load: impl Fn(Precision) -> Result<M, InferenceError>,
) -> Result<(M, Arc<PrecisionChoice>), InferenceError> {
    let key = (
        dir.to_path_buf(),
        format!("{device:?}"),
        format!("{setting:?}/{threads:?}"),
    );
    // Held while probing, so two workers on one machine never time each other's load.
    let mut probed = PROBED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(choice) = probed.get(&key) {
        let choice = choice.clone();
        return Ok((load(choice.precision)?, Arc::new(choice)));
    }
    let tokenizer = TextTokenizer::load(dir, PROBE_TOKENS)?;
    let batch = PROBE_PASSAGES
        .iter()
        .map(|p| tokenizer.encode(p))
        .collect::<Result<Vec<_>, _>>()?;
    let query = [tokenizer.encode(PROBE_QUERY)?];
    let _alone = probing_alone();
    let (model, mut choice) = match setting {
        PrecisionSetting::Fixed(precision) => (
            load(precision)?,
            PrecisionChoice::unprobed(precision, ChosenBy::Configuration),
        ),
        PrecisionSetting::Auto => {
            // The chosen precision is loaded afresh once the probe's models are gone: the
            // copy timed beside them ran multilingual-e5-small about 25% slower in bulk
            // (2,727–2,828 vs 3,423–3,853 tokens/s with the precision named).
            let (probed_model, choice) = probe(&batch, &query, &load)?;
            drop(probed_model);
            (load(choice.precision)?, choice)
        }
    };
    choice.threads = Some(choose_threads(&model, &batch, &query, threads)?);
    choice.log(dir);
    probed.insert(key, choice.clone());
    Ok((model, Arc::new(choice)))
}

/// Least share of the ideal speed-up more threads must give to be used: a thread that adds
/// less takes a core from what runs beside the model (HTTP, BM25, other requests). On a
/// 2-core AVX2 machine one MiniLM query ran 1.34x faster on 2 threads in isolation (67%) but
/// slower over HTTP at 1 and 10 concurrent requests; a batch ran 1.87x faster (94%) and
/// ingestion 33% faster end to end.
const MIN_PARALLEL_EFFICIENCY: f64 = 0.75;

/// Rounds of the thread probe: one to warm up, then timed ones.
const THREAD_ROUNDS: usize = 4;

/// The threads of `model`'s queries and bulk batches: counts that are set are kept; an `auto`
/// one is timed on one thread and on every core this process may use, and more threads are
/// used only when they give [`MIN_PARALLEL_EFFICIENCY`] of the ideal speed-up.
fn choose_threads<M: Probed>(
    model: &M,
    batch: &[Encoded],
    query: &[Encoded],
    (interactive, bulk): ThreadSettings,
) -> Result<ThreadChoice, InferenceError> {
    let cores = Threads::Auto.count();
    let counts = [1, cores];
    let auto = interactive == Threads::Auto || bulk == Threads::Auto;
    let mut probe = Vec::new();
    if auto && cores > 1 {
        probe = counts
            .iter()
            .map(|&threads| ThreadTiming {
                threads,
                batch: Duration::MAX,
                query: Duration::MAX,
            })
            .collect();
        // Rounds alternate the counts, so a passing disturbance (another model loading
        // beside this one) costs each count alike; the best of each counts. Round 0 warms up.
        for round in 0..THREAD_ROUNDS {
            for timing in &mut probe {
                set_torch_threads(timing.threads);
                let (batch, query) = (time(model, batch)?, time(model, query)?);
                if round > 0 {
                    timing.batch = timing.batch.min(batch);
                    timing.query = timing.query.min(query);
                }
            }
        }
        set_torch_threads(interactive.count());
    }
    let fastest = |of: fn(&ThreadTiming) -> Duration| {
        probe
            .iter()
            .fold(None::<&ThreadTiming>, |best, t| match best {
                Some(b) => {
                    let speedup = of(b).as_secs_f64() / of(t).as_secs_f64().max(1e-9);
                    let ideal = t.threads as f64 / b.threads as f64;
                    Some(if speedup >= MIN_PARALLEL_EFFICIENCY * ideal {
                        t
                    } else {
                        b
                    })
                }
                None => Some(t),
            })
    };
    let pick = |setting: Threads, of: fn(&ThreadTiming) -> Duration| match setting {
        Threads::Count(n) => n,
        Threads::Auto => fastest(of).map_or(cores, |t| t.threads),
    };
    Ok(ThreadChoice {
        plan: ThreadPlan {
            interactive: pick(interactive, |t| t.query),
            bulk: pick(bulk, |t| t.batch),
        },
        probe,
    })
}

/// How long `model` takes over `inputs`.
fn time<M: Probed>(model: &M, inputs: &[Encoded]) -> Result<Duration, InferenceError> {
    let started = Instant::now();
    model.probe_outputs(inputs)?;
    Ok(started.elapsed())
}

/// Times every precision on `batch` and `query` and keeps the model of the one chosen.
fn probe<M: Probed>(
    batch: &[Encoded],
    query: &[Encoded],
    load: &impl Fn(Precision) -> Result<M, InferenceError>,
) -> Result<(M, PrecisionChoice), InferenceError> {
    let reference_model = load(Precision::F32)?;
    let (reference, f32_timing) = measure(&reference_model, Precision::F32, batch, query, None)?;
    let mut best: Option<(M, Precision, f64)> = None;
    let mut timings = vec![f32_timing];
    for precision in Precision::ALL.into_iter().skip(1) {
        let budget = timings[0].batch.mul_f64(GIVE_UP_FACTOR);
        let measured = load(precision).and_then(|model| {
            let (_, timing) = measure(&model, precision, batch, query, Some((&reference, budget)))?;
            Ok((model, timing))
        });
        let timing = match measured {
            Ok((model, timing)) => {
                let ratio = |of: fn(&ProbeTiming) -> Duration| {
                    of(&timing).as_secs_f64() / of(&timings[0]).as_secs_f64().max(1e-9)
                };
                let (batch, query) = (ratio(|t| t.batch), ratio(|t| t.query));
                if timing.rejected.is_none()
                    && batch * MIN_SPEEDUP <= 1.0
                    && query <= MIN_SPEEDUP
                    && best.as_ref().is_none_or(|(_, _, b)| batch < *b)
                {
                    best = Some((model, precision, batch));
                }
                timing
            }
            Err(err) => failed(precision, err),
        };
        timings.push(timing);
    }
    let (model, precision) = best.map_or((reference_model, Precision::F32), |(m, p, _)| (m, p));
    Ok((
        model,
        PrecisionChoice {
            precision,
            chosen_by: ChosenBy::Probe,
            probe: timings,
            threads: None,
        },
    ))
}

/// A precision that failed to load or run.
fn failed(precision: Precision, err: InferenceError) -> ProbeTiming {
    ProbeTiming {
        precision,
        batch: Duration::ZERO,
        query: Duration::ZERO,
        min_cosine: 0.0,
        rejected: Some(err.to_string()),
    }
}

/// Runs the batch and the query once to warm up, then twice each timed (the best counts);
/// compares the outputs with `reference` (f32's batch then query outputs) when given, giving
/// up on timing once the warm-up batch exceeds its budget. Returns the outputs and timings.
fn measure<M: Probed>(
    model: &M,
    precision: Precision,
    batch: &[Encoded],
    query: &[Encoded],
    reference: Option<(&[Vec<f32>], Duration)>,
) -> Result<(Vec<Vec<f32>>, ProbeTiming), InferenceError> {
    let time = |inputs: &[Encoded]| -> Result<(Vec<Vec<f32>>, Duration), InferenceError> {
        let started = Instant::now();
        let outputs = model.probe_outputs(inputs)?;
        Ok((outputs, started.elapsed()))
    };
    let (mut outputs, warm_up) = time(batch)?;
    outputs.extend(time(query)?.0);
    let min_cosine = reference.map_or(1.0, |(expected, _)| least_cosine(&outputs, expected));
    let mut timing = ProbeTiming {
        precision,
        batch: warm_up,
        query: Duration::MAX,
        min_cosine,
        rejected: (min_cosine < MIN_COSINE)
            .then(|| format!("cosine to f32 {min_cosine:.5} < {MIN_COSINE}")),
    };
    if let Some((_, budget)) = reference
        && warm_up > budget
    {
        timing.rejected = Some(format!(
            "warm-up batch {:.0} ms, over {GIVE_UP_FACTOR}x f32",
            warm_up.as_secs_f64() * 1e3
        ));
        timing.query = time(query)?.1;
        return Ok((outputs, timing));
    }
    for _ in 0..2 {
        timing.batch = timing.batch.min(time(batch)?.1);
        timing.query = timing.query.min(time(query)?.1);
    }
    Ok((outputs, timing))
}

/// The least cosine similarity between corresponding vectors (0 when lengths differ or a
/// value is not finite).
fn least_cosine(ours: &[Vec<f32>], reference: &[Vec<f32>]) -> f32 {
    if ours.len() != reference.len() {
        return 0.0;
    }
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    ours.iter()
        .zip(reference)
        .map(|(a, b)| {
            let cosine = dot(a, b) / (dot(a, a).sqrt() * dot(b, b).sqrt());
            if a.len() == b.len() && cosine.is_finite() {
                cosine
            } else {
                0.0
            }
        })
        .fold(f32::INFINITY, f32::min)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_cosine_flags_mismatches_and_nan() {
        let a = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
        assert!((least_cosine(&a, &a) - 1.0).abs() < 1e-6);
        let b = vec![vec![1.0, 0.0], vec![0.6, 0.8]];
        assert!((least_cosine(&a, &b) - 0.8).abs() < 1e-6);
        assert_eq!(least_cosine(&a, &b[..1]), 0.0);
        assert_eq!(least_cosine(&[vec![f32::NAN, 0.0]], &a[..1]), 0.0);
    }

    /// A model whose speed and accuracy are given: the probe must pick the fastest precision
    /// that agrees with f32, and never one that disagrees or is barely faster.
    struct Fake {
        delay: Duration,
        skew: f32,
    }

    impl Probed for Fake {
        fn probe_outputs(&self, inputs: &[Encoded]) -> Result<Vec<Vec<f32>>, InferenceError> {
            std::thread::sleep(self.delay);
            Ok(inputs.iter().map(|_| vec![1.0, self.skew]).collect())
        }
    }

    fn chosen(profile: impl Fn(Precision) -> (u64, f32)) -> PrecisionChoice {
        let input = |n: usize| Encoded {
            ids: vec![1; n],
            type_ids: vec![0; n],
            truncated: false,
        };
        let batch: Vec<Encoded> = (0..8).map(|_| input(128)).collect();
        let load = |p: Precision| {
            let (ms, skew) = profile(p);
            Ok(Fake {
                delay: Duration::from_millis(ms),
                skew,
            })
        };
        probe(&batch, &[input(12)], &load).expect("probe").1
    }

    /// A model that runs faster on more torch threads: the batch at 94% of the ideal speed-up,
    /// the single query at 34% (as measured for MiniLM on two AVX2 cores).
    struct Scaling;

    impl Probed for Scaling {
        fn probe_outputs(&self, inputs: &[Encoded]) -> Result<Vec<Vec<f32>>, InferenceError> {
            let extra = f64::from(tch::get_num_threads() - 1);
            let (ms, efficiency) = if inputs.len() > 1 {
                (80.0, 0.94)
            } else {
                (40.0, 0.34)
            };
            std::thread::sleep(Duration::from_secs_f64(
                ms / 1e3 / (1.0 + efficiency * extra),
            ));
            Ok(inputs.iter().map(|_| vec![1.0]).collect())
        }
    }

    #[test]
    fn threads_are_used_where_they_pay_for_themselves_and_set_counts_win() {
        let input = |n: usize| Encoded {
            ids: vec![1; n],
            type_ids: vec![0; n],
            truncated: false,
        };
        let batch: Vec<Encoded> = (0..8).map(|_| input(128)).collect();
        let query = [input(12)];
        let auto = (Threads::Auto, Threads::Auto);
        let chosen = choose_threads(&Scaling, &batch, &query, auto).unwrap();
        let cores = Threads::Auto.count();
        let timed: Vec<usize> = chosen.probe.iter().map(|t| t.threads).collect();
        if cores == 1 {
            assert!(timed.is_empty());
            assert_eq!(chosen.plan, ThreadPlan::uniform(1));
        } else {
            assert_eq!(timed, [1, cores]);
            let expected = ThreadPlan {
                interactive: 1,
                bulk: cores,
            };
            assert_eq!(chosen.plan, expected, "{chosen:?}");
        }
        let set = (Threads::Count(3), Threads::Count(2));
        let chosen = choose_threads(&Scaling, &batch, &query, set).unwrap();
        assert!(chosen.probe.is_empty());
        let expected = ThreadPlan {
            interactive: 3,
            bulk: 2,
        };
        assert_eq!(chosen.plan, expected);
    }

    #[test]
    fn probe_picks_the_fastest_precision_within_tolerance() {
        let fast_bf16 = chosen(|p| match p {
            Precision::F32 => (20, 0.0),
            Precision::Bf16 => (6, 0.01),
            Precision::F16 => (10, 0.0),
        });
        assert_eq!(fast_bf16.precision, Precision::Bf16);
        assert_eq!(fast_bf16.chosen_by, ChosenBy::Probe);
        assert_eq!(fast_bf16.probe.len(), 3);
        // A precision whose outputs drift (cosine 0.98) is rejected however fast.
        let drifting = chosen(|p| match p {
            Precision::F32 => (20, 0.0),
            Precision::Bf16 => (6, 0.2),
            Precision::F16 => (30, 0.0),
        });
        assert_eq!(drifting.precision, Precision::F32);
        assert!(drifting.probe[1].rejected.is_some(), "{drifting:?}");
        // Far slower than f32: given up after the warm-up.
        assert!(drifting.probe[2].rejected.is_none());
        let slow = chosen(|p| match p {
            Precision::F32 => (5, 0.0),
            _ => (40, 0.0),
        });
        assert_eq!(slow.precision, Precision::F32);
        assert!(
            slow.probe[1]
                .rejected
                .as_deref()
                .unwrap()
                .contains("warm-up")
        );
    }
}
