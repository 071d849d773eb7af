//! Samples the server once per interval while a run goes on: its resident memory and,
//! optionally, the status of `/health/ready`.

use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::client::Api;
use super::server::rss_mib;

/// Most time one readiness probe may take before it counts as failed.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// One sample.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// Seconds since the monitor started.
    pub t_s: f64,
    /// Resident memory in MiB.
    pub rss_mib: f64,
    /// Status of `/health/ready` (0 when it did not answer in time); absent when not probed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready: Option<u16>,
}

/// A running monitor.
pub struct Monitor {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Vec<Sample>>,
}

impl Monitor {
    /// Samples the RSS of process `pid` every `interval`, probing readiness through `api`
    /// when given.
    pub fn start(pid: u32, interval: Duration, api: Option<Api>) -> Self {
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut samples = Vec::new();
            loop {
                tokio::select! {
                    _ = &mut stopped => return samples,
                    _ = ticks.tick() => {}
                }
                let ready = match &api {
                    Some(api) => Some(
                        tokio::time::timeout(PROBE_TIMEOUT, api.ready_status())
                            .await
                            .ok()
                            .flatten()
                            .unwrap_or(0),
                    ),
                    None => None,
                };
                samples.push(Sample {
                    t_s: started.elapsed().as_secs_f64(),
                    rss_mib: rss_mib(pid).unwrap_or(f64::NAN),
                    ready,
                });
            }
        });
        Self { stop, task }
    }

    /// Stops sampling; the samples taken.
    pub async fn finish(self) -> Vec<Sample> {
        let _ = self.stop.send(());
        self.task.await.expect("monitor task")
    }
}
