//! Wire types of the engine's records: each mirrors an engine type field for field (same
//! name, so the OpenAPI document names it as before) and converts from it with `From`.

pub mod answer;
pub mod collection;
pub mod document;
pub mod events;
pub mod health;
pub mod keys;
pub mod search;

/// Declares a wire enum that mirrors an engine enum variant for variant, with `From` both
/// ways (its `serde` and `oai` attributes spell the same names); a variant added to one side does not compile until the other has it too.
macro_rules! mirror_enum {
    (
        $(#[$attr:meta])*
        pub enum $name:ident mirrors $($engine:ident)::+ {
            $($(#[$variant_attr:meta])* $variant:ident,)+
        }
    ) => {
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            serde::Serialize,
            serde::Deserialize,
            poem_openapi::Enum,
        )]
        $(#[$attr])*
        pub enum $name {
            $($(#[$variant_attr])* $variant,)+
        }

        impl From<crate::$($engine)::+> for $name {
            fn from(value: crate::$($engine)::+) -> Self {
                use crate::$($engine)::+ as Engine;
                match value {
                    $(Engine::$variant => Self::$variant,)+
                }
            }
        }

        impl From<$name> for crate::$($engine)::+ {
            fn from(value: $name) -> Self {
                match value {
                    $($name::$variant => Self::$variant,)+
                }
            }
        }
    };
}

pub(crate) use mirror_enum;

/// Converts each element of `items` (engine to wire, or wire to engine for requests).
pub(crate) fn convert_all<E, W: From<E>>(items: Vec<E>) -> Vec<W> {
    items.into_iter().map(W::from).collect()
}
