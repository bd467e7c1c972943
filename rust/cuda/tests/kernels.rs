//! Every CUDA kernel against the CPU reference on random inputs, through the `Backend` ops that
//! launch them. Needs a GPU: scripts/cuda-test.sh runs this on the GPU machine with
//! WASM_CHORD_REQUIRE_CUDA=1 (a missing device then FAILS). Elsewhere (CI) each test says that
//! CUDA is not available and passes.
//!
//! Tolerances (named below) follow from what each kernel does differently from the reference:
//! decode matvecs quantize the activations to Q8_1 (int8 with an f16 scale per 32 values),
//! prefill GEMMs read f16 copies of weights and activations, the KV cache is f16 (as the
//! CPU's), and transcendental functions are CUDA's fast ones.

use cpu::CpuBackend;
use cuda::{CudaBackend, CudaError, CudaTensor, CudaWeight, FORMATS};
use model::backend::{
    AttentionParams, AttnInput, Backend, FfnInput, GatedActivation, RopeParams, RopeStyle,
    WeightDesc,
};
use quant::GgmlType;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Summation order and f32 rounding of the decoded weights: relative to Σ|w·x|.
const SUM_REL: f64 = 1e-5;
/// A Q8_1 activation differs from x by at most d/2 (rounding) + 127·d·2⁻¹¹ (the f16 scale),
/// d = max|block|/127: under 0.6·d per element.
const Q8_1_ERR: f64 = 0.6;
/// f16 copies of both GEMM operands: each product is off by at most 2·2⁻¹¹ of itself.
const GEMM_REL: f64 = 1.1e-3;
/// Decoding a weight (embed): scale·q − min in f32 against the reference's own order of the
/// same products, in units of ε × the row's largest value.
const DECODE_ULPS: f32 = 4.0;
/// rms_norm: relative to the value.
const NORM_REL: f32 = 1e-5;
/// attention: absolute, relative to max |v|. Mostly the reference's own error: the CPU (as
/// ggml's) rounds q to f16 and accumulates the weighted values in f16 for one-row queries, and
/// that rounding grows with the keys visited (measured: 2.3e-3 at 377 keys, 4e-3 at 386 with
/// eight rows); CUDA accumulates in f32.
const ATTN_ABS: f32 = 5e-3;
/// Fused steps against the CPU's composition of primitives (which quantizes activations to
/// Q8_0/Q8_K as ggml does, where CUDA uses Q8_1): relative to the largest |value|. An indexing
/// or fusion bug is off by the order of the values themselves.
const FUSED_REL: f32 = 2e-2;
const V_MAX: f32 = 2.0;

/// The backend, or None (and a note) where CUDA is not available and not required.
fn cuda() -> Option<CudaBackend> {
    match CudaBackend::new() {
        Ok(b) => Some(b),
        Err(CudaError::Unavailable(why)) if std::env::var("WASM_CHORD_REQUIRE_CUDA").is_err() => {
            eprintln!("CUDA is not available ({why}): test not run");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

fn random(rng: &mut StdRng, n: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-scale..scale)).collect()
}

fn desc(name: &str, ty: GgmlType, rows: usize, cols: usize) -> WeightDesc {
    WeightDesc {
        name: name.into(),
        ty,
        cols,
        rows,
    }
}

/// A random `rows × cols` weight of `ty`: its bytes and the reference's decoding of them. Rows
/// have a spread of magnitudes, so that scales and mins differ from block to block.
fn random_weight(rng: &mut StdRng, ty: GgmlType, rows: usize, cols: usize) -> (Vec<u8>, Vec<f32>) {
    weight_with(rng, ty, rows, cols, |r| 0.1 + r as f32 * 0.37)
}

/// A random weight whose rows keep activations of size ~1 at size ~1 (as a trained layer
/// does), for the fused steps: values up to ±2/√cols, with a milder spread across rows.
fn layer_weight(rng: &mut StdRng, ty: GgmlType, rows: usize, cols: usize) -> (Vec<u8>, Vec<f32>) {
    let s = 2.0 / (cols as f32).sqrt();
    weight_with(rng, ty, rows, cols, |r| s * (0.5 + (r % 7) as f32 * 0.15))
}

fn weight_with(
    rng: &mut StdRng,
    ty: GgmlType,
    rows: usize,
    cols: usize,
    row_scale: impl Fn(usize) -> f32,
) -> (Vec<u8>, Vec<f32>) {
    let rb = ty.row_bytes(cols).unwrap();
    let mut bytes = vec![0u8; rows * rb];
    let mut values = vec![0f32; rows * cols];
    for r in 0..rows {
        let src = random(rng, cols, row_scale(r));
        let row = &mut bytes[r * rb..(r + 1) * rb];
        quant::quantize_row(ty, &src, row).unwrap();
        quant::dequantize_row(ty, row, &mut values[r * cols..(r + 1) * cols]).unwrap();
    }
    (bytes, values)
}

/// The same weight on both backends, and its decoded values.
struct Both {
    g: CudaWeight,
    c: cpu::Weight,
    values: Vec<f32>,
}

fn load_both(
    g: &mut CudaBackend,
    c: &mut CpuBackend,
    d: &WeightDesc,
    bytes: &[u8],
    values: Vec<f32>,
) -> Both {
    Both {
        g: g.load_weight(d, bytes).unwrap(),
        c: c.load_weight(d, bytes).unwrap(),
        values,
    }
}

fn layer_both(
    g: &mut CudaBackend,
    c: &mut CpuBackend,
    rng: &mut StdRng,
    name: &str,
    ty: GgmlType,
    rows: usize,
    cols: usize,
) -> Both {
    let (bytes, values) = layer_weight(rng, ty, rows, cols);
    load_both(g, c, &desc(name, ty, rows, cols), &bytes, values)
}

/// An f32 vector weight (norm, bias) of random values around `center`.
fn vector_both(
    g: &mut CudaBackend,
    c: &mut CpuBackend,
    rng: &mut StdRng,
    name: &str,
    n: usize,
    center: f32,
) -> Both {
    let v: Vec<f32> = random(rng, n, 0.5).iter().map(|x| x + center).collect();
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    load_both(g, c, &desc(name, GgmlType::F32, 1, n), &bytes, v)
}

fn cpu_tensor(data: &[f32], rows: usize, cols: usize) -> cpu::Tensor {
    cpu::Tensor {
        data: data.to_vec(),
        rows,
        cols,
    }
}

fn max_abs(v: &[f32]) -> f32 {
    v.iter().fold(0.0f32, |m, x| m.max(x.abs()))
}

/// Asserts max |got − want| ≤ rel · max |want| and returns that error.
fn assert_close(what: &str, got: &[f32], want: &[f32], rel: f32) -> f32 {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let limit = rel * max_abs(want);
    let mut worst = 0.0f32;
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        let err = (a - b).abs();
        assert!(
            err <= limit && a.is_finite(),
            "{what} [{i}]: cuda {a} cpu {b} (limit {limit})"
        );
        worst = worst.max(err);
    }
    eprintln!("{what}: max error {worst:e} (limit {limit:e})");
    worst
}

/// Row lengths that cover several super-blocks (K-quants) or many blocks, with a remainder of
/// the 32 lanes' granule stride.
fn cols_for(ty: GgmlType) -> usize {
    if ty.block_size() == 256 {
        1536
    } else {
        1632
    }
}

#[test]
fn embed_decodes_every_format() {
    let Some(mut g) = cuda() else { return };
    let mut rng = StdRng::seed_from_u64(1);
    for ty in FORMATS {
        let (rows, cols) = (7, cols_for(ty));
        let (bytes, values) = random_weight(&mut rng, ty, rows, cols);
        let w = g.load_weight(&desc("t", ty, rows, cols), &bytes).unwrap();
        let ids = [6u32, 0, 3, 3, 1, 5, 2, 4, 6];
        let x = g.embed(&w, &ids).unwrap();
        let got = g.read(&x).unwrap();
        for (t, &id) in ids.iter().enumerate() {
            let want = &values[id as usize * cols..(id as usize + 1) * cols];
            let limit = DECODE_ULPS * f32::EPSILON * max_abs(want);
            for (c, (a, b)) in got[t * cols..(t + 1) * cols].iter().zip(want).enumerate() {
                assert!(
                    (a - b).abs() <= limit,
                    "{}: row {id} element {c}: cuda {a} cpu {b}",
                    ty.name()
                );
            }
        }
    }
    // an id past the table is an error, not a read out of bounds
    let w = g
        .load_weight(&desc("t", GgmlType::F32, 2, 32), &[0u8; 256])
        .unwrap();
    let e = g.embed(&w, &[2]).expect_err("id 2 of 2 rows");
    assert!(e.to_string().contains("outside the vocabulary"), "{e}");
}

/// The reference product of `values (rows, cols)` with `x (n_tok, cols)` in f64, and for each
/// output the error the kernel may make: Q8_1 activations (decode, quantized weights), f16
/// operands (prefill), or summation only (decode, float weights).
fn reference_product(
    values: &[f32],
    x: &[f32],
    rows: usize,
    cols: usize,
    n_tok: usize,
    ty: GgmlType,
) -> (Vec<f64>, Vec<f64>) {
    let float_w = matches!(ty, GgmlType::F32 | GgmlType::F16 | GgmlType::BF16);
    let (mut want, mut limit) = (vec![0f64; n_tok * rows], vec![0f64; n_tok * rows]);
    for t in 0..n_tok {
        let xr = &x[t * cols..(t + 1) * cols];
        // the Q8_1 scale of each 32-value block of this row
        let d: Vec<f64> = xr.chunks(32).map(|b| max_abs(b) as f64 / 127.0).collect();
        for r in 0..rows {
            let (mut sum, mut mag, mut q8) = (0f64, 0f64, 0f64);
            for c in 0..cols {
                let w = values[r * cols + c] as f64;
                let p = w * xr[c] as f64;
                sum += p;
                mag += p.abs();
                q8 += w.abs() * Q8_1_ERR * d[c / 32];
            }
            let bound = if n_tok > 8 {
                GEMM_REL * mag
            } else if float_w {
                0.0
            } else {
                q8
            };
            want[t * rows + r] = sum;
            limit[t * rows + r] = bound + SUM_REL * mag + 1e-30;
        }
    }
    (want, limit)
}

#[test]
fn matmul_matches_the_reference_for_every_format() {
    let Some(mut g) = cuda() else { return };
    let mut rng = StdRng::seed_from_u64(2);
    // token rows: one (decode), a few (matvec's token loop), the most a matvec takes, and
    // prefill through cuBLAS (one and more than one GEMM tile of output rows is not reachable
    // at test sizes; the tile loop is the same code as one tile)
    let tokens = [1usize, 3, 8, 13, 70];
    let shapes = FORMATS
        .iter()
        .map(|&ty| (ty, cols_for(ty), 37))
        // rows past several 4-row blocks, and 32-value rows of the legacy formats
        .chain([(GgmlType::Q4_K, 512, 133), (GgmlType::Q8_0, 32, 9)]);
    for (ty, cols, rows) in shapes {
        let (bytes, values) = random_weight(&mut rng, ty, rows, cols);
        let w = g.load_weight(&desc("w", ty, rows, cols), &bytes).unwrap();
        for n_tok in tokens {
            let x = random(&mut rng, n_tok * cols, 1.0);
            let (want, limit) = reference_product(&values, &x, rows, cols, n_tok, ty);
            // plain, and added into an accumulator (the residual add of matmul_add)
            let acc0 = random(&mut rng, n_tok * rows, 1.0);
            let xt = g.upload(&x, n_tok, cols).unwrap();
            let y = g.matmul(&w, &xt).unwrap();
            let mut acc = g.upload(&acc0, n_tok, rows).unwrap();
            g.matmul_add(&w, &xt, &mut acc).unwrap();
            let (got, got_add) = (g.read(&y).unwrap(), g.read(&acc).unwrap());
            let mut worst = 0f64;
            for i in 0..n_tok * rows {
                let err = (got[i] as f64 - want[i]).abs();
                let err_add = (got_add[i] as f64 - acc0[i] as f64 - want[i]).abs();
                worst = worst.max(err / limit[i]);
                assert!(
                    err <= limit[i] && err_add <= limit[i] + 1e-6,
                    "{} {rows}×{cols}, {n_tok} tokens: [{}][{}] cuda {} (added: {}) ref {} (limit {})",
                    ty.name(),
                    i / rows,
                    i % rows,
                    got[i],
                    got_add[i] as f64 - acc0[i] as f64,
                    want[i],
                    limit[i]
                );
            }
            eprintln!(
                "matmul {} {rows}×{cols}, {n_tok} tokens: worst error {worst:.3} of its limit",
                ty.name()
            );
        }
    }
}

#[test]
fn elementwise_ops_match_the_cpu_backend() {
    let Some(mut g) = cuda() else { return };
    let mut c = CpuBackend::new(1);
    let mut rng = StdRng::seed_from_u64(3);
    let (rows, hd, heads) = (5, 64, 4);
    let cols = hd * heads;
    let x = random(&mut rng, rows * cols, 3.0);

    // rms_norm, token-wise and per head; and added into an accumulator
    for group in [cols, hd] {
        let w = vector_both(&mut g, &mut c, &mut rng, "norm", group, 1.0);
        let xt = g.upload(&x, rows, cols).unwrap();
        let o = g.rms_norm(&xt, &w.g, group, 1e-6).unwrap();
        let acc0 = random(&mut rng, rows * cols, 1.0);
        let mut acc = g.upload(&acc0, rows, cols).unwrap();
        g.rms_norm_add(&xt, &w.g, group, 1e-6, &mut acc).unwrap();
        let (got, got_add) = (g.read(&o).unwrap(), g.read(&acc).unwrap());
        let want = c
            .rms_norm(&cpu_tensor(&x, rows, cols), &w.c, group, 1e-6)
            .unwrap()
            .data
            .clone();
        for i in 0..want.len() {
            let (a, b) = (got[i], want[i]);
            assert!(
                (a - b).abs() <= NORM_REL * b.abs() + 1e-30,
                "rms_norm group {group} [{i}]: cuda {a} cpu {b}"
            );
            let s = acc0[i] + b;
            assert!(
                (got_add[i] - s).abs() <= NORM_REL * b.abs() + 2.0 * f32::EPSILON * s.abs(),
                "rms_norm_add group {group} [{i}]: cuda {} cpu {s}",
                got_add[i]
            );
        }
    }

    // rope: both pairings, partial rotation, and LLaMA-3 frequency factors
    let factors = vector_both(&mut g, &mut c, &mut rng, "rope_freqs", hd / 2, 2.0);
    // the last case: LongRoPE's factors and magnitude factor (Phi-3.5's attn_factor ≈ 1.19)
    for (style, n_rot, ff, attn_factor) in [
        (RopeStyle::Neox, hd, false, 1.0),
        (RopeStyle::Interleaved, hd, false, 1.0),
        (RopeStyle::Neox, hd / 2, false, 1.0),
        (RopeStyle::Interleaved, hd, true, 1.0),
        (RopeStyle::Neox, hd, true, 1.190_238_9),
    ] {
        let p = RopeParams {
            style,
            head_dim: hd,
            n_rot,
            freq_base: 10000.0,
            freq_scale: 1.0,
            attn_factor,
        };
        let ffs = if ff { Some(&factors) } else { None };
        let mut t = g.upload(&x, rows, cols).unwrap();
        g.rope(&mut t, 1234, &p, ffs.map(|f| &f.g)).unwrap();
        let got = g.read(&t).unwrap();
        let mut ct = cpu_tensor(&x, rows, cols);
        c.rope(&mut ct, 1234, &p, ffs.map(|f| &f.c)).unwrap();
        // angles of up to ~1.3e3 radians: CUDA's sincosf and the CPU's agree to a few ulps of
        // the angle, which is ~1e-4 of the value at those positions
        assert_close(
            &format!("rope {style:?} n_rot {n_rot} factors {ff}"),
            &got,
            &ct.data,
            2e-4,
        );
    }

    // scale, add, add_bias: exact
    let y = random(&mut rng, rows * cols, 3.0);
    let bias = vector_both(&mut g, &mut c, &mut rng, "bias", cols, 0.0);
    let mut t = g.upload(&x, rows, cols).unwrap();
    g.scale(&mut t, 0.125).unwrap();
    let u = g.upload(&y, rows, cols).unwrap();
    g.add(&mut t, &u).unwrap();
    g.add_bias(&mut t, &bias.g).unwrap();
    let got = g.read(&t).unwrap();
    for i in 0..x.len() {
        let want = x[i] * 0.125 + y[i] + bias.values[i % cols];
        assert_eq!(got[i].to_bits(), want.to_bits(), "scale+add+bias [{i}]");
    }

    // gated activations: the CPU's GELU goes through ggml's f16 table (~1e-3 relative)
    let gate: Vec<f32> = (0..rows * cols)
        .map(|i| match i % 97 {
            0 => -11.0,
            1 => 12.5,
            _ => rng.random_range(-6.0..6.0),
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
                &cpu_tensor(&gate, rows, cols),
                &cpu_tensor(&y, rows, cols),
                act,
            )
            .unwrap()
            .data
            .clone();
        for i in 0..want.len() {
            let (a, b) = (got[i], want[i]);
            assert!(
                (a - b).abs() <= 4e-3 * b.abs() + 1e-3 * y[i].abs(),
                "{act:?} [{i}] gate {}: cuda {a} cpu {b}",
                gate[i]
            );
        }
    }
}

/// store_kv + attention for decode (split over the keys), prompts of several tiles, grouped
/// heads, sliding windows and the score softcap, against the CPU backend.
#[test]
fn attention_matches_the_cpu_backend() {
    let mut rng = StdRng::seed_from_u64(4);
    // (8, 1, 32): the random gemma test model's MQA shape (one KV head for 8 query heads,
    // heads of 32), wrong on CUDA at one row per pass in the 2026-12-07 run; the last: Gemma
    // 2's score softcap, small enough to bend most scores
    for (n_head, n_head_kv, hd, softcap) in [
        (4, 2, 64, None),
        (8, 1, 128, None),
        (4, 1, 256, None),
        (8, 1, 32, None),
        (4, 2, 64, Some(1.5)),
        // heads that are no multiple of 32 (attention_any*): the test models' 16, Phi-2's 80
        (8, 2, 16, None),
        (4, 4, 80, Some(2.0)),
    ] {
        let Some(mut g) = cuda() else { return };
        let mut c = CpuBackend::new(1);
        // a context of many decode splits (64 keys each at this size) so split-K and its merge run, several
        // times on one backend (the split counters must come back to zero)
        let n_ctx = 700;
        let kv_dim = n_head_kv * hd;
        g.init_kv_cache(2, n_ctx, kv_dim).unwrap();
        c.init_kv_cache(2, n_ctx, kv_dim).unwrap();
        // (pos0, rows, window): prompt, chunks, single steps, windowed or not, in layer 1
        for (pos0, rows, window) in [
            (0, 70, None),
            (70, 5, None),
            (75, 1, None),
            (76, 1, Some(16)),
            (77, 300, Some(40)),
            (377, 1, Some(40)),
            (378, 8, None),
            (386, 300, None),
            (686, 1, None),
            (687, 1, Some(512)),
        ] {
            let k = random(&mut rng, rows * kv_dim, 2.0);
            let v = random(&mut rng, rows * kv_dim, V_MAX);
            let q = random(&mut rng, rows * n_head * hd, 2.0);
            let (kg, vg) = (
                g.upload(&k, rows, kv_dim).unwrap(),
                g.upload(&v, rows, kv_dim).unwrap(),
            );
            g.store_kv(1, pos0, &kg, &vg).unwrap();
            c.store_kv(
                1,
                pos0,
                &cpu_tensor(&k, rows, kv_dim),
                &cpu_tensor(&v, rows, kv_dim),
            )
            .unwrap();
            let p = AttentionParams {
                layer: 1,
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
                .attention(&cpu_tensor(&q, rows, n_head * hd), &p)
                .unwrap()
                .data
                .clone();
            let what = format!(
                "attention {n_head}/{n_head_kv} heads of {hd}, pos0 {pos0} rows {rows} window {window:?} softcap {softcap:?}"
            );
            assert_close(&what, &got, &want, ATTN_ABS * V_MAX / max_abs(&want));
        }
    }
}

/// One layer's weights on both backends.
struct Layer {
    norm: Both,
    wq: Both,
    wk: Both,
    wv: Both,
    bq: Both,
    bk: Both,
    bv: Both,
    q_norm: Both,
    k_norm: Both,
    gate: Both,
    up: Both,
}

impl Layer {
    /// Gemma-like (Q/K norms, q scale) or Qwen-like (biases) attention input on one backend.
    fn attn_input<'a, W>(
        &'a self,
        w: fn(&'a Both) -> &'a W,
        gemma: bool,
        pos0: usize,
        rope: RopeParams,
    ) -> AttnInput<'a, W> {
        AttnInput {
            layer: 0,
            pos0,
            n_embd: self.norm.values.len(),
            norm: w(&self.norm),
            eps: 1e-6,
            wq: w(&self.wq),
            wk: w(&self.wk),
            wv: w(&self.wv),
            bq: (!gemma).then(|| w(&self.bq)),
            bk: (!gemma).then(|| w(&self.bk)),
            bv: (!gemma).then(|| w(&self.bv)),
            qk_norm: gemma.then(|| (w(&self.q_norm), w(&self.k_norm))),
            rope,
            rope_freqs: None,
            q_scale: gemma.then_some(0.125),
        }
    }

    fn ffn_input<'a, W>(
        &'a self,
        w: fn(&'a Both) -> &'a W,
        act: GatedActivation,
    ) -> FfnInput<'a, W> {
        FfnInput {
            n_embd: self.norm.values.len(),
            norm: w(&self.norm),
            eps: 1e-6,
            gate: w(&self.gate),
            up: w(&self.up),
            act,
        }
    }
}

/// One layer's fused steps (attention_input with biases, Q/K norms, RoPE and the q scale, then
/// attention over what it stored; ffn_input with both activations; norm_matmul) against the
/// CPU's composition of the primitive ops, for a decode row, a few rows and a prompt.
#[test]
fn fused_steps_match_the_cpu_backend() {
    let mut rng = StdRng::seed_from_u64(5);
    // the last: the random gemma test model's shape (MQA, heads of 32, n_head·hd ≠ n_embd)
    for (ty, gemma, (n_embd, n_head, n_head_kv, hd, n_ff, n_ctx)) in [
        (GgmlType::Q4_K, true, (256, 4, 2, 64, 512, 128)),
        (GgmlType::Q8_0, false, (256, 4, 2, 64, 512, 128)),
        (GgmlType::Q8_0, true, (128, 8, 1, 32, 352, 128)),
    ] {
        let (nq, nkv) = (n_head * hd, n_head_kv * hd);
        let Some(mut g) = cuda() else { return };
        let mut c = CpuBackend::new(1);
        g.init_kv_cache(1, n_ctx, nkv).unwrap();
        c.init_kv_cache(1, n_ctx, nkv).unwrap();
        let (g_, c_, r_) = (&mut g, &mut c, &mut rng);
        let norm = vector_both(g_, c_, r_, "attn_norm", n_embd, 1.0);
        let wq = layer_both(g_, c_, r_, "wq", ty, nq, n_embd);
        let wk = layer_both(g_, c_, r_, "wk", ty, nkv, n_embd);
        // (Q6_K needs rows of a multiple of 256)
        let k6 = if n_embd.is_multiple_of(256) {
            GgmlType::Q6_K
        } else {
            GgmlType::Q8_0
        };
        let wv = layer_both(g_, c_, r_, "wv", k6, nkv, n_embd);
        let bq = vector_both(g_, c_, r_, "bq", nq, 0.0);
        let bk = vector_both(g_, c_, r_, "bk", nkv, 0.0);
        let bv = vector_both(g_, c_, r_, "bv", nkv, 0.0);
        let q_norm = vector_both(g_, c_, r_, "q_norm", hd, 1.0);
        let k_norm = vector_both(g_, c_, r_, "k_norm", hd, 1.0);
        let gate = layer_both(g_, c_, r_, "gate", ty, n_ff, n_embd);
        let up = layer_both(g_, c_, r_, "up", ty, n_ff, n_embd);
        let out = layer_both(g_, c_, r_, "out", k6, 300, n_embd);
        let rope = RopeParams {
            style: if gemma {
                RopeStyle::Neox
            } else {
                RopeStyle::Interleaved
            },
            head_dim: hd,
            n_rot: hd,
            freq_base: 10000.0,
            freq_scale: 1.0,
            attn_factor: 1.0,
        };
        let l = Layer {
            norm,
            wq,
            wk,
            wv,
            bq,
            bk,
            bv,
            q_norm,
            k_norm,
            gate,
            up,
        };
        let mut pos0 = 0;
        for rows in [13usize, 1, 5, 1, 40] {
            let x = random(&mut rng, rows * n_embd, 2.0);
            let what = |s: &str| format!("{} {s}, {rows} rows at {pos0}", ty.name());
            let xg = g.upload(&x, rows, n_embd).unwrap();
            let xc = cpu_tensor(&x, rows, n_embd);
            let ag = l.attn_input(|b| &b.g, gemma, pos0, rope);
            let ac = l.attn_input(|b| &b.c, gemma, pos0, rope);
            let qg = g.attention_input(&xg, &ag).unwrap();
            let qc = c.attention_input(&xc, &ac).unwrap();
            assert_close(
                &what("attention_input q"),
                &g.read(&qg).unwrap(),
                &qc.data,
                FUSED_REL,
            );
            let p = AttentionParams {
                layer: 0,
                n_head,
                n_head_kv,
                head_dim: hd,
                pos0,
                window: None,
                kq_scale: 1.0 / (hd as f32).sqrt(),
                softcap: None,
            };
            let og = g.attention(&qg, &p).unwrap();
            let oc = c.attention(&qc, &p).unwrap();
            assert_close(
                &what("attention over the stored k, v"),
                &g.read(&og).unwrap(),
                &oc.data,
                FUSED_REL,
            );
            for act in [GatedActivation::Silu, GatedActivation::Gelu] {
                let fg = g.ffn_input(&xg, &l.ffn_input(|b| &b.g, act)).unwrap();
                let fc = c.ffn_input(&xc, &l.ffn_input(|b| &b.c, act)).unwrap();
                assert_close(
                    &what(&format!("ffn_input {act:?}")),
                    &g.read(&fg).unwrap(),
                    &fc.data,
                    FUSED_REL,
                );
            }
            let hg = g.norm_matmul(&xg, &l.norm.g, n_embd, 1e-6, &out.g).unwrap();
            let hc = c.norm_matmul(&xc, &l.norm.c, n_embd, 1e-6, &out.c).unwrap();
            assert_close(
                &what("norm_matmul"),
                &g.read(&hg).unwrap(),
                &hc.data,
                FUSED_REL,
            );
            // last_row is a view, its Q8_1 copy too: a decode head reads the last row only
            let lg = g.last_row(&xg).unwrap();
            let lh = g.norm_matmul(&lg, &l.norm.g, n_embd, 1e-6, &out.g).unwrap();
            let got = g.read(&lh).unwrap();
            assert_close(
                &what("norm_matmul of last_row"),
                &got,
                &hc.data[(rows - 1) * 300..],
                FUSED_REL,
            );
            pos0 += rows;
        }
    }
}

#[test]
fn bad_input_is_an_error() {
    let Some(mut g) = cuda() else { return };
    let e = g
        .load_weight(&desc("blk.0.bad", GgmlType::Q8_0, 2, 32), &[0u8; 10])
        .err()
        .unwrap();
    assert!(e.to_string().contains("blk.0.bad"), "{e}");
    let e = g
        .load_weight(&desc("w", GgmlType::Q8_0, 2, 40), &[0u8; 2 * 34 * 2])
        .err()
        .unwrap();
    assert!(e.to_string().contains("'w'"), "{e}");
    let w = g
        .load_weight(&desc("w", GgmlType::F32, 2, 32), &[0u8; 256])
        .unwrap();
    let t: CudaTensor = g.upload(&[0.0; 12], 3, 4).unwrap();
    assert!(g.matmul(&w, &t).is_err());
    assert!(g.upload(&[0.0; 5], 2, 3).is_err());
    // attention before a cache, and past its end
    let q = g.upload(&[0.0; 64], 1, 64).unwrap();
    let p = AttentionParams {
        layer: 0,
        n_head: 1,
        n_head_kv: 1,
        head_dim: 64,
        pos0: 0,
        window: None,
        kq_scale: 1.0,
        softcap: None,
    };
    assert!(g.attention(&q, &p).is_err());
    g.init_kv_cache(1, 16, 64).unwrap();
    assert!(g.attention(&q, &AttentionParams { pos0: 16, ..p }).is_err());
    assert!(g.attention(&q, &p).is_ok());
}

/// Phi-2's LayerNorm (with bias) and ungated GELU against the CPU backend.
#[test]
fn layer_norm_and_activation_match_the_cpu_backend() {
    let Some(mut g) = cuda() else { return };
    let mut c = CpuBackend::new(1);
    let mut rng = StdRng::seed_from_u64(6);
    // a row of 2560 (Phi-2's width: several values per thread) and per-slice groups
    for (rows, cols, group) in [(5, 2560, 2560), (9, 128, 128), (3, 256, 64)] {
        // an offset mean, as a residual stream has
        let x: Vec<f32> = random(&mut rng, rows * cols, 3.0)
            .iter()
            .map(|v| v + 0.7)
            .collect();
        let w = vector_both(&mut g, &mut c, &mut rng, "norm", group, 1.0);
        let b = vector_both(&mut g, &mut c, &mut rng, "norm_b", group, 0.0);
        let xt = g.upload(&x, rows, cols).unwrap();
        let o = g.layer_norm(&xt, &w.g, &b.g, group, 1e-5).unwrap();
        let got = g.read(&o).unwrap();
        let want = c
            .layer_norm(&cpu_tensor(&x, rows, cols), &w.c, &b.c, group, 1e-5)
            .unwrap()
            .data
            .clone();
        // the mean and variance round differently (sums in another order): a few ulps
        assert_close(
            &format!("layer_norm {rows}×{cols} group {group}"),
            &got,
            &want,
            NORM_REL,
        );
    }
    let bad = vector_both(&mut g, &mut c, &mut rng, "short", 64, 1.0);
    let xt = g.upload(&[0.0; 128], 1, 128).unwrap();
    assert!(g.layer_norm(&xt, &bad.g, &bad.g, 128, 1e-5).is_err());

    // GELU through the CPU's f16 table: equal to one f16 rounding step of the result (tanh
    // may differ in its last bit, which can move the f16 rounding); SiLU to rounding
    let x: Vec<f32> = (0..4000)
        .map(|i| match i % 101 {
            0 => -10.5,
            1 => 10.0,
            2 => -9.99,
            _ => rng.random_range(-8.0..8.0),
        })
        .collect();
    for act in [GatedActivation::Gelu, GatedActivation::Silu] {
        let xt = g.upload(&x, 40, 100).unwrap();
        let o = g.activation(&xt, act).unwrap();
        let got = g.read(&o).unwrap();
        let want = c
            .activation(&cpu_tensor(&x, 40, 100), act)
            .unwrap()
            .data
            .clone();
        for i in 0..x.len() {
            let (a, b) = (got[i], want[i]);
            let tol = match act {
                GatedActivation::Gelu => 1e-3 * b.abs() + 1e-6,
                GatedActivation::Silu => 1e-6 * b.abs() + 1e-7,
            };
            assert!(
                (a - b).abs() <= tol,
                "{act:?} [{i}] of {}: cuda {a} cpu {b}",
                x[i]
            );
        }
    }
}

/// The mixture-of-experts ops (moe_route, matmul_id, moe_combine) against the CPU backend and
/// an f64 reference: decode rows and prefill rows, one input row per row (up, gate) and one per
/// (row, slot) pair (down), quantized and float experts.
#[test]
fn moe_ops_match_the_cpu_backend() {
    let Some(mut g) = cuda() else { return };
    let mut c = CpuBackend::new(1);
    let mut rng = StdRng::seed_from_u64(7);
    let (n_expert, k) = (8, 2);
    for rows in [1usize, 3, 8, 13, 70] {
        // routing: distinct logits (a near-tie could order two experts either way)
        let logits: Vec<f32> = (0..rows * n_expert)
            .map(|i| {
                let v = (i % n_expert) as f32 * 0.37 + rng.random_range(0.0..0.3);
                if rng.random_bool(0.5) {
                    -v
                } else {
                    v
                }
            })
            .collect();
        let lt = g.upload(&logits, rows, n_expert).unwrap();
        let (ids, weights) = g.moe_route(&lt, k, true).unwrap();
        let (cids, cweights) = c
            .moe_route(&cpu_tensor(&logits, rows, n_expert), k, true)
            .unwrap();
        assert_eq!(
            g.read(&ids).unwrap(),
            cids.data,
            "moe_route ids, {rows} rows"
        );
        assert_close(
            &format!("moe_route weights, {rows} rows"),
            &g.read(&weights).unwrap(),
            &cweights.data,
            1e-6,
        );
        let (_, unnormed) = g.moe_route(&lt, 3, false).unwrap();
        let (_, cunnormed) = c
            .moe_route(&cpu_tensor(&logits, rows, n_expert), 3, false)
            .unwrap();
        assert_close(
            &format!("moe_route probabilities, {rows} rows"),
            &g.read(&unnormed).unwrap(),
            &cunnormed.data,
            1e-6,
        );

        // the expert matmuls over the CPU's ids, each output against an f64 dot
        let id_list: Vec<usize> = cids.data.iter().map(|&v| v as usize).collect();
        for (ty, per_expert, cols) in [
            (GgmlType::Q8_0, 96, 128),
            (GgmlType::Q4_K, 40, 512),
            (GgmlType::F32, 33, 64),
        ] {
            let (bytes, values) = random_weight(&mut rng, ty, n_expert * per_expert, cols);
            let w = g
                .load_weight(&desc("exps", ty, n_expert * per_expert, cols), &bytes)
                .unwrap();
            for shared in [true, false] {
                let x_rows = if shared { rows } else { rows * k };
                let x = random(&mut rng, x_rows * cols, 1.0);
                let xt = g.upload(&x, x_rows, cols).unwrap();
                let y = g.matmul_id(&w, n_expert, &xt, &ids).unwrap();
                let got = g.read(&y).unwrap();
                assert_eq!(got.len(), rows * k * per_expert);
                for p in 0..rows * k {
                    let e = id_list[p];
                    let a = if shared { p / k } else { p };
                    let ev = &values[e * per_expert * cols..(e + 1) * per_expert * cols];
                    // decode's error bounds (Q8_1 activations), for one row at a time
                    let (want, limit) = reference_product(
                        ev,
                        &x[a * cols..(a + 1) * cols],
                        per_expert,
                        cols,
                        1,
                        ty,
                    );
                    for r in 0..per_expert {
                        let v = got[p * per_expert + r] as f64;
                        assert!(
                            (v - want[r]).abs() <= limit[r],
                            "matmul_id {} shared {shared}, {rows} rows: pair {p} (expert {e}) \
                             row {r}: cuda {v} ref {} (limit {})",
                            ty.name(),
                            want[r],
                            limit[r]
                        );
                    }
                }
            }
        }
        // a wrong shape is an error
        let w = g
            .load_weight(&desc("exps", GgmlType::F32, 3 * 4, 32), &[0u8; 12 * 32 * 4])
            .unwrap();
        let xt = g.upload(&vec![0.0; rows * 32], rows, 32).unwrap();
        assert!(
            g.matmul_id(&w, 5, &xt, &ids).is_err(),
            "12 rows as 5 experts"
        );

        // the weighted sum: the same roundings as the CPU's, so equal bit for bit
        let n = 160;
        let y = random(&mut rng, rows * k * n, 2.0);
        let yt = g.upload(&y, rows * k, n).unwrap();
        let o = g.moe_combine(&yt, &weights).unwrap();
        let want = c
            .moe_combine(&cpu_tensor(&y, rows * k, n), &cweights)
            .unwrap()
            .data
            .clone();
        let cw = g.read(&weights).unwrap();
        let got = g.read(&o).unwrap();
        for i in 0..want.len() {
            // (the CPU's weights and ours may differ in the last bit: compare with ours)
            let t = i / n;
            let mut acc = y[(t * k) * n + i % n] * cw[t * k];
            for s in 1..k {
                acc += y[(t * k + s) * n + i % n] * cw[t * k + s];
            }
            assert_eq!(got[i].to_bits(), acc.to_bits(), "moe_combine [{i}]");
            assert!((got[i] - want[i]).abs() <= 1e-5 * (1.0 + want[i].abs()));
        }
    }
}
