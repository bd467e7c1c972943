//! fp16 and bf16 conversions, bit-identical to ggml's scalar ones (`GGML_FP16_TO_FP32`,
//! `GGML_FP32_TO_FP16`, `GGML_BF16_TO_FP32`, `GGML_FP32_TO_BF16` in ggml-impl.h).
//!
//! Values travel as raw `u16` bits, as ggml's `ggml_fp16_t` does, so block structs stay plain data.
//! The conversions themselves are the `half` crate's, except where ggml differs from it on NaNs:
//!
//! * f32 → fp16: round to nearest even (both). A NaN becomes the canonical quiet NaN `0x7E00` with
//!   the input's sign in ggml; `half` keeps part of the payload, so NaNs are handled here.
//! * fp16 → f32: exact (both); a NaN comes out quiet with its payload, in both.
//! * f32 → bf16: round to nearest even, NaN → `(bits >> 16) | 0x40` (quiet, payload truncated), in
//!   both. ggml's CPU backend has an AVX512-BF16 row converter that flushes subnormals; the
//!   reference (`ggml_fp32_to_bf16_row_ref`, used by `ggml_quantize_chunk`) does not, nor do we.
//! * bf16 → f32: ggml just shifts the bits up (a signalling NaN stays signalling); `half` would
//!   set the quiet bit, so this one is a shift here too.
//!
//! `tests/floats.rs` checks all four against hashes of ggml's output (all 65536 inputs for the
//! widening directions; 17.8 M sampled f32 patterns, or all 2^32 with `--ignored`, for the others).

use half::{bf16, f16};

/// fp16 bits → f32 (exact).
#[inline]
pub fn fp16_to_f32(h: u16) -> f32 {
    f16::from_bits(h).to_f32()
}

/// f32 → fp16 bits, rounding to nearest even; overflow gives ±inf, NaN gives ±`0x7E00` as in ggml.
#[inline]
pub fn f32_to_fp16(x: f32) -> u16 {
    if x.is_nan() {
        ((x.to_bits() >> 16) as u16 & 0x8000) | 0x7E00
    } else {
        f16::from_f32(x).to_bits()
    }
}

/// bf16 bits → f32 (exact: the bits shifted up, NaNs untouched, as in ggml).
#[inline]
pub fn bf16_to_f32(b: u16) -> f32 {
    f32::from_bits((b as u32) << 16)
}

/// f32 → bf16 bits, rounding to nearest even; NaN → quiet NaN keeping the top payload bits.
#[inline]
pub fn f32_to_bf16(x: f32) -> u16 {
    bf16::from_f32(x).to_bits()
}
