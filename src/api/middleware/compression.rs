//! Response compression: a JSON, problem or page response of at least
//! `server.compress_min_bytes` is sent zstd- or gzip-encoded when the client's
//! `Accept-Encoding` allows it. Event streams are never touched (each event must reach the
//! client when it is written), and request bodies are never decompressed (a small
//! compressed body could otherwise expand past the body limits).

use std::io::Write;

use poem::http::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use poem::http::{HeaderValue, Method};
use poem::{Body, Endpoint, IntoResponse, Request, Response, Result};

/// The encodings this server writes, most preferred first at equal quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// Zstandard at level 1: the fastest to write and to read.
    Zstd,
    /// gzip at its fastest level: understood by every client.
    Gzip,
}

impl Encoding {
    fn token(self) -> &'static str {
        match self {
            Encoding::Zstd => "zstd",
            Encoding::Gzip => "gzip",
        }
    }

    fn encode(self, data: &[u8]) -> std::io::Result<Vec<u8>> {
        match self {
            Encoding::Zstd => zstd::bulk::compress(data, 1),
            Encoding::Gzip => {
                let mut encoder = flate2::write::GzEncoder::new(
                    Vec::with_capacity(data.len() / 4),
                    flate2::Compression::fast(),
                );
                encoder.write_all(data)?;
                encoder.finish()
            }
        }
    }
}

/// The encoding to answer a request with, from its `Accept-Encoding` header: the accepted
/// one with the highest quality (`q=0` refuses; `*` accepts both), zstd before gzip on a tie.
pub(crate) fn negotiate(accept: &str) -> Option<Encoding> {
    let mut best: Option<(f32, Encoding)> = None;
    for entry in accept.split(',') {
        let mut parts = entry.split(';');
        let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let quality = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())
            .unwrap_or(0.0);
        if quality <= 0.0 {
            continue;
        }
        let candidates: &[Encoding] = match name.as_str() {
            "zstd" => &[Encoding::Zstd],
            "gzip" | "x-gzip" => &[Encoding::Gzip],
            "*" => &[Encoding::Zstd, Encoding::Gzip],
            _ => &[],
        };
        for &encoding in candidates {
            let better = match best {
                None => true,
                Some((q, current)) => {
                    quality > q
                        || (quality == q && encoding == Encoding::Zstd && current != encoding)
                }
            };
            if better {
                best = Some((quality, encoding));
            }
        }
    }
    best.map(|(_, encoding)| encoding)
}

/// Whether a response of this content type is written whole in memory and worth encoding.
fn compressible(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    matches!(
        essence,
        "application/json"
            | "application/problem+json"
            | "text/html"
            | "text/css"
            | "text/plain"
            | "text/javascript"
            | "application/javascript"
            | "image/svg+xml"
    )
}

/// Compresses responses of at least `min_bytes` (0 turns compression off).
pub(crate) struct Compress {
    min_bytes: usize,
}

impl Compress {
    pub(crate) fn new(min_bytes: usize) -> Self {
        Self { min_bytes }
    }

    pub(crate) async fn apply<E: Endpoint>(
        self: std::sync::Arc<Self>,
        endpoint: E,
        request: Request,
    ) -> Result<Response> {
        let encoding = (self.min_bytes > 0 && request.method() != Method::HEAD)
            .then(|| request.headers().get(ACCEPT_ENCODING))
            .flatten()
            .and_then(|value| value.to_str().ok())
            .and_then(negotiate);
        let mut response = endpoint.call(request).await?.into_response();
        let eligible = self.min_bytes > 0
            && !response.headers().contains_key(CONTENT_ENCODING)
            && response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .is_some_and(compressible);
        if !eligible {
            return Ok(response);
        }
        response
            .headers_mut()
            .append(VARY, HeaderValue::from_static("accept-encoding"));
        let Some(encoding) = encoding else {
            return Ok(response);
        };
        let body = response.take_body().into_bytes().await?;
        if body.len() < self.min_bytes {
            response.set_body(body);
            return Ok(response);
        }
        match encoding.encode(&body) {
            Ok(encoded) => {
                response
                    .headers_mut()
                    .insert(CONTENT_ENCODING, HeaderValue::from_static(encoding.token()));
                response.set_body(Body::from_vec(encoded));
            }
            Err(error) => {
                tracing::warn!(%error, encoding = encoding.token(), "response sent uncompressed");
                response.set_body(body);
            }
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_follows_quality_and_prefers_zstd_on_ties() {
        assert_eq!(negotiate("gzip"), Some(Encoding::Gzip));
        assert_eq!(negotiate("gzip, deflate, br, zstd"), Some(Encoding::Zstd));
        assert_eq!(negotiate("zstd;q=0.5, gzip"), Some(Encoding::Gzip));
        assert_eq!(negotiate("gzip;q=0, zstd;q=0"), None);
        assert_eq!(negotiate("identity"), None);
        assert_eq!(negotiate("br, deflate"), None);
        assert_eq!(negotiate("*"), Some(Encoding::Zstd));
        assert_eq!(negotiate("*;q=0.1, GZIP;q=0.9"), Some(Encoding::Gzip));
        assert_eq!(negotiate("gzip;q=abc"), None);
        assert_eq!(negotiate(""), None);
    }

    #[test]
    fn only_whole_in_memory_bodies_are_compressed() {
        assert!(compressible("application/json; charset=utf-8"));
        assert!(compressible("application/problem+json"));
        assert!(compressible("text/html; charset=utf-8"));
        assert!(!compressible("text/event-stream"));
        assert!(!compressible("application/x-ndjson"));
        assert!(!compressible("image/png"));
    }

    #[test]
    fn both_encodings_round_trip() {
        let data = br#"{"hits":[{"title":"Apache License","score":0.5}]}"#.repeat(200);
        let zstd = Encoding::Zstd.encode(&data).unwrap();
        assert_eq!(zstd::bulk::decompress(&zstd, data.len()).unwrap(), data);
        let gzip = Encoding::Gzip.encode(&data).unwrap();
        let mut decoded = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gzip[..]), &mut decoded)
            .unwrap();
        assert_eq!(decoded, data);
        assert!(zstd.len() < data.len() / 10 && gzip.len() < data.len() / 10);
    }
}
