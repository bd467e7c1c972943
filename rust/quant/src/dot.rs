//! Scalar dot products of one weight row with one activation row in the weight type's
//! `vec_dot_type`, as ggml's generic CPU kernels compute them (ggml-cpu/quants.c, vec.cpp):
//! integer products summed per block, scaled once per block.
//!
//! The integer parts are exact and equal ggml's. The float accumulation is one running f32 sum over
//! blocks (ggml's generic K-quant kernels spread it over 8 lanes; its SIMD kernels use other orders
//! again), so results agree with ggml to rounding, not bit for bit; `tests/golden.rs` states the
//! tolerance. The float types accumulate f32 products in f64, as ggml's scalar path does.
//!
//! Lengths were checked by the caller (lib.rs): both slices cover the same number of elements.

use crate::blocks::*;
use crate::float::{bf16_to_f32, fp16_to_f32};

// ---- float types --------------------------------------------------------------------------------

fn f32_at(b: &[u8]) -> f32 {
    f32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

fn u16_at(b: &[u8]) -> u16 {
    u16::from_le_bytes([b[0], b[1]])
}

pub(crate) fn dot_f32(w: &[u8], a: &[u8]) -> f32 {
    let mut sum = 0.0f64;
    for (w, a) in w.chunks_exact(4).zip(a.chunks_exact(4)) {
        sum += (f32_at(w) * f32_at(a)) as f64;
    }
    sum as f32
}

pub(crate) fn dot_f16(w: &[u8], a: &[u8]) -> f32 {
    let mut sum = 0.0f64;
    for (w, a) in w.chunks_exact(2).zip(a.chunks_exact(2)) {
        sum += (fp16_to_f32(u16_at(w)) * fp16_to_f32(u16_at(a))) as f64;
    }
    sum as f32
}

pub(crate) fn dot_bf16(w: &[u8], a: &[u8]) -> f32 {
    let mut sum = 0.0f64;
    for (w, a) in w.chunks_exact(2).zip(a.chunks_exact(2)) {
        sum += (bf16_to_f32(u16_at(w)) * bf16_to_f32(u16_at(a))) as f64;
    }
    sum as f32
}

// ---- blocks of 32 -------------------------------------------------------------------------------

/// `Σ lo(qs[j])·a[j] + hi(qs[j])·a[j+16]` with the 4-bit values shifted by `offset` and a fifth bit
/// from `qh` when given (bit j for element j).
#[inline]
fn nibble_dot(qs: &[u8; 16], qh: Option<u32>, offset: i32, a: &[i8; 32]) -> i32 {
    let mut sum = 0i32;
    for j in 0..16 {
        let (mut v0, mut v1) = ((qs[j] & 0xF) as i32, (qs[j] >> 4) as i32);
        if let Some(qh) = qh {
            v0 |= (((qh >> j) & 1) << 4) as i32;
            v1 |= (((qh >> (j + 16)) & 1) << 4) as i32;
        }
        sum += (v0 - offset) * a[j] as i32 + (v1 - offset) * a[j + 16] as i32;
    }
    sum
}

pub(crate) fn dot_q4_0_q8_0(x: &[BlockQ4_0], y: &[BlockQ8_0]) -> f32 {
    let mut sumf = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        let sumi = nibble_dot(&x.qs, None, 8, &y.qs);
        sumf += sumi as f32 * fp16_to_f32(x.d) * fp16_to_f32(y.d);
    }
    sumf
}

/// The min term uses the activation's stored s = d_a * Σ q_a: m * Σ a ≈ m * s.
pub(crate) fn dot_q4_1_q8_1(x: &[BlockQ4_1], y: &[BlockQ8_1]) -> f32 {
    let mut sumf = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        let sumi = nibble_dot(&x.qs, None, 0, &y.qs);
        sumf += (fp16_to_f32(x.d) * fp16_to_f32(y.d)) * sumi as f32
            + fp16_to_f32(x.m) * fp16_to_f32(y.s);
    }
    sumf
}

pub(crate) fn dot_q5_0_q8_0(x: &[BlockQ5_0], y: &[BlockQ8_0]) -> f32 {
    let mut sumf = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        let sumi = nibble_dot(&x.qs, Some(u32::from_le_bytes(x.qh)), 16, &y.qs);
        sumf += (fp16_to_f32(x.d) * fp16_to_f32(y.d)) * sumi as f32;
    }
    sumf
}

pub(crate) fn dot_q5_1_q8_1(x: &[BlockQ5_1], y: &[BlockQ8_1]) -> f32 {
    let mut sumf = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        let sumi = nibble_dot(&x.qs, Some(u32::from_le_bytes(x.qh)), 0, &y.qs);
        sumf += (fp16_to_f32(x.d) * fp16_to_f32(y.d)) * sumi as f32
            + fp16_to_f32(x.m) * fp16_to_f32(y.s);
    }
    sumf
}

pub(crate) fn dot_q8_0_q8_0(x: &[BlockQ8_0], y: &[BlockQ8_0]) -> f32 {
    let mut sumf = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        let sumi: i32 =
            x.qs.iter()
                .zip(&y.qs)
                .map(|(&a, &b)| a as i32 * b as i32)
                .sum();
        sumf += sumi as f32 * (fp16_to_f32(x.d) * fp16_to_f32(y.d));
    }
    sumf
}

// ---- K-quants · Q8_K ----------------------------------------------------------------------------
//
// Each kernel unpacks the weight quants of a super-block into 256 small integers in element order
// (ggml's generic kernels do the same into `aux8`), then takes integer dots with the Q8_K quants
// per sub-block. The min term of Q2_K/Q4_K/Q5_K never touches the quants: Σ_i m_g·a_i over a group
// is m_g · Σ a_i, and Q8_K carries Σ a_i per 16 as `bsums`.

/// Integer dot of `w` and `a` over each run of `G` elements.
#[inline]
fn group_dots<const G: usize, const N: usize>(w: &[i8; QK_K], a: &[i8; QK_K]) -> [i32; N] {
    let mut out = [0i32; N];
    for ((o, w), a) in out.iter_mut().zip(w.chunks_exact(G)).zip(a.chunks_exact(G)) {
        *o = w.iter().zip(a).map(|(&w, &a)| w as i32 * a as i32).sum();
    }
    out
}

pub(crate) fn dot_q2_k_q8_k(x: &[BlockQ2K], y: &[BlockQ8K]) -> f32 {
    let mut sumf = 0.0f32;
    let mut w = [0i8; QK_K];
    for (x, y) in x.iter().zip(y) {
        // element order as in dequantize_q2_k
        let mut e = 0;
        for q in x.qs.chunks_exact(32) {
            for shift in [0, 2, 4, 6] {
                for &qv in q {
                    w[e] = ((qv >> shift) & 3) as i8;
                    e += 1;
                }
            }
        }
        let bsums = y.bsums;
        let summs: i32 = (0..16)
            .map(|g| bsums[g] as i32 * (x.scales[g] >> 4) as i32)
            .sum();
        let dots = group_dots::<16, 16>(&w, &y.qs);
        let isum: i32 = (0..16).map(|g| (x.scales[g] & 0xF) as i32 * dots[g]).sum();
        let dall = y.d * fp16_to_f32(x.d);
        let dmin = y.d * fp16_to_f32(x.dmin);
        sumf += dall * isum as f32 - dmin * summs as f32;
    }
    sumf
}

pub(crate) fn dot_q3_k_q8_k(x: &[BlockQ3K], y: &[BlockQ8K]) -> f32 {
    let mut sumf = 0.0f32;
    let mut w = [0i8; QK_K];
    for (x, y) in x.iter().zip(y) {
        // element order as in dequantize_q3_k: bit pair p of run r has its high bit at bit 4r + p
        let mut e = 0;
        for (run, q) in x.qs.chunks_exact(32).enumerate() {
            for (pair, shift) in [0, 2, 4, 6].into_iter().enumerate() {
                let m = 1u8 << (4 * run + pair);
                for (&qv, &h) in q.iter().zip(&x.hmask) {
                    let sub = if h & m != 0 { 0 } else { 4 };
                    w[e] = ((qv >> shift) & 3) as i8 - sub;
                    e += 1;
                }
            }
        }
        let scales = q3k_scales(&x.scales);
        let dots = group_dots::<16, 16>(&w, &y.qs);
        let isum: i32 = (0..16).map(|g| scales[g] as i32 * dots[g]).sum();
        sumf += fp16_to_f32(x.d) * y.d * isum as f32;
    }
    sumf
}

/// Shared tail of Q4_K and Q5_K: 8 groups of 32 with 6-bit scales and mins.
#[inline]
fn finish_k4(w: &[i8; QK_K], scales: &[u8; K_SCALE_SIZE], d: u16, dmin: u16, y: &BlockQ8K) -> f32 {
    let bsums = y.bsums;
    let dots = group_dots::<32, 8>(w, &y.qs);
    let (mut isum, mut summins) = (0i32, 0i32);
    for g in 0..8 {
        let (sc, m) = get_scale_min_k4(g, scales);
        isum += sc as i32 * dots[g];
        summins += m as i32 * (bsums[2 * g] as i32 + bsums[2 * g + 1] as i32);
    }
    let d = fp16_to_f32(d) * y.d;
    let dmin = fp16_to_f32(dmin) * y.d;
    d * isum as f32 - dmin * summins as f32
}

pub(crate) fn dot_q4_k_q8_k(x: &[BlockQ4K], y: &[BlockQ8K]) -> f32 {
    let mut sumf = 0.0f32;
    let mut w = [0i8; QK_K];
    for (x, y) in x.iter().zip(y) {
        for (q, w) in x.qs.chunks_exact(32).zip(w.chunks_exact_mut(64)) {
            for l in 0..32 {
                w[l] = (q[l] & 0xF) as i8;
                w[l + 32] = (q[l] >> 4) as i8;
            }
        }
        sumf += finish_k4(&w, &x.scales, x.d, x.dmin, y);
    }
    sumf
}

pub(crate) fn dot_q5_k_q8_k(x: &[BlockQ5K], y: &[BlockQ8K]) -> f32 {
    let mut sumf = 0.0f32;
    let mut w = [0i8; QK_K];
    for (x, y) in x.iter().zip(y) {
        for (i, (q, w)) in
            x.qs.chunks_exact(32)
                .zip(w.chunks_exact_mut(64))
                .enumerate()
        {
            for l in 0..32 {
                let h = x.qh[l] >> (2 * i);
                w[l] = ((q[l] & 0xF) | ((h & 1) << 4)) as i8;
                w[l + 32] = ((q[l] >> 4) | (((h >> 1) & 1) << 4)) as i8;
            }
        }
        sumf += finish_k4(&w, &x.scales, x.d, x.dmin, y);
    }
    sumf
}

pub(crate) fn dot_q6_k_q8_k(x: &[BlockQ6K], y: &[BlockQ8K]) -> f32 {
    let mut sumf = 0.0f32;
    let mut w = [0i8; QK_K];
    for (x, y) in x.iter().zip(y) {
        for (n, w) in w.chunks_exact_mut(128).enumerate() {
            let ql = &x.ql[64 * n..64 * n + 64];
            let qh = &x.qh[32 * n..32 * n + 32];
            for l in 0..32 {
                w[l] = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) as i8 - 32;
                w[l + 32] = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) as i8 - 32;
                w[l + 64] = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i8 - 32;
                w[l + 96] = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i8 - 32;
            }
        }
        let dots = group_dots::<16, 16>(&w, &y.qs);
        let isum: i32 = (0..16).map(|g| x.scales[g] as i32 * dots[g]).sum();
        sumf += fp16_to_f32(x.d) * y.d * isum as f32;
    }
    sumf
}
