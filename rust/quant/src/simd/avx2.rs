//! x86-64 AVX2 + FMA versions of the kernels in `portable`, bit for bit equal to them (and so to
//! llama.cpp's AVX2 kernels): the integer parts use maddubs/madd as ggml does (no overflow is
//! possible for these value ranges, so any exact order would do); the float parts are the same
//! lane-wise FMAs and the same horizontal reduction.
//!
//! Safety: every function here is `#[target_feature(enable = "avx2,fma,f16c")]` and must only be
//! called after `is_x86_feature_detected!` has confirmed all three (F16C for the fp16 scales) (see `super::has_avx2_fma`).
//! Loads are unaligned (`loadu`) from slices whose length the caller has checked.

use crate::blocks::*;
use core::arch::x86_64::*;

/// fp16 bits → f32 with F16C (exact, as the scalar conversion).
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn fp16_to_f32(h: u16) -> f32 {
    _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h as i32)))
}

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn hsum8_ps(x: __m256) -> f32 {
    let r = _mm_add_ps(_mm256_extractf128_ps(x, 1), _mm256_castps256_ps128(x));
    let r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    let r = _mm_add_ss(r, _mm_movehdup_ps(r));
    _mm_cvtss_f32(r)
}

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn hsum_i32x8(x: __m256i) -> i32 {
    let r = _mm_add_epi32(_mm256_castsi256_si128(x), _mm256_extracti128_si256(x, 1));
    let r = _mm_add_epi32(r, _mm_unpackhi_epi64(r, r));
    let r = _mm_add_epi32(r, _mm_shuffle_epi32(r, 0b10_11_00_01));
    _mm_cvtsi128_si32(r)
}

/// 32 bytes from a slice (caller guarantees the length).
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn load32(p: &[u8; 32]) -> __m256i {
    // SAFETY: p is 32 readable bytes; loadu has no alignment requirement.
    unsafe { _mm256_loadu_si256(p.as_ptr() as *const __m256i) }
}

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn load32i(p: &[i8; 32]) -> __m256i {
    // SAFETY: as `load32`.
    unsafe { _mm256_loadu_si256(p.as_ptr() as *const __m256i) }
}

/// Signed 8-bit pairs → 8 i32 lanes of 4 products each (ggml's `mul_sum_i8_pairs`).
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn lane_dots_i8(x: __m256i, y: __m256i) -> __m256i {
    let ax = _mm256_sign_epi8(x, x);
    let sy = _mm256_sign_epi8(y, x);
    _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sy), _mm256_set1_epi16(1))
}

/// Unsigned × signed 8-bit → 8 i32 lanes of 4 products each.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn lane_dots_u8(ux: __m256i, y: __m256i) -> __m256i {
    _mm256_madd_epi16(_mm256_maddubs_epi16(ux, y), _mm256_set1_epi16(1))
}

/// 16 bytes of nibbles → 32 bytes 0..15, low nibbles (elements 0..15) first.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn nibbles32(qs: &[u8; 16]) -> __m256i {
    // SAFETY: qs is 16 readable bytes.
    let t = unsafe { _mm_loadu_si128(qs.as_ptr() as *const __m128i) };
    let both = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
    _mm256_and_si256(both, _mm256_set1_epi8(0xF))
}

/// Bit j of `qh` → byte j = 0xFF if set, 0 if not.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn bits32(qh: u32) -> __m256i {
    let v = _mm256_set1_epi32(qh as i32);
    // byte j takes byte j/8 of qh
    let shuf = _mm256_set_epi64x(
        0x0303030303030303,
        0x0202020202020202,
        0x0101010101010101,
        0x0000000000000000,
    );
    let bytes = _mm256_shuffle_epi8(v, shuf);
    let bit = _mm256_set1_epi64x(0x8040201008040201u64 as i64);
    _mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit)
}

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn q4_0_vec(x: &BlockQ4_0) -> __m256i {
    _mm256_sub_epi8(nibbles32(&x.qs), _mm256_set1_epi8(8))
}

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn q5_0_vec(x: &BlockQ5_0) -> __m256i {
    // no fifth bit → the byte becomes nibble | 0xF0 = nibble - 16 as i8
    let hi = _mm256_andnot_si256(
        bits32(u32::from_le_bytes(x.qh)),
        _mm256_set1_epi8(0xF0u8 as i8),
    );
    _mm256_or_si256(nibbles32(&x.qs), hi)
}

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn q5_1_vec(x: &BlockQ5_1) -> __m256i {
    let hi = _mm256_and_si256(bits32(u32::from_le_bytes(x.qh)), _mm256_set1_epi8(0x10));
    _mm256_or_si256(nibbles32(&x.qs), hi)
}

/// `acc = fma(dx·dy, lanes, acc)` per block, `hsum8` (see portable::q0_dot).
macro_rules! q0_dot {
    ($(#[$doc:meta])* $name:ident, $x:ty, $vec:path) => {
        $(#[$doc])*
        #[target_feature(enable = "avx2,fma,f16c")]
        pub fn $name(x: &[$x], y: &[BlockQ8_0]) -> f32 {
            let mut acc = _mm256_setzero_ps();
            for (x, y) in x.iter().zip(y) {
                let dd = _mm256_set1_ps(fp16_to_f32(x.d) * fp16_to_f32(y.d));
                let q = _mm256_cvtepi32_ps(lane_dots_i8($vec(x), load32i(&y.qs)));
                acc = _mm256_fmadd_ps(dd, q, acc);
            }
            hsum8_ps(acc)
        }
    };
}

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn q8_0_vec(x: &BlockQ8_0) -> __m256i {
    load32i(&x.qs)
}

q0_dot!(dot_q4_0_q8_0, BlockQ4_0, q4_0_vec);
q0_dot!(dot_q5_0_q8_0, BlockQ5_0, q5_0_vec);
q0_dot!(dot_q8_0_q8_0, BlockQ8_0, q8_0_vec);

/// `acc = fma(dx·dy, lanes, acc)`, `summs = fma(m, s, summs)`, `hsum8(acc) + summs`.
macro_rules! q1_dot {
    ($name:ident, $x:ty, $vec:path) => {
        #[target_feature(enable = "avx2,fma,f16c")]
        pub fn $name(x: &[$x], y: &[BlockQ8_1]) -> f32 {
            let mut acc = _mm256_setzero_ps();
            let mut summs = 0.0f32;
            for (x, y) in x.iter().zip(y) {
                summs = fp16_to_f32(x.m).mul_add(fp16_to_f32(y.s), summs);
                let dd = _mm256_set1_ps(fp16_to_f32(x.d) * fp16_to_f32(y.d));
                let q = _mm256_cvtepi32_ps(lane_dots_u8($vec(x), load32i(&y.qs)));
                acc = _mm256_fmadd_ps(dd, q, acc);
            }
            hsum8_ps(acc) + summs
        }
    };
}

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn q4_1_vec(x: &BlockQ4_1) -> __m256i {
    nibbles32(&x.qs)
}

q1_dot!(dot_q4_1_q8_1, BlockQ4_1, q4_1_vec);
q1_dot!(dot_q5_1_q8_1, BlockQ5_1, q5_1_vec);

// ---- K-quants -----------------------------------------------------------------------------------

/// Q4_K per-lane sums as ggml_vec_dot_q4_K_q8_K forms them (see portable::dot_q4_k_q8_k), and
/// per 64-element step (`sb`) for the repacked kernels.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn q4_k_sb_lanes(x: &BlockQ4K, y: &BlockQ8K, sc: &[i32; 8], j: usize) -> __m256i {
    let (lo, hi) = k4_nibbles(&x.qs, j);
    k4_sb_lanes(lo, hi, y, sc, j)
}

/// The same for Q5_K: the nibbles plus bit 2j (low run) / 2j+1 (high run) of each `qh` byte
/// as bit 4 (ggml_vec_dot_q5_K_q8_K).
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn q5_k_sb_lanes(x: &BlockQ5K, y: &BlockQ8K, sc: &[i32; 8], j: usize) -> __m256i {
    let (lo, hi) = k4_nibbles(&x.qs, j);
    let hbits = load32(&x.qh);
    let one = _mm256_set1_epi8(1);
    // per byte: ((qh >> k) & 1) << 4 (16-bit shifts; the mask keeps each byte's own bit)
    let bit = |k: i32| {
        let b = _mm256_and_si256(_mm256_srl_epi16(hbits, _mm_cvtsi32_si128(k)), one);
        _mm256_slli_epi16(b, 4)
    };
    let lo = _mm256_or_si256(lo, bit(2 * j as i32));
    let hi = _mm256_or_si256(hi, bit(2 * j as i32 + 1));
    k4_sb_lanes(lo, hi, y, sc, j)
}

/// The low and high nibbles of bytes 32j..32j+32 of a Q4_K/Q5_K super-block's `qs`.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn k4_nibbles(qs: &[u8; QK_K / 2], j: usize) -> (__m256i, __m256i) {
    let m4 = _mm256_set1_epi8(0xF);
    let q4: &[u8; 32] = qs[32 * j..32 * j + 32].try_into().unwrap();
    let bits = load32(q4);
    let lo = _mm256_and_si256(bits, m4);
    let hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
    (lo, hi)
}

/// The 8 i32 lanes of runs 2j (`lo`, unsigned quants) and 2j+1 (`hi`) against the activations:
/// maddubs, then madd with each run's scale, lanes added.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn k4_sb_lanes(lo: __m256i, hi: __m256i, y: &BlockQ8K, sc: &[i32; 8], j: usize) -> __m256i {
    let a_lo: &[i8; 32] = y.qs[64 * j..64 * j + 32].try_into().unwrap();
    let a_hi: &[i8; 32] = y.qs[64 * j + 32..64 * j + 64].try_into().unwrap();
    let p_lo = _mm256_madd_epi16(
        _mm256_maddubs_epi16(lo, load32i(a_lo)),
        _mm256_set1_epi16(sc[2 * j] as i16),
    );
    let p_hi = _mm256_madd_epi16(
        _mm256_maddubs_epi16(hi, load32i(a_hi)),
        _mm256_set1_epi16(sc[2 * j + 1] as i16),
    );
    _mm256_add_epi32(p_lo, p_hi)
}

/// portable::dot_q5_k_q8_k: lanes with fused multiply-adds, the mins in one scalar.
#[target_feature(enable = "avx2,fma,f16c")]
pub fn dot_q5_k_q8_k(x: &[BlockQ5K], y: &[BlockQ8K]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    let mut summs = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        let d = y.d * fp16_to_f32(x.d);
        let dmin = -y.d * fp16_to_f32(x.dmin);
        let (sc, m) = super::portable::k4_scales_mins(&x.scales);
        let imin: i32 = q4_k_min_sums(&m, y).iter().sum();
        summs = dmin.mul_add(imin as f32, summs);
        let mut sumi = _mm256_setzero_si256();
        for j in 0..4 {
            sumi = _mm256_add_epi32(sumi, q5_k_sb_lanes(x, y, &sc, j));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    hsum8_ps(acc) + summs
}

/// portable::k4_tiled for one weight type (its blocks' lanes from `$lanes`), per super-block:
/// `res = x.d·s1`, `res = fma(−x.dmin, s2, res)`, `out = fma(res, y.d, out)` with s1 = Σ lanes
/// and s2 = Σ min·bsum.
macro_rules! k4_tiled {
    ($name:ident, $x:ty, $lanes:ident) => {
        #[target_feature(enable = "avx2,fma,f16c")]
        pub fn $name(x: &[$x], y: &[BlockQ8K]) -> f32 {
            let mut out = 0.0f32;
            for (x, y) in x.iter().zip(y) {
                let (sc, m) = super::portable::k4_scales_mins(&x.scales);
                let mut sumi = _mm256_setzero_si256();
                for j in 0..4 {
                    sumi = _mm256_add_epi32(sumi, $lanes(x, y, &sc, j));
                }
                let s1 = hsum_i32x8(sumi);
                let s2: i32 = q4_k_min_sums(&m, y).iter().sum();
                let res = (-fp16_to_f32(x.dmin)).mul_add(s2 as f32, fp16_to_f32(x.d) * s1 as f32);
                out = res.mul_add(y.d, out);
            }
            out
        }
    };
}

k4_tiled!(dot_q4_k_tiled, BlockQ4K, q4_k_sb_lanes);
k4_tiled!(dot_q5_k_tiled, BlockQ5K, q5_k_sb_lanes);

#[target_feature(enable = "avx2,fma,f16c")]
pub fn dot_q4_k_q8_k(x: &[BlockQ4K], y: &[BlockQ8K]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    let mut acc_m = _mm_setzero_ps();
    for (x, y) in x.iter().zip(y) {
        let d = y.d * fp16_to_f32(x.d);
        let dmin = -y.d * fp16_to_f32(x.dmin);
        let (sc, m) = super::portable::k4_scales_mins(&x.scales);
        let bsums = y.bsums;
        let q8s: [i32; 8] = std::array::from_fn(|g| bsums[2 * g] as i32 + bsums[2 * g + 1] as i32);
        let mins = _mm_setr_epi32(
            m[0] * q8s[0] + m[1] * q8s[1],
            m[2] * q8s[2] + m[3] * q8s[3],
            m[4] * q8s[4] + m[5] * q8s[5],
            m[6] * q8s[6] + m[7] * q8s[7],
        );
        acc_m = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(mins), acc_m);
        let mut sumi = _mm256_setzero_si256();
        for j in 0..4 {
            sumi = _mm256_add_epi32(sumi, q4_k_sb_lanes(x, y, &sc, j));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    let m = _mm_add_ps(acc_m, _mm_movehl_ps(acc_m, acc_m));
    let m = _mm_add_ss(m, _mm_movehdup_ps(m));
    hsum8_ps(acc) + _mm_cvtss_f32(m)
}

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn q4_k_min_sums(m: &[i32; 8], y: &BlockQ8K) -> [i32; 4] {
    let bsums = y.bsums;
    std::array::from_fn(|p| {
        m[2 * p] * (bsums[4 * p] as i32 + bsums[4 * p + 1] as i32)
            + m[2 * p + 1] * (bsums[4 * p + 2] as i32 + bsums[4 * p + 3] as i32)
    })
}

#[target_feature(enable = "avx2,fma,f16c")]
pub fn dot_q4_k_gemv(x: &[BlockQ4K], y: &[BlockQ8K]) -> f32 {
    let (mut acc, mut acc_m) = (0.0f32, 0.0f32);
    for (x, y) in x.iter().zip(y) {
        let (sc, m) = super::portable::k4_scales_mins(&x.scales);
        let mut sumi = _mm256_setzero_si256();
        for j in 0..4 {
            sumi = _mm256_add_epi32(sumi, q4_k_sb_lanes(x, y, &sc, j));
        }
        let isum = hsum_i32x8(sumi);
        let imin: i32 = q4_k_min_sums(&m, y).iter().sum();
        acc = (isum as f32).mul_add(fp16_to_f32(x.d) * y.d, acc);
        acc_m = (imin as f32).mul_add(fp16_to_f32(x.dmin) * y.d, acc_m);
    }
    acc - acc_m
}

#[target_feature(enable = "avx2,fma,f16c")]
pub fn dot_q4_k_gemm(x: &[BlockQ4K], y: &[BlockQ8K]) -> f32 {
    let (mut acc, mut acc_m) = (0.0f32, 0.0f32);
    for (x, y) in x.iter().zip(y) {
        let (sc, m) = super::portable::k4_scales_mins(&x.scales);
        let mins = q4_k_min_sums(&m, y);
        let (dd, dm) = (fp16_to_f32(x.d) * y.d, fp16_to_f32(x.dmin) * y.d);
        for (j, &mn) in mins.iter().enumerate() {
            let s = hsum_i32x8(q4_k_sb_lanes(x, y, &sc, j));
            acc = (s as f32).mul_add(dd, acc);
            acc_m = (mn as f32).mul_add(dm, acc_m);
        }
    }
    acc - acc_m
}

/// Bits (shift, shift+1) of each qh byte, moved to bits 4-5.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn q6_high(qh: __m256i, shift: i32) -> __m256i {
    let h = _mm256_srl_epi16(qh, _mm_cvtsi32_si128(shift));
    _mm256_slli_epi16(_mm256_and_si256(h, _mm256_set1_epi8(3)), 4)
}

/// Q6_K lanes as in portable::q6_k_lanes.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn q6_k_lanes(x: &BlockQ6K, y: &BlockQ8K) -> __m256i {
    let m4 = _mm256_set1_epi8(0xF);
    let mut sumi = _mm256_setzero_si256();
    for n in 0..2 {
        let ql0 = load32(x.ql[64 * n..64 * n + 32].try_into().unwrap());
        let ql1 = load32(x.ql[64 * n + 32..64 * n + 64].try_into().unwrap());
        let qh = load32(x.qh[32 * n..32 * n + 32].try_into().unwrap());
        let q = [
            _mm256_or_si256(_mm256_and_si256(ql0, m4), q6_high(qh, 0)),
            _mm256_or_si256(_mm256_and_si256(ql1, m4), q6_high(qh, 2)),
            _mm256_or_si256(
                _mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                q6_high(qh, 4),
            ),
            _mm256_or_si256(
                _mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                q6_high(qh, 6),
            ),
        ];
        for (k, q) in q.into_iter().enumerate() {
            let v = 4 * n + k;
            let a = load32i(y.qs[32 * v..32 * v + 32].try_into().unwrap());
            let scale = _mm256_set_m128i(
                _mm_set1_epi16(x.scales[2 * v + 1] as i16),
                _mm_set1_epi16(x.scales[2 * v] as i16),
            );
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(q, a), scale));
        }
    }
    // − 32·(bsums[2l]·sc[2l] + bsums[2l+1]·sc[2l+1]) per lane
    let bsums = y.bsums;
    // SAFETY: bsums is 16 i16 = 32 bytes, scales 16 i8.
    let bs = unsafe { _mm256_loadu_si256(bsums.as_ptr() as *const __m256i) };
    let sc16 =
        _mm256_cvtepi8_epi16(unsafe { _mm_loadu_si128(x.scales.as_ptr() as *const __m128i) });
    let sub = _mm256_slli_epi32(_mm256_madd_epi16(bs, sc16), 5);
    _mm256_sub_epi32(sumi, sub)
}

#[target_feature(enable = "avx2,fma,f16c")]
pub fn dot_q6_k_q8_k(x: &[BlockQ6K], y: &[BlockQ8K]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    for (x, y) in x.iter().zip(y) {
        let d = _mm256_set1_ps(y.d * fp16_to_f32(x.d));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(q6_k_lanes(x, y)), acc);
    }
    hsum8_ps(acc)
}

#[target_feature(enable = "avx2,fma,f16c")]
pub fn dot_q6_k_tiled(x: &[BlockQ6K], y: &[BlockQ8K]) -> f32 {
    let mut out = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        let s1 = hsum_i32x8(q6_k_lanes(x, y));
        let res = fp16_to_f32(x.d) * s1 as f32;
        out = res.mul_add(y.d, out);
    }
    out
}

// ---- one weight row against many activation rows (prefill) -------------------------------------
//
// Each output keeps exactly the accumulation of the one-row kernels above; only the work is
// shared: a weight block is unpacked once for a group of activation rows.

#[inline]
fn act_rows<Y: bytemuck::Pod>(a: &[u8], a_row: usize, r: usize) -> &[Y] {
    bytemuck::cast_slice(&a[r * a_row..(r + 1) * a_row])
}

/// Four activation rows at a time; the rest through the one-row kernel.
macro_rules! q0_rows {
    ($name:ident, $one:ident, $x:ty, $vec:path) => {
        #[target_feature(enable = "avx2,fma,f16c")]
        pub fn $name(x: &[$x], a: &[u8], a_row: usize, out: &mut [f32]) {
            let mut r = 0;
            while r + 4 <= out.len() {
                let ys: [&[BlockQ8_0]; 4] = std::array::from_fn(|i| act_rows(a, a_row, r + i));
                let mut acc = [_mm256_setzero_ps(); 4];
                for (b, xb) in x.iter().enumerate() {
                    let w = $vec(xb);
                    let aw = _mm256_sign_epi8(w, w);
                    let dx = fp16_to_f32(xb.d);
                    for i in 0..4 {
                        let y = &ys[i][b];
                        let dd = _mm256_set1_ps(dx * fp16_to_f32(y.d));
                        let sy = _mm256_sign_epi8(load32i(&y.qs), w);
                        let p =
                            _mm256_madd_epi16(_mm256_maddubs_epi16(aw, sy), _mm256_set1_epi16(1));
                        acc[i] = _mm256_fmadd_ps(dd, _mm256_cvtepi32_ps(p), acc[i]);
                    }
                }
                for i in 0..4 {
                    out[r + i] = hsum8_ps(acc[i]);
                }
                r += 4;
            }
            for (i, o) in out.iter_mut().enumerate().skip(r) {
                *o = $one(x, act_rows(a, a_row, i));
            }
        }
    };
}

/// Two weight rows × four activation rows, each output in the one-row kernel's order: per
/// block the weight is unpacked once for four activation rows and each activation block loaded
/// once for two weight rows. `ys[i][b]` is activation row i's block b scale as f32 (converted
/// once per matmul by the caller, not once per weight row).
macro_rules! q0_tile {
    ($name:ident, $x:ty, $vec:path) => {
        #[target_feature(enable = "avx2,fma,f16c")]
        pub fn $name(w: [&[$x]; 2], y: [&[BlockQ8_0]; 4], ys: [&[f32]; 4]) -> [[f32; 4]; 2] {
            let nb = w[0].len();
            assert!(
                w[1].len() == nb
                    && y.iter()
                        .zip(ys)
                        .all(|(y, s)| y.len() == nb && s.len() == nb)
            );
            let mut acc = [[_mm256_setzero_ps(); 4]; 2];
            for b in 0..nb {
                let dy = _mm_set_ps(ys[3][b], ys[2][b], ys[1][b], ys[0][b]);
                let mut dd = [[0.0f32; 4]; 2];
                let wv: [__m256i; 2] = std::array::from_fn(|r| {
                    let x = &w[r][b];
                    let prod = _mm_mul_ps(_mm_set1_ps(fp16_to_f32(x.d)), dy);
                    // SAFETY: dd[r] is 16 writable bytes.
                    unsafe { _mm_storeu_ps(dd[r].as_mut_ptr(), prod) };
                    $vec(x)
                });
                let aw = wv.map(|v| _mm256_sign_epi8(v, v));
                for i in 0..4 {
                    let yq = load32i(&y[i][b].qs);
                    for r in 0..2 {
                        let sy = _mm256_sign_epi8(yq, wv[r]);
                        let p = _mm256_madd_epi16(
                            _mm256_maddubs_epi16(aw[r], sy),
                            _mm256_set1_epi16(1),
                        );
                        acc[r][i] = _mm256_fmadd_ps(
                            _mm256_set1_ps(dd[r][i]),
                            _mm256_cvtepi32_ps(p),
                            acc[r][i],
                        );
                    }
                }
            }
            acc.map(|a| a.map(|a| hsum8_ps(a)))
        }
    };
}

q0_tile!(tile_q4_0_q8_0, BlockQ4_0, q4_0_vec);
q0_tile!(tile_q5_0_q8_0, BlockQ5_0, q5_0_vec);
q0_tile!(tile_q8_0_q8_0, BlockQ8_0, q8_0_vec);

q0_rows!(rows_q4_0_q8_0, dot_q4_0_q8_0, BlockQ4_0, q4_0_vec);
q0_rows!(rows_q5_0_q8_0, dot_q5_0_q8_0, BlockQ5_0, q5_0_vec);
q0_rows!(rows_q8_0_q8_0, dot_q8_0_q8_0, BlockQ8_0, q8_0_vec);

/// Activation rows per pass of the K-quant row kernels (their Q8_K blocks stay in L1).
const K_ROWS: usize = 16;

/// A Q4_K super-block unpacked once: nibbles per 32-byte run (low = first 32 elements of each 64).
struct Q4KUnpacked {
    lo: [__m256i; 4],
    hi: [__m256i; 4],
    sc: [i32; 8],
    m: [i32; 8],
}

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn q4_k_unpack(x: &BlockQ4K) -> Q4KUnpacked {
    let m4 = _mm256_set1_epi8(0xF);
    let (sc, m) = super::portable::k4_scales_mins(&x.scales);
    let bits: [__m256i; 4] =
        std::array::from_fn(|j| load32(x.qs[32 * j..32 * j + 32].try_into().unwrap()));
    Q4KUnpacked {
        lo: bits.map(|b| _mm256_and_si256(b, m4)),
        hi: bits.map(|b| _mm256_and_si256(_mm256_srli_epi16(b, 4), m4)),
        sc,
        m,
    }
}

/// The four `sb` sums of a super-block at once: four horizontal sums as one transposing
/// reduction (integer adds: exact in any order).
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn q4_k_sb_sums4(u: &Q4KUnpacked, y: &BlockQ8K) -> [i32; 4] {
    let v: [__m256i; 4] = std::array::from_fn(|j| {
        let a_lo = load32i(y.qs[64 * j..64 * j + 32].try_into().unwrap());
        let a_hi = load32i(y.qs[64 * j + 32..64 * j + 64].try_into().unwrap());
        let p_lo = _mm256_madd_epi16(
            _mm256_maddubs_epi16(u.lo[j], a_lo),
            _mm256_set1_epi16(u.sc[2 * j] as i16),
        );
        let p_hi = _mm256_madd_epi16(
            _mm256_maddubs_epi16(u.hi[j], a_hi),
            _mm256_set1_epi16(u.sc[2 * j + 1] as i16),
        );
        _mm256_add_epi32(p_lo, p_hi)
    });
    let t01 = _mm256_hadd_epi32(v[0], v[1]);
    let t23 = _mm256_hadd_epi32(v[2], v[3]);
    let t = _mm256_hadd_epi32(t01, t23);
    let r = _mm_add_epi32(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
    let mut out = [0i32; 4];
    // SAFETY: out is 4 i32 = 16 writable bytes.
    unsafe { _mm_storeu_si128(out.as_mut_ptr() as *mut __m128i, r) };
    out
}

/// Rows through the repacked gemm's order (portable::dot_q4_k_gemm).
#[target_feature(enable = "avx2,fma,f16c")]
pub fn rows_q4_k_gemm(x: &[BlockQ4K], a: &[u8], a_row: usize, out: &mut [f32]) {
    for r0 in (0..out.len()).step_by(K_ROWS) {
        let n = K_ROWS.min(out.len() - r0);
        let ys: [&[BlockQ8K]; K_ROWS] = std::array::from_fn(|i| {
            if i < n {
                act_rows(a, a_row, r0 + i)
            } else {
                &[]
            }
        });
        let mut acc = [0.0f32; K_ROWS];
        let mut acc_m = [0.0f32; K_ROWS];
        for (b, xb) in x.iter().enumerate() {
            let u = q4_k_unpack(xb);
            let (xd, xm) = (fp16_to_f32(xb.d), fp16_to_f32(xb.dmin));
            for i in 0..n {
                let y = &ys[i][b];
                let mins = q4_k_min_sums(&u.m, y);
                let (dd, dm) = (xd * y.d, xm * y.d);
                let sums = q4_k_sb_sums4(&u, y);
                for (j, &mn) in mins.iter().enumerate() {
                    acc[i] = (sums[j] as f32).mul_add(dd, acc[i]);
                    acc_m[i] = (mn as f32).mul_add(dm, acc_m[i]);
                }
            }
        }
        for i in 0..n {
            out[r0 + i] = acc[i] - acc_m[i];
        }
    }
}

/// Rows through the repacked gemv's order (portable::dot_q4_k_gemv).
#[target_feature(enable = "avx2,fma,f16c")]
pub fn rows_q4_k_gemv(x: &[BlockQ4K], a: &[u8], a_row: usize, out: &mut [f32]) {
    for r0 in (0..out.len()).step_by(K_ROWS) {
        let n = K_ROWS.min(out.len() - r0);
        let ys: [&[BlockQ8K]; K_ROWS] = std::array::from_fn(|i| {
            if i < n {
                act_rows(a, a_row, r0 + i)
            } else {
                &[]
            }
        });
        let mut acc = [0.0f32; K_ROWS];
        let mut acc_m = [0.0f32; K_ROWS];
        for (b, xb) in x.iter().enumerate() {
            let u = q4_k_unpack(xb);
            let (xd, xm) = (fp16_to_f32(xb.d), fp16_to_f32(xb.dmin));
            for i in 0..n {
                let y = &ys[i][b];
                let isum: i32 = q4_k_sb_sums4(&u, y).iter().sum();
                let imin: i32 = q4_k_min_sums(&u.m, y).iter().sum();
                acc[i] = (isum as f32).mul_add(xd * y.d, acc[i]);
                acc_m[i] = (imin as f32).mul_add(xm * y.d, acc_m[i]);
            }
        }
        for i in 0..n {
            out[r0 + i] = acc[i] - acc_m[i];
        }
    }
}

/// A Q6_K super-block unpacked once: unsigned 6-bit quants per run of 32 and their scales.
struct Q6KUnpacked {
    q: [__m256i; 8],
    sc: [__m256i; 8],
    sc16: __m256i,
}

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn q6_k_unpack(x: &BlockQ6K) -> Q6KUnpacked {
    let m4 = _mm256_set1_epi8(0xF);
    let mut q = [_mm256_setzero_si256(); 8];
    for n in 0..2 {
        let ql0 = load32(x.ql[64 * n..64 * n + 32].try_into().unwrap());
        let ql1 = load32(x.ql[64 * n + 32..64 * n + 64].try_into().unwrap());
        let qh = load32(x.qh[32 * n..32 * n + 32].try_into().unwrap());
        q[4 * n] = _mm256_or_si256(_mm256_and_si256(ql0, m4), q6_high(qh, 0));
        q[4 * n + 1] = _mm256_or_si256(_mm256_and_si256(ql1, m4), q6_high(qh, 2));
        q[4 * n + 2] = _mm256_or_si256(
            _mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
            q6_high(qh, 4),
        );
        q[4 * n + 3] = _mm256_or_si256(
            _mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
            q6_high(qh, 6),
        );
    }
    let sc = std::array::from_fn(|v| {
        _mm256_set_m128i(
            _mm_set1_epi16(x.scales[2 * v + 1] as i16),
            _mm_set1_epi16(x.scales[2 * v] as i16),
        )
    });
    // SAFETY: scales is 16 readable bytes.
    let sc16 =
        _mm256_cvtepi8_epi16(unsafe { _mm_loadu_si128(x.scales.as_ptr() as *const __m128i) });
    Q6KUnpacked { q, sc, sc16 }
}

/// The lanes of portable::q6_k_lanes from an unpacked super-block.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn q6_k_lanes_from(u: &Q6KUnpacked, y: &BlockQ8K) -> __m256i {
    let mut sumi = _mm256_setzero_si256();
    for v in 0..8 {
        let a = load32i(y.qs[32 * v..32 * v + 32].try_into().unwrap());
        sumi = _mm256_add_epi32(
            sumi,
            _mm256_madd_epi16(_mm256_maddubs_epi16(u.q[v], a), u.sc[v]),
        );
    }
    let bsums = y.bsums;
    // SAFETY: bsums is 16 i16 = 32 readable bytes (a copy on the stack).
    let bs = unsafe { _mm256_loadu_si256(bsums.as_ptr() as *const __m256i) };
    _mm256_sub_epi32(sumi, _mm256_slli_epi32(_mm256_madd_epi16(bs, u.sc16), 5))
}

/// Rows through the tiled kernel's order (portable::dot_q6_k_tiled).
#[target_feature(enable = "avx2,fma,f16c")]
pub fn rows_q6_k_tiled(x: &[BlockQ6K], a: &[u8], a_row: usize, out: &mut [f32]) {
    for r0 in (0..out.len()).step_by(K_ROWS) {
        let n = K_ROWS.min(out.len() - r0);
        let ys: [&[BlockQ8K]; K_ROWS] = std::array::from_fn(|i| {
            if i < n {
                act_rows(a, a_row, r0 + i)
            } else {
                &[]
            }
        });
        let mut acc = [0.0f32; K_ROWS];
        for (b, xb) in x.iter().enumerate() {
            let u = q6_k_unpack(xb);
            let xd = fp16_to_f32(xb.d);
            for i in 0..n {
                let y = &ys[i][b];
                let res = xd * hsum_i32x8(q6_k_lanes_from(&u, y)) as f32;
                acc[i] = res.mul_add(y.d, acc[i]);
            }
        }
        out[r0..r0 + n].copy_from_slice(&acc[..n]);
    }
}

/// Rows through ggml_vec_dot_q6_K_q8_K's order (fewer than 8 rows in practice).
#[target_feature(enable = "avx2,fma,f16c")]
pub fn rows_q6_k_q8_k(x: &[BlockQ6K], a: &[u8], a_row: usize, out: &mut [f32]) {
    const R: usize = 8;
    for r0 in (0..out.len()).step_by(R) {
        let n = R.min(out.len() - r0);
        let ys: [&[BlockQ8K]; R] = std::array::from_fn(|i| {
            if i < n {
                act_rows(a, a_row, r0 + i)
            } else {
                &[]
            }
        });
        let mut acc = [_mm256_setzero_ps(); R];
        for (b, xb) in x.iter().enumerate() {
            let u = q6_k_unpack(xb);
            let xd = fp16_to_f32(xb.d);
            for i in 0..n {
                let y = &ys[i][b];
                let d = _mm256_set1_ps(y.d * xd);
                acc[i] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(q6_k_lanes_from(&u, y)), acc[i]);
            }
        }
        for i in 0..n {
            out[r0 + i] = hsum8_ps(acc[i]);
        }
    }
}

// ---- many weight rows against one activation row (decode) --------------------------------------

/// Four weight rows at a time against one activation row: the activation block and its scale
/// are loaded once for the four; each output keeps the one-row kernel's accumulation.
macro_rules! q0_cols {
    ($name:ident, $one:ident, $x:ty, $vec:path, $shared_sign:literal) => {
        #[target_feature(enable = "avx2,fma,f16c")]
        pub fn $name(w: &[u8], w_row: usize, y: &[BlockQ8_0], out: &mut [f32]) {
            let mut r = 0;
            while r + 4 <= out.len() {
                let xs: [&[$x]; 4] = std::array::from_fn(|i| act_rows(w, w_row, r + i));
                let mut acc = [_mm256_setzero_ps(); 4];
                let ones = _mm256_set1_epi16(1);
                for (b, yb) in y.iter().enumerate() {
                    let a = load32i(&yb.qs);
                    // the sign trick on the shared side, |a| · (w with a's sign), where the
                    // weights cannot be −128 (whose negation overflows): Q4_0 and Q5_0
                    let abs_a = _mm256_sign_epi8(a, a);
                    let dy = fp16_to_f32(yb.d);
                    for i in 0..4 {
                        let xb = &xs[i][b];
                        let p = if $shared_sign {
                            let sw = _mm256_sign_epi8($vec(xb), a);
                            _mm256_madd_epi16(_mm256_maddubs_epi16(abs_a, sw), ones)
                        } else {
                            lane_dots_i8($vec(xb), a)
                        };
                        let dd = _mm256_set1_ps(fp16_to_f32(xb.d) * dy);
                        acc[i] = _mm256_fmadd_ps(dd, _mm256_cvtepi32_ps(p), acc[i]);
                    }
                }
                for i in 0..4 {
                    out[r + i] = hsum8_ps(acc[i]);
                }
                r += 4;
            }
            for (i, o) in out.iter_mut().enumerate().skip(r) {
                *o = $one(act_rows(w, w_row, i), y);
            }
        }
    };
}

q0_cols!(cols_q4_0_q8_0, dot_q4_0_q8_0, BlockQ4_0, q4_0_vec, true);
q0_cols!(cols_q5_0_q8_0, dot_q5_0_q8_0, BlockQ5_0, q5_0_vec, true);

/// portable::dot_q4_0_repack.
#[target_feature(enable = "avx2,fma,f16c")]
pub fn dot_q4_0_repack(x: &[BlockQ4_0], y: &[BlockQ8_0]) -> f32 {
    let mut acc = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        let s = hsum_i32x8(lane_dots_i8(q4_0_vec(x), load32i(&y.qs)));
        acc = (s as f32).mul_add(fp16_to_f32(x.d) * fp16_to_f32(y.d), acc);
    }
    acc
}

/// portable::dot_q4_0_repack for many activation rows.
#[target_feature(enable = "avx2,fma,f16c")]
pub fn rows_q4_0_repack(x: &[BlockQ4_0], a: &[u8], a_row: usize, out: &mut [f32]) {
    for r0 in (0..out.len()).step_by(K_ROWS) {
        let n = K_ROWS.min(out.len() - r0);
        let ys: [&[BlockQ8_0]; K_ROWS] = std::array::from_fn(|i| {
            if i < n {
                act_rows(a, a_row, r0 + i)
            } else {
                &[]
            }
        });
        let mut acc = [0.0f32; K_ROWS];
        for (b, xb) in x.iter().enumerate() {
            let w = q4_0_vec(xb);
            let aw = _mm256_sign_epi8(w, w);
            let dx = fp16_to_f32(xb.d);
            for i in 0..n {
                let y = &ys[i][b];
                let p = _mm256_madd_epi16(
                    _mm256_maddubs_epi16(aw, _mm256_sign_epi8(load32i(&y.qs), w)),
                    _mm256_set1_epi16(1),
                );
                acc[i] = (hsum_i32x8(p) as f32).mul_add(dx * fp16_to_f32(y.d), acc[i]);
            }
        }
        out[r0..r0 + n].copy_from_slice(&acc[..n]);
    }
}

/// portable::dot_q4_0_repack for many weight rows.
#[target_feature(enable = "avx2,fma,f16c")]
pub fn cols_q4_0_repack(w: &[u8], w_row: usize, y: &[BlockQ8_0], out: &mut [f32]) {
    for (r, o) in out.iter_mut().enumerate() {
        *o = dot_q4_0_repack(act_rows(w, w_row, r), y);
    }
}
