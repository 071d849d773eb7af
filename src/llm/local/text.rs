//! Token bytes to text deltas: whole UTF-8 characters only, and nothing from a stop string on.

/// What one more token adds to the output.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Piece {
    /// Text that is now certain (never part of a stop string).
    pub text: String,
    /// A stop string was completed: the generation ends and `text` is the last of it.
    pub stopped: bool,
}

/// Turns a sequence's token bytes into text, holding back incomplete characters and any tail
/// that might still become a stop string.
pub struct TextStream {
    undecoded: Vec<u8>,
    held: String,
    stops: Vec<String>,
}

impl TextStream {
    /// A stream that ends at the first of `stops` (empty strings are ignored).
    pub fn new(stops: &[String]) -> Self {
        Self {
            undecoded: Vec::new(),
            held: String::new(),
            stops: stops.iter().filter(|s| !s.is_empty()).cloned().collect(),
        }
    }

    /// Adds a token's bytes.
    pub fn push(&mut self, bytes: &[u8]) -> Piece {
        self.undecoded.extend_from_slice(bytes);
        self.decode_complete();
        if let Some(at) = self.earliest_stop() {
            self.held.truncate(at);
            return Piece {
                text: std::mem::take(&mut self.held),
                stopped: true,
            };
        }
        let keep = self.stop_prefix_len();
        let text = self.held[..self.held.len() - keep].to_owned();
        self.held.drain(..self.held.len() - keep);
        Piece {
            text,
            stopped: false,
        }
    }

    /// Everything still held back, at the end of a generation that no stop string ended
    /// (incomplete characters become U+FFFD).
    pub fn finish(mut self) -> String {
        self.held.push_str(&String::from_utf8_lossy(&std::mem::take(
            &mut self.undecoded,
        )));
        self.held
    }

    /// Moves every complete character from `undecoded` to `held`; invalid bytes become U+FFFD.
    fn decode_complete(&mut self) {
        let mut at = 0;
        loop {
            match std::str::from_utf8(&self.undecoded[at..]) {
                Ok(s) => {
                    self.held.push_str(s);
                    at = self.undecoded.len();
                    break;
                }
                Err(e) => {
                    let valid = &self.undecoded[at..at + e.valid_up_to()];
                    self.held
                        .push_str(std::str::from_utf8(valid).expect("checked valid"));
                    at += e.valid_up_to();
                    match e.error_len() {
                        Some(bad) => {
                            self.held.push(char::REPLACEMENT_CHARACTER);
                            at += bad;
                        }
                        None => break,
                    }
                }
            }
        }
        self.undecoded.drain(..at);
    }

    fn earliest_stop(&self) -> Option<usize> {
        self.stops
            .iter()
            .filter_map(|s| self.held.find(s.as_str()))
            .min()
    }

    /// Length of the longest tail of `held` that starts some stop string.
    fn stop_prefix_len(&self) -> usize {
        let held = self.held.as_str();
        (1..=held.len())
            .rev()
            .filter(|&n| held.is_char_boundary(held.len() - n))
            .find(|&n| {
                let tail = &held[held.len() - n..];
                self.stops
                    .iter()
                    .any(|s| s.len() > n && s.starts_with(tail))
            })
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stops: &[&str], tokens: &[&[u8]]) -> (Vec<String>, bool, String) {
        let stops: Vec<String> = stops.iter().map(|s| (*s).to_owned()).collect();
        let mut stream = TextStream::new(&stops);
        let mut pieces = Vec::new();
        for token in tokens {
            let piece = stream.push(token);
            pieces.push(piece.text);
            if piece.stopped {
                return (pieces, true, String::new());
            }
        }
        (pieces, false, stream.finish())
    }

    #[test]
    fn holds_back_split_characters() {
        let euro = "€".as_bytes();
        let (pieces, stopped, rest) = run(&[], &[b"a", &euro[..1], &euro[1..], b"b"]);
        assert_eq!(pieces, ["a", "", "€", "b"]);
        assert!(!stopped);
        assert_eq!(rest, "");
    }

    #[test]
    fn stop_strings_across_tokens_are_cut() {
        let (pieces, stopped, _) = run(&["END"], &[b"ab", b"cE", b"N", b"Dx"]);
        assert_eq!(pieces, ["ab", "c", "", ""]);
        assert!(stopped);
    }

    #[test]
    fn a_false_start_is_released() {
        let (pieces, stopped, rest) = run(&["END"], &[b"E", b"Nx", b"E"]);
        assert_eq!(pieces, ["", "ENx", ""]);
        assert!(!stopped);
        assert_eq!(rest, "E");
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        let (pieces, _, rest) = run(&[], &[&[0xFF, b'a'], &[0xE2, 0x82]]);
        assert_eq!(pieces, ["\u{FFFD}a", ""]);
        assert_eq!(rest, "\u{FFFD}");
    }
}
