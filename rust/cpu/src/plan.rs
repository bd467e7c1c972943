//! Which kernel llama.cpp's CPU backend (x86-64, AVX2, CPU_REPACK and llamafile on — its
//! defaults) runs for a matmul, and so which float order we must reproduce to get its results
//! bit for bit. The choice depends on the weight type, the weight's row count and the number of
//! activation rows (ggml-cpu.c `ggml_compute_forward_mul_mat`, repack.cpp
//! `ggml_repack_get_optimal_repack_type` and `forward_mul_mat`, tiled/tiled.cpp, llamafile/sgemm.cpp):
//!
//! | weight | 1 row | n ≥ 2 rows |
//! |---|---|---|
//! | Q4_K, rows % 8 = 0 (repacked) | gemv q4_K_8x8 | gemm for the first n − n%4 rows (n > 3), gemv for the rest |
//! | Q4_K, rows % 8 ≠ 0 / Q5_K / Q6_K | vec_dot | vec_dot below 8 rows, tiled from 8 |
//! | Q4_0, rows % 8 = 0 (repacked) | gemv q4_0_8x8 | gemm q4_0_8x8 (same order as the gemv) |
//! | Q4_0 / Q5_0 / Q8_0 | vec_dot | tinyBLAS_Q0_AVX (same order as vec_dot) |
//! | Q4_1 / Q5_1 | vec_dot | vec_dot |
//!
//! Not reproduced yet (the scalar reference order is used, equal up to rounding): Q2_K/Q3_K, and the
//! float types' tinyBLAS/vec_dot orders (F32/F16 match llama.cpp's tokens already).

use quant::simd::{ColsFn, DotFn, Kernel, RowsFn};
use quant::GgmlType;
use std::ops::Range;

/// How one group of activation rows is quantized and dotted.
#[derive(Clone, Copy)]
pub struct Group {
    /// Which activation rows (token indices).
    pub rows: (usize, usize),
    pub act: ActQuant,
    /// The float order (which llama.cpp kernel).
    pub kernel: Kernel,
    pub dot: Dot,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ActQuant {
    /// `quant::quantize_activations` to the weight's vec_dot_type (what ggml's from_float does).
    Standard,
    /// `ggml_quantize_mat_q8_K_4x8`'s sign rule (the repacked Q4_K gemm's activations).
    Q8K4x8,
}

#[derive(Clone, Copy)]
pub enum Dot {
    /// A ggml-order kernel, with its many-activation-rows and many-weight-rows forms where
    /// it has them.
    Fast(DotFn, Option<RowsFn>, Option<ColsFn>),
    /// `quant::vec_dot`, the scalar reference.
    Reference(GgmlType),
}

impl Dot {
    #[inline]
    pub fn eval(&self, n: usize, w: &[u8], a: &[u8]) -> f32 {
        match self {
            Dot::Fast(f, _, _) => f(w, a),
            // lengths were checked when the weight was loaded and the activations quantized
            Dot::Reference(ty) => quant::vec_dot(*ty, n, w, a).unwrap_or(f32::NAN),
        }
    }
}

fn dot(k: Kernel) -> Dot {
    match k.dot_fn() {
        Some(f) => Dot::Fast(f, k.rows_fn(), k.cols_fn()),
        None => Dot::Reference(k.weight_type()),
    }
}

/// At most three groups (the last-row-alone split of a Q4_K gemm), kept inline so that planning
/// a matmul does not allocate; derefs to the groups in use.
#[derive(Clone, Copy)]
pub struct Plan {
    groups: [Group; 3],
    len: usize,
}

impl std::ops::Deref for Plan {
    type Target = [Group];
    fn deref(&self) -> &[Group] {
        &self.groups[..self.len]
    }
}

impl Plan {
    fn push(&mut self, g: Group) {
        assert!(self.len < 3, "a plan has at most three groups");
        self.groups[self.len] = g;
        self.len += 1;
    }
    fn extend(&mut self, other: Plan) {
        other.iter().for_each(|g| self.push(*g));
    }
}

fn plan_of(groups: &[Group]) -> Plan {
    let unused = Group {
        rows: (0, 0),
        act: ActQuant::Standard,
        kernel: Kernel::VecDot(GgmlType::F32),
        dot: Dot::Reference(GgmlType::F32),
    };
    let mut p = Plan {
        groups: [unused; 3],
        len: 0,
    };
    groups.iter().for_each(|g| p.push(*g));
    p
}

/// The groups for a matmul of a `(w_rows, _)` weight of type `ty` with `n` activation rows.
pub fn plan(ty: GgmlType, w_rows: usize, n: usize) -> Plan {
    plan_range(ty, w_rows, 0..n, n)
}

/// As [`plan`], for rows `range` of a matmul whose kernel choice is made for `n` rows.
fn plan_range(ty: GgmlType, w_rows: usize, range: Range<usize>, n: usize) -> Plan {
    let (a, b) = (range.start, range.end);
    let one_of = |rows, act, k| Group {
        rows,
        act,
        kernel: k,
        dot: dot(k),
    };
    let one = |act, k| one_of((a, b), act, k);
    match ty {
        GgmlType::Q4_K if w_rows % 8 == 0 => {
            let gemm_rows = if n > 3 { n - n % 4 } else { 0 };
            let split = (a + gemm_rows).min(b);
            let mut g = plan_of(&[]);
            if split > a {
                g.push(one_of((a, split), ActQuant::Q8K4x8, Kernel::Q4KGemm));
            }
            if b > split {
                g.push(one_of((split, b), ActQuant::Standard, Kernel::Q4KGemv));
            }
            g
        }
        GgmlType::Q4_K if n >= 8 => plan_of(&[one(ActQuant::Standard, Kernel::Q4KTiled)]),
        GgmlType::Q5_K if n >= 8 => plan_of(&[one(ActQuant::Standard, Kernel::Q5KTiled)]),
        GgmlType::Q6_K if n >= 8 => plan_of(&[one(ActQuant::Standard, Kernel::Q6KTiled)]),
        GgmlType::Q4_0 if w_rows % 8 == 0 => plan_of(&[one(ActQuant::Standard, Kernel::Q40Repack)]),
        _ => plan_of(&[one(ActQuant::Standard, Kernel::VecDot(ty))]),
    }
}

/// The kernel ggml's `mul_mat_id` (the experts of a MoE layer) runs for one expert of a
/// non-repacked weight of type `ty` that `n` activation rows are routed to: its tiled K-quant
/// kernel from 8 rows (tiled.cpp, per expert: Q4_K/Q5_K/Q6_K of those are reproduced here, as
/// for `plan`), else `vec_dot` row by row — never tinyBLAS, so no choice depends on the weight's row
/// count. (Repacked Q4_K experts run their gemv for every row, `q4k_x8`.)
pub fn expert_dot(ty: GgmlType, n: usize) -> Dot {
    match ty {
        GgmlType::Q4_K if n >= 8 => dot(Kernel::Q4KTiled),
        GgmlType::Q5_K if n >= 8 => dot(Kernel::Q5KTiled),
        GgmlType::Q6_K if n >= 8 => dot(Kernel::Q6KTiled),
        _ => dot(Kernel::VecDot(ty)),
    }
}

/// The plan when only the last of `n` rows is what llama.cpp computes on its own: in the last
/// layer llama.cpp keeps only the output row after attention (`ggml_get_rows(inp_out_ids)`), so
/// its feed-forward matmuls there see one row and pick the one-row kernel.
pub fn plan_last_row_alone(ty: GgmlType, w_rows: usize, n: usize) -> Plan {
    if n <= 1 {
        return plan(ty, w_rows, n);
    }
    let mut g = plan_range(ty, w_rows, 0..n - 1, n - 1);
    g.extend(plan_range(ty, w_rows, n - 1..n, 1));
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(g: &Plan) -> Vec<((usize, usize), bool)> {
        g.iter()
            .map(|g| (g.rows, g.act == ActQuant::Q8K4x8))
            .collect()
    }

    #[test]
    fn q4_k_splits_gemm_and_gemv_rows_as_repack_does() {
        assert_eq!(shape(&plan(GgmlType::Q4_K, 640, 1)), [((0, 1), false)]);
        assert_eq!(shape(&plan(GgmlType::Q4_K, 640, 3)), [((0, 3), false)]);
        assert_eq!(shape(&plan(GgmlType::Q4_K, 640, 4)), [((0, 4), true)]);
        assert_eq!(
            shape(&plan(GgmlType::Q4_K, 640, 14)),
            [((0, 12), true), ((12, 14), false)]
        );
        assert_eq!(
            shape(&plan_last_row_alone(GgmlType::Q4_K, 640, 14)),
            [((0, 12), true), ((12, 13), false), ((13, 14), false)]
        );
        // not repackable: one group
        assert_eq!(shape(&plan(GgmlType::Q4_K, 644, 14)), [((0, 14), false)]);
    }
}
