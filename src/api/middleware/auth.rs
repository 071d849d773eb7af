//! Authentication and authorisation of every route: the request's key (`Authorization:
//! Bearer <key>` or `X-API-Key: <key>`) must have the role that [`access`](super::access)
//! names for the operation; 401 or 403 problems otherwise. Keys are never logged or echoed.

use std::sync::Arc;

use poem::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use poem::http::{HeaderValue, StatusCode};
use poem::{Endpoint, IntoResponse, PathPattern, Request, Response};

use super::access::{Access, AccessTable};
use crate::api::problem::{ApiError, Problem};
use crate::auth::{Caller, KeyRing, Rejection};
use crate::model::Role;

/// The alternative header carrying a key.
pub const API_KEY_HEADER: &str = "x-api-key";

/// The challenge sent with every 401.
const CHALLENGE: &str = "Bearer realm=\"constitutional-rag\"";

/// The authentication layer.
pub struct Authenticate {
    keys: Arc<KeyRing>,
    access: AccessTable,
}

impl Authenticate {
    /// Checks keys against `keys`, with the access table of `spec` (the OpenAPI document).
    pub fn new(keys: Arc<KeyRing>, spec: &str) -> Self {
        Self {
            keys,
            access: AccessTable::from_spec(spec),
        }
    }

    /// Serves `request` when its caller may call its operation; the caller is attached to
    /// the request as [`Caller`] data.
    pub async fn apply<E: Endpoint>(
        self: Arc<Self>,
        endpoint: Arc<E>,
        mut request: Request,
    ) -> poem::Result<Response> {
        let Some((Access::Role(needed), pattern)) = self.access.of(&request).await else {
            return endpoint
                .call(request)
                .await
                .map(IntoResponse::into_response);
        };
        let mut refusal = match self.keys.identify(presented_key(&request)).await {
            Err(err) => ApiError::from(err).into_problem().into_http_response(),
            Ok(Err(rejection)) => unauthenticated(rejection),
            Ok(Ok(Caller::Key { role, .. })) if role < needed => forbidden(role, needed),
            Ok(Ok(caller)) => {
                request.set_data(caller);
                let mut response = endpoint.call(request).await?.into_response();
                // Refusals of inner layers (the rate limit) are labelled with the route too.
                if response.data::<PathPattern>().is_none() {
                    response.set_data(pattern);
                }
                return Ok(response);
            }
        };
        refusal.set_data(pattern);
        Ok(refusal)
    }
}

/// The key in `request`'s headers: a bearer token, else `X-API-Key`.
fn presented_key(request: &Request) -> Option<&str> {
    let bearer = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    bearer
        .or_else(|| {
            request
                .headers()
                .get(API_KEY_HEADER)
                .and_then(|value| value.to_str().ok())
                .map(str::trim)
        })
        .filter(|key| !key.is_empty())
}

/// 401 with a `WWW-Authenticate` challenge.
fn unauthenticated(rejection: Rejection) -> Response {
    let (code, detail) = match rejection {
        Rejection::Missing => (
            "missing_api_key",
            "this route needs an API key: send `Authorization: Bearer <key>` or `X-API-Key: <key>`",
        ),
        Rejection::Unknown => ("invalid_api_key", "the API key is not valid"),
        Rejection::Revoked => ("revoked_api_key", "the API key has been revoked"),
    };
    let mut response = Problem::new(StatusCode::UNAUTHORIZED, code, detail).into_http_response();
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static(CHALLENGE));
    response
}

/// 403: the key is valid but its role is below the route's.
fn forbidden(role: Role, needed: Role) -> Response {
    Problem::new(
        StatusCode::FORBIDDEN,
        "insufficient_role",
        format!(
            "this route needs the {} role; the API key has the {} role",
            needed.as_str(),
            role.as_str()
        ),
    )
    .into_http_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of(headers: &[(&str, &str)]) -> Option<String> {
        let mut builder = Request::builder();
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        presented_key(&builder.finish()).map(str::to_string)
    }

    #[test]
    fn keys_come_from_either_header() {
        assert_eq!(
            key_of(&[("authorization", "Bearer k1")]).as_deref(),
            Some("k1")
        );
        assert_eq!(
            key_of(&[("authorization", "bearer  k1 ")]).as_deref(),
            Some("k1")
        );
        assert_eq!(key_of(&[("x-api-key", "k2")]).as_deref(), Some("k2"));
        assert_eq!(
            key_of(&[("authorization", "Bearer k1"), ("x-api-key", "k2")]).as_deref(),
            Some("k1")
        );
        assert_eq!(
            key_of(&[("authorization", "Basic dXNlcg=="), ("x-api-key", "k2")]).as_deref(),
            Some("k2")
        );
        assert_eq!(key_of(&[("authorization", "Basic dXNlcg==")]), None);
        assert_eq!(key_of(&[("x-api-key", "")]), None);
        assert_eq!(key_of(&[]), None);
    }
}
