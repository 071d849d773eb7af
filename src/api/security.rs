//! API keys in the OpenAPI document: the two ways to send a key as security schemes, and on
//! each operation the requirement, role and 401/403 responses that the access table (the
//! one the server enforces) gives it, so that generated SDKs can send keys.

use serde_json::{Value, json};

use super::middleware::access::{Access, required};

/// Name of the `Authorization: Bearer` scheme.
const BEARER: &str = "bearerKey";
/// Name of the `X-API-Key` scheme.
const HEADER: &str = "headerKey";

/// Adds to `spec` (an OpenAPI document) the security schemes and per-operation requirements.
pub fn add_requirements(spec: &mut Value) {
    spec["components"]["securitySchemes"] = json!({
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key (`crag_…`) as `Authorization: Bearer <key>`."
        },
        HEADER: {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "An API key (`crag_…`) as `X-API-Key: <key>`."
        }
    });
    let problem = json!({
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    });
    let paths = spec["paths"].as_object_mut().into_iter().flatten();
    for (template, operations) in paths {
        let operations = operations.as_object_mut().into_iter().flatten();
        for (method, operation) in operations {
            let Access::Role(role) = required(&method.to_ascii_uppercase(), template) else {
                operation["security"] = json!([]);
                continue;
            };
            operation["security"] = json!([{BEARER: []}, {HEADER: []}]);
            let note = format!(
                "Needs an API key with the `{}` role or higher while authentication is on.",
                role.as_str()
            );
            operation["description"] = match operation["description"].as_str() {
                Some(text) => format!("{text}\n\n{note}").into(),
                None => note.into(),
            };
            operation["responses"]["401"] = json!({
                "description": "No key, an unknown key or a revoked key (`missing_api_key`, \
                    `invalid_api_key`, `revoked_api_key`); the `WWW-Authenticate` header \
                    carries the challenge.",
                "content": problem.clone()
            });
            operation["responses"]["403"] = json!({
                "description": "The key's role is below the route's (`insufficient_role`).",
                "content": problem.clone()
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_get_their_requirements() {
        let mut spec = json!({"paths": {
            "/v1/search": {"post": {"responses": {"200": {}}}},
            "/health/live": {"get": {"responses": {"200": {}}}}
        }, "components": {"schemas": {}}});
        add_requirements(&mut spec);
        let schemes = &spec["components"]["securitySchemes"];
        assert_eq!(schemes[HEADER]["name"], "X-API-Key");
        assert_eq!(schemes[BEARER]["scheme"], "bearer");
        let search = &spec["paths"]["/v1/search"]["post"];
        assert_eq!(search["security"], json!([{BEARER: []}, {HEADER: []}]));
        assert!(search["description"].as_str().unwrap().contains("`reader`"));
        assert!(search["responses"]["401"]["content"]["application/problem+json"].is_object());
        assert!(search["responses"]["403"].is_object());
        let live = &spec["paths"]["/health/live"]["get"];
        assert_eq!(live["security"], json!([]));
        assert!(live["responses"].get("401").is_none());
    }
}
