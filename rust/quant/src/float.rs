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

/// `a·b + c` rounded once (a fused multiply-add), fast on every target.
///
/// Natively this is `f32::mul_add` (one FMA instruction where the CPU has it). WebAssembly has no
/// scalar FMA, and `mul_add` there is a software routine costing tens of instructions, so there
/// [`fma_via_f64`] does it, falling back to `mul_add` on the rare inputs it cannot round.
#[inline]
pub fn fmaf(a: f32, b: f32, c: f32) -> f32 {
    #[cfg(target_arch = "wasm32")]
    if let Some(r) = fma_via_f64(a, b, c) {
        return r;
    }
    a.mul_add(b, c)
}

/// The fused `a·b + c` through f64, or `None` where that could round differently. The product of
/// two f32 is exact in f64 (24 + 24 bits fit in 53), so only the sum is rounded to f64 before the
/// final rounding to f32. Rounding twice gives the fused result unless the first rounding made an
/// f32 rounding tie (low 29 mantissa bits `1000…0`) that the exact sum was not: ties are common
/// with the kernels' few-bit operands, so a tie is accepted when the f64 sum was exact (TwoSum's
/// error term is zero). Results below f32's normal range (where f32 rounds at another bit) and
/// non-finite ones are declined.
#[inline]
pub fn fma_via_f64(a: f32, b: f32, c: f32) -> Option<f32> {
    let (xy, c) = ((a as f64) * (b as f64), c as f64);
    let r = xy + c;
    if r.to_bits() & 0x1fff_ffff == 0x1000_0000 && sum_error(xy, c, r) != 0.0 {
        return None;
    }
    let normal = r.abs() >= f32::MIN_POSITIVE as f64 && r.is_finite();
    (normal || r == 0.0).then_some(r as f32)
}

/// TwoSum: `x + y − r` exactly, for `r` the rounded `x + y` (Knuth; no branch on magnitudes).
#[inline]
pub fn sum_error(x: f64, y: f64, r: f64) -> f64 {
    let y_part = r - x;
    (x - (r - y_part)) + (y - y_part)
}

/// Runs `f` compiled for a CPU with FMA where this one has it (x86-64 with AVX2/FMA), so that
/// the [`fmaf`]s inlined into it are single instructions. The x86-64 baseline has no FMA, and
/// there `mul_add` is a call into a runtime-dispatched routine: a few nanoseconds per scalar
/// fused multiply-add, which adds up in rope and softmax. Results are the same either way.
#[inline]
pub fn with_hardware_fma<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if crate::simd::has_avx2_fma() {
        #[target_feature(enable = "fma")]
        fn fused<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        // SAFETY: the CPU has FMA (checked above).
        return unsafe { fused(f) };
    }
    f()
}

/// [`fmaf`] as a method, so kernel code reads like `f32::mul_add`: `x.fmaf(y, acc)`.
pub trait Fmaf {
    fn fmaf(self, b: f32, c: f32) -> f32;
}

impl Fmaf for f32 {
    #[inline]
    fn fmaf(self, b: f32, c: f32) -> f32 {
        fmaf(self, b, c)
    }
}
