//! Activation quantizers with AVX2: the same bytes as the scalar ones they replace (for finite
//! inputs; NaN activations give unspecified quants, never a panic), eight elements per step
//! instead of a scalar rounding per element. Used by [`crate::quantize_activations`] and
//! [`super::quantize_q8_k_4x8`] when this CPU has AVX2.

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2 {
    use crate::blocks::{BlockQ8K, BlockQ8_0, QK8_0, QK_K};
    use core::arch::x86_64::*;

    /// `|v|` for eight floats.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn abs8(v: __m256) -> __m256 {
        _mm256_andnot_ps(_mm256_set1_ps(-0.0), v)
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn load8(x: &[f32]) -> __m256 {
        assert!(x.len() >= 8);
        // SAFETY: 8 readable floats (asserted).
        unsafe { _mm256_loadu_ps(x.as_ptr()) }
    }

    /// The largest of eight floats.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn hmax8(v: __m256) -> f32 {
        let m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let m = _mm_max_ps(m, _mm_movehl_ps(m, m));
        let m = _mm_max_ss(m, _mm_movehdup_ps(m));
        _mm_cvtss_f32(m)
    }

    /// Rounds `v · scale` to the nearest integer (ties to even), capped at `hi`, as i32.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn round_scaled(v: __m256, scale: __m256, hi: i32) -> __m256i {
        let r = _mm256_round_ps(
            _mm256_mul_ps(v, scale),
            _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC,
        );
        _mm256_min_epi32(_mm256_cvtps_epi32(r), _mm256_set1_epi32(hi))
    }

    /// Four vectors of eight i32 → 32 i8 in element order (saturating).
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn pack32(q: [__m256i; 4]) -> [i8; 32] {
        let ab = _mm256_packs_epi32(q[0], q[1]);
        let cd = _mm256_packs_epi32(q[2], q[3]);
        // The packs work per 128-bit half: dwords come out as a0 b0 c0 d0 a1 b1 c1 d1.
        let bytes = _mm256_packs_epi16(ab, cd);
        let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        let v = _mm256_permutevar8x32_epi32(bytes, order);
        let mut out = [0i8; 32];
        // SAFETY: out is 32 writable bytes.
        unsafe { _mm256_storeu_si256(out.as_mut_ptr() as *mut __m256i, v) };
        out
    }

    /// `legacy::quantize_q8_0_activations`: d = amax/127, q = round_ties_even(v·127/amax).
    #[target_feature(enable = "avx2,fma,f16c")]
    pub fn q8_0_activations(x: &[f32], y: &mut [BlockQ8_0]) {
        for (x, y) in x.chunks_exact(QK8_0).zip(y) {
            let v: [__m256; 4] = std::array::from_fn(|i| load8(&x[8 * i..]));
            let m = v
                .iter()
                .fold(_mm256_setzero_ps(), |m, &v| _mm256_max_ps(abs8(v), m));
            let amax = hmax8(m);
            let id = _mm256_set1_ps(if amax != 0.0 { 127.0 / amax } else { 0.0 });
            y.qs = pack32(v.map(|v| round_scaled(v, id, i32::MAX)));
            y.d = crate::f32_to_fp16(amax / 127.0);
        }
    }

    /// `kquants::quantize_q8_k` (`negative_if_any_max` false) or the 4x8 variant's sign rule:
    /// the scale is −127/amax when the first element of largest magnitude is positive
    /// (reference), or when any element equals +amax (4x8).
    #[target_feature(enable = "avx2,fma,f16c")]
    pub fn q8_k(x: &[f32], y: &mut [BlockQ8K], negative_if_any_max: bool) {
        for (x, y) in x.chunks_exact(QK_K).zip(y) {
            let m = (0..QK_K / 8).fold(_mm256_setzero_ps(), |m, i| {
                _mm256_max_ps(abs8(load8(&x[8 * i..])), m)
            });
            let amax = hmax8(m);
            if amax == 0.0 || amax.is_nan() {
                *y = bytemuck::Zeroable::zeroed();
                continue;
            }
            let negative = if negative_if_any_max {
                x.contains(&amax)
            } else {
                x.iter().find(|v| v.abs() == amax).is_some_and(|&v| v > 0.0)
            };
            let iscale = if negative {
                -127.0 / amax
            } else {
                127.0 / amax
            };
            let s = _mm256_set1_ps(iscale);
            for (k, qs) in y.qs.chunks_exact_mut(32).enumerate() {
                let q = std::array::from_fn(|i| round_scaled(load8(&x[32 * k + 8 * i..]), s, 127));
                qs.copy_from_slice(&pack32(q));
            }
            let mut bsums = [0i16; QK_K / 16];
            for (s, q) in bsums.iter_mut().zip(y.qs.chunks_exact(16)) {
                *s = q.iter().map(|&q| q as i16).sum();
            }
            y.bsums = bsums;
            y.d = 1.0 / iscale;
        }
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use crate::blocks::{BlockQ8K, BlockQ8_0};

    /// Rows with varied magnitudes, exact zeros, repeated extremes of both signs and values that
    /// land exactly on halves after scaling (ties).
    fn rows() -> Vec<Vec<f32>> {
        let mut seed = 0x9E37_79B9u32;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            (seed >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
        };
        let mut out = vec![vec![0.0; 512]];
        for case in 0..40 {
            let scale = [1e-3, 0.5, 3.0, 100.0][case % 4];
            let mut x: Vec<f32> = (0..512).map(|_| next() * scale).collect();
            if case % 3 == 0 {
                // ties: multiples of amax/254 are exact halves of the 127/amax grid
                let amax = 127.0;
                x.iter_mut()
                    .step_by(3)
                    .for_each(|v| *v = (*v * 254.0).round() / 2.0);
                x[5] = amax;
                x[9] = -amax;
            }
            if case % 5 == 1 {
                x[40] = -x.iter().fold(0.0f32, |m, v| m.max(v.abs())) * 2.0;
                x[100] = -x[40];
            }
            out.push(x);
        }
        out
    }

    #[test]
    fn q8_0_equals_scalar() {
        if !crate::simd::has_avx2_fma() {
            return;
        }
        for x in rows() {
            let mut a = vec![BlockQ8_0 { d: 0, qs: [0; 32] }; x.len() / 32];
            let mut b = a.clone();
            crate::legacy::quantize_q8_0_activations(&x, &mut a);
            // SAFETY: AVX2/FMA/F16C checked above.
            unsafe { super::avx2::q8_0_activations(&x, &mut b) };
            assert_eq!(
                bytemuck::cast_slice::<_, u8>(&a),
                bytemuck::cast_slice::<_, u8>(&b)
            );
        }
    }

    #[test]
    fn q8_k_equals_scalar_for_both_sign_rules() {
        if !crate::simd::has_avx2_fma() {
            return;
        }
        for x in rows() {
            let zero: BlockQ8K = bytemuck::Zeroable::zeroed();
            let mut a = vec![zero; x.len() / 256];
            let mut b = a.clone();
            crate::kquants::quantize_q8_k(&x, &mut a);
            // SAFETY: AVX2/FMA/F16C checked above.
            unsafe { super::avx2::q8_k(&x, &mut b, false) };
            assert_eq!(
                bytemuck::cast_slice::<_, u8>(&a),
                bytemuck::cast_slice::<_, u8>(&b)
            );

            let mut c = vec![0u8; x.len() / 256 * std::mem::size_of::<BlockQ8K>()];
            crate::simd::quantize_q8_k_4x8_scalar(&x, &mut c).unwrap();
            // SAFETY: as above.
            unsafe { super::avx2::q8_k(&x, &mut b, true) };
            assert_eq!(c, bytemuck::cast_slice::<_, u8>(&b));
        }
    }
}
