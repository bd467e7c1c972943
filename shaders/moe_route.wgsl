// moe_route.wgsl — top-k routing of a mixture-of-experts layer (llama.cpp's build_moe_ffn with
// softmax gating): per row of router logits, the softmax over all n_expert experts, the k most
// probable experts in descending order (ties: the lower id first), and their probabilities,
// divided by their sum (clamped below at 2^-14, as llama.cpp) when norm = 1.
// Reference: cpu backend's moe_route (ggml's softmax order there; exp differs here in the last
// bits, so weights agree to rounding; ids agree except at near-ties).
// Bindings: L: (rows, n_expert) f32 logits; IDS: (rows, k) f32 expert ids out;
//   WT: (rows, k) f32 weights out; P: { rows, n_expert, k, norm }.
// Dispatch: (ceil(rows / WG), 1, 1), one thread per row: the selection walks the row k times,
// each time taking the best expert ranked after the previous pick, so it needs no scratch array.

struct Params {
    rows: u32,
    n_expert: u32,
    k: u32,
    norm: u32,
}

@group(0) @binding(0) var<storage, read> L: array<f32>;
@group(0) @binding(1) var<storage, read_write> IDS: array<f32>;
@group(0) @binding(2) var<storage, read_write> WT: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn moe_route(@builtin(global_invocation_id) gid: vec3<u32>) {
    let t = gid.x;
    if (t >= P.rows) {
        return;
    }
    let l0 = t * P.n_expert;
    var mx = L[l0];
    for (var e = 1u; e < P.n_expert; e = e + 1u) {
        mx = max(mx, L[l0 + e]);
    }
    var sum = 0.0;
    for (var e = 0u; e < P.n_expert; e = e + 1u) {
        sum = sum + exp(L[l0 + e] - mx);
    }
    let inv = 1.0 / sum;
    // (prev_p, prev_e): the last pick; the next is the best strictly ranked after it, where
    // (p, e) ranks before (q, f) when p > q, or p == q and e < f
    var prev_p = 2.0;
    var prev_e = 0u;
    var chosen = 0.0;
    for (var s = 0u; s < P.k; s = s + 1u) {
        var best_p = -1.0;
        var best_e = 0u;
        for (var e = 0u; e < P.n_expert; e = e + 1u) {
            let q = exp(L[l0 + e] - mx) * inv;
            let after_prev = q < prev_p || (q == prev_p && e > prev_e);
            if (after_prev && q > best_p) {
                best_p = q;
                best_e = e;
            }
        }
        IDS[t * P.k + s] = f32(best_e);
        WT[t * P.k + s] = best_p;
        chosen = chosen + best_p;
        prev_p = best_p;
        prev_e = best_e;
    }
    if (P.norm == 1u) {
        let d = max(chosen, 6.103515625e-5);
        for (var s = 0u; s < P.k; s = s + 1u) {
            WT[t * P.k + s] = WT[t * P.k + s] / d;
        }
    }
}
