// store_kv.wgsl — writes one layer's new keys and values into the f16 KV cache.
//
// KC[pos0 + t][p] = f16(K[t][2p]) | f16(K[t][2p+1]) << 16, the same for V; f32 → f16 rounds to
// nearest even (half.wgsl), as the CPU backend's cache does (half::f16::from_f32): bit for bit.
// Bindings:
//   K, V:   (rows, kv_dim) f32
//   KC, VC: (n_ctx, kv_dim / 2) u32, two f16 per word, low half first; kv_dim is even
//   P:      { kv_dim, pos0, rows }
// Dispatch: (ceil(kv_dim / 2 / WG), rows, 1), one thread per f16 pair.

struct Params {
    kv_dim: u32,
    pos0: u32,
    rows: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> K: array<f32>;
@group(0) @binding(1) var<storage, read> V: array<f32>;
@group(0) @binding(2) var<storage, read_write> KC: array<u32>;
@group(0) @binding(3) var<storage, read_write> VC: array<u32>;
@group(0) @binding(4) var<uniform> P: Params;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn store_kv(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = gid.x;
    let t = gid.y;
    let half_dim = P.kv_dim / 2u;
    if (p >= half_dim) {
        return;
    }
    let src = t * P.kv_dim + 2u * p;
    let dst = (P.pos0 + t) * half_dim + p;
    KC[dst] = f32_to_f16_bits(K[src]) | (f32_to_f16_bits(K[src + 1u]) << 16u);
    VC[dst] = f32_to_f16_bits(V[src]) | (f32_to_f16_bits(V[src + 1u]) << 16u);
}
