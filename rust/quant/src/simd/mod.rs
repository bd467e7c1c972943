//! Fast dot products with the float rounding of the kernels llama.cpp's CPU backend runs on
//! x86-64 with AVX2 — so that a matmul built from them gives llama.cpp's results bit for bit.
//!
//! The scalar reference in [`crate::vec_dot`] sums in one plain order; ggml's SIMD kernels sum the
//! same exact integer block products in other float orders (8 lanes, fused multiply-adds, a fixed
//! horizontal reduction), and which kernel runs depends on the weight type *and* on how many
//! activation rows the matmul has. [`Kernel`] names each of those orders; [`Kernel::dot_fn`] gives
//! the fastest implementation of it on this CPU: AVX2+FMA (chosen at run time), else the
//! portable code in `portable.rs`, which is the specification and is tested against the SIMD
//! paths bit for bit. Which `Kernel` llama.cpp picks for a given matmul is the CPU backend's
//! business (`wasm-chord-cpu`'s `plan` module).

pub mod f16;
mod lanes;
pub mod portable;
pub mod q4k_x8;
pub(crate) mod quantize;
mod self_check;
pub mod tile;

pub use self_check::{implementation, self_check, KERNELS};

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm;

use crate::blocks::*;
use crate::GgmlType;

/// One dot product of a weight row with an activation row, both as raw ggml blocks. The caller
/// guarantees `w` and `a` are whole rows of the same length (in elements) of the kernel's weight
/// and activation types; a mismatch panics (in the block cast), it never reads out of bounds.
pub type DotFn = fn(w: &[u8], a: &[u8]) -> f32;

/// One weight row against `out.len()` activation rows stored back to back in `a` (`a_row` bytes
/// each): `out[i]` is exactly what the kernel's [`DotFn`] gives for row i; the weight is unpacked
/// once per group of rows (prefill).
pub type RowsFn = fn(w: &[u8], a: &[u8], a_row: usize, out: &mut [f32]);

/// `out.len()` weight rows stored back to back in `w` (`w_row` bytes each) against one activation
/// row `a`: `out[r]` is exactly the kernel's [`DotFn`] of row r (decode: activation blocks are
/// loaded once for several weight rows).
pub type ColsFn = fn(w: &[u8], w_row: usize, a: &[u8], out: &mut [f32]);

/// Two weight rows against four activation rows (`out[r][i]`), each output exactly the
/// kernel's [`DotFn`]; `a_scales[i]` holds activation row i's block scales as f32 (prefill).
pub type TileFn = fn(w: [&[u8]; 2], a: [&[u8]; 4], a_scales: [&[f32]; 4]) -> [[f32; 4]; 2];

/// A float summation order of llama.cpp's x86 CPU backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// `ggml_vec_dot_<type>_q8_*` (arch/x86/quants.c, AVX2). For Q4_0/Q5_0/Q8_0 also llamafile's
    /// `tinyBLAS_Q0_AVX` (prefill), which accumulates every output the same way.
    VecDot(GgmlType),
    /// `ggml_gemv_q4_K_8x8_q8_K` (CPU_REPACK): one activation row.
    Q4KGemv,
    /// `ggml_gemm_q4_K_8x8_q8_K` (CPU_REPACK): activation rows in groups of 4, quantized by
    /// [`quantize_q8_k_4x8`].
    Q4KGemm,
    /// The tiled K-quant matmul (ggml-cpu/tiled) for Q6_K, from 8 activation rows.
    Q6KTiled,
    /// The tiled K-quant matmul for Q4_K weights that are not repacked (rows % 8 ≠ 0).
    Q4KTiled,
    /// The tiled K-quant matmul for Q5_K.
    Q5KTiled,
    /// `ggml_gemv_q4_0_8x8_q8_0` / `ggml_gemm_q4_0_8x8_q8_0` (CPU_REPACK, Q4_0 with rows % 8 = 0):
    /// both accumulate each output the same way.
    Q40Repack,
}

/// Whether this CPU has AVX2, FMA and F16C (checked once; every AVX2 CPU has the other two).
pub fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::sync::OnceLock;
        static HAS: OnceLock<bool> = OnceLock::new();
        *HAS.get_or_init(|| {
            is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
                && is_x86_feature_detected!("f16c")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[inline]
fn cast<B: bytemuck::Pod>(b: &[u8]) -> &[B] {
    bytemuck::cast_slice(b)
}

/// Wraps a block-typed kernel as a [`DotFn`].
macro_rules! dot_fn {
    ($f:path, $x:ty, $y:ty) => {
        (|w: &[u8], a: &[u8]| $f(cast::<$x>(w), cast::<$y>(a))) as DotFn
    };
}

/// The AVX2 version of a kernel; the closure is only handed out after `has_avx2_fma()`.
#[cfg(target_arch = "x86_64")]
macro_rules! avx2_fn {
    ($f:ident, $x:ty, $y:ty) => {
        // SAFETY: returned only when has_avx2_fma() is true (checked in Kernel::dot_fn).
        (|w: &[u8], a: &[u8]| unsafe { avx2::$f(cast::<$x>(w), cast::<$y>(a)) }) as DotFn
    };
}

impl Kernel {
    /// The weight type this kernel reads.
    pub fn weight_type(self) -> GgmlType {
        match self {
            Kernel::VecDot(t) => t,
            Kernel::Q4KGemv | Kernel::Q4KGemm | Kernel::Q4KTiled => GgmlType::Q4_K,
            Kernel::Q5KTiled => GgmlType::Q5_K,
            Kernel::Q6KTiled => GgmlType::Q6_K,
            Kernel::Q40Repack => GgmlType::Q4_0,
        }
    }

    /// The portable implementation (the specification), or `None` for a type this module has no
    /// ggml-order kernel for (the float types, Q2_K/Q3_K: use the reference).
    pub fn portable_fn(self) -> Option<DotFn> {
        use portable as p;
        Some(match self {
            Kernel::VecDot(GgmlType::Q4_0) => dot_fn!(p::dot_q4_0_q8_0, BlockQ4_0, BlockQ8_0),
            Kernel::VecDot(GgmlType::Q5_0) => dot_fn!(p::dot_q5_0_q8_0, BlockQ5_0, BlockQ8_0),
            Kernel::VecDot(GgmlType::Q8_0) => dot_fn!(p::dot_q8_0_q8_0, BlockQ8_0, BlockQ8_0),
            Kernel::VecDot(GgmlType::Q4_1) => dot_fn!(p::dot_q4_1_q8_1, BlockQ4_1, BlockQ8_1),
            Kernel::VecDot(GgmlType::Q5_1) => dot_fn!(p::dot_q5_1_q8_1, BlockQ5_1, BlockQ8_1),
            Kernel::VecDot(GgmlType::Q4_K) => dot_fn!(p::dot_q4_k_q8_k, BlockQ4K, BlockQ8K),
            Kernel::VecDot(GgmlType::Q5_K) => dot_fn!(p::dot_q5_k_q8_k, BlockQ5K, BlockQ8K),
            Kernel::VecDot(GgmlType::Q6_K) => dot_fn!(p::dot_q6_k_q8_k, BlockQ6K, BlockQ8K),
            Kernel::Q4KGemv => dot_fn!(p::dot_q4_k_gemv, BlockQ4K, BlockQ8K),
            Kernel::Q4KGemm => dot_fn!(p::dot_q4_k_gemm, BlockQ4K, BlockQ8K),
            Kernel::Q6KTiled => dot_fn!(p::dot_q6_k_tiled, BlockQ6K, BlockQ8K),
            Kernel::Q4KTiled => dot_fn!(p::dot_q4_k_tiled, BlockQ4K, BlockQ8K),
            Kernel::Q5KTiled => dot_fn!(p::dot_q5_k_tiled, BlockQ5K, BlockQ8K),
            Kernel::Q40Repack => dot_fn!(p::dot_q4_0_repack, BlockQ4_0, BlockQ8_0),
            Kernel::VecDot(_) => return None,
        })
    }

    /// The AVX2+FMA implementation, when this CPU has it.
    pub fn avx2_fn(self) -> Option<DotFn> {
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            return Some(match self {
                Kernel::VecDot(GgmlType::Q4_0) => avx2_fn!(dot_q4_0_q8_0, BlockQ4_0, BlockQ8_0),
                Kernel::VecDot(GgmlType::Q5_0) => avx2_fn!(dot_q5_0_q8_0, BlockQ5_0, BlockQ8_0),
                Kernel::VecDot(GgmlType::Q8_0) => avx2_fn!(dot_q8_0_q8_0, BlockQ8_0, BlockQ8_0),
                Kernel::VecDot(GgmlType::Q4_1) => avx2_fn!(dot_q4_1_q8_1, BlockQ4_1, BlockQ8_1),
                Kernel::VecDot(GgmlType::Q5_1) => avx2_fn!(dot_q5_1_q8_1, BlockQ5_1, BlockQ8_1),
                Kernel::VecDot(GgmlType::Q4_K) => avx2_fn!(dot_q4_k_q8_k, BlockQ4K, BlockQ8K),
                Kernel::VecDot(GgmlType::Q6_K) => avx2_fn!(dot_q6_k_q8_k, BlockQ6K, BlockQ8K),
                Kernel::Q4KGemv => avx2_fn!(dot_q4_k_gemv, BlockQ4K, BlockQ8K),
                Kernel::Q4KGemm => avx2_fn!(dot_q4_k_gemm, BlockQ4K, BlockQ8K),
                Kernel::Q6KTiled => avx2_fn!(dot_q6_k_tiled, BlockQ6K, BlockQ8K),
                Kernel::Q40Repack => avx2_fn!(dot_q4_0_repack, BlockQ4_0, BlockQ8_0),
                Kernel::VecDot(GgmlType::Q5_K) => avx2_fn!(dot_q5_k_q8_k, BlockQ5K, BlockQ8K),
                Kernel::Q4KTiled => avx2_fn!(dot_q4_k_tiled, BlockQ4K, BlockQ8K),
                Kernel::Q5KTiled => avx2_fn!(dot_q5_k_tiled, BlockQ5K, BlockQ8K),
                Kernel::VecDot(_) => return None,
            });
        }
        None
    }

    /// The many-rows AVX2 implementation, for the kernels that have one, when this CPU has AVX2.
    pub fn rows_fn(self) -> Option<RowsFn> {
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            macro_rules! rows {
                ($f:ident, $x:ty) => {
                    // SAFETY: only handed out when has_avx2_fma() is true.
                    (|w: &[u8], a: &[u8], a_row: usize, out: &mut [f32]| unsafe {
                        avx2::$f(cast::<$x>(w), a, a_row, out)
                    }) as RowsFn
                };
            }
            return match self {
                Kernel::VecDot(GgmlType::Q4_0) => Some(rows!(rows_q4_0_q8_0, BlockQ4_0)),
                Kernel::VecDot(GgmlType::Q5_0) => Some(rows!(rows_q5_0_q8_0, BlockQ5_0)),
                Kernel::VecDot(GgmlType::Q8_0) => Some(rows!(rows_q8_0_q8_0, BlockQ8_0)),
                Kernel::VecDot(GgmlType::Q6_K) => Some(rows!(rows_q6_k_q8_k, BlockQ6K)),
                Kernel::Q4KGemm => Some(rows!(rows_q4_k_gemm, BlockQ4K)),
                Kernel::Q4KGemv => Some(rows!(rows_q4_k_gemv, BlockQ4K)),
                Kernel::Q6KTiled => Some(rows!(rows_q6_k_tiled, BlockQ6K)),
                Kernel::Q40Repack => Some(rows!(rows_q4_0_repack, BlockQ4_0)),
                _ => None,
            };
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        return self.simd128().rows;
        #[allow(unreachable_code)]
        None
    }

    /// The many-weight-rows AVX2 implementation, for the kernels that have one.
    pub fn cols_fn(self) -> Option<ColsFn> {
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            macro_rules! cols {
                ($f:ident) => {
                    // SAFETY: only handed out when has_avx2_fma() is true.
                    (|w: &[u8], w_row: usize, a: &[u8], out: &mut [f32]| unsafe {
                        avx2::$f(w, w_row, cast::<BlockQ8_0>(a), out)
                    }) as ColsFn
                };
            }
            return match self {
                Kernel::VecDot(GgmlType::Q4_0) => Some(cols!(cols_q4_0_q8_0)),
                Kernel::VecDot(GgmlType::Q5_0) => Some(cols!(cols_q5_0_q8_0)),
                // Q8_0 rows are long enough that four interleaved streams lose to one linear
                // stream (measured: 1.5-1.9 vs 2.9-3.6 GB/s on Gemma's 262144-row output): none.
                Kernel::Q40Repack => Some(cols!(cols_q4_0_repack)),
                _ => None,
            };
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        return self.simd128().cols;
        #[allow(unreachable_code)]
        None
    }

    /// The two-weight-rows × four-activation-rows AVX2 implementation, for the Q8_0-activation
    /// kernels (Q4_0/Q5_0/Q8_0 weights, whose scales are per block of 32).
    pub fn tile_fn(self) -> Option<TileFn> {
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            macro_rules! tile {
                ($f:ident, $x:ty) => {
                    // SAFETY: only handed out when has_avx2_fma() is true.
                    (|w: [&[u8]; 2], a: [&[u8]; 4], s: [&[f32]; 4]| unsafe {
                        avx2::$f(w.map(cast::<$x>), a.map(cast::<BlockQ8_0>), s)
                    }) as TileFn
                };
            }
            return match self {
                Kernel::VecDot(GgmlType::Q4_0) => Some(tile!(tile_q4_0_q8_0, BlockQ4_0)),
                Kernel::VecDot(GgmlType::Q5_0) => Some(tile!(tile_q5_0_q8_0, BlockQ5_0)),
                Kernel::VecDot(GgmlType::Q8_0) => Some(tile!(tile_q8_0_q8_0, BlockQ8_0)),
                _ => None,
            };
        }
        None
    }

    /// The WebAssembly SIMD128 implementation (builds with `+simd128`), the same bits.
    pub fn simd128_fn(self) -> Option<DotFn> {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        return self.simd128().dot;
        #[allow(unreachable_code)]
        None
    }

    /// The SIMD128 kernels, with `f32x4.relaxed_madd` where the build has relaxed SIMD and this
    /// engine fuses it (see `wasm`'s module comment).
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    fn simd128(self) -> Simd128Fns {
        #[cfg(target_feature = "relaxed-simd")]
        if wasm::madd_is_fused() {
            return simd128_fns::<wasm::Relaxed>(self);
        }
        simd128_fns::<wasm::Emulated>(self)
    }

    /// The fastest implementation available here: AVX2 when present (x86-64), SIMD128 (wasm32
    /// built with `+simd128`), else portable.
    pub fn dot_fn(self) -> Option<DotFn> {
        self.avx2_fn()
            .or_else(|| self.simd128_fn())
            .or_else(|| self.portable_fn())
    }
}

/// A kernel's SIMD128 implementations: one dot, and the many-rows / many-weight-rows forms.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
struct Simd128Fns {
    dot: Option<DotFn>,
    rows: Option<RowsFn>,
    cols: Option<ColsFn>,
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn simd128_fns<F: wasm::Fma4>(k: Kernel) -> Simd128Fns {
    use wasm as s;
    macro_rules! dot {
        ($f:path, $x:ty, $y:ty) => {
            Some(dot_fn!($f, $x, $y))
        };
    }
    macro_rules! rows {
        ($f:path, $x:ty) => {
            Some(
                (|w: &[u8], a: &[u8], a_row: usize, out: &mut [f32]| {
                    $f(cast::<$x>(w), a, a_row, out)
                }) as RowsFn,
            )
        };
    }
    macro_rules! cols {
        ($f:path) => {
            Some(
                (|w: &[u8], w_row: usize, a: &[u8], out: &mut [f32]| {
                    $f(w, w_row, cast::<BlockQ8_0>(a), out)
                }) as ColsFn,
            )
        };
    }
    let (dot, rows, cols) = match k {
        Kernel::VecDot(GgmlType::Q4_0) => (
            dot!(s::dot_q0::<BlockQ4_0, F>, BlockQ4_0, BlockQ8_0),
            rows!(s::rows_q0::<BlockQ4_0, F>, BlockQ4_0),
            cols!(s::cols_q0::<BlockQ4_0, F>),
        ),
        Kernel::VecDot(GgmlType::Q5_0) => (
            dot!(s::dot_q0::<BlockQ5_0, F>, BlockQ5_0, BlockQ8_0),
            rows!(s::rows_q0::<BlockQ5_0, F>, BlockQ5_0),
            cols!(s::cols_q0::<BlockQ5_0, F>),
        ),
        // No cols form: its sign trick is on the activation side, where Q8_0 weights could be
        // −128 (and the long Q8_0 rows stream best one at a time, as measured natively).
        Kernel::VecDot(GgmlType::Q8_0) => (
            dot!(s::dot_q0::<BlockQ8_0, F>, BlockQ8_0, BlockQ8_0),
            rows!(s::rows_q0::<BlockQ8_0, F>, BlockQ8_0),
            None,
        ),
        Kernel::VecDot(GgmlType::Q4_1) => (
            dot!(s::dot_q4_1_q8_1::<F>, BlockQ4_1, BlockQ8_1),
            None,
            None,
        ),
        Kernel::VecDot(GgmlType::Q5_1) => (
            dot!(s::dot_q5_1_q8_1::<F>, BlockQ5_1, BlockQ8_1),
            None,
            None,
        ),
        Kernel::VecDot(GgmlType::Q4_K) => {
            (dot!(s::dot_q4_k_q8_k::<F>, BlockQ4K, BlockQ8K), None, None)
        }
        Kernel::VecDot(GgmlType::Q6_K) => {
            (dot!(s::dot_q6_k_q8_k::<F>, BlockQ6K, BlockQ8K), None, None)
        }
        Kernel::Q4KGemv => (
            dot!(s::dot_q4_k_gemv, BlockQ4K, BlockQ8K),
            rows!(s::rows_q4_k_gemv::<F>, BlockQ4K),
            Some(
                (|w: &[u8], w_row: usize, a: &[u8], out: &mut [f32]| {
                    s::cols_q4_k_gemv::<F>(w, w_row, cast::<BlockQ8K>(a), out)
                }) as ColsFn,
            ),
        ),
        Kernel::Q4KGemm => (
            dot!(s::dot_q4_k_gemm, BlockQ4K, BlockQ8K),
            rows!(s::rows_q4_k_gemm::<F>, BlockQ4K),
            None,
        ),
        Kernel::Q6KTiled => (
            dot!(s::dot_q6_k_tiled, BlockQ6K, BlockQ8K),
            rows!(s::rows_q6_k_tiled::<F>, BlockQ6K),
            None,
        ),
        Kernel::Q40Repack => (dot!(s::dot_q4_0_repack, BlockQ4_0, BlockQ8_0), None, None),
        Kernel::VecDot(_) | Kernel::Q4KTiled | Kernel::Q5KTiled => (None, None, None),
    };
    Simd128Fns { dot, rows, cols }
}

/// Q8_K activations as ggml's `ggml_quantize_mat_q8_K_4x8` (x86, AVX2) makes them for the
/// repacked gemm: like `quantize_row_q8_K` except for the sign of the scale. The reference takes
/// the sign of the *first* element of largest magnitude; this one uses a negative scale whenever
/// *any* element equals +amax. They differ only when both +amax and −amax occur in a block.
pub fn quantize_q8_k_4x8(src: &[f32], dst: &mut [u8]) -> Result<(), crate::QuantError> {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        let ty = GgmlType::Q8_K;
        let want = ty.row_bytes(src.len())?;
        if want != dst.len() {
            // the scalar path below reports the mismatch
            return crate::quantize_row(ty, src, dst);
        }
        // SAFETY: the CPU has AVX2, FMA and F16C (checked just above).
        unsafe { quantize::avx2::q8_k(src, bytemuck::cast_slice_mut(dst), true) };
        return Ok(());
    }
    quantize_q8_k_4x8_scalar(src, dst)
}

/// [`quantize_q8_k_4x8`] without SIMD: the reference quantizer, redone where the sign differs.
pub(crate) fn quantize_q8_k_4x8_scalar(
    src: &[f32],
    dst: &mut [u8],
) -> Result<(), crate::QuantError> {
    crate::quantize_row(GgmlType::Q8_K, src, dst)?;
    let blocks: &mut [BlockQ8K] = bytemuck::cast_slice_mut(dst);
    for (x, y) in src.chunks_exact(QK_K).zip(blocks) {
        let amax = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        if amax == 0.0 {
            continue;
        }
        let pos = x.iter().any(|&v| v == amax);
        let first_neg = x.iter().find(|v| v.abs() == amax).is_some_and(|&v| v < 0.0);
        if pos && first_neg {
            // The reference used iscale = 127/amax; redo with −127/amax.
            let iscale = -127.0 / amax;
            let mut bsums = [0i16; 16];
            for (j, &v) in x.iter().enumerate() {
                let q = crate::cround::nearest_int(iscale * v).min(127);
                y.qs[j] = q as i8;
                bsums[j / 16] += q as i16;
            }
            y.bsums = bsums;
            y.d = 1.0 / iscale;
        }
    }
    Ok(())
}
