// qkv_rope_store.wgsl — the end of a layer's attention input in one pass: from the projected
// q|k|v rows, Gemma's per-head RMS norms of q and k, RoPE of q and k, the q scale, q written out
// and k, v stored in the layer's f16 cache. It replaces five to seven passes of the primitive
// ops (rms_norm ×2, rope ×2, scale, store_kv), whose order and arithmetic it keeps: norm as
// rms_norm.wgsl (X · scale · N), rotation as rope.wgsl, f16 rounding as store_kv.wgsl.
// Reference: the primitive sequence (model::compose::attention_input; tests/kernels.rs).
//
// Bindings:
//   QKV: (rows, qkv_cols) f32     q heads at column 0, k heads at n_head·head_dim, v heads after
//   Q:   (rows, n_head·head_dim) f32, written
//   KC, VC: (n_ctx, kv_dim / 2) u32, two f16 per word (store_kv.wgsl), rows pos0.. written
//   QN, KN: (head_dim) f32        the per-head norms (FLAG_QK_NORM; else any buffer, never read)
//   CS: (rows, n_rot) f32         cos/sin per pair and row (rope.wgsl)
//   P:  Params
// Dispatch: (n_head + 2·n_head_kv, rows, 1): workgroup (h, t) takes head slot h of row t (q heads,
// then k heads, then v heads, their order in QKV); head_dim ≤ 256.

struct Params {
    head_dim: u32,
    n_rot: u32,
    n_head: u32,
    n_head_kv: u32,
    qkv_cols: u32,
    pos0: u32,
    flags: u32,    // FLAG_NEOX, FLAG_QK_NORM, FLAG_Q_SCALE
    eps: f32,
    q_scale: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

const FLAG_NEOX: u32 = 1u;
const FLAG_QK_NORM: u32 = 2u;
const FLAG_Q_SCALE: u32 = 4u;

@group(0) @binding(0) var<storage, read> QKV: array<f32>;
@group(0) @binding(1) var<storage, read_write> Q: array<f32>;
@group(0) @binding(2) var<storage, read_write> KC: array<u32>;
@group(0) @binding(3) var<storage, read_write> VC: array<u32>;
@group(0) @binding(4) var<storage, read> QN: array<f32>;
@group(0) @binding(5) var<storage, read> KN: array<f32>;
@group(0) @binding(6) var<storage, read> CS: array<f32>;
@group(0) @binding(7) var<uniform> P: Params;

const WG: u32 = 64u;

// the head being worked on
var<workgroup> head: array<f32, 256>;
var<workgroup> partial: array<f32, WG>;

// Multiplies the head by its RMS norm's scale and weight N (uniform control flow: barriers).
fn norm_head(lid: u32, is_q: bool) {
    var ss = 0.0;
    for (var i = lid; i < P.head_dim; i = i + WG) {
        ss = ss + head[i] * head[i];
    }
    partial[lid] = ss;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (lid < s) {
            partial[lid] = partial[lid] + partial[lid + s];
        }
        workgroupBarrier();
    }
    let scale = 1.0 / sqrt(partial[0] / f32(P.head_dim) + P.eps);
    for (var i = lid; i < P.head_dim; i = i + WG) {
        let n = select(KN[i], QN[i], is_q);
        head[i] = head[i] * scale * n;
    }
    workgroupBarrier();
}

// Rotates the head's pairs for row t (each thread its own pairs: no races).
fn rope_head(lid: u32, t: u32) {
    let n_pairs = P.n_rot / 2u;
    for (var i = lid; i < n_pairs; i = i + WG) {
        var a = 2u * i;
        var b = a + 1u;
        if ((P.flags & FLAG_NEOX) != 0u) {
            a = i;
            b = i + n_pairs;
        }
        let c = CS[t * P.n_rot + 2u * i];
        let s = CS[t * P.n_rot + 2u * i + 1u];
        let x0 = head[a];
        let x1 = head[b];
        head[a] = fma(x0, c, -(x1 * s));
        head[b] = fma(x0, s, x1 * c);
    }
    workgroupBarrier();
}

@compute @workgroup_size(WG)
fn qkv_rope_store(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let slot = wid.x;
    let t = wid.y;
    let hd = P.head_dim;
    let is_q = slot < P.n_head;
    let is_v = slot >= P.n_head + P.n_head_kv;
    let src = t * P.qkv_cols + slot * hd;
    for (var i = lid; i < hd; i = i + WG) {
        head[i] = QKV[src + i];
    }
    workgroupBarrier();
    if (!is_v) {
        if ((P.flags & FLAG_QK_NORM) != 0u) {
            norm_head(lid, is_q);
        }
        rope_head(lid, t);
    }
    if (is_q) {
        let dst = (t * P.n_head + slot) * hd;
        for (var i = lid; i < hd; i = i + WG) {
            var v = head[i];
            if ((P.flags & FLAG_Q_SCALE) != 0u) {
                v = v * P.q_scale;
            }
            Q[dst + i] = v;
        }
        return;
    }
    // k or v head j of the cache row
    let kv_half = P.n_head_kv * hd / 2u;
    var j = slot - P.n_head;
    if (is_v) {
        j = j - P.n_head_kv;
    }
    let dst = (P.pos0 + t) * kv_half + j * (hd / 2u);
    for (var p = lid; p < hd / 2u; p = p + WG) {
        let word = f32_to_f16_bits(head[2u * p]) | (f32_to_f16_bits(head[2u * p + 1u]) << 16u);
        if (is_v) {
            VC[dst + p] = word;
        } else {
            KC[dst + p] = word;
        }
    }
}
