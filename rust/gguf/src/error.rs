//! The one error type of this crate. Every message says what was wrong and where
//! (key, tensor, byte offset, expected vs found), because a bad GGUF usually reaches a
//! user as nothing but this message.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GgufError {
    /// The bytes are a valid prefix so far but the header continues past them. Not a
    /// corruption: feed at least `needed` bytes (counted from the start of the file) and
    /// parse again. `needed` is always more than the length given and never more than
    /// [`crate::MAX_HEADER_BYTES`].
    #[error("GGUF header is incomplete: read at least {needed} bytes from the start of the file")]
    NeedMore { needed: u64 },

    #[error("not a GGUF file: magic bytes are {found:02x?}, expected \"GGUF\" (47 47 55 46)")]
    BadMagic { found: Vec<u8> },

    #[error("unsupported GGUF version {version} ({version:#010x}): {reason}")]
    UnsupportedVersion { version: u32, reason: &'static str },

    /// A count or length that implies a header bigger than [`crate::MAX_HEADER_BYTES`]:
    /// either a corrupt file or one no browser could hold the header of.
    #[error("header too large: {what}: at least {implied} bytes, the limit is {limit}")]
    TooLarge {
        what: String,
        implied: u64,
        limit: u64,
    },

    #[error("arrays nested more than {limit} deep in {what}")]
    TooDeep { what: String, limit: usize },

    #[error("{what} at offset {offset} is not valid UTF-8")]
    InvalidUtf8 { what: String, offset: u64 },

    #[error("{what} at offset {offset}: unknown value type id {type_id} (known: 0..=12)")]
    BadValueType {
        what: String,
        type_id: u32,
        offset: u64,
    },

    #[error("{what} at offset {offset}: bool byte is {found}, expected 0 or 1")]
    BadBool {
        what: String,
        offset: u64,
        found: u8,
    },

    #[error("general.alignment is {alignment}; it must be a nonzero power of two")]
    BadAlignment { alignment: u64 },

    #[error("duplicate key '{key}' (key-value pair #{index})")]
    DuplicateKey { key: String, index: usize },

    #[error("duplicate tensor name '{name}' (tensor #{index})")]
    DuplicateTensor { name: String, index: usize },

    #[error("tensor '{name}': offset {offset} is not a multiple of the alignment {alignment}")]
    MisalignedTensor {
        name: String,
        offset: u64,
        alignment: u64,
    },

    #[error(
        "tensor '{name}': bytes {start}..{end} lie past the end of the file ({file_len} bytes)"
    )]
    TensorOutOfBounds {
        name: String,
        start: u64,
        end: u64,
        file_len: u64,
    },

    #[error("tensors '{first}' (bytes {first_start}..{first_end}) and '{second}' (bytes {second_start}..{second_end}) overlap")]
    TensorOverlap {
        first: String,
        first_start: u64,
        first_end: u64,
        second: String,
        second_start: u64,
        second_end: u64,
    },

    #[error("tensor '{name}' has unknown ggml type id {type_id}")]
    UnknownTensorType { name: String, type_id: u32 },

    #[error("tensor '{name}' has a bad shape: {reason}")]
    BadDims {
        name: String,
        dims: Vec<u64>,
        reason: String,
    },

    #[error("arithmetic overflow computing {what}")]
    Overflow { what: String },

    #[error("missing key '{key}'")]
    MissingKey { key: String },

    #[error("key '{key}' has type {found}, expected {expected}")]
    WrongType {
        key: String,
        expected: &'static str,
        found: String,
    },

    #[error("key '{key}' is {value}, which does not fit {expected}")]
    OutOfRange {
        key: String,
        value: String,
        expected: &'static str,
    },
}
