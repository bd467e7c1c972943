//! The crate's one error type.

use crate::GgmlType;

/// Everything that can go wrong in this crate: a caller handed us lengths that do not fit the format.
/// Nothing here panics on bad lengths; every entry point checks them first and returns one of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantError {
    /// The element count is not a whole number of blocks.
    #[error("{ty}: {n} elements is not a multiple of the block size {block_size}")]
    NotBlockMultiple {
        ty: GgmlType,
        n: usize,
        block_size: usize,
    },
    /// A buffer's length does not match what the element count requires.
    #[error("{ty}: {what} is {found} bytes, expected {expected} bytes")]
    LengthMismatch {
        ty: GgmlType,
        /// which argument: "quantized row", "weight row", "activation row", ...
        what: &'static str,
        expected: usize,
        found: usize,
    },
    /// The row would not fit in `usize` (only reachable on 32-bit targets such as wasm32).
    #[error("{ty}: a row of {n} elements does not fit in memory")]
    TooLarge { ty: GgmlType, n: usize },
    /// The operation does not exist for this type (ggml has no kernel for it either), e.g. `vec_dot`
    /// with Q8_1 or Q8_K weights: those two are activation formats only.
    #[error("{ty}: {op} is not supported for this type")]
    Unsupported { ty: GgmlType, op: &'static str },
}
