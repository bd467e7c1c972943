//! Our kernels against llama.cpp's own output (tests/golden/quant/*.bin, made by
//! scripts/quant-dumps/make-dumps.sh from ggml built from source).
//!
//! * quantize_row: the same bytes as `ggml_quantize_chunk` (reference quantizers, no imatrix).
//! * dequantize_row: the same f32 bits as ggml's `to_float`, on ggml's bytes.
//! * vec_dot: within VEC_DOT_TOL of ggml's CPU backend (its SIMD kernel for the dump host) and of
//!   its scalar *_generic kernel, on ggml's bytes for both operands.

mod common;

use common::*;
use quant::{dequantize_row, quantize_activations, quantize_row, vec_dot, GgmlType};

/// vec_dot tolerance, relative to Σ|w_i·a_i| (the sum of the magnitudes of the terms, so a result
/// that cancels to near zero is not held to an impossible relative error). The integer block dots
/// are exact in every implementation; what differs is the order in which the per-block f32 terms
/// are added (ggml's AVX2 kernels keep 8 lanes and fuse multiply-adds, its generic K-quant kernels
/// keep 8 lanes, we keep one sum) and how the scale products are grouped. Each of the n/32 (or
/// n/256) additions can round by 2^-24 ≈ 6e-8 of the running magnitude. Observed on these dumps:
/// at most 7e-8 (Q6_K row 1 against the AVX2 kernel); 1e-6 leaves headroom yet still catches one
/// wrong block, whose term is 1/16 (or 1/2) of the row on average.
const VEC_DOT_TOL: f64 = 1e-6;

fn first_diff(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter().zip(b).position(|(x, y)| x != y)
}

fn check_quantize(ty: GgmlType) {
    let d = load(ty);
    let rb = d.row_bytes();
    let mut ours = vec![0u8; rb];
    for r in 0..N_ROWS {
        let x = &d.input[r * N_PER_ROW..(r + 1) * N_PER_ROW];
        quantize_row(ty, x, &mut ours).unwrap();
        let theirs = &d.quant[r * rb..(r + 1) * rb];
        if let Some(i) = first_diff(&ours, theirs) {
            let bs = ty.type_size();
            let blk = i / bs;
            panic!(
                "{ty} row {r}: quantized bytes differ from ggml at byte {i} (block {blk}, offset {})\n ours: {:02x?}\n ggml: {:02x?}",
                i % bs,
                &ours[blk * bs..(blk + 1) * bs],
                &theirs[blk * bs..(blk + 1) * bs]
            );
        }
    }
}

fn check_dequantize(ty: GgmlType) {
    let d = load(ty);
    let rb = d.row_bytes();
    let mut ours = vec![0.0f32; N_PER_ROW];
    for r in 0..N_ROWS {
        dequantize_row(ty, &d.quant[r * rb..(r + 1) * rb], &mut ours).unwrap();
        let expected: Vec<f32> = match &d.dequant {
            Some(g) => g[r * N_PER_ROW..(r + 1) * N_PER_ROW].to_vec(),
            // F32 has no to_float in ggml (identity); Q8_1 has none at all: x = d * q by definition.
            None if ty == GgmlType::F32 => d.input[r * N_PER_ROW..(r + 1) * N_PER_ROW].to_vec(),
            None => {
                assert_eq!(ty, GgmlType::Q8_1, "{ty}: dump lacks dequantized floats");
                let blocks: &[quant::BlockQ8_1] =
                    bytemuck::cast_slice(&d.quant[r * rb..(r + 1) * rb]);
                blocks
                    .iter()
                    .flat_map(|b| {
                        let s = quant::fp16_to_f32(b.d);
                        b.qs.map(|q| q as f32 * s)
                    })
                    .collect()
            }
        };
        for (i, (o, e)) in ours.iter().zip(&expected).enumerate() {
            assert_eq!(
                o.to_bits(),
                e.to_bits(),
                "{ty} row {r} element {i} (block {}): ours {o:e}, ggml {e:e}",
                i / ty.block_size()
            );
        }
    }
}

fn check_vec_dot(ty: GgmlType) {
    let d = load(ty);
    let (Some(act_q), Some(dots)) = (&d.act_q, &d.dots) else {
        // Q8_1 / Q8_K: no vec_dot in ggml, none here
        let rb = d.row_bytes();
        let err = vec_dot(ty, N_PER_ROW, &d.quant[..rb], &d.quant[..rb]).unwrap_err();
        assert!(
            matches!(err, quant::QuantError::Unsupported { .. }),
            "{err}"
        );
        return;
    };
    assert_eq!(
        d.vec_dot_type,
        ty.vec_dot_type(),
        "{ty}: vec_dot_type disagrees with ggml's"
    );
    let rb = d.row_bytes();
    let mut a = vec![0.0f32; N_PER_ROW];
    dequantize_row(d.vec_dot_type, act_q, &mut a).unwrap();
    let mut w = vec![0.0f32; N_PER_ROW];
    for r in 0..N_ROWS {
        let wrow = &d.quant[r * rb..(r + 1) * rb];
        let ours = vec_dot(ty, N_PER_ROW, wrow, act_q).unwrap() as f64;
        dequantize_row(ty, wrow, &mut w).unwrap();
        let mag: f64 = w
            .iter()
            .zip(&a)
            .map(|(&w, &a)| (w as f64 * a as f64).abs())
            .sum();
        let mut refs = vec![("ggml CPU", dots[r])];
        if let Some(g) = &d.dots_generic {
            refs.push(("ggml generic", g[r]));
        }
        for (what, theirs) in refs {
            let err = (ours - theirs as f64).abs() / mag.max(f64::MIN_POSITIVE);
            eprintln!(
                "{ty} row {r}: ours {ours:.9e} {what} {theirs:.9e} |diff|/sum|w*a| = {err:.2e}"
            );
            assert!(
                err <= VEC_DOT_TOL,
                "{ty} row {r}: vec_dot {ours:e} vs {what} {theirs:e}: {err:e} of sum|w*a| = {mag:e}"
            );
        }
    }
}

/// `quantize_activations` on the activation against the bytes ggml's CPU backend (x86, AVX2) made
/// for vec_dot: equal byte for byte for every type, Q8_0/Q8_1 (AVX code, not the reference) included.
fn check_activation_quantizer(ty: GgmlType) {
    let d = load(ty);
    let Some(act_q) = &d.act_q else { return };
    let vdt = d.vec_dot_type;
    let mut ours = vec![0u8; vdt.row_bytes(N_PER_ROW).unwrap()];
    quantize_activations(vdt, &d.activation, &mut ours).unwrap();
    let bs = vdt.type_size();
    let differing = ours
        .chunks(bs)
        .zip(act_q.chunks(bs))
        .filter(|(a, b)| a != b)
        .count();
    eprintln!(
        "{ty}: activation quantized to {vdt}: {differing} blocks differ from ggml's CPU from_float"
    );
    assert_eq!(
        differing, 0,
        "{ty}: activation bytes differ from ggml's {vdt} from_float"
    );
}

macro_rules! golden {
    ($($name:ident: $ty:ident,)*) => {
        $(mod $name {
            use super::*;
            #[test]
            fn quantize_bytes_equal_ggml() {
                check_quantize(GgmlType::$ty);
            }
            #[test]
            fn dequantize_bits_equal_ggml() {
                check_dequantize(GgmlType::$ty);
            }
            #[test]
            fn vec_dot_close_to_ggml() {
                check_vec_dot(GgmlType::$ty);
            }
            #[test]
            fn activation_quantizer() {
                check_activation_quantizer(GgmlType::$ty);
            }
        })*
        /// Every type has its golden tests.
        #[test]
        fn all_types_covered() {
            let listed = [$(GgmlType::$ty),*];
            for ty in GgmlType::ALL {
                assert!(listed.contains(&ty), "{ty} has no golden test");
            }
        }
    };
}

golden! {
    f32: F32,
    f16: F16,
    bf16: BF16,
    q4_0: Q4_0,
    q4_1: Q4_1,
    q5_0: Q5_0,
    q5_1: Q5_1,
    q8_0: Q8_0,
    q8_1: Q8_1,
    q2_k: Q2_K,
    q3_k: Q3_K,
    q4_k: Q4_K,
    q5_k: Q5_K,
    q6_k: Q6_K,
    q8_k: Q8_K,
}
