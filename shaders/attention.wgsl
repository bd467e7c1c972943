// attention.wgsl — causal grouped-query attention of one layer's queries against its f16 KV cache,
// decode and prefill, with an optional sliding window; softmax in f32.
//
// Query row t sits at position pos = pos0 + t and sees keys first..=pos, first = pos + 1 − window
// (0 without a window). Head h reads KV head h / group.
// Numerics follow the CPU backend's attention.rs (itself ggml's two flash-attention kernels):
//  - scores: q·k in ggml_vec_dot_f16's order (32 lanes of FMAs over the head, lanes summed as
//    ((a0+a2)+(a1+a3)) then halves then pairs), times kq_scale; q is rounded to f16 in mode 0;
//    with a softcap (Gemma 2) the score is softcap·tanh(q·k · kq_scale), the host having divided
//    kq_scale by the cap (ggml's order), before the causal/window mask;
//  - mode 0 (fewer than 64 rows): online softmax key by key, value accumulator rounded to f16 after
//    every step (ggml_vec_scale_f16 / ggml_vec_mad_f16), sum S = S·ms + vs fused;
//  - mode 1 (64 rows or more): tiles of 64 keys aligned to position 0, f32 accumulator
//    (product rounded, then added), renormalised when a tile raises the running max.
// The exp is the GPU's, so results agree with the CPU to rounding, not bit for bit.
// Bindings:
//   Q:  (rows, n_head · head_dim) f32
//   KC: (n_ctx, kv_dim / 2) u32   f16 keys, two per word (store_kv.wgsl)
//   VC: (n_ctx, kv_dim / 2) u32   f16 values
//   S:  (rows · n_head, 2 · n_keys) f32 scratch: scores, then per-key factors
//   O:  (rows, n_head · head_dim) f32
//   P:  Params
// Dispatch: one workgroup of WG threads per (head, row): (n_head, rows, 1). head_dim ≤ HD_MAX.
// Phases: (0) the query (rounded to f16 in mode 0) goes to workgroup memory once, not once per
// key; (1) threads split the keys and write scores; (2) thread 0 walks the keys once and turns
// them into the softmax's per-key factors (identical for every output dimension); (3) each thread
// owns head dimensions and replays the accumulation over the keys in order.
// In mode 0 (decode) phases 2 and 3 run per chunk of WG keys through workgroup memory: the chunk's
// scores are loaded by all threads at once, thread 0 turns them into factors there, and the
// dimension owners consume them there — so no serial walk waits on a global-memory load per key
// (that walk was most of a decode step's attention time on a GPU).

struct Params {
    head_dim: u32,
    n_head: u32,
    group: u32,      // query heads per KV head
    kv_dim: u32,
    pos0: u32,
    window: u32,     // 0 = none
    n_keys: u32,     // scratch stride: 2 · n_keys floats per (row, head)
    mode: u32,       // 0 = f16 accumulator (rows < 64), 1 = tiled f32
    kq_scale: f32,   // divided by softcap when softcap != 0
    softcap: f32,    // 0 = none
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> Q: array<f32>;
@group(0) @binding(1) var<storage, read> KC: array<u32>;
@group(0) @binding(2) var<storage, read> VC: array<u32>;
@group(0) @binding(3) var<storage, read_write> S: array<f32>;
@group(0) @binding(4) var<storage, read_write> O: array<f32>;
@group(0) @binding(5) var<uniform> P: Params;

// Threads per workgroup (a const: it sizes the chunk arrays).
const WG: u32 = 64u;
// Largest head_dim (the backend checks): sizes the query copy and each thread's accumulators.
const HD_MAX: u32 = 256u;
// Head dimensions per thread in mode 0's chunked phase 3 (HD_MAX / WG).
const DPT: u32 = 4u;
// The lowest finite f32, the start of every running maximum. Not −inf: a WGSL const-expression
// may not evaluate to an infinity, and Tint (Chromium's WebGPU) rejects `bitcast<f32>(0xff800000u)`.
// Scores are finite, so exp(LOWEST − s) is 0 exactly as exp(−inf − s) and nothing else changes.
const LOWEST: f32 = -0x1.fffffep+127f;
// Keys per tile in mode 1 (ggml's GGML_FA_TILE_KV).
const KV_TILE: u32 = 64u;

var<workgroup> total: f32;
// (head_dim) this (row, head)'s query, rounded to f16 in mode 0
var<workgroup> qv: array<f32, HD_MAX>;
// mode 0, one chunk of WG keys: the scores, then ms (accumulator scale before the key) and vs
var<workgroup> chunk_ms: array<f32, WG>;
var<workgroup> chunk_vs: array<f32, WG>;

// f16 element d of cache row j (KC or VC), at KV-head offset `off`.
fn k_at(j: u32, off: u32, d: u32) -> f32 {
    let w = KC[(j * P.kv_dim + off + d) / 2u];
    return f16_bits_to_f32((w >> (16u * (d % 2u))) & 0xffffu);
}
fn v_at(j: u32, off: u32, d: u32) -> f32 {
    let w = VC[(j * P.kv_dim + off + d) / 2u];
    return f16_bits_to_f32((w >> (16u * (d % 2u))) & 0xffffu);
}

@compute @workgroup_size(WG)
fn attention(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let h = wid.x;
    let t = wid.y;
    let hd = P.head_dim;
    let pos = P.pos0 + t;
    var first = 0u;
    if (P.window != 0u && pos + 1u > P.window) {
        first = pos + 1u - P.window;
    }
    let n = pos + 1u - first;
    let off = (h / P.group) * hd;
    let q_base = (t * P.n_head + h) * hd;
    let s_base = (t * P.n_head + h) * 2u * P.n_keys;

    // (0) the query, once
    for (var d = lid; d < hd; d = d + WG) {
        var q = Q[q_base + d];
        if (P.mode == 0u) {
            q = round_f16(q);
        }
        qv[d] = q;
    }
    workgroupBarrier();

    // (1) scores
    var lanes: array<f32, 32>;
    var l8: array<f32, 8>;
    for (var jj = lid; jj < n; jj = jj + WG) {
        let j = first + jj;
        // Re-zeroed by hand on every key: a `var` declared in a loop body is not reliably
        // re-initialised per iteration after translation (naga hoists function-scope variables
        // and their zero initialiser to the function's entry).
        for (var i = 0u; i < 32u; i = i + 1u) {
            lanes[i] = 0.0;
        }
        let whole = hd / 32u * 32u;
        for (var c = 0u; c < whole; c = c + 32u) {
            for (var i = 0u; i < 32u; i = i + 1u) {
                lanes[i] = fma(k_at(j, off, c + i), qv[c + i], lanes[i]);
            }
        }
        for (var i = 0u; i < 8u; i = i + 1u) {
            l8[i] = (lanes[i] + lanes[i + 16u]) + (lanes[i + 8u] + lanes[i + 24u]);
        }
        var sum = ((l8[0] + l8[4]) + (l8[1] + l8[5])) + ((l8[2] + l8[6]) + (l8[3] + l8[7]));
        for (var d = whole; d < hd; d = d + 1u) {
            sum = sum + k_at(j, off, d) * qv[d];
        }
        var s = sum * P.kq_scale;
        if (P.softcap != 0.0) {
            // Clamped: a tanh computed through exp (Vulkan and Metal allow that) would give
            // inf/inf = NaN for large |s|; tanh(±10) is ±1 in f32 already.
            s = P.softcap * tanh(clamp(s, -10.0, 10.0));
        }
        S[s_base + jj] = s;
    }
    storageBarrier();
    workgroupBarrier();

    if (P.mode == 0u) {
        // (2 + 3) chunk by chunk: S[jj] → (ms, vs) by thread 0, then every owned dimension
        // accumulates the chunk: acc ← round(acc · ms) when ms ≠ 1, acc ← round(v · vs + acc)
        var m = LOWEST; // thread 0's running max and sum
        var sum = 0.0;
        var accs: array<f32, DPT>;
        for (var c0 = 0u; c0 < n; c0 = c0 + WG) {
            let cn = min(WG, n - c0);
            if (lid < cn) {
                chunk_ms[lid] = S[s_base + c0 + lid];
            }
            workgroupBarrier();
            if (lid == 0u) {
                for (var i = 0u; i < cn; i = i + 1u) {
                    let s = chunk_ms[i];
                    var ms = 1.0;
                    var vs = 1.0;
                    if (s > m) {
                        ms = exp(m - s);
                        m = s;
                    } else {
                        vs = exp(s - m);
                    }
                    chunk_ms[i] = ms;
                    chunk_vs[i] = vs;
                    sum = fma(sum, ms, vs);
                }
                total = sum;
            }
            workgroupBarrier();
            for (var di = 0u; di < DPT; di = di + 1u) {
                let d = lid + di * WG;
                if (d < hd) {
                    var acc = accs[di];
                    for (var i = 0u; i < cn; i = i + 1u) {
                        let ms = chunk_ms[i];
                        if (ms != 1.0) {
                            acc = round_f16(acc * ms);
                        }
                        acc = round_f16(fma(v_at(first + c0 + i, off, d), chunk_vs[i], acc));
                    }
                    accs[di] = acc;
                }
            }
            workgroupBarrier(); // the chunk arrays are refilled next
        }
        let inv0 = select(1.0 / total, 0.0, total == 0.0);
        for (var di = 0u; di < DPT; di = di + 1u) {
            let d = lid + di * WG;
            if (d < hd) {
                O[q_base + d] = accs[di] * inv0;
            }
        }
        return;
    }

    // mode 1: (2) per-key factors, once for all dimensions
    if (lid == 0u) {
        var m = LOWEST; // stands for −inf
        var sum = 0.0;
        // S[jj] ← exp(score − running max of its tile); S[n_keys + tile] ← the tile's rescale
        var ts = first / KV_TILE * KV_TILE;
        var tile = 0u;
        while (ts <= pos) {
            let a = max(ts, first) - first;
            let b = min(ts + KV_TILE - 1u, pos) - first;
            var tmax = LOWEST;
            for (var jj = a; jj <= b; jj = jj + 1u) {
                tmax = max(tmax, S[s_base + jj]);
            }
            let m_new = max(m, tmax);
            var ms = 1.0;
            if (m_new > m) {
                ms = exp(m - m_new);
                sum = sum * ms;
            }
            m = m_new;
            var tsum = 0.0;
            for (var jj = a; jj <= b; jj = jj + 1u) {
                let e = exp(S[s_base + jj] - m);
                S[s_base + jj] = e;
                tsum = tsum + e;
            }
            sum = sum + tsum;
            S[s_base + P.n_keys + tile] = ms;
            tile = tile + 1u;
            ts = ts + KV_TILE;
        }
        total = sum;
    }
    storageBarrier();
    workgroupBarrier();
    let inv = select(1.0 / total, 0.0, total == 0.0);

    // mode 1: (3) weighted values, one thread per head dimension
    var acc: f32;
    for (var d = lid; d < hd; d = d + WG) {
        acc = 0.0;
        var ts = first / KV_TILE * KV_TILE;
        var tile = 0u;
        while (ts <= pos) {
            let a = max(ts, first) - first;
            let b = min(ts + KV_TILE - 1u, pos) - first;
            acc = acc * S[s_base + P.n_keys + tile];
            for (var jj = a; jj <= b; jj = jj + 1u) {
                let p = S[s_base + jj] * v_at(first + jj, off, d);
                acc = acc + p;
            }
            tile = tile + 1u;
            ts = ts + KV_TILE;
        }
        O[q_base + d] = acc * inv;
    }
}
