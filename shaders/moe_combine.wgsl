// moe_combine.wgsl — the weighted sum of a mixture-of-experts layer's expert outputs:
//   O[t][c] = Σ_s WT[t][s] · Y[t·k + s][c], each product rounded, then added in slot order
// (llama.cpp: ggml_mul, then ggml_add of the k views). Reference: cpu backend's moe_combine;
// equal to rounding (a shader compiler may fuse the multiply-add).
// Bindings: Y: (rows·k, n) f32; WT: (rows, k) f32; O: (rows, n) f32; P: { rows, n, k, grid_x }.
// Dispatch: (min(g, 65535), ceil(g / 65535), 1) with g = ceil(rows·n / WG), one thread per output.

struct Params {
    rows: u32,
    n: u32,
    k: u32,
    grid_x: u32,
}

@group(0) @binding(0) var<storage, read> Y: array<f32>;
@group(0) @binding(1) var<storage, read> WT: array<f32>;
@group(0) @binding(2) var<storage, read_write> O: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn moe_combine(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * P.grid_x) * WG + lid;
    if (i >= P.rows * P.n) {
        return;
    }
    let t = i / P.n;
    let c = i % P.n;
    var acc = Y[(t * P.k) * P.n + c] * WT[t * P.k];
    for (var s = 1u; s < P.k; s = s + 1u) {
        acc = acc + Y[(t * P.k + s) * P.n + c] * WT[t * P.k + s];
    }
    O[i] = acc;
}
