// gated_activation.wgsl — O = act(G) · U element-wise: GeGLU (Gemma) or SwiGLU (LLaMA).
//
// GELU is read from a table of all 65536 f16 inputs (GT, built on the host by rust/gpu/src/gelu.rs
// as the CPU backend builds its own: tanh-GELU rounded to f16), indexed by the f16 rounding of g,
// so it equals the CPU's bit for bit; g ≤ −10 gives +0 and g ≥ 10 gives g·u (ggml's cut-offs).
// SiLU is g / (1 + exp(−g)) with the GPU's exp (equal to rounding).
// Reference: cpu backend `gated_activation`.
// Bindings:
//   G, U: (n) f32; O: (n) f32; GT: (65536) f32; P: { n, act (0 = SiLU, 1 = GELU), grid_x }
// Dispatch: (min(ceil(n / WG), 65535), ceil(ceil(n / WG) / 65535), 1), one thread per element.

struct Params {
    n: u32,
    act: u32,
    grid_x: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> G: array<f32>;
@group(0) @binding(1) var<storage, read> U: array<f32>;
@group(0) @binding(2) var<storage, read_write> O: array<f32>;
@group(0) @binding(3) var<storage, read> GT: array<f32>;
@group(0) @binding(4) var<uniform> P: Params;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn gated_activation(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * P.grid_x) * WG + lid;
    if (i >= P.n) {
        return;
    }
    let g = G[i];
    let u = U[i];
    if (P.act == 1u) {
        if (g <= -10.0) {
            O[i] = 0.0;
        } else if (g >= 10.0) {
            O[i] = g * u;
        } else {
            O[i] = GT[f32_to_f16_bits(g)] * u;
        }
    } else {
        O[i] = g / (1.0 + exp(-g)) * u;
    }
}
