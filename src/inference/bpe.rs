//! Byte-level BPE tokenizers of decoder models, from GGUF metadata or a Hugging Face
//! `tokenizer.json`, with the bytes of every token for streaming detokenisation.
//!
//! From GGUF, the vocabulary, merges and token types become a `tokenizers` BPE model whose
//! pre-tokenizer is the one llama.cpp uses for the file's `tokenizer.ggml.pre`: GPT-2's split
//! regex, preceded by a split into single digits for the StarCoder family (SmolLM).

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Value, json};

use super::InferenceError;
use super::gguf::{GgufFile, MetaValue};

type Result<T> = std::result::Result<T, InferenceError>;

/// llama.cpp's token type of control tokens (`<|im_start|>`, ...), which never print.
const CONTROL: i64 = 3;
/// llama.cpp's token type of user-defined tokens, matched whole like control tokens.
const USER_DEFINED: i64 = 4;

/// Texts of end-of-turn tokens that stop generation besides `eos`, as llama.cpp treats them.
const END_OF_TURN: [&str; 6] = [
    "<|im_end|>",
    "<|eot_id|>",
    "<|end_of_text|>",
    "<|endoftext|>",
    "<end_of_turn>",
    "<|end|>",
];

/// Pre-tokenizer names (`tokenizer.ggml.pre`) that split digits one by one before GPT-2's regex.
const DIGIT_SPLITTING: [&str; 5] = ["smollm", "starcoder", "refact", "codeshell", "command-r"];

/// A decoder model's tokenizer.
pub struct BpeTokenizer {
    inner: tokenizers::Tokenizer,
    token_bytes: Vec<Vec<u8>>,
    /// Token put before every prompt, when the model asks for one.
    pub bos: Option<u32>,
    /// Text of the beginning-of-sequence token (for chat templates).
    pub bos_text: String,
    /// Text of the end-of-sequence token (for chat templates).
    pub eos_text: String,
    /// Tokens that end a generation (eos and end-of-turn tokens).
    pub end_of_generation: Vec<u32>,
    /// The model's Jinja chat template, if it ships one.
    pub chat_template: Option<String>,
}

impl BpeTokenizer {
    /// Builds the tokenizer described by a GGUF file's `tokenizer.*` metadata.
    pub fn from_gguf(file: &GgufFile) -> Result<Self> {
        let json = tokenizer_json_from_gguf(file)?;
        let inner = parse_tokenizer(&json.to_string())?;
        let tokens = string_array(file, "tokenizer.ggml.tokens")?;
        let id = |key: &str| {
            file.get(key)
                .and_then(MetaValue::as_u64)
                .and_then(|v| u32::try_from(v).ok())
        };
        let eos = id("tokenizer.ggml.eos_token_id")
            .ok_or_else(|| InferenceError::Unsupported("GGUF without eos token".into()))?;
        let bos = id("tokenizer.ggml.bos_token_id");
        let add_bos = file
            .get("tokenizer.ggml.add_bos_token")
            .and_then(MetaValue::as_bool)
            .unwrap_or(false);
        let text_of = |id: Option<u32>| {
            id.and_then(|i| tokens.get(i as usize))
                .map_or_else(String::new, |s| (*s).to_owned())
        };
        let mut end = vec![eos];
        end.extend(id("tokenizer.ggml.eot_token_id"));
        let chat_template = file
            .get("tokenizer.chat_template")
            .and_then(MetaValue::as_str)
            .map(str::to_owned);
        Ok(Self::assemble(
            inner,
            Specials {
                bos: bos.filter(|_| add_bos),
                bos_text: text_of(bos),
                eos_text: text_of(Some(eos)),
                end_of_generation: end,
                chat_template,
            },
        ))
    }

    /// Loads `tokenizer.json` (byte-level BPE only) and the special tokens and chat template of
    /// `tokenizer_config.json` / `config.json` from a model directory.
    pub fn from_hf_dir(dir: &Path) -> Result<Self> {
        let path = dir.join("tokenizer.json");
        let text = std::fs::read_to_string(&path).map_err(|source| InferenceError::Io {
            path: path.clone(),
            source,
        })?;
        let json: Value = serde_json::from_str(&text).map_err(|source| InferenceError::Json {
            path: path.clone(),
            source,
        })?;
        if !mentions_byte_level(&json["decoder"]) {
            return Err(InferenceError::Unsupported(format!(
                "{}: only byte-level BPE tokenizers are supported",
                path.display()
            )));
        }
        let inner = parse_tokenizer(&text)?;
        let config = read_optional_json(&dir.join("tokenizer_config.json"))?;
        let model_config = read_optional_json(&dir.join("config.json"))?;
        let token_text = |key: &str| match &config[key] {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o.get("content").and_then(Value::as_str).map(str::to_owned),
            _ => None,
        };
        let id_of = |key: &str| {
            token_text(key)
                .and_then(|t| inner.token_to_id(&t))
                .or_else(|| {
                    model_config[format!("{key}_id")]
                        .as_u64()
                        .and_then(|v| u32::try_from(v).ok())
                })
        };
        let eos = id_of("eos_token").ok_or_else(|| {
            InferenceError::Unsupported(format!("{}: no eos token", dir.display()))
        })?;
        let bos = id_of("bos_token");
        let add_bos = config["add_bos_token"].as_bool().unwrap_or(false);
        let text = |id: Option<u32>| id.and_then(|i| inner.id_to_token(i)).unwrap_or_default();
        let specials = Specials {
            bos: bos.filter(|_| add_bos),
            bos_text: text(bos),
            eos_text: text(Some(eos)),
            end_of_generation: vec![eos],
            chat_template: config["chat_template"].as_str().map(str::to_owned),
        };
        Ok(Self::assemble(inner, specials))
    }

    fn assemble(inner: tokenizers::Tokenizer, mut specials: Specials) -> Self {
        let token_bytes = token_bytes(&inner);
        for text in END_OF_TURN {
            if let Some(id) = inner.token_to_id(text) {
                specials.end_of_generation.push(id);
            }
        }
        specials.end_of_generation.sort_unstable();
        specials.end_of_generation.dedup();
        Self {
            inner,
            token_bytes,
            bos: specials.bos,
            bos_text: specials.bos_text,
            eos_text: specials.eos_text,
            end_of_generation: specials.end_of_generation,
            chat_template: specials.chat_template,
        }
    }

    /// Token ids of `text`; special tokens written in the text are matched whole, and the
    /// beginning-of-sequence token is prepended when the model asks for one.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let encoding = self
            .inner
            .encode_fast(text, false)
            .map_err(|e| InferenceError::Tokenizer(e.to_string()))?;
        Ok(self
            .bos
            .into_iter()
            .chain(encoding.get_ids().iter().copied())
            .collect())
    }

    /// The bytes a token prints as (none for control tokens; may be part of a UTF-8 character).
    pub fn token_bytes(&self, id: u32) -> &[u8] {
        self.token_bytes.get(id as usize).map_or(&[], Vec::as_slice)
    }

    /// Entries of the vocabulary, added tokens included.
    pub fn vocab_size(&self) -> usize {
        self.token_bytes.len()
    }

    /// Whether `id` ends a generation.
    pub fn ends_generation(&self, id: u32) -> bool {
        self.end_of_generation.binary_search(&id).is_ok()
    }

    /// The tokenizer in `tokenizer.json` form (to save beside a converted model).
    pub fn to_json(&self) -> Result<String> {
        self.inner
            .to_string(false)
            .map_err(|e| InferenceError::Tokenizer(e.to_string()))
    }
}

/// The special-token settings gathered by a loader.
struct Specials {
    bos: Option<u32>,
    bos_text: String,
    eos_text: String,
    end_of_generation: Vec<u32>,
    chat_template: Option<String>,
}

fn parse_tokenizer(json: &str) -> Result<tokenizers::Tokenizer> {
    json.parse::<tokenizers::Tokenizer>()
        .map_err(|e| InferenceError::Tokenizer(e.to_string()))
}

fn read_optional_json(path: &Path) -> Result<Value> {
    if path.exists() {
        super::read_json(path)
    } else {
        Ok(Value::Null)
    }
}

/// Whether a `decoder` entry of `tokenizer.json` is, or contains, a ByteLevel decoder.
fn mentions_byte_level(decoder: &Value) -> bool {
    decoder["type"] == "ByteLevel"
        || decoder["decoders"]
            .as_array()
            .is_some_and(|all| all.iter().any(mentions_byte_level))
}

fn string_array<'a>(file: &'a GgufFile, key: &str) -> Result<Vec<&'a str>> {
    let items = file
        .get(key)
        .and_then(MetaValue::as_array)
        .ok_or_else(|| InferenceError::Unsupported(format!("GGUF without {key}")))?;
    items
        .iter()
        .map(|v| {
            v.as_str()
                .ok_or_else(|| InferenceError::Unsupported(format!("{key}: not strings")))
        })
        .collect()
}

/// A `tokenizer.json` document equivalent to the GGUF's tokenizer metadata.
fn tokenizer_json_from_gguf(file: &GgufFile) -> Result<Value> {
    let model = file.get("tokenizer.ggml.model").and_then(MetaValue::as_str);
    if model != Some("gpt2") {
        return Err(InferenceError::Unsupported(format!(
            "tokenizer model {model:?}: only byte-level BPE (gpt2) is supported"
        )));
    }
    let pre = file
        .get("tokenizer.ggml.pre")
        .and_then(MetaValue::as_str)
        .unwrap_or("default");
    let byte_level = json!({"type": "ByteLevel", "add_prefix_space": false,
                            "trim_offsets": true, "use_regex": true});
    let pre_tokenizer = if DIGIT_SPLITTING.contains(&pre) {
        json!({"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": true}, byte_level]})
    } else if pre == "gpt2" || pre == "default" {
        byte_level.clone()
    } else {
        return Err(InferenceError::Unsupported(format!(
            "pre-tokenizer {pre:?}"
        )));
    };
    let tokens = string_array(file, "tokenizer.ggml.tokens")?;
    let merges = string_array(file, "tokenizer.ggml.merges")?;
    let types: Vec<i64> = file
        .get("tokenizer.ggml.token_type")
        .and_then(MetaValue::as_array)
        .map(|items| items.iter().map(|v| v.as_i64().unwrap_or(1)).collect())
        .unwrap_or_default();
    let vocab: serde_json::Map<String, Value> = tokens
        .iter()
        .enumerate()
        .map(|(id, token)| ((*token).to_owned(), json!(id)))
        .collect();
    let added: Vec<Value> = types
        .iter()
        .enumerate()
        .filter(|&(_, &kind)| kind == CONTROL || kind == USER_DEFINED)
        .map(|(id, &kind)| {
            json!({"id": id, "content": tokens[id], "single_word": false, "lstrip": false,
                   "rstrip": false, "normalized": false, "special": kind == CONTROL})
        })
        .collect();
    Ok(json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": null,
        "decoder": byte_level,
        "model": {"type": "BPE", "dropout": null, "unk_token": null,
                  "continuing_subword_prefix": null, "end_of_word_suffix": null,
                  "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                  "vocab": vocab, "merges": merges},
    }))
}

/// GPT-2's reversible map from the 256 byte values to printable characters, inverted.
fn byte_decoder() -> HashMap<char, u8> {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    let mut shifted = 0u32;
    (0..=255u8)
        .map(|b| {
            let c = if printable(b) {
                char::from(b)
            } else {
                shifted += 1;
                char::from_u32(255 + shifted).expect("a valid code point")
            };
            (c, b)
        })
        .collect()
}

/// The bytes of every token id: byte-level tokens through GPT-2's byte map, special added
/// tokens as nothing, other added tokens as their text.
fn token_bytes(inner: &tokenizers::Tokenizer) -> Vec<Vec<u8>> {
    let decoder = byte_decoder();
    let vocab = inner.get_vocab(true);
    let added = inner.get_added_tokens_decoder();
    let mut bytes = vec![Vec::new(); vocab.values().map(|&id| id as usize + 1).max().unwrap_or(0)];
    for (token, id) in vocab {
        bytes[id as usize] = match added.get(&id) {
            Some(t) if t.special => Vec::new(),
            Some(t) => t.content.clone().into_bytes(),
            None => token
                .chars()
                .map(|c| decoder.get(&c).copied())
                .collect::<Option<Vec<u8>>>()
                .unwrap_or_else(|| token.into_bytes()),
        };
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_map_is_gpt2s() {
        let decoder = byte_decoder();
        assert_eq!(decoder.len(), 256);
        assert_eq!(decoder[&'Ġ'], b' ');
        assert_eq!(decoder[&'Ċ'], b'\n');
        assert_eq!(decoder[&'a'], b'a');
        assert_eq!(decoder[&'ÿ'], 0xFF);
    }
}
