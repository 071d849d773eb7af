//! Bounded closed-loop runs: `concurrency` clients send requests one after another until
//! `max_requests` were started or `max_time` has passed, whichever comes first.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::stats::Outcome;

/// The bounds of a run.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Clients sending at once.
    pub concurrency: usize,
    /// Most requests started.
    pub max_requests: usize,
    /// No request is started after this much time.
    pub max_time: Duration,
}

/// Runs `request(i)` for i = 0, 1, … within `bounds`; the outcomes (in completion order per
/// client) and the wall time in seconds.
pub async fn run<F, Fut>(bounds: Bounds, request: F) -> (Vec<Outcome>, f64)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send,
{
    let request = Arc::new(request);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let clients: Vec<_> = (0..bounds.concurrency)
        .map(|_| {
            let (request, next) = (request.clone(), next.clone());
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= bounds.max_requests || started.elapsed() >= bounds.max_time {
                        return outcomes;
                    }
                    outcomes.push(request(i).await);
                }
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for client in clients {
        outcomes.extend(client.await.expect("client task"));
    }
    (outcomes, started.elapsed().as_secs_f64())
}
