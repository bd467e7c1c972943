//! GGUF v2/v3: reading from `&[u8]` (incrementally) and writing.
//!
//! CONTRACT (the rest of the workspace codes against this; keep these names):
//!
//! ```ignore
//! pub fn parse_header(bytes: &[u8]) -> Result<Gguf, GgufError>;
//!     // bytes = a prefix of the file. Err(GgufError::NeedMore { needed }) when the header
//!     // (magic .. tensor infos .. alignment padding) does not fit yet: `needed` is a total
//!     // byte count from file start that is enough to make progress (at least bytes.len()+1,
//!     // at most MAX_HEADER_BYTES). Fetching more than `needed` (e.g. doubling) saves round trips.
//! impl Gguf {
//!     pub version: u32, pub metadata: Vec<(String, Value)>, pub tensors: Vec<TensorInfo>,
//!     pub alignment: u64, pub data_offset: u64,   // absolute file offset of the tensor data section
//!     pub fn get(&self, key: &str) -> Option<&Value>;
//!     pub fn tensor(&self, name: &str) -> Option<&TensorInfo>;
//!     pub fn check_tensor_bounds(&self, file_len: u64) -> Result<(), GgufError>; // inside the file, no overlap, types known
//!     pub fn tensor_range(&self, t: &TensorInfo) -> Result<std::ops::Range<u64>, GgufError>; // absolute byte range
//!     // Typed getters: MissingKey / WrongType / OutOfRange errors; integers of any width accepted when they fit.
//!     pub fn get_u32(&self, key: &str) -> Result<u32, GgufError>;   // and get_u32_opt -> Result<Option<u32>, _>
//!     get_u64, get_i32, get_f32, get_bool, get_str (-> &str),
//!     get_str_array (-> Vec<&str>), get_f32_array, get_i32_array, get_u32_array   // each with an _opt twin
//! }
//! pub struct TensorInfo { pub name: String, pub dims: Vec<u64> /* ne[0] first, as ggml */, pub ggml_type: u32, pub offset: u64 /* rel. to data_offset */ }
//! impl TensorInfo { pub fn n_elements(&self) -> u64; pub fn ty(&self) -> Result<quant::GgmlType, GgufError>; pub fn byte_size(&self) -> Result<u64, GgufError>; }
//! pub enum Value { U8(u8), I8(i8), U16(u16), I16(i16), U32(u32), I32(i32), U64(u64), I64(i64),
//!                  F32(f32), F64(f64), Bool(bool), String(String), Array(Vec<Value>) }
//! impl Value { as_u64/as_i64/as_f32/as_f64 (numeric widening, None if not numeric), as_str, as_bool, as_array, type_name }
//! pub struct GgufWriter { .. }  // new() (v3), version(u32), alignment(u32), add(key, Value),
//!                               // add_tensor(name, &dims, ggml_type, data: Vec<u8>), finish() -> Vec<u8>
//! ```
//!
//! Hostile input: nothing here panics on any bytes, every size is checked arithmetic, and
//! nothing is allocated beyond what the bytes already in hand could hold.

mod error;
mod gguf;
mod metadata;
mod parse;
mod reader;
mod tensor;
mod value;
mod writer;

pub use error::GgufError;
pub use gguf::Gguf;
pub use parse::parse_header;
/// Re-exported so callers of `TensorInfo::ty` need not depend on `quant` themselves.
pub use quant::GgmlType;
pub use tensor::TensorInfo;
pub use value::Value;
pub use writer::GgufWriter;

/// The largest header (metadata + tensor infos + padding) this reader accepts. Real ones
/// are a few MB (a 262k-token vocabulary is ~10 MB); anything implying more is corrupt,
/// and the bound keeps `NeedMore::needed` from asking a browser for gigabytes.
pub const MAX_HEADER_BYTES: u64 = 256 << 20;

/// Arrays of arrays are allowed by GGUF; deeper than this is treated as hostile.
pub const MAX_ARRAY_DEPTH: usize = 8;

/// ggml tensors have at most 4 dimensions (GGML_MAX_DIMS).
pub const MAX_DIMS: usize = 4;

/// Alignment of tensor data when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;
