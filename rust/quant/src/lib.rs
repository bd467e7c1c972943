//! ggml block formats, byte-identical to ggml, with scalar reference kernels.
//!
//! CONTRACT (the rest of the workspace codes against this; keep these names):
//!
//! ```ignore
//! #[repr(u32)] pub enum GgmlType { F32=0, F16=1, Q4_0=2, Q4_1=3, Q5_0=6, Q5_1=7, Q8_0=8, Q8_1=9,
//!     Q2_K=10, Q3_K=11, Q4_K=12, Q5_K=13, Q6_K=14, Q8_K=15, BF16=30 }
//! impl GgmlType {
//!     pub fn from_id(id: u32) -> Option<GgmlType>;
//!     pub fn name(self) -> &'static str;            // "Q4_K", "F32", ... as ggml prints them
//!     pub fn block_size(self) -> usize;             // elements per block (1 for F32/F16/BF16, 32, 256)
//!     pub fn type_size(self) -> usize;              // bytes per block
//!     pub fn row_bytes(self, n: usize) -> Result<usize, QuantError>; // n must be a multiple of block_size
//!     pub fn vec_dot_type(self) -> GgmlType;        // what ggml's CPU backend quantizes activations to:
//!                                                   // Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1, Q8_K for *_K, F16 for F16, BF16 for BF16, F32 for F32
//! }
//! pub fn dequantize_row(ty: GgmlType, src: &[u8], dst: &mut [f32]) -> Result<(), QuantError>; // dst.len() elements
//! pub fn quantize_row(ty: GgmlType, src: &[f32], dst: &mut [u8]) -> Result<(), QuantError>;   // ggml's *_ref quantizers
//! pub fn vec_dot(ty: GgmlType, n: usize, w: &[u8], a: &[u8]) -> Result<f32, QuantError>;     // w row of `ty`, a row of ty.vec_dot_type()
//! // plus the block structs BlockQ4_0 .. BlockQ8K (#[repr(C)], bytemuck Pod, size asserts) and fp16/bf16 helpers.
//! ```
//!
//! What "reference" means here, per entry point:
//!
//! * [`dequantize_row`] equals ggml's `to_float` (`dequantize_row_*`) bit for bit.
//! * [`quantize_row`] equals ggml's reference quantizers (`quantize_row_*_ref`, which is what
//!   `ggml_quantize_chunk` and `llama-quantize` run without an importance matrix) byte for byte,
//!   including the K-quants' scale searches. ggml's CPU backend quantizes *activations* for Q8_0
//!   and Q8_1 with SIMD code that rounds differently in rare ties; this crate always follows the
//!   reference.
//! * [`vec_dot`] computes what ggml's generic CPU kernels compute (integer dots per block, the
//!   K-quant mins through Q8_K's `bsums`), equal up to float summation order.
//!
//! Layout: [`mod@blocks`] (structs), [`float`] (fp16/bf16), `legacy` (32-element formats), `kquants`
//! and `scale_search` (256-element formats), `dot` (vec_dot kernels). The golden tests in `tests/`
//! compare against dumps made by llama.cpp itself (`scripts/quant-dumps/`).

pub mod blocks;
mod cround;
mod dot;
mod error;
pub mod float;
mod kquants;
mod legacy;
pub mod math;
mod scale_search;
pub mod simd;
mod types;

pub use blocks::*;
pub use error::QuantError;
pub use float::{bf16_to_f32, f32_to_bf16, f32_to_fp16, fp16_to_f32};
pub use types::GgmlType;

use bytemuck::Pod;

/// Reinterprets a checked byte slice as blocks. Cannot fail: blocks have alignment 1 and the callers
/// below have checked that the length is a whole number of blocks.
#[inline]
fn blocks<B: Pod>(bytes: &[u8]) -> &[B] {
    bytemuck::cast_slice(bytes)
}

#[inline]
fn blocks_mut<B: Pod>(bytes: &mut [u8]) -> &mut [B] {
    bytemuck::cast_slice_mut(bytes)
}

fn check_len(
    ty: GgmlType,
    what: &'static str,
    expected: usize,
    found: usize,
) -> Result<(), QuantError> {
    if expected == found {
        Ok(())
    } else {
        Err(QuantError::LengthMismatch {
            ty,
            what,
            expected,
            found,
        })
    }
}

/// Decodes one row of `ty` (`src`, exactly `ty.row_bytes(dst.len())` bytes) into `dst.len()` floats.
pub fn dequantize_row(ty: GgmlType, src: &[u8], dst: &mut [f32]) -> Result<(), QuantError> {
    check_len(ty, "quantized row", ty.row_bytes(dst.len())?, src.len())?;
    match ty {
        GgmlType::F32 => {
            for (d, s) in dst.iter_mut().zip(src.chunks_exact(4)) {
                *d = f32::from_le_bytes([s[0], s[1], s[2], s[3]]);
            }
        }
        GgmlType::F16 => {
            for (d, s) in dst.iter_mut().zip(src.chunks_exact(2)) {
                *d = fp16_to_f32(u16::from_le_bytes([s[0], s[1]]));
            }
        }
        GgmlType::BF16 => {
            for (d, s) in dst.iter_mut().zip(src.chunks_exact(2)) {
                *d = bf16_to_f32(u16::from_le_bytes([s[0], s[1]]));
            }
        }
        GgmlType::Q4_0 => legacy::dequantize_q4_0(blocks(src), dst),
        GgmlType::Q4_1 => legacy::dequantize_q4_1(blocks(src), dst),
        GgmlType::Q5_0 => legacy::dequantize_q5_0(blocks(src), dst),
        GgmlType::Q5_1 => legacy::dequantize_q5_1(blocks(src), dst),
        GgmlType::Q8_0 => legacy::dequantize_q8_0(blocks(src), dst),
        GgmlType::Q8_1 => legacy::dequantize_q8_1(blocks(src), dst),
        GgmlType::Q2_K => kquants::dequantize_q2_k(blocks(src), dst),
        GgmlType::Q3_K => kquants::dequantize_q3_k(blocks(src), dst),
        GgmlType::Q4_K => kquants::dequantize_q4_k(blocks(src), dst),
        GgmlType::Q5_K => kquants::dequantize_q5_k(blocks(src), dst),
        GgmlType::Q6_K => kquants::dequantize_q6_k(blocks(src), dst),
        GgmlType::Q8_K => kquants::dequantize_q8_k(blocks(src), dst),
    }
    Ok(())
}

/// Encodes `src` (a whole number of blocks) as one row of `ty` into `dst`, which must be exactly
/// `ty.row_bytes(src.len())` bytes. Every byte of `dst` is written. F32/F16/BF16 are plain
/// conversions (round to nearest even).
pub fn quantize_row(ty: GgmlType, src: &[f32], dst: &mut [u8]) -> Result<(), QuantError> {
    check_len(ty, "quantized row", ty.row_bytes(src.len())?, dst.len())?;
    match ty {
        GgmlType::F32 => {
            for (d, s) in dst.chunks_exact_mut(4).zip(src) {
                d.copy_from_slice(&s.to_le_bytes());
            }
        }
        GgmlType::F16 => {
            for (d, &s) in dst.chunks_exact_mut(2).zip(src) {
                d.copy_from_slice(&f32_to_fp16(s).to_le_bytes());
            }
        }
        GgmlType::BF16 => {
            for (d, &s) in dst.chunks_exact_mut(2).zip(src) {
                d.copy_from_slice(&f32_to_bf16(s).to_le_bytes());
            }
        }
        GgmlType::Q4_0 => legacy::quantize_q4_0(src, blocks_mut(dst)),
        GgmlType::Q4_1 => legacy::quantize_q4_1(src, blocks_mut(dst)),
        GgmlType::Q5_0 => legacy::quantize_q5_0(src, blocks_mut(dst)),
        GgmlType::Q5_1 => legacy::quantize_q5_1(src, blocks_mut(dst)),
        GgmlType::Q8_0 => legacy::quantize_q8_0(src, blocks_mut(dst)),
        GgmlType::Q8_1 => legacy::quantize_q8_1(src, blocks_mut(dst)),
        GgmlType::Q2_K => kquants::quantize_q2_k(src, blocks_mut(dst)),
        GgmlType::Q3_K => kquants::quantize_q3_k(src, blocks_mut(dst)),
        GgmlType::Q4_K => kquants::quantize_q4_k(src, blocks_mut(dst)),
        GgmlType::Q5_K => kquants::quantize_q5_k(src, blocks_mut(dst)),
        GgmlType::Q6_K => kquants::quantize_q6_k(src, blocks_mut(dst)),
        GgmlType::Q8_K => kquants::quantize_q8_k(src, blocks_mut(dst)),
    }
    Ok(())
}

/// Quantizes an activation row to `ty` (a `vec_dot_type`) exactly as ggml's x86 CPU backend
/// does before its dot products: the reference quantizer for every type except Q8_0 and Q8_1,
/// whose AVX code rounds differently (see `legacy::quantize_q8_block_like_ggml_cpu`). Using this
/// rather than [`quantize_row`] keeps matmul results equal to llama.cpp's on x86.
pub fn quantize_activations(ty: GgmlType, src: &[f32], dst: &mut [u8]) -> Result<(), QuantError> {
    match ty {
        GgmlType::Q8_0 => {
            check_len(ty, "quantized row", ty.row_bytes(src.len())?, dst.len())?;
            #[cfg(target_arch = "x86_64")]
            if simd::has_avx2_fma() {
                // SAFETY: the CPU has AVX2, FMA and F16C (checked just above).
                unsafe { simd::quantize::avx2::q8_0_activations(src, blocks_mut(dst)) };
                return Ok(());
            }
            legacy::quantize_q8_0_activations(src, blocks_mut(dst));
        }
        #[cfg(target_arch = "x86_64")]
        GgmlType::Q8_K if simd::has_avx2_fma() => {
            check_len(ty, "quantized row", ty.row_bytes(src.len())?, dst.len())?;
            // SAFETY: the CPU has AVX2, FMA and F16C (checked in the guard).
            unsafe { simd::quantize::avx2::q8_k(src, blocks_mut(dst), false) };
        }
        GgmlType::Q8_1 => {
            check_len(ty, "quantized row", ty.row_bytes(src.len())?, dst.len())?;
            legacy::quantize_q8_1_activations(src, blocks_mut(dst));
        }
        _ => quantize_row(ty, src, dst)?,
    }
    Ok(())
}

/// Dot product of `n` elements: `w` is a row of `ty` (`ty.row_bytes(n)` bytes), `a` a row of
/// `ty.vec_dot_type()` (e.g. activations made with [`quantize_row`]). Q8_1 and Q8_K have no
/// `vec_dot` (in ggml neither): [`QuantError::Unsupported`].
pub fn vec_dot(ty: GgmlType, n: usize, w: &[u8], a: &[u8]) -> Result<f32, QuantError> {
    if matches!(ty, GgmlType::Q8_1 | GgmlType::Q8_K) {
        return Err(QuantError::Unsupported { ty, op: "vec_dot" });
    }
    let at = ty.vec_dot_type();
    check_len(ty, "weight row", ty.row_bytes(n)?, w.len())?;
    check_len(at, "activation row", at.row_bytes(n)?, a.len())?;
    Ok(match ty {
        GgmlType::F32 => dot::dot_f32(w, a),
        GgmlType::F16 => dot::dot_f16(w, a),
        GgmlType::BF16 => dot::dot_bf16(w, a),
        GgmlType::Q4_0 => dot::dot_q4_0_q8_0(blocks(w), blocks(a)),
        GgmlType::Q4_1 => dot::dot_q4_1_q8_1(blocks(w), blocks(a)),
        GgmlType::Q5_0 => dot::dot_q5_0_q8_0(blocks(w), blocks(a)),
        GgmlType::Q5_1 => dot::dot_q5_1_q8_1(blocks(w), blocks(a)),
        GgmlType::Q8_0 => dot::dot_q8_0_q8_0(blocks(w), blocks(a)),
        GgmlType::Q2_K => dot::dot_q2_k_q8_k(blocks(w), blocks(a)),
        GgmlType::Q3_K => dot::dot_q3_k_q8_k(blocks(w), blocks(a)),
        GgmlType::Q4_K => dot::dot_q4_k_q8_k(blocks(w), blocks(a)),
        GgmlType::Q5_K => dot::dot_q5_k_q8_k(blocks(w), blocks(a)),
        GgmlType::Q6_K => dot::dot_q6_k_q8_k(blocks(w), blocks(a)),
        GgmlType::Q8_1 | GgmlType::Q8_K => {
            return Err(QuantError::Unsupported { ty, op: "vec_dot" })
        }
    })
}
