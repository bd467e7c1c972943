//! The ggml-order kernels (`quant::simd`): every SIMD implementation equals the portable one bit
//! for bit, and both equal the scalar reference `quant::vec_dot` up to float summation order.

use quant::simd::{DotFn, Kernel, KERNELS};
use quant::GgmlType;

/// xorshift, deterministic inputs.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn f(&mut self) -> f32 {
        ((self.next() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// Rows with varied magnitudes per block (so scales differ) and some exact ties / outliers.
fn make_row(rng: &mut Rng, n: usize) -> Vec<f32> {
    let mut v = Vec::with_capacity(n);
    for b in 0..n / 32 {
        let scale = 0.01 + (b % 7) as f32 * 0.3;
        for _ in 0..32 {
            v.push(rng.f() * scale);
        }
        if b % 5 == 3 {
            let i = v.len() - 7;
            v[i] = -v.iter().rev().take(32).fold(0.0f32, |m, x| m.max(x.abs())) * 1.5;
        }
    }
    v
}

fn quantized(ty: GgmlType, x: &[f32]) -> Vec<u8> {
    let mut q = vec![0u8; ty.row_bytes(x.len()).unwrap()];
    quant::quantize_row(ty, x, &mut q).unwrap();
    q
}

fn activations(ty: GgmlType, x: &[f32]) -> Vec<u8> {
    let mut q = vec![0u8; ty.row_bytes(x.len()).unwrap()];
    quant::quantize_activations(ty, x, &mut q).unwrap();
    q
}

fn check_against(name: &str, f: DotFn) {
    let mut rng = Rng(0x9E3779B97F4A7C15);
    for k in KERNELS {
        let ty = k.weight_type();
        let at = ty.vec_dot_type();
        for n in [256usize, 512, 1280, 2048] {
            for _ in 0..20 {
                let w = quantized(ty, &make_row(&mut rng, n));
                let a = activations(at, &make_row(&mut rng, n));
                let spec = k.portable_fn().unwrap()(&w, &a);
                let got = f_for(name, *k, f).map(|g| g(&w, &a));
                if let Some(got) = got {
                    assert_eq!(
                        got.to_bits(),
                        spec.to_bits(),
                        "{name} {k:?} n={n}: {got} vs {spec}"
                    );
                }
                let reference = quant::vec_dot(ty, n, &w, &a).unwrap();
                let scale: f32 = {
                    let mut wf = vec![0.0; n];
                    let mut af = vec![0.0; n];
                    quant::dequantize_row(ty, &w, &mut wf).unwrap();
                    quant::dequantize_row(at, &a, &mut af).unwrap();
                    wf.iter().zip(&af).map(|(x, y)| (x * y).abs()).sum()
                };
                assert!(
                    (spec - reference).abs() <= 1e-5 * scale + 1e-6,
                    "{k:?} n={n}: ggml order {spec} vs reference {reference} (Σ|w·a| = {scale})"
                );
            }
        }
    }
}

/// `f` is only a marker for which implementation to take from the kernel.
fn f_for(name: &str, k: Kernel, _f: DotFn) -> Option<DotFn> {
    match name {
        "avx2" => k.avx2_fn(),
        "best" => k.dot_fn(),
        _ => k.portable_fn(),
    }
}

#[test]
fn portable_matches_reference_up_to_order() {
    check_against("portable", |_, _| 0.0);
}

#[test]
fn avx2_equals_portable_bit_for_bit() {
    if !quant::simd::has_avx2_fma() {
        eprintln!("no AVX2+FMA on this CPU: nothing to compare");
        return;
    }
    check_against("avx2", |_, _| 0.0);
}

#[test]
fn dot_fn_equals_portable_bit_for_bit() {
    check_against("best", |_, _| 0.0);
}

#[test]
fn q8_k_4x8_quantizer_differs_only_in_sign_choice() {
    let mut rng = Rng(7);
    for case in 0..50 {
        let mut x = make_row(&mut rng, 256);
        if case % 2 == 0 {
            // first element of largest magnitude negative, a later one positive: the rules differ
            let amax = x.iter().fold(0.0f32, |m, v| m.max(v.abs())) * 2.0;
            x[3] = -amax;
            x[200] = amax;
        }
        let mut r = vec![0u8; GgmlType::Q8_K.row_bytes(256).unwrap()];
        let mut g = r.clone();
        quant::quantize_row(GgmlType::Q8_K, &x, &mut r).unwrap();
        quant::simd::quantize_q8_k_4x8(&x, &mut g).unwrap();
        let (mut rf, mut gf) = (vec![0.0; 256], vec![0.0; 256]);
        quant::dequantize_row(GgmlType::Q8_K, &r, &mut rf).unwrap();
        quant::dequantize_row(GgmlType::Q8_K, &g, &mut gf).unwrap();
        if case % 2 == 0 {
            assert_ne!(r, g, "case {case}");
            // 4x8 rule: negative scale (−127/amax), so +amax quantizes to −127
            let d = f32::from_le_bytes(g[0..4].try_into().unwrap());
            assert!(d < 0.0);
        } else {
            assert_eq!(r, g, "case {case}");
        }
        for (a, b) in rf.iter().zip(&gf) {
            assert!((a - b).abs() <= 1.01 * (x.iter().fold(0.0f32, |m, v| m.max(v.abs())) / 127.0));
        }
    }
}

#[test]
fn rows_fn_equals_dot_fn_bit_for_bit() {
    let mut rng = Rng(42);
    for k in KERNELS {
        let Some(rows) = k.rows_fn() else { continue };
        let dot = k.dot_fn().unwrap();
        let ty = k.weight_type();
        let at = ty.vec_dot_type();
        for n in [256usize, 1280] {
            let w = quantized(ty, &make_row(&mut rng, n));
            let a_row = at.row_bytes(n).unwrap();
            for n_rows in [1usize, 3, 4, 7, 8, 17, 33] {
                let mut a = Vec::new();
                for _ in 0..n_rows {
                    a.extend(activations(at, &make_row(&mut rng, n)));
                }
                let mut out = vec![0.0f32; n_rows];
                rows(&w, &a, a_row, &mut out);
                for (i, o) in out.iter().enumerate() {
                    let want = dot(&w, &a[i * a_row..(i + 1) * a_row]);
                    assert_eq!(
                        o.to_bits(),
                        want.to_bits(),
                        "{k:?} n={n} rows={n_rows} row {i}"
                    );
                }
            }
        }
    }
}

#[test]
fn f16_attention_kernels_equal_portable_bit_for_bit() {
    use quant::simd::f16 as k;
    use quant::simd::tile;
    let mut rng = Rng(99);
    for n in [16usize, 32, 40, 64, 256] {
        let h: Vec<u16> = (0..n).map(|_| quant::f32_to_fp16(rng.f() * 3.0)).collect();
        let v: Vec<u16> = (0..n).map(|_| quant::f32_to_fp16(rng.f())).collect();
        let q: Vec<f32> = (0..n).map(|_| rng.f()).collect();
        assert_eq!(
            k::dot_f16(&h, &q).to_bits(),
            k::portable::dot_f16(&h, &q).to_bits(),
            "dot n={n}"
        );
        let s = rng.f();
        let (mut a, mut b) = (h.clone(), h.clone());
        k::mad_f16(&mut a, &v, s);
        k::portable::mad_f16(&mut b, &v, s);
        assert_eq!(a, b, "mad n={n}");
        k::scale_f16(&mut a, 0.37);
        k::portable::scale_f16(&mut b, 0.37);
        assert_eq!(a, b, "scale n={n}");
        let (mut o1, mut o2) = (q.clone(), q.clone());
        let vf: Vec<f32> = v.iter().map(|&h| quant::fp16_to_f32(h)).collect();
        tile::axpy(&mut o1, &vf, s);
        tile::portable::axpy(&mut o2, &vf, s);
        assert_eq!(o1, o2, "axpy n={n}");

        let kt: Vec<f32> = (0..n * tile::TILE).map(|_| rng.f()).collect();
        let (mut s1, mut s2) = ([0.0; tile::TILE], [0.0; tile::TILE]);
        tile::scores(&kt, &q, &mut s1);
        tile::portable::scores(&kt, &q, &mut s2);
        assert_eq!(s1.map(f32::to_bits), s2.map(f32::to_bits), "scores n={n}");
    }
}

#[test]
fn cols_fn_equals_dot_fn_bit_for_bit() {
    let mut rng = Rng(4242);
    for k in KERNELS {
        let Some(cols) = k.cols_fn() else { continue };
        let dot = k.dot_fn().unwrap();
        let ty = k.weight_type();
        let at = ty.vec_dot_type();
        // Gemma's 640-wide rows; K-quants (blocks of 256, whose cols form only wasm32 has) 1024
        let n = if ty.block_size() == 256 { 1024 } else { 640 };
        let w_row = ty.row_bytes(n).unwrap();
        for n_rows in [1usize, 4, 7, 13] {
            let mut w = Vec::new();
            for _ in 0..n_rows {
                w.extend(quantized(ty, &make_row(&mut rng, n)));
            }
            let a = activations(at, &make_row(&mut rng, n));
            let mut out = vec![0.0f32; n_rows];
            cols(&w, w_row, &a, &mut out);
            for (r, o) in out.iter().enumerate() {
                let want = dot(&w[r * w_row..(r + 1) * w_row], &a);
                assert_eq!(o.to_bits(), want.to_bits(), "{k:?} rows={n_rows} row {r}");
            }
        }
    }
}

/// The SIMD path under test is really the one compiled in (so the bit-for-bit tests above test it).
#[test]
fn the_expected_simd_path_is_selected() {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    for k in KERNELS {
        assert!(k.simd128_fn().is_some(), "{k:?} has no SIMD128 kernel");
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        for k in KERNELS {
            assert!(k.avx2_fn().is_some(), "{k:?} has no AVX2 kernel");
        }
    }
}

/// The run-time self-check the WebAssembly builds run (see quant::simd::self_check) passes here.
#[test]
fn self_check_passes() {
    let compared = quant::simd::self_check().unwrap();
    assert!(compared > 200, "{compared}");
    eprintln!(
        "{} : {compared} values equal",
        quant::simd::implementation()
    );
}

/// The interleaved Q4_K kernels (`q4k_x8`): every lane equals the portable row kernel of its
/// order bit for bit, and interleaving round-trips.
#[test]
fn q4_k_interleaved_kernels_equal_the_row_kernels() {
    use quant::simd::q4k_x8;
    let mut rng = Rng(0x2545F4914F6CDD1D);
    for n in [256usize, 1024, 2304] {
        let rows: Vec<Vec<u8>> = (0..8)
            .map(|_| quantized(GgmlType::Q4_K, &make_row(&mut rng, n)))
            .collect();
        let mut group = vec![0u8; q4k_x8::group_bytes(n)];
        q4k_x8::interleave(
            std::array::from_fn(|r| bytemuck::cast_slice(&rows[r])),
            &mut group,
        );
        for (r, row) in rows.iter().enumerate() {
            let back: Vec<quant::BlockQ4K> = bytemuck::cast_slice(&group)
                .iter()
                .map(|x| q4k_x8::block_of_row(x, r))
                .collect();
            let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
            quant::dequantize_row(GgmlType::Q4_K, row, &mut a).unwrap();
            quant::dequantize_row(GgmlType::Q4_K, bytemuck::cast_slice(&back), &mut b).unwrap();
            assert_eq!(a, b, "row {r} n={n} after interleaving");
        }
        let Some((gemm, gemv)) = q4k_x8::kernels() else {
            eprintln!("no interleaved kernels on this CPU; only the layout was checked");
            continue;
        };
        let acts: Vec<Vec<u8>> = (0..4)
            .map(|_| {
                let x = make_row(&mut rng, n);
                let mut q = vec![0u8; GgmlType::Q8_K.row_bytes(n).unwrap()];
                quant::simd::quantize_q8_k_4x8(&x, &mut q).unwrap();
                q
            })
            .collect();
        let gemm_out = gemm(&group, std::array::from_fn(|i| acts[i].as_slice()));
        let gemm_spec = Kernel::Q4KGemm.portable_fn().unwrap();
        let gemv_spec = Kernel::Q4KGemv.portable_fn().unwrap();
        for (i, a) in acts.iter().enumerate() {
            let gemv_out = gemv(&group, a);
            for (r, row) in rows.iter().enumerate() {
                let want = gemm_spec(row, a);
                assert_eq!(
                    gemm_out[i][r].to_bits(),
                    want.to_bits(),
                    "gemm n={n} act {i} row {r}"
                );
                let want = gemv_spec(row, a);
                assert_eq!(
                    gemv_out[r].to_bits(),
                    want.to_bits(),
                    "gemv n={n} act {i} row {r}"
                );
            }
        }
    }
}

#[test]
fn tile_fn_equals_dot_fn_bit_for_bit() {
    let mut rng = Rng(7);
    for k in KERNELS {
        let Some(tile) = k.tile_fn() else { continue };
        let dot = k.dot_fn().unwrap();
        let ty = k.weight_type();
        let at = ty.vec_dot_type();
        for n in [32usize, 640, 2048] {
            let w: Vec<Vec<u8>> = (0..2)
                .map(|_| quantized(ty, &make_row(&mut rng, n)))
                .collect();
            let a: Vec<Vec<u8>> = (0..4)
                .map(|_| activations(at, &make_row(&mut rng, n)))
                .collect();
            let scales: Vec<Vec<f32>> = a
                .iter()
                .map(|a| {
                    let blocks: &[quant::BlockQ8_0] = bytemuck::cast_slice(a);
                    blocks.iter().map(|b| quant::fp16_to_f32(b.d)).collect()
                })
                .collect();
            let out = tile(
                std::array::from_fn(|r| w[r].as_slice()),
                std::array::from_fn(|i| a[i].as_slice()),
                std::array::from_fn(|i| scales[i].as_slice()),
            );
            for r in 0..2 {
                for i in 0..4 {
                    let want = dot(&w[r], &a[i]);
                    assert_eq!(out[r][i].to_bits(), want.to_bits(), "{k:?} n={n} w{r} a{i}");
                }
            }
        }
    }
}
