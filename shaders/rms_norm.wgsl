// rms_norm.wgsl — RMS norm of each `group`-element slice: Y = X · (1 / sqrt(mean(X²) + eps)) · Wt,
// or with `add` set Y = that + Y (Gemma's post-norm and residual add in one pass).
//
// Reference: cpu backend ops::rms_norm. The CPU sums the f32 squares in f64; WGSL has no f64, so
// the squares are summed in f32 by a tree (a relative difference of ~1e-7 in the scale).
// Bindings:
//   X:  (n_groups, group) f32
//   Wt: (group) f32            the norm weight
//   Y:  (n_groups, group) f32
//   P:  Params
// Dispatch: one workgroup per group, (min(n_groups, 65535), ceil(n_groups / 65535), 1).

struct Params {
    group: u32,
    n_groups: u32,
    eps: f32,
    grid_x: u32,
    add: u32,      // 1: add the normed value to Y instead of overwriting it
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Wt: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

// Threads per group (a power of two). 256, not the 64 of the other kernels: a decode step norms
// one row, so this single workgroup's loop is the whole kernel's latency.
override WG: u32 = 256u;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn rms_norm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let g = wid.x + wid.y * P.grid_x;
    if (g >= P.n_groups) {
        return; // uniform
    }
    let base = g * P.group;
    var acc = 0.0;
    for (var i = lid; i < P.group; i = i + WG) {
        let v = X[base + i];
        acc = acc + v * v;
    }
    partial[lid] = acc;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (lid < s) {
            partial[lid] = partial[lid] + partial[lid + s];
        }
        workgroupBarrier();
    }
    let mean = partial[0] / f32(P.group);
    let scale = 1.0 / sqrt(mean + P.eps);
    for (var i = lid; i < P.group; i = i + WG) {
        let v = X[base + i] * scale * Wt[i];
        if (P.add == 1u) {
            Y[base + i] = v + Y[base + i];
        } else {
            Y[base + i] = v;
        }
    }
}
