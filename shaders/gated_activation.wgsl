// gated_activation.wgsl — O = act(G) · U element-wise: GeGLU (Gemma) or SwiGLU (LLaMA), with
// activation.wgsl's act; or, with `ungated`, O = act(G) (Phi-2's GELU: the product with 1 is
// exact, so this is the CPU's ungated `activation` bit for bit too). G and U may be column ranges of wider rows: the fused feed-forward input
// multiplies x by the stacked [gate; up] weight into one (rows, 2·n_ff) tensor and binds it twice
// (G at column 0, U at column n_ff; two read-only bindings of one buffer are allowed).
// Reference: cpu backend `gated_activation`.
// Bindings:
//   G, U: (rows, stride) f32, the row's values at columns g_offset.., u_offset.. (cols of each)
//   O: (rows, cols) f32; GT: (65536) f32; P: Params
// Dispatch: (min(ceil(n / WG), 65535), ceil(ceil(n / WG) / 65535), 1), one thread per element,
// n = rows · cols.

struct Params {
    n: u32,        // rows · cols
    act: u32,      // ACT_SILU / ACT_GELU
    grid_x: u32,
    cols: u32,     // elements per row of O
    stride: u32,   // row length of G and U
    g_offset: u32,
    u_offset: u32,
    ungated: u32,  // 1: U is not read, O = act(G)
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
    let at = (i / P.cols) * P.stride + i % P.cols;
    var u = 1.0;
    if (P.ungated == 0u) {
        u = U[at + P.u_offset];
    }
    O[i] = gated_act(G[at + P.g_offset], u, P.act);
}
