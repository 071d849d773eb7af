//! Parsing `text/event-stream` bodies in tests.

use serde_json::Value;

/// One server-sent event.
#[derive(Debug, Clone)]
pub struct SseEvent {
    /// The `event:` name (`message` when absent).
    pub name: String,
    /// The `id:`, when present.
    pub id: Option<String>,
    /// The `data:` lines joined, parsed as JSON.
    pub data: Value,
}

/// The events of a whole stream body; comment lines are skipped.
pub fn parse(body: &str) -> Vec<SseEvent> {
    body.split("\n\n")
        .filter_map(|block| {
            let mut name = "message".to_string();
            let mut id = None;
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("id:") {
                    id = Some(v.trim().to_string());
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push(v.strip_prefix(' ').unwrap_or(v).to_string());
                }
            }
            if data.is_empty() {
                return None;
            }
            let joined = data.join("\n");
            let data = serde_json::from_str(&joined)
                .unwrap_or_else(|e| panic!("event data is not JSON ({e}): {joined}"));
            Some(SseEvent { name, id, data })
        })
        .collect()
}
