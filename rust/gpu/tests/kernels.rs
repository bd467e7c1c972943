//! Every kernel against the CPU reference on random inputs, on the adapter wgpu finds (lavapipe in
//! CI). A missing adapter FAILS these tests: it never skips.
//!
//! Tolerances (named below): decoding (embed) and the f16 cache are bit for bit; matmul sums in a
//! different order than the f64 reference; RMS norm sums squares in f32 (the CPU in f64); attention
//! uses the GPU's exp.

use cpu::CpuBackend;
use gpu::{GpuBackend, MatmulKernel, MatvecKernel};
use model::backend::{
    AttentionParams, Backend, GatedActivation, RopeParams, RopeStyle, WeightDesc,
};
use quant::GgmlType;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// matmul: |gpu − ref| ≤ MATMUL_REL · Σ|w·x|: the GPU sums each row in f32 in partial sums at
/// most ~cols/4 roundings of ≤ 6e-8 deep (matvec, matmul: four interleaved lanes; matmul_tiled,
/// matmul_wide: 32-element steps, then the steps; matvec_rows: 32-element slices, then a tree): 128 + 2 for
/// the 512-column test rows, under 8e-6 even in the worst case.
const MATMUL_REL: f64 = 1e-5;
/// rms_norm: relative to the value (the scale differs by a few ulps).
const NORM_REL: f32 = 1e-5;
/// attention: absolute, relative to max |v| (the f16 accumulator can round the other way when the
/// GPU's exp differs in the last bit).
const ATTN_ABS: f32 = 2e-3;
/// rope: in units of f32::EPSILON × 2·max |x| (a bound on |x0·c| + |x1·s|): one extra rounding
/// of a product plus the result's own rounding, see the test.
const ROPE_ULPS: f32 = 2.0;
/// Values are drawn from (−V_MAX, V_MAX).
const V_MAX: f32 = 2.0;

fn gpu() -> GpuBackend {
    GpuBackend::new().unwrap_or_else(|e| {
        panic!("{e}\nThe GPU kernel tests need an adapter; on Linux run scripts/install-vulkan.sh (lavapipe).")
    })
}

fn random(rng: &mut StdRng, n: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-scale..scale)).collect()
}

/// `rows × cols` weights of `ty` from random values, as the quantizer writes them.
fn weight_bytes(rng: &mut StdRng, ty: GgmlType, rows: usize, cols: usize) -> Vec<u8> {
    let row_bytes = ty.row_bytes(cols).unwrap();
    let mut out = vec![0u8; rows * row_bytes];
    for r in 0..rows {
        // a spread of magnitudes per row so scales and mins differ from block to block
        let scale = 0.1 + r as f32 * 0.37;
        let src = random(rng, cols, scale);
        quant::quantize_row(ty, &src, &mut out[r * row_bytes..(r + 1) * row_bytes]).unwrap();
    }
    out
}

fn desc(name: &str, ty: GgmlType, rows: usize, cols: usize) -> WeightDesc {
    WeightDesc {
        name: name.into(),
        ty,
        cols,
        rows,
    }
}

fn dequant(ty: GgmlType, bytes: &[u8], rows: usize, cols: usize) -> Vec<f32> {
    let rb = ty.row_bytes(cols).unwrap();
    let mut out = vec![0.0f32; rows * cols];
    for r in 0..rows {
        quant::dequantize_row(
            ty,
            &bytes[r * rb..(r + 1) * rb],
            &mut out[r * cols..(r + 1) * cols],
        )
        .unwrap();
    }
    out
}

fn cols_for(ty: GgmlType) -> usize {
    if ty.block_size() == 256 {
        512
    } else {
        96
    }
}

#[test]
fn embed_dequantizes_every_format_bit_for_bit() {
    let mut g = gpu();
    let mut rng = StdRng::seed_from_u64(1);
    // every format, and F16 rows of 100 elements: embed decodes 32 elements per thread with the
    // format's dequant32 (matmul_tiled's decoder) and a row tail by dequant4
    let shapes = gpu::shaders::FORMATS
        .iter()
        .map(|&ty| (ty, cols_for(ty)))
        .chain([(GgmlType::F16, 100)]);
    for (ty, cols) in shapes {
        let rows = 7;
        let bytes = weight_bytes(&mut rng, ty, rows, cols);
        let want = dequant(ty, &bytes, rows, cols);
        for chunk_limit in [None, Some(2 * ty.row_bytes(cols).unwrap() as u64 + 8)] {
            g.set_chunk_limit(chunk_limit);
            let w = g.load_weight(&desc("t", ty, rows, cols), &bytes).unwrap();
            let ids = [6u32, 0, 3, 3, 1, 5, 2, 4];
            let x = g.embed(&w, &ids).unwrap();
            let got = g.read(&x).unwrap();
            for (t, &id) in ids.iter().enumerate() {
                for c in 0..cols {
                    let (a, b) = (got[t * cols + c], want[id as usize * cols + c]);
                    assert!(
                        a.to_bits() == b.to_bits(),
                        "{} (chunks {chunk_limit:?}): row {id} element {c}: gpu {a} cpu {b}",
                        ty.name()
                    );
                }
            }
        }
    }
    g.set_chunk_limit(None);
}

/// The weight-product kernels a case runs: decode (one token row) or prompt.
#[derive(Debug, Clone, Copy)]
enum Product {
    Matvec(MatvecKernel),
    Matmul(MatmulKernel),
}

#[test]
fn matvec_and_matmul_match_the_reference_for_every_format() {
    let mut g = gpu();
    let mut rng = StdRng::seed_from_u64(2);
    // the short rows, and rows of several super-blocks / many blocks (several steps of every
    // kernel's loop over k, with remainders); F16 rows of 100 elements are not whole 32-element
    // slices (matvec_rows falls back to matvec_coop) nor whole k-steps of matmul_tiled
    let long_cols = |ty: GgmlType| if ty.block_size() == 256 { 1536 } else { 1632 };
    let shapes = gpu::shaders::FORMATS
        .iter()
        .flat_map(|&ty| [(ty, cols_for(ty), 37), (ty, long_cols(ty), 37)])
        .chain([(GgmlType::F16, 100, 37)])
        // rows past two 64-row tiles and five R-row workgroups, for the hot formats
        .chain([(GgmlType::Q4_K, 1024, 133), (GgmlType::Q6_K, 1280, 133)])
        // rows past two 128-row tiles of matmul_wide; f32/bf16 rows not whole 32-element steps
        .chain([(GgmlType::Q4_K, 512, 300)])
        .chain([(GgmlType::F32, 100, 37), (GgmlType::BF16, 68, 37)]);
    use MatmulKernel as Mm;
    use MatvecKernel as Mv;
    use Product::*;
    // (token rows, kernel): matmul_tiled with a partial tile, one whole and a partial, three;
    // matmul_wide (64-token tiles): partial tiles (3, 45), one whole and a partial, two and a partial
    let cases = [
        (1usize, Matvec(Mv::RowPerThread)),
        (1, Matvec(Mv::RowPerWorkgroup)),
        (1, Matvec(Mv::RowsPerWorkgroup)),
        (3, Matmul(Mm::RowPerThread)),
        (8, Matmul(Mm::RowPerThread)),
        (13, Matmul(Mm::RowPerThread)),
        (3, Matmul(Mm::Tiled)),
        (45, Matmul(Mm::Tiled)),
        (70, Matmul(Mm::Tiled)),
        (3, Matmul(Mm::Wide)),
        (45, Matmul(Mm::Wide)),
        (70, Matmul(Mm::Wide)),
        (130, Matmul(Mm::Wide)),
    ];
    // Wide falls back to matmul_tiled below its workgroup memory (Xs + Ws of matmul_wide.wgsl)
    let wg_bytes = g.gpu().device.limits().max_compute_workgroup_storage_size;
    assert!(
        wg_bytes >= 25088,
        "adapter has {wg_bytes} B of workgroup memory: the Wide cases would not run matmul_wide"
    );
    for (ty, cols, rows) in shapes {
        let bytes = weight_bytes(&mut rng, ty, rows, cols);
        let wf = dequant(ty, &bytes, rows, cols);
        // one chunk, and chunks of 5 rows (not a multiple of any kernel's row tile)
        for chunk_limit in [None, Some(5 * ty.row_bytes(cols).unwrap() as u64 + 8)] {
            g.set_chunk_limit(chunk_limit);
            let w = g.load_weight(&desc("w", ty, rows, cols), &bytes).unwrap();
            for (n_tok, kernel) in cases {
                match kernel {
                    Matvec(k) => g.set_matvec_kernel(k),
                    Matmul(k) => g.set_matmul_kernel(k),
                }
                let x = random(&mut rng, n_tok * cols, 1.0);
                let xt = g.upload(&x, n_tok, cols).unwrap();
                let y = g.matmul(&w, &xt).unwrap();
                assert_eq!((y.rows, y.cols), (n_tok, rows));
                let got = g.read(&y).unwrap();
                for t in 0..n_tok {
                    for r in 0..rows {
                        let (mut want, mut mag) = (0.0f64, 0.0f64);
                        for c in 0..cols {
                            let p = wf[r * cols + c] as f64 * x[t * cols + c] as f64;
                            want += p;
                            mag += p.abs();
                        }
                        let err = (got[t * rows + r] as f64 - want).abs();
                        assert!(
                            err <= MATMUL_REL * mag + 1e-30,
                            "{} {rows}×{cols} tokens {n_tok} {kernel:?} (chunks {chunk_limit:?}): [{t}][{r}] gpu {} ref {want} (err {err}, Σ|wx| {mag})",
                            ty.name(),
                            got[t * rows + r]
                        );
                    }
                }
            }
        }
    }
    g.set_chunk_limit(None);
}

fn cpu_tensor(data: Vec<f32>, rows: usize, cols: usize) -> cpu::Tensor {
    cpu::Tensor { data, rows, cols }
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[test]
fn elementwise_ops_match_the_cpu_backend() {
    let mut g = gpu();
    let mut c = CpuBackend::new(1);
    let mut rng = StdRng::seed_from_u64(3);
    let (rows, hd, heads) = (5, 64, 4);
    let cols = hd * heads;
    let x = random(&mut rng, rows * cols, 3.0);

    // rms_norm, token-wise and per head
    for group in [cols, hd] {
        let wv = random(&mut rng, group, 2.0);
        let d = desc("norm", GgmlType::F32, 1, group);
        let (wg, wc) = (
            g.load_weight(&d, &f32_bytes(&wv)).unwrap(),
            c.load_weight(&d, &f32_bytes(&wv)).unwrap(),
        );
        let got = {
            let t = g.upload(&x, rows, cols).unwrap();
            let o = g.rms_norm(&t, &wg, group, 1e-6).unwrap();
            g.read(&o).unwrap()
        };
        let want = c
            .rms_norm(&cpu_tensor(x.clone(), rows, cols), &wc, group, 1e-6)
            .unwrap()
            .data
            .clone();
        for (i, (a, b)) in got.iter().zip(&want).enumerate() {
            assert!(
                (a - b).abs() <= NORM_REL * b.abs() + 1e-30,
                "rms_norm group {group} [{i}]: gpu {a} cpu {b}"
            );
        }
    }

    // rope, both pairings, partial rotation: same angles as the CPU (host table), and the CPU's
    // fused form — but WGSL lets `fma` run unfused (lavapipe splits it), so the first product may
    // be rounded once more: within ROPE_ULPS of the inputs' magnitude. The last case has
    // LongRoPE's magnitude factor (Phi-3.5's ≈ 1.19).
    for (style, n_rot, attn_factor) in [
        (RopeStyle::Neox, hd, 1.0),
        (RopeStyle::Interleaved, hd, 1.0),
        (RopeStyle::Neox, hd / 2, 1.0),
        (RopeStyle::Neox, hd, 1.190_238_9),
    ] {
        let p = RopeParams {
            style,
            head_dim: hd,
            n_rot,
            freq_base: 10000.0,
            freq_scale: 1.0,
            attn_factor,
        };
        let mut t = g.upload(&x, rows, cols).unwrap();
        g.rope(&mut t, 1234, &p, None).unwrap();
        let got = g.read(&t).unwrap();
        let mut ct = cpu_tensor(x.clone(), rows, cols);
        c.rope(&mut ct, 1234, &p, None).unwrap();
        let x_max = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        for (i, (a, b)) in got.iter().zip(&ct.data).enumerate() {
            assert!(
                (a - b).abs() <= ROPE_ULPS * f32::EPSILON * 2.0 * attn_factor * x_max,
                "rope {style:?} n_rot {n_rot} [{i}]: gpu {a} cpu {b}"
            );
        }
    }

    // scale and add: exact
    let y = random(&mut rng, rows * cols, 3.0);
    let mut t = g.upload(&x, rows, cols).unwrap();
    g.scale(&mut t, 0.125).unwrap();
    let u = g.upload(&y, rows, cols).unwrap();
    g.add(&mut t, &u).unwrap();
    let got = g.read(&t).unwrap();
    for i in 0..x.len() {
        assert_eq!(
            got[i].to_bits(),
            (x[i] * 0.125 + y[i]).to_bits(),
            "scale+add [{i}]"
        );
    }

    // gated activations: GELU through the f16 table is bit for bit, SiLU to rounding
    let gate: Vec<f32> = (0..rows * cols)
        .map(|i| {
            if i % 97 == 0 {
                -11.0
            } else if i % 89 == 0 {
                12.5
            } else {
                rng.random_range(-6.0..6.0)
            }
        })
        .collect();
    for act in [GatedActivation::Gelu, GatedActivation::Silu] {
        let (gt, ut) = (
            g.upload(&gate, rows, cols).unwrap(),
            g.upload(&y, rows, cols).unwrap(),
        );
        let o = g.gated_activation(&gt, &ut, act).unwrap();
        let got = g.read(&o).unwrap();
        let want = c
            .gated_activation(
                &cpu_tensor(gate.clone(), rows, cols),
                &cpu_tensor(y.clone(), rows, cols),
                act,
            )
            .unwrap()
            .data
            .clone();
        for (i, (a, b)) in got.iter().zip(&want).enumerate() {
            match act {
                GatedActivation::Gelu => assert_eq!(
                    a.to_bits(),
                    b.to_bits(),
                    "gelu [{i}] g={}: gpu {a} cpu {b}",
                    gate[i]
                ),
                GatedActivation::Silu => assert!(
                    (a - b).abs() <= 2e-6 * b.abs().max(1e-3),
                    "silu [{i}]: gpu {a} cpu {b}"
                ),
            }
        }
    }
}

/// Phi-2's ops against the CPU backend: LayerNorm with bias (the GPU sums in f32 trees, the CPU
/// in f64, so within NORM_REL of each term's size), over a row that is not a whole number of
/// the CPU's 8-lane chunks and has a mean far from 0; the ungated GELU (the CPU's f16 table:
/// bit for bit, cut-offs included).
#[test]
fn layer_norm_and_ungated_activation_match_the_cpu_backend() {
    let mut g = gpu();
    let mut c = CpuBackend::new(1);
    let mut rng = StdRng::seed_from_u64(5);
    let (rows, cols) = (3, 100);
    let x: Vec<f32> = random(&mut rng, rows * cols, 3.0)
        .into_iter()
        .map(|v| v + 5.0)
        .collect();
    let (wv, bv) = (random(&mut rng, cols, 2.0), random(&mut rng, cols, 1.0));
    let d = desc("norm", GgmlType::F32, 1, cols);
    let load = |g: &mut GpuBackend, c: &mut CpuBackend, v: &[f32]| {
        (
            g.load_weight(&d, &f32_bytes(v)).unwrap(),
            c.load_weight(&d, &f32_bytes(v)).unwrap(),
        )
    };
    let (wg, wc) = load(&mut g, &mut c, &wv);
    let (bg, bc) = load(&mut g, &mut c, &bv);
    let t = g.upload(&x, rows, cols).unwrap();
    let o = g.layer_norm(&t, &wg, &bg, cols, 1e-5).unwrap();
    let got = g.read(&o).unwrap();
    let want = c
        .layer_norm(&cpu_tensor(x.clone(), rows, cols), &wc, &bc, cols, 1e-5)
        .unwrap()
        .data
        .clone();
    for (i, (a, b)) in got.iter().zip(&want).enumerate() {
        // |normed| ≤ ~2 here, times |w| < 2, plus |b| < 1
        let size = 4.0 * wv[i % cols].abs() + bv[i % cols].abs();
        assert!(
            (a - b).abs() <= 4.0 * NORM_REL * size,
            "layer_norm [{i}]: gpu {a} cpu {b}"
        );
    }
    // the normed rows have mean ≈ b̄ and are not x: the norm did something
    assert!(got.iter().zip(&x).all(|(a, x)| (a - x).abs() > 1e-3));

    let mut v = random(&mut rng, 256, 12.0);
    v.extend([-10.0, 10.0, -9.99, 9.99, 0.0, -0.0]);
    let t = g.upload(&v, 1, v.len()).unwrap();
    let o = g.activation(&t, GatedActivation::Gelu).unwrap();
    let got = g.read(&o).unwrap();
    let want = c
        .activation(&cpu_tensor(v.clone(), 1, v.len()), GatedActivation::Gelu)
        .unwrap()
        .data
        .clone();
    for (i, (a, b)) in got.iter().zip(&want).enumerate() {
        assert_eq!(
            a.to_bits(),
            b.to_bits(),
            "gelu [{i}] x={}: gpu {a} cpu {b}",
            v[i]
        );
    }
}

/// store_kv + attention for decode (f16 accumulator mode), a short prompt, a long prompt (tiled
/// mode), grouped-query heads, a sliding window and Gemma 2's score softcap, against the CPU
/// backend.
#[test]
fn attention_matches_the_cpu_backend() {
    let mut rng = StdRng::seed_from_u64(4);
    // head sizes of one (64) and of four (256, the kernel's largest) dimensions per thread
    for (n_head, n_head_kv, hd) in [(4, 2, 64), (2, 1, 256)] {
        let mut g = gpu();
        let mut c = CpuBackend::new(1);
        let n_ctx = 160;
        let kv_dim = n_head_kv * hd;
        g.init_kv_cache(1, n_ctx, kv_dim).unwrap();
        c.init_kv_cache(1, n_ctx, kv_dim).unwrap();
        // (pos0, rows, window, softcap): prefill tiled, then chunks and single-token steps,
        // windowed or not; the cap (scores here spread over ±3) bends most of them
        for (pos0, rows, window, softcap) in [
            (0, 70, None, None),
            (70, 5, None, Some(1.5)),
            (75, 1, None, None),
            (76, 1, Some(16), Some(1.5)),
            (77, 66, Some(40), Some(1.5)),
            (143, 1, Some(40), None),
        ] {
            let k = random(&mut rng, rows * kv_dim, 2.0);
            let v = random(&mut rng, rows * kv_dim, V_MAX);
            let q = random(&mut rng, rows * n_head * hd, 2.0);
            let (kg, vg) = (
                g.upload(&k, rows, kv_dim).unwrap(),
                g.upload(&v, rows, kv_dim).unwrap(),
            );
            g.store_kv(0, pos0, &kg, &vg).unwrap();
            c.store_kv(
                0,
                pos0,
                &cpu_tensor(k, rows, kv_dim),
                &cpu_tensor(v, rows, kv_dim),
            )
            .unwrap();
            let p = AttentionParams {
                layer: 0,
                n_head,
                n_head_kv,
                head_dim: hd,
                pos0,
                window,
                kq_scale: 1.0 / (hd as f32).sqrt(),
                softcap,
            };
            let qg = g.upload(&q, rows, n_head * hd).unwrap();
            let o = g.attention(&qg, &p).unwrap();
            let got = g.read(&o).unwrap();
            let want = c
                .attention(&cpu_tensor(q, rows, n_head * hd), &p)
                .unwrap()
                .data
                .clone();
            let mut worst = 0.0f32;
            for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                let err = (a - b).abs();
                worst = worst.max(err);
                assert!(
                err <= ATTN_ABS * V_MAX,
                "attention head_dim {hd} pos0 {pos0} rows {rows} window {window:?} softcap {softcap:?} [{i}]: gpu {a} cpu {b}"
            );
            }
            eprintln!(
            "attention head_dim {hd} pos0 {pos0} rows {rows} window {window:?} softcap {softcap:?}: max |gpu − cpu| = {worst:e}"
        );
        }
    }
}

#[test]
fn last_row_and_errors() {
    let mut g = gpu();
    let x: Vec<f32> = (0..12).map(|i| i as f32).collect();
    let t = g.upload(&x, 3, 4).unwrap();
    let l = g.last_row(&t).unwrap();
    assert_eq!(g.read(&l).unwrap(), vec![8.0, 9.0, 10.0, 11.0]);
    // a bad weight names itself; a bad shape is an error, not a panic
    let e = g
        .load_weight(&desc("blk.0.bad", GgmlType::Q8_0, 2, 32), &[0u8; 10])
        .err()
        .unwrap();
    assert!(e.to_string().contains("blk.0.bad"), "{e}");
    let w = g
        .load_weight(&desc("w", GgmlType::F32, 2, 8), &[0u8; 64])
        .unwrap();
    assert!(g.matmul(&w, &t).is_err());
}

/// The MoE ops: matmul_id for every format (one input row per row or per slot; one chunk and
/// chunks of 5 rows, so chunks cut through experts) against an f64 dot of the chosen expert's
/// dequantized rows; moe_route and moe_combine against the CPU backend.
#[test]
fn moe_ops_match_the_reference() {
    let mut g = gpu();
    let mut c = CpuBackend::new(1);
    let mut rng = StdRng::seed_from_u64(15);
    let (n_expert, per_expert, k, n_tok) = (4, 11, 2, 3);
    // expert ids per (row, slot): every expert used, one row with a repeated-looking pattern
    let ids = [3.0f32, 0.0, 1.0, 3.0, 2.0, 1.0];
    for &ty in gpu::shaders::FORMATS {
        let cols = cols_for(ty);
        let rows = n_expert * per_expert;
        let bytes = weight_bytes(&mut rng, ty, rows, cols);
        let wf = dequant(ty, &bytes, rows, cols);
        for chunk_limit in [None, Some(5 * ty.row_bytes(cols).unwrap() as u64 + 8)] {
            g.set_chunk_limit(chunk_limit);
            let w = g
                .load_weight(&desc("exps", ty, rows, cols), &bytes)
                .unwrap();
            let idt = g.upload(&ids, n_tok, k).unwrap();
            for x_rows in [n_tok, n_tok * k] {
                let x = random(&mut rng, x_rows * cols, 1.0);
                let xt = g.upload(&x, x_rows, cols).unwrap();
                let y = g.matmul_id(&w, n_expert, &xt, &idt).unwrap();
                assert_eq!((y.rows, y.cols), (n_tok * k, per_expert));
                let got = g.read(&y).unwrap();
                for (p, &e) in ids.iter().enumerate() {
                    let a = if x_rows == n_tok { p / k } else { p };
                    for r in 0..per_expert {
                        let wr = &wf[(e as usize * per_expert + r) * cols..][..cols];
                        let (mut want, mut mag) = (0.0f64, 0.0f64);
                        for (wv, xv) in wr.iter().zip(&x[a * cols..(a + 1) * cols]) {
                            want += *wv as f64 * *xv as f64;
                            mag += (*wv as f64 * *xv as f64).abs();
                        }
                        let err = (got[p * per_expert + r] as f64 - want).abs();
                        assert!(
                            err <= MATMUL_REL * mag + 1e-30,
                            "{} matmul_id x rows {x_rows} (chunks {chunk_limit:?}): pair {p} row {r}: gpu {} ref {want}",
                            ty.name(),
                            got[p * per_expert + r]
                        );
                    }
                }
            }
        }
    }
    g.set_chunk_limit(None);

    // routing: the same experts in the same order, weights to rounding; then the weighted sum
    let n_e = 6;
    let logits = random(&mut rng, 5 * n_e, 3.0);
    let lt = g.upload(&logits, 5, n_e).unwrap();
    for norm in [true, false] {
        let (gi, gw) = g.moe_route(&lt, 3, norm).unwrap();
        let (ci, cw) = c
            .moe_route(&cpu_tensor(logits.clone(), 5, n_e), 3, norm)
            .unwrap();
        assert_eq!(g.read(&gi).unwrap(), ci.data, "ids (norm {norm})");
        for (a, b) in g.read(&gw).unwrap().iter().zip(&cw.data) {
            assert!((a - b).abs() <= 1e-6, "weight {a} vs {b} (norm {norm})");
        }
    }
    let y = random(&mut rng, 6 * 40, V_MAX);
    let wts = random(&mut rng, 3 * 2, 1.0);
    let (yt, wt) = (g.upload(&y, 6, 40).unwrap(), g.upload(&wts, 3, 2).unwrap());
    let got = g.moe_combine(&yt, &wt).unwrap();
    let want = c
        .moe_combine(&cpu_tensor(y, 6, 40), &cpu_tensor(wts, 3, 2))
        .unwrap();
    for (a, b) in g.read(&got).unwrap().iter().zip(&want.data) {
        assert!(
            (a - b).abs() <= 1e-6 * b.abs().max(1.0),
            "combine {a} vs {b}"
        );
    }
    assert!(g.moe_route(&lt, 7, true).is_err());
}
