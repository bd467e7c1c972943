//! Element-wise and per-row operations, numerically mirroring ggml's CPU reference so that
//! greedy decoding lands on the same tokens as llama.cpp.

use model::backend::{RopeParams, RopeStyle};
use quant::float::Fmaf;
use quant::math;
use std::sync::OnceLock;

/// RMS norm in place: `x * w / sqrt(mean(x²) + eps)`. The sum of squares is accumulated in f64,
/// as ggml does, so long rows do not lose precision.
pub fn rms_norm(x: &mut [f32], w: &[f32], eps: f32) {
    let sum: f64 = x.iter().map(|&v| (v * v) as f64).sum();
    let mean = (sum / x.len() as f64) as f32;
    let scale = 1.0 / (mean + eps).sqrt();
    x.iter_mut().zip(w).for_each(|(v, w)| *v = *v * scale * w);
}

/// LayerNorm in place: `(x − mean) / √(var + eps) · w + b`, in ggml's order (ggml-cpu
/// `ggml_compute_forward_norm_f32`, then `mul` and `add` as separate ops): the mean from an f64
/// sum; the variance as `ggml_vec_cvar_f32` computes it on AVX2 — squares of 8 lanes summed in f32
/// as ((0+4)+(2+6))+((1+5)+(3+7)), those sums in f64, the tail one by one — divided in f64.
pub fn layer_norm(x: &mut [f32], w: &[f32], b: &[f32], eps: f32) {
    let n = x.len();
    let sum: f64 = x.iter().map(|&v| v as f64).sum();
    let mean = sum as f32 / n as f32;
    let mut var = 0.0f64;
    let mut chunks = x.chunks_exact_mut(8);
    for c in &mut chunks {
        let mut sq = [0.0f32; 8];
        for (s, v) in sq.iter_mut().zip(c.iter_mut()) {
            *v -= mean;
            *s = *v * *v;
        }
        let lo = [sq[0] + sq[4], sq[1] + sq[5], sq[2] + sq[6], sq[3] + sq[7]];
        var += ((lo[0] + lo[2]) + (lo[1] + lo[3])) as f64;
    }
    for v in chunks.into_remainder() {
        *v -= mean;
        var += (*v * *v) as f64;
    }
    let variance = (var / n as f64) as f32;
    let scale = 1.0 / (variance + eps).sqrt();
    for ((v, w), b) in x.iter_mut().zip(w).zip(b) {
        *v = *v * scale * w + b;
    }
}

/// cos/sin pairs for one position: `cos_sin[2i] = cos θᵢ, cos_sin[2i+1] = sin θᵢ` with
/// θᵢ = scale · pos · base^(−2i/n_rot) / factorᵢ. The angle is advanced by repeated
/// multiplication in f32 exactly as ggml's rope cache does (a closed-form pow differs in the
/// last bits, which is enough to flip a near-tie in greedy decoding); sin, cos and pow are
/// glibc's on every build (`quant::math`: the wasm builds' own libm differs in the last bit).
pub fn rope_cache(pos: f32, p: &RopeParams, freq_factors: Option<&[f32]>, cos_sin: &mut [f32]) {
    let theta_scale = math::powf(p.freq_base, -2.0 / p.n_rot as f32);
    let mut theta = pos;
    for i in 0..p.n_rot / 2 {
        let ff = freq_factors.map_or(1.0, |f| f[i]);
        let t = p.freq_scale * (theta / ff);
        // ggml's rope_yarn without YaRN: cosf(θ)·mscale, sinf(θ)·mscale (exact when it is 1).
        cos_sin[2 * i] = math::cosf(t) * p.attn_factor;
        cos_sin[2 * i + 1] = math::sinf(t) * p.attn_factor;
        theta *= theta_scale;
    }
}

/// The cos/sin tables ([`rope_cache`]) of the last few rope calls: a forward pass ropes q and k
/// of every layer at the same positions with one or two parameter sets (Gemma: local and global
/// bases), so the tables are made once per pass instead of 2 × n_layer times (the sin/cos are
/// glibc's algorithms, in software FMA on wasm: about 0.1 µs each there).
#[derive(Default)]
pub struct RopeTables {
    tables: Vec<(RopeKey, Vec<f32>)>,
}

#[derive(PartialEq)]
struct RopeKey {
    pos0: usize,
    rows: usize,
    n_rot: usize,
    freq_base: u32,
    freq_scale: u32,
    attn_factor: u32,
    freq_factors: Option<Vec<u32>>,
}

/// Tables kept (the most recently made ones).
const ROPE_TABLES_KEPT: usize = 4;

impl RopeTables {
    /// `rows` tables of `n_rot` floats (positions `pos0..pos0 + rows`), made if not kept.
    pub fn get(
        &mut self,
        pos0: usize,
        rows: usize,
        p: &RopeParams,
        freq_factors: Option<&[f32]>,
    ) -> &[f32] {
        let key = RopeKey {
            pos0,
            rows,
            n_rot: p.n_rot,
            freq_base: p.freq_base.to_bits(),
            freq_scale: p.freq_scale.to_bits(),
            attn_factor: p.attn_factor.to_bits(),
            freq_factors: freq_factors.map(|f| f.iter().map(|v| v.to_bits()).collect()),
        };
        let i = match self.tables.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                let mut t = if self.tables.len() >= ROPE_TABLES_KEPT {
                    self.tables.remove(0).1
                } else {
                    Vec::new()
                };
                t.clear();
                t.resize(rows * p.n_rot, 0.0);
                for (r, cs) in t.chunks_exact_mut(p.n_rot.max(1)).enumerate() {
                    rope_cache((pos0 + r) as f32, p, freq_factors, cs);
                }
                self.tables.push((key, t));
                self.tables.len() - 1
            }
        };
        &self.tables[i].1
    }
}

/// Rotates one head in place; dimensions past `n_rot` pass through.
#[inline(always)]
pub fn rope_apply(head: &mut [f32], p: &RopeParams, cos_sin: &[f32]) {
    let half = p.n_rot / 2;
    for i in 0..half {
        let (a, b) = match p.style {
            RopeStyle::Interleaved => (2 * i, 2 * i + 1),
            RopeStyle::Neox => (i, i + half),
        };
        let (cos, sin) = (cos_sin[2 * i], cos_sin[2 * i + 1]);
        let (x0, x1) = (head[a], head[b]);
        // ggml's `x0*cos - x1*sin` and `x0*sin + x1*cos`, as GCC compiles them for llama.cpp
        // (-ffp-contract=fast with FMA): the second product rounded, the first fused.
        head[a] = x0.fmaf(cos, -(x1 * sin));
        head[b] = x0.fmaf(sin, x1 * cos);
    }
}

/// SiLU as ggml_silu_f32, the scalar form: `x / (1 + expf(-x))` with libm's expf. ggml's
/// x86-64 AVX2 build takes it only for the last `n % 8` elements of a row; see [`silu_v8`].
pub fn silu(x: f32) -> f32 {
    x / (1.0 + math::expf(-x))
}

/// SiLU as one lane of ggml_v_silu (AVX2 + FMA), which ggml_vec_silu_f32 and
/// ggml_vec_swiglu_f32 run on every full group of 8 elements of a row: `0 − x` (not a sign
/// flip), ggml_v_expf's polynomial instead of libm's expf (they differ in the last bit for
/// many inputs), then `x / (1 + e)`.
#[inline(always)]
pub fn silu_v8(x: f32) -> f32 {
    x / (1.0 + quant::simd::tile::expf(0.0 - x))
}

/// The SiLU of element `col` of a `cols`-element row, as ggml's row kernels pick it: the
/// vector lane for the full groups of 8, the scalar form for the tail.
#[inline(always)]
pub fn silu_at(x: f32, col: usize, cols: usize) -> f32 {
    if col < cols - cols % 8 {
        silu_v8(x)
    } else {
        silu(x)
    }
}

/// tanh-approximated GELU. ggml evaluates it through a table indexed by the f16 rounding of x
/// (values stored as f16) for |x| < 10, so we do the same.
pub fn gelu(x: f32) -> f32 {
    if x <= -10.0 {
        0.0
    } else if x >= 10.0 {
        x
    } else {
        gelu_table()[half::f16::from_f32(x).to_bits() as usize]
    }
}

fn gelu_exact(x: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    const COEF_A: f32 = 0.044715;
    // As GCC compiles ggml_gelu_f32 for llama.cpp's table (-ffp-contract=fast, FMA):
    // `1 + COEF_A*x*x` becomes one fused multiply-add.
    0.5 * x * (1.0 + (SQRT_2_OVER_PI * x * (COEF_A * x).fmaf(x, 1.0)).tanh())
}

/// GELU of every f16 value, rounded to f16 and widened back.
fn gelu_table() -> &'static [f32] {
    static TABLE: OnceLock<Vec<f32>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (0..=u16::MAX)
            .map(|bits| {
                half::f16::from_f32(gelu_exact(half::f16::from_bits(bits).to_f32())).to_f32()
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silu_takes_the_vector_lanes_except_for_a_rows_tail() {
        // a 13-element row: 8 vector lanes, then 5 scalar ones (ggml_vec_swiglu_f32 on AVX2)
        let xs: Vec<f32> = (0..13).map(|i| i as f32 * 0.37 - 2.1).collect();
        for (c, &x) in xs.iter().enumerate() {
            let want = if c < 8 { silu_v8(x) } else { silu(x) };
            assert_eq!(silu_at(x, c, 13).to_bits(), want.to_bits(), "column {c}");
        }
        // the two forms are the same function up to the last bits, and not always equal
        let sample = (0..2000).map(|i| i as f32 * 0.0137 - 13.7);
        let mut differ = 0;
        for x in sample {
            let (v, s) = (silu_v8(x), silu(x));
            assert!(
                (v - s).abs() <= 4.0 * f32::EPSILON * s.abs().max(f32::MIN_POSITIVE),
                "{x}"
            );
            differ += (v != s) as usize;
        }
        assert!(
            differ > 0,
            "ggml_v_expf and libm's expf part in the last bit somewhere"
        );
    }

    #[test]
    fn rms_norm_unit_rows() {
        let mut x = [3.0, 4.0];
        rms_norm(&mut x, &[1.0, 2.0], 0.0);
        let s = 1.0 / (12.5f32).sqrt();
        assert_eq!(x, [3.0 * s, 8.0 * s]);
    }

    #[test]
    fn rope_tables_are_rope_cache_rows_for_each_parameter_set() {
        let p = |freq_base, n_rot| RopeParams {
            style: RopeStyle::Neox,
            head_dim: 8,
            n_rot,
            freq_base,
            freq_scale: 1.0,
            attn_factor: 1.0,
        };
        let ff = [1.0f32, 2.0, 4.0];
        let mut tables = RopeTables::default();
        for round in 0..2 {
            for (p, ff, pos0, rows) in [
                (p(10_000.0, 8), None, 5, 3),
                (p(1_000_000.0, 8), None, 5, 3),
                (p(10_000.0, 6), Some(&ff[..]), 5, 3),
                (p(10_000.0, 8), None, 6, 1),
                (p(10_000.0, 8), None, 5, 2),
            ] {
                let got = tables.get(pos0, rows, &p, ff).to_vec();
                let mut want = vec![0.0; rows * p.n_rot];
                for (r, cs) in want.chunks_exact_mut(p.n_rot).enumerate() {
                    rope_cache((pos0 + r) as f32, &p, ff, cs);
                }
                assert_eq!(got, want, "round {round} pos0 {pos0} rows {rows}");
            }
        }
        assert!(tables.tables.len() <= ROPE_TABLES_KEPT);
    }

    #[test]
    fn rope_at_position_zero_is_identity() {
        let p = RopeParams {
            style: RopeStyle::Neox,
            head_dim: 4,
            n_rot: 4,
            freq_base: 10000.0,
            freq_scale: 1.0,
            attn_factor: 1.0,
        };
        let mut cs = [0.0; 4];
        rope_cache(0.0, &p, None, &mut cs);
        let mut h = [1.0, 2.0, 3.0, 4.0];
        rope_apply(&mut h, &p, &cs);
        assert_eq!(h, [1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn rope_attn_factor_scales_the_rotated_dimensions_only() {
        // LongRoPE's magnitude factor: at position 0 the rotation is the identity times it, on
        // the n_rot rotated dimensions; a table made with it is not reused without it.
        let p = |attn_factor| RopeParams {
            style: RopeStyle::Neox,
            head_dim: 6,
            n_rot: 4,
            freq_base: 10000.0,
            freq_scale: 1.0,
            attn_factor,
        };
        let mut tables = RopeTables::default();
        let plain = tables.get(0, 1, &p(1.0), None).to_vec();
        let scaled = tables.get(0, 1, &p(1.5), None).to_vec();
        assert_eq!(plain, [1.0, 0.0, 1.0, 0.0]);
        assert_eq!(scaled, [1.5, 0.0, 1.5, 0.0]);
        let mut h = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        rope_apply(&mut h, &p(1.5), &scaled);
        assert_eq!(h, [1.5, 3.0, 4.5, 6.0, 5.0, 6.0]);
    }

    #[test]
    fn rope_rotates_the_right_pairs() {
        // First pair has θ = pos; rotate by π/2 at pos = π/2.
        let pos = std::f32::consts::FRAC_PI_2;
        for (style, pair) in [(RopeStyle::Interleaved, (0, 1)), (RopeStyle::Neox, (0, 2))] {
            let p = RopeParams {
                style,
                head_dim: 4,
                n_rot: 4,
                freq_base: 10000.0,
                freq_scale: 1.0,
                attn_factor: 1.0,
            };
            let mut cs = [0.0; 4];
            rope_cache(pos, &p, None, &mut cs);
            let mut h = [0.0; 4];
            h[pair.0] = 1.0;
            rope_apply(&mut h, &p, &cs);
            assert!(
                h[pair.0].abs() < 1e-6 && (h[pair.1] - 1.0).abs() < 1e-6,
                "{style:?}: {h:?}"
            );
        }
    }

    #[test]
    fn layer_norm_matches_the_formula() {
        // 21 elements: two 8-lane chunks and a tail of 5; a mean far from 0
        let x: Vec<f32> = (0..21)
            .map(|i| 7.0 + ((i * 37 % 11) as f32 - 5.0) * 0.3)
            .collect();
        let w: Vec<f32> = (0..21).map(|i| 0.5 + i as f32 * 0.1).collect();
        let b: Vec<f32> = (0..21).map(|i| i as f32 * -0.05).collect();
        let n = x.len() as f64;
        let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
        let mut y = x.clone();
        layer_norm(&mut y, &w, &b, 1e-5);
        for i in 0..x.len() {
            let want = (x[i] as f64 - mean) / (var + 1e-5).sqrt() * w[i] as f64 + b[i] as f64;
            assert!(
                (y[i] as f64 - want).abs() < 1e-5,
                "[{i}]: {} vs {want}",
                y[i]
            );
        }
    }

    #[test]
    fn gelu_matches_formula_within_f16_precision() {
        for i in -400..400 {
            let x = i as f32 * 0.025;
            assert!(
                (gelu(x) - gelu_exact(x)).abs() <= 2e-3 * (1.0 + x.abs()),
                "x={x}"
            );
        }
        assert_eq!(gelu(-12.0), 0.0);
        assert_eq!(gelu(12.0), 12.0);
    }
}
