//! `inference.precision`: with `auto` the encoder's precision is chosen by timing each
//! precision at load, and the choice and its timings are reported by `/health/ready` and
//! `/metrics`; an explicit precision is used as set, without a probe (by the local decoder
//! too).

mod common;

use common::{TestServer, expect_json, test_config};
use constitutional_rag::config::{Backend, Loading, Precision, PrecisionSetting, Threads};
use reqwest::StatusCode;
use serde_json::Value;

/// The `crag_model_precision_info` sample of `model`, as (precision, chosen_by).
fn info_sample(metrics: &str, model: &str) -> Option<(String, String)> {
    let prefix = format!("crag_model_precision_info{{model=\"{model}\",precision=\"");
    let line = metrics.lines().find(|l| l.starts_with(&prefix))?;
    let (labels, value) = line[prefix.len()..].split_once("} ")?;
    assert_eq!(value, "1", "{line}");
    let (precision, chosen_by) = labels.split_once("\",chosen_by=\"")?;
    Some((precision.into(), chosen_by.trim_end_matches('"').into()))
}

async fn ready_and_metrics(server: &TestServer) -> (Value, String) {
    let ready = expect_json(server.get("/health/ready").await, StatusCode::OK).await;
    let response = server.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    (ready, response.text().await.expect("metrics text"))
}

#[tokio::test]
async fn auto_precision_is_probed_and_reported() {
    let config = test_config();
    assert_eq!(config.inference.precision, PrecisionSetting::Auto);
    let server = TestServer::start_with(config).await;
    let (ready, metrics) = ready_and_metrics(&server).await;
    let encoder = &ready["components"]["encoder"]["precision"];
    assert_eq!(encoder["chosen_by"], "probe", "{ready}");
    let probe = encoder["probe"].as_array().expect("probe timings");
    let timed: Vec<&str> = probe
        .iter()
        .map(|t| t["precision"].as_str().unwrap())
        .collect();
    assert_eq!(timed, ["f32", "bf16", "f16"], "{ready}");
    assert_eq!(probe[0]["min_cosine"], 1.0);
    for timing in probe {
        assert!(timing["batch_ms"].as_f64().unwrap() >= 0.0, "{timing}");
        assert!(timing["query_ms"].as_f64().unwrap() >= 0.0, "{timing}");
    }
    // The chosen precision passed the probe: f32, or one within tolerance and not rejected.
    let chosen = encoder["precision"].as_str().expect("precision");
    let chosen_timing = probe.iter().find(|t| t["precision"] == chosen).unwrap();
    assert!(chosen_timing.get("rejected").is_none(), "{ready}");
    assert!(
        chosen_timing["min_cosine"].as_f64().unwrap() >= 0.999,
        "{ready}"
    );
    // Threads: one thread and every core were timed in the chosen precision; each kind of
    // work runs on one of them.
    let cores = std::thread::available_parallelism().map_or(1, usize::from) as u64;
    let threads = &encoder["threads"];
    let timed: Vec<u64> = threads["probe"]
        .as_array()
        .expect("thread probe")
        .iter()
        .map(|t| t["threads"].as_u64().unwrap())
        .collect();
    let expected_counts = if cores > 1 { vec![1, cores] } else { vec![] };
    assert_eq!(timed, expected_counts, "{ready}");
    for work in ["interactive", "bulk"] {
        let count = threads[work].as_u64().expect("thread count");
        assert!(count == 1 || count == cores, "{ready}");
        let series = format!("crag_model_threads{{model=\"encoder\",work=\"{work}\"}} {count}");
        assert!(metrics.contains(&series), "{series} missing:\n{metrics}");
    }
    // The MaxSim reranker runs the same network and reuses the encoder's probe.
    assert_eq!(ready["components"]["reranker"]["precision"], *encoder);

    assert_eq!(
        info_sample(&metrics, "encoder"),
        Some((chosen.to_string(), "probe".to_string())),
        "{metrics}"
    );
    assert_eq!(
        info_sample(&metrics, "reranker"),
        Some((chosen.to_string(), "probe".to_string()))
    );
    for precision in ["f32", "bf16", "f16"] {
        for input in ["batch", "query"] {
            let series = format!(
                "crag_model_precision_probe_seconds{{model=\"encoder\",precision=\"{precision}\",input=\"{input}\"}} "
            );
            assert!(metrics.contains(&series), "{series} missing:\n{metrics}");
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn an_explicit_precision_wins_without_a_probe() {
    let mut config = test_config();
    config.inference.precision = PrecisionSetting::Fixed(Precision::Bf16);
    config.inference.threads = Threads::Count(1);
    config.inference.bulk_threads = Threads::Count(2);
    config.generation.backend = Backend::Local;
    config.models.loading = Loading::Eager;
    let server = TestServer::start_with(config).await;
    let (ready, metrics) = ready_and_metrics(&server).await;
    for model in ["encoder", "reranker"] {
        let precision = &ready["components"][model]["precision"];
        assert_eq!(precision["precision"], "bf16", "{ready}");
        assert_eq!(precision["chosen_by"], "configuration", "{ready}");
        assert_eq!(precision["probe"], serde_json::json!([]), "{ready}");
        let threads = serde_json::json!({"interactive": 1, "bulk": 2, "probe": []});
        assert_eq!(precision["threads"], threads, "{ready}");
        assert_eq!(
            info_sample(&metrics, model),
            Some(("bf16".to_string(), "configuration".to_string()))
        );
    }
    assert!(!metrics.contains("crag_model_precision_probe_seconds{"));
    assert!(!metrics.contains("crag_model_thread_probe_seconds{"));
    assert!(metrics.contains("crag_model_threads{model=\"encoder\",work=\"bulk\"} 2"));
    // The local decoder decodes in the precision set, on the interactive threads.
    let decoder = &ready["components"]["generator"]["decoder"];
    let expected = serde_json::json!({
        "numerics": "bf16", "chosen_by": "configuration", "threads": 1, "probe": []
    });
    assert_eq!(*decoder, expected, "{ready}");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("crag_decoder_numerics_info{")
                && l.ends_with("numerics=\"bf16\",chosen_by=\"configuration\"} 1")),
        "{metrics}"
    );
    assert!(!metrics.contains("crag_decoder_probe_seconds{"));
    server.stop().await;
}
