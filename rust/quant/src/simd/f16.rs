//! The f16 vector kernels of ggml's CPU flash attention (vec.h / vec.cpp with AVX2 + F16C + FMA),
//! bit for bit: `ggml_vec_dot_f16` (q·k), `ggml_vec_mad_f16` and `ggml_vec_scale_f16` (the f16
//! value accumulator of the one-row kernel). The tiled kernel's order is in [`super::tile`].
//! Values are f16 bits (`u16`). The portable versions are the specification and the fallback.

/// `Σ k[i]·q[i]` as ggml_vec_dot_f16: 4 accumulators of 8 lanes over steps of 32 with fused
/// multiply-adds, reduced `(a0+a2)+(a1+a3)`, then halves, then pairs (GGML_F32x8_REDUCE); from
/// there the sum is a double (ggml_float) and each leftover f32 product is added in double.
pub fn dot_f16(k: &[u16], q: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if super::has_avx2_fma() {
        // SAFETY: AVX2, FMA and F16C are present (checked above).
        return unsafe { avx2::dot_f16(k, q) };
    }
    portable::dot_f16(k, q)
}

/// `acc[i] = f16(v[i]·s + acc[i])`, one fused multiply-add per element (ggml_vec_mad_f16).
pub fn mad_f16(acc: &mut [u16], v: &[u16], s: f32) {
    #[cfg(target_arch = "x86_64")]
    if super::has_avx2_fma() {
        // SAFETY: as in dot_f16.
        return unsafe { avx2::mad_f16(acc, v, s) };
    }
    portable::mad_f16(acc, v, s)
}

/// `acc[i] = f16(acc[i]·s)` (ggml_vec_scale_f16).
pub fn scale_f16(acc: &mut [u16], s: f32) {
    #[cfg(target_arch = "x86_64")]
    if super::has_avx2_fma() {
        // SAFETY: as in dot_f16.
        return unsafe { avx2::scale_f16(acc, s) };
    }
    portable::scale_f16(acc, s)
}

pub mod portable {
    use crate::float::Fmaf;
    use crate::float::{f32_to_fp16, fp16_to_f32};

    const LANES: usize = 8;
    const STEP: usize = 32;

    pub fn dot_f16(k: &[u16], q: &[f32]) -> f32 {
        let mut acc = [[0.0f32; LANES]; 4];
        let whole = k.len() / STEP * STEP;
        for (kc, qc) in k[..whole]
            .chunks_exact(STEP)
            .zip(q[..whole].chunks_exact(STEP))
        {
            for (r, a) in acc.iter_mut().enumerate() {
                for (lane, x) in a.iter_mut().enumerate() {
                    let i = r * LANES + lane;
                    *x = fp16_to_f32(kc[i]).fmaf(qc[i], *x);
                }
            }
        }
        let [a0, a1, a2, a3] = acc;
        let l: [f32; LANES] = std::array::from_fn(|i| (a0[i] + a2[i]) + (a1[i] + a3[i]));
        let t: [f32; 4] = std::array::from_fn(|i| l[i] + l[i + 4]);
        let mut sum = ((t[0] + t[1]) + (t[2] + t[3])) as f64;
        for (&kv, &qv) in k[whole..].iter().zip(&q[whole..]) {
            sum += (fp16_to_f32(kv) * qv) as f64;
        }
        sum as f32
    }

    pub fn mad_f16(acc: &mut [u16], v: &[u16], s: f32) {
        for (a, &v) in acc.iter_mut().zip(v) {
            *a = f32_to_fp16(fp16_to_f32(v).fmaf(s, fp16_to_f32(*a)));
        }
    }

    pub fn scale_f16(acc: &mut [u16], s: f32) {
        for a in acc.iter_mut() {
            *a = f32_to_fp16(fp16_to_f32(*a) * s);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! Safety: call only after `has_avx2_fma()`; loads and stores stay inside the slices
    //! (whole vectors only below their lengths, the rest element by element).
    use core::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn load_ph(p: &[u16]) -> __m256 {
        debug_assert!(p.len() >= 8);
        // SAFETY: p has at least 8 elements (16 bytes).
        _mm256_cvtph_ps(unsafe { _mm_loadu_si128(p.as_ptr() as *const __m128i) })
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn store_ph(p: &mut [u16], x: __m256) {
        debug_assert!(p.len() >= 8);
        // SAFETY: p has at least 8 elements; imm 0 = round to nearest even, as ggml.
        unsafe { _mm_storeu_si128(p.as_mut_ptr() as *mut __m128i, _mm256_cvtps_ph(x, 0)) }
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn load_ps(p: &[f32]) -> __m256 {
        debug_assert!(p.len() >= 8);
        // SAFETY: p has at least 8 elements.
        unsafe { _mm256_loadu_ps(p.as_ptr()) }
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn h2f(h: u16) -> f32 {
        _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h as i32)))
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn f2h(x: f32) -> u16 {
        _mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(x), 0), 0) as u16
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub fn dot_f16(k: &[u16], q: &[f32]) -> f32 {
        let whole = k.len() / 32 * 32;
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        while i < whole {
            for (r, a) in acc.iter_mut().enumerate() {
                let o = i + 8 * r;
                *a = _mm256_fmadd_ps(load_ph(&k[o..]), load_ps(&q[o..]), *a);
            }
            i += 32;
        }
        let x0 = _mm256_add_ps(acc[0], acc[2]);
        let x1 = _mm256_add_ps(acc[1], acc[3]);
        let x0 = _mm256_add_ps(x0, x1);
        let t0 = _mm_add_ps(_mm256_castps256_ps128(x0), _mm256_extractf128_ps(x0, 1));
        let t1 = _mm_hadd_ps(t0, t0);
        let mut sum = _mm_cvtss_f32(_mm_hadd_ps(t1, t1)) as f64;
        for j in whole..k.len() {
            sum += (h2f(k[j]) * q[j]) as f64;
        }
        sum as f32
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub fn mad_f16(acc: &mut [u16], v: &[u16], s: f32) {
        let n = acc.len().min(v.len());
        let whole = n / 8 * 8;
        let vs = _mm256_set1_ps(s);
        let mut i = 0;
        while i < whole {
            let y = _mm256_fmadd_ps(load_ph(&v[i..]), vs, load_ph(&acc[i..]));
            store_ph(&mut acc[i..], y);
            i += 8;
        }
        for j in whole..n {
            acc[j] = f2h(h2f(v[j]).mul_add(s, h2f(acc[j])));
        }
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub fn scale_f16(acc: &mut [u16], s: f32) {
        let whole = acc.len() / 8 * 8;
        let vs = _mm256_set1_ps(s);
        let mut i = 0;
        while i < whole {
            let y = _mm256_mul_ps(load_ph(&acc[i..]), vs);
            store_ph(&mut acc[i..], y);
            i += 8;
        }
        for a in &mut acc[whole..] {
            *a = f2h(h2f(*a) * s);
        }
    }
}
