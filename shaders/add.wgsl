// add.wgsl — residual add A += B (entry `add`) and division A /= B (entry `div`, qwen2moe's
// sigmoid as silu(x)/x), element-wise. Reference: cpu backend `add`, `div`. Exact (WGSL's `/` on
// f32 is not required to be correctly rounded; on IEEE hardware it is).
// Bindings: A: (n) f32 in place; B: (n) f32; P: { n, grid_x }.
// Dispatch: (min(ceil(n / WG), 65535), ceil(ceil(n / WG) / 65535), 1), one thread per element.

struct Params {
    n: u32,
    grid_x: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read_write> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<uniform> P: Params;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * P.grid_x) * WG + lid;
    if (i < P.n) {
        A[i] = A[i] + B[i];
    }
}

@compute @workgroup_size(WG)
fn div(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * P.grid_x) * WG + lid;
    if (i < P.n) {
        A[i] = A[i] / B[i];
    }
}
