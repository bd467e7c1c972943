//! Matmuls of Q4_K weights stored eight rows interleaved (`quant::simd::q4k_x8`): each kernel
//! call gives eight outputs of one or four tokens, written straight into the (token, row)
//! output, so there is no transposing pass.
//!
//! Work split: groups of eight weight rows in chunks, one chunk per task; within a chunk, tokens
//! in blocks small enough for their activations to stay in L2 while the chunk's weights stream
//! past them once per block.

use crate::matmul::{tokens_per_block, ColumnStrips};
use crate::plan::Group;
use crate::pool::Pool;
use crate::{CpuError, Tensor, Weight};
use quant::blocks::BlockQ4K;
use quant::simd::q4k_x8::{self as x8, Gemm4Fn, Gemv1Fn};
use quant::simd::Kernel;

pub use x8::{block_of_row, group_bytes, ROWS};

/// The two kernels of the interleaved layout.
#[derive(Clone, Copy)]
pub struct Kernels {
    gemm: Gemm4Fn,
    gemv: Gemv1Fn,
}

impl Kernels {
    /// The kernels, where this CPU has them.
    pub fn here() -> Option<Self> {
        x8::kernels().map(|(gemm, gemv)| Kernels { gemm, gemv })
    }

    /// One group of eight interleaved rows (`group_bytes`) dotted with one row of standard
    /// Q8_K activations: the eight outputs.
    pub fn gemv(&self, group: &[u8], act: &[u8]) -> [f32; ROWS] {
        (self.gemv)(group, act)
    }
}

/// `rows` Q4_K rows (`rows % 8 == 0`, lengths checked by the caller) interleaved by eight.
pub fn interleave_all(bytes: &[u8], rows: usize, cols: usize) -> Vec<u8> {
    let blocks: &[BlockQ4K] = bytemuck::cast_slice(bytes);
    let per_row = blocks.len() / rows;
    let gb = group_bytes(cols);
    let mut out = vec![0u8; rows / ROWS * gb];
    for (g, dst) in out.chunks_exact_mut(gb).enumerate() {
        let row = |r: usize| &blocks[(g * ROWS + r) * per_row..(g * ROWS + r + 1) * per_row];
        x8::interleave(std::array::from_fn(row), dst);
    }
    out
}

/// `out = x · wᵀ` for an interleaved weight, from activations already quantized (`xq`, one row
/// of `arb` bytes per token) as `groups` says; `groups_per_chunk` groups of eight rows per task.
pub fn matmul(
    w: &Weight,
    k: Kernels,
    groups: &[Group],
    xq: &[u8],
    arb: usize,
    rows_per_chunk: usize,
    pool: &Pool,
) -> Result<Tensor, CpuError> {
    let n_tok = xq.len() / arb;
    let n_groups = w.rows / ROWS;
    let gb = group_bytes(w.cols);
    let groups_per_chunk = (rows_per_chunk / ROWS).max(1);
    let tok_block = tokens_per_block(arb);
    let act = |t: usize| &xq[t * arb..(t + 1) * arb];

    let mut out = Tensor::zeros(n_tok, w.rows);
    let strips = ColumnStrips::new(&mut out.data, n_tok, w.rows);
    let work = |chunk: usize| -> Result<(), CpuError> {
        let first = chunk * groups_per_chunk;
        let chunk_groups = first..(first + groups_per_chunk).min(n_groups);
        for g in groups {
            let (t0, t1) = g.rows;
            for tb in (t0..t1).step_by(tok_block) {
                let te = (tb + tok_block).min(t1);
                for wg in chunk_groups.clone() {
                    let wb = &w.bytes[wg * gb..(wg + 1) * gb];
                    let r0 = wg * ROWS;
                    match g.kernel {
                        Kernel::Q4KGemm => {
                            if (te - tb) % 4 != 0 {
                                return Err(CpuError::Shape {
                                    op: "matmul",
                                    detail: format!("gemm rows {tb}..{te} not in fours"),
                                });
                            }
                            for t in (tb..te).step_by(4) {
                                let res = (k.gemm)(wb, std::array::from_fn(|i| act(t + i)));
                                for (i, r) in res.iter().enumerate() {
                                    strips.write(t + i, r0, r);
                                }
                            }
                        }
                        Kernel::Q4KGemv => {
                            for t in tb..te {
                                strips.write(t, r0, &(k.gemv)(wb, act(t)));
                            }
                        }
                        other => {
                            return Err(CpuError::Shape {
                                op: "matmul",
                                detail: format!("{other:?} planned for an interleaved Q4_K weight"),
                            })
                        }
                    }
                }
            }
        }
        Ok(())
    };
    pool.for_each_index(n_groups.div_ceil(groups_per_chunk), &work)?;
    Ok(out)
}
