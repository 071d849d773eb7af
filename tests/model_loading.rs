//! `[models] loading`: in the background (the server listens at once and is ready when the
//! models are loaded), eagerly (loaded before it listens) or lazily (each on first use).

mod common;

use common::{TestServer, expect_json, test_config};
use constitutional_rag::config::{Backend, Config, Loading};
use reqwest::StatusCode;
use serde_json::{Value, json};

const TEXT: &str = "Article 1. Everyone has the right to freedom of expression.";

fn config(loading: Loading, generator: Backend) -> Config {
    let mut config = test_config();
    config.models.loading = loading;
    config.generation.backend = generator;
    config
}

fn component_states(ready: &Value) -> Vec<(String, String)> {
    ready["components"]
        .as_object()
        .expect("components")
        .iter()
        .map(|(name, c)| (name.clone(), c["status"].as_str().unwrap().to_string()))
        .collect()
}

#[tokio::test]
async fn background_loading_serves_at_once_and_is_ready_when_loaded() {
    let server = TestServer::launch(config(Loading::Background, Backend::Local)).await;
    // The server listens while the models (the decoder takes seconds) still load.
    let first = server.get("/health/ready").await;
    assert_eq!(first.status(), StatusCode::SERVICE_UNAVAILABLE);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["status"], "loading", "{first}");
    assert!(
        component_states(&first)
            .iter()
            .any(|(_, state)| state == "loading"),
        "{first}"
    );
    // Work sent meanwhile waits for the encoder instead of failing.
    server.create_collection("early", "english").await;
    let (status, _) = server.upsert("early", &json!({"text": TEXT})).await;
    assert_eq!(status, StatusCode::CREATED);

    let ready = server.wait_until_loaded().await;
    assert_eq!(ready["status"], "ready", "{ready}");
    for (name, state) in component_states(&ready) {
        assert_eq!(state, "ready", "{name}: {ready}");
    }
    assert!(ready["components"]["generator"].is_object(), "{ready}");
    server.stop().await;
}

#[tokio::test]
async fn eager_loading_is_ready_as_soon_as_it_listens() {
    let server = TestServer::launch(config(Loading::Eager, Backend::Local)).await;
    let ready = expect_json(server.get("/health/ready").await, StatusCode::OK).await;
    assert_eq!(ready["status"], "ready", "{ready}");
    for (name, state) in component_states(&ready) {
        assert_eq!(state, "ready", "{name}: {ready}");
        assert!(
            ready["components"][&name].get("detail").is_none(),
            "{ready}"
        );
    }
    // Under `inference.precision = "auto"` the decoder's numerics were probed, and the
    // choice and the timings are reported.
    let decoder = &ready["components"]["generator"]["decoder"];
    assert_eq!(decoder["chosen_by"], "probe", "{ready}");
    assert!(decoder["threads"].as_u64().unwrap() >= 1, "{ready}");
    let probe = decoder["probe"].as_array().expect("probe timings");
    let timed: Vec<&str> = probe
        .iter()
        .map(|t| t["numerics"].as_str().unwrap())
        .collect();
    assert_eq!(timed, ["f32", "int4", "bf16", "f16"], "{ready}");
    assert_eq!(probe[0]["max_logit_diff"], 0.0, "{ready}");
    let chosen = decoder["numerics"].as_str().unwrap();
    let chosen_timing = probe.iter().find(|t| t["numerics"] == chosen).unwrap();
    assert!(chosen_timing.get("rejected").is_none(), "{ready}");
    assert!(chosen_timing["step_ms"].as_f64().unwrap() > 0.0, "{ready}");
    let metrics = server.get("/metrics").await.text().await.unwrap();
    let info = metrics
        .lines()
        .find(|l| l.starts_with("crag_decoder_numerics_info{"))
        .unwrap_or_else(|| panic!("no decoder info in\n{metrics}"));
    let labels = format!("numerics=\"{chosen}\",chosen_by=\"probe\"}} 1");
    assert!(info.ends_with(&labels), "{info}");
    for (numerics, phase) in [("f32", "prefill"), ("int4", "step")] {
        let series = format!("numerics=\"{numerics}\",phase=\"{phase}\"}} ");
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("crag_decoder_probe_seconds{") && l.contains(&series)),
            "{series} missing:\n{metrics}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn lazy_models_are_loadable_until_first_used() {
    let server = TestServer::launch(config(Loading::Lazy, Backend::None)).await;
    let ready = expect_json(server.get("/health/ready").await, StatusCode::OK).await;
    assert_eq!(ready["status"], "ready", "{ready}");
    for model in ["encoder", "reranker"] {
        let detail = ready["components"][model]["detail"].as_str().unwrap_or("");
        assert!(detail.contains("first use"), "{model}: {ready}");
    }

    // Ingesting embeds, so it loads the encoder, and only the encoder.
    server.create_collection("lazy", "english").await;
    let (status, _) = server.upsert("lazy", &json!({"text": TEXT})).await;
    assert_eq!(status, StatusCode::CREATED);
    let ready = expect_json(server.get("/health/ready").await, StatusCode::OK).await;
    assert!(
        ready["components"]["encoder"].get("detail").is_none(),
        "{ready}"
    );
    let reranker = ready["components"]["reranker"]["detail"]
        .as_str()
        .unwrap_or("");
    assert!(reranker.contains("first use"), "{ready}");

    // A reranked search loads the reranker.
    let hits = server
        .search(&json!({"query": "freedom of expression", "collections": ["lazy"], "rerank": true}))
        .await;
    assert_eq!(hits.len(), 1);
    let ready = expect_json(server.get("/health/ready").await, StatusCode::OK).await;
    assert!(
        ready["components"]["reranker"].get("detail").is_none(),
        "{ready}"
    );
    server.stop().await;
}
