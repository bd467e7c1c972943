// rope.wgsl — rotary position embedding in place, both pairings.
//
// For each row t and head h, pair i < n_rot/2 is (a, b) = (2i, 2i+1) (interleaved, LLaMA) or
// (i, i + n_rot/2) (NeoX, Gemma); x_a' = x_a·cos − x_b·sin, x_b' = x_a·sin + x_b·cos.
// The cos/sin table is computed on the host (rust/gpu/src/rope.rs, as the CPU backend's
// ops::rope_cache does, by repeated f32 multiplication) so the angles equal the CPU's bit for bit;
// the rotation uses the CPU's fused form (first product fused, second rounded).
// Reference: cpu backend ops::rope_apply.
// Bindings:
//   X:  (rows, n_heads · head_dim) f32, rotated in place
//   CS: (rows, n_rot) f32: cos θ_i at 2i, sin θ_i at 2i+1 for the row's position
//   P:  Params
// Dispatch: (ceil(n_heads · n_rot/2 / WG), rows, 1), one thread per pair.

struct Params {
    head_dim: u32,
    n_rot: u32,
    n_heads: u32,
    neox: u32,     // 1 = NeoX pairing, 0 = interleaved
}

@group(0) @binding(0) var<storage, read_write> X: array<f32>;
@group(0) @binding(1) var<storage, read> CS: array<f32>;
@group(0) @binding(2) var<uniform> P: Params;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn rope(@builtin(global_invocation_id) gid: vec3<u32>) {
    let n_pairs = P.n_rot / 2u;
    let h = gid.x / n_pairs;
    let i = gid.x % n_pairs;
    let t = gid.y;
    if (h >= P.n_heads) {
        return;
    }
    let base = (t * P.n_heads + h) * P.head_dim;
    var a = base + 2u * i;
    var b = a + 1u;
    if (P.neox == 1u) {
        a = base + i;
        b = base + i + n_pairs;
    }
    let c = CS[t * P.n_rot + 2u * i];
    let s = CS[t * P.n_rot + 2u * i + 1u];
    let x0 = X[a];
    let x1 = X[b];
    X[a] = fma(x0, c, -(x1 * s));
    X[b] = fma(x0, s, x1 * c);
}
