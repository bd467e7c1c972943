// activation.wgsl — the gated activations act(g) · u, shared by gated_activation.wgsl and the
// fused GLU epilogue of matvec_rows.wgsl (composed in front of them, rust/gpu/src/shaders.rs).
//
// GELU is read from a table of all 65536 f16 inputs (GT, declared by the including kernel; built
// on the host by rust/gpu/src/host.rs as the CPU backend builds its own: tanh-GELU rounded to
// f16), indexed by the f16 rounding of g, so it equals the CPU's bit for bit; g ≤ −10 gives +0
// and g ≥ 10 gives g·u (ggml's cut-offs). SiLU is g / (1 + exp(−g)) with the GPU's exp.
// Reference: cpu backend `gated_activation`.

const ACT_SILU: u32 = 0u;
const ACT_GELU: u32 = 1u;

fn gated_act(g: f32, u: f32, act: u32) -> f32 {
    if (act == ACT_GELU) {
        if (g <= -10.0) {
            return 0.0;
        } else if (g >= 10.0) {
            return g * u;
        }
        return GT[f32_to_f16_bits(g)] * u;
    }
    return g / (1.0 + exp(-g)) * u;
}
