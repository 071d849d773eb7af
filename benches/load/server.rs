//! The real release server as a child process: its own data directory and loopback port,
//! started with `serve`, waited for until ready, and its resident memory read from `/proc`.

// Shared by the load and scale-out benches, which use different parts.
#![allow(dead_code)]

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long the server may take to answer `/health/ready` with every component ready.
const READY_TIMEOUT: Duration = Duration::from_secs(300);

/// A running server; killed when dropped.
pub struct Server {
    child: Child,
    base: String,
    log: PathBuf,
    binary: PathBuf,
    port: u16,
    env: Vec<(String, String)>,
    dir: TempDir,
}

impl Server {
    /// Starts the binary cargo built for this bench on a free loopback port over a fresh
    /// on-disk data directory (other settings from the inherited `CRAG_*` environment), and
    /// waits until `/health/ready` reports every component ready.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Starts the server as [`Server::start`] does, with the `CRAG_*` settings of `env` (a
    /// remote `CRAG_STORAGE_URL`, say) on top.
    pub async fn start_with(env: &[(&str, &str)]) -> Self {
        Self::start_binary(Path::new(env!("CARGO_BIN_EXE_constitutional-rag")), env).await
    }

    /// Starts `binary` (another build, as a baseline) as [`Server::start_with`] does.
    pub async fn start_binary(binary: &Path, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("crag-load-")
            .tempdir()
            .expect("temp dir");
        let port = free_port();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let log = dir.path().join("server.log");
        let child = spawn(binary, dir.path(), port, &env, &log);
        let server = Self {
            child,
            binary: binary.to_path_buf(),
            base: format!("http://127.0.0.1:{port}"),
            log,
            port,
            env,
            dir,
        };
        server.wait_ready().await;
        server
    }

    /// Kills the server (SIGKILL) and starts it again on the same data and port; the time
    /// the new process took to be ready (models loaded, indexes rebuilt).
    pub async fn restart(&mut self) -> Duration {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let started = Instant::now();
        self.child = spawn(
            &self.binary,
            self.dir.path(),
            self.port,
            &self.env,
            &self.log,
        );
        self.wait_ready().await;
        started.elapsed()
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory of the server now, in MiB.
    pub fn rss_mib(&self) -> f64 {
        rss_mib(self.pid()).unwrap_or(f64::NAN)
    }

    async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(response) = client.get(self.url("/health/ready")).send().await
                && response.status().is_success()
                && let Ok(body) = response.json::<serde_json::Value>().await
                && body["status"] == "ready"
            {
                println!(
                    "server ready in {:.1} s (pid {}, RSS {:.0} MiB)",
                    started.elapsed().as_secs_f64(),
                    self.pid(),
                    self.rss_mib()
                );
                return;
            }
            assert!(
                started.elapsed() <= READY_TIMEOUT,
                "server not ready after {READY_TIMEOUT:?}:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The last lines the server logged.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Stops the server with SIGTERM (its graceful shutdown) and waits up to 30 s for it to
    /// exit; returns whether it exited by itself.
    pub fn stop(mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `binary serve` on `port` over the database and embedding cache in `dir`, logging to `log`.
fn spawn(binary: &Path, dir: &Path, port: u16, env: &[(String, String)], log: &Path) -> Child {
    let out = File::create(log).expect("server log");
    Command::new(binary)
        .arg("serve")
        .env(
            "CRAG_STORAGE_URL",
            format!("surrealkv://{}", dir.join("db").display()),
        )
        .env("CRAG_SERVER_BIND", format!("127.0.0.1:{port}"))
        .env(
            "CRAG_CACHE_EMBEDDING_PATH",
            dir.join("embedding-cache.redb"),
        )
        .env("CRAG_LOG_LEVEL", "warn")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("log handle"))
        .stderr(out)
        .spawn()
        .expect("start the server binary")
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("free port")
        .port()
}

/// `VmRSS` of process `pid` in MiB, from `/proc/<pid>/status`.
pub fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
