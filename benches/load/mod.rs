//! The loopback load generator's parts: the server process, the HTTP client, bounded runs,
//! statistics, monitoring, the scenarios, the soak, and the report with its SVG plots.

pub mod client;
pub mod ingest;
pub mod monitor;
pub mod plots;
pub mod report;
pub mod runner;
pub mod scenarios;
pub mod server;
pub mod soak;
pub mod stats;
pub mod suite;
pub mod svg;

/// A whole-number setting from the environment variable `name`, or `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number, not {value:?}")),
        Err(_) => default,
    }
}
