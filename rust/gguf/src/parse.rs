//! `parse_header`: magic, version, counts, metadata, tensor infos, padding.
//!
//! Layout (all little-endian; GGUF v2 and v3 share it, v3 only added big-endian files):
//! "GGUF" | u32 version | u64 tensor_count | u64 kv_count |
//! kv_count × (string key, u32 value type, value) |
//! tensor_count × (string name, u32 n_dims, n_dims × u64 ne, u32 ggml type, u64 offset) |
//! zero padding up to a multiple of the alignment, where the tensor data begins.

use std::collections::HashSet;

use crate::reader::Reader;
use crate::value::{Value, ValueType};
use crate::{Gguf, GgufError, TensorInfo, DEFAULT_ALIGNMENT, MAX_ARRAY_DEPTH, MAX_DIMS};

const MAGIC: &[u8; 4] = b"GGUF";

/// Fewest bytes one key-value pair can take: key length, value type, a 1-byte value.
const MIN_KV_BYTES: u64 = 8 + 4 + 1;
/// Fewest bytes one tensor info can take: name length, n_dims, ggml type, offset.
const MIN_TENSOR_INFO_BYTES: u64 = 8 + 4 + 4 + 8;

/// Parses the header of a GGUF file from a prefix of it. See [`GgufError::NeedMore`] for
/// what to do when the prefix is too short. With at least one tensor, success means the
/// prefix reaches `data_offset`; a file without tensors needs no padding after its header
/// (llama.cpp accepts such files too).
pub fn parse_header(bytes: &[u8]) -> Result<Gguf, GgufError> {
    check_magic(bytes)?;
    let mut r = Reader::new(bytes);
    r.take(4, || "magic".into())?;
    let version = r.u32(|| "version".into())?;
    check_version(version)?;
    let tensor_count = r.u64(|| "tensor count".into())?;
    let kv_count = r.u64(|| "key-value count".into())?;

    // One lookahead for both counts: a hostile count fails here (TooLarge), before any
    // allocation, and a short prefix learns at once how far it must at least reach.
    let min_bytes = kv_count
        .checked_mul(MIN_KV_BYTES)
        .zip(tensor_count.checked_mul(MIN_TENSOR_INFO_BYTES))
        .and_then(|(kvs, tensors)| kvs.checked_add(tensors))
        .unwrap_or(u64::MAX);
    r.ensure(min_bytes, || {
        format!("{kv_count} key-value pairs and {tensor_count} tensor infos (counts at offset 8)")
    })?;

    // Both counts fit usize now: each is at most the prefix length.
    let mut metadata = Vec::with_capacity(kv_count as usize);
    for index in 0..kv_count {
        metadata.push(read_kv(&mut r, index)?);
    }
    check_unique(
        metadata.iter().map(|(key, _)| key.as_str()),
        |key, index| GgufError::DuplicateKey { key, index },
    )?;
    let alignment = alignment(&metadata)?;

    let mut tensors = Vec::with_capacity(tensor_count as usize);
    for index in 0..tensor_count {
        tensors.push(read_tensor_info(&mut r, index, alignment)?);
    }
    check_unique(tensors.iter().map(|t| t.name.as_str()), |name, index| {
        GgufError::DuplicateTensor { name, index }
    })?;

    let header_end = r.pos();
    // header_end <= MAX_HEADER_BYTES and alignment <= 2^31, so this cannot overflow u64.
    let data_offset = header_end.next_multiple_of(alignment);
    if tensor_count > 0 {
        r.ensure(data_offset - header_end, || {
            format!("padding from offset {header_end} to alignment {alignment}")
        })?;
    }

    Ok(Gguf {
        version,
        metadata,
        tensors,
        alignment,
        data_offset,
    })
}

/// Compares what is there of the magic, so a wrong file fails on its first byte instead
/// of asking for more.
fn check_magic(bytes: &[u8]) -> Result<(), GgufError> {
    let have = &bytes[..bytes.len().min(MAGIC.len())];
    if have != &MAGIC[..have.len()] {
        return Err(GgufError::BadMagic {
            found: have.to_vec(),
        });
    }
    Ok(())
}

fn check_version(version: u32) -> Result<(), GgufError> {
    let reason = match version {
        2 | 3 => return Ok(()),
        1 => "GGUF v1 (32-bit counts and lengths) is obsolete; re-convert the model with a current llama.cpp",
        // A little-endian reader sees a big-endian 3 as 0x03000000: the low half is zero.
        v if v != 0 && v & 0xFFFF == 0 => "the file looks big-endian (its version field is byte-swapped); only little-endian GGUF is supported",
        _ => "only versions 2 and 3 are supported",
    };
    Err(GgufError::UnsupportedVersion { version, reason })
}

fn read_kv(r: &mut Reader, index: u64) -> Result<(String, Value), GgufError> {
    let key = r.string(|| format!("key of key-value pair #{index}"))?;
    let mut at = Path {
        key: &key,
        indices: Vec::new(),
    };
    let ty = read_value_type(r, || format!("type of {}", at.describe()))?;
    let value = read_value(r, ty, &mut at)?;
    Ok((key, value))
}

/// Where a value sits: its key and, inside (nested) arrays, its element indices. Only
/// formatted when an error is built, so the hot path (262k vocabulary strings) stays cheap.
struct Path<'k> {
    key: &'k str,
    indices: Vec<u64>,
}

impl Path<'_> {
    fn describe(&self) -> String {
        let mut s = format!("value of key '{}'", self.key);
        for i in &self.indices {
            s.push_str(&format!("[{i}]"));
        }
        s
    }
}

fn read_value_type(r: &mut Reader, what: impl Fn() -> String) -> Result<ValueType, GgufError> {
    let offset = r.pos();
    let type_id = r.u32(&what)?;
    ValueType::from_id(type_id).ok_or_else(|| GgufError::BadValueType {
        what: what(),
        type_id,
        offset,
    })
}

fn read_value(r: &mut Reader, ty: ValueType, at: &mut Path) -> Result<Value, GgufError> {
    let what = || at.describe();
    Ok(match ty {
        ValueType::U8 => Value::U8(r.u8(what)?),
        ValueType::I8 => Value::I8(r.i8(what)?),
        ValueType::U16 => Value::U16(r.u16(what)?),
        ValueType::I16 => Value::I16(r.i16(what)?),
        ValueType::U32 => Value::U32(r.u32(what)?),
        ValueType::I32 => Value::I32(r.i32(what)?),
        ValueType::U64 => Value::U64(r.u64(what)?),
        ValueType::I64 => Value::I64(r.i64(what)?),
        ValueType::F32 => Value::F32(r.f32(what)?),
        ValueType::F64 => Value::F64(r.f64(what)?),
        ValueType::Bool => {
            let offset = r.pos();
            match r.u8(what)? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                found => {
                    return Err(GgufError::BadBool {
                        what: at.describe(),
                        offset,
                        found,
                    })
                }
            }
        }
        ValueType::String => Value::String(r.string(what)?),
        ValueType::Array => Value::Array(read_array(r, at)?),
    })
}

fn read_array(r: &mut Reader, at: &mut Path) -> Result<Vec<Value>, GgufError> {
    // Bounded so a file of nested array headers cannot exhaust the (small, in wasm) stack.
    if at.indices.len() >= MAX_ARRAY_DEPTH {
        return Err(GgufError::TooDeep {
            what: at.describe(),
            limit: MAX_ARRAY_DEPTH,
        });
    }
    let elem = read_value_type(r, || format!("element type of {}", at.describe()))?;
    let count_at = r.pos();
    let count = r.u64(|| format!("element count of {}", at.describe()))?;
    r.ensure(count.saturating_mul(elem.min_size()), || {
        format!(
            "{} (array of {count} {} elements, count at offset {count_at})",
            at.describe(),
            elem.name()
        )
    })?;
    // `ensure` proved count * min_size bytes exist, so this capacity is paid for by input.
    let mut items = Vec::with_capacity(count as usize);
    for i in 0..count {
        at.indices.push(i);
        let item = read_value(r, elem, at);
        at.indices.pop();
        items.push(item?);
    }
    Ok(items)
}

fn alignment(metadata: &[(String, Value)]) -> Result<u64, GgufError> {
    const KEY: &str = "general.alignment";
    match metadata.iter().find(|(key, _)| key == KEY) {
        None => Ok(DEFAULT_ALIGNMENT),
        Some((_, Value::U32(a))) if a.is_power_of_two() => Ok(u64::from(*a)),
        Some((_, Value::U32(a))) => Err(GgufError::BadAlignment {
            alignment: u64::from(*a),
        }),
        // llama.cpp and gguf-py both insist on u32 here; a file they reject, we reject.
        Some((_, other)) => Err(GgufError::WrongType {
            key: KEY.into(),
            expected: "u32",
            found: other.describe_type(),
        }),
    }
}

fn read_tensor_info(r: &mut Reader, index: u64, alignment: u64) -> Result<TensorInfo, GgufError> {
    let name = r.string(|| format!("name of tensor #{index}"))?;
    let n_dims = r.u32(|| format!("n_dims of tensor '{name}'"))?;
    if n_dims as usize > MAX_DIMS {
        return Err(GgufError::BadDims {
            name,
            dims: Vec::new(),
            reason: format!("{n_dims} dimensions, ggml allows at most {MAX_DIMS}"),
        });
    }
    let mut dims = Vec::with_capacity(n_dims as usize);
    for d in 0..n_dims {
        dims.push(r.u64(|| format!("ne[{d}] of tensor '{name}'"))?);
    }
    // ggml holds shapes and element counts in int64_t; anything larger cannot be loaded.
    if let Some(d) = dims.iter().find(|&&d| d > i64::MAX as u64) {
        let reason = format!("dimension {d} of {dims:?} exceeds ggml's int64 range");
        return Err(GgufError::BadDims { name, dims, reason });
    }
    let fits = dims
        .iter()
        .try_fold(1u64, |n, &d| n.checked_mul(d))
        .is_some_and(|n| n <= i64::MAX as u64);
    if !fits {
        return Err(GgufError::Overflow {
            what: format!("the element count of tensor '{name}' with dims {dims:?}"),
        });
    }
    let ggml_type = r.u32(|| format!("ggml type of tensor '{name}'"))?;
    let offset = r.u64(|| format!("data offset of tensor '{name}'"))?;
    if offset % alignment != 0 {
        return Err(GgufError::MisalignedTensor {
            name,
            offset,
            alignment,
        });
    }
    Ok(TensorInfo {
        name,
        dims,
        ggml_type,
        offset,
    })
}

/// Fails on the first name seen twice; `err` gets the name and the index of the repeat.
fn check_unique<'a>(
    names: impl Iterator<Item = &'a str>,
    err: impl FnOnce(String, usize) -> GgufError,
) -> Result<(), GgufError> {
    let mut seen = HashSet::new();
    for (index, name) in names.enumerate() {
        if !seen.insert(name) {
            return Err(err(name.to_owned(), index));
        }
    }
    Ok(())
}
