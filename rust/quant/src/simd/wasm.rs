//! WebAssembly SIMD128 versions of the kernels in `portable`, bit for bit equal to them (and so
//! to llama.cpp's x86 AVX2 kernels): each AVX `__m256` of 8 lanes is two `v128` of 4 lanes, lane
//! l of the AVX register being lane l%4 of half l/4.
//!
//! **Integer parts** are exact in any order. Built with `+relaxed-simd` (the package's relaxed
//! builds), a run of 4 byte products is one `i32x4.relaxed_dot_i8x16_i7x16_add`; its result is
//! fixed only while the second operand is in 0..=127, which holds for every weight format's
//! unsigned quants, and for signed ones through the sign trick (|w| times a with w's sign, as
//! ggml's AVX2 code does). Without relaxed SIMD they are 16-bit widening `i32x4.dot_i16x8_s`.
//!
//! **Float parts** are the same lane-wise operations as ggml's, and its fused multiply-adds must
//! stay fused. [`Fma4`] says how: [`Relaxed`] is `f32x4.relaxed_madd`, taken only where the
//! engine was seen to fuse it ([`madd_is_fused`]: V8 on x86-64 with FMA3, and on ARM64);
//! [`Emulated`] computes it exactly through f64 (see `crate::float::fma_via_f64`), redoing the
//! rare lanes it cannot round with the scalar `f32::mul_add`.
//!
//! Kernels are generic over the [`Fma4`]; `super::Kernel` hands out the instance to use.

use super::lanes::hsum8;
use crate::blocks::*;
use crate::float::fp16_to_f32;
use crate::float::Fmaf;
use core::arch::wasm32::*;

/// Two halves of an AVX register.
type V8 = [v128; 2];

/// A fused `a·b + c` on 4 f32 lanes.
pub trait Fma4 {
    fn fma4(a: v128, b: v128, c: v128) -> v128;
}

/// Exact through f64, on any engine.
pub struct Emulated;

impl Fma4 for Emulated {
    #[inline]
    fn fma4(a: v128, b: v128, c: v128) -> v128 {
        // Per f64 pair (see crate::float::fma_via_f64): the product is exact and the sum rounded
        // once to f64, then to f32 by the demotion — the fused result unless the f64 sum is an
        // f32 tie it was not exactly (TwoSum's error term, computed only when a tie shows up), or
        // lies below f32's normal range. Such lanes are redone with the scalar `f32::mul_add`.
        let hi_half = |x: v128| i32x4_shuffle::<2, 3, 0, 1>(x, x);
        let halves = [(a, b, c), (hi_half(a), hi_half(b), hi_half(c))].map(|(a, b, c)| {
            let xy = f64x2_mul(f64x2_promote_low_f32x4(a), f64x2_promote_low_f32x4(b));
            let c = f64x2_promote_low_f32x4(c);
            let r = f64x2_add(xy, c);
            let low = v128_and(r, i64x2_splat(0x1fff_ffff));
            let tie = i64x2_eq(low, i64x2_splat(0x1000_0000));
            let tiny = f64x2_lt(f64x2_abs(r), f64x2_splat(f32::MIN_POSITIVE as f64));
            let zero = f64x2_eq(r, f64x2_splat(0.0));
            (xy, c, r, tie, v128_andnot(tiny, zero))
        });
        let mut redo = v128_or(halves[0].4, halves[1].4);
        if v128_any_true(v128_or(halves[0].3, halves[1].3)) {
            for &(xy, c, r, tie, _) in &halves {
                let y_part = f64x2_sub(r, xy);
                let err = f64x2_add(f64x2_sub(xy, f64x2_sub(r, y_part)), f64x2_sub(c, y_part));
                let inexact = f64x2_ne(err, f64x2_splat(0.0));
                redo = v128_or(redo, v128_and(tie, inexact));
            }
        }
        if v128_any_true(redo) {
            let (a, b, c) = (to_f32s(a), to_f32s(b), to_f32s(c));
            let r: [f32; 4] = std::array::from_fn(|i| a[i].mul_add(b[i], c[i]));
            return f32x4(r[0], r[1], r[2], r[3]);
        }
        let lo = f32x4_demote_f64x2_zero(halves[0].2);
        let hi = f32x4_demote_f64x2_zero(halves[1].2);
        i32x4_shuffle::<0, 1, 4, 5>(lo, hi)
    }
}

/// `f32x4.relaxed_madd`: one instruction, fused where [`madd_is_fused`] says so.
#[cfg(target_feature = "relaxed-simd")]
pub struct Relaxed;

#[cfg(target_feature = "relaxed-simd")]
impl Fma4 for Relaxed {
    #[inline]
    fn fma4(a: v128, b: v128, c: v128) -> v128 {
        f32x4_relaxed_madd(a, b, c)
    }
}

/// Whether this engine's `f32x4.relaxed_madd` is a fused multiply-add (checked once): with
/// a = 1 + 2⁻¹², a·a − (1 + 2⁻¹¹) is 2⁻²⁴ fused and 0 when the product is rounded first.
#[cfg(target_feature = "relaxed-simd")]
pub fn madd_is_fused() -> bool {
    use std::sync::OnceLock;
    static FUSED: OnceLock<bool> = OnceLock::new();
    *FUSED.get_or_init(|| {
        let a = f32x4_splat(core::hint::black_box(1.0 + 1.0 / 4096.0));
        let c = f32x4_splat(core::hint::black_box(-(1.0 + 1.0 / 2048.0)));
        let r = f32x4_relaxed_madd(a, a, c);
        to_f32s(r) == [1.0 / 16_777_216.0; 4]
    })
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

/// The horizontal sums of four i32x4, as one i32x4 (exact: integer adds).
#[inline]
fn hsum4_i32x4(v: [v128; 4]) -> v128 {
    let s01 = i32x4_add(
        i32x4_shuffle::<0, 4, 1, 5>(v[0], v[1]),
        i32x4_shuffle::<2, 6, 3, 7>(v[0], v[1]),
    );
    let s23 = i32x4_add(
        i32x4_shuffle::<0, 4, 1, 5>(v[2], v[3]),
        i32x4_shuffle::<2, 6, 3, 7>(v[2], v[3]),
    );
    i32x4_add(
        i32x4_shuffle::<0, 1, 4, 5>(s01, s23),
        i32x4_shuffle::<2, 3, 6, 7>(s01, s23),
    )
}

/// 4×4 transpose of i32 lanes: `out[j][i] = v[i][j]`.
#[inline]
fn transpose4(v: [v128; 4]) -> [v128; 4] {
    let t0 = i32x4_shuffle::<0, 4, 1, 5>(v[0], v[1]);
    let t1 = i32x4_shuffle::<2, 6, 3, 7>(v[0], v[1]);
    let t2 = i32x4_shuffle::<0, 4, 1, 5>(v[2], v[3]);
    let t3 = i32x4_shuffle::<2, 6, 3, 7>(v[2], v[3]);
    [
        i32x4_shuffle::<0, 1, 4, 5>(t0, t2),
        i32x4_shuffle::<2, 3, 6, 7>(t0, t2),
        i32x4_shuffle::<0, 1, 4, 5>(t1, t3),
        i32x4_shuffle::<2, 3, 6, 7>(t1, t3),
    ]
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

/// Sums of 4 consecutive products of 16 signed bytes `a` and bytes `w` in 0..=127: AVX lanes.
#[inline]
fn quad_dots_u7(w: v128, a: v128) -> v128 {
    #[cfg(target_feature = "relaxed-simd")]
    {
        i32x4_relaxed_dot_i8x16_i7x16_add(a, w, i32x4_splat(0))
    }
    #[cfg(not(target_feature = "relaxed-simd"))]
    {
        let lo = i32x4_dot_i16x8(u16x8_extend_low_u8x16(w), i16x8_extend_low_i8x16(a));
        let hi = i32x4_dot_i16x8(u16x8_extend_high_u8x16(w), i16x8_extend_high_i8x16(a));
        i32x4_add(
            i32x4_shuffle::<0, 2, 4, 6>(lo, hi),
            i32x4_shuffle::<1, 3, 5, 7>(lo, hi),
        )
    }
}

/// A signed operand prepared for the sign trick: |x| (0..=127, or 128 read as unsigned, which
/// both engines' lowerings multiply correctly) and where x is negative.
#[derive(Clone, Copy)]
struct Signed {
    abs: v128,
    neg: v128,
}

#[inline]
fn signed(x: v128) -> Signed {
    Signed {
        abs: i8x16_abs(x),
        neg: i8x16_lt(x, i8x16_splat(0)),
    }
}

/// Sums of 4 consecutive products of `s` (prepared by [`signed`]) and signed bytes `y`:
/// |s| · (y with s's sign), the products of ggml's `mul_sum_i8_pairs`.
#[inline]
fn quad_dots_signed(s: Signed, y: v128) -> v128 {
    let y_signed = v128_bitselect(i8x16_neg(y), y, s.neg);
    quad_dots_u7(s.abs, y_signed)
}

#[inline]
fn fma8<F: Fma4>(d: v128, q: V8, acc: V8) -> V8 {
    [
        F::fma4(d, f32x4_convert_i32x4(q[0]), acc[0]),
        F::fma4(d, f32x4_convert_i32x4(q[1]), acc[1]),
    ]
}

// ---- blocks of 32 -------------------------------------------------------------------------------

/// A block's 32 low-nibble values as two v128 (elements 0..15, 16..31).
#[inline]
fn nibbles(qs: &[u8; 16]) -> V8 {
    let q = load16(qs);
    let m = u8x16_splat(0xF);
    [v128_and(q, m), u8x16_shr(q, 4)]
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

/// A weight block of 32 as signed bytes, with its scale (fp16 bits).
pub trait Q0Block: bytemuck::Pod {
    fn values(&self) -> V8;
    fn d(&self) -> u16;
}

impl Q0Block for BlockQ4_0 {
    #[inline]
    fn values(&self) -> V8 {
        nibbles(&self.qs).map(|v| i8x16_sub(v, i8x16_splat(8)))
    }
    fn d(&self) -> u16 {
        self.d
    }
}

impl Q0Block for BlockQ5_0 {
    #[inline]
    fn values(&self) -> V8 {
        let qh = u32::from_le_bytes(self.qh);
        let n = nibbles(&self.qs);
        [0, 1].map(|h| i8x16_sub(v128_or(n[h], fifth_bits(qh, h)), i8x16_splat(16)))
    }
    fn d(&self) -> u16 {
        self.d
    }
}

impl Q0Block for BlockQ8_0 {
    #[inline]
    fn values(&self) -> V8 {
        [load16i(&self.qs[..16]), load16i(&self.qs[16..])]
    }
    fn d(&self) -> u16 {
        self.d
    }
}

#[inline]
fn act_q8_0(y: &BlockQ8_0) -> V8 {
    [load16i(&y.qs[..16]), load16i(&y.qs[16..])]
}

/// portable::q0_dot: `acc = fma(dx·dy, lanes, acc)` per block, `hsum8`.
pub fn dot_q0<X: Q0Block, F: Fma4>(x: &[X], y: &[BlockQ8_0]) -> f32 {
    let mut acc = [f32x4_splat(0.0); 2];
    for (x, y) in x.iter().zip(y) {
        let dd = f32x4_splat(fp16_to_f32(x.d()) * fp16_to_f32(y.d));
        let w = x.values().map(signed);
        let a = act_q8_0(y);
        let q = [0, 1].map(|h| quad_dots_signed(w[h], a[h]));
        acc = fma8::<F>(dd, q, acc);
    }
    hsum_v8(acc)
}

#[inline]
fn act_rows<Y: bytemuck::Pod>(a: &[u8], a_row: usize, r: usize) -> &[Y] {
    bytemuck::cast_slice(&a[r * a_row..(r + 1) * a_row])
}

/// [`dot_q0`] of one weight row against several activation rows (prefill): the weight block is
/// unpacked once for four rows.
pub fn rows_q0<X: Q0Block, F: Fma4>(x: &[X], a: &[u8], a_row: usize, out: &mut [f32]) {
    let mut r = 0;
    while r + 4 <= out.len() {
        let ys: [&[BlockQ8_0]; 4] = std::array::from_fn(|i| act_rows(a, a_row, r + i));
        let mut acc = [[f32x4_splat(0.0); 2]; 4];
        for (b, xb) in x.iter().enumerate() {
            let w = xb.values().map(signed);
            let dx = fp16_to_f32(xb.d());
            for (acc, y) in acc.iter_mut().zip(&ys) {
                let y = &y[b];
                let a = act_q8_0(y);
                let q = [0, 1].map(|h| quad_dots_signed(w[h], a[h]));
                *acc = fma8::<F>(f32x4_splat(dx * fp16_to_f32(y.d)), q, *acc);
            }
        }
        for (i, acc) in acc.iter().enumerate() {
            out[r + i] = hsum_v8(*acc);
        }
        r += 4;
    }
    for (i, o) in out.iter_mut().enumerate().skip(r) {
        *o = dot_q0::<X, F>(x, act_rows(a, a_row, i));
    }
}

/// [`dot_q0`] of several weight rows against one activation row (decode): the activation block
/// is loaded and prepared once for four weight rows.
pub fn cols_q0<X: Q0Block, F: Fma4>(w: &[u8], w_row: usize, y: &[BlockQ8_0], out: &mut [f32]) {
    let mut r = 0;
    while r + 4 <= out.len() {
        let xs: [&[X]; 4] = std::array::from_fn(|i| act_rows(w, w_row, r + i));
        let mut acc = [[f32x4_splat(0.0); 2]; 4];
        for (b, yb) in y.iter().enumerate() {
            let a = act_q8_0(yb).map(signed);
            let dy = fp16_to_f32(yb.d);
            for (acc, x) in acc.iter_mut().zip(&xs) {
                let xb = &x[b];
                let v = xb.values();
                let q = [0, 1].map(|h| quad_dots_signed(a[h], v[h]));
                *acc = fma8::<F>(f32x4_splat(fp16_to_f32(xb.d()) * dy), q, *acc);
            }
        }
        for (i, acc) in acc.iter().enumerate() {
            out[r + i] = hsum_v8(*acc);
        }
        r += 4;
    }
    for (i, o) in out.iter_mut().enumerate().skip(r) {
        *o = dot_q0::<X, F>(act_rows(w, w_row, i), y);
    }
}

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
        pub fn $name<F: Fma4>(x: &[$x], y: &[BlockQ8_1]) -> f32 {
            let mut acc = [f32x4_splat(0.0); 2];
            let mut summs = 0.0f32;
            for (x, y) in x.iter().zip(y) {
                summs = fp16_to_f32(x.m).fmaf(fp16_to_f32(y.s), summs);
                let dd = f32x4_splat(fp16_to_f32(x.d) * fp16_to_f32(y.d));
                let w = $vec(x);
                let a = [load16i(&y.qs[..16]), load16i(&y.qs[16..])];
                let q = [0, 1].map(|h| quad_dots_u7(w[h], a[h]));
                acc = fma8::<F>(dd, q, acc);
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
        let w = x.values().map(signed);
        let a = act_q8_0(y);
        let s = hsum_i32x4(i32x4_add(
            quad_dots_signed(w[0], a[0]),
            quad_dots_signed(w[1], a[1]),
        ));
        acc = (s as f32).fmaf(fp16_to_f32(x.d) * fp16_to_f32(y.d), acc);
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
        let lo = quad_dots_u7(v128_and(bits, m), load16i(&y.qs[64 * j + 16 * h..]));
        let hi = quad_dots_u7(u8x16_shr(bits, 4), load16i(&y.qs[64 * j + 32 + 16 * h..]));
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

/// The four per-64 sums Σ scale·dot of a Q4_K super-block, as one i32x4.
#[inline]
fn q4_k_sb_sums(x: &BlockQ4K, y: &BlockQ8K, sc: &[i32; 8]) -> v128 {
    hsum4_i32x4(std::array::from_fn(|j| {
        let l = q4_k_sb_lanes(x, y, sc, j);
        i32x4_add(l[0], l[1])
    }))
}

pub fn dot_q4_k_q8_k<F: Fma4>(x: &[BlockQ4K], y: &[BlockQ8K]) -> f32 {
    let mut acc = [f32x4_splat(0.0); 2];
    let mut acc_m = f32x4_splat(0.0);
    for (x, y) in x.iter().zip(y) {
        let d = y.d * fp16_to_f32(x.d);
        let dmin = -y.d * fp16_to_f32(x.dmin);
        let (sc, m) = super::portable::k4_scales_mins(&x.scales);
        let mins = q4_k_min_sums(&m, y);
        let mins = f32x4_convert_i32x4(i32x4(mins[0], mins[1], mins[2], mins[3]));
        acc_m = F::fma4(f32x4_splat(dmin), mins, acc_m);
        let mut sumi = [i32x4_splat(0); 2];
        for j in 0..4 {
            let l = q4_k_sb_lanes(x, y, &sc, j);
            sumi = [i32x4_add(sumi[0], l[0]), i32x4_add(sumi[1], l[1])];
        }
        acc = fma8::<F>(f32x4_splat(d), sumi, acc);
    }
    let m = to_f32s(acc_m);
    hsum_v8(acc) + ((m[0] + m[2]) + (m[1] + m[3]))
}

pub fn dot_q4_k_gemv(x: &[BlockQ4K], y: &[BlockQ8K]) -> f32 {
    let (mut acc, mut acc_m) = (0.0f32, 0.0f32);
    for (x, y) in x.iter().zip(y) {
        let (sc, m) = super::portable::k4_scales_mins(&x.scales);
        let isum = hsum_i32x4(q4_k_sb_sums(x, y, &sc));
        let imin: i32 = q4_k_min_sums(&m, y).iter().sum();
        acc = (isum as f32).fmaf(fp16_to_f32(x.d) * y.d, acc);
        acc_m = (imin as f32).fmaf(fp16_to_f32(x.dmin) * y.d, acc_m);
    }
    acc - acc_m
}

pub fn dot_q4_k_gemm(x: &[BlockQ4K], y: &[BlockQ8K]) -> f32 {
    let (mut acc, mut acc_m) = (0.0f32, 0.0f32);
    for (x, y) in x.iter().zip(y) {
        let (sc, m) = super::portable::k4_scales_mins(&x.scales);
        let mins = q4_k_min_sums(&m, y);
        let sums = q4_k_sb_sums(x, y, &sc);
        let sums = [
            i32x4_extract_lane::<0>(sums),
            i32x4_extract_lane::<1>(sums),
            i32x4_extract_lane::<2>(sums),
            i32x4_extract_lane::<3>(sums),
        ];
        let (dd, dm) = (fp16_to_f32(x.d) * y.d, fp16_to_f32(x.dmin) * y.d);
        for (&s, &mn) in sums.iter().zip(&mins) {
            acc = (s as f32).fmaf(dd, acc);
            acc_m = (mn as f32).fmaf(dm, acc_m);
        }
    }
    acc - acc_m
}

/// `x · y[i].d` per lane: a weight scale times four activation rows' scales, rounded as ggml's
/// scalar product.
#[inline]
fn times_d(x: f32, y: &[&BlockQ8K; 4]) -> v128 {
    f32x4(x * y[0].d, x * y[1].d, x * y[2].d, x * y[3].d)
}

/// [`dot_q4_k_gemm`] for several activation rows: four at a time, one lane per row, so its
/// scalar fused multiply-adds become vector ones.
pub fn rows_q4_k_gemm<F: Fma4>(x: &[BlockQ4K], a: &[u8], a_row: usize, out: &mut [f32]) {
    let mut r = 0;
    while r + 4 <= out.len() {
        let ys: [&[BlockQ8K]; 4] = std::array::from_fn(|i| act_rows(a, a_row, r + i));
        let (mut acc, mut acc_m) = (f32x4_splat(0.0), f32x4_splat(0.0));
        for (b, xb) in x.iter().enumerate() {
            let (sc, m) = super::portable::k4_scales_mins(&xb.scales);
            let (xd, xm) = (fp16_to_f32(xb.d), fp16_to_f32(xb.dmin));
            let y: [&BlockQ8K; 4] = std::array::from_fn(|i| &ys[i][b]);
            // sums[j] / mins[j]: step j of the four rows
            let sums = transpose4(y.map(|y| q4_k_sb_sums(xb, y, &sc)));
            let mins = transpose4(y.map(|y| {
                let m = q4_k_min_sums(&m, y);
                i32x4(m[0], m[1], m[2], m[3])
            }));
            let dd = times_d(xd, &y);
            let dm = times_d(xm, &y);
            for j in 0..4 {
                acc = F::fma4(f32x4_convert_i32x4(sums[j]), dd, acc);
                acc_m = F::fma4(f32x4_convert_i32x4(mins[j]), dm, acc_m);
            }
        }
        let d = to_f32s(f32x4_sub(acc, acc_m));
        out[r..r + 4].copy_from_slice(&d);
        r += 4;
    }
    for (i, o) in out.iter_mut().enumerate().skip(r) {
        *o = dot_q4_k_gemm(x, act_rows(a, a_row, i));
    }
}

/// [`dot_q4_k_gemv`] for several activation rows, four lanes at a time as [`rows_q4_k_gemm`].
pub fn rows_q4_k_gemv<F: Fma4>(x: &[BlockQ4K], a: &[u8], a_row: usize, out: &mut [f32]) {
    let mut r = 0;
    while r + 4 <= out.len() {
        let ys: [&[BlockQ8K]; 4] = std::array::from_fn(|i| act_rows(a, a_row, r + i));
        let (mut acc, mut acc_m) = (f32x4_splat(0.0), f32x4_splat(0.0));
        for (b, xb) in x.iter().enumerate() {
            let (sc, m) = super::portable::k4_scales_mins(&xb.scales);
            let (xd, xm) = (fp16_to_f32(xb.d), fp16_to_f32(xb.dmin));
            let y: [&BlockQ8K; 4] = std::array::from_fn(|i| &ys[i][b]);
            let isum = hsum4_i32x4(y.map(|y| q4_k_sb_sums(xb, y, &sc)));
            let imin = y.map(|y| q4_k_min_sums(&m, y).iter().sum::<i32>());
            let dd = times_d(xd, &y);
            let dm = times_d(xm, &y);
            acc = F::fma4(f32x4_convert_i32x4(isum), dd, acc);
            let imin = i32x4(imin[0], imin[1], imin[2], imin[3]);
            acc_m = F::fma4(f32x4_convert_i32x4(imin), dm, acc_m);
        }
        let d = to_f32s(f32x4_sub(acc, acc_m));
        out[r..r + 4].copy_from_slice(&d);
        r += 4;
    }
    for (i, o) in out.iter_mut().enumerate().skip(r) {
        *o = dot_q4_k_gemv(x, act_rows(a, a_row, i));
    }
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
                *o = i32x4_add(*o, i32x4_mul(quad_dots_u7(q, a), i32x4_splat(sc)));
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

pub fn dot_q6_k_q8_k<F: Fma4>(x: &[BlockQ6K], y: &[BlockQ8K]) -> f32 {
    let mut acc = [f32x4_splat(0.0); 2];
    for (x, y) in x.iter().zip(y) {
        let d = f32x4_splat(y.d * fp16_to_f32(x.d));
        acc = fma8::<F>(d, q6_k_lanes(x, y), acc);
    }
    hsum_v8(acc)
}

pub fn dot_q6_k_tiled(x: &[BlockQ6K], y: &[BlockQ8K]) -> f32 {
    let mut out = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        let l = q6_k_lanes(x, y);
        let s1 = hsum_i32x4(i32x4_add(l[0], l[1]));
        let res = fp16_to_f32(x.d) * s1 as f32;
        out = res.fmaf(y.d, out);
    }
    out
}

/// [`dot_q6_k_tiled`] for several activation rows, one lane per row, four at a time.
pub fn rows_q6_k_tiled<F: Fma4>(x: &[BlockQ6K], a: &[u8], a_row: usize, out: &mut [f32]) {
    let mut r = 0;
    while r + 4 <= out.len() {
        let ys: [&[BlockQ8K]; 4] = std::array::from_fn(|i| act_rows(a, a_row, r + i));
        let mut acc = f32x4_splat(0.0);
        for (b, xb) in x.iter().enumerate() {
            let y: [&BlockQ8K; 4] = std::array::from_fn(|i| &ys[i][b]);
            let s1 = hsum4_i32x4(y.map(|y| {
                let l = q6_k_lanes(xb, y);
                i32x4_add(l[0], l[1])
            }));
            let res = f32x4_mul(f32x4_splat(fp16_to_f32(xb.d)), f32x4_convert_i32x4(s1));
            acc = F::fma4(res, f32x4(y[0].d, y[1].d, y[2].d, y[3].d), acc);
        }
        out[r..r + 4].copy_from_slice(&to_f32s(acc));
        r += 4;
    }
    for (i, o) in out.iter_mut().enumerate().skip(r) {
        *o = dot_q6_k_tiled(x, act_rows(a, a_row, i));
    }
}

// ---- attention tiles (see super::tile) ----------------------------------------------------------

#[inline]
fn load4(p: &[f32]) -> v128 {
    assert!(p.len() >= 4);
    // SAFETY: 4 readable f32 (checked); no alignment requirement.
    unsafe { v128_load(p.as_ptr() as *const v128) }
}

#[inline]
fn store4(p: &mut [f32], v: v128) {
    assert!(p.len() >= 4);
    // SAFETY: 4 writable f32 (checked).
    unsafe { v128_store(p.as_mut_ptr() as *mut v128, v) }
}

/// tile::portable::scores with 4 keys per vector.
pub fn tile_scores<F: Fma4>(kt: &[f32], q: &[f32], scores: &mut [f32; super::tile::TILE]) {
    const N: usize = super::tile::TILE / 4;
    let mut acc = [f32x4_splat(0.0); N];
    for (row, &qd) in kt.chunks_exact(super::tile::TILE).zip(q) {
        let qv = f32x4_splat(qd);
        for (r, a) in acc.iter_mut().enumerate() {
            *a = F::fma4(load4(&row[4 * r..]), qv, *a);
        }
    }
    for (r, a) in acc.iter().enumerate() {
        store4(&mut scores[4 * r..], *a);
    }
}

/// tile::portable::axpy: `out[i] = fma(v[i], w, out[i])`, 4 at a time.
pub fn axpy<F: Fma4>(out: &mut [f32], v: &[f32], w: f32) {
    let n = out.len().min(v.len());
    let whole = n / 4 * 4;
    let ws = f32x4_splat(w);
    for i in (0..whole).step_by(4) {
        let o = F::fma4(load4(&v[i..]), ws, load4(&out[i..]));
        store4(&mut out[i..], o);
    }
    for i in whole..n {
        out[i] = v[i].fmaf(w, out[i]);
    }
}

/// [`dot_q4_k_gemv`] of four weight rows at a time against one activation row (decode): one lane
/// per weight row, so the per-super-block fused multiply-adds are vector ones.
pub fn cols_q4_k_gemv<F: Fma4>(w: &[u8], w_row: usize, y: &[BlockQ8K], out: &mut [f32]) {
    let mut r = 0;
    while r + 4 <= out.len() {
        let xs: [&[BlockQ4K]; 4] = std::array::from_fn(|i| act_rows(w, w_row, r + i));
        let (mut acc, mut acc_m) = (f32x4_splat(0.0), f32x4_splat(0.0));
        for (b, yb) in y.iter().enumerate() {
            let x: [&BlockQ4K; 4] = std::array::from_fn(|i| &xs[i][b]);
            let scales = x.map(|x| super::portable::k4_scales_mins(&x.scales));
            let isum = hsum4_i32x4(std::array::from_fn(|i| {
                q4_k_sb_sums(x[i], yb, &scales[i].0)
            }));
            let imin: [i32; 4] =
                std::array::from_fn(|i| q4_k_min_sums(&scales[i].1, yb).iter().sum());
            let dd = x.map(|x| fp16_to_f32(x.d) * yb.d);
            let dm = x.map(|x| fp16_to_f32(x.dmin) * yb.d);
            acc = F::fma4(
                f32x4_convert_i32x4(isum),
                f32x4(dd[0], dd[1], dd[2], dd[3]),
                acc,
            );
            let imin = i32x4(imin[0], imin[1], imin[2], imin[3]);
            acc_m = F::fma4(
                f32x4_convert_i32x4(imin),
                f32x4(dm[0], dm[1], dm[2], dm[3]),
                acc_m,
            );
        }
        out[r..r + 4].copy_from_slice(&to_f32s(f32x4_sub(acc, acc_m)));
        r += 4;
    }
    for (i, o) in out.iter_mut().enumerate().skip(r) {
        *o = dot_q4_k_gemv(act_rows(w, w_row, i), y);
    }
}
