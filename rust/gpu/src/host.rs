//! Small tables computed on the host, where the CPU backend's float results can be reproduced
//! exactly (Rust's libm), then uploaded: RoPE cos/sin per position and the GELU table.

use model::backend::RopeParams;

/// cos/sin of every rotated pair for rows at positions pos0.. : `(rows, n_rot)`, `[2i] = cos θᵢ`,
/// `[2i+1] = sin θᵢ`, θᵢ = scale · pos · base^(−2i/n_rot) / factorᵢ, the angle advanced by repeated
/// f32 multiplication, both scaled by `attn_factor` — the same arithmetic as the CPU backend's `ops::rope_cache` (and ggml's rope
/// cache), so GPU and CPU rotate by bit-identical angles.
pub fn rope_cos_sin(
    pos0: usize,
    rows: usize,
    p: &RopeParams,
    freq_factors: Option<&[f32]>,
) -> Vec<f32> {
    let theta_scale = p.freq_base.powf(-2.0 / p.n_rot as f32);
    let mut out = vec![0.0f32; rows * p.n_rot];
    for (t, row) in out.chunks_mut(p.n_rot.max(1)).enumerate() {
        let mut theta = (pos0 + t) as f32;
        for i in 0..p.n_rot / 2 {
            let ff = freq_factors.map_or(1.0, |f| f[i]);
            let a = p.freq_scale * (theta / ff);
            row[2 * i] = a.cos() * p.attn_factor;
            row[2 * i + 1] = a.sin() * p.attn_factor;
            theta *= theta_scale;
        }
    }
    out
}

/// tanh-GELU of every f16 input, rounded to f16 and widened (index = f16 bits), as ggml's
/// `ggml_table_gelu_f16` and the CPU backend's table: the FMA in `1 + a·x·x` is the one GCC forms
/// when it compiles ggml.
pub fn gelu_table() -> Vec<f32> {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    const COEF_A: f32 = 0.044715;
    (0..=u16::MAX)
        .map(|bits| {
            let x = half::f16::from_bits(bits).to_f32();
            let g = 0.5 * x * (1.0 + (SQRT_2_OVER_PI * x * (COEF_A * x).mul_add(x, 1.0)).tanh());
            half::f16::from_f32(g).to_f32()
        })
        .collect()
}
