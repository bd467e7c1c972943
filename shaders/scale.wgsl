// scale.wgsl — X *= s, element-wise. Reference: cpu backend `scale`. Exact.
// Bindings: X: (n) f32 in place; P: { n, s, grid_x }.
// Dispatch: (min(ceil(n / WG), 65535), ceil(ceil(n / WG) / 65535), 1), one thread per element.

struct Params {
    n: u32,
    s: f32,
    grid_x: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read_write> X: array<f32>;
@group(0) @binding(1) var<uniform> P: Params;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn scale(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * P.grid_x) * WG + lid;
    if (i < P.n) {
        X[i] = X[i] * P.s;
    }
}
