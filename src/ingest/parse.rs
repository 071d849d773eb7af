//! Document parsers: turn raw input bytes into plain text documents.
//!
//! Supported formats are plain text, Markdown, HTML, JSON (one object or an
//! array of objects), JSON Lines and PDF. Every parser returns at least one
//! document with non-blank text, or an error.

use html2text::render::{TaggedLine, TextDecorator};
use regex::Regex;
use serde_json::{Map, Value};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::LazyLock;

/// Input formats the ingester understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Plain UTF-8 text.
    Text,
    /// Markdown, kept verbatim so that the chunker can read its headings.
    Markdown,
    /// HTML, converted to readable text.
    Html,
    /// One JSON object or an array of objects.
    Json,
    /// One JSON object per non-empty line.
    JsonLines,
    /// PDF, text extracted with `pdf-extract`.
    Pdf,
}

impl Format {
    /// Detects the format from a file extension (case-insensitive).
    pub fn from_path(path: &Path) -> Option<Format> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "txt" | "text" => Some(Format::Text),
            "md" | "markdown" => Some(Format::Markdown),
            "html" | "htm" | "xhtml" => Some(Format::Html),
            "json" => Some(Format::Json),
            "jsonl" | "ndjson" => Some(Format::JsonLines),
            "pdf" => Some(Format::Pdf),
            _ => None,
        }
    }

    /// Detects the format from a MIME content type; parameters such as
    /// `; charset=utf-8` are ignored.
    pub fn from_content_type(ct: &str) -> Option<Format> {
        let mime = ct.split(';').next()?.trim().to_ascii_lowercase();
        match mime.as_str() {
            "text/plain" => Some(Format::Text),
            "text/markdown" | "text/x-markdown" => Some(Format::Markdown),
            "text/html" | "application/xhtml+xml" => Some(Format::Html),
            "application/json" => Some(Format::Json),
            "application/x-ndjson"
            | "application/jsonl"
            | "application/x-jsonlines"
            | "application/jsonlines" => Some(Format::JsonLines),
            "application/pdf" => Some(Format::Pdf),
            _ => None,
        }
    }
}

/// One document extracted from an input file.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedDocument {
    /// Document title, when the input names one.
    pub title: Option<String>,
    /// The document's text (never blank).
    pub text: String,
    /// Extra fields (JSON inputs only).
    pub metadata: Map<String, Value>,
    /// Caller-supplied identifier (JSON `id` / `external_id`).
    pub external_id: Option<String>,
}

impl ParsedDocument {
    /// A document with text only; fails with [`ParseError::Empty`] when blank.
    fn from_text(text: String, title: Option<String>) -> Result<Self, ParseError> {
        if text.trim().is_empty() {
            return Err(ParseError::Empty);
        }
        Ok(Self {
            title,
            text,
            metadata: Map::new(),
            external_id: None,
        })
    }
}

/// Why an input could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The input is not UTF-8; carries the byte offset of the first bad byte.
    #[error("input is not valid UTF-8 (first bad byte at offset {0})")]
    InvalidUtf8(usize),
    /// Malformed JSON, or a JSON value of the wrong shape (1-based line).
    #[error("invalid JSON at line {line}: {message}")]
    Json {
        /// 1-based line number.
        line: usize,
        /// What went wrong.
        message: String,
    },
    /// A JSON document lacks a `text` / `content` string.
    #[error("JSON document at line {line} has no text field (expected \"text\" or \"content\")")]
    MissingText {
        /// 1-based line number of the document.
        line: usize,
    },
    /// The PDF reader failed (or panicked) on the input.
    #[error("PDF could not be read: {0}")]
    Pdf(String),
    /// The document's text is empty or whitespace only.
    #[error("document has no text")]
    Empty,
}

/// Parses `bytes` in the given format into one or more documents.
pub fn parse(bytes: &[u8], format: Format) -> Result<Vec<ParsedDocument>, ParseError> {
    match format {
        Format::Text => parse_text(bytes).map(|doc| vec![doc]),
        Format::Markdown => parse_markdown(bytes).map(|doc| vec![doc]),
        Format::Html => parse_html(bytes).map(|doc| vec![doc]),
        Format::Json => parse_json(bytes),
        Format::JsonLines => parse_json_lines(bytes),
        Format::Pdf => parse_pdf(bytes).map(|doc| vec![doc]),
    }
}

// ---------------------------------------------------------------------------
// Text and Markdown

/// Checks UTF-8, strips a byte-order mark and normalises CRLF to LF.
fn decode_utf8(bytes: &[u8]) -> Result<String, ParseError> {
    let text = std::str::from_utf8(bytes).map_err(|e| ParseError::InvalidUtf8(e.valid_up_to()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    Ok(normalize_newlines(text))
}

fn normalize_newlines(text: &str) -> String {
    if text.contains('\r') {
        text.replace("\r\n", "\n")
    } else {
        text.to_string()
    }
}

fn parse_text(bytes: &[u8]) -> Result<ParsedDocument, ParseError> {
    ParsedDocument::from_text(decode_utf8(bytes)?, None)
}

fn parse_markdown(bytes: &[u8]) -> Result<ParsedDocument, ParseError> {
    let text = decode_utf8(bytes)?;
    let title = markdown_title(&text);
    ParsedDocument::from_text(text, title)
}

/// The first level-one ATX heading (`# Title`) outside code fences.
fn markdown_title(text: &str) -> Option<String> {
    let mut in_fence = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        if let Some(title) = trimmed.strip_prefix("# ") {
            let title = title.trim().trim_end_matches('#').trim();
            if !title.is_empty() {
                return Some(title.to_string());
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------
// HTML

static HTML_TITLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?is)<title\b[^>]*>(.*?)</title\s*>").expect("valid regex"));
static HTML_TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?is)<(script|style)\b.*?</(?:script|style)\s*>|<[^>]*>").expect("valid regex")
});

/// Wrap width for HTML rendering: wide enough never to wrap prose.
const HTML_WIDTH: usize = 10_000;

fn parse_html(bytes: &[u8]) -> Result<ParsedDocument, ParseError> {
    let html = decode_utf8(bytes)?;
    let title = HTML_TITLE
        .captures(&html)
        .map(|caps| collapse_whitespace(&htmlize::unescape(&caps[1])))
        .filter(|title| !title.is_empty());
    let text = html_to_text(&html);
    ParsedDocument::from_text(text, title)
}

/// Renders HTML as text; falls back to tag stripping when `html2text`
/// fails or panics.
fn html_to_text(html: &str) -> String {
    let rendered = panic::catch_unwind(|| {
        html2text::config::with_decorator(ReadableDecorator)
            .raw_mode(true)
            .no_link_wrapping()
            .string_from_read(html.as_bytes(), HTML_WIDTH)
    });
    let text = match rendered {
        Ok(Ok(text)) => text,
        _ => strip_tags(html),
    };
    tidy_lines(&text)
}

/// Plain-text decoration for retrieval: no link brackets or emphasis
/// marks; headings keep Markdown `#` prefixes so the chunker sees them.
struct ReadableDecorator;

impl TextDecorator for ReadableDecorator {
    type Annotation = ();

    fn decorate_link_start(&mut self, _url: &str) -> (String, ()) {
        (String::new(), ())
    }
    fn decorate_link_end(&mut self) -> String {
        String::new()
    }
    fn decorate_em_start(&self) -> (String, ()) {
        (String::new(), ())
    }
    fn decorate_em_end(&self) -> String {
        String::new()
    }
    fn decorate_strong_start(&self) -> (String, ()) {
        (String::new(), ())
    }
    fn decorate_strong_end(&self) -> String {
        String::new()
    }
    fn decorate_strikeout_start(&self) -> (String, ()) {
        (String::new(), ())
    }
    fn decorate_strikeout_end(&self) -> String {
        String::new()
    }
    fn decorate_code_start(&self) -> (String, ()) {
        (String::new(), ())
    }
    fn decorate_code_end(&self) -> String {
        String::new()
    }
    fn decorate_preformat_first(&self) {}
    fn decorate_preformat_cont(&self) {}
    fn decorate_image(&mut self, _src: &str, title: &str) -> (String, ()) {
        (title.to_string(), ())
    }
    fn header_prefix(&self, level: usize) -> String {
        format!("{} ", "#".repeat(level.clamp(1, 6)))
    }
    fn quote_prefix(&self) -> String {
        String::new()
    }
    fn unordered_item_prefix(&self) -> String {
        "- ".to_string()
    }
    fn ordered_item_prefix(&self, i: i64) -> String {
        format!("{i}. ")
    }
    fn make_subblock_decorator(&self) -> Self {
        ReadableDecorator
    }
    fn decorate_superscript_start(&self) -> (String, ()) {
        (String::new(), ())
    }
    fn decorate_superscript_end(&self) -> String {
        String::new()
    }
    fn finalise(&mut self, _urls: Vec<String>) -> Vec<TaggedLine<()>> {
        Vec::new()
    }
}

/// Crude fallback: drops tags, scripts and styles, decodes every named and numeric entity.
fn strip_tags(html: &str) -> String {
    htmlize::unescape(HTML_TAG.replace_all(html, "\n")).into_owned()
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Trims trailing spaces and collapses runs of blank lines to one.
fn tidy_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.lines().map(str::trim_end) {
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
        }
        out.push_str(line);
        blank_run = 0;
    }
    out
}

// ---------------------------------------------------------------------------
// JSON and JSON Lines

fn parse_json(bytes: &[u8]) -> Result<Vec<ParsedDocument>, ParseError> {
    let text = decode_utf8(bytes)?;
    let value: Value = serde_json::from_str(&text).map_err(|e| ParseError::Json {
        line: e.line().max(1),
        message: e.to_string(),
    })?;
    match value {
        Value::Array(items) if items.is_empty() => Err(ParseError::Empty),
        Value::Array(items) => {
            let starts = top_level_value_lines(&text);
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| json_document(item, starts.get(i).copied().unwrap_or(1)))
                .collect()
        }
        other => {
            let line = first_value_line(&text);
            json_document(other, line).map(|doc| vec![doc])
        }
    }
}

fn parse_json_lines(bytes: &[u8]) -> Result<Vec<ParsedDocument>, ParseError> {
    let text = decode_utf8(bytes)?;
    let mut documents = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(line).map_err(|e| ParseError::Json {
            line: index + 1,
            message: e.to_string(),
        })?;
        documents.push(json_document(value, index + 1)?);
    }
    if documents.is_empty() {
        return Err(ParseError::Empty);
    }
    Ok(documents)
}

/// Keys that are not copied into metadata.
const RESERVED_KEYS: &[&str] = &["text", "content", "title", "id", "external_id", "metadata"];

/// Converts one JSON object into a document; `line` is used in errors.
fn json_document(value: Value, line: usize) -> Result<ParsedDocument, ParseError> {
    let Value::Object(mut object) = value else {
        return Err(ParseError::Json {
            line,
            message: "expected a JSON object".to_string(),
        });
    };
    let text = json_text(&object, line)?;
    let title = object
        .get("title")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    let external_id = ["id", "external_id"]
        .iter()
        .find_map(|key| object.get(*key).and_then(id_string));
    let metadata = json_metadata(&mut object);
    Ok(ParsedDocument {
        title,
        text,
        metadata,
        external_id,
    })
}

/// The `text` (or else `content`) string of a JSON document.
fn json_text(object: &Map<String, Value>, line: usize) -> Result<String, ParseError> {
    let field = ["text", "content"]
        .iter()
        .find_map(|key| object.get(*key).filter(|v| !v.is_null()));
    match field {
        None => Err(ParseError::MissingText { line }),
        Some(Value::String(text)) if text.trim().is_empty() => Err(ParseError::Empty),
        Some(Value::String(text)) => Ok(normalize_newlines(text)),
        Some(_) => Err(ParseError::Json {
            line,
            message: "\"text\"/\"content\" must be a string".to_string(),
        }),
    }
}

/// A string or number identifier as a string.
fn id_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Other top-level fields, then the fields of a `metadata` object (which
/// win on conflicts). A non-object `metadata` value is kept under its key.
fn json_metadata(object: &mut Map<String, Value>) -> Map<String, Value> {
    let explicit = object.remove("metadata");
    let mut metadata: Map<String, Value> = std::mem::take(object)
        .into_iter()
        .filter(|(key, _)| !RESERVED_KEYS.contains(&key.as_str()))
        .collect();
    match explicit {
        Some(Value::Object(fields)) => metadata.extend(fields),
        Some(Value::Null) | None => {}
        Some(other) => {
            metadata.insert("metadata".to_string(), other);
        }
    }
    metadata
}

/// 1-based line of the first non-whitespace character.
fn first_value_line(text: &str) -> usize {
    let offset = text.len() - text.trim_start().len();
    line_at(text, offset)
}

/// 1-based start lines of the elements of a top-level JSON array (empty
/// when the text is not an array). Assumes `text` is valid JSON.
fn top_level_value_lines(text: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let mut line = 1;
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut expecting_value = false;
    for byte in text.bytes() {
        if byte == b'\n' {
            line += 1;
        }
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if depth == 1 && expecting_value && !byte.is_ascii_whitespace() && byte != b']' {
            lines.push(line);
            expecting_value = false;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                expecting_value = depth == 1 && byte == b'[';
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 1 => expecting_value = true,
            _ => {}
        }
    }
    lines
}

fn line_at(text: &str, offset: usize) -> usize {
    1 + text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

// ---------------------------------------------------------------------------
// PDF

fn parse_pdf(bytes: &[u8]) -> Result<ParsedDocument, ParseError> {
    let extracted = panic::catch_unwind(AssertUnwindSafe(|| {
        pdf_extract::extract_text_from_mem(bytes)
    }));
    let text = match extracted {
        Ok(Ok(text)) => text,
        Ok(Err(error)) => return Err(ParseError::Pdf(error.to_string())),
        Err(payload) => return Err(ParseError::Pdf(panic_message(payload.as_ref()))),
    };
    ParsedDocument::from_text(tidy_lines(&normalize_newlines(&text)), None)
}

/// Best-effort text of a panic payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let detail = payload
        .downcast_ref::<&str>()
        .map(std::string::ToString::to_string)
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown error".to_string());
    format!("the PDF reader panicked: {detail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_stripping_fallback_decodes_every_entity() {
        let html = "<p>1&nbsp;&sect; All offentlig makt i Sverige utg&aring;r fr&#229;n \
                    folket.</p><script>var x = '&ouml;';</script><p>Riksdagen &#x00E4;r \
                    folkets fr&auml;msta f&ouml;retr&#xE4;dare &amp; stiftar lag.</p>";
        let text = tidy_lines(&strip_tags(html));
        assert_eq!(
            text,
            "1\u{a0}§ All offentlig makt i Sverige utgår från folket.\n\n\
             Riksdagen är folkets främsta företrädare & stiftar lag."
        );
    }
}
