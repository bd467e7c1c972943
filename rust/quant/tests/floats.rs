//! fp16/bf16 conversions against ggml's, through the hashes in tests/golden/quant/float.bin
//! (written by scripts/quant-dumps/dump.c; see `write_float_hashes` there for what is hashed).

mod common;

use common::{fnv1a_u32, golden_dir, FNV_OFFSET};
use quant::{bf16_to_f32, f32_to_bf16, f32_to_fp16, fp16_to_f32};

struct Hashes {
    fp16_to_f32: u32,
    bf16_to_f32: u32,
    f32_to_fp16_sampled: u32,
    f32_to_bf16_sampled: u32,
    f32_to_fp16_all: u32,
    f32_to_bf16_all: u32,
}

fn hashes() -> Hashes {
    let b = std::fs::read(golden_dir().join("float.bin")).expect("tests/golden/quant/float.bin");
    assert_eq!(&b[..4], b"WCQF");
    let u = |i: usize| u32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]]);
    assert_eq!(u(1), 1, "float.bin version");
    Hashes {
        fp16_to_f32: u(2),
        bf16_to_f32: u(3),
        f32_to_fp16_sampled: u(4),
        f32_to_bf16_sampled: u(5),
        f32_to_fp16_all: u(6),
        f32_to_bf16_all: u(7),
    }
}

/// `sample_bits` of dump.c: 2^24 patterns spread over all of u32, then every top-16-bit prefix with
/// 16 low halves chosen around the fp16 and bf16 rounding points.
fn sample_bits(i: u32) -> u32 {
    const LOWS: [u32; 16] = [
        0x0000, 0x0001, 0x0FFF, 0x1000, 0x1001, 0x1FFF, 0x2000, 0x2FFF, 0x3000, 0x3001, 0x7FFF,
        0x8000, 0x8001, 0xBFFF, 0xC000, 0xFFFF,
    ];
    if i < 1 << 24 {
        return i.wrapping_mul(2_654_435_761);
    }
    let i = i - (1 << 24);
    ((i >> 4) << 16) | LOWS[(i & 15) as usize]
}
const N_SAMPLES: u32 = (1 << 24) + (1 << 20);

#[test]
fn fp16_and_bf16_to_f32_match_ggml_for_every_input() {
    let h = hashes();
    let (mut a, mut b) = (FNV_OFFSET, FNV_OFFSET);
    for i in 0..=u16::MAX {
        a = fnv1a_u32(a, fp16_to_f32(i).to_bits());
        b = fnv1a_u32(b, bf16_to_f32(i).to_bits());
    }
    assert_eq!(a, h.fp16_to_f32, "fp16 -> f32 differs from ggml");
    assert_eq!(b, h.bf16_to_f32, "bf16 -> f32 differs from ggml");
}

#[test]
fn f32_to_fp16_and_bf16_match_ggml_on_samples() {
    let h = hashes();
    let (mut a, mut b) = (FNV_OFFSET, FNV_OFFSET);
    for i in 0..N_SAMPLES {
        let f = f32::from_bits(sample_bits(i));
        a = fnv1a_u32(a, f32_to_fp16(f) as u32);
        b = fnv1a_u32(b, f32_to_bf16(f) as u32);
    }
    assert_eq!(a, h.f32_to_fp16_sampled, "f32 -> fp16 differs from ggml");
    assert_eq!(b, h.f32_to_bf16_sampled, "f32 -> bf16 differs from ggml");
}

/// All 2^32 inputs (under a minute): `cargo test -p wasm-chord-quant -- --ignored`.
#[test]
#[ignore = "exhaustive; run with --ignored"]
fn f32_to_fp16_and_bf16_match_ggml_for_every_input() {
    let h = hashes();
    let (mut a, mut b) = (FNV_OFFSET, FNV_OFFSET);
    for bits in 0..=u32::MAX {
        let f = f32::from_bits(bits);
        a = fnv1a_u32(a, f32_to_fp16(f) as u32);
        b = fnv1a_u32(b, f32_to_bf16(f) as u32);
    }
    assert_eq!(a, h.f32_to_fp16_all, "f32 -> fp16 differs from ggml");
    assert_eq!(b, h.f32_to_bf16_all, "f32 -> bf16 differs from ggml");
}

#[test]
fn conversions_known_values() {
    assert_eq!(f32_to_fp16(1.0), 0x3C00);
    assert_eq!(f32_to_fp16(-2.0), 0xC000);
    assert_eq!(f32_to_fp16(65504.0), 0x7BFF);
    assert_eq!(f32_to_fp16(65520.0), 0x7C00, "rounds up to +inf");
    assert_eq!(f32_to_fp16(5.960_464_5e-8), 0x0001, "smallest subnormal");
    assert_eq!(
        f32_to_fp16(1.0 + 1.0 / 2048.0),
        0x3C00,
        "tie to even (down)"
    );
    assert_eq!(f32_to_fp16(1.0 + 3.0 / 2048.0), 0x3C02, "tie to even (up)");
    assert_eq!(f32_to_fp16(f32::NAN), 0x7E00);
    assert_eq!(
        f32_to_fp16(f32::from_bits(0xFF80_0001)),
        0xFE00,
        "NaN keeps sign, loses payload"
    );
    assert_eq!(fp16_to_f32(0x3555), 0.333_251_95);
    assert_eq!(fp16_to_f32(0x8001), -5.960_464_5e-8);

    assert_eq!(f32_to_bf16(1.0), 0x3F80);
    assert_eq!(
        f32_to_bf16(f32::from_bits(0x3F80_8000)),
        0x3F80,
        "tie to even (down)"
    );
    assert_eq!(
        f32_to_bf16(f32::from_bits(0x3F81_8000)),
        0x3F82,
        "tie to even (up)"
    );
    assert_eq!(
        f32_to_bf16(f32::from_bits(0x7F80_0001)),
        0x7FC0,
        "NaN made quiet"
    );
    assert_eq!(
        bf16_to_f32(0x7F81).to_bits(),
        0x7F81_0000,
        "signalling NaN passes through"
    );
    assert_eq!(bf16_to_f32(0xC040), -3.0);
}

/// `fma_via_f64` (the WebAssembly fused multiply-add) equals the correctly rounded `mul_add`
/// wherever it answers, on random bit patterns, on products of the kernels' kind (small integers
/// times fp16 scales, sums near cancellation) and on constructed f32 rounding ties.
#[test]
fn fma_via_f64_is_the_fused_result_or_declines() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let check =
        |a: f32, b: f32, c: f32, declined: &mut u32| match quant::float::fma_via_f64(a, b, c) {
            Some(r) => assert_eq!(
                r.to_bits(),
                a.mul_add(b, c).to_bits(),
                "fma({a:e}, {b:e}, {c:e})"
            ),
            None => *declined += 1,
        };
    let mut declined = 0;
    let mut ties = 0; // exact f32 ties in the f64 sum: the case double rounding gets wrong
    for _ in 0..2_000_000 {
        let r = next();
        let (a, b, c) = (
            f32::from_bits(r as u32),
            f32::from_bits((r >> 32) as u32),
            f32::from_bits(next() as u32),
        );
        check(a, b, c, &mut 0); // NaN, infinite and subnormal results are declined often here
                                // integer lane sums times a product of two fp16 scales, accumulated from 0 as the
                                // kernels do: few-bit operands, so the f64 sums are often exact f32 ties
        let mut acc = 0.0f32;
        for step in 0..2 {
            let r = next();
            let q = (r as i32 >> (12 + 8 * step)) as f32;
            let d = fp16_to_f32((r >> 32) as u16 & 0x3bff) * fp16_to_f32((r >> 48) as u16 & 0x3bff);
            check(d, q, acc, &mut declined);
            let exact = (d as f64) * (q as f64) + acc as f64;
            ties += (exact.to_bits() & 0x1fff_ffff == 0x1000_0000) as u32;
            acc = d.mul_add(q, acc);
        }
    }
    // ties: a·b = 1 + 2^-24 exactly (half an f32 ulp) plus a tiny c decides the rounding
    let a = 1.0 + f32::EPSILON / 2.0f32.powi(11);
    for c in [0.0f32, 1e-30, -1e-30, 2.0f32.powi(-60), -2.0f32.powi(-60)] {
        check(a, a, c - 1.0 - 2.0f32.powi(-11), &mut declined);
        check(a, a, c, &mut declined);
    }
    assert!(ties > 1000, "only {ties} ties exercised");
    assert!(
        declined < 100,
        "declined {declined} of 4 M kernel-like inputs"
    );
}
