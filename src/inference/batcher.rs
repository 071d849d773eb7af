//! Dynamic micro-batching: one worker thread owns a model and serves every caller.
//!
//! Callers submit a list of inputs and await their outputs. Inputs wait in two queues
//! (interactive before bulk, so ingestion never starves queries); the worker drains them into
//! batches bounded by a padded-token budget, sorted by length to minimise padding, and
//! answers each caller through its own channel. Inputs of callers that went away are skipped.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::config::{Loading, Threads};

/// A model that runs batches on the worker thread.
pub trait BatchModel: Send + 'static {
    /// One item of work (e.g. a tokenized text).
    type Input: Send + 'static;
    /// Its result (e.g. an embedding).
    type Output: Send + 'static;

    /// Length of one input in tokens; a batch costs `longest × count`.
    fn length(input: &Self::Input) -> usize;

    /// Runs one batch; outputs in input order.
    fn run(&mut self, batch: Vec<Self::Input>) -> Result<Vec<Self::Output>, String>;

    /// The threads the model's batches should run on when it measured them itself at load;
    /// `None` runs them on the batcher's configured [`ThreadPlan`].
    fn thread_plan(&self) -> Option<ThreadPlan> {
        None
    }
}

/// Most batches of bulk items sorted by length together in one round.
const BULK_ROUND_BATCHES: usize = 4;
/// Most padding a batch of bulk items may add to their real tokens, in percent. On a CPU a
/// padded token costs as much as a real one and a bigger batch is barely faster per token.
const BULK_PADDING_PERCENT: usize = 10;
/// Padding in tokens a batch of bulk items may always add (short items batch together).
const BULK_PADDING_FLOOR: usize = 32;

/// How long a batch of bulk items should take: a query that arrives meanwhile waits for it,
/// so bulk batches are sized in time (by the worker's measured speed), not only in tokens.
const BULK_BATCH_SECONDS: f64 = 0.15;
/// Padded tokens of bulk batches until the worker has timed one.
const FIRST_BULK_BATCH_TOKENS: usize = 1024;

/// Which queue a request waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Latency-sensitive work (queries); always served first.
    Interactive,
    /// Throughput work (ingestion, reindexing).
    Bulk,
}

/// Limits of one batcher.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    /// Most padded tokens (longest × count) in one batch.
    pub max_batch_tokens: usize,
    /// Most inputs in one batch.
    pub max_batch_size: usize,
    /// Most inputs waiting; beyond it submissions are refused (back-pressure).
    pub max_queued: usize,
    /// Torch threads of interactive and of bulk batches.
    pub threads: ThreadPlan,
}

/// Padded tokens from which an interactive batch counts as large: the thread probe's batch
/// (eight 128-token passages).
const LARGE_BATCH_TOKENS: usize = 1024;

/// Torch intra-op threads a batch runs on, by the most urgent input in it and its size. OpenMP keeps the
/// count per OS thread, so each model worker sets its own before every batch without
/// touching the other workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadPlan {
    /// Threads of a batch that holds an interactive input.
    pub interactive: usize,
    /// Threads of a batch of bulk inputs only.
    pub bulk: usize,
}

impl ThreadPlan {
    /// The same count for every batch.
    pub const fn uniform(threads: usize) -> Self {
        Self {
            interactive: threads,
            bulk: threads,
        }
    }

    /// The plan of `inference.threads` and `inference.bulk_threads` for a model that does not
    /// time its threads at load: `auto` is every core this process may use.
    pub fn from_settings(threads: Threads, bulk: Threads) -> Self {
        Self {
            interactive: threads.count().max(1),
            bulk: bulk.count().max(1),
        }
    }

    /// The count for a batch of `priority` holding `padded_tokens`. An interactive batch as
    /// large as a bulk one (a reranker's candidates) runs on the larger of the two counts: the
    /// bulk count is the one that suits batches.
    pub fn for_batch(self, priority: Priority, padded_tokens: usize) -> usize {
        match priority {
            Priority::Interactive if padded_tokens >= LARGE_BATCH_TOKENS => {
                self.interactive.max(self.bulk)
            }
            Priority::Interactive => self.interactive,
            Priority::Bulk => self.bulk,
        }
    }
}

/// Sets torch's intra-op threads of the calling thread (and of threads torch has not used yet).
pub fn set_torch_threads(threads: usize) {
    // Torch sets a thread's count from the process-wide one on its first use there: reading
    // the count first makes that happen now, not later over this setting.
    let _ = tch::get_num_threads();
    tch::set_num_threads(i32::try_from(threads.max(1)).unwrap_or(i32::MAX));
}

/// Why a submission produced no outputs.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BatchError {
    /// The queue is full; retry later.
    #[error("the model queue is full ({0} inputs waiting); retry later")]
    QueueFull(usize),
    /// The model failed on a batch containing this request.
    #[error("model failure: {0}")]
    Model(String),
    /// The worker has stopped.
    #[error("the model worker has stopped")]
    Stopped,
    /// The model could not be loaded.
    #[error("the model is not available: {0}")]
    NotLoaded(String),
}

impl From<BatchError> for crate::error::AppError {
    /// A full queue (back-pressure) and a model that did not load are 503s; anything else is
    /// an internal failure.
    fn from(err: BatchError) -> Self {
        match err {
            BatchError::QueueFull(_) | BatchError::NotLoaded(_) => {
                crate::error::AppError::Unavailable(err.to_string())
            }
            other => crate::error::AppError::Internal(other.to_string()),
        }
    }
}

/// Where a worker's model is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelState {
    /// Not loaded yet: [`Loading::Lazy`] loads it on the first input.
    NotLoaded,
    /// Loading now.
    Loading,
    /// Loaded and serving.
    Loaded,
    /// Loading failed; every submission gets [`BatchError::NotLoaded`].
    Failed(String),
}

/// Counters of one batcher, for metrics.
#[derive(Debug, Default)]
pub struct BatchStats {
    /// Batches run.
    pub batches: AtomicU64,
    /// Inputs processed.
    pub inputs: AtomicU64,
    /// Real (unpadded) tokens processed.
    pub tokens: AtomicU64,
    /// Padded tokens processed.
    pub padded_tokens: AtomicU64,
}

/// Outputs collected for one submission until all have arrived.
struct Pending<O> {
    outputs: Vec<Option<O>>,
    remaining: usize,
    reply: Option<oneshot::Sender<Result<Vec<O>, BatchError>>>,
}

type Shared<O> = Arc<Mutex<Pending<O>>>;

/// One input waiting in a queue, with where its output goes.
struct Item<I, O> {
    input: I,
    length: usize,
    index: usize,
    pending: Shared<O>,
}

struct Queues<I, O> {
    interactive: VecDeque<Item<I, O>>,
    bulk: VecDeque<Item<I, O>>,
    /// How many items at the front of `bulk` form the current round: sorted by length and
    /// all run before any item queued after them (so none waits for ever).
    bulk_round: usize,
    stopping: bool,
    /// Kept under the queues' lock so that no input is queued after a failed load.
    model: ModelState,
}

impl<I, O> Queues<I, O> {
    fn len(&self) -> usize {
        self.interactive.len() + self.bulk.len()
    }
}

struct Inner<I, O> {
    queues: Mutex<Queues<I, O>>,
    ready: Condvar,
    limits: BatchLimits,
    stats: BatchStats,
}

/// The handle callers use; cheap to clone. The worker stops when the last handle drops.
pub struct Batcher<M: BatchModel> {
    inner: Arc<Inner<M::Input, M::Output>>,
    worker: Arc<WorkerGuard<M::Input, M::Output>>,
}

impl<M: BatchModel> Clone for Batcher<M> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            worker: self.worker.clone(),
        }
    }
}

/// Stops and joins the worker thread when the last handle goes.
struct WorkerGuard<I, O> {
    inner: Arc<Inner<I, O>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl<I, O> Drop for WorkerGuard<I, O> {
    fn drop(&mut self) {
        self.inner.queues.lock().expect("queue lock").stopping = true;
        self.inner.ready.notify_all();
        if let Some(thread) = self.thread.lock().expect("thread lock").take() {
            let _ = thread.join();
        }
    }
}

impl<M: BatchModel> Batcher<M> {
    /// Starts a worker thread named `name` that builds its model with `load` (so the model
    /// is created on, and never leaves, that thread) when `loading` says. Fails when the
    /// thread cannot start, or, with [`Loading::Eager`], when `load` fails.
    pub fn start<F>(
        name: &str,
        limits: BatchLimits,
        loading: Loading,
        load: F,
    ) -> Result<Self, String>
    where
        F: FnOnce() -> Result<M, String> + Send + 'static,
    {
        let inner = Arc::new(Inner {
            queues: Mutex::new(Queues {
                interactive: VecDeque::new(),
                bulk: VecDeque::new(),
                bulk_round: 0,
                stopping: false,
                model: ModelState::NotLoaded,
            }),
            ready: Condvar::new(),
            limits,
            stats: BatchStats::default(),
        });
        let (loaded_tx, loaded_rx) = std::sync::mpsc::channel();
        let worker_inner = inner.clone();
        let thread = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                let loaded = load_when_due(&worker_inner, loading, load);
                let _ = loaded_tx.send(loaded.as_ref().map(|_| ()).map_err(Clone::clone));
                if let Ok(model) = loaded {
                    worker_loop(model, &worker_inner);
                }
            })
            .map_err(|e| format!("cannot start thread {name}: {e}"))?;
        let worker = Arc::new(WorkerGuard {
            inner: inner.clone(),
            thread: Mutex::new(Some(thread)),
        });
        if loading == Loading::Eager {
            loaded_rx
                .recv()
                .unwrap_or_else(|_| Err(format!("{name} worker died while loading")))?;
        }
        Ok(Self { inner, worker })
    }

    /// Where the model is now.
    pub fn model_state(&self) -> ModelState {
        self.inner.queues.lock().expect("queue lock").model.clone()
    }

    /// Queues `inputs` and waits for their outputs (in order). Refused at once when the
    /// queue would exceed its bound.
    pub async fn submit(
        &self,
        inputs: Vec<M::Input>,
        priority: Priority,
    ) -> Result<Vec<M::Output>, BatchError> {
        if inputs.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, receiver) = oneshot::channel();
        let count = inputs.len();
        let pending = Arc::new(Mutex::new(Pending {
            outputs: (0..count).map(|_| None).collect(),
            remaining: count,
            reply: Some(reply),
        }));
        {
            let mut queues = self.inner.queues.lock().expect("queue lock");
            if let ModelState::Failed(why) = &queues.model {
                return Err(BatchError::NotLoaded(why.clone()));
            }
            let waiting = queues.len();
            if waiting > 0 && waiting + count > self.inner.limits.max_queued {
                return Err(BatchError::QueueFull(waiting));
            }
            let queue = match priority {
                Priority::Interactive => &mut queues.interactive,
                Priority::Bulk => &mut queues.bulk,
            };
            // Queued shortest first, so consecutive items (and so each batch) need little padding.
            let mut items: Vec<(usize, M::Input)> = inputs.into_iter().enumerate().collect();
            items.sort_by_key(|(_, input)| M::length(input));
            for (index, input) in items {
                queue.push_back(Item {
                    length: M::length(&input),
                    input,
                    index,
                    pending: pending.clone(),
                });
            }
        }
        self.inner.ready.notify_one();
        receiver.await.unwrap_or(Err(BatchError::Stopped))
    }

    /// Inputs waiting now.
    pub fn queue_depth(&self) -> usize {
        self.inner.queues.lock().expect("queue lock").len()
    }

    /// Counters since start.
    pub fn stats(&self) -> &BatchStats {
        &self.inner.stats
    }

    /// Whether the worker thread still runs (it ends early only if the model panicked).
    pub fn is_running(&self) -> bool {
        self.worker
            .thread
            .lock()
            .expect("thread lock")
            .as_ref()
            .is_some_and(|thread| !thread.is_finished())
    }
}

/// Waits for the first input when `loading` is lazy (or for a stop), then loads the model.
/// On failure every waiting input gets [`BatchError::NotLoaded`], as will later ones.
fn load_when_due<M: BatchModel>(
    inner: &Inner<M::Input, M::Output>,
    loading: Loading,
    load: impl FnOnce() -> Result<M, String>,
) -> Result<M, String> {
    {
        let mut queues = inner.queues.lock().expect("queue lock");
        while loading == Loading::Lazy && queues.len() == 0 && !queues.stopping {
            queues = inner.ready.wait(queues).expect("queue lock");
        }
        if queues.stopping {
            return Err("stopped before loading".into());
        }
        queues.model = ModelState::Loading;
    }
    let started = std::time::Instant::now();
    let loaded = load();
    let worker = std::thread::current().name().unwrap_or("model").to_string();
    let mut queues = inner.queues.lock().expect("queue lock");
    match &loaded {
        Ok(_) => {
            queues.model = ModelState::Loaded;
            let elapsed_ms = started.elapsed().as_millis() as u64;
            tracing::info!(worker, elapsed_ms, "model loaded");
        }
        Err(why) => {
            tracing::error!(worker, error = %why, "model failed to load");
            queues.model = ModelState::Failed(why.clone());
            let mut waiting: Vec<_> = queues.interactive.drain(..).collect();
            waiting.extend(queues.bulk.drain(..));
            queues.bulk_round = 0;
            for item in waiting {
                if let Some(reply) = item.pending.lock().expect("pending lock").reply.take() {
                    let _ = reply.send(Err(BatchError::NotLoaded(why.clone())));
                }
            }
        }
    }
    loaded
}

/// A worker's measured speed on bulk batches, which sizes the next ones.
#[derive(Debug, Default)]
struct Pace {
    /// Padded tokens per second, a moving average over bulk batches.
    tokens_per_second: Option<f64>,
}

impl Pace {
    /// Padded tokens a bulk batch may hold: what the worker runs in [`BULK_BATCH_SECONDS`],
    /// within the configured budget.
    fn bulk_budget(&self, limits: &BatchLimits) -> usize {
        let budget = self
            .tokens_per_second
            .map_or(FIRST_BULK_BATCH_TOKENS, |rate| {
                (rate * BULK_BATCH_SECONDS) as usize
            });
        budget.clamp(1, limits.max_batch_tokens.max(1))
    }

    /// Takes in one bulk batch of `padded_tokens` that took `elapsed`.
    fn record(&mut self, padded_tokens: usize, elapsed: std::time::Duration) {
        let rate = padded_tokens as f64 / elapsed.as_secs_f64().max(1e-6);
        self.tokens_per_second = Some(match self.tokens_per_second {
            Some(average) => 0.7 * average + 0.3 * rate,
            None => rate,
        });
    }
}

fn worker_loop<M: BatchModel>(mut model: M, inner: &Inner<M::Input, M::Output>) {
    let plan = model.thread_plan().unwrap_or(inner.limits.threads);
    let mut threads = 0;
    let mut pace = Pace::default();
    loop {
        let (items, priority) = {
            let mut queues = inner.queues.lock().expect("queue lock");
            while queues.len() == 0 && !queues.stopping {
                queues = inner.ready.wait(queues).expect("queue lock");
            }
            if queues.len() == 0 {
                return;
            }
            take_batch(&mut queues, &inner.limits, pace.bulk_budget(&inner.limits))
        };
        let padded = items.iter().map(|i| i.length).max().unwrap_or(0) * items.len();
        let wanted = plan.for_batch(priority, padded);
        if wanted != threads {
            set_torch_threads(wanted);
            threads = wanted;
        }
        let started = std::time::Instant::now();
        run_batch(&mut model, inner, items, padded);
        if priority == Priority::Bulk && padded > 0 {
            pace.record(padded, started.elapsed());
        }
    }
}

/// Takes the next batch: interactive items first, then bulk; drops items whose caller left;
/// stops before the padded cost (longest × count) would exceed the budget. Bulk items are
/// taken in rounds: the items waiting when a round starts (at most [`BULK_ROUND_BATCHES`]
/// batches' worth) are sorted by length across callers, so many small submissions still make
/// batches of like lengths, and the round is run out before later items join; a bulk batch
/// also ends before its padding would pass [`BULK_PADDING_PERCENT`] of its real tokens (or
/// [`BULK_PADDING_FLOOR`] tokens, when more) and before its padded cost passes `bulk_budget`.
/// The priority returned is interactive when any item taken is.
fn take_batch<I, O>(
    queues: &mut Queues<I, O>,
    limits: &BatchLimits,
    bulk_budget: usize,
) -> (Vec<Item<I, O>>, Priority) {
    let mut batch: Vec<Item<I, O>> = Vec::new();
    let mut priority = Priority::Bulk;
    let (mut longest, mut real) = (0, 0);
    loop {
        let bulk = queues.interactive.is_empty();
        if bulk && queues.bulk_round == 0 {
            if !batch.is_empty() {
                break;
            }
            queues.bulk_round = queues
                .bulk
                .len()
                .min(limits.max_batch_size * BULK_ROUND_BATCHES);
            queues.bulk.make_contiguous()[..queues.bulk_round].sort_by_key(|item| item.length);
        }
        let queue = if bulk {
            &mut queues.bulk
        } else {
            &mut queues.interactive
        };
        let Some(next) = queue.front() else { break };
        let gone = caller_gone(&next.pending);
        let next_length = next.length;
        let candidate_longest = longest.max(next.length.max(1));
        let padded = candidate_longest * (batch.len() + 1);
        let over_budget = padded > limits.max_batch_tokens || (bulk && padded > bulk_budget);
        // Sorted bulk items are cut where their lengths jump, so no batch pads much.
        let allowed_padding =
            ((real + next_length) * BULK_PADDING_PERCENT / 100).max(BULK_PADDING_FLOOR);
        let over_padding = bulk && padded > real + next_length + allowed_padding;
        let full = over_budget || over_padding || batch.len() >= limits.max_batch_size;
        if !gone && !batch.is_empty() && full {
            break;
        }
        let item = queue.pop_front();
        if bulk {
            queues.bulk_round -= 1;
        }
        if !gone {
            longest = candidate_longest;
            real += next_length;
            batch.extend(item);
            if !bulk {
                priority = Priority::Interactive;
            }
        }
    }
    batch.sort_by_key(|item| item.length);
    (batch, priority)
}

fn caller_gone<O>(pending: &Shared<O>) -> bool {
    pending
        .lock()
        .expect("pending lock")
        .reply
        .as_ref()
        .is_none_or(tokio::sync::oneshot::Sender::is_closed)
}

/// Runs `items` (`padded` tokens with padding) as one batch, counts it and answers each caller.
fn run_batch<M: BatchModel>(
    model: &mut M,
    inner: &Inner<M::Input, M::Output>,
    items: Vec<Item<M::Input, M::Output>>,
    padded: usize,
) {
    if items.is_empty() {
        return;
    }
    let stats = &inner.stats;
    stats.batches.fetch_add(1, Ordering::Relaxed);
    stats
        .inputs
        .fetch_add(items.len() as u64, Ordering::Relaxed);
    stats.tokens.fetch_add(
        items.iter().map(|i| i.length as u64).sum(),
        Ordering::Relaxed,
    );
    stats
        .padded_tokens
        .fetch_add(padded as u64, Ordering::Relaxed);
    let (inputs, targets): (Vec<_>, Vec<_>) = items
        .into_iter()
        .map(|item| (item.input, (item.index, item.pending)))
        .unzip();
    match model.run(inputs) {
        Ok(outputs) if outputs.len() == targets.len() => {
            for ((index, pending), output) in targets.into_iter().zip(outputs) {
                deliver(&pending, index, output);
            }
        }
        Ok(outputs) => {
            let message = format!(
                "model returned {} outputs for {} inputs",
                outputs.len(),
                targets.len()
            );
            fail_all(targets, &message);
        }
        Err(err) => fail_all(targets, &err),
    }
}

fn deliver<O>(pending: &Shared<O>, index: usize, output: O) {
    let mut pending = pending.lock().expect("pending lock");
    if pending.outputs[index].replace(output).is_none() {
        pending.remaining -= 1;
    }
    if pending.remaining == 0
        && let Some(reply) = pending.reply.take()
    {
        let outputs = pending
            .outputs
            .iter_mut()
            .filter_map(Option::take)
            .collect();
        let _ = reply.send(Ok(outputs));
    }
}

fn fail_all<O>(targets: Vec<(usize, Shared<O>)>, message: &str) {
    for (_, pending) in targets {
        if let Some(reply) = pending.lock().expect("pending lock").reply.take() {
            let _ = reply.send(Err(BatchError::Model(message.to_string())));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Doubles each input and records the batches it saw.
    struct Doubler {
        seen: Arc<Mutex<Vec<Vec<usize>>>>,
        delay: Duration,
    }

    impl BatchModel for Doubler {
        type Input = usize;
        type Output = usize;

        fn length(input: &usize) -> usize {
            *input
        }

        fn run(&mut self, batch: Vec<usize>) -> Result<Vec<usize>, String> {
            std::thread::sleep(self.delay);
            self.seen.lock().unwrap().push(batch.clone());
            if batch.contains(&13) {
                return Err("unlucky".into());
            }
            Ok(batch.into_iter().map(|x| x * 2).collect())
        }
    }

    type Seen = Arc<Mutex<Vec<Vec<usize>>>>;

    fn start(limits: BatchLimits, delay_ms: u64) -> (Batcher<Doubler>, Seen) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let model_seen = seen.clone();
        let batcher = Batcher::start("test-batcher", limits, Loading::Eager, move || {
            Ok(Doubler {
                seen: model_seen,
                delay: Duration::from_millis(delay_ms),
            })
        })
        .unwrap();
        (batcher, seen)
    }

    const LIMITS: BatchLimits = BatchLimits {
        max_batch_tokens: 100,
        max_batch_size: 8,
        max_queued: 1000,
        threads: ThreadPlan::uniform(1),
    };

    /// Answers each input with the torch thread count its batch ran on.
    struct ThreadCounter;

    impl BatchModel for ThreadCounter {
        type Input = usize;
        type Output = i32;

        fn length(input: &usize) -> usize {
            *input
        }

        fn run(&mut self, batch: Vec<usize>) -> Result<Vec<i32>, String> {
            Ok(vec![tch::get_num_threads(); batch.len()])
        }
    }

    #[tokio::test]
    async fn each_batch_runs_on_the_threads_of_its_priority_and_workers_keep_their_own() {
        let start = |name: &str, threads: ThreadPlan| {
            let limits = BatchLimits { threads, ..LIMITS };
            Batcher::start(name, limits, Loading::Eager, || Ok(ThreadCounter)).unwrap()
        };
        let encoder = start(
            "threads-a",
            ThreadPlan {
                interactive: 3,
                bulk: 2,
            },
        );
        let other = start("threads-b", ThreadPlan::uniform(1));
        assert_eq!(
            encoder
                .submit(vec![1], Priority::Interactive)
                .await
                .unwrap(),
            [3]
        );
        assert_eq!(encoder.submit(vec![1], Priority::Bulk).await.unwrap(), [2]);
        assert_eq!(
            other.submit(vec![1], Priority::Interactive).await.unwrap(),
            [1]
        );
        // The second worker's setting did not reach the first one's thread.
        assert_eq!(
            encoder.submit(vec![1, 2], Priority::Bulk).await.unwrap(),
            [2, 2]
        );
        assert_eq!(
            encoder
                .submit(vec![1], Priority::Interactive)
                .await
                .unwrap(),
            [3]
        );
    }

    /// Takes a millisecond per padded token and records each batch.
    struct Steady(Seen);

    impl BatchModel for Steady {
        type Input = usize;
        type Output = usize;

        fn length(input: &usize) -> usize {
            *input
        }

        fn run(&mut self, batch: Vec<usize>) -> Result<Vec<usize>, String> {
            let padded = batch.iter().max().unwrap_or(&0) * batch.len();
            std::thread::sleep(Duration::from_millis(padded as u64));
            self.0.lock().unwrap().push(batch.clone());
            Ok(batch)
        }
    }

    #[tokio::test]
    async fn bulk_batches_are_sized_by_the_time_the_worker_takes() {
        let seen: Seen = Arc::default();
        let model_seen = seen.clone();
        let limits = BatchLimits {
            max_batch_tokens: 10_000,
            max_batch_size: 1_000,
            ..LIMITS
        };
        let batcher = Batcher::start("paced", limits, Loading::Eager, move || {
            Ok(Steady(model_seen))
        })
        .unwrap();
        // 1,000 tokens a second: after the first batch, BULK_BATCH_SECONDS hold 150 tokens.
        let inputs = vec![10; 150];
        assert_eq!(
            batcher.submit(inputs, Priority::Bulk).await.unwrap().len(),
            150
        );
        let batches: Vec<usize> = seen.lock().unwrap().iter().map(|b| b.len() * 10).collect();
        // The first batch fills FIRST_BULK_BATCH_TOKENS (1,024).
        assert_eq!(batches[0], 1_020, "{batches:?}");
        // Then about 150 tokens each, the last one holding what is left.
        let (last, paced) = batches[1..].split_last().unwrap();
        assert!(
            paced.len() >= 3 && paced.iter().all(|&padded| (100..=160).contains(&padded)),
            "{batches:?}"
        );
        assert!(*last <= 160, "{batches:?}");
    }

    #[test]
    fn an_unmeasured_plan_is_the_configured_counts_or_every_core() {
        let plan = ThreadPlan::from_settings(Threads::Count(4), Threads::Count(3));
        assert_eq!((plan.interactive, plan.bulk), (4, 3));
        assert_eq!(plan.for_batch(Priority::Bulk, 10), 3);
        // A large interactive batch (a reranker's candidates) takes the larger count.
        let plan = ThreadPlan {
            interactive: 1,
            bulk: 2,
        };
        assert_eq!(plan.for_batch(Priority::Interactive, 40), 1);
        assert_eq!(plan.for_batch(Priority::Interactive, LARGE_BATCH_TOKENS), 2);
        let plan = ThreadPlan::from_settings(Threads::Auto, Threads::Count(1));
        assert_eq!((plan.interactive, plan.bulk), (Threads::Auto.count(), 1));
    }

    #[tokio::test]
    async fn outputs_come_back_in_input_order() {
        let (batcher, seen) = start(LIMITS, 0);
        let out = batcher
            .submit(vec![9, 1, 5, 3], Priority::Interactive)
            .await
            .unwrap();
        assert_eq!(out, vec![18, 2, 10, 6]);
        // The batch itself was sorted by length.
        assert_eq!(seen.lock().unwrap()[0], vec![1, 3, 5, 9]);
    }

    #[tokio::test]
    async fn batches_respect_the_padded_token_budget_and_size() {
        let (batcher, seen) = start(LIMITS, 0);
        let inputs: Vec<usize> = (1..=40).filter(|x| *x != 13).collect();
        let out = batcher
            .submit(inputs.clone(), Priority::Bulk)
            .await
            .unwrap();
        assert_eq!(out, inputs.iter().map(|x| x * 2).collect::<Vec<_>>());
        for batch in seen.lock().unwrap().iter() {
            let longest = batch.iter().max().unwrap();
            assert!(batch.len() <= 8);
            assert!(
                batch.len() == 1 || longest * batch.len() <= 100,
                "{batch:?}"
            );
        }
    }

    #[tokio::test]
    async fn concurrent_callers_share_batches() {
        let (batcher, seen) = start(LIMITS, 20);
        // Occupy the worker so the next callers queue up together.
        let busy = batcher.clone();
        let first = tokio::spawn(async move { busy.submit(vec![1], Priority::Interactive).await });
        tokio::time::sleep(Duration::from_millis(5)).await;
        let calls = (0..6).map(|i| {
            let batcher = batcher.clone();
            tokio::spawn(async move { batcher.submit(vec![i + 2], Priority::Interactive).await })
        });
        for (i, call) in futures::future::join_all(calls)
            .await
            .into_iter()
            .enumerate()
        {
            assert_eq!(call.unwrap().unwrap(), vec![(i + 2) * 2]);
        }
        first.await.unwrap().unwrap();
        assert!(
            seen.lock().unwrap().len() <= 3,
            "{:?}",
            seen.lock().unwrap()
        );
    }

    #[tokio::test]
    async fn bulk_inputs_of_many_callers_are_batched_by_length_with_little_padding() {
        let limits = BatchLimits {
            max_batch_tokens: 1000,
            ..LIMITS
        };
        let (batcher, seen) = start(limits, 20);
        // Occupy the worker so the bulk submissions queue up together.
        let busy = batcher.clone();
        let first = tokio::spawn(async move { busy.submit(vec![1], Priority::Interactive).await });
        tokio::time::sleep(Duration::from_millis(5)).await;
        let calls = [vec![10, 40], vec![39, 11], vec![12, 38], vec![90]].map(|inputs| {
            let batcher = batcher.clone();
            tokio::spawn(async move { batcher.submit(inputs, Priority::Bulk).await })
        });
        let outputs: Vec<Vec<usize>> = futures::future::join_all(calls)
            .await
            .into_iter()
            .map(|call| call.unwrap().unwrap())
            .collect();
        assert_eq!(
            outputs,
            vec![vec![20, 80], vec![78, 22], vec![24, 76], vec![180]]
        );
        first.await.unwrap().unwrap();
        // Across callers, by length, cut where padding would grow: 38 with 10..12 would add 81
        // padded tokens, 90 with 38..40 another 153.
        let seen = seen.lock().unwrap();
        assert_eq!(
            seen[1..],
            [vec![10, 11, 12], vec![38, 39, 40], vec![90]],
            "{seen:?}"
        );
    }

    #[tokio::test]
    async fn interactive_inputs_jump_the_bulk_queue() {
        let (batcher, seen) = start(
            BatchLimits {
                max_batch_size: 1,
                ..LIMITS
            },
            10,
        );
        let bulk = batcher.clone();
        let ingest =
            tokio::spawn(async move { bulk.submit((50..60).collect(), Priority::Bulk).await });
        tokio::time::sleep(Duration::from_millis(15)).await;
        batcher
            .submit(vec![7], Priority::Interactive)
            .await
            .unwrap();
        let position = seen
            .lock()
            .unwrap()
            .iter()
            .position(|b| b == &vec![7])
            .unwrap();
        assert!(position <= 3, "query waited behind {position} bulk batches");
        ingest.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn full_queue_is_refused_and_failures_reach_their_callers() {
        let (batcher, _) = start(
            BatchLimits {
                max_queued: 4,
                ..LIMITS
            },
            30,
        );
        let busy = batcher.clone();
        let first =
            tokio::spawn(async move { busy.submit(vec![1, 2, 3, 4], Priority::Bulk).await });
        tokio::time::sleep(Duration::from_millis(5)).await;
        let busy = batcher.clone();
        let second = tokio::spawn(async move { busy.submit(vec![1, 2, 3], Priority::Bulk).await });
        tokio::time::sleep(Duration::from_millis(5)).await;
        let refused = batcher.submit(vec![8, 9], Priority::Interactive).await;
        assert!(
            matches!(refused, Err(BatchError::QueueFull(_))),
            "{refused:?}"
        );
        first.await.unwrap().unwrap();
        second.await.unwrap().unwrap();
        let failed = batcher.submit(vec![13], Priority::Interactive).await;
        assert!(matches!(failed, Err(BatchError::Model(_))), "{failed:?}");
    }

    #[tokio::test]
    async fn a_failing_eager_load_fails_the_start() {
        let result =
            Batcher::<Doubler>::start("bad", LIMITS, Loading::Eager, || Err("no weights".into()));
        assert_eq!(result.err().as_deref(), Some("no weights"));
    }

    #[tokio::test]
    async fn a_failing_background_load_refuses_every_submission() {
        let batcher = Batcher::<Doubler>::start("bad", LIMITS, Loading::Background, || {
            std::thread::sleep(Duration::from_millis(50));
            Err("no weights".into())
        })
        .unwrap();
        let waiting = batcher.submit(vec![1], Priority::Interactive).await;
        assert!(
            matches!(&waiting, Err(BatchError::NotLoaded(why)) if why == "no weights"),
            "{waiting:?}"
        );
        assert_eq!(
            batcher.model_state(),
            ModelState::Failed("no weights".into())
        );
        let later = batcher.submit(vec![2], Priority::Bulk).await;
        assert!(matches!(later, Err(BatchError::NotLoaded(_))), "{later:?}");
    }

    #[tokio::test]
    async fn a_lazy_model_loads_on_the_first_input() {
        let loads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = loads.clone();
        let batcher = Batcher::start("lazy", LIMITS, Loading::Lazy, move || {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok(Doubler {
                seen: Arc::default(),
                delay: Duration::ZERO,
            })
        })
        .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(loads.load(Ordering::SeqCst), 0);
        assert_eq!(batcher.model_state(), ModelState::NotLoaded);
        let out = batcher.submit(vec![4], Priority::Interactive).await;
        assert_eq!(out.unwrap(), vec![8]);
        assert_eq!(batcher.model_state(), ModelState::Loaded);
        batcher
            .submit(vec![5], Priority::Interactive)
            .await
            .unwrap();
        assert_eq!(loads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_lazy_worker_that_never_loaded_stops_cleanly() {
        let batcher = Batcher::<Doubler>::start("idle", LIMITS, Loading::Lazy, || {
            panic!("an unused lazy model is never loaded")
        })
        .unwrap();
        drop(batcher);
    }
}
