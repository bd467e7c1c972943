//! Mixture-of-experts ops (mixtral-style), in the float order of llama.cpp's CPU graph
//! (`build_moe_ffn`): the router's softmax (`ggml_soft_max`), top-k (`ggml_argsort_top_k`), the
//! weight normalization (`ggml_sum_rows`, `ggml_clamp`, `ggml_div`), the expert matmul
//! (`ggml_mul_mat_id`) and the weighted sum (`ggml_mul`, then `ggml_add` of the k views).

use crate::plan::{self, Dot};
use crate::pool::Pool;
use crate::{q4k_x8, CpuError, Tensor, Weight};
use quant::simd::tile;

/// llama.cpp clamps the sum of the chosen weights below at the smallest normal f16 (2⁻¹⁴), so
/// that all-zero probabilities do not divide by zero.
const MIN_WEIGHT_SUM: f32 = f32::from_bits(0x3880_0000); // 2⁻¹⁴ = 6.103515625e-5

fn shape(detail: String) -> CpuError {
    CpuError::Shape { op: "moe", detail }
}

/// `x = softmax(x)` as ggml_compute_forward_soft_max_f32 on x86-64 with AVX2: the max, then
/// `exp(x − max)` — ggml_v_expf's polynomial on groups of 8 (each group summed in f32 as
/// ((0+4)+(2+6))+((1+5)+(3+7))), libm's expf for the tail — summed in f64, then every value
/// times the f32 of `1/sum`.
fn softmax(x: &mut [f32]) {
    let max = x
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
    let mut sum = 0.0f64;
    let mut groups = x.chunks_exact_mut(8);
    for g in &mut groups {
        g.iter_mut().for_each(|v| *v = tile::expf(*v - max));
        let a: [f32; 4] = std::array::from_fn(|i| g[i + 4] + g[i]);
        sum += ((a[0] + a[2]) + (a[1] + a[3])) as f64;
    }
    for v in groups.into_remainder() {
        *v = quant::math::expf(*v - max);
        sum += *v as f64;
    }
    let inv = (1.0 / sum) as f32;
    x.iter_mut().for_each(|v| *v *= inv);
}

/// See `Backend::moe_route`.
pub fn route(logits: &Tensor, k: usize, norm: bool) -> Result<(Tensor, Tensor), CpuError> {
    let n_expert = logits.cols;
    if k == 0 || k > n_expert {
        return Err(shape(format!("top {k} of {n_expert} experts")));
    }
    let mut ids = Tensor::zeros(logits.rows, k);
    let mut weights = Tensor::zeros(logits.rows, k);
    let mut probs = vec![0.0f32; n_expert];
    let mut order: Vec<usize> = Vec::with_capacity(n_expert);
    for t in 0..logits.rows {
        probs.copy_from_slice(logits.row(t));
        quant::float::with_hardware_fma(|| softmax(&mut probs));
        // Descending probability; a stable sort keeps tied experts in id order (ggml's
        // std::sort leaves ties unspecified).
        order.clear();
        order.extend(0..n_expert);
        order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
        let w = &mut weights.data[t * k..(t + 1) * k];
        for (s, &e) in order[..k].iter().enumerate() {
            ids.data[t * k + s] = e as f32;
            w[s] = probs[e];
        }
        if norm {
            // ggml_vec_sum_f32: an f64 sum rounded to f32
            let sum = w.iter().map(|&v| v as f64).sum::<f64>() as f32;
            let sum = sum.max(MIN_WEIGHT_SUM);
            w.iter_mut().for_each(|v| *v /= sum);
        }
    }
    Ok((ids, weights))
}

/// See `Backend::moe_combine`: `Σ_s weights[t][s] · y[t·k + s]`, each product rounded, then
/// added in slot order (no fused multiply-add, as ggml's separate mul and add ops).
pub fn combine(y: &Tensor, weights: &Tensor) -> Result<Tensor, CpuError> {
    let (rows, k) = (weights.rows, weights.cols);
    if k == 0 || y.rows != rows * k {
        return Err(shape(format!(
            "{} expert outputs for {rows} rows of {k} weights",
            y.rows
        )));
    }
    let mut out = Tensor::zeros(rows, y.cols);
    for (t, o) in out.data.chunks_exact_mut(y.cols.max(1)).enumerate() {
        let w = weights.row(t);
        o.iter_mut()
            .zip(y.row(t * k))
            .for_each(|(o, v)| *o = v * w[0]);
        for (s, &ws) in w.iter().enumerate().skip(1) {
            o.iter_mut()
                .zip(y.row(t * k + s))
                .for_each(|(o, v)| *o += v * ws);
        }
    }
    Ok(out)
}

/// The expert ids of `ids (rows, k)`, checked to be whole numbers below `n_expert`.
fn expert_ids(ids: &Tensor, n_expert: usize) -> Result<Vec<usize>, CpuError> {
    ids.data
        .iter()
        .map(|&v| {
            if v >= 0.0 && v.fract() == 0.0 && (v as usize) < n_expert {
                Ok(v as usize)
            } else {
                Err(shape(format!("expert id {v} (of {n_expert} experts)")))
            }
        })
        .collect()
}

/// Outputs per task: about four tasks per thread, a multiple of 8 (the interleaved Q4_K gemv
/// gives 8 rows at once), everything in one task when small.
fn chunk_len(total: usize, row_bytes: usize, threads: usize) -> usize {
    if threads <= 1 || total * row_bytes < 1 << 15 {
        return total.max(1);
    }
    total.div_ceil(threads * 4).next_multiple_of(8).max(8)
}

/// See `Backend::matmul_id`. As ggml's mul_mat_id: every activation row is quantized once to the
/// weight's vec_dot_type (the standard quantizer: the repacked gemm's variant is never used
/// here), and each output is one dot product of an expert's weight row with it, by the kernel
/// ggml picks for that expert (`plan::expert_dot`; the interleaved Q4_K gemv for repacked
/// experts). `last_row_alone`: llama.cpp's last layer routes only the output row, so kernel
/// choices that depend on an expert's row count count only that row.
pub fn matmul_id(
    w: &Weight,
    n_expert: usize,
    x: &Tensor,
    ids: &Tensor,
    pool: &Pool,
    last_row_alone: bool,
) -> Result<Tensor, CpuError> {
    let k = ids.cols;
    if n_expert == 0 || !w.rows.is_multiple_of(n_expert) || k == 0 || x.cols != w.cols {
        return Err(shape(format!(
            "weight {}×{} as {n_expert} experts, x {}×{}, ids {}×{k}",
            w.rows, w.cols, x.rows, x.cols, ids.rows
        )));
    }
    let n_pairs = ids.rows * k;
    // One input row for all of a row's slots (up, gate), or one per slot (down).
    let shared = if x.rows == ids.rows {
        true
    } else if x.rows == n_pairs {
        false
    } else {
        return Err(shape(format!(
            "x has {} rows for {} rows of {k} experts",
            x.rows, ids.rows
        )));
    };
    let per_expert = w.rows / n_expert;
    let eid = expert_ids(ids, n_expert)?;

    let act_ty = w.ty.vec_dot_type();
    let arb = act_ty.row_bytes(x.cols)?;
    let mut xq = vec![0u8; x.rows * arb];
    for (t, dst) in xq.chunks_exact_mut(arb).enumerate() {
        quant::quantize_activations(act_ty, x.row(t), dst)?;
    }

    // Rows routed to each expert, over the rows llama.cpp computes together.
    let counted = if last_row_alone {
        &eid[n_pairs.saturating_sub(k)..]
    } else {
        &eid[..]
    };
    let mut count = vec![0usize; n_expert];
    counted.iter().for_each(|&e| count[e] += 1);
    let dots: Vec<Dot> = count.iter().map(|&n| plan::expert_dot(w.ty, n)).collect();
    if w.q4k_x8.is_some() && !per_expert.is_multiple_of(q4k_x8::ROWS) {
        return Err(shape(format!(
            "interleaved Q4_K experts of {per_expert} rows (not a multiple of {})",
            q4k_x8::ROWS
        )));
    }

    let mut out = Tensor::zeros(n_pairs, per_expert);
    let total = out.data.len();
    let chunk = chunk_len(total, w.row_bytes, pool.threads());
    let n = w.cols;
    let work = |c: usize, o: &mut [f32]| -> Result<(), CpuError> {
        let mut i = 0;
        while i < o.len() {
            let at = c * chunk + i;
            let (p, r) = (at / per_expert, at % per_expert);
            let e = eid[p];
            let a = if shared { p / k } else { p };
            let act = &xq[a * arb..(a + 1) * arb];
            let row = e * per_expert + r;
            if let Some(kern) = w.q4k_x8 {
                // 8 interleaved rows per call; chunks and experts both start at multiples of 8
                let gb = q4k_x8::group_bytes(w.cols);
                let g = row / q4k_x8::ROWS;
                let res = kern.gemv(&w.bytes[g * gb..(g + 1) * gb], act);
                o[i..i + q4k_x8::ROWS].copy_from_slice(&res);
                i += q4k_x8::ROWS;
            } else {
                o[i] = dots[e].eval(n, w.row_bytes(row), act);
                i += 1;
            }
        }
        Ok(())
    };
    pool.for_each_chunk(&mut out.data, chunk, &work)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::backend::{Backend, WeightDesc};
    use quant::GgmlType;

    fn tensor(rows: usize, cols: usize, data: &[f32]) -> Tensor {
        let mut t = Tensor::zeros(rows, cols);
        t.data.copy_from_slice(data);
        t
    }

    #[test]
    fn route_takes_the_most_probable_experts_and_normalizes_their_weights() {
        let logits = tensor(2, 4, &[0.5, 2.0, -1.0, 1.0, 3.0, 3.0, 0.0, 1.0]);
        let (ids, w) = route(&logits, 2, true).unwrap();
        // row 0: experts 1 then 3; row 1: a tie, the lower id first
        assert_eq!(ids.data, [1.0, 3.0, 0.0, 1.0]);
        let p = |l: &[f32], i: usize| {
            let s: f64 = l.iter().map(|&v| (v as f64).exp()).sum();
            ((l[i] as f64).exp() / s) as f32
        };
        let want0 = p(&logits.data[..4], 1) / (p(&logits.data[..4], 1) + p(&logits.data[..4], 3));
        assert!((w.data[0] - want0).abs() < 1e-6, "{} vs {want0}", w.data[0]);
        assert!((w.data[0] + w.data[1] - 1.0).abs() < 1e-6);
        assert_eq!(w.data[2], 0.5);
        // unnormalized: the softmax probabilities themselves
        let (_, raw) = route(&logits, 2, false).unwrap();
        assert!((raw.data[0] - p(&logits.data[..4], 1)).abs() < 1e-6);
        assert!(route(&logits, 5, true).is_err() && route(&logits, 0, true).is_err());
    }

    #[test]
    fn combine_weights_each_row_s_expert_outputs() {
        let y = tensor(4, 2, &[1.0, 2.0, 10.0, 20.0, 3.0, 4.0, 30.0, 40.0]);
        let w = tensor(2, 2, &[0.25, 0.75, 1.0, 0.0]);
        assert_eq!(combine(&y, &w).unwrap().data, [7.75, 15.5, 3.0, 4.0]);
        assert!(combine(&tensor(3, 2, &[0.0; 6]), &w).is_err());
    }

    /// Each output row is the chosen expert's slice times the input, as a plain matmul with that
    /// expert alone computes it (bit for bit: the same vec_dot), for shared and per-slot inputs.
    #[test]
    fn matmul_id_selects_each_rows_experts() {
        let (n_expert, rows, cols) = (3, 8, 64);
        let ty = GgmlType::Q8_0;
        let values: Vec<f32> = (0..n_expert * rows * cols)
            .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        let rb = ty.row_bytes(cols).unwrap();
        let mut bytes = vec![0u8; rb * rows * n_expert];
        quant::quantize_row(ty, &values, &mut bytes).unwrap();
        let desc = |name: &str, rows| WeightDesc {
            name: name.into(),
            ty,
            cols,
            rows,
        };
        let mut cpu = crate::CpuBackend::new(2);
        let all = cpu
            .load_weight(&desc("exps", n_expert * rows), &bytes)
            .unwrap();
        let x: Vec<f32> = (0..2 * cols).map(|i| (i as f32 * 0.37).sin()).collect();
        let x = tensor(2, cols, &x);
        let ids = tensor(2, 2, &[2.0, 0.0, 1.0, 2.0]);
        let shared = cpu.matmul_id(&all, n_expert, &x, &ids).unwrap();
        assert_eq!((shared.rows, shared.cols), (4, rows));
        let per_slot_x = tensor(4, cols, &[x.row(0), x.row(0), x.row(1), x.row(1)].concat());
        let per_slot = cpu.matmul_id(&all, n_expert, &per_slot_x, &ids).unwrap();
        assert_eq!(per_slot.data, shared.data);
        for (p, &e) in ids.data.iter().enumerate() {
            let e = e as usize;
            let one = cpu
                .load_weight(
                    &desc("one", rows),
                    &bytes[e * rows * rb..(e + 1) * rows * rb],
                )
                .unwrap();
            let xt = tensor(1, cols, x.row(p / 2));
            let want = cpu.matmul(&one, &xt).unwrap();
            assert_eq!(shared.row(p), &want.data[..], "pair {p}, expert {e}");
        }
        // an id past the experts, or a non-integer one, is an error, not a wrong row
        for bad in [3.0, 1.5, -1.0] {
            let ids = tensor(1, 1, &[bad]);
            let x1 = tensor(1, cols, x.row(0));
            assert!(cpu.matmul_id(&all, n_expert, &x1, &ids).is_err(), "{bad}");
        }
    }
}
