//! One typed configuration: built-in defaults, then an optional TOML file, then `CRAG_*`
//! environment variables (`CRAG_<SECTION>_<KEY>`, e.g. `CRAG_SERVER_BIND`).

use std::path::Path;

use serde::{Deserialize, Serialize};

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
    /// Log level and format.
    pub log: LogConfig,
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
}

/// Where the database lives.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// `surrealkv://<dir>` (on disk) or `mem://` (in memory).
    pub url: String,
    /// SurrealDB namespace.
    pub namespace: String,
    /// SurrealDB database.
    pub database: String,
}

/// Chunking and ingestion limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestConfig {
    /// Token budget of one chunk.
    pub max_chunk_tokens: usize,
    /// Smallest chunk worth keeping on its own when it has no structural path.
    pub min_chunk_tokens: usize,
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
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            url: "surrealkv://data/db".into(),
            namespace: "crag".into(),
            database: "main".into(),
        }
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            max_chunk_tokens: 200,
            min_chunk_tokens: 20,
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
        if !(self.storage.url.starts_with("surrealkv://") || self.storage.url == "mem://") {
            return fail("storage.url", "expected surrealkv://<dir> or mem://");
        }
        if self.server.max_body_bytes < 1024 {
            return fail("server.max_body_bytes", "must be at least 1024");
        }
        if self.ingest.max_chunk_tokens < 16 || self.ingest.max_chunk_tokens > 8192 {
            return fail("ingest.max_chunk_tokens", "must be within 16..=8192");
        }
        if self.ingest.min_chunk_tokens >= self.ingest.max_chunk_tokens {
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
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return fail("log.level", "not a valid tracing filter");
        }
        Ok(())
    }
}

/// Sets `section.key` from `CRAG_SECTION_KEY`; the value is read as a TOML scalar when it
/// parses as one (numbers, booleans), else as a string.
fn apply_env_override(
    table: &mut toml::Table,
    name: &str,
    rest: &str,
    value: &str,
) -> Result<(), ConfigError> {
    let defaults = toml::Table::try_from(Config::default()).expect("defaults serialise");
    let rest = rest.to_ascii_lowercase();
    let (section, key) = defaults
        .iter()
        .filter_map(|(section, _)| {
            let key = rest.strip_prefix(section.as_str())?.strip_prefix('_')?;
            Some((section.clone(), key.to_string()))
        })
        .next()
        .ok_or_else(|| ConfigError(format!("{name}: unknown setting")))?;
    let known = defaults
        .get(&section)
        .and_then(|s| s.as_table())
        .is_some_and(|s| s.contains_key(&key));
    if !known {
        return Err(ConfigError(format!(
            "{name}: unknown setting {section}.{key}"
        )));
    }
    let parsed = format!("v = {value}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.to_string()));
    let entry = table
        .entry(section)
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    match entry.as_table_mut() {
        Some(section_table) => {
            section_table.insert(key, parsed);
            Ok(())
        }
        None => Err(ConfigError(format!("{name}: section is not a table"))),
    }
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
    fn errors_name_the_key() {
        let err = Config::load(None, env(&[("CRAG_SEARCH_MAX_LIMIT", "lots")])).unwrap_err();
        assert!(err.to_string().contains("max_limit"), "{err}");
        let err = Config::load(None, env(&[("CRAG_SERVER_BINDD", "x")])).unwrap_err();
        assert!(err.to_string().contains("CRAG_SERVER_BINDD"), "{err}");
        let err = Config::load(None, env(&[("CRAG_SERVER_BIND", "nowhere")])).unwrap_err();
        assert!(err.to_string().contains("server.bind"), "{err}");
    }
}
