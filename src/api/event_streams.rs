//! Event streams described event by event.
//!
//! poem-openapi documents a `text/event-stream` response with the schema of the JSON in each
//! event's `data` field. Readers of the document (schemathesis, and the Open API 3.2 rules
//! for sequential media types) read that schema as describing one event of the stream: its
//! `event`, `id`, `retry` and `data` fields, where `data` is always text. The document
//! therefore says so, and names the component that the JSON inside `data` follows.

use serde_json::{Value, json};

const EVENT_STREAM: &str = "text/event-stream";

/// Replaces the schema of every `text/event-stream` response in `spec` by that of one
/// server-sent event whose `data` holds the JSON of the schema it had.
pub fn describe_events(spec: &mut Value) {
    let operations = spec["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|operations| operations.values_mut());
    for operation in operations {
        let responses = operation["responses"].as_object_mut().into_iter().flatten();
        for (_, response) in responses {
            if let Some(media) = response.pointer_mut(&format!("/content/{}", escape(EVENT_STREAM)))
            {
                let payload = media["schema"]["$ref"].as_str().unwrap_or("").to_string();
                media["schema"] = event_schema(&payload);
            }
        }
    }
}

/// The schema of one event whose `data` is the JSON of `payload` (a component reference).
fn event_schema(payload: &str) -> Value {
    let name = payload.rsplit('/').next().unwrap_or_default();
    json!({
        "type": "object",
        "description": "One server-sent event.",
        "required": ["data"],
        "properties": {
            "event": {"type": "string", "description": "The event's name, when it has one."},
            "id": {"type": "string", "description": "The event's id, when it has one."},
            "retry": {"type": "integer", "description": "Reconnection delay in milliseconds."},
            "data": {
                "type": "string",
                "description": format!(
                    "One JSON object of the `{name}` schema ({payload}), or a closing marker \
                     such as `[DONE]` where the route documents one."
                )
            }
        }
    })
}

/// `name` as one JSON pointer token.
fn escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_schemas_describe_events() {
        let mut spec = json!({"paths": {"/s": {"post": {"responses": {
            "200": {"content": {"text/event-stream": {
                "schema": {"$ref": "#/components/schemas/PipelineEvent"}}}},
            "400": {"content": {"application/problem+json": {"schema": {"type": "object"}}}}
        }}}}});
        describe_events(&mut spec);
        let responses = &spec["paths"]["/s"]["post"]["responses"];
        let event = &responses["200"]["content"][EVENT_STREAM]["schema"];
        assert_eq!(event["required"], json!(["data"]));
        assert_eq!(event["properties"]["data"]["type"], "string");
        let data = event["properties"]["data"]["description"].as_str().unwrap();
        assert!(
            data.contains("#/components/schemas/PipelineEvent"),
            "{data}"
        );
        assert_eq!(
            responses["400"]["content"]["application/problem+json"]["schema"],
            json!({"type": "object"})
        );
    }
}
