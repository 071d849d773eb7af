//! Which role each route needs: one table for every operation of the spec, looked up with
//! poem's own router so that a request finds exactly the operation it will be served by.

use std::collections::HashMap;

use poem::http::Method;
use poem::{Endpoint, PathPattern, Request, Response, Route, RouteMethod, endpoint::make_sync};

use super::route_label::RouteLabels;
use crate::model::Role;

/// What a route needs from its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Nothing: probes and metrics.
    Open,
    /// A key with at least this role (when authentication is on).
    Role(Role),
}

/// Routes anyone may call (`/openapi.json` and `/docs` are outside the spec and open too).
const OPEN: [&str; 6] = [
    "/health/live",
    "/health/ready",
    "/metrics",
    "/api/constitutional/health",
    "/api/constitutional/metrics",
    "/api/constitutional/metrics/prometheus",
];

/// `POST` routes that only read: questions, retrieval and model calls.
const QUERIES: [&str; 8] = [
    "/v1/search",
    "/v1/answer",
    "/v1/answer/stream",
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/rerank",
    "/api/constitutional/agent/query",
    "/api/constitutional/agent/query/stream",
];

/// The access rule: key management and creating or deleting collections need `admin`;
/// reads and queries need `reader`; every other write needs `writer`.
pub fn required(method: &str, template: &str) -> Access {
    let admin = template.starts_with("/v1/keys")
        || (method == "POST" && template == "/v1/collections")
        || (method == "DELETE" && template == "/v1/collections/{name}");
    if OPEN.contains(&template) {
        Access::Open
    } else if admin {
        Access::Role(Role::Admin)
    } else if matches!(method, "GET" | "HEAD") || (method == "POST" && QUERIES.contains(&template))
    {
        Access::Role(Role::Reader)
    } else {
        Access::Role(Role::Writer)
    }
}

/// The access of every operation, behind a router shaped like the API's.
pub struct AccessTable {
    router: Route,
}

impl AccessTable {
    /// The table of every operation in `spec` (an OpenAPI document as JSON).
    pub fn from_spec(spec: &str) -> Self {
        let labels = RouteLabels::from_spec(spec);
        let mut by_pattern: HashMap<&str, Vec<(&str, Access)>> = HashMap::new();
        for (pattern, method, template) in labels.operations() {
            by_pattern
                .entry(pattern)
                .or_default()
                .push((method, required(method, template)));
        }
        let router = by_pattern
            .into_iter()
            .fold(Route::new(), |router, (pattern, operations)| {
                let methods =
                    operations
                        .into_iter()
                        .fold(RouteMethod::new(), |methods, (method, access)| {
                            let method = Method::from_bytes(method.as_bytes())
                                .expect("spec methods are valid");
                            methods.method(method, marker(access))
                        });
                router.at(pattern, methods)
            });
        Self { router }
    }

    /// The access `request`'s operation needs, with the router pattern it matched; `None`
    /// when it matches no operation (its 404 or 405 is left to the API).
    pub async fn of(&self, request: &Request) -> Option<(Access, PathPattern)> {
        let probe = Request::builder()
            .method(request.method().clone())
            .uri(request.uri().clone())
            .finish();
        let marker = self.router.call(probe).await.ok()?;
        Some((
            *marker.data::<Access>()?,
            marker.data::<PathPattern>()?.clone(),
        ))
    }
}

/// An endpoint answering with `access` attached to its response.
fn marker(access: Access) -> impl Endpoint<Output = Response> {
    make_sync(move |_| {
        let mut response = Response::default();
        response.set_data(access);
        response
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_follow_the_rule() {
        let reader = Access::Role(Role::Reader);
        let writer = Access::Role(Role::Writer);
        let admin = Access::Role(Role::Admin);
        for (method, template, access) in [
            ("GET", "/health/ready", Access::Open),
            ("GET", "/metrics", Access::Open),
            ("POST", "/v1/search", reader),
            ("POST", "/v1/chat/completions", reader),
            ("POST", "/v1/embeddings", reader),
            ("GET", "/v1/collections", reader),
            ("GET", "/v1/collections/{collection}/documents/{id}", reader),
            ("GET", "/api/documents", reader),
            ("POST", "/v1/collections/{collection}/documents", writer),
            (
                "POST",
                "/v1/collections/{collection}/documents/bulk",
                writer,
            ),
            (
                "DELETE",
                "/v1/collections/{collection}/documents/{id}",
                writer,
            ),
            ("POST", "/v1/collections/{name}/reindex", writer),
            ("PUT", "/api/documents/{document_id}", writer),
            ("POST", "/v1/collections", admin),
            ("DELETE", "/v1/collections/{name}", admin),
            ("GET", "/v1/keys", admin),
            ("DELETE", "/v1/keys/{id}", admin),
        ] {
            assert_eq!(required(method, template), access, "{method} {template}");
        }
    }

    #[tokio::test]
    async fn lookups_use_the_router() {
        let spec = r#"{"paths": {
            "/v1/collections/{name}": {"get": {}, "delete": {}},
            "/v1/collections/{collection}/documents/bulk": {"post": {}},
            "/v1/collections/{collection}/documents/{id}": {"get": {}, "put": {}},
            "/health/live": {"get": {}}
        }}"#;
        let table = AccessTable::from_spec(spec);
        let of = |method: Method, uri: &str| {
            let request = Request::builder().method(method).uri_str(uri).finish();
            let table = &table;
            async move { table.of(&request).await.map(|(access, _)| access) }
        };
        assert_eq!(
            of(Method::DELETE, "/v1/collections/laws").await,
            Some(Access::Role(Role::Admin))
        );
        assert_eq!(
            of(Method::HEAD, "/v1/collections/laws").await,
            Some(Access::Role(Role::Reader))
        );
        assert_eq!(
            of(Method::POST, "/v1/collections/laws/documents/bulk").await,
            Some(Access::Role(Role::Writer))
        );
        assert_eq!(
            of(Method::GET, "/v1/collections/laws/documents/d1").await,
            Some(Access::Role(Role::Reader))
        );
        assert_eq!(
            of(Method::GET, "/health/live?x=1").await,
            Some(Access::Open)
        );
        assert_eq!(of(Method::GET, "/nowhere").await, None);
        assert_eq!(of(Method::POST, "/v1/collections/laws").await, None);
    }
}
