//! The float order of ggml's *tiled* CPU flash attention (taken from 64 query rows up), bit for
//! bit as llama.cpp runs it on x86-64 with AVX2 + FMA:
//!
//! - scores: a GEMM of the f32 query rows with a tile of [`TILE`] keys converted to f32 and
//!   transposed; each score is one fused multiply-add per head dimension, in order, from 0;
//! - softmax of a tile: `ggml_v_expf` (a polynomial, not libm's expf) on 8 lanes, each group of 8
//!   reduced `((v0+v4)+(v2+v6)) + ((v1+v5)+(v3+v7))` in f32 and summed in f64;
//! - values: `out += w·v` with one fused multiply-add per element, keys in order.
//!
//! The portable versions are the specification; the AVX2 ones are checked against them.

/// Keys per tile (GGML_FA_TILE_KV); tiles start at multiples of it in the cache.
pub const TILE: usize = 64;

use crate::float::Fmaf;

/// `kt`: a key tile transposed to `[head_dim][TILE]` f32 (zero past the tile's keys);
/// `q`: one query head (`head_dim`). `scores[j] = Σ_d kt[d][j]·q[d]`, fused, d in order.
pub fn scores(kt: &[f32], q: &[f32], scores: &mut [f32; TILE]) {
    assert_eq!(kt.len(), q.len() * TILE, "key tile is [head_dim][TILE]");
    #[cfg(target_arch = "x86_64")]
    if super::has_avx2_fma() {
        // SAFETY: AVX2 and FMA are present (checked above).
        return unsafe { avx2::scores(kt, q, scores) };
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use super::wasm;
        #[cfg(target_feature = "relaxed-simd")]
        if wasm::madd_is_fused() {
            return wasm::tile_scores::<wasm::Relaxed>(kt, q, scores);
        }
        return wasm::tile_scores::<wasm::Emulated>(kt, q, scores);
    }
    #[allow(unreachable_code)]
    portable::scores(kt, q, scores)
}

/// `out[i] = v[i]·w + out[i]`, fused (`v`: a value row already converted from f16, exact).
pub fn axpy(out: &mut [f32], v: &[f32], w: f32) {
    #[cfg(target_arch = "x86_64")]
    if super::has_avx2_fma() {
        // SAFETY: AVX2 and FMA are present (checked above).
        return unsafe { avx2::axpy(out, v, w) };
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use super::wasm;
        #[cfg(target_feature = "relaxed-simd")]
        if wasm::madd_is_fused() {
            return wasm::axpy::<wasm::Relaxed>(out, v, w);
        }
        return wasm::axpy::<wasm::Emulated>(out, v, w);
    }
    #[allow(unreachable_code)]
    portable::axpy(out, v, w)
}

/// `x[j] = expf(x[j] - max)` as ggml_vec_soft_max_f32 computes it, returning the f64 sum of the
/// tile (`-inf` entries become 0 and add nothing).
pub fn softmax(x: &mut [f32; TILE], max: f32) -> f64 {
    crate::float::with_hardware_fma(|| softmax_in_order(x, max))
}

#[inline(always)]
fn softmax_in_order(x: &mut [f32; TILE], max: f32) -> f64 {
    let mut sum = 0.0f64;
    for group in x.chunks_exact_mut(8) {
        for v in group.iter_mut() {
            *v = expf(*v - max);
        }
        let a: [f32; 4] = std::array::from_fn(|i| group[i + 4] + group[i]);
        sum += ((a[0] + a[2]) + (a[1] + a[3])) as f64;
    }
    sum
}

/// One lane of ggml's `ggml_v_expf` (vec.h): exp by 2^n·p(b) with a degree-5 polynomial,
/// including its handling of large |n| (which gives 0 for -inf).
#[inline(always)]
pub fn expf(x: f32) -> f32 {
    let r = f32::from_bits(0x4b40_0000); // 0x1.8p23
    let z = x.fmaf(f32::from_bits(0x3fb8_aa3b), r); // 0x1.715476p+0 = log2(e)
    let n = z - r;
    let b = (-n).fmaf(
        f32::from_bits(0x35bf_be8e),               // 0x1.7f7d1cp-20
        (-n).fmaf(f32::from_bits(0x3f31_7200), x), // 0x1.62e4p-1
    );
    let e = z.to_bits() << 23;
    let k = f32::from_bits(e.wrapping_add(1.0f32.to_bits()));
    let u = b * b;
    let c = |bits: u32| f32::from_bits(bits);
    let j = c(0x3c07_2010) // 0x1.0e4020p-7
        .fmaf(b, c(0x3d2b_9f17)) // 0x1.573e2ep-5
        .fmaf(u, c(0x3e2a_af33).fmaf(b, c(0x3eff_fedb))) // 0x1.555e66p-3, 0x1.fffdb6p-2
        .fmaf(u, c(0x3f7f_fff6) * b); // 0x1.ffffecp-1
    if n.abs() <= 126.0 || n.is_nan() {
        return j.fmaf(k, k);
    }
    let g: u32 = if n <= 0.0 { 0x8200_0000 } else { 0 };
    let s1 = f32::from_bits(g.wrapping_add(0x7f00_0000));
    if n.abs() > 192.0 {
        return s1 * s1;
    }
    let s2 = f32::from_bits(e.wrapping_sub(g));
    s2.fmaf(j, s2) * s1
}

pub mod portable {
    use super::TILE;
    use crate::float::Fmaf;

    pub fn scores(kt: &[f32], q: &[f32], scores: &mut [f32; TILE]) {
        scores.fill(0.0);
        for (row, &qd) in kt.chunks_exact(TILE).zip(q) {
            for (s, &k) in scores.iter_mut().zip(row) {
                *s = k.fmaf(qd, *s);
            }
        }
    }

    pub fn axpy(out: &mut [f32], v: &[f32], w: f32) {
        for (o, &v) in out.iter_mut().zip(v) {
            *o = v.fmaf(w, *o);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! Safety: call only after `has_avx2_fma()`; loads and stores stay inside the slices.
    use super::TILE;
    use core::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma")]
    pub fn scores(kt: &[f32], q: &[f32], scores: &mut [f32; TILE]) {
        let mut acc = [_mm256_setzero_ps(); TILE / 8];
        for (row, &qd) in kt.chunks_exact(TILE).zip(q) {
            let qv = _mm256_set1_ps(qd);
            for (r, a) in acc.iter_mut().enumerate() {
                // SAFETY: row has TILE elements; r*8+8 <= TILE.
                let k = unsafe { _mm256_loadu_ps(row.as_ptr().add(r * 8)) };
                *a = _mm256_fmadd_ps(k, qv, *a);
            }
        }
        for (r, a) in acc.iter().enumerate() {
            // SAFETY: scores has TILE elements; r*8+8 <= TILE.
            unsafe { _mm256_storeu_ps(scores.as_mut_ptr().add(r * 8), *a) };
        }
    }

    #[target_feature(enable = "avx2,fma")]
    pub fn axpy(out: &mut [f32], v: &[f32], w: f32) {
        let n = out.len().min(v.len());
        let whole = n / 8 * 8;
        let ws = _mm256_set1_ps(w);
        let mut i = 0;
        while i < whole {
            // SAFETY: i + 8 <= n for both slices.
            unsafe {
                let o = _mm256_fmadd_ps(
                    _mm256_loadu_ps(v.as_ptr().add(i)),
                    ws,
                    _mm256_loadu_ps(out.as_ptr().add(i)),
                );
                _mm256_storeu_ps(out.as_mut_ptr().add(i), o);
            }
            i += 8;
        }
        for j in whole..n {
            out[j] = v[j].mul_add(w, out[j]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rand_f32(seed: &mut u64, n: usize, scale: f32) -> Vec<f32> {
        (0..n)
            .map(|_| {
                *seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((*seed >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
            })
            .collect()
    }

    #[test]
    fn expf_is_close_to_exp_and_zero_at_minus_infinity() {
        assert_eq!(expf(f32::NEG_INFINITY), 0.0);
        assert_eq!(expf(0.0), 1.0);
        for i in -2000..=100 {
            let x = i as f32 * 0.05;
            let (got, want) = (expf(x) as f64, (x as f64).exp());
            assert!(
                (got - want).abs() <= want * 2e-7 + 1e-44,
                "x={x} {got} {want}"
            );
        }
    }

    #[test]
    fn softmax_sums_the_tile() {
        let mut seed = 3;
        let mut x: [f32; TILE] = rand_f32(&mut seed, TILE, 5.0).try_into().unwrap();
        x[60..].fill(f32::NEG_INFINITY);
        let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let want: f64 = x.iter().map(|&v| ((v - max) as f64).exp()).sum();
        let got = softmax(&mut x, max);
        assert!((got - want).abs() < want * 1e-6);
        assert!(x[60..].iter().all(|&v| v == 0.0));
    }
}
