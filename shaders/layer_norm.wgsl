// layer_norm.wgsl — LayerNorm of each `group`-element slice (Phi-2):
// Y = (X − mean) · (1 / sqrt(var + eps)) · Wt + Bs, var = mean((X − mean)²).
//
// Reference: cpu backend ops::layer_norm (ggml's norm, mul, add). The CPU sums in f64; WGSL has
// no f64, so the sums are f32 trees (results agree to rounding, not bit for bit).
// Bindings:
//   X:  (n_groups, group) f32
//   Wt: (group) f32            the norm weight
//   Bs: (group) f32            the norm bias
//   Y:  (n_groups, group) f32
//   P:  Params
// Dispatch: one workgroup per group, (min(n_groups, 65535), ceil(n_groups / 65535), 1).

struct Params {
    group: u32,
    n_groups: u32,
    eps: f32,
    grid_x: u32,
}

@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Wt: array<f32>;
@group(0) @binding(2) var<storage, read> Bs: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
@group(0) @binding(4) var<uniform> P: Params;

// Threads per group (a power of two), as rms_norm.wgsl.
override WG: u32 = 256u;

var<workgroup> partial: array<f32, WG>;

// The sum of every thread's `v` (all threads call it; uniform control flow).
fn workgroup_sum(lid: u32, v: f32) -> f32 {
    partial[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (lid < s) {
            partial[lid] = partial[lid] + partial[lid + s];
        }
        workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier(); // partial is reused by the next call
    return total;
}

@compute @workgroup_size(WG)
fn layer_norm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let g = wid.x + wid.y * P.grid_x;
    if (g >= P.n_groups) {
        return; // uniform
    }
    let base = g * P.group;
    var acc = 0.0;
    for (var i = lid; i < P.group; i = i + WG) {
        acc = acc + X[base + i];
    }
    let mean = workgroup_sum(lid, acc) / f32(P.group);
    acc = 0.0;
    for (var i = lid; i < P.group; i = i + WG) {
        let d = X[base + i] - mean;
        acc = acc + d * d;
    }
    let variance = workgroup_sum(lid, acc) / f32(P.group);
    let scale = 1.0 / sqrt(variance + P.eps);
    for (var i = lid; i < P.group; i = i + WG) {
        Y[base + i] = (X[base + i] - mean) * scale * Wt[i] + Bs[i];
    }
}
