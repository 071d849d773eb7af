//! Unions of scalars and arrays, typed as what they are.
//!
//! poem-openapi gives every `Union` the keyword `"type": "object"`, also a union of a string
//! and an array of strings (`EmbeddingInput`, `MessageContent`, `OneOrMany`). Next to an
//! `anyOf` of non-objects that keyword admits nothing at all, so a client generating requests
//! from the document (schemathesis, for one) finds no valid `input` for `/v1/embeddings`.

use serde_json::Value;

/// Removes, everywhere in `spec`, `"type": "object"` from schemas whose `anyOf` or `oneOf`
/// names a member of another type; the members' own types say what is accepted.
pub fn drop_object_type_of_scalar_unions(spec: &mut Value) {
    match spec {
        Value::Object(schema) => {
            let scalar_member = ["anyOf", "oneOf"].iter().any(|keyword| {
                schema
                    .get(*keyword)
                    .and_then(Value::as_array)
                    .is_some_and(|members| {
                        members.iter().any(|member| {
                            member
                                .get("type")
                                .is_some_and(|kind| kind != &Value::from("object"))
                        })
                    })
            });
            if scalar_member && schema.get("type") == Some(&Value::from("object")) {
                schema.remove("type");
            }
            schema
                .values_mut()
                .for_each(drop_object_type_of_scalar_unions);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_object_type_of_scalar_unions),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_unions_with_scalar_members_lose_the_object_type() {
        let mut spec = json!({
            "text": {"type": "object", "anyOf": [{"type": "string"}, {"type": "array"}]},
            "event": {"type": "object", "oneOf": [{"$ref": "#/a"}, {"type": "object"}]},
        });
        drop_object_type_of_scalar_unions(&mut spec);
        assert_eq!(spec["text"].get("type"), None);
        assert_eq!(spec["event"]["type"], "object");
    }
}
