//! The float operation order of llama.cpp's x86-64 AVX2 kernels, written in plain Rust.
//!
//! This is the specification the SIMD paths are tested against bit for bit, and the fallback
//! on CPUs (and targets) without them. Every kernel splits into an integer part, which is exact
//! and may be computed in any order, and a float part — which lanes are converted to float, where
//! the scale products are rounded, which accumulations are fused multiply-adds and how lanes are
//! reduced at the end — which must follow ggml step by step. `f32::mul_add` is a single-rounding
//! FMA everywhere (a hardware instruction where available), exactly `_mm256_fmadd_ps` per lane.

use super::lanes::{hsum4, hsum8, F8};
use crate::blocks::*;
use crate::float::fp16_to_f32;
use crate::float::Fmaf;

// ---- blocks of 32 · Q8_0 / Q8_1 -----------------------------------------------------------------

/// Integer dot of 32 pairs in ggml's 8 lanes: lane l holds the products of elements 4l..4l+3
/// (`mul_sum_i8_pairs_float`: maddubs → i16 pairs → madd → i32 per 4 bytes).
#[inline]
fn lane_dots32(w: &[i8; 32], a: &[i8; 32]) -> F8 {
    let mut out = [0.0f32; 8];
    for (l, o) in out.iter_mut().enumerate() {
        let s: i32 = (4 * l..4 * l + 4).map(|i| w[i] as i32 * a[i] as i32).sum();
        *o = s as f32;
    }
    out
}

/// Element e of a Q4_0/Q4_1/Q5_* block's low 4 bits: nibble e of the 16 bytes (low halves first).
#[inline]
fn nibbles(qs: &[u8; 16]) -> [u8; 32] {
    let mut q = [0u8; 32];
    for j in 0..16 {
        q[j] = qs[j] & 0xF;
        q[j + 16] = qs[j] >> 4;
    }
    q
}

/// Q4_0 weights as signed values, q - 8.
#[inline]
pub(crate) fn q4_0_values(x: &BlockQ4_0) -> [i8; 32] {
    nibbles(&x.qs).map(|q| q as i8 - 8)
}

/// Q5_0 weights as signed values, q - 16.
#[inline]
pub(crate) fn q5_0_values(x: &BlockQ5_0) -> [i8; 32] {
    let qh = u32::from_le_bytes(x.qh);
    let mut q = nibbles(&x.qs).map(|q| q as i8);
    for (j, v) in q.iter_mut().enumerate() {
        *v = (*v | ((((qh >> j) & 1) << 4) as i8)) - 16;
    }
    q
}

/// Q4_1 / Q5_1 weights as unsigned values (0..15 / 0..31).
#[inline]
fn q5_1_values(x: &BlockQ5_1) -> [i8; 32] {
    let qh = u32::from_le_bytes(x.qh);
    let mut q = nibbles(&x.qs).map(|q| q as i8);
    for (j, v) in q.iter_mut().enumerate() {
        *v |= (((qh >> j) & 1) << 4) as i8;
    }
    q
}

/// `acc = fma(dx·dy, lanes, acc)` per block, then `hsum_float_8`: ggml_vec_dot_q4_0_q8_0,
/// _q5_0_q8_0 and _q8_0_q8_0 (AVX2), and llamafile's tinyBLAS_Q0_AVX for Q4_0/Q5_0/Q8_0 prefill,
/// which accumulates each output the same way.
fn q0_dot<X>(x: &[X], y: &[BlockQ8_0], d: impl Fn(&X) -> u16, w: impl Fn(&X) -> [i8; 32]) -> f32 {
    let mut acc = [0.0f32; 8];
    for (x, y) in x.iter().zip(y) {
        let dd = fp16_to_f32(d(x)) * fp16_to_f32(y.d);
        let q = lane_dots32(&w(x), &y.qs);
        for l in 0..8 {
            acc[l] = dd.fmaf(q[l], acc[l]);
        }
    }
    hsum8(acc)
}

pub fn dot_q4_0_q8_0(x: &[BlockQ4_0], y: &[BlockQ8_0]) -> f32 {
    q0_dot(x, y, |x| x.d, q4_0_values)
}

pub fn dot_q5_0_q8_0(x: &[BlockQ5_0], y: &[BlockQ8_0]) -> f32 {
    q0_dot(x, y, |x| x.d, q5_0_values)
}

pub fn dot_q8_0_q8_0(x: &[BlockQ8_0], y: &[BlockQ8_0]) -> f32 {
    q0_dot(x, y, |x| x.d, |x| x.qs)
}

/// ggml_vec_dot_q4_1_q8_1 / _q5_1_q8_1 (AVX2): `acc = fma(dx·dy, lanes, acc)` (Q4_1) or
/// `fma(lanes, dx·dy, acc)` (Q5_1, the same value), the offset term `summs += m·s` in scalar code,
/// which GCC contracts to an FMA (-ffp-contract=fast, ggml's build), added after the lane sum.
fn q1_dot<X>(
    x: &[X],
    y: &[BlockQ8_1],
    dm: impl Fn(&X) -> (u16, u16),
    w: impl Fn(&X) -> [i8; 32],
) -> f32 {
    let mut acc = [0.0f32; 8];
    let mut summs = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        let (d, m) = dm(x);
        summs = fp16_to_f32(m).fmaf(fp16_to_f32(y.s), summs);
        let dd = fp16_to_f32(d) * fp16_to_f32(y.d);
        let q = lane_dots32(&w(x), &y.qs);
        for l in 0..8 {
            acc[l] = dd.fmaf(q[l], acc[l]);
        }
    }
    hsum8(acc) + summs
}

pub fn dot_q4_1_q8_1(x: &[BlockQ4_1], y: &[BlockQ8_1]) -> f32 {
    q1_dot(x, y, |x| (x.d, x.m), |x| nibbles(&x.qs).map(|q| q as i8))
}

pub fn dot_q5_1_q8_1(x: &[BlockQ5_1], y: &[BlockQ8_1]) -> f32 {
    q1_dot(x, y, |x| (x.d, x.m), q5_1_values)
}

// ---- K-quants · Q8_K ----------------------------------------------------------------------------

/// The 8 six-bit scales and 8 mins of a Q4_K/Q5_K super-block.
#[inline]
pub(crate) fn k4_scales_mins(scales: &[u8; K_SCALE_SIZE]) -> ([i32; 8], [i32; 8]) {
    let mut sc = [0i32; 8];
    let mut m = [0i32; 8];
    for g in 0..8 {
        let (s, mm) = get_scale_min_k4(g, scales);
        sc[g] = s as i32;
        m[g] = mm as i32;
    }
    (sc, m)
}

/// Q4_K quants (0..15) in element order.
#[inline]
pub(crate) fn q4_k_values(x: &BlockQ4K) -> [u8; QK_K] {
    let mut q = [0u8; QK_K];
    for (j, qs) in x.qs.chunks_exact(32).enumerate() {
        for l in 0..32 {
            q[64 * j + l] = qs[l] & 0xF;
            q[64 * j + 32 + l] = qs[l] >> 4;
        }
    }
    q
}

/// Q6_K quants, unsigned (0..63), in element order.
#[inline]
pub(crate) fn q6_k_values(x: &BlockQ6K) -> [u8; QK_K] {
    let mut q = [0u8; QK_K];
    for n in 0..2 {
        let ql = &x.ql[64 * n..64 * n + 64];
        let qh = &x.qh[32 * n..32 * n + 32];
        let w = &mut q[128 * n..128 * n + 128];
        for l in 0..32 {
            w[l] = (ql[l] & 0xF) | ((qh[l] & 3) << 4);
            w[l + 32] = (ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4);
            w[l + 64] = (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4);
            w[l + 96] = (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4);
        }
    }
    q
}

/// Integer dot of each run of 32 elements.
#[inline]
fn sub_dots32(q: &[u8; QK_K], a: &[i8; QK_K]) -> [i32; 8] {
    let mut out = [0i32; 8];
    for (g, o) in out.iter_mut().enumerate() {
        *o = (32 * g..32 * g + 32)
            .map(|i| q[i] as i32 * a[i] as i32)
            .sum();
    }
    out
}

/// `Σ_g m_g · (bsums[2g] + bsums[2g+1])`, per pair of groups of 32 (`_mm_hadd_epi16` of the
/// bsums, then `_mm_madd_epi16` with the mins): four partial sums.
#[inline]
fn k4_min_pairs(m: &[i32; 8], bsums: &[i16; 16]) -> [i32; 4] {
    let q8s: [i32; 8] = std::array::from_fn(|g| bsums[2 * g] as i32 + bsums[2 * g + 1] as i32);
    std::array::from_fn(|p| m[2 * p] * q8s[2 * p] + m[2 * p + 1] * q8s[2 * p + 1])
}

/// ggml_vec_dot_q4_K_q8_K (AVX2): lane l of a super-block sums bytes 4l..4l+3 of each 32-byte
/// run, scaled by that run's scale; `acc = fma(d, lanes, acc)` with d = y.d·x.d; the mins go to
/// a 4-lane `acc_m = fma(-y.d·x.dmin, pairs, acc_m)`. Result `hsum8(acc) + hsum4(acc_m)`.
pub fn dot_q4_k_q8_k(x: &[BlockQ4K], y: &[BlockQ8K]) -> f32 {
    let mut acc = [0.0f32; 8];
    let mut acc_m = [0.0f32; 4];
    for (x, y) in x.iter().zip(y) {
        let d = y.d * fp16_to_f32(x.d);
        let dmin = -y.d * fp16_to_f32(x.dmin);
        let (sc, m) = k4_scales_mins(&x.scales);
        let bsums = y.bsums;
        let mins = k4_min_pairs(&m, &bsums);
        for p in 0..4 {
            acc_m[p] = dmin.fmaf(mins[p] as f32, acc_m[p]);
        }
        let lanes = k4_lanes(&q4_k_values(x), &sc, &y.qs);
        for l in 0..8 {
            acc[l] = d.fmaf(lanes[l] as f32, acc[l]);
        }
    }
    hsum8(acc) + hsum4(acc_m)
}

/// The 8 i32 lanes of ggml's Q4_K/Q5_K vec_dot (maddubs, then madd with the run's scale): lane l
/// sums bytes 4l..4l+3 of each 32-byte run g, times scale g.
#[inline]
fn k4_lanes(q: &[u8; QK_K], sc: &[i32; 8], a: &[i8; QK_K]) -> [i32; 8] {
    let mut lanes = [0i32; 8];
    for (l, lane) in lanes.iter_mut().enumerate() {
        for (g, &s) in sc.iter().enumerate() {
            let base = 32 * g + 4 * l;
            let dot: i32 = (base..base + 4).map(|i| q[i] as i32 * a[i] as i32).sum();
            *lane += s * dot;
        }
    }
    lanes
}

/// Q5_K quants (0..31) in element order: Q4_K's nibbles plus bit `2j` (low half of run pair j)
/// or `2j+1` (high half) of `qh[l]`.
#[inline]
pub(crate) fn q5_k_values(x: &BlockQ5K) -> [u8; QK_K] {
    let mut q = [0u8; QK_K];
    for (j, qs) in x.qs.chunks_exact(32).enumerate() {
        for l in 0..32 {
            let h = x.qh[l] >> (2 * j);
            q[64 * j + l] = (qs[l] & 0xF) | ((h & 1) << 4);
            q[64 * j + 32 + l] = (qs[l] >> 4) | (((h >> 1) & 1) << 4);
        }
    }
    q
}

/// ggml_vec_dot_q5_K_q8_K (AVX2): the lanes as for Q4_K, `acc = fma(d, lanes, acc)` with
/// d = y.d·x.d; the mins are summed exactly as integers (hadd/madd/hadd) and go to a scalar
/// `summs = fma(-y.d·x.dmin, Σ, summs)` (a C `+=` the compiler contracts, as for Q4_1's).
/// Result `hsum8(acc) + summs`.
pub fn dot_q5_k_q8_k(x: &[BlockQ5K], y: &[BlockQ8K]) -> f32 {
    let mut acc = [0.0f32; 8];
    let mut summs = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        let d = y.d * fp16_to_f32(x.d);
        let dmin = -y.d * fp16_to_f32(x.dmin);
        let (sc, m) = k4_scales_mins(&x.scales);
        let bsums = y.bsums;
        let imins: i32 = k4_min_pairs(&m, &bsums).iter().sum();
        summs = dmin.fmaf(imins as f32, summs);
        let lanes = k4_lanes(&q5_k_values(x), &sc, &y.qs);
        for l in 0..8 {
            acc[l] = d.fmaf(lanes[l] as f32, acc[l]);
        }
    }
    hsum8(acc) + summs
}

/// ggml's tiled K-quant matmul (ggml-cpu/tiled, AVX2, from 8 activation rows) for the types
/// with scales and mins (Q4_K not repacked, Q5_K), one super-block at a time:
/// `res = x.d·(float)Σsc·dot` (rounded), `res = fma(−x.dmin, (float)Σm·bsum, res)`, then
/// `out = fma(res, y.d, out)`.
#[inline]
fn k4_tiled(
    blocks: impl Iterator<Item = (f32, f32, [i32; 8], [i32; 8], [u8; QK_K])>,
    y: &[BlockQ8K],
) -> f32 {
    let mut out = 0.0f32;
    for ((d, dmin, sc, m, q), y) in blocks.zip(y) {
        let dots = sub_dots32(&q, &y.qs);
        let s1: i32 = (0..8).map(|g| sc[g] * dots[g]).sum();
        let bsums = y.bsums;
        let s2: i32 = k4_min_pairs(&m, &bsums).iter().sum();
        let res = (-dmin).fmaf(s2 as f32, d * s1 as f32);
        out = res.fmaf(y.d, out);
    }
    out
}

/// [`k4_tiled`] for Q4_K weights that are not repacked (row count not a multiple of 8).
pub fn dot_q4_k_tiled(x: &[BlockQ4K], y: &[BlockQ8K]) -> f32 {
    let blocks = x.iter().map(|x| {
        let (sc, m) = k4_scales_mins(&x.scales);
        (fp16_to_f32(x.d), fp16_to_f32(x.dmin), sc, m, q4_k_values(x))
    });
    k4_tiled(blocks, y)
}

/// [`k4_tiled`] for Q5_K weights.
pub fn dot_q5_k_tiled(x: &[BlockQ5K], y: &[BlockQ8K]) -> f32 {
    let blocks = x.iter().map(|x| {
        let (sc, m) = k4_scales_mins(&x.scales);
        (fp16_to_f32(x.d), fp16_to_f32(x.dmin), sc, m, q5_k_values(x))
    });
    k4_tiled(blocks, y)
}

/// The two integer sums per Q4_K super-block the repacked kernels use: Σ scale·dot and
/// Σ min·bsum, per run of 64 elements (one `sb` step of ggml's loop).
#[inline]
fn q4_k_sb_sums(x: &BlockQ4K, y: &BlockQ8K) -> ([i32; 4], [i32; 4]) {
    let (sc, m) = k4_scales_mins(&x.scales);
    let dots = sub_dots32(&q4_k_values(x), &y.qs);
    let bsums = y.bsums;
    let mins = k4_min_pairs(&m, &bsums);
    let sums =
        std::array::from_fn(|sb| sc[2 * sb] * dots[2 * sb] + sc[2 * sb + 1] * dots[2 * sb + 1]);
    (sums, mins)
}

/// ggml_gemv_q4_K_8x8_q8_K (AVX2, CPU_REPACK, one activation row): per super-block
/// `acc = fma(Σ sc·dot, x.d·y.d, acc)` and `acc_m = fma(Σ m·bsum, x.dmin·y.d, acc_m)`; `acc - acc_m`.
pub fn dot_q4_k_gemv(x: &[BlockQ4K], y: &[BlockQ8K]) -> f32 {
    let (mut acc, mut acc_m) = (0.0f32, 0.0f32);
    for (x, y) in x.iter().zip(y) {
        let (sums, mins) = q4_k_sb_sums(x, y);
        let isum: i32 = sums.iter().sum();
        let imin: i32 = mins.iter().sum();
        acc = (isum as f32).fmaf(fp16_to_f32(x.d) * y.d, acc);
        acc_m = (imin as f32).fmaf(fp16_to_f32(x.dmin) * y.d, acc_m);
    }
    acc - acc_m
}

/// ggml_gemm_q4_K_8x8_q8_K (AVX2, CPU_REPACK, groups of 4 activation rows): as the gemv, but
/// the fused multiply-adds happen per 64 elements (`sb`), not per super-block.
pub fn dot_q4_k_gemm(x: &[BlockQ4K], y: &[BlockQ8K]) -> f32 {
    let (mut acc, mut acc_m) = (0.0f32, 0.0f32);
    for (x, y) in x.iter().zip(y) {
        let (sums, mins) = q4_k_sb_sums(x, y);
        let (dd, dm) = (fp16_to_f32(x.d) * y.d, fp16_to_f32(x.dmin) * y.d);
        for sb in 0..4 {
            acc = (sums[sb] as f32).fmaf(dd, acc);
            acc_m = (mins[sb] as f32).fmaf(dm, acc_m);
        }
    }
    acc - acc_m
}

/// Q6_K lanes as ggml_vec_dot_q6_K_q8_K (AVX2) forms them: lane l sums bytes 4l..4l+3 of each
/// of the 8 runs of 32 (unsigned 6-bit quants times the run's half's scale), minus
/// `32·(bsums[2l]·sc[2l] + bsums[2l+1]·sc[2l+1])` — the −32 offset applied per lane through the
/// activation sums, not per element.
#[inline]
pub(crate) fn q6_k_lanes(x: &BlockQ6K, y: &BlockQ8K) -> [i32; 8] {
    let q = q6_k_values(x);
    let bsums = y.bsums;
    let mut lanes = [0i32; 8];
    for (l, lane) in lanes.iter_mut().enumerate() {
        for v in 0..8 {
            let sc = x.scales[2 * v + (l >= 4) as usize] as i32;
            let base = 32 * v + 4 * l;
            let dot: i32 = (base..base + 4).map(|i| q[i] as i32 * y.qs[i] as i32).sum();
            *lane += sc * dot;
        }
        *lane -= 32
            * (bsums[2 * l] as i32 * x.scales[2 * l] as i32
                + bsums[2 * l + 1] as i32 * x.scales[2 * l + 1] as i32);
    }
    lanes
}

/// ggml_vec_dot_q6_K_q8_K (AVX2): `acc = fma(y.d·x.d, lanes, acc)` per super-block, `hsum8`.
pub fn dot_q6_k_q8_k(x: &[BlockQ6K], y: &[BlockQ8K]) -> f32 {
    let mut acc = [0.0f32; 8];
    for (x, y) in x.iter().zip(y) {
        let d = y.d * fp16_to_f32(x.d);
        let lanes = q6_k_lanes(x, y);
        for l in 0..8 {
            acc[l] = d.fmaf(lanes[l] as f32, acc[l]);
        }
    }
    hsum8(acc)
}

/// ggml's tiled K-quant matmul (ggml-cpu/tiled, taken for 8 or more activation rows) for Q6_K:
/// per super-block `res = x.d · (float)Σ` (rounded), then `out = fma(res, y.d, out)`.
pub fn dot_q6_k_tiled(x: &[BlockQ6K], y: &[BlockQ8K]) -> f32 {
    let mut out = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        let s1: i32 = q6_k_lanes(x, y).iter().sum();
        let res = fp16_to_f32(x.d) * s1 as f32;
        out = res.fmaf(y.d, out);
    }
    out
}

/// ggml_gemv_q4_0_8x8_q8_0 / ggml_gemm_q4_0_8x8_q8_0 (AVX2, CPU_REPACK: Q4_0 weights with a
/// multiple of 8 rows): per output one f32 accumulator, `acc = fma(Σ_block, x.d·y.d, acc)` —
/// the whole block's integer dot converted at once, no lanes. The gemm's activations are
/// quantized like `quantize_row_q8_0` (ggml_quantize_mat_q8_0_4x8 rounds the same way).
pub fn dot_q4_0_repack(x: &[BlockQ4_0], y: &[BlockQ8_0]) -> f32 {
    let mut acc = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        let w = q4_0_values(x);
        let s: i32 = w
            .iter()
            .zip(&y.qs)
            .map(|(&w, &a)| w as i32 * a as i32)
            .sum();
        acc = (s as f32).fmaf(fp16_to_f32(x.d) * fp16_to_f32(y.d), acc);
    }
    acc
}
