//! WebAssembly SIMD128 versions of the kernels in `portable`, bit for bit equal to them (and so
//! to llama.cpp's x86 AVX2 kernels): each AVX `__m256` of 8 lanes is two `v128` of 4 lanes, lane
//! l of the AVX register being lane l%4 of half l/4. The integer parts use 16-bit widening and
//! `i32x4.dot_i16x8_s` (exact); the float parts are the same lane-wise operations.
//!
//! SIMD128 has no fused multiply-add, so [`fma4`] computes one exactly: the product of two f32
//! is exact in f64, so `a·b + c` rounded once to f64 and then to f32 is the fused result unless
//! the f64 value sits exactly on an f32 rounding tie (double rounding); those rare lanes are
//! redone with the scalar `f32::mul_add` (correctly rounded in software).

use super::lanes::hsum8;
use crate::blocks::*;
use crate::float::fp16_to_f32;
use core::arch::wasm32::*;

/// Two halves of an AVX register.
type V8 = [v128; 2];

/// Exact `a·b + c` per lane.
#[inline]
fn fma4(a: v128, b: v128, c: v128) -> v128 {
    let half = |a: v128, b: v128, c: v128| -> (v128, bool) {
        let xy = f64x2_mul(f64x2_promote_low_f32x4(a), f64x2_promote_low_f32x4(b));
        let r = f64x2_add(xy, f64x2_promote_low_f32x4(c));
        // an f32 tie in the f64 result: low 29 bits exactly 1 followed by zeros
        let low = v128_and(r, i64x2_splat(0x1fff_ffff));
        let tie = i64x2_eq(low, i64x2_splat(0x1000_0000));
        (r, v128_any_true(tie))
    };
    let (lo, t0) = half(a, b, c);
    let hi_shuf = |x: v128| i32x4_shuffle::<2, 3, 0, 1>(x, x);
    let (hi, t1) = half(hi_shuf(a), hi_shuf(b), hi_shuf(c));
    if t0 || t1 {
        let (a, b, c) = (to_f32s(a), to_f32s(b), to_f32s(c));
        let r: [f32; 4] = std::array::from_fn(|i| a[i].mul_add(b[i], c[i]));
        return f32x4(r[0], r[1], r[2], r[3]);
    }
    let lo = f32x4_demote_f64x2_zero(lo);
    let hi = f32x4_demote_f64x2_zero(hi);
    i32x4_shuffle::<0, 1, 4, 5>(lo, hi)
}

#[inline]
fn to_f32s(x: v128) -> [f32; 4] {
    [
        f32x4_extract_lane::<0>(x),
        f32x4_extract_lane::<1>(x),
        f32x4_extract_lane::<2>(x),
        f32x4_extract_lane::<3>(x),
    ]
}

#[inline]
fn hsum_v8(x: V8) -> f32 {
    let (a, b) = (to_f32s(x[0]), to_f32s(x[1]));
    hsum8([a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]])
}

#[inline]
fn hsum_i32x4(x: v128) -> i32 {
    i32x4_extract_lane::<0>(x)
        .wrapping_add(i32x4_extract_lane::<1>(x))
        .wrapping_add(i32x4_extract_lane::<2>(x))
        .wrapping_add(i32x4_extract_lane::<3>(x))
}

#[inline]
fn load16(p: &[u8]) -> v128 {
    assert!(p.len() >= 16);
    // SAFETY: 16 readable bytes (checked); v128_load has no alignment requirement.
    unsafe { v128_load(p.as_ptr() as *const v128) }
}

#[inline]
fn load16i(p: &[i8]) -> v128 {
    assert!(p.len() >= 16);
    // SAFETY: as load16.
    unsafe { v128_load(p.as_ptr() as *const v128) }
}

/// Sums of 4 consecutive products of 16 signed bytes `w` and `a`: AVX lanes (4 of them).
#[inline]
fn quad_dots_i8(w: v128, a: v128) -> v128 {
    let lo = i32x4_dot_i16x8(i16x8_extend_low_i8x16(w), i16x8_extend_low_i8x16(a));
    let hi = i32x4_dot_i16x8(i16x8_extend_high_i8x16(w), i16x8_extend_high_i8x16(a));
    i32x4_add(
        i32x4_shuffle::<0, 2, 4, 6>(lo, hi),
        i32x4_shuffle::<1, 3, 5, 7>(lo, hi),
    )
}

/// As quad_dots_i8 with unsigned weights (0..255).
#[inline]
fn quad_dots_u8(w: v128, a: v128) -> v128 {
    let lo = i32x4_dot_i16x8(u16x8_extend_low_u8x16(w), i16x8_extend_low_i8x16(a));
    let hi = i32x4_dot_i16x8(u16x8_extend_high_u8x16(w), i16x8_extend_high_i8x16(a));
    i32x4_add(
        i32x4_shuffle::<0, 2, 4, 6>(lo, hi),
        i32x4_shuffle::<1, 3, 5, 7>(lo, hi),
    )
}

// ---- blocks of 32 -------------------------------------------------------------------------------

/// A block's 32 signed weights as two v128 (elements 0..15, 16..31).
#[inline]
fn nibbles(qs: &[u8; 16]) -> V8 {
    let q = load16(qs);
    let m = u8x16_splat(0xF);
    [v128_and(q, m), u8x16_shr(q, 4)]
}

#[inline]
fn q4_0_vec(x: &BlockQ4_0) -> V8 {
    nibbles(&x.qs).map(|v| i8x16_sub(v, i8x16_splat(8)))
}

/// Bits 16h..16h+15 of qh as bytes 0x10 where set.
#[inline]
fn fifth_bits(qh: u32, h: usize) -> v128 {
    let bits = (qh >> (16 * h)) as u16;
    let b = u16x8_splat(bits);
    // byte j gets byte j/8 of the 16 bits
    let bytes = i8x16_swizzle(b, i8x16(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
    let mask = i8x16(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
    let set = i8x16_eq(v128_and(bytes, mask), mask);
    v128_and(set, u8x16_splat(0x10))
}

#[inline]
fn q5_0_vec(x: &BlockQ5_0) -> V8 {
    let qh = u32::from_le_bytes(x.qh);
    let n = nibbles(&x.qs);
    [0, 1].map(|h| i8x16_sub(v128_or(n[h], fifth_bits(qh, h)), i8x16_splat(16)))
}

#[inline]
fn q8_0_vec(x: &BlockQ8_0) -> V8 {
    [load16i(&x.qs[..16]), load16i(&x.qs[16..])]
}

macro_rules! q0_dot {
    ($name:ident, $x:ty, $vec:ident) => {
        pub fn $name(x: &[$x], y: &[BlockQ8_0]) -> f32 {
            let mut acc = [f32x4_splat(0.0); 2];
            for (x, y) in x.iter().zip(y) {
                let dd = f32x4_splat(fp16_to_f32(x.d) * fp16_to_f32(y.d));
                let w = $vec(x);
                let a = [load16i(&y.qs[..16]), load16i(&y.qs[16..])];
                for h in 0..2 {
                    let q = f32x4_convert_i32x4(quad_dots_i8(w[h], a[h]));
                    acc[h] = fma4(dd, q, acc[h]);
                }
            }
            hsum_v8(acc)
        }
    };
}

q0_dot!(dot_q4_0_q8_0, BlockQ4_0, q4_0_vec);
q0_dot!(dot_q5_0_q8_0, BlockQ5_0, q5_0_vec);
q0_dot!(dot_q8_0_q8_0, BlockQ8_0, q8_0_vec);

#[inline]
fn q4_1_vec(x: &BlockQ4_1) -> V8 {
    nibbles(&x.qs)
}

#[inline]
fn q5_1_vec(x: &BlockQ5_1) -> V8 {
    let qh = u32::from_le_bytes(x.qh);
    let n = nibbles(&x.qs);
    [0, 1].map(|h| v128_or(n[h], fifth_bits(qh, h)))
}

macro_rules! q1_dot {
    ($name:ident, $x:ty, $vec:ident) => {
        pub fn $name(x: &[$x], y: &[BlockQ8_1]) -> f32 {
            let mut acc = [f32x4_splat(0.0); 2];
            let mut summs = 0.0f32;
            for (x, y) in x.iter().zip(y) {
                summs = fp16_to_f32(x.m).mul_add(fp16_to_f32(y.s), summs);
                let dd = f32x4_splat(fp16_to_f32(x.d) * fp16_to_f32(y.d));
                let w = $vec(x);
                let a = [load16i(&y.qs[..16]), load16i(&y.qs[16..])];
                for h in 0..2 {
                    let q = f32x4_convert_i32x4(quad_dots_u8(w[h], a[h]));
                    acc[h] = fma4(dd, q, acc[h]);
                }
            }
            hsum_v8(acc) + summs
        }
    };
}

q1_dot!(dot_q4_1_q8_1, BlockQ4_1, q4_1_vec);
q1_dot!(dot_q5_1_q8_1, BlockQ5_1, q5_1_vec);

pub fn dot_q4_0_repack(x: &[BlockQ4_0], y: &[BlockQ8_0]) -> f32 {
    let mut acc = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        let w = q4_0_vec(x);
        let s = hsum_i32x4(i32x4_add(
            quad_dots_i8(w[0], load16i(&y.qs[..16])),
            quad_dots_i8(w[1], load16i(&y.qs[16..])),
        ));
        acc = (s as f32).mul_add(fp16_to_f32(x.d) * fp16_to_f32(y.d), acc);
    }
    acc
}

// ---- K-quants -----------------------------------------------------------------------------------

/// Q4_K: per 64-element step j, Σ scale·dot as AVX lanes (two i32x4).
#[inline]
fn q4_k_sb_lanes(x: &BlockQ4K, y: &BlockQ8K, sc: &[i32; 8], j: usize) -> V8 {
    let m = u8x16_splat(0xF);
    let mut out = [i32x4_splat(0); 2];
    for (h, o) in out.iter_mut().enumerate() {
        let bits = load16(&x.qs[32 * j + 16 * h..]);
        let lo = quad_dots_u8(v128_and(bits, m), load16i(&y.qs[64 * j + 16 * h..]));
        let hi = quad_dots_u8(u8x16_shr(bits, 4), load16i(&y.qs[64 * j + 32 + 16 * h..]));
        *o = i32x4_add(
            i32x4_mul(lo, i32x4_splat(sc[2 * j])),
            i32x4_mul(hi, i32x4_splat(sc[2 * j + 1])),
        );
    }
    out
}

fn q4_k_min_sums(m: &[i32; 8], y: &BlockQ8K) -> [i32; 4] {
    let bsums = y.bsums;
    std::array::from_fn(|p| {
        m[2 * p] * (bsums[4 * p] as i32 + bsums[4 * p + 1] as i32)
            + m[2 * p + 1] * (bsums[4 * p + 2] as i32 + bsums[4 * p + 3] as i32)
    })
}

pub fn dot_q4_k_q8_k(x: &[BlockQ4K], y: &[BlockQ8K]) -> f32 {
    let mut acc = [f32x4_splat(0.0); 2];
    let mut acc_m = f32x4_splat(0.0);
    for (x, y) in x.iter().zip(y) {
        let d = y.d * fp16_to_f32(x.d);
        let dmin = -y.d * fp16_to_f32(x.dmin);
        let (sc, m) = super::portable::k4_scales_mins(&x.scales);
        let mins = q4_k_min_sums(&m, y);
        let mins = f32x4_convert_i32x4(i32x4(mins[0], mins[1], mins[2], mins[3]));
        acc_m = fma4(f32x4_splat(dmin), mins, acc_m);
        let mut sumi = [i32x4_splat(0); 2];
        for j in 0..4 {
            let l = q4_k_sb_lanes(x, y, &sc, j);
            sumi = [i32x4_add(sumi[0], l[0]), i32x4_add(sumi[1], l[1])];
        }
        for h in 0..2 {
            acc[h] = fma4(f32x4_splat(d), f32x4_convert_i32x4(sumi[h]), acc[h]);
        }
    }
    let m = to_f32s(acc_m);
    hsum_v8(acc) + ((m[0] + m[2]) + (m[1] + m[3]))
}

pub fn dot_q4_k_gemv(x: &[BlockQ4K], y: &[BlockQ8K]) -> f32 {
    let (mut acc, mut acc_m) = (0.0f32, 0.0f32);
    for (x, y) in x.iter().zip(y) {
        let (sc, m) = super::portable::k4_scales_mins(&x.scales);
        let isum: i32 = (0..4)
            .map(|j| {
                let l = q4_k_sb_lanes(x, y, &sc, j);
                hsum_i32x4(i32x4_add(l[0], l[1]))
            })
            .sum();
        let imin: i32 = q4_k_min_sums(&m, y).iter().sum();
        acc = (isum as f32).mul_add(fp16_to_f32(x.d) * y.d, acc);
        acc_m = (imin as f32).mul_add(fp16_to_f32(x.dmin) * y.d, acc_m);
    }
    acc - acc_m
}

pub fn dot_q4_k_gemm(x: &[BlockQ4K], y: &[BlockQ8K]) -> f32 {
    let (mut acc, mut acc_m) = (0.0f32, 0.0f32);
    for (x, y) in x.iter().zip(y) {
        let (sc, m) = super::portable::k4_scales_mins(&x.scales);
        let mins = q4_k_min_sums(&m, y);
        let (dd, dm) = (fp16_to_f32(x.d) * y.d, fp16_to_f32(x.dmin) * y.d);
        for (j, &mn) in mins.iter().enumerate() {
            let l = q4_k_sb_lanes(x, y, &sc, j);
            let s = hsum_i32x4(i32x4_add(l[0], l[1]));
            acc = (s as f32).mul_add(dd, acc);
            acc_m = (mn as f32).mul_add(dm, acc_m);
        }
    }
    acc - acc_m
}

/// Q6_K lanes as portable::q6_k_lanes (two i32x4).
#[inline]
fn q6_k_lanes(x: &BlockQ6K, y: &BlockQ8K) -> V8 {
    let m4 = u8x16_splat(0xF);
    let m2 = u8x16_splat(3);
    let mut out = [i32x4_splat(0); 2];
    for n in 0..2 {
        for (h, o) in out.iter_mut().enumerate() {
            let ql0 = load16(&x.ql[64 * n + 16 * h..]);
            let ql1 = load16(&x.ql[64 * n + 32 + 16 * h..]);
            let qh = load16(&x.qh[32 * n + 16 * h..]);
            let high = |s: u32| i8x16_shl(v128_and(u8x16_shr(qh, s), m2), 4);
            let q = [
                v128_or(v128_and(ql0, m4), high(0)),
                v128_or(v128_and(ql1, m4), high(2)),
                v128_or(u8x16_shr(ql0, 4), high(4)),
                v128_or(u8x16_shr(ql1, 4), high(6)),
            ];
            for (k, q) in q.into_iter().enumerate() {
                let v = 4 * n + k;
                let a = load16i(&y.qs[32 * v + 16 * h..]);
                let sc = x.scales[2 * v + h] as i32;
                *o = i32x4_add(*o, i32x4_mul(quad_dots_u8(q, a), i32x4_splat(sc)));
            }
        }
    }
    let bsums = y.bsums;
    let sub: [i32; 8] = std::array::from_fn(|l| {
        32 * (bsums[2 * l] as i32 * x.scales[2 * l] as i32
            + bsums[2 * l + 1] as i32 * x.scales[2 * l + 1] as i32)
    });
    [
        i32x4_sub(out[0], i32x4(sub[0], sub[1], sub[2], sub[3])),
        i32x4_sub(out[1], i32x4(sub[4], sub[5], sub[6], sub[7])),
    ]
}

pub fn dot_q6_k_q8_k(x: &[BlockQ6K], y: &[BlockQ8K]) -> f32 {
    let mut acc = [f32x4_splat(0.0); 2];
    for (x, y) in x.iter().zip(y) {
        let d = f32x4_splat(y.d * fp16_to_f32(x.d));
        let l = q6_k_lanes(x, y);
        for h in 0..2 {
            acc[h] = fma4(d, f32x4_convert_i32x4(l[h]), acc[h]);
        }
    }
    hsum_v8(acc)
}

pub fn dot_q6_k_tiled(x: &[BlockQ6K], y: &[BlockQ8K]) -> f32 {
    let mut out = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        let l = q6_k_lanes(x, y);
        let s1 = hsum_i32x4(i32x4_add(l[0], l[1]));
        let res = fp16_to_f32(x.d) * s1 as f32;
        out = res.mul_add(y.d, out);
    }
    out
}
