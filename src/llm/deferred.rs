//! A generator whose model loads off the start-up path: in the background as the server
//! starts, or on the first generation. Generations asked for meanwhile wait for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use tokio::sync::OnceCell;

use super::local::probe::DecoderChoice;
use super::{GenerationError, GenerationRequest, GenerationStream, Generator};
use crate::config::Loading;

/// Builds the real generator; runs on a blocking thread.
type Loader = dyn Fn() -> Result<Arc<dyn Generator>, String> + Send + Sync;

/// A generator that loads its model when [`Loading`] says.
pub struct Deferred {
    model: String,
    state: Arc<State>,
}

struct State {
    started: AtomicBool,
    loaded: OnceCell<Result<Arc<dyn Generator>, String>>,
    load: Box<Loader>,
}

impl State {
    /// The generator, loading it first when nobody has yet.
    async fn generator(self: &Arc<Self>) -> Result<Arc<dyn Generator>, String> {
        let state = self.clone();
        self.loaded
            .get_or_init(|| async move {
                state.started.store(true, Ordering::Release);
                let loading = state.clone();
                let loaded = tokio::task::spawn_blocking(move || (loading.load)())
                    .await
                    .unwrap_or_else(|e| Err(format!("the loading thread failed: {e}")));
                match &loaded {
                    Ok(generator) => {
                        tracing::info!(model = generator.model(), "text generator loaded");
                    }
                    Err(why) => tracing::error!(error = %why, "the text generator failed to load"),
                }
                loaded
            })
            .await
            .clone()
    }
}

impl Deferred {
    /// A generator named `model` that `load` builds: now in the background for
    /// [`Loading::Background`], on the first generation otherwise. Call within a Tokio runtime.
    pub fn new(
        model: String,
        loading: Loading,
        load: impl Fn() -> Result<Arc<dyn Generator>, String> + Send + Sync + 'static,
    ) -> Self {
        let state = Arc::new(State {
            started: AtomicBool::new(false),
            loaded: OnceCell::new(),
            load: Box::new(load),
        });
        if loading == Loading::Background {
            state.started.store(true, Ordering::Release);
            let background = state.clone();
            tokio::spawn(async move { background.generator().await });
        }
        Self { model, state }
    }
}

impl Generator for Deferred {
    fn model(&self) -> &str {
        &self.model
    }

    fn generate(&self, request: GenerationRequest) -> GenerationStream {
        if let Some(Ok(generator)) = self.state.loaded.get() {
            return generator.generate(request);
        }
        let state = self.state.clone();
        futures::stream::once(async move {
            match state.generator().await {
                Ok(generator) => generator.generate(request),
                Err(why) => futures::stream::iter([Err(GenerationError::Unreachable(format!(
                    "the text generator failed to load: {why}"
                )))])
                .boxed(),
            }
        })
        .flatten()
        .boxed()
    }

    fn check(&self) -> futures::future::BoxFuture<'_, Result<(), String>> {
        match self.state.loaded.get() {
            Some(Ok(generator)) => generator.check(),
            Some(Err(why)) => Box::pin(std::future::ready(Err(format!(
                "the text generator failed to load: {why}"
            )))),
            // Not asked for yet: a lazy model is loadable, which is all readiness needs.
            None => Box::pin(std::future::ready(Ok(()))),
        }
    }

    fn is_loading(&self) -> bool {
        self.state.started.load(Ordering::Acquire) && self.state.loaded.get().is_none()
    }

    fn numerics(&self) -> Option<&DecoderChoice> {
        match self.state.loaded.get() {
            Some(Ok(generator)) => generator.numerics(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{
        ChatMessage, Completion, FinishReason, GenerationEvent, Role, Sampling, Usage, collect,
    };
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    /// Answers every request with its last message, reversed.
    struct Echo;

    impl Generator for Echo {
        fn model(&self) -> &str {
            "echo"
        }

        fn generate(&self, request: GenerationRequest) -> GenerationStream {
            let text: String = request.messages[0].content.chars().rev().collect();
            futures::stream::iter([
                Ok(GenerationEvent::Delta(text)),
                Ok(GenerationEvent::Finished {
                    usage: Usage::default(),
                    finish_reason: FinishReason::Stop,
                }),
            ])
            .boxed()
        }
    }

    fn request(text: &str) -> GenerationRequest {
        GenerationRequest {
            messages: vec![ChatMessage {
                role: Role::User,
                content: text.into(),
            }],
            sampling: Sampling::default(),
        }
    }

    fn counting(
        loads: &Arc<AtomicUsize>,
    ) -> impl Fn() -> Result<Arc<dyn Generator>, String> + use<> {
        let loads = loads.clone();
        move || {
            loads.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(30));
            Ok(Arc::new(Echo) as Arc<dyn Generator>)
        }
    }

    async fn text_of(generator: &Deferred, prompt: &str) -> String {
        let Completion { text, .. } = collect(generator.generate(request(prompt)))
            .await
            .expect("generates");
        text
    }

    #[tokio::test]
    async fn a_lazy_generator_loads_once_on_first_use() {
        let loads = Arc::new(AtomicUsize::new(0));
        let generator = Deferred::new("echo".into(), Loading::Lazy, counting(&loads));
        assert!(!generator.is_loading());
        assert_eq!(generator.check().await, Ok(()));
        assert_eq!(loads.load(Ordering::SeqCst), 0);
        let (first, second) = tokio::join!(text_of(&generator, "ab"), text_of(&generator, "cd"));
        assert_eq!((first.as_str(), second.as_str()), ("ba", "dc"));
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        assert!(!generator.is_loading());
    }

    #[tokio::test]
    async fn a_background_generator_is_loading_until_loaded() {
        let loads = Arc::new(AtomicUsize::new(0));
        let generator = Deferred::new("echo".into(), Loading::Background, counting(&loads));
        assert!(generator.is_loading());
        assert_eq!(text_of(&generator, "xyz").await, "zyx");
        assert!(!generator.is_loading());
        assert_eq!(loads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failed_load_fails_generations_and_the_check() {
        let generator = Deferred::new("broken".into(), Loading::Lazy, || {
            Err("no weights".to_string())
        });
        let failed = collect(generator.generate(request("a"))).await;
        assert!(
            matches!(&failed, Err(GenerationError::Unreachable(why)) if why.contains("no weights")),
            "{failed:?}"
        );
        assert!(generator.check().await.is_err());
    }
}
