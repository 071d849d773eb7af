//! Route labels for metrics: the OpenAPI path template of the operation a request matched
//! (`/v1/collections/{name}`), never the raw path, so label values stay few.

use std::collections::HashMap;

/// Label of requests that matched no route (unknown paths, refusals before routing).
const UNMATCHED: &str = "unmatched";

/// The spec's path templates, found from the router's patterns.
///
/// poem-openapi registers `/v1/collections/{name}` with the router as
/// `/v1/collections/:param0`, so the router's pattern alone loses the parameter names; two
/// templates (e.g. `{name}` and `{collection}`) can even share one pattern, told apart by
/// their methods.
pub struct RouteLabels {
    by_pattern: HashMap<String, Vec<(String, String)>>,
}

impl RouteLabels {
    /// The templates of every operation in `spec` (an OpenAPI document as JSON).
    pub fn from_spec(spec: &str) -> Self {
        let spec: serde_json::Value = serde_json::from_str(spec).expect("the spec is JSON");
        let mut by_pattern: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for (template, operations) in spec["paths"].as_object().into_iter().flatten() {
            for method in operations.as_object().into_iter().flat_map(|o| o.keys()) {
                by_pattern
                    .entry(router_pattern(template))
                    .or_default()
                    .push((method.to_ascii_uppercase(), template.clone()));
            }
        }
        Self { by_pattern }
    }

    /// Every operation of the spec as `(router pattern, METHOD, template)`.
    pub fn operations(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.by_pattern.iter().flat_map(|(pattern, operations)| {
            operations.iter().map(move |(method, template)| {
                (pattern.as_str(), method.as_str(), template.as_str())
            })
        })
    }

    /// The label of a request with `method` that the router matched with `pattern` (absent
    /// or empty when nothing matched).
    pub fn label(&self, method: &str, pattern: Option<&str>) -> String {
        let Some(pattern) = pattern.filter(|p| !p.is_empty()) else {
            return UNMATCHED.to_string();
        };
        match self.by_pattern.get(pattern) {
            Some(templates) => templates
                .iter()
                .find(|(m, _)| m == method)
                .unwrap_or(&templates[0])
                .1
                .clone(),
            None => pattern
                .split('/')
                .map(|segment| match segment.strip_prefix(':') {
                    Some(name) => format!("{{{name}}}"),
                    None => segment.to_string(),
                })
                .collect::<Vec<_>>()
                .join("/"),
        }
    }
}

/// The pattern poem-openapi gives the router for `template`.
fn router_pattern(template: &str) -> String {
    let mut count = 0;
    template
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') && segment.ends_with('}') {
                count += 1;
                format!(":param{}", count - 1)
            } else {
                segment.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_spec_templates() {
        let spec = r#"{"paths": {
            "/v1/collections/{name}": {"get": {}, "delete": {}},
            "/v1/collections/{collection}/documents/{id}": {"get": {}},
            "/v1/things/{a}": {"get": {}},
            "/v1/things/{b}": {"post": {}}
        }}"#;
        let labels = RouteLabels::from_spec(spec);
        assert_eq!(
            labels.label("DELETE", Some("/v1/collections/:param0")),
            "/v1/collections/{name}"
        );
        assert_eq!(
            labels.label("GET", Some("/v1/collections/:param0/documents/:param1")),
            "/v1/collections/{collection}/documents/{id}"
        );
        assert_eq!(
            labels.label("POST", Some("/v1/things/:param0")),
            "/v1/things/{b}"
        );
        assert_eq!(
            labels.label("GET", Some("/v1/things/:param0")),
            "/v1/things/{a}"
        );
        assert_eq!(labels.label("GET", Some("/openapi.json")), "/openapi.json");
        assert_eq!(labels.label("GET", Some("/x/:id")), "/x/{id}");
        assert_eq!(labels.label("GET", Some("")), UNMATCHED);
        assert_eq!(labels.label("GET", None), UNMATCHED);
    }
}
