//! The `X-Request-Id` of a request: the client's when it is acceptable, else a new UUID v7.

use poem::Request;

/// The header carrying the request id, in requests and in every response.
pub const HEADER: &str = "x-request-id";

/// Longest accepted client request id, in bytes.
const MAX_LEN: usize = 128;

/// The id of one request; handlers can read it with `Data<&RequestId>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// The client's id when it is 1 to 128 visible ASCII characters, else a fresh UUID v7.
    pub fn of(request: &Request) -> Self {
        request
            .headers()
            .get(HEADER)
            .and_then(|value| value.to_str().ok())
            .filter(|id| is_acceptable(id))
            .map_or_else(Self::generate, |id| Self(id.to_string()))
    }

    /// A fresh, time-ordered id.
    fn generate() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_acceptable(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_LEN && id.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_for(header: Option<&str>) -> String {
        let mut builder = Request::builder();
        if let Some(value) = header {
            builder = builder.header(HEADER, value);
        }
        RequestId::of(&builder.finish()).as_str().to_string()
    }

    #[test]
    fn keeps_acceptable_ids_and_replaces_others() {
        assert_eq!(id_for(Some("abc-123_X.y:z")), "abc-123_X.y:z");
        let longest = "a".repeat(MAX_LEN);
        assert_eq!(id_for(Some(&longest)), longest);
        for bad in [
            None,
            Some(""),
            Some("has space"),
            Some(&*"a".repeat(MAX_LEN + 1)),
        ] {
            let id = id_for(bad);
            let parsed = uuid::Uuid::parse_str(&id).expect("a generated UUID");
            assert_eq!(parsed.get_version_num(), 7, "{id}");
        }
    }
}
