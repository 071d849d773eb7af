//! Splits a response body that arrives in arbitrary chunks into text lines, the framing
//! shared by server-sent events and newline-delimited JSON.

use crate::llm::GenerationError;

/// Longest line accepted from an upstream server; a longer one means the stream is broken.
const MAX_LINE_BYTES: usize = 1 << 20;

/// Bytes received but not yet returned as lines.
#[derive(Debug, Default)]
pub(crate) struct Lines {
    buffer: Vec<u8>,
    /// Start of the first line not yet returned.
    start: usize,
    /// Where the search for the next line ending resumes.
    scanned: usize,
}

impl Lines {
    /// Appends a chunk of the body.
    pub(crate) fn push(&mut self, chunk: &[u8]) {
        if self.start > 0 {
            self.buffer.drain(..self.start);
            self.scanned -= self.start;
            self.start = 0;
        }
        self.buffer.extend_from_slice(chunk);
    }

    /// The next complete line without its `\n` or `\r\n` ending, if one has arrived.
    pub(crate) fn next_line(&mut self) -> Result<Option<&str>, GenerationError> {
        if let Some(offset) = self.buffer[self.scanned..].iter().position(|&b| b == b'\n') {
            let end = self.scanned + offset;
            let line = &self.buffer[self.start..end];
            self.start = end + 1;
            self.scanned = self.start;
            text(line.strip_suffix(b"\r").unwrap_or(line)).map(Some)
        } else {
            self.scanned = self.buffer.len();
            if self.buffer.len() - self.start > MAX_LINE_BYTES {
                return Err(GenerationError::Upstream(format!(
                    "the upstream sent a line longer than {MAX_LINE_BYTES} bytes"
                )));
            }
            Ok(None)
        }
    }

    /// At the end of the body: the unterminated last line, if any bytes remain.
    pub(crate) fn finish(&mut self) -> Result<Option<&str>, GenerationError> {
        let rest = &self.buffer[self.start..];
        self.start = self.buffer.len();
        self.scanned = self.start;
        if rest.is_empty() {
            return Ok(None);
        }
        text(rest.strip_suffix(b"\r").unwrap_or(rest)).map(Some)
    }
}

fn text(line: &[u8]) -> Result<&str, GenerationError> {
    std::str::from_utf8(line)
        .map_err(|_| GenerationError::Upstream("the upstream sent a line that is not UTF-8".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(lines: &mut Lines) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(line) = lines.next_line().unwrap() {
            out.push(line.to_owned());
        }
        out
    }

    #[test]
    fn lines_split_across_chunks_are_joined() {
        let mut lines = Lines::default();
        lines.push(b"data: {\"a\"");
        assert!(drain(&mut lines).is_empty());
        lines.push(b":1}\r\n\r\ndata: [DO");
        assert_eq!(drain(&mut lines), ["data: {\"a\":1}", ""]);
        lines.push(b"NE]\n");
        assert_eq!(drain(&mut lines), ["data: [DONE]"]);
        assert_eq!(lines.finish().unwrap(), None);
    }

    #[test]
    fn a_multibyte_character_split_between_chunks_survives() {
        let mut lines = Lines::default();
        let text = "Grundlagen är höga\n".as_bytes();
        lines.push(&text[..13]);
        assert!(drain(&mut lines).is_empty());
        lines.push(&text[13..]);
        assert_eq!(drain(&mut lines), ["Grundlagen är höga"]);
    }

    #[test]
    fn the_unterminated_last_line_comes_out_at_the_end() {
        let mut lines = Lines::default();
        lines.push(b"{\"done\":false}\n{\"done\":true}");
        assert_eq!(drain(&mut lines), ["{\"done\":false}"]);
        assert_eq!(lines.finish().unwrap(), Some("{\"done\":true}"));
    }

    #[test]
    fn invalid_utf8_and_endless_lines_are_upstream_errors() {
        let mut lines = Lines::default();
        lines.push(b"\xff\xfe\n");
        assert!(matches!(
            lines.next_line(),
            Err(GenerationError::Upstream(_))
        ));
        let mut lines = Lines::default();
        lines.push(&vec![b'x'; MAX_LINE_BYTES + 1]);
        assert!(matches!(
            lines.next_line(),
            Err(GenerationError::Upstream(_))
        ));
    }
}
