//! GGUF, llama.cpp's model file: a header, typed metadata, tensor descriptions and aligned
//! tensor data. Versions 2 and 3 are read (little-endian only).
//!
//! This file reads the header, the metadata and the tensor directory and finds each
//! tensor's bytes; `gguf/dequantize.rs` turns those bytes into f32 tensors when
//! they are taken ([`GgufFile::dequantize`]), or hands 4-bit blocks over unexpanded
//! ([`GgufFile::q4_blocks`]) for the packed int4 matrix kernel.

mod dequantize;

use std::collections::BTreeMap;
use std::path::Path;

use tch::Tensor;

pub use self::dequantize::{BLOCK, GgmlType, Q4Blocks, dequantize};
use super::InferenceError;
use super::byte_cursor::ByteCursor;

type Result<T> = std::result::Result<T, InferenceError>;

const MAGIC: &[u8; 4] = b"GGUF";
const DEFAULT_ALIGNMENT: u64 = 32;
/// Deepest nesting of metadata arrays accepted (real files nest none); deeper is a corrupt
/// file that would otherwise recurse without bound.
const MAX_ARRAY_DEPTH: usize = 8;

/// A metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaValue {
    /// `uint8`
    U8(u8),
    /// `int8`
    I8(i8),
    /// `uint16`
    U16(u16),
    /// `int16`
    I16(i16),
    /// `uint32`
    U32(u32),
    /// `int32`
    I32(i32),
    /// `uint64`
    U64(u64),
    /// `int64`
    I64(i64),
    /// `float32`
    F32(f32),
    /// `float64`
    F64(f64),
    /// `bool`
    Bool(bool),
    /// UTF-8 string (invalid bytes replaced).
    String(String),
    /// Array of values of one type.
    Array(Vec<MetaValue>),
}

impl MetaValue {
    /// The value as an unsigned integer, when it is a non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            MetaValue::U8(v) => Some(v.into()),
            MetaValue::U16(v) => Some(v.into()),
            MetaValue::U32(v) => Some(v.into()),
            MetaValue::U64(v) => Some(v),
            MetaValue::I8(v) => u64::try_from(v).ok(),
            MetaValue::I16(v) => u64::try_from(v).ok(),
            MetaValue::I32(v) => u64::try_from(v).ok(),
            MetaValue::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a signed integer, when it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            MetaValue::I8(v) => Some(v.into()),
            MetaValue::I16(v) => Some(v.into()),
            MetaValue::I32(v) => Some(v.into()),
            MetaValue::I64(v) => Some(v),
            _ => self.as_u64().and_then(|v| i64::try_from(v).ok()),
        }
    }

    /// The value as a float, when it is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            MetaValue::F32(v) => Some(v.into()),
            MetaValue::F64(v) => Some(v),
            _ => self.as_i64().map(|v| v as f64),
        }
    }

    /// The value as a string slice.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            MetaValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            MetaValue::Bool(v) => Some(v),
            _ => None,
        }
    }

    /// The elements, when the value is an array.
    pub fn as_array(&self) -> Option<&[MetaValue]> {
        match self {
            MetaValue::Array(items) => Some(items),
            _ => None,
        }
    }
}

impl GgmlType {
    /// The type of ggml id `id`, as the tensor directory stores it.
    fn from_id(id: u32) -> Self {
        match id {
            0 => GgmlType::F32,
            1 => GgmlType::F16,
            2 => GgmlType::Q4_0,
            3 => GgmlType::Q4_1,
            6 => GgmlType::Q5_0,
            7 => GgmlType::Q5_1,
            8 => GgmlType::Q8_0,
            30 => GgmlType::BF16,
            other => GgmlType::Other(other),
        }
    }
}

/// Where a tensor lies in the file and what it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    /// Tensor name, e.g. `blk.0.attn_q.weight`.
    pub name: String,
    /// Dimensions in ggml order: the first is the fastest-varying (columns).
    pub dims: Vec<u64>,
    /// Storage type.
    pub dtype: GgmlType,
    /// Offset of the data from the start of the data section.
    pub offset: u64,
}

impl TensorInfo {
    /// The shape in torch order (slowest-varying first).
    pub fn shape(&self) -> Vec<i64> {
        self.dims.iter().rev().map(|&d| d as i64).collect()
    }

    /// The element count; `None` when it does not fit in `u64`.
    fn elements(&self) -> Option<u64> {
        self.dims.iter().try_fold(1u64, |n, &d| n.checked_mul(d))
    }
}

/// A parsed GGUF file held in memory.
pub struct GgufFile {
    /// Format version (2 or 3).
    pub version: u32,
    /// Metadata by key.
    pub metadata: BTreeMap<String, MetaValue>,
    /// Tensor descriptions in file order.
    pub tensors: Vec<TensorInfo>,
    bytes: Vec<u8>,
    data_start: usize,
}

impl GgufFile {
    /// Reads and parses a file.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| InferenceError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(bytes)
    }

    /// Parses a whole file's bytes.
    pub fn parse(bytes: Vec<u8>) -> Result<Self> {
        let mut reader = Reader {
            cursor: ByteCursor::new(&bytes, "GGUF"),
            depth: 0,
        };
        if reader.take(4)? != MAGIC {
            return Err(malformed("not a GGUF file (bad magic)"));
        }
        let version = reader.u32()?;
        if !(2..=3).contains(&version) {
            return Err(InferenceError::Unsupported(format!(
                "GGUF version {version}"
            )));
        }
        let tensor_count = reader.u64()?;
        let kv_count = reader.u64()?;
        let mut metadata = BTreeMap::new();
        for _ in 0..kv_count {
            let key = reader.string()?;
            let kind = reader.u32()?;
            metadata.insert(key, reader.value(kind)?);
        }
        let mut tensors = Vec::new();
        for _ in 0..tensor_count {
            let name = reader.string()?;
            let n_dims = reader.u32()?;
            if n_dims > 4 {
                return Err(malformed(&format!(
                    "tensor {name:?} has {n_dims} dimensions"
                )));
            }
            let dims = (0..n_dims)
                .map(|_| reader.u64())
                .collect::<Result<Vec<_>>>()?;
            if !fits_torch(&dims) {
                return Err(malformed(&format!("tensor {name:?} is too large")));
            }
            let dtype = GgmlType::from_id(reader.u32()?);
            let offset = reader.u64()?;
            tensors.push(TensorInfo {
                name,
                dims,
                dtype,
                offset,
            });
        }
        let alignment = metadata
            .get("general.alignment")
            .and_then(MetaValue::as_u64)
            .unwrap_or(DEFAULT_ALIGNMENT)
            .max(1);
        let data_start = (reader.position() as u64).div_ceil(alignment) * alignment;
        let file = Self {
            version,
            metadata,
            tensors,
            bytes,
            data_start: usize::try_from(data_start).map_err(|_| malformed("huge header"))?,
        };
        for info in &file.tensors {
            file.data(info)?;
        }
        Ok(file)
    }

    /// A metadata value.
    pub fn get(&self, key: &str) -> Option<&MetaValue> {
        self.metadata.get(key)
    }

    /// The description of tensor `name`.
    pub fn tensor_info(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// The raw bytes of a tensor (checked to lie inside the file).
    fn data(&self, info: &TensorInfo) -> Result<&[u8]> {
        let (block_bytes, block_elements) = info.dtype.layout().ok_or_else(|| {
            InferenceError::Unsupported(format!("tensor {:?}: type {:?}", info.name, info.dtype))
        })?;
        // Rows (the first, fastest-varying dimension) are whole blocks, as in ggml.
        let row = info.dims.first().copied().unwrap_or(1);
        if !row.is_multiple_of(block_elements as u64) {
            return Err(malformed(&format!("tensor {:?}: partial block", info.name)));
        }
        let past_end = || malformed(&format!("tensor {:?} lies past the file end", info.name));
        let len = info
            .elements()
            .and_then(|n| (n / block_elements as u64).checked_mul(block_bytes as u64))
            .ok_or_else(past_end)?;
        let start = (self.data_start as u64)
            .checked_add(info.offset)
            .ok_or_else(past_end)?;
        let end = start.checked_add(len).ok_or_else(past_end)?;
        let range = usize::try_from(start).map_err(|_| past_end())?
            ..usize::try_from(end).map_err(|_| past_end())?;
        self.bytes.get(range).ok_or_else(past_end)
    }

    /// Tensor `name` dequantised to f32 on the CPU, in torch shape.
    pub fn dequantize(&self, name: &str) -> Result<Tensor> {
        let info = self
            .tensor_info(name)
            .ok_or_else(|| InferenceError::Unsupported(format!("missing tensor {name:?}")))?;
        dequantize(info.dtype, self.data(info)?, &info.shape())
    }

    /// The blocks of a Q4_0 / Q4_1 matrix, or `None` for other types.
    pub fn q4_blocks(&self, name: &str) -> Result<Option<Q4Blocks>> {
        let Some(info) = self.tensor_info(name) else {
            return Err(InferenceError::Unsupported(format!(
                "missing tensor {name:?}"
            )));
        };
        if !matches!(info.dtype, GgmlType::Q4_0 | GgmlType::Q4_1) || info.dims.len() != 2 {
            return Ok(None);
        }
        let shape = info.shape();
        dequantize::q4_blocks(info.dtype, self.data(info)?, [shape[0], shape[1]]).map(Some)
    }
}

/// Whether torch can hold a tensor of `dims`: its shape is i64 and it multiplies the
/// dimensions in any order, so the product of the non-zero ones must fit in i64 even when
/// another dimension is zero.
fn fits_torch(dims: &[u64]) -> bool {
    dims.iter()
        .filter(|&&d| d != 0)
        .try_fold(1i64, |n, &d| n.checked_mul(i64::try_from(d).ok()?))
        .is_some()
}

fn malformed(why: &str) -> InferenceError {
    InferenceError::Unsupported(format!("malformed GGUF: {why}"))
}

/// A cursor over the header, counting the metadata arrays it is inside.
struct Reader<'a> {
    cursor: ByteCursor<'a>,
    /// Metadata arrays entered and not yet left.
    depth: usize,
}

impl<'a> std::ops::Deref for Reader<'a> {
    type Target = ByteCursor<'a>;

    fn deref(&self) -> &ByteCursor<'a> {
        &self.cursor
    }
}

impl std::ops::DerefMut for Reader<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.cursor
    }
}

impl Reader<'_> {
    fn string(&mut self) -> Result<String> {
        let len = usize::try_from(self.u64()?).map_err(|_| malformed("huge string"))?;
        Ok(String::from_utf8_lossy(self.take(len)?).into_owned())
    }

    fn value(&mut self, kind: u32) -> Result<MetaValue> {
        Ok(match kind {
            0 => MetaValue::U8(self.array::<1>()?[0]),
            1 => MetaValue::I8(i8::from_le_bytes(self.array()?)),
            2 => MetaValue::U16(u16::from_le_bytes(self.array()?)),
            3 => MetaValue::I16(i16::from_le_bytes(self.array()?)),
            4 => MetaValue::U32(self.u32()?),
            5 => MetaValue::I32(i32::from_le_bytes(self.array()?)),
            6 => MetaValue::F32(f32::from_le_bytes(self.array()?)),
            7 => MetaValue::Bool(self.array::<1>()?[0] != 0),
            8 => MetaValue::String(self.string()?),
            9 => {
                let item_kind = self.u32()?;
                let len = self.u64()?;
                // Every element takes at least one byte: a longer count is a corrupt file.
                if len > self.remaining() as u64 {
                    return Err(malformed("array longer than the file"));
                }
                if self.depth == MAX_ARRAY_DEPTH {
                    return Err(malformed("metadata arrays nested too deeply"));
                }
                self.depth += 1;
                let items = (0..len)
                    .map(|_| self.value(item_kind))
                    .collect::<Result<Vec<_>>>();
                self.depth -= 1;
                MetaValue::Array(items?)
            }
            10 => MetaValue::U64(self.u64()?),
            11 => MetaValue::I64(i64::from_le_bytes(self.array()?)),
            12 => MetaValue::F64(f64::from_le_bytes(self.array()?)),
            other => return Err(malformed(&format!("metadata value type {other}"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal v3 file: every metadata type, one F32 and one Q8_0 tensor, alignment 64.
    fn tiny_file() -> Vec<u8> {
        fn string(out: &mut Vec<u8>, s: &str) {
            out.extend((s.len() as u64).to_le_bytes());
            out.extend(s.as_bytes());
        }
        let mut out = b"GGUF".to_vec();
        out.extend(3u32.to_le_bytes());
        out.extend(2u64.to_le_bytes()); // tensors
        out.extend(5u64.to_le_bytes()); // metadata entries
        string(&mut out, "general.alignment");
        out.extend(4u32.to_le_bytes());
        out.extend(64u32.to_le_bytes());
        string(&mut out, "a.name");
        out.extend(8u32.to_le_bytes());
        string(&mut out, "tiny");
        string(&mut out, "a.list");
        out.extend(9u32.to_le_bytes());
        out.extend(5u32.to_le_bytes()); // of int32
        out.extend(2u64.to_le_bytes());
        out.extend((-3i32).to_le_bytes());
        out.extend(7i32.to_le_bytes());
        string(&mut out, "a.flag");
        out.extend(7u32.to_le_bytes());
        out.push(1);
        string(&mut out, "a.theta");
        out.extend(12u32.to_le_bytes());
        out.extend(1e4f64.to_le_bytes());
        string(&mut out, "vec");
        out.extend(1u32.to_le_bytes());
        out.extend(2u64.to_le_bytes());
        out.extend(0u32.to_le_bytes()); // F32
        out.extend(0u64.to_le_bytes());
        string(&mut out, "q");
        out.extend(2u32.to_le_bytes());
        out.extend(32u64.to_le_bytes());
        out.extend(1u64.to_le_bytes());
        out.extend(8u32.to_le_bytes()); // Q8_0
        out.extend(64u64.to_le_bytes());
        out.resize(out.len().div_ceil(64) * 64, 0);
        let data_start = out.len();
        out.extend(0.25f32.to_le_bytes());
        out.extend(4.0f32.to_le_bytes());
        out.resize(data_start + 64, 0);
        out.extend([0x00, 0x3C]); // f16 1.0
        out.extend(0..32u8);
        out
    }

    #[test]
    fn parses_metadata_and_aligned_tensors() {
        let file = GgufFile::parse(tiny_file()).unwrap();
        assert_eq!(file.version, 3);
        assert_eq!(file.get("a.name").and_then(MetaValue::as_str), Some("tiny"));
        assert_eq!(
            file.get("a.list").and_then(MetaValue::as_array).unwrap(),
            [MetaValue::I32(-3), MetaValue::I32(7)]
        );
        assert_eq!(file.get("a.flag").and_then(MetaValue::as_bool), Some(true));
        assert_eq!(file.get("a.theta").and_then(MetaValue::as_f64), Some(1e4));
        let vec = Vec::<f32>::try_from(file.dequantize("vec").unwrap()).unwrap();
        assert_eq!(vec, [0.25, 4.0]);
        let q = file.dequantize("q").unwrap();
        assert_eq!(q.size(), [1, 32]);
        assert_eq!(q.double_value(&[0, 31]), 31.0);
        assert!(file.q4_blocks("q").unwrap().is_none());
    }

    #[test]
    fn rejects_truncated_files() {
        let mut bytes = tiny_file();
        bytes.truncate(bytes.len() - 1);
        assert!(GgufFile::parse(bytes).is_err());
        assert!(GgufFile::parse(b"GGML\x03\0\0\0".to_vec()).is_err());
    }
}
