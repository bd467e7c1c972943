//! `GgufWriter`: builds a GGUF file in memory, laid out as llama.cpp and gguf-py write
//! them: header, metadata, tensor infos, zero padding to the alignment, then each tensor's
//! data followed by zero padding to the alignment (the last one included).
//!
//! It checks nothing about consistency on purpose (dims vs data length, duplicate keys),
//! so tests can build the broken files a reader must reject.

use crate::value::{Value, ValueType};
use crate::DEFAULT_ALIGNMENT;

const ALIGNMENT_KEY: &str = "general.alignment";

#[derive(Debug, Clone)]
pub struct GgufWriter {
    version: u32,
    alignment: u64,
    metadata: Vec<(String, Value)>,
    tensors: Vec<PendingTensor>,
}

#[derive(Debug, Clone)]
struct PendingTensor {
    name: String,
    dims: Vec<u64>,
    ggml_type: u32,
    data: Vec<u8>,
}

impl Default for GgufWriter {
    fn default() -> Self {
        GgufWriter {
            version: 3,
            alignment: DEFAULT_ALIGNMENT,
            metadata: Vec::new(),
            tensors: Vec::new(),
        }
    }
}

impl GgufWriter {
    /// A v3 file with the default alignment of 32.
    pub fn new() -> Self {
        Self::default()
    }

    /// The version field. v2 and v3 share one layout, so only the field changes.
    pub fn version(&mut self, version: u32) -> &mut Self {
        self.version = version;
        self
    }

    /// Sets `general.alignment` (replacing an earlier one) and pads to it. Readers reject
    /// values that are not a nonzero power of two; such files are only useful as tests.
    pub fn alignment(&mut self, alignment: u32) -> &mut Self {
        self.metadata.retain(|(key, _)| key != ALIGNMENT_KEY);
        self.add(ALIGNMENT_KEY, Value::U32(alignment))
    }

    /// Appends a key-value pair. A repeated key is written twice (readers reject it). A
    /// `general.alignment` given as u32 also sets the padding, so the file stays consistent.
    ///
    /// # Panics
    /// If `value` is, or holds, an array whose elements are not all of one type: GGUF
    /// stores one element type per array, so such a value has no encoding.
    pub fn add(&mut self, key: impl Into<String>, value: Value) -> &mut Self {
        let key = key.into();
        assert!(
            is_homogeneous(&value),
            "GgufWriter::add: key '{key}' holds an array with elements of mixed types"
        );
        if let (ALIGNMENT_KEY, Value::U32(a)) = (key.as_str(), &value) {
            self.alignment = u64::from(*a);
        }
        self.metadata.push((key, value));
        self
    }

    /// Appends a tensor. `dims` is `ne[0]` first; `data` is written as given.
    pub fn add_tensor(
        &mut self,
        name: impl Into<String>,
        dims: &[u64],
        ggml_type: u32,
        data: Vec<u8>,
    ) -> &mut Self {
        self.tensors.push(PendingTensor {
            name: name.into(),
            dims: dims.to_vec(),
            ggml_type,
            data,
        });
        self
    }

    pub fn finish(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(b"GGUF");
        put_u32(&mut out, self.version);
        put_u64(&mut out, self.tensors.len() as u64);
        put_u64(&mut out, self.metadata.len() as u64);
        for (key, value) in &self.metadata {
            put_str(&mut out, key);
            put_u32(&mut out, value.value_type().id());
            put_payload(&mut out, value);
        }
        let mut offset = 0u64;
        for t in &self.tensors {
            put_str(&mut out, &t.name);
            put_u32(&mut out, t.dims.len() as u32);
            for &d in &t.dims {
                put_u64(&mut out, d);
            }
            put_u32(&mut out, t.ggml_type);
            put_u64(&mut out, offset);
            offset += pad_len(t.data.len() as u64, self.alignment) + t.data.len() as u64;
        }
        self.pad(&mut out);
        for t in &self.tensors {
            out.extend_from_slice(&t.data);
            self.pad(&mut out);
        }
        out
    }

    fn pad(&self, out: &mut Vec<u8>) {
        let n = pad_len(out.len() as u64, self.alignment);
        out.resize(out.len() + n as usize, 0);
    }
}

/// Zero bytes from `len` up to the next multiple of `alignment`. An alignment of 0 (only
/// ever written to test readers) pads nothing.
fn pad_len(len: u64, alignment: u64) -> u64 {
    match len % alignment.max(1) {
        0 => 0,
        r => alignment - r,
    }
}

fn is_homogeneous(value: &Value) -> bool {
    match value {
        Value::Array(items) => {
            let first = items.first().map(Value::value_type);
            items
                .iter()
                .all(|v| Some(v.value_type()) == first && is_homogeneous(v))
        }
        _ => true,
    }
}

fn put_u32(out: &mut Vec<u8>, x: u32) {
    out.extend_from_slice(&x.to_le_bytes());
}

fn put_u64(out: &mut Vec<u8>, x: u64) {
    out.extend_from_slice(&x.to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u64(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// The value without its type tag (arrays write their element tag once, not per element).
fn put_payload(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::U8(x) => out.push(*x),
        Value::I8(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::U16(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I16(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::U32(x) => put_u32(out, *x),
        Value::I32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::U64(x) => put_u64(out, *x),
        Value::I64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::F32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::F64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::Bool(b) => out.push(u8::from(*b)),
        Value::String(s) => put_str(out, s),
        Value::Array(items) => {
            // An empty array's element type is not in `Value`; u8 is as good as any.
            let elem = items.first().map_or(ValueType::U8, Value::value_type);
            put_u32(out, elem.id());
            put_u64(out, items.len() as u64);
            for item in items {
                put_payload(out, item);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding() {
        assert_eq!(pad_len(0, 32), 0);
        assert_eq!(pad_len(1, 32), 31);
        assert_eq!(pad_len(64, 32), 0);
        assert_eq!(pad_len(5, 3), 1);
        assert_eq!(pad_len(5, 0), 0);
    }

    #[test]
    fn homogeneity_is_checked_at_every_level() {
        let arr = |v| Value::Array(v);
        assert!(is_homogeneous(&arr(vec![
            arr(vec![Value::U8(1)]),
            arr(vec![])
        ])));
        assert!(!is_homogeneous(&arr(vec![arr(vec![
            Value::U8(1),
            Value::I8(1)
        ])])));
    }
}
