//! The real server binary as a child process on an on-disk data directory, configured only
//! through `CRAG_*` environment variables, and killed with SIGKILL. Shared by the crash-safety
//! and the scale-out tests.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Client;

/// How long a restart may take (model load and index rebuild included).
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// A running `constitutional-rag serve`.
pub struct ServerProcess {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    log: PathBuf,
}

/// The server binary cargo built, or `CRASH_SERVER_BIN` (a copy of it, where several
/// checkouts share one target directory and may rebuild it while the test runs).
fn server_binary() -> std::ffi::OsString {
    std::env::var_os("CRASH_SERVER_BIN")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_constitutional-rag").into())
}

/// The database URL of data directory `dir`.
pub fn storage_url(dir: &Path) -> String {
    format!("surrealkv://{}", dir.join("db").display())
}

impl ServerProcess {
    /// Starts the server on `dir` (database and embedding cache inside it) on a free port;
    /// its log goes to `dir/server-<run>.log`.
    pub fn spawn(dir: &Path, run: usize) -> Self {
        Self::spawn_with(dir, run, &[("CRAG_STORAGE_URL", &storage_url(dir))])
    }

    /// Starts the server as [`ServerProcess::spawn`] does, with the `CRAG_*` settings of
    /// `env` (the storage URL among them) on top.
    pub fn spawn_with(dir: &Path, run: usize, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let log = dir.join(format!("server-{run}.log"));
        let stderr = File::create(&log).expect("server log file");
        let child = Command::new(server_binary())
            .arg("serve")
            .env_remove("RUST_LOG")
            .env_remove("CRAG_CONFIG")
            .env("CRAG_SERVER_BIND", format!("127.0.0.1:{port}"))
            .env(
                "CRAG_CACHE_EMBEDDING_PATH",
                dir.join("embedding-cache.redb"),
            )
            // Snapshots written a second after writes settle: restarts after a kill load
            // one and replay the changes after it.
            .env("CRAG_STORAGE_INDEX_SNAPSHOT", dir.join("index.snapshot"))
            .env("CRAG_STORAGE_INDEX_SNAPSHOT_DELAY_SECS", "1")
            .env(
                "CRAG_MODELS_DIR",
                concat!(env!("CARGO_MANIFEST_DIR"), "/.cache/models"),
            )
            .env("CRAG_GENERATION_BACKEND", "none")
            .env("CRAG_CACHE_ANSWER_ENTRIES", "0")
            .env("CRAG_LOG_LEVEL", "warn")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start the server binary");
        Self {
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    /// Waits until `/health/ready` answers 200; `false` when the process exited first (its
    /// log is printed) — a restart right after a kill may still find the database locked.
    pub async fn wait_ready(&mut self, client: &Client) -> bool {
        let started = Instant::now();
        loop {
            let child = self.child.as_mut().expect("running");
            if let Some(status) = child.try_wait().expect("poll the server") {
                eprintln!(
                    "server exited with {status} before it was ready:\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
                self.child = None;
                return false;
            }
            let url = format!("{}/health/ready", self.base);
            if let Ok(response) = client.get(&url).send().await
                && response.status().is_success()
            {
                return true;
            }
            assert!(
                started.elapsed() < READY_TIMEOUT,
                "server not ready after {READY_TIMEOUT:?}:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends SIGKILL and reaps the process.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL the server");
            child.wait().expect("reap the server");
        }
    }

    /// Everything the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for the process to exit by itself (at most `limit`); its exit status.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let started = Instant::now();
        let child = self.child.as_mut()?;
        while started.elapsed() < limit {
            if let Some(status) = child.try_wait().expect("poll the server") {
                self.child = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}
