//! Starting and stopping the HTTP server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use poem::listener::{Acceptor, AcceptorExt, Listener, TcpListener};

use crate::api;
use crate::auth::{KeyRing, exposure};
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::pipeline::Pipeline;
use crate::service::Library;

/// How long in-flight requests may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A server bound to its address, not yet serving.
pub struct BoundServer {
    acceptor: poem::listener::BoxAcceptor,
    library: Library,
    keys: Arc<KeyRing>,
    pipeline: Arc<Pipeline>,
}

impl BoundServer {
    /// Opens the database, starts the models and the configured generator (loaded before
    /// this returns only with `[models] loading = "eager"`), and binds
    /// `config.server.bind` (port 0 picks a free port). Refuses a non-loopback address while
    /// no API key exists, unless `[auth] allow_unauthenticated_public` is set.
    pub async fn bind(config: Arc<Config>) -> AppResult<Self> {
        let library = Library::open(config.clone()).await?;
        let keys = Arc::new(KeyRing::new(
            library.store().clone(),
            exposure::always_required(&config),
        ));
        let keys_exist = library.store().any_active_api_key().await?;
        let exposure = exposure::check(&config.server.bind, &config.auth, keys_exist)?;
        tracing::info!(bind = %config.server.bind, "{}", exposure.describe());
        let generator = crate::llm::start(config.clone()).await?;
        // Generations are counted in the server's metrics, whichever backend runs them.
        let generator = generator.map(|g| {
            Arc::new(crate::llm::Metered::new(g, library.metrics()))
                as Arc<dyn crate::llm::Generator>
        });
        let library = library.with_generator(generator);
        let pipeline = Arc::new(Pipeline::new(library.clone(), library.metrics())?);
        let acceptor = TcpListener::bind(config.server.bind.clone())
            .into_acceptor()
            .await
            .map_err(|e| {
                AppError::Unavailable(format!("cannot listen on {}: {e}", config.server.bind))
            })?
            .boxed();
        Ok(Self {
            acceptor,
            library,
            keys,
            pipeline,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.acceptor
            .local_addr()
            .into_iter()
            .find_map(|addr| addr.as_socket_addr().copied())
            .expect("a TCP listener has a socket address")
    }

    /// Serves until `shutdown` completes, then stops accepting connections, drains in-flight
    /// requests (for at most [`SHUTDOWN_GRACE`]) and flushes the caches.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let library = self.library.clone();
        let served = poem::Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(
                api::routes(self.library, self.keys, self.pipeline),
                shutdown,
                Some(SHUTDOWN_GRACE),
            )
            .await;
        library.close().await;
        served
    }
}

/// How long the background tasks may take to end after the server stopped.
const CLOSE_GRACE: Duration = Duration::from_secs(3);

/// Waits (at most [`CLOSE_GRACE`]) until every task on the runtime has ended — above all
/// the embedded database's engine, which flushes and closes its storage once the last
/// handle is dropped — so that the process does not exit with the database half closed.
pub async fn wait_for_background_tasks() {
    let runtime = tokio::runtime::Handle::current();
    let started = std::time::Instant::now();
    while runtime.metrics().num_alive_tasks() > 0 && started.elapsed() < CLOSE_GRACE {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        still_running = runtime.metrics().num_alive_tasks(),
        "background tasks ended"
    );
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("install SIGTERM handler");
        tokio::select! {
            _ = interrupt => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
