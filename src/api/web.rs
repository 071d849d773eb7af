//! The built-in web page: `/` serves `assets/web/index.html`, `/web/<file>` its scripts and
//! styles. Every file is compiled into the binary (no network, no build step), and every
//! response carries a Content-Security-Policy that allows only this origin's scripts and
//! styles — no inline code, no `eval` — so that document text can never run as code.

use poem::http::header::{CACHE_CONTROL, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use poem::http::{HeaderValue, Method, StatusCode};
use poem::web::Path;
use poem::{Endpoint, EndpointExt, IntoEndpoint, Response, handler};

use super::problem::Problem;

/// The policy of every page response: only same-origin scripts, styles and requests.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// One compiled-in file: its name under `/web/`, its media type and its bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// The [`Asset`] of `assets/web/<name>`, so that a file's name and its path cannot differ.
macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        Asset {
            name: $name,
            content_type: $content_type,
            body: include_str!(concat!("../../assets/web/", $name)),
        }
    };
}

/// The page's files.
const ASSETS: &[Asset] = &[
    asset!("style.css", CSS),
    asset!("icon.svg", SVG),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("i18n.js", JS),
    asset!("ask.js", JS),
    asset!("answer.js", JS),
    asset!("viewer.js", JS),
    asset!("manage.js", JS),
    asset!("upload.js", JS),
];

const INDEX: &str = include_str!("../../assets/web/index.html");

/// `api` (the OpenAPI service, nested at `/`) with `GET /` answered by the page: a route at
/// `/` beside it would never be reached, since poem prefers the nested catch-all there.
pub fn page_at_root<E>(api: E) -> impl Endpoint<Output = Response>
where
    E: IntoEndpoint,
    E::Endpoint: 'static,
{
    api.into_endpoint()
        .map_to_response()
        .around(|api, request| async move {
            if request.uri().path() == "/" && request.method() == Method::GET {
                return Ok(page_response("text/html; charset=utf-8", INDEX));
            }
            api.call(request).await
        })
}

/// `GET /web/<file>`: one of the page's files.
#[handler]
pub fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|candidate| candidate.name == file) {
        Some(found) => page_response(found.content_type, found.body),
        None => Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("the page has no file named {file:?}"),
        )
        .into_http_response(),
    }
}

/// `body` with its type, the page's policy, no sniffing, and revalidation on every load (the
/// files change with the binary, and they are small).
fn page_response(content_type: &'static str, body: &'static str) -> Response {
    let mut response = Response::builder()
        .status(StatusCode::OK)
        .header(CONTENT_TYPE, content_type)
        .body(body);
    let headers = response.headers_mut();
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_the_page_imports_is_served() {
        let sources = std::iter::once(INDEX).chain(ASSETS.iter().map(|a| a.body));
        for source in sources {
            for (at, _) in source.match_indices("/web/") {
                let name: String = source[at + 5..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
                    .collect();
                assert!(
                    ASSETS.iter().any(|file| file.name == name),
                    "{name} is referenced but not compiled in"
                );
            }
        }
    }

    #[test]
    fn the_policy_forbids_inline_code() {
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
        for source in std::iter::once(INDEX).chain(ASSETS.iter().map(|a| a.body)) {
            assert!(
                !source.contains("innerHTML"),
                "text is set with textContent"
            );
            assert!(!source.contains(" style=\""), "no inline styles");
        }
        assert!(!INDEX.contains("<script>"), "no inline scripts");
    }
}
