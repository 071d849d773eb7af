//! A JSON request body decoded by serde through sonic-rs: types are strict (a number is not
//! a string), the DTO's serde attributes reject unknown fields and nesting is bounded (see
//! [`json_depth`]); the schema still comes from poem-openapi.

use poem::{FromRequest, Request, RequestBody};
use poem_openapi::error::ParseRequestPayloadError;
use poem_openapi::impl_apirequest_for_payload;
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use serde::de::DeserializeOwned;

use super::json_depth;

/// A strictly decoded `application/json` body.
#[derive(Debug)]
pub struct StrictJson<T>(pub T);

impl<T: Type> Payload for StrictJson<T> {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        content_type.parse::<mime::Mime>().is_ok_and(|mime| {
            mime.type_() == "application"
                && (mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json"))
        })
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + DeserializeOwned> ParsePayload for StrictJson<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let data = Vec::<u8>::from_request(request, body).await?;
        if json_depth::too_deep(&data) {
            return Err(ParseRequestPayloadError {
                reason: format!(
                    "invalid JSON body: nested deeper than {} levels",
                    json_depth::MAX_DEPTH
                ),
            }
            .into());
        }
        sonic_rs::from_slice(&data).map(StrictJson).map_err(|err| {
            ParseRequestPayloadError {
                reason: format!("invalid JSON body: {err}"),
            }
            .into()
        })
    }
}

impl_apirequest_for_payload!(StrictJson<T>, T: Type + DeserializeOwned);

impl<T> std::ops::Deref for StrictJson<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}
