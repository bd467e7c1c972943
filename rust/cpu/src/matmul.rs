//! `out = x · wᵀ` with quantized weights, as ggml's CPU backend computes it: each activation row
//! is quantized once to the weight format's dot type (in the variant the chosen kernel expects),
//! then every weight row is dotted with it by the kernel `plan` picks — the one whose float order
//! is llama.cpp's for this weight type and row count.
//!
//! Work split: weight rows (output columns) in chunks, several per thread (load balance on a busy
//! machine, as ggml's chunking does). Three ways through, fastest first:
//! - interleaved Q4_K weights (`q4k_x8`): 8 weight rows × 4 tokens per kernel call;
//! - kernels with a tile form (Q4_0/Q5_0/Q8_0 on AVX2): 2 weight rows × 4 tokens per call;
//!   both go through tokens in blocks whose activations stay in L2 while the chunk's weights
//!   stream past, and write the (token, row) output in place;
//! - the rest: each weight row against every activation row (many-rows kernels where they
//!   exist), written transposed and turned around at the end. Decode (one token) passes over
//!   the weights once, several rows per kernel call where the kernel has a cols form.

use crate::plan::{self, ActQuant, Dot, Group};
use crate::pool::Pool;
use crate::{CpuError, Tensor, Weight};

/// Reused buffers: no allocation per matmul once they have grown.
#[derive(Default)]
pub struct Scratch {
    /// Quantized activations, one row of `row_bytes` per token.
    xq: Vec<u8>,
    /// Output in (n_out, n_tok) order (contiguous per chunk of weight rows).
    out_t: Vec<f32>,
    /// Q8_0 activation block scales as f32, `(n_tok, n_blocks)`, for the tile kernels.
    scales: Vec<f32>,
}

/// Activation bytes per token block: about half of a 512 KiB L2, so a block's activations stay
/// there while a chunk's weight rows stream past them once per block.
const ACT_BLOCK_BYTES: usize = 192 << 10;

/// Tokens per block (a multiple of 4, the tile kernels' activation rows) for `arb`-byte rows.
pub fn tokens_per_block(arb: usize) -> usize {
    (ACT_BLOCK_BYTES / arb).max(4) / 4 * 4
}

/// Quantized Q8_0 activations with their block scales in f32.
struct Acts<'a> {
    xq: &'a [u8],
    arb: usize,
    scales: &'a [f32],
    nb: usize,
}

impl Acts<'_> {
    fn row(&self, t: usize) -> &[u8] {
        &self.xq[t * self.arb..(t + 1) * self.arb]
    }
    fn scales(&self, t: usize) -> &[f32] {
        &self.scales[t * self.nb..(t + 1) * self.nb]
    }
}

/// Prefill through a tile kernel (two weight rows × four tokens per call), outputs written in
/// place; the tokens and weight rows left over go through the one-row kernel.
fn tiled(
    w: &Weight,
    groups: &[Group],
    acts: &Acts,
    rows_per_chunk: usize,
    pool: &Pool,
) -> Result<Tensor, CpuError> {
    let (n_tok, n_out) = (acts.xq.len() / acts.arb, w.rows);
    let tok_block = tokens_per_block(acts.arb);
    let mut out = Tensor::zeros(n_tok, n_out);
    let strips = ColumnStrips::new(&mut out.data, n_tok, n_out);
    let work = |chunk: usize| -> Result<(), CpuError> {
        let rows = chunk * rows_per_chunk..((chunk + 1) * rows_per_chunk).min(n_out);
        for g in groups {
            let tile = g.kernel.tile_fn().ok_or(CpuError::Shape {
                op: "matmul",
                detail: format!("{:?} has no tile kernel", g.kernel),
            })?;
            let one = |r: usize, t: usize| g.dot.eval(w.cols, w.row_bytes(r), acts.row(t));
            for tb in (g.rows.0..g.rows.1).step_by(tok_block) {
                let te = (tb + tok_block).min(g.rows.1);
                let quads_end = tb + (te - tb) / 4 * 4;
                let mut r = rows.start;
                while r + 2 <= rows.end {
                    let wr = [w.row_bytes(r), w.row_bytes(r + 1)];
                    for t in (tb..quads_end).step_by(4) {
                        let o = tile(
                            wr,
                            std::array::from_fn(|i| acts.row(t + i)),
                            std::array::from_fn(|i| acts.scales(t + i)),
                        );
                        for i in 0..4 {
                            strips.write(t + i, r, &[o[0][i], o[1][i]]);
                        }
                    }
                    for t in quads_end..te {
                        strips.write(t, r, &[one(r, t), one(r + 1, t)]);
                    }
                    r += 2;
                }
                if r < rows.end {
                    for t in tb..te {
                        strips.write(t, r, &[one(r, t)]);
                    }
                }
            }
        }
        Ok(())
    };
    pool.for_each_index(n_out.div_ceil(rows_per_chunk), &work)?;
    Ok(out)
}

/// Below this many weight bytes × tokens a matmul runs on one thread.
const MIN_PARALLEL_WORK: usize = 1 << 15;

pub fn matmul(
    w: &Weight,
    x: &Tensor,
    pool: &Pool,
    scratch: &mut Scratch,
    last_row_alone: bool,
) -> Result<Tensor, CpuError> {
    if x.cols != w.cols {
        return Err(CpuError::Shape {
            op: "matmul",
            detail: format!("x has {} columns, weight rows have {}", x.cols, w.cols),
        });
    }
    let (n_tok, n_out) = (x.rows, w.rows);
    let groups = if last_row_alone {
        plan::plan_last_row_alone(w.ty, n_out, n_tok)
    } else {
        plan::plan(w.ty, n_out, n_tok)
    };
    let act_ty = w.ty.vec_dot_type();
    let arb = act_ty.row_bytes(x.cols)?;

    // Quantize activations (rows in parallel for prefill).
    scratch.xq.resize(n_tok * arb, 0);
    let quantize = |t: usize, dst: &mut [u8]| -> Result<(), CpuError> {
        let g = groups.iter().find(|g| (g.rows.0..g.rows.1).contains(&t));
        match g.map(|g| g.act) {
            Some(ActQuant::Q8K4x8) => quant::simd::quantize_q8_k_4x8(x.row(t), dst)?,
            _ => quant::quantize_activations(act_ty, x.row(t), dst)?,
        }
        Ok(())
    };
    if n_tok >= 4 {
        pool.for_each_chunk(&mut scratch.xq, arb, &|t, dst| quantize(t, dst))?;
    } else {
        for (t, dst) in scratch.xq.chunks_mut(arb).enumerate() {
            quantize(t, dst)?;
        }
    }

    let xq = &scratch.xq[..n_tok * arb];
    let n = x.cols;
    let rows_per_chunk = chunk_rows(n_out, w.row_bytes * n_tok, pool.threads());
    if let Some(k) = w.q4k_x8 {
        return crate::q4k_x8::matmul(w, k, &groups, xq, arb, rows_per_chunk, pool);
    }
    if n_tok >= 4 && groups.iter().all(|g| g.kernel.tile_fn().is_some()) {
        let nb = n / quant::QK8_0;
        scratch.scales.clear();
        for a in xq.chunks_exact(arb) {
            let blocks: &[quant::BlockQ8_0] = bytemuck::cast_slice(a);
            scratch
                .scales
                .extend(blocks.iter().map(|b| quant::fp16_to_f32(b.d)));
        }
        let acts = Acts {
            xq,
            arb,
            scales: &scratch.scales,
            nb,
        };
        return tiled(w, &groups, &acts, rows_per_chunk, pool);
    }

    // Decode: one activation row, outputs written in place, several weight rows per kernel call.
    if let ([g], 1) = (&groups[..], n_tok) {
        let mut out = Tensor::zeros(1, n_out);
        let rb = w.row_bytes;
        let work = |chunk: usize, o: &mut [f32]| -> Result<(), CpuError> {
            let r0 = chunk * rows_per_chunk;
            match g.dot {
                Dot::Fast(_, _, Some(cols)) => {
                    cols(&w.bytes[r0 * rb..(r0 + o.len()) * rb], rb, xq, o)
                }
                _ => {
                    for (i, o) in o.iter_mut().enumerate() {
                        *o = g.dot.eval(n, w.row_bytes(r0 + i), xq);
                    }
                }
            }
            Ok(())
        };
        pool.for_each_chunk(&mut out.data, rows_per_chunk, &work)?;
        return Ok(out);
    }

    // Dot products: out_t[r * n_tok + t].
    scratch.out_t.resize(n_out * n_tok, 0.0);
    let work = |chunk: usize, out: &mut [f32]| -> Result<(), CpuError> {
        let r0 = chunk * rows_per_chunk;
        for (i, out_r) in out.chunks_exact_mut(n_tok).enumerate() {
            let wr = w.row_bytes(r0 + i);
            for g in groups.iter() {
                dot_row(g, n, wr, xq, arb, out_r);
            }
        }
        Ok(())
    };
    pool.for_each_chunk(&mut scratch.out_t, rows_per_chunk * n_tok, &work)?;

    let mut out = Tensor::zeros(n_tok, n_out);
    for (r, col) in scratch.out_t.chunks_exact(n_tok).enumerate() {
        for (t, &v) in col.iter().enumerate() {
            out.data[t * n_out + r] = v;
        }
    }
    Ok(out)
}

#[inline]
fn dot_row(g: &Group, n: usize, wr: &[u8], xq: &[u8], arb: usize, out_r: &mut [f32]) {
    let (t0, t1) = g.rows;
    if let Dot::Fast(_, Some(rows), _) = g.dot {
        if t1 - t0 > 1 {
            return rows(wr, &xq[t0 * arb..t1 * arb], arb, &mut out_r[t0..t1]);
        }
    }
    for t in t0..t1 {
        out_r[t] = g.dot.eval(n, wr, &xq[t * arb..(t + 1) * arb]);
    }
}

/// Weight rows per chunk: about four chunks per thread, a multiple of 8 rows (ggml's repacked
/// kernels work on 8 rows), or everything at once when the matmul is small.
fn chunk_rows(n_out: usize, bytes_per_row: usize, threads: usize) -> usize {
    if threads <= 1 || n_out * bytes_per_row < MIN_PARALLEL_WORK {
        return n_out.max(1);
    }
    let chunks = threads * 4;
    n_out.div_ceil(chunks).next_multiple_of(8).max(8)
}

/// The `(n_tok, n_out)` output, written by several tasks at once, each in its own columns.
pub struct ColumnStrips {
    ptr: *mut f32,
    n_tok: usize,
    n_out: usize,
}

// SAFETY: tasks write disjoint columns (their own weight groups), so no element is written by
// two threads, and nothing reads the output until every task has finished.
unsafe impl Sync for ColumnStrips {}

impl ColumnStrips {
    pub fn new(data: &mut [f32], n_tok: usize, n_out: usize) -> Self {
        assert_eq!(data.len(), n_tok * n_out);
        ColumnStrips {
            ptr: data.as_mut_ptr(),
            n_tok,
            n_out,
        }
    }

    /// Writes outputs `r0..r0 + v.len()` of token `t`.
    pub fn write(&self, t: usize, r0: usize, v: &[f32]) {
        assert!(t < self.n_tok && r0 + v.len() <= self.n_out);
        // SAFETY: in bounds (asserted); see the Sync impl for why no write races another.
        unsafe {
            self.ptr
                .add(t * self.n_out + r0)
                .copy_from_nonoverlapping(v.as_ptr(), v.len())
        };
    }
}
