//! GPU layout of each weight format — the one place this is decided (shaders/LAYOUTS.md explains).
//!
//! Every format is uploaded **raw**: the GGUF bytes of a chunk of whole rows, copied as they are
//! (padded with zero bytes to a multiple of 4, plus one spare word so an unaligned 4-byte read at
//! the last block stays in bounds), and the decoders in `shaders/formats/` read them with byte
//! shifts. No format is repacked. Why: uploads stay a plain copy of the file's bytes (no CPU pass
//! over 250 MB in a browser worker, no second layout to keep bit-exact), and for the formats whose
//! block is not a multiple of 4 bytes (Q4_0 18 B, Q5_0 22 B, Q8_0 34 B, Q2_K 84 B, Q3_K 110 B,
//! Q6_K 210 B) the cost is at most one extra word read per four elements. Repacking into aligned
//! planes stays open as a speed step per format; tests/kernels.rs then pins it to the CPU again.

use quant::GgmlType;

/// Bytes of row chunk storage for `rows` rows of `row_bytes`: rounded up to 4, plus a spare word.
pub fn chunk_buffer_bytes(rows: usize, row_bytes: usize) -> u64 {
    ((rows * row_bytes).div_ceil(4) * 4 + 4) as u64
}

/// Whether the GPU reads this type (all the ggml weight types the core supports).
pub fn supported(ty: GgmlType) -> bool {
    crate::shaders::FORMATS.contains(&ty)
}
