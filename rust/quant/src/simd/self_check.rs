//! A check, at run time, that this build's fast kernels give the portable specification's bits —
//! for targets where `cargo test` cannot run them: the WebAssembly builds (the npm package's tests
//! call it through `rust/web` in Node, Deno and Chromium, i.e. on each engine's own SIMD lowering).
//! Natively `tests/simd.rs` runs it too, beside its finer-grained tests.

use super::{DotFn, Kernel};
use crate::GgmlType;

/// Every kernel with a ggml-order implementation.
pub const KERNELS: &[Kernel] = &[
    Kernel::VecDot(GgmlType::Q4_0),
    Kernel::VecDot(GgmlType::Q4_1),
    Kernel::VecDot(GgmlType::Q5_0),
    Kernel::VecDot(GgmlType::Q5_1),
    Kernel::VecDot(GgmlType::Q8_0),
    Kernel::VecDot(GgmlType::Q4_K),
    Kernel::VecDot(GgmlType::Q5_K),
    Kernel::VecDot(GgmlType::Q6_K),
    Kernel::Q4KGemv,
    Kernel::Q4KGemm,
    Kernel::Q6KTiled,
    Kernel::Q4KTiled,
    Kernel::Q5KTiled,
    Kernel::Q40Repack,
];

/// xorshift64: deterministic inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in [-1, 1).
    fn unit(&mut self) -> f32 {
        ((self.next() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    /// `n` values whose magnitude changes per block of 32 (so block scales differ), with an
    /// outlier now and then.
    fn row(&mut self, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let scale = 0.01 + ((i / 32) % 7) as f32 * 0.3;
                let outlier = if i % 160 == 99 { 6.0 } else { 1.0 };
                self.unit() * scale * outlier
            })
            .collect()
    }
}

fn quantized(ty: GgmlType, x: &[f32], activations: bool) -> Vec<u8> {
    let mut q = vec![0u8; ty.row_bytes(x.len()).expect("whole blocks")];
    if activations {
        crate::quantize_activations(ty, x, &mut q).expect("valid activations");
    } else {
        crate::quantize_row(ty, x, &mut q).expect("valid weights");
    }
    q
}

fn same(what: &str, k: Kernel, got: f32, want: f32) -> Result<(), String> {
    if got.to_bits() == want.to_bits() {
        Ok(())
    } else {
        Err(format!(
            "{k:?} {what}: {got:e} where the specification gives {want:e}"
        ))
    }
}

/// Compares, for every kernel, the dot product in use ([`Kernel::dot_fn`]) with the portable one,
/// and its many-rows and many-weight-rows forms with the dot product, bit for bit, on rows of
/// 1 to 8 super-blocks; then `crate::math`'s functions with glibc's ([`crate::math::self_check`]).
/// Returns the number of values compared, or the first difference.
pub fn self_check() -> Result<usize, String> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut compared = 0;
    for &k in KERNELS {
        let (ty, at) = (k.weight_type(), k.weight_type().vec_dot_type());
        let dot: DotFn = k.dot_fn().ok_or(format!("{k:?} has no kernel"))?;
        let spec = k
            .portable_fn()
            .ok_or(format!("{k:?} has no specification"))?;
        for n in [256usize, 768, 2048] {
            let (w_row, a_row) = (ty.row_bytes(n).unwrap(), at.row_bytes(n).unwrap());
            let rows = 7;
            let w: Vec<u8> = (0..rows)
                .flat_map(|_| quantized(ty, &rng.row(n), false))
                .collect();
            let a: Vec<u8> = (0..rows)
                .flat_map(|_| quantized(at, &rng.row(n), true))
                .collect();
            let w_at = |r: usize| &w[r * w_row..(r + 1) * w_row];
            let a_at = |r: usize| &a[r * a_row..(r + 1) * a_row];
            for r in 0..rows {
                same("dot", k, dot(w_at(r), a_at(r)), spec(w_at(r), a_at(r)))?;
                compared += 1;
            }
            if let Some(rows_fn) = k.rows_fn() {
                let mut out = vec![0.0f32; rows];
                rows_fn(w_at(0), &a, a_row, &mut out);
                for (r, &o) in out.iter().enumerate() {
                    same("rows", k, o, dot(w_at(0), a_at(r)))?;
                }
                compared += rows;
            }
            if let Some(cols_fn) = k.cols_fn() {
                let mut out = vec![0.0f32; rows];
                cols_fn(&w, w_row, a_at(0), &mut out);
                for (r, &o) in out.iter().enumerate() {
                    same("cols", k, o, dot(w_at(r), a_at(0)))?;
                }
                compared += rows;
            }
        }
    }
    // sin/cos/exp/pow with glibc's bits (RoPE and the softmax call them)
    compared += crate::math::self_check()?;
    Ok(compared)
}

/// Which implementation [`Kernel::dot_fn`] hands out here, e.g. "avx2+fma" or
/// "simd128 + relaxed-simd (fused multiply-add)".
pub fn implementation() -> &'static str {
    if super::has_avx2_fma() {
        return "avx2+fma";
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
    return if super::wasm::madd_is_fused() {
        "simd128 + relaxed-simd (fused multiply-add)"
    } else {
        "simd128 + relaxed-simd (multiply-add not fused: emulated)"
    };
    #[cfg(all(
        target_arch = "wasm32",
        target_feature = "simd128",
        not(target_feature = "relaxed-simd")
    ))]
    return "simd128 (fused multiply-add emulated)";
    #[allow(unreachable_code)]
    "portable"
}
