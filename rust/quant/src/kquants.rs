//! Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K: super-blocks of 256 with sub-block scales.
//!
//! Quantizers are ggml's reference ones (`quantize_row_q*_K_ref`, which `ggml_quantize_chunk` runs
//! when there is no importance matrix), float operation for float operation, so the bytes match
//! ggml's; dequantizers match `dequantize_row_q*_K` bit for bit. Callers (lib.rs) have checked that
//! `x.len() == y.len() * QK_K`.

use crate::blocks::*;
use crate::cround::nearest_int;
use crate::float::{f32_to_fp16, fp16_to_f32};
use crate::scale_search::{make_q3_quants, make_qkx2_quants, make_qx_quants, GROUP_MAX_EPS};

/// Packs 2-bit values (0..=3) the way Q2_K and Q3_K store them: byte `l` of each 32-byte run holds
/// elements l, l+32, l+64, l+96 of the run's 128 elements.
fn pack_2bit(l: &[u8; QK_K], qs: &mut [u8; QK_K / 4]) {
    for (half, qs) in l.chunks_exact(128).zip(qs.chunks_exact_mut(32)) {
        for (j, q) in qs.iter_mut().enumerate() {
            *q = half[j] | (half[j + 32] << 2) | (half[j + 64] << 4) | (half[j + 96] << 6);
        }
    }
}

/// The 8 6-bit (scale, min) pairs of Q4_K/Q5_K into 12 bytes (inverse of `get_scale_min_k4`).
fn pack_scale_min_k4(ls: &[u8; 8], lm: &[u8; 8]) -> [u8; K_SCALE_SIZE] {
    let mut s = [0u8; K_SCALE_SIZE];
    for j in 0..8 {
        if j < 4 {
            s[j] = ls[j];
            s[j + 4] = lm[j];
        } else {
            s[j + 4] = (ls[j] & 0xF) | ((lm[j] & 0xF) << 4);
            s[j - 4] |= (ls[j] >> 4) << 6;
            s[j] |= (lm[j] >> 4) << 6;
        }
    }
    s
}

// ---- Q2_K ---------------------------------------------------------------------------------------

pub(crate) fn quantize_q2_k(x: &[f32], y: &mut [BlockQ2K]) {
    const Q4SCALE: f32 = 15.0;
    let mut l = [0u8; QK_K];
    let mut aux = [0u8; 16];
    let mut weights = [0.0f32; 16];
    let mut mins = [0.0f32; QK_K / 16];
    let mut scales = [0.0f32; QK_K / 16];
    for (x, y) in x.chunks_exact(QK_K).zip(y) {
        let mut max_scale = 0.0f32;
        let mut max_min = 0.0f32;
        for j in 0..QK_K / 16 {
            let xg = &x[16 * j..16 * j + 16];
            for (w, &v) in weights.iter_mut().zip(xg) {
                *w = v.abs();
            }
            let lg = &mut l[16 * j..16 * j + 16];
            scales[j] = make_qkx2_quants(
                3,
                xg,
                &weights,
                lg,
                &mut mins[j],
                &mut aux,
                -0.5,
                0.1,
                15,
                true,
            );
            if scales[j] > max_scale {
                max_scale = scales[j];
            }
            if mins[j] > max_min {
                max_min = mins[j];
            }
        }
        if max_scale > 0.0 {
            let iscale = Q4SCALE / max_scale;
            for (s, &scale) in y.scales.iter_mut().zip(&scales) {
                *s = nearest_int(iscale * scale) as u8;
            }
            y.d = f32_to_fp16(max_scale / Q4SCALE);
        } else {
            y.scales = [0; QK_K / 16];
            y.d = f32_to_fp16(0.0);
        }
        if max_min > 0.0 {
            let iscale = Q4SCALE / max_min;
            for (s, &min) in y.scales.iter_mut().zip(&mins) {
                *s |= (nearest_int(iscale * min) << 4) as u8;
            }
            y.dmin = f32_to_fp16(max_min / Q4SCALE);
        } else {
            y.dmin = f32_to_fp16(0.0);
        }
        // Requantize against the rounded scales actually stored.
        let (d_all, dmin_all) = (fp16_to_f32(y.d), fp16_to_f32(y.dmin));
        for j in 0..QK_K / 16 {
            let d = d_all * (y.scales[j] & 0xF) as f32;
            if d == 0.0 {
                continue;
            }
            let dm = dmin_all * (y.scales[j] >> 4) as f32;
            for ii in 0..16 {
                l[16 * j + ii] = nearest_int((x[16 * j + ii] + dm) / d).clamp(0, 3) as u8;
            }
        }
        pack_2bit(&l, &mut y.qs);
    }
}

pub(crate) fn dequantize_q2_k(x: &[BlockQ2K], y: &mut [f32]) {
    for (b, y) in x.iter().zip(y.chunks_exact_mut(QK_K)) {
        let d = fp16_to_f32(b.d);
        let min = fp16_to_f32(b.dmin);
        // Output groups of 16 in order: per 32-byte run of qs, per bit pair, the two 16-byte halves.
        let mut g = 0;
        for q in b.qs.chunks_exact(32) {
            for shift in [0, 2, 4, 6] {
                for q16 in q.chunks_exact(16) {
                    let sc = b.scales[g];
                    let dl = d * (sc & 0xF) as f32;
                    let ml = min * (sc >> 4) as f32;
                    for (o, &qv) in y[16 * g..16 * g + 16].iter_mut().zip(q16) {
                        *o = dl * ((qv >> shift) & 3) as f32 - ml;
                    }
                    g += 1;
                }
            }
        }
    }
}

// ---- Q3_K ---------------------------------------------------------------------------------------

pub(crate) fn quantize_q3_k(x: &[f32], y: &mut [BlockQ3K]) {
    let mut l = [0i8; QK_K];
    let mut scales = [0.0f32; QK_K / 16];
    for (x, y) in x.chunks_exact(QK_K).zip(y) {
        let mut max_scale = 0.0f32;
        let mut amax = 0.0f32;
        for j in 0..QK_K / 16 {
            scales[j] = make_q3_quants(4, &x[16 * j..16 * j + 16], &mut l[16 * j..16 * j + 16]);
            let scale = scales[j].abs();
            if scale > amax {
                amax = scale;
                max_scale = scales[j];
            }
        }
        let mut packed = [0u8; K_SCALE_SIZE];
        if max_scale != 0.0 {
            let iscale = -32.0 / max_scale;
            for (j, &s) in scales.iter().enumerate() {
                // C stores nearest_int into an int8_t first, then clamps to [-32, 31] and adds 32.
                let v = ((nearest_int(iscale * s) as i8).clamp(-32, 31) + 32) as u8;
                if j < 8 {
                    packed[j] = v & 0xF;
                } else {
                    packed[j - 8] |= (v & 0xF) << 4;
                }
                packed[j % 4 + 8] |= (v >> 4) << (2 * (j / 4));
            }
            y.d = f32_to_fp16(1.0 / iscale);
        } else {
            y.d = f32_to_fp16(0.0);
        }
        y.scales = packed;

        let d_all = fp16_to_f32(y.d);
        for (j, &sc) in q3k_scales(&packed).iter().enumerate() {
            let d = d_all * sc as f32;
            if d == 0.0 {
                continue;
            }
            for ii in 0..16 {
                l[16 * j + ii] = (nearest_int(x[16 * j + ii] / d).clamp(-4, 3) + 4) as i8;
            }
        }

        // High bit of element j goes to bit j / 32 of hmask[j % 32]; the low 2 bits stay in l.
        let mut lu = [0u8; QK_K];
        y.hmask = [0; QK_K / 8];
        for (j, (&lv, lu)) in l.iter().zip(lu.iter_mut()).enumerate() {
            let mut v = lv as u8;
            if v > 3 {
                y.hmask[j % 32] |= 1 << (j / 32);
                v -= 4;
            }
            *lu = v;
        }
        pack_2bit(&lu, &mut y.qs);
    }
}

pub(crate) fn dequantize_q3_k(x: &[BlockQ3K], y: &mut [f32]) {
    for (b, y) in x.iter().zip(y.chunks_exact_mut(QK_K)) {
        let d_all = fp16_to_f32(b.d);
        let scales = q3k_scales(&b.scales);
        // Groups of 16 in the same order as Q2_K; the high bit of bit pair p (of either run of
        // qs) is bit p (+ 4 for the second run) of the hmask byte at the same offset.
        let mut g = 0;
        for (run, q) in b.qs.chunks_exact(32).enumerate() {
            for (pair, shift) in [0, 2, 4, 6].into_iter().enumerate() {
                let m = 1u8 << (4 * run + pair);
                for half in 0..2 {
                    let dl = d_all * scales[g] as f32;
                    let q16 = &q[16 * half..16 * half + 16];
                    let h16 = &b.hmask[16 * half..16 * half + 16];
                    for ((o, &qv), &h) in y[16 * g..16 * g + 16].iter_mut().zip(q16).zip(h16) {
                        // a clear high bit means the 3-bit value is negative: q - 4
                        let low = ((qv >> shift) & 3) as i32;
                        let minus = if h & m != 0 { 0 } else { 4 };
                        *o = dl * (low - minus) as f32;
                    }
                    g += 1;
                }
            }
        }
    }
}

// ---- Q4_K / Q5_K --------------------------------------------------------------------------------

/// The shared first half of the Q4_K and Q5_K quantizers: per group of 32, the weighted min/scale
/// search, then 6-bit scales and mins relative to the largest, then quants against the stored
/// (rounded) scales. Fills `l` with values in 0..=nmax and returns (d, dmin, packed scales).
fn quantize_k_groups_of_32(
    x: &[f32],
    nmax: i32,
    rmin: f32,
    nstep: i32,
    l: &mut [u8; QK_K],
) -> (u16, u16, [u8; K_SCALE_SIZE]) {
    let mut aux = [0u8; 32];
    let mut weights = [0.0f32; 32];
    let mut mins = [0.0f32; QK_K / 32];
    let mut scales = [0.0f32; QK_K / 32];
    let mut max_scale = 0.0f32;
    let mut max_min = 0.0f32;
    for j in 0..QK_K / 32 {
        let xg = &x[32 * j..32 * j + 32];
        let mut sum_x2 = 0.0f32;
        for &v in xg {
            sum_x2 += v * v;
        }
        let av_x = (sum_x2 / 32.0).sqrt();
        for (w, &v) in weights.iter_mut().zip(xg) {
            *w = av_x + v.abs();
        }
        let lg = &mut l[32 * j..32 * j + 32];
        scales[j] = make_qkx2_quants(
            nmax,
            xg,
            &weights,
            lg,
            &mut mins[j],
            &mut aux,
            rmin,
            0.1,
            nstep,
            false,
        );
        if scales[j] > max_scale {
            max_scale = scales[j];
        }
        if mins[j] > max_min {
            max_min = mins[j];
        }
    }
    let inv_scale = if max_scale > 0.0 {
        63.0 / max_scale
    } else {
        0.0
    };
    let inv_min = if max_min > 0.0 { 63.0 / max_min } else { 0.0 };
    let mut ls = [0u8; 8];
    let mut lm = [0u8; 8];
    for j in 0..QK_K / 32 {
        // C: uint8_t ls = nearest_int(...) (wraps), then MIN(63, ls)
        ls[j] = (nearest_int(inv_scale * scales[j]) as u8).min(63);
        lm[j] = (nearest_int(inv_min * mins[j]) as u8).min(63);
    }
    let packed = pack_scale_min_k4(&ls, &lm);
    let d16 = f32_to_fp16(max_scale / 63.0);
    let dmin16 = f32_to_fp16(max_min / 63.0);

    let (d_all, dmin_all) = (fp16_to_f32(d16), fp16_to_f32(dmin16));
    for j in 0..QK_K / 32 {
        let (sc, m) = get_scale_min_k4(j, &packed);
        let d = d_all * sc as f32;
        if d == 0.0 {
            continue;
        }
        let dm = dmin_all * m as f32;
        for ii in 0..32 {
            l[32 * j + ii] = nearest_int((x[32 * j + ii] + dm) / d).clamp(0, nmax) as u8;
        }
    }
    (d16, dmin16, packed)
}

pub(crate) fn quantize_q4_k(x: &[f32], y: &mut [BlockQ4K]) {
    let mut l = [0u8; QK_K];
    for (x, y) in x.chunks_exact(QK_K).zip(y) {
        let (d, dmin, scales) = quantize_k_groups_of_32(x, 15, -1.0, 20, &mut l);
        y.d = d;
        y.dmin = dmin;
        y.scales = scales;
        for (l64, q) in l.chunks_exact(64).zip(y.qs.chunks_exact_mut(32)) {
            for (j, q) in q.iter_mut().enumerate() {
                *q = l64[j] | (l64[j + 32] << 4);
            }
        }
    }
}

pub(crate) fn dequantize_q4_k(x: &[BlockQ4K], y: &mut [f32]) {
    for (b, y) in x.iter().zip(y.chunks_exact_mut(QK_K)) {
        let d = fp16_to_f32(b.d);
        let min = fp16_to_f32(b.dmin);
        for (i, (q, y)) in
            b.qs.chunks_exact(32)
                .zip(y.chunks_exact_mut(64))
                .enumerate()
        {
            let (sc1, m1) = get_scale_min_k4(2 * i, &b.scales);
            let (sc2, m2) = get_scale_min_k4(2 * i + 1, &b.scales);
            let (d1, m1) = (d * sc1 as f32, min * m1 as f32);
            let (d2, m2) = (d * sc2 as f32, min * m2 as f32);
            for l in 0..32 {
                y[l] = d1 * (q[l] & 0xF) as f32 - m1;
                y[l + 32] = d2 * (q[l] >> 4) as f32 - m2;
            }
        }
    }
}

pub(crate) fn quantize_q5_k(x: &[f32], y: &mut [BlockQ5K]) {
    let mut l = [0u8; QK_K];
    for (x, y) in x.chunks_exact(QK_K).zip(y) {
        let (d, dmin, scales) = quantize_k_groups_of_32(x, 31, -0.5, 15, &mut l);
        y.d = d;
        y.dmin = dmin;
        y.scales = scales;
        let mut qh = [0u8; QK_K / 8];
        for (i, (l64, q)) in l
            .chunks_exact(64)
            .zip(y.qs.chunks_exact_mut(32))
            .enumerate()
        {
            for (j, q) in q.iter_mut().enumerate() {
                let (lo, hi) = (l64[j], l64[j + 32]);
                qh[j] |= (lo >> 4) << (2 * i) | (hi >> 4) << (2 * i + 1);
                *q = (lo & 0xF) | ((hi & 0xF) << 4);
            }
        }
        y.qh = qh;
    }
}

pub(crate) fn dequantize_q5_k(x: &[BlockQ5K], y: &mut [f32]) {
    for (b, y) in x.iter().zip(y.chunks_exact_mut(QK_K)) {
        let d = fp16_to_f32(b.d);
        let min = fp16_to_f32(b.dmin);
        for (i, (q, y)) in
            b.qs.chunks_exact(32)
                .zip(y.chunks_exact_mut(64))
                .enumerate()
        {
            let (sc1, m1) = get_scale_min_k4(2 * i, &b.scales);
            let (sc2, m2) = get_scale_min_k4(2 * i + 1, &b.scales);
            let (d1, m1) = (d * sc1 as f32, min * m1 as f32);
            let (d2, m2) = (d * sc2 as f32, min * m2 as f32);
            let (u1, u2) = (1u8 << (2 * i), 1u8 << (2 * i + 1));
            for l in 0..32 {
                let h1 = if b.qh[l] & u1 != 0 { 16 } else { 0 };
                let h2 = if b.qh[l] & u2 != 0 { 16 } else { 0 };
                y[l] = d1 * ((q[l] & 0xF) + h1) as f32 - m1;
                y[l + 32] = d2 * ((q[l] >> 4) + h2) as f32 - m2;
            }
        }
    }
}

// ---- Q6_K ---------------------------------------------------------------------------------------

pub(crate) fn quantize_q6_k(x: &[f32], y: &mut [BlockQ6K]) {
    let mut l = [0i8; QK_K];
    let mut scales = [0.0f32; QK_K / 16];
    for (x, y) in x.chunks_exact(QK_K).zip(y) {
        let mut max_scale = 0.0f32;
        let mut max_abs_scale = 0.0f32;
        for ib in 0..QK_K / 16 {
            let scale =
                make_qx_quants(32, &x[16 * ib..16 * ib + 16], &mut l[16 * ib..16 * ib + 16]);
            scales[ib] = scale;
            if scale.abs() > max_abs_scale {
                max_abs_scale = scale.abs();
                max_scale = scale;
            }
        }
        if max_abs_scale < GROUP_MAX_EPS {
            *y = bytemuck::Zeroable::zeroed();
            continue;
        }
        let iscale = -128.0 / max_scale;
        y.d = f32_to_fp16(1.0 / iscale);
        for (s, &scale) in y.scales.iter_mut().zip(&scales) {
            *s = nearest_int(iscale * scale).min(127) as i8;
        }
        let d_all = fp16_to_f32(y.d);
        for j in 0..QK_K / 16 {
            let d = d_all * y.scales[j] as f32;
            if d == 0.0 {
                continue;
            }
            for ii in 0..16 {
                l[16 * j + ii] = (nearest_int(x[16 * j + ii] / d).clamp(-32, 31) + 32) as i8;
            }
        }
        // Per 128 elements: 64 bytes of low nibbles, 32 bytes of 2-bit highs.
        for ((l, ql), qh) in l
            .chunks_exact(128)
            .zip(y.ql.chunks_exact_mut(64))
            .zip(y.qh.chunks_exact_mut(32))
        {
            for j in 0..32 {
                let (a, b, c, d) = (
                    l[j] as u8,
                    l[j + 32] as u8,
                    l[j + 64] as u8,
                    l[j + 96] as u8,
                );
                ql[j] = (a & 0xF) | ((c & 0xF) << 4);
                ql[j + 32] = (b & 0xF) | ((d & 0xF) << 4);
                qh[j] = (a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((d >> 4) << 6);
            }
        }
    }
}

pub(crate) fn dequantize_q6_k(x: &[BlockQ6K], y: &mut [f32]) {
    for (b, y) in x.iter().zip(y.chunks_exact_mut(QK_K)) {
        let d = fp16_to_f32(b.d);
        for (n, y) in y.chunks_exact_mut(128).enumerate() {
            let ql = &b.ql[64 * n..64 * n + 64];
            let qh = &b.qh[32 * n..32 * n + 32];
            let sc = &b.scales[8 * n..8 * n + 8];
            for l in 0..32 {
                let is = l / 16;
                let q1 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) as i32 - 32;
                let q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) as i32 - 32;
                let q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i32 - 32;
                let q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i32 - 32;
                y[l] = d * sc[is] as f32 * q1 as f32;
                y[l + 32] = d * sc[is + 2] as f32 * q2 as f32;
                y[l + 64] = d * sc[is + 4] as f32 * q3 as f32;
                y[l + 96] = d * sc[is + 6] as f32 * q4 as f32;
            }
        }
    }
}

// ---- Q8_K ---------------------------------------------------------------------------------------

/// ggml leaves `bsums` unwritten for an all-zero block (its callers' buffers happen to be zeroed
/// or unused); here they are zeroed, which is what they sum to.
pub(crate) fn quantize_q8_k(x: &[f32], y: &mut [BlockQ8K]) {
    for (x, y) in x.chunks_exact(QK_K).zip(y) {
        let (mut max, mut amax) = (0.0f32, 0.0f32);
        for &v in x {
            if v.abs() > amax {
                amax = v.abs();
                max = v;
            }
        }
        if amax == 0.0 {
            *y = bytemuck::Zeroable::zeroed();
            continue;
        }
        // -127, not -128: ggml's AVX code for IQ2_XXS needs the symmetric range.
        let iscale = -127.0 / max;
        for (q, &v) in y.qs.iter_mut().zip(x) {
            *q = nearest_int(iscale * v).min(127) as i8;
        }
        let mut bsums = [0i16; QK_K / 16];
        for (s, q) in bsums.iter_mut().zip(y.qs.chunks_exact(16)) {
            *s = q.iter().map(|&q| q as i32).sum::<i32>() as i16;
        }
        y.bsums = bsums;
        y.d = 1.0 / iscale;
    }
}

pub(crate) fn dequantize_q8_k(x: &[BlockQ8K], y: &mut [f32]) {
    for (b, y) in x.iter().zip(y.chunks_exact_mut(QK_K)) {
        let d = b.d;
        for (y, &q) in y.iter_mut().zip(&b.qs) {
            *y = d * q as f32;
        }
    }
}
