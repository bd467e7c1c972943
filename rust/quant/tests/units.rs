//! Unit tests of the format layer: sizes and ids, hand-built blocks with known values, round-trip
//! error bounds, vec_dot against a float dot of the dequantized rows, and errors on bad lengths.

mod common;

use common::Rng;
use quant::*;
use std::mem::size_of;

fn bell(seed: u32, n: usize) -> Vec<f32> {
    let mut r = Rng(seed);
    (0..n).map(|_| r.normalish()).collect()
}

fn quantized(ty: GgmlType, x: &[f32]) -> Vec<u8> {
    let mut q = vec![0u8; ty.row_bytes(x.len()).unwrap()];
    quantize_row(ty, x, &mut q).unwrap();
    q
}

fn dequantized(ty: GgmlType, q: &[u8], n: usize) -> Vec<f32> {
    let mut y = vec![0.0f32; n];
    dequantize_row(ty, q, &mut y).unwrap();
    y
}

// ---- types --------------------------------------------------------------------------------------

#[test]
fn block_structs_have_ggml_sizes() {
    let cases: [(GgmlType, usize, usize, usize); 15] = [
        (GgmlType::F32, 1, 4, 4),
        (GgmlType::F16, 1, 2, 2),
        (GgmlType::BF16, 1, 2, 2),
        (GgmlType::Q4_0, 32, 18, size_of::<BlockQ4_0>()),
        (GgmlType::Q4_1, 32, 20, size_of::<BlockQ4_1>()),
        (GgmlType::Q5_0, 32, 22, size_of::<BlockQ5_0>()),
        (GgmlType::Q5_1, 32, 24, size_of::<BlockQ5_1>()),
        (GgmlType::Q8_0, 32, 34, size_of::<BlockQ8_0>()),
        (GgmlType::Q8_1, 32, 36, size_of::<BlockQ8_1>()),
        (GgmlType::Q2_K, 256, 84, size_of::<BlockQ2K>()),
        (GgmlType::Q3_K, 256, 110, size_of::<BlockQ3K>()),
        (GgmlType::Q4_K, 256, 144, size_of::<BlockQ4K>()),
        (GgmlType::Q5_K, 256, 176, size_of::<BlockQ5K>()),
        (GgmlType::Q6_K, 256, 210, size_of::<BlockQ6K>()),
        (GgmlType::Q8_K, 256, 292, size_of::<BlockQ8K>()),
    ];
    for (ty, block, bytes, struct_size) in cases {
        assert_eq!(ty.block_size(), block, "{ty} block size");
        assert_eq!(ty.type_size(), bytes, "{ty} type size");
        assert_eq!(struct_size, bytes, "{ty} struct size");
        assert_eq!(ty.row_bytes(4 * block), Ok(4 * bytes), "{ty} row bytes");
    }
}

#[test]
fn ids_names_and_vec_dot_types() {
    for ty in GgmlType::ALL {
        assert_eq!(GgmlType::from_id(ty.id()), Some(ty));
        assert_eq!(ty.to_string(), ty.name());
        assert_eq!(ty.vec_dot_type().block_size(), ty.block_size(), "{ty}");
    }
    assert_eq!(GgmlType::from_id(30), Some(GgmlType::BF16));
    assert_eq!(GgmlType::Q4_K.id(), 12);
    for unknown in [4, 5, 16, 20, 29, 31, 39, 40, 1000] {
        assert_eq!(GgmlType::from_id(unknown), None, "id {unknown}");
    }
    assert_eq!(GgmlType::Q4_K.name(), "Q4_K");
    assert_eq!(GgmlType::BF16.name(), "BF16");
    use GgmlType::*;
    for (ty, vdt) in [
        (F32, F32),
        (F16, F16),
        (BF16, BF16),
        (Q4_0, Q8_0),
        (Q5_0, Q8_0),
        (Q8_0, Q8_0),
        (Q4_1, Q8_1),
        (Q5_1, Q8_1),
        (Q2_K, Q8_K),
        (Q3_K, Q8_K),
        (Q4_K, Q8_K),
        (Q5_K, Q8_K),
        (Q6_K, Q8_K),
    ] {
        assert_eq!(ty.vec_dot_type(), vdt, "{ty}");
    }
    assert!(!F16.is_quantized() && Q4_K.is_quantized());
}

// ---- hand-built blocks --------------------------------------------------------------------------

fn assert_dequant<B: bytemuck::Pod>(ty: GgmlType, blocks: &[B], expected: impl Fn(usize) -> f32) {
    let bytes: &[u8] = bytemuck::cast_slice(blocks);
    let n = blocks.len() * ty.block_size();
    let y = dequantized(ty, bytes, n);
    for (e, &v) in y.iter().enumerate() {
        assert_eq!(v, expected(e), "{ty} element {e}");
    }
}

#[test]
fn hand_built_q4_0_q4_1() {
    let qs: [u8; 16] = std::array::from_fn(|j| j as u8 | ((15 - j as u8) << 4));
    let b = BlockQ4_0 {
        d: f32_to_fp16(0.5),
        qs,
    };
    // element j < 16: low nibble j; element 16 + j: high nibble 15 - j; x = d * (q - 8)
    assert_dequant(GgmlType::Q4_0, &[b], |e| {
        let q = if e < 16 { e as f32 } else { (31 - e) as f32 };
        0.5 * (q - 8.0)
    });
    let b = BlockQ4_1 {
        d: f32_to_fp16(0.25),
        m: f32_to_fp16(-1.0),
        qs,
    };
    assert_dequant(GgmlType::Q4_1, &[b], |e| {
        let q = if e < 16 { e as f32 } else { (31 - e) as f32 };
        0.25 * q - 1.0
    });
}

#[test]
fn hand_built_q5_0_q5_1() {
    let qs: [u8; 16] = std::array::from_fn(|j| j as u8 | ((j as u8) << 4));
    let qh = 0xF0F0_AAAAu32.to_le_bytes(); // bit e is element e's fifth bit
    let q = |e: usize| {
        (e % 16) as f32
            + if (0xF0F0_AAAAu32 >> e) & 1 != 0 {
                16.0
            } else {
                0.0
            }
    };
    let b = BlockQ5_0 {
        d: f32_to_fp16(2.0),
        qh,
        qs,
    };
    assert_dequant(GgmlType::Q5_0, &[b], |e| 2.0 * (q(e) - 16.0));
    let b = BlockQ5_1 {
        d: f32_to_fp16(0.5),
        m: f32_to_fp16(3.0),
        qh,
        qs,
    };
    assert_dequant(GgmlType::Q5_1, &[b], |e| 0.5 * q(e) + 3.0);
}

#[test]
fn hand_built_q8_0_q8_1() {
    let qs: [i8; 32] = std::array::from_fn(|j| (j as i8 - 16) * 8);
    let b = BlockQ8_0 {
        d: f32_to_fp16(0.125),
        qs,
    };
    assert_dequant(GgmlType::Q8_0, &[b], |e| 0.125 * ((e as f32 - 16.0) * 8.0));
    let b = BlockQ8_1 {
        d: f32_to_fp16(0.125),
        s: 0,
        qs,
    };
    assert_dequant(GgmlType::Q8_1, &[b], |e| 0.125 * ((e as f32 - 16.0) * 8.0));
}

/// Q2_K and Q3_K low bits: element e of run e/128 sits in byte e%32 of that run's 32 bytes, at bit
/// pair (e%128)/32.
fn pack_2bit(q: impl Fn(usize) -> u8) -> [u8; 64] {
    let mut qs = [0u8; 64];
    for e in 0..256 {
        qs[32 * (e / 128) + e % 32] |= q(e) << (2 * ((e % 128) / 32));
    }
    qs
}

#[test]
fn hand_built_q2_k() {
    let q = |e: usize| ((e * 7 + 3) % 4) as u8;
    let scales: [u8; 16] = std::array::from_fn(|g| (g as u8) | ((15 - g as u8) << 4));
    let b = BlockQ2K {
        scales,
        qs: pack_2bit(q),
        d: f32_to_fp16(1.0),
        dmin: f32_to_fp16(0.5),
    };
    assert_dequant(GgmlType::Q2_K, &[b], |e| {
        let g = e / 16;
        1.0 * (scales[g] & 0xF) as f32 * q(e) as f32 - 0.5 * (scales[g] >> 4) as f32
    });
}

#[test]
fn hand_built_q3_k() {
    let s = |g: usize| ((g * 5 + 7) % 64) as u8; // 6-bit scale fields (value - 32 is the scale)
    let mut scales = [0u8; 12];
    for g in 0..16 {
        scales[g % 8] |= (s(g) & 0xF) << (4 * (g / 8));
        scales[8 + g % 4] |= (s(g) >> 4) << (2 * (g / 4));
    }
    let low = |e: usize| ((e * 3 + 1) % 4) as u8;
    let high = |e: usize| ((e / 3) % 2) as u8;
    let mut hmask = [0u8; 32];
    for e in 0..256 {
        hmask[e % 32] |= high(e) << (e / 32);
    }
    let b = BlockQ3K {
        hmask,
        qs: pack_2bit(low),
        scales,
        d: f32_to_fp16(0.25),
    };
    assert_dequant(GgmlType::Q3_K, &[b], |e| {
        let sc = s(e / 16) as i32 - 32;
        let q = (low(e) | (high(e) << 2)) as i32 - 4;
        0.25 * sc as f32 * q as f32
    });
}

/// Q4_K/Q5_K scales: (scale, min) of group g < 4 in bytes g and g+4; of g >= 4: low nibbles in byte
/// g+4, top two bits in the top bits of bytes g-4 (scale) and g (min).
fn pack_k4_scales(sc: impl Fn(usize) -> u8, mn: impl Fn(usize) -> u8) -> [u8; 12] {
    let mut s = [0u8; 12];
    for g in 0..8 {
        if g < 4 {
            s[g] |= sc(g);
            s[g + 4] |= mn(g);
        } else {
            s[g + 4] = (sc(g) & 0xF) | ((mn(g) & 0xF) << 4);
            s[g - 4] |= (sc(g) >> 4) << 6;
            s[g] |= (mn(g) >> 4) << 6;
        }
    }
    s
}

/// Q4_K/Q5_K low nibbles: element e sits in byte 32*(e/64) + e%32, low nibble if e%64 < 32.
fn pack_nibbles(q: impl Fn(usize) -> u8) -> [u8; 128] {
    let mut qs = [0u8; 128];
    for e in 0..256 {
        qs[32 * (e / 64) + e % 32] |= (q(e) & 0xF) << (4 * ((e % 64) / 32));
    }
    qs
}

#[test]
fn hand_built_q4_k_q5_k() {
    let sc = |g: usize| ((g * 9 + 5) % 64) as u8;
    let mn = |g: usize| ((g * 13 + 1) % 64) as u8;
    let scales = pack_k4_scales(sc, mn);
    for g in 0..8 {
        let mut packed = [0u8; 12];
        packed.copy_from_slice(&scales);
        assert_eq!(get_scale_min_k4(g, &packed), (sc(g), mn(g)), "group {g}");
    }
    let q4 = |e: usize| ((e * 5 + 2) % 16) as u8;
    let (d, dmin) = (f32_to_fp16(0.5), f32_to_fp16(0.125));
    let b = BlockQ4K {
        d,
        dmin,
        scales,
        qs: pack_nibbles(q4),
    };
    assert_dequant(GgmlType::Q4_K, &[b], |e| {
        let g = e / 32;
        0.5 * sc(g) as f32 * q4(e) as f32 - 0.125 * mn(g) as f32
    });

    let q5 = |e: usize| ((e * 11 + 3) % 32) as u8;
    let mut qh = [0u8; 32];
    for e in 0..256 {
        qh[e % 32] |= (q5(e) >> 4) << (e / 32); // the fifth bit of e: bit e/32 of qh[e%32]
    }
    let b = BlockQ5K {
        d,
        dmin,
        scales,
        qh,
        qs: pack_nibbles(q5),
    };
    assert_dequant(GgmlType::Q5_K, &[b], |e| {
        let g = e / 32;
        0.5 * sc(g) as f32 * q5(e) as f32 - 0.125 * mn(g) as f32
    });
}

#[test]
fn hand_built_q6_k() {
    let q = |e: usize| ((e * 11 + 7) % 64) as u8;
    let scales: [i8; 16] = std::array::from_fn(|g| (g as i32 * 13 - 100) as i8);
    let (mut ql, mut qh) = ([0u8; 128], [0u8; 64]);
    for e in 0..256 {
        let (n, quarter, l) = (e / 128, (e % 128) / 32, e % 32);
        // quarters 0 and 2 share ql[l], 1 and 3 share ql[l + 32]; 2 and 3 use the high nibble
        ql[64 * n + 32 * (quarter % 2) + l] |= (q(e) & 0xF) << (4 * (quarter / 2));
        qh[32 * n + l] |= (q(e) >> 4) << (2 * quarter);
    }
    let b = BlockQ6K {
        ql,
        qh,
        scales,
        d: f32_to_fp16(0.5),
    };
    assert_dequant(GgmlType::Q6_K, &[b], |e| {
        0.5 * scales[e / 16] as f32 * (q(e) as i32 - 32) as f32
    });
}

#[test]
fn hand_built_q8_k() {
    let qs: [i8; 256] = std::array::from_fn(|e| e as u8 as i8);
    let b = BlockQ8K {
        d: 0.75,
        qs,
        bsums: [0; 16],
    };
    assert_dequant(GgmlType::Q8_K, &[b], |e| 0.75 * (e as u8 as i8) as f32);
}

#[test]
fn quantize_known_blocks() {
    // Q8_0 of 0..31: amax 31, d = 31/127, every value exact up to rounding
    let x: Vec<f32> = (0..32).map(|i| i as f32).collect();
    let q = quantized(GgmlType::Q8_0, &x);
    let b: &BlockQ8_0 = bytemuck::from_bytes(&q);
    assert_eq!({ b.d }, f32_to_fp16(31.0 / 127.0));
    assert_eq!(b.qs[31], 127);
    assert_eq!(b.qs[0], 0);
    // Q4_0: the extreme 8 maps to -8 with d = 8 / -8 = -1, so x = -(q - 8)
    let mut x = [0.0f32; 32];
    x[3] = 8.0;
    x[4] = -4.0;
    let q = quantized(GgmlType::Q4_0, &x);
    let b: &BlockQ4_0 = bytemuck::from_bytes(&q);
    assert_eq!(fp16_to_f32(b.d), -1.0);
    assert_eq!(b.qs[3] & 0xF, 0);
    assert_eq!(b.qs[4] & 0xF, 12);
    assert_eq!(b.qs[0], 0x88);
    // all-zero input comes back as zeros in every format (Q4_0 stores it as q = 8 with d = -0.0:
    // ggml divides the signed maximum 0.0 by -8)
    let zeros = vec![0.0f32; 512];
    for ty in GgmlType::ALL {
        let q = quantized(ty, &zeros);
        assert!(dequantized(ty, &q, 512).iter().all(|&v| v == 0.0), "{ty}");
    }
    assert!(quantized(GgmlType::Q4_0, &zeros[..32])
        .iter()
        .eq([0u8, 0x80].iter().chain(&[0x88u8; 16])));
    // Q8_K sums
    let x: Vec<f32> = (0..256).map(|i| (i % 7) as f32 - 3.0).collect();
    let q = quantized(GgmlType::Q8_K, &x);
    let b: &BlockQ8K = bytemuck::from_bytes(&q);
    let qs = b.qs;
    let bsums = b.bsums;
    for g in 0..16 {
        let s: i32 = qs[16 * g..16 * g + 16].iter().map(|&q| q as i32).sum();
        assert_eq!(bsums[g] as i32, s);
    }
}

// ---- round trips --------------------------------------------------------------------------------

/// Root-mean-square error of quantize → dequantize relative to the input's RMS, on 8192 bell-shaped
/// values. Bounds sit 20% above what the reference quantizers achieve on this input (observed:
/// F16 2.1e-4, BF16 1.7e-3, Q8_0 5.1e-3, Q8_K 6.2e-3, Q6_K 1.7e-2, Q5_0 4.1e-2, Q5_1 3.7e-2,
/// Q5_K 3.5e-2, Q4_0 8.2e-2, Q4_1 7.5e-2, Q4_K 6.9e-2, Q3_K 0.146, Q2_K 0.284), so a regression
/// in a scale search shows up even where the bytes are not compared with ggml's.
#[test]
fn round_trip_error_bounds() {
    let n = 8192;
    let x = bell(7, n);
    let rms = (x.iter().map(|v| (v * v) as f64).sum::<f64>() / n as f64).sqrt();
    let bounds: [(GgmlType, f64); 15] = [
        (GgmlType::F32, 0.0),
        (GgmlType::F16, 2.5e-4),
        (GgmlType::BF16, 2.0e-3),
        (GgmlType::Q8_0, 6.1e-3),
        (GgmlType::Q8_1, 6.1e-3),
        (GgmlType::Q8_K, 7.5e-3),
        (GgmlType::Q6_K, 2.0e-2),
        (GgmlType::Q5_0, 4.9e-2),
        (GgmlType::Q5_1, 4.4e-2),
        (GgmlType::Q5_K, 4.2e-2),
        (GgmlType::Q4_0, 9.8e-2),
        (GgmlType::Q4_1, 9.0e-2),
        (GgmlType::Q4_K, 8.3e-2),
        (GgmlType::Q3_K, 1.75e-1),
        (GgmlType::Q2_K, 3.4e-1),
    ];
    for (ty, bound) in bounds {
        let y = dequantized(ty, &quantized(ty, &x), n);
        let mse = x
            .iter()
            .zip(&y)
            .map(|(a, b)| ((a - b) as f64).powi(2))
            .sum::<f64>()
            / n as f64;
        let rel = mse.sqrt() / rms;
        eprintln!("{ty}: relative RMS error {rel:.3e} (bound {bound:.1e})");
        assert!(
            rel <= bound,
            "{ty}: relative RMS error {rel:e} above {bound:e}"
        );
    }
}

/// Per element, Q8_0 is within half a step plus the fp16 rounding of its scale.
#[test]
fn q8_0_elementwise_bound() {
    let x = bell(11, 4096);
    let q = quantized(GgmlType::Q8_0, &x);
    let y = dequantized(GgmlType::Q8_0, &q, x.len());
    for (b, (xb, yb)) in x.chunks(32).zip(y.chunks(32)).enumerate() {
        let amax = xb.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let tol = d * (0.5 + 127.0 / 2048.0);
        for (a, b2) in xb.iter().zip(yb) {
            assert!((a - b2).abs() <= tol, "block {b}: {a} -> {b2} (tol {tol})");
        }
    }
}

/// Non-finite and extreme inputs never panic (overflow checks are on in tests).
#[test]
fn quantizers_survive_non_finite_input() {
    let specials = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        3e38,
        -3e38,
        1e-45,
        -0.0,
        7.0,
    ];
    for ty in GgmlType::ALL {
        for (k, &s) in specials.iter().enumerate() {
            let mut x = bell(k as u32 + 1, 512);
            x[k * 37 % 512] = s;
            x[(k * 101 + 300) % 512] = s;
            let q = quantized(ty, &x);
            let _ = dequantized(ty, &q, 512);
            if ty != GgmlType::Q8_1 && ty != GgmlType::Q8_K {
                let a = quantized(ty.vec_dot_type(), &x);
                let _ = vec_dot(ty, 512, &q, &a).unwrap();
            }
        }
    }
}

// ---- vec_dot against a float dot of the dequantized rows ----------------------------------------

/// vec_dot(w, a) equals Σ dequant(w)·dequant(a) up to float rounding; for Q4_1/Q5_1 the offset term
/// uses Q8_1's fp16 s = d·Σq (as ggml does), which adds up to 2^-11 of |m·s| per block.
#[test]
fn vec_dot_matches_dequantized_dot() {
    for n in [256usize, 4096] {
        for ty in GgmlType::ALL {
            if matches!(ty, GgmlType::Q8_1 | GgmlType::Q8_K) {
                continue;
            }
            let w = quantized(ty, &bell(3, n));
            let a = quantized(ty.vec_dot_type(), &bell(5, n));
            let wf = dequantized(ty, &w, n);
            let af = dequantized(ty.vec_dot_type(), &a, n);
            let exact: f64 = wf.iter().zip(&af).map(|(&x, &y)| x as f64 * y as f64).sum();
            let mag: f64 = wf
                .iter()
                .zip(&af)
                .map(|(&x, &y)| (x as f64 * y as f64).abs())
                .sum();
            let got = vec_dot(ty, n, &w, &a).unwrap() as f64;
            let tol = if matches!(ty, GgmlType::Q4_1 | GgmlType::Q5_1) {
                2e-3
            } else {
                1e-6
            };
            assert!(
                (got - exact).abs() <= tol * mag,
                "{ty} n={n}: vec_dot {got} vs {exact} (sum|w*a| {mag})"
            );
        }
    }
}

// ---- errors -------------------------------------------------------------------------------------

#[test]
fn bad_lengths_are_errors_not_panics() {
    for ty in GgmlType::ALL {
        let bs = ty.block_size();
        let ts = ty.type_size();
        let n = 2 * bs;
        let x = vec![1.0f32; n];
        let q = quantized(ty, &x);
        let mut y = vec![0.0f32; n];

        // wrong byte counts
        for len in [0, q.len() - 1, q.len() + 1, q.len() + ts] {
            let bytes = vec![0u8; len];
            assert_eq!(
                dequantize_row(ty, &bytes, &mut y),
                Err(QuantError::LengthMismatch {
                    ty,
                    what: "quantized row",
                    expected: q.len(),
                    found: len
                }),
            );
            let mut out = vec![0u8; len];
            assert!(matches!(
                quantize_row(ty, &x, &mut out),
                Err(QuantError::LengthMismatch { .. })
            ));
        }
        // element counts that are not whole blocks
        if bs > 1 {
            let mut short = vec![0.0f32; n - 1];
            let err = dequantize_row(ty, &q, &mut short).unwrap_err();
            assert_eq!(
                err,
                QuantError::NotBlockMultiple {
                    ty,
                    n: n - 1,
                    block_size: bs
                }
            );
            assert!(quantize_row(ty, &x[..n - 1], &mut vec![0u8; q.len()]).is_err());
            assert_eq!(
                ty.row_bytes(bs + 1),
                Err(QuantError::NotBlockMultiple {
                    ty,
                    n: bs + 1,
                    block_size: bs
                })
            );
        }
        // vec_dot
        if matches!(ty, GgmlType::Q8_1 | GgmlType::Q8_K) {
            assert_eq!(
                vec_dot(ty, n, &q, &q),
                Err(QuantError::Unsupported { ty, op: "vec_dot" })
            );
            continue;
        }
        let a = quantized(ty.vec_dot_type(), &x);
        assert!(vec_dot(ty, n, &q, &a).is_ok());
        assert!(matches!(
            vec_dot(ty, n, &q[1..], &a),
            Err(QuantError::LengthMismatch {
                what: "weight row",
                ..
            })
        ));
        assert!(matches!(
            vec_dot(ty, n, &q, &a[1..]),
            Err(QuantError::LengthMismatch {
                what: "activation row",
                ..
            })
        ));
        assert!(vec_dot(ty, 2 * n, &q, &a).is_err());
        if bs > 1 {
            assert!(matches!(
                vec_dot(ty, n - 1, &q, &a),
                Err(QuantError::NotBlockMultiple { .. })
            ));
        }
    }
    // rows too large for usize
    let n = usize::MAX / 32 * 32;
    assert_eq!(
        GgmlType::Q8_0.row_bytes(n),
        Err(QuantError::TooLarge {
            ty: GgmlType::Q8_0,
            n
        })
    );
    // messages carry the context
    let msg = dequantize_row(GgmlType::Q4_K, &[0u8; 10], &mut [0.0; 256])
        .unwrap_err()
        .to_string();
    assert_eq!(msg, "Q4_K: quantized row is 10 bytes, expected 144 bytes");
}

#[test]
fn empty_rows_and_unaligned_buffers() {
    for ty in GgmlType::ALL {
        dequantize_row(ty, &[], &mut []).unwrap();
        quantize_row(ty, &[], &mut []).unwrap();
        if !matches!(ty, GgmlType::Q8_1 | GgmlType::Q8_K) {
            assert_eq!(vec_dot(ty, 0, &[], &[]), Ok(0.0));
        }
        // blocks have alignment 1: a row at an odd address reads the same
        let x = bell(9, 256);
        let q = quantized(ty, &x);
        let mut shifted = vec![0u8; q.len() + 1];
        shifted[1..].copy_from_slice(&q);
        assert_eq!(
            dequantized(ty, &shifted[1..], 256),
            dequantized(ty, &q, 256),
            "{ty}"
        );
    }
}

/// Ties: with amax 127 the scale is 1, so 2.5 sits exactly between 2 and 3. The reference
/// quantizer rounds it away from zero (3); ggml's x86 CPU backend rounds activations to even (2).
#[test]
fn activation_quantizer_rounds_ties_to_even_like_ggml_cpu() {
    let mut x = vec![0.0f32; 32];
    x[0] = 127.0;
    x[1] = 2.5;
    x[2] = -3.5;
    for ty in [GgmlType::Q8_0, GgmlType::Q8_1] {
        let mut reference = vec![0u8; ty.type_size()];
        let mut cpu = vec![0u8; ty.type_size()];
        quant::quantize_row(ty, &x, &mut reference).unwrap();
        quant::quantize_activations(ty, &x, &mut cpu).unwrap();
        let qs_at = if ty == GgmlType::Q8_0 { 2 } else { 4 }; // after d (and s)
        assert_eq!(reference[qs_at + 1] as i8, 3, "{ty}");
        assert_eq!(cpu[qs_at + 1] as i8, 2, "{ty}");
        assert_eq!(cpu[qs_at + 2] as i8, -4, "{ty}");
    }
}
