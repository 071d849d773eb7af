//! References with annotations, in a shape SDK generators read.
//!
//! A documented field whose type is a component (an enum such as `Language`, or an object
//! such as `SourceScores`) comes out of poem-openapi as
//!
//! ```json
//! {"allOf": [{"$ref": "#/components/schemas/Language"},
//!            {"description": "…", "default": "english"}],
//!  "description": "…", "default": "english"}
//! ```
//!
//! since OpenAPI 3.0 ignores the siblings of a bare `$ref`. The second member repeats what the
//! schema itself says (poem-openapi copies it there too), so it constrains nothing; but
//! generators read an `allOf` of several members as a merge of object schemas: with it,
//! `openapi-python-client` drops every model with such a field (“Cannot take allOf a
//! non-object” for enums, a duplicate `SourceScores` model for objects) and with them most
//! operations. Without it, `{"allOf": [{"$ref": …}], "description": …}` is the plain
//! “this component, documented” that generators pass through to the referenced class.

use serde_json::Value;

/// Removes, everywhere in `spec`, the members of an `allOf` that only repeat keywords of the
/// schema holding the `allOf`: an `allOf` member that the schema already satisfies by its
/// own keywords adds no constraint, so the document means what it meant before.
pub fn drop_repeated_all_of_members(spec: &mut Value) {
    match spec {
        Value::Object(schema) => {
            if let Some(Value::Array(members)) = schema.get("allOf") {
                let repeats = |member: &Value| {
                    member.as_object().is_some_and(|member| {
                        !member.is_empty()
                            && member.iter().all(|(key, value)| {
                                key != "allOf" && schema.get(key) == Some(value)
                            })
                    })
                };
                let kept: Vec<Value> = members.iter().filter(|m| !repeats(m)).cloned().collect();
                if !kept.is_empty() && kept.len() < members.len() {
                    schema.insert("allOf".into(), Value::Array(kept));
                }
            }
            schema.values_mut().for_each(drop_repeated_all_of_members);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_repeated_all_of_members),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_documented_reference_keeps_only_the_reference() {
        let mut spec = json!({"components": {"schemas": {"CreateCollection": {
            "type": "object",
            "properties": {"language": {
                "allOf": [
                    {"$ref": "#/components/schemas/Language"},
                    {"default": "english", "description": "Analyzer language."}
                ],
                "default": "english",
                "description": "Analyzer language."
            }}
        }}}});
        drop_repeated_all_of_members(&mut spec);
        let language = &spec["components"]["schemas"]["CreateCollection"]["properties"]["language"];
        assert_eq!(
            *language,
            json!({
                "allOf": [{"$ref": "#/components/schemas/Language"}],
                "default": "english",
                "description": "Analyzer language."
            })
        );
    }

    #[test]
    fn members_that_add_constraints_stay() {
        // A tagged-union variant: the tag's object schema is not the wrapper's own.
        let variant = json!({
            "allOf": [
                {"type": "object", "properties": {"event": {"enum": ["done"]}}},
                {"$ref": "#/components/schemas/Answer"}
            ],
            "description": "An event."
        });
        // A member that differs from the wrapper in one keyword.
        let narrower = json!({
            "allOf": [{"$ref": "#/components/schemas/Language"}, {"description": "Other."}],
            "description": "Analyzer language."
        });
        for schema in [variant, narrower] {
            let mut spec = schema.clone();
            drop_repeated_all_of_members(&mut spec);
            assert_eq!(spec, schema);
        }
    }
}
