//! Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1: blocks of 32 with one or two fp16 numbers each.
//!
//! Quantizers are ggml's reference ones (`quantize_row_q*_ref` in ggml-quants.c), float operation
//! for float operation, so the bytes match ggml's; dequantizers match `dequantize_row_q*` bit for
//! bit. Callers (lib.rs) have checked that `x.len() == y.len() * 32`.

use crate::blocks::*;
use crate::cround::{c_f32_to_i32, c_f32_to_u8_bits};
use crate::float::{f32_to_fp16, fp16_to_f32};

/// The element with the largest magnitude (the first one on ties), sign kept; 0 for an all-zero block.
#[inline]
fn signed_absmax(x: &[f32]) -> f32 {
    let (mut amax, mut max) = (0.0f32, 0.0f32);
    for &v in x {
        if amax < v.abs() {
            amax = v.abs();
            max = v;
        }
    }
    max
}

/// Minimum and maximum, starting from ±f32::MAX as ggml does (so NaNs are skipped).
#[inline]
fn min_max(x: &[f32]) -> (f32, f32) {
    let (mut min, mut max) = (f32::MAX, -f32::MAX);
    for &v in x {
        if v < min {
            min = v;
        }
        if v > max {
            max = v;
        }
    }
    (min, max)
}

#[inline]
fn inverse_or_zero(d: f32) -> f32 {
    if d != 0.0 {
        1.0 / d
    } else {
        0.0
    }
}

// ---- Q4_0 ---------------------------------------------------------------------------------------

/// The signed extreme maps to -8, so the scale is negative when the extreme is positive; that uses
/// all 16 levels (-8..7) instead of 15.
pub(crate) fn quantize_q4_0(x: &[f32], y: &mut [BlockQ4_0]) {
    for (x, y) in x.chunks_exact(QK4_0).zip(y) {
        let d = signed_absmax(x) / -8.0;
        let id = inverse_or_zero(d);
        y.d = f32_to_fp16(d);
        for j in 0..QK4_0 / 2 {
            // C: MIN(15, (int8_t)(v * id + 8.5f)), i.e. truncation after adding 8 + 0.5
            let q0 = (c_f32_to_u8_bits(x[j] * id + 8.5) as i8).min(15) as u8;
            let q1 = (c_f32_to_u8_bits(x[j + QK4_0 / 2] * id + 8.5) as i8).min(15) as u8;
            y.qs[j] = q0 | (q1 << 4);
        }
    }
}

pub(crate) fn dequantize_q4_0(x: &[BlockQ4_0], y: &mut [f32]) {
    for (b, y) in x.iter().zip(y.chunks_exact_mut(QK4_0)) {
        let d = fp16_to_f32(b.d);
        for j in 0..QK4_0 / 2 {
            y[j] = ((b.qs[j] & 0xF) as i32 - 8) as f32 * d;
            y[j + QK4_0 / 2] = ((b.qs[j] >> 4) as i32 - 8) as f32 * d;
        }
    }
}

// ---- Q4_1 ---------------------------------------------------------------------------------------

pub(crate) fn quantize_q4_1(x: &[f32], y: &mut [BlockQ4_1]) {
    for (x, y) in x.chunks_exact(QK4_1).zip(y) {
        let (min, max) = min_max(x);
        let d = (max - min) / 15.0;
        let id = inverse_or_zero(d);
        y.d = f32_to_fp16(d);
        y.m = f32_to_fp16(min);
        for j in 0..QK4_1 / 2 {
            let q0 = (c_f32_to_u8_bits((x[j] - min) * id + 0.5) as i8).min(15) as u8;
            let q1 = (c_f32_to_u8_bits((x[j + QK4_1 / 2] - min) * id + 0.5) as i8).min(15) as u8;
            y.qs[j] = q0 | (q1 << 4);
        }
    }
}

pub(crate) fn dequantize_q4_1(x: &[BlockQ4_1], y: &mut [f32]) {
    for (b, y) in x.iter().zip(y.chunks_exact_mut(QK4_1)) {
        let d = fp16_to_f32(b.d);
        let m = fp16_to_f32(b.m);
        for j in 0..QK4_1 / 2 {
            y[j] = (b.qs[j] & 0xF) as f32 * d + m;
            y[j + QK4_1 / 2] = (b.qs[j] >> 4) as f32 * d + m;
        }
    }
}

// ---- Q5_0 ---------------------------------------------------------------------------------------

pub(crate) fn quantize_q5_0(x: &[f32], y: &mut [BlockQ5_0]) {
    for (x, y) in x.chunks_exact(QK5_0).zip(y) {
        let d = signed_absmax(x) / -16.0;
        let id = inverse_or_zero(d);
        y.d = f32_to_fp16(d);
        let mut qh = 0u32;
        for j in 0..QK5_0 / 2 {
            let q0 = (c_f32_to_u8_bits(x[j] * id + 16.5) as i8).min(31) as u8;
            let q1 = (c_f32_to_u8_bits(x[j + QK5_0 / 2] * id + 16.5) as i8).min(31) as u8;
            y.qs[j] = (q0 & 0xF) | ((q1 & 0xF) << 4);
            qh |= ((q0 as u32 & 0x10) >> 4) << j;
            qh |= ((q1 as u32 & 0x10) >> 4) << (j + QK5_0 / 2);
        }
        y.qh = qh.to_le_bytes();
    }
}

pub(crate) fn dequantize_q5_0(x: &[BlockQ5_0], y: &mut [f32]) {
    for (b, y) in x.iter().zip(y.chunks_exact_mut(QK5_0)) {
        let d = fp16_to_f32(b.d);
        let qh = u32::from_le_bytes(b.qh);
        for j in 0..QK5_0 / 2 {
            let h0 = ((qh >> j) << 4) & 0x10;
            let h1 = (qh >> (j + 12)) & 0x10;
            y[j] = (((b.qs[j] & 0xF) as u32 | h0) as i32 - 16) as f32 * d;
            y[j + QK5_0 / 2] = (((b.qs[j] >> 4) as u32 | h1) as i32 - 16) as f32 * d;
        }
    }
}

// ---- Q5_1 ---------------------------------------------------------------------------------------

pub(crate) fn quantize_q5_1(x: &[f32], y: &mut [BlockQ5_1]) {
    for (x, y) in x.chunks_exact(QK5_1).zip(y) {
        let (min, max) = min_max(x);
        let d = (max - min) / 31.0;
        let id = inverse_or_zero(d);
        y.d = f32_to_fp16(d);
        y.m = f32_to_fp16(min);
        let mut qh = 0u32;
        for j in 0..QK5_1 / 2 {
            // C: (uint8_t)(v + 0.5f), no clamp (the largest value lands on 31 exactly)
            let q0 = c_f32_to_u8_bits((x[j] - min) * id + 0.5);
            let q1 = c_f32_to_u8_bits((x[j + QK5_1 / 2] - min) * id + 0.5);
            y.qs[j] = (q0 & 0xF) | ((q1 & 0xF) << 4);
            qh |= ((q0 as u32 & 0x10) >> 4) << j;
            qh |= ((q1 as u32 & 0x10) >> 4) << (j + QK5_1 / 2);
        }
        y.qh = qh.to_le_bytes();
    }
}

pub(crate) fn dequantize_q5_1(x: &[BlockQ5_1], y: &mut [f32]) {
    for (b, y) in x.iter().zip(y.chunks_exact_mut(QK5_1)) {
        let d = fp16_to_f32(b.d);
        let m = fp16_to_f32(b.m);
        let qh = u32::from_le_bytes(b.qh);
        for j in 0..QK5_1 / 2 {
            let h0 = ((qh >> j) << 4) & 0x10;
            let h1 = (qh >> (j + 12)) & 0x10;
            y[j] = ((b.qs[j] & 0xF) as u32 | h0) as f32 * d + m;
            y[j + QK5_1 / 2] = ((b.qs[j] >> 4) as u32 | h1) as f32 * d + m;
        }
    }
}

// ---- Q8_0 / Q8_1 --------------------------------------------------------------------------------

/// C's `MAX(a, b)` over |x|: `a > b ? a : b`, so a NaN element is only kept if it comes last.
#[inline]
fn absmax(x: &[f32]) -> f32 {
    x.iter()
        .fold(0.0f32, |a, &v| if a > v.abs() { a } else { v.abs() })
}

pub(crate) fn quantize_q8_0(x: &[f32], y: &mut [BlockQ8_0]) {
    for (x, y) in x.chunks_exact(QK8_0).zip(y) {
        let d = absmax(x) / 127.0;
        let id = inverse_or_zero(d);
        y.d = f32_to_fp16(d);
        for (q, &v) in y.qs.iter_mut().zip(x) {
            *q = c_f32_to_u8_bits((v * id).round()) as i8; // roundf: halves away from zero
        }
    }
}

pub(crate) fn dequantize_q8_0(x: &[BlockQ8_0], y: &mut [f32]) {
    for (b, y) in x.iter().zip(y.chunks_exact_mut(QK8_0)) {
        let d = fp16_to_f32(b.d);
        for (y, &q) in y.iter_mut().zip(&b.qs) {
            *y = q as f32 * d;
        }
    }
}

pub(crate) fn quantize_q8_1(x: &[f32], y: &mut [BlockQ8_1]) {
    for (x, y) in x.chunks_exact(QK8_1).zip(y) {
        let d = absmax(x) / 127.0;
        let id = inverse_or_zero(d);
        y.d = f32_to_fp16(d);
        let mut sum = 0i32;
        for (q, &v) in y.qs.iter_mut().zip(x) {
            *q = c_f32_to_u8_bits((v * id).round()) as i8;
            sum += *q as i32;
        }
        y.s = f32_to_fp16(sum as f32 * d);
    }
}

/// Q8_0/Q8_1 as ggml's x86 CPU backend quantizes activations before a dot product (its AVX
/// `quantize_row_q8_0`/`_q8_1`): the scale's reciprocal is computed as 127/amax (not 1/(amax/127))
/// and ties round to even (not away from zero). Where an element lands on a tie this differs from
/// the reference by one step, which moves a matmul output by d·w — enough to flip a greedy token,
/// so the CPU backend uses this to track llama.cpp. Returns the block sum (for Q8_1's `s`).
fn quantize_q8_block_like_ggml_cpu(x: &[f32], qs: &mut [i8]) -> (f32, i32) {
    let amax = absmax(x);
    let d = amax / 127.0;
    let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
    let mut sum = 0i32;
    for (q, &v) in qs.iter_mut().zip(x) {
        // cvtps_epi32 then saturating packs: out-of-range values clamp to the i8 range.
        *q = c_f32_to_i32(crate::cround::round_ties_even(v * id)).clamp(-128, 127) as i8;
        sum += *q as i32;
    }
    (d, sum)
}

pub(crate) fn quantize_q8_0_activations(x: &[f32], y: &mut [BlockQ8_0]) {
    for (x, y) in x.chunks_exact(QK8_0).zip(y) {
        let (d, _) = quantize_q8_block_like_ggml_cpu(x, &mut y.qs);
        y.d = f32_to_fp16(d);
    }
}

pub(crate) fn quantize_q8_1_activations(x: &[f32], y: &mut [BlockQ8_1]) {
    for (x, y) in x.chunks_exact(QK8_1).zip(y) {
        let (d, sum) = quantize_q8_block_like_ggml_cpu(x, &mut y.qs);
        y.d = f32_to_fp16(d);
        y.s = f32_to_fp16(d * sum as f32);
    }
}

/// ggml has no Q8_1 dequantizer (it is an activation format); this is the same formula as Q8_0's.
pub(crate) fn dequantize_q8_1(x: &[BlockQ8_1], y: &mut [f32]) {
    for (b, y) in x.iter().zip(y.chunks_exact_mut(QK8_1)) {
        let d = fp16_to_f32(b.d);
        for (y, &q) in y.iter_mut().zip(&b.qs) {
            *y = q as f32 * d;
        }
    }
}
