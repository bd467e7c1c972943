//! `out = x · wᵀ` with quantized weights: each activation row is quantized once to the weight
//! format's `vec_dot_type` (Q8_0, Q8_K, f16, ...), then every weight row is dotted against it.
//! Output rows are split across threads; each thread owns a contiguous band of weight rows.

use crate::{CpuError, Tensor, Weight};

/// Below this many multiply-adds a matmul runs on the calling thread (spawning costs more).
const MIN_WORK_PER_THREAD: usize = 1 << 16;

pub fn matmul(w: &Weight, x: &Tensor, n_threads: usize) -> Result<Tensor, CpuError> {
    if x.cols != w.cols {
        return Err(CpuError::Shape {
            op: "matmul",
            detail: format!("x has {} columns, weight rows have {}", x.cols, w.cols),
        });
    }
    let act_ty = w.ty.vec_dot_type();
    let act_row_bytes = act_ty.row_bytes(x.cols)?;
    // xq: (x.rows, act_row_bytes) — activations in the weight's dot format.
    let mut xq = vec![0u8; x.rows * act_row_bytes];
    for (t, dst) in xq.chunks_mut(act_row_bytes).enumerate() {
        quant::quantize_activations(act_ty, x.row(t), dst)?;
    }

    let (n_tok, n_out) = (x.rows, w.rows);
    let threads = n_threads
        .clamp(1, ((n_out * x.cols * n_tok) / MIN_WORK_PER_THREAD).max(1))
        .min(n_out.max(1));
    let band = n_out.div_ceil(threads);

    // Each band is computed as (n_tok, band_rows) into its own buffer, then scattered.
    let bands: Vec<Result<Vec<f32>, CpuError>> = std::thread::scope(|s| {
        let work = |r0: usize| {
            let r1 = (r0 + band).min(n_out);
            let mut part = vec![0.0f32; n_tok * (r1 - r0)];
            for r in r0..r1 {
                let wr = w.row_bytes(r);
                for t in 0..n_tok {
                    part[t * (r1 - r0) + (r - r0)] = quant::vec_dot(
                        w.ty,
                        x.cols,
                        wr,
                        &xq[t * act_row_bytes..(t + 1) * act_row_bytes],
                    )?;
                }
            }
            Ok(part)
        };
        let handles: Vec<_> = (1..threads)
            .map(|i| s.spawn(move || work(i * band)))
            .collect();
        let mut results = vec![work(0)];
        results.extend(
            handles
                .into_iter()
                .map(|h| h.join().expect("matmul worker panicked")),
        );
        results
    });

    let mut out = Tensor::zeros(n_tok, n_out);
    for (i, part) in bands.into_iter().enumerate() {
        let part = part?;
        let r0 = i * band;
        let width = (r0 + band).min(n_out) - r0;
        for t in 0..n_tok {
            out.data[t * n_out + r0..t * n_out + r0 + width]
                .copy_from_slice(&part[t * width..(t + 1) * width]);
        }
    }
    Ok(out)
}
