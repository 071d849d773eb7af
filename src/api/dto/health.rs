//! The readiness state as the health routes report it.

use super::mirror_enum;

mirror_enum! {
    /// How well a component, or the whole server, can serve.
    #[serde(rename_all = "lowercase")]
    #[oai(rename_all = "lowercase")]
    pub enum State mirrors service::State {
        /// Serving normally.
        Ready,
        /// Serving, but refusing some requests (a full queue) or with an optional part down.
        Degraded,
        /// A model is still loading; requests that need it wait for it.
        Loading,
        /// Not serving.
        Unavailable,
    }
}
