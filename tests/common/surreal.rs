//! A SurrealDB server on loopback for the scale-out tests and benchmarks: the `surreal`
//! binary `just test-peers` builds (SurrealDB 3.3.5), its data on disk so that it survives a
//! restart, its root password given through the environment (never on the command line).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `surreal` binary `just test-peers` built, or the one `CRAG_SURREAL_BIN` names.
fn surreal_binary() -> PathBuf {
    let path = std::env::var_os("CRAG_SURREAL_BIN").map_or_else(
        || {
            let home = std::env::var_os("HOME").expect("HOME is set");
            Path::new(&home).join(".cache/constitutional-rag/surrealdb-3.3.5/surreal")
        },
        PathBuf::from,
    );
    assert!(
        path.is_file(),
        "the SurrealDB server binary is missing at {} (run `just test-peers`, which builds \
         it once, or set CRAG_SURREAL_BIN)",
        path.display()
    );
    path
}

/// A SurrealDB server on loopback, its data on disk so that it survives a restart.
pub struct Surreal {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    password: String,
    runs: usize,
}

impl Surreal {
    /// Starts the server on `port` with its data (and logs) in `dir` and root user `root`
    /// with `password`.
    pub fn start(dir: &Path, port: u16, password: &str) -> Self {
        let mut surreal = Self {
            child: None,
            port,
            dir: dir.to_path_buf(),
            password: password.to_string(),
            runs: 0,
        };
        surreal.spawn();
        surreal
    }

    /// Starts the server again (after [`Surreal::kill`]) on the same port and data.
    pub fn spawn(&mut self) {
        self.runs += 1;
        let log = File::create(self.dir.join(format!("surreal-{}.log", self.runs)))
            .expect("surreal log file");
        let child = Command::new(surreal_binary())
            .args(["start", "--no-banner", "--bind"])
            .arg(format!("127.0.0.1:{}", self.port))
            .arg(format!("surrealkv://{}", self.dir.join("data").display()))
            .env("SURREAL_USER", "root")
            .env("SURREAL_PASS", &self.password)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("start the SurrealDB server");
        self.child = Some(child);
    }

    /// The URL our servers reach it at.
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// Waits until it answers its health check.
    pub async fn wait_ready(&self, client: &reqwest::Client) {
        let started = Instant::now();
        let url = format!("http://127.0.0.1:{}/health", self.port);
        loop {
            if let Ok(response) = client.get(&url).send().await
                && response.status().is_success()
            {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the SurrealDB server did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends SIGKILL and reaps the process.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL surreal");
            child.wait().expect("reap surreal");
        }
    }
}

impl Drop for Surreal {
    fn drop(&mut self) {
        self.kill();
    }
}
