// matvec_rows.wgsl — decode matrix-vector product for real GPUs: a workgroup takes R weight rows,
// its threads split them into 32-element slices (composed with a slice decoder: a format's own,
// formats/q4_k_slice.wgsl and formats/q6_k_slice.wgsl, or formats/slice.wgsl over dequant4).
//
// Computes Y[0][out_offset + r] = Σ_k W[r][k] · X[0][k] for the one token row of a decode step and
// the weight rows r of one chunk, as matvec.wgsl, with the same bindings and Params (mat_io.wgsl).
// Reference: as matvec.wgsl (f32 activations; tests/kernels.rs checks it against an f64 dot of
// the CPU's dequantized weights).
//
// Work split: slice s of a row holds 32 of its elements (8 slices per 256-element super-block;
// which 32 is the decoder's choice — for Q4_K the two nibble halves of 16 bytes of qs). Thread
// t of the WG takes slices t, t + WG, … of all R rows of its workgroup:
//  - neighbouring threads read neighbouring bytes of the same blocks (coalesced; Q4_K with one
//    16-byte load for the block header and one for its quants);
//  - a block's scales are decoded once per 32 elements, not once per 4 as dequant4 does;
//  - the slice's 32 activations are loaded once into registers and used for all R rows;
//  - each row's WG partial sums are added in workgroup memory: two barriers, not a tree of six
//    as matvec_coop's.
// Why not one row per workgroup (matvec_coop): a 2048×2048 Q4_K weight is 2.4 MB, a few µs of a
// GPU's memory bandwidth; with one row per workgroup the time went to per-element scale decoding,
// the reduction tree and one X read per row, not to the memory.
// Needs: cols % 32 == 0 (the backend falls back to matvec_coop otherwise).
// Dispatch: (min(g, 65535), ceil(g / 65535), 1), g = ceil(rows / R); the workgroup's first row is
// (wid.x + wid.y · grid_x) · R.
//
// Slice decoder interface (formats/*slice.wgsl):
//   struct XSlice                                   the activations of a slice, as the decoder wants them
//   fn load_x(s: u32) -> XSlice                     slice s of X's row 0, read through x4 below
//   fn slice_dot(r: u32, s: u32, x: XSlice) -> f32  Σ over slice s of W[r][k] · X[0][k]
//
// Fused decode steps (P.flags; each saves a pass, i.e. a dispatch and a barrier, per use):
//  - FLAG_NORM: the input is rms_norm(X)·G: x4 multiplies by the norm weight G as it loads, the
//    workgroup sums X² over the row first (every workgroup: the row is 2–16 KB, read from cache)
//    and the scale 1/sqrt(mean + eps) multiplies the finished sums (the product is linear in x).
//  - FLAG_ADD: Y += result (the residual add of an output projection).
//  - GLU_SILU / GLU_GELU: W is [gate; up] stacked (gate rows 0..glu_rows, up rows glu_rows..);
//    a workgroup takes gate rows g0 .. g0+H and the up rows glu_rows + g0 .. as its R = 2·H rows
//    and writes act(gate)·up (activation.wgsl) to Y[g0 ..]: the feed-forward input in one pass.
// Dispatch with GLU: g = ceil(glu_rows / H) workgroups; first gate row (wid.x + wid.y·grid_x)·H.

// Threads per workgroup (a const: it sizes the workgroup arrays; a multiple of 8, ≥ 8·R).
// The backend may replace this line and R's (WASM_CHORD_GPU_MATVEC=WGxR, shaders.rs).
const WG: u32 = 64u;
// Weight rows per workgroup: each activation slice is read once for R rows. 4 keeps a
// 2048-row weight at 512 workgroups (several per SM on a 132-SM GPU) and a 256-row one at 64.
const R: u32 = 4u;
// GLU: gate rows per workgroup (each with its up row: R = 2·H accumulators).
const H: u32 = R / 2u;

const FLAG_NORM: u32 = 1u;
const FLAG_ADD: u32 = 2u;
const GLU_MASK: u32 = 12u;
const GLU_SILU: u32 = 4u;
const GLU_GELU: u32 = 8u;

// (cols / 4) vec4 norm weight (FLAG_NORM; else any buffer, never read)
@group(0) @binding(4) var<storage, read> G: array<vec4<f32>>;
// (65536) f32 GELU table (activation.wgsl; GLU_GELU; else any buffer, never read)
@group(0) @binding(5) var<storage, read> GT: array<f32>;

// (R, WG) partial sums, then (R, 8) sums of eight of them
var<workgroup> partial: array<f32, R * WG>;
var<workgroup> partial8: array<f32, R * 8u>;

// Activation vec4 i of the input row, as the product sees it: times the norm weight when normed.
fn x4(i: u32) -> vec4<f32> {
    if ((P.flags & FLAG_NORM) != 0u) {
        return X[i] * G[i];
    }
    return X[i];
}

// 1 / sqrt(mean(X²) + eps) of the input row, the same in every thread (FLAG_NORM; called in
// uniform control flow: it has barriers).
fn norm_scale(lid: u32) -> f32 {
    var ss = 0.0;
    for (var i = lid; i < P.cols / 4u; i = i + WG) {
        let v = X[i];
        ss = ss + dot(v, v);
    }
    partial[lid] = ss;
    workgroupBarrier();
    if (lid < 8u) {
        var s = 0.0;
        for (var j = 0u; j < WG / 8u; j = j + 1u) {
            s = s + partial[lid * (WG / 8u) + j];
        }
        partial8[lid] = s;
    }
    workgroupBarrier();
    let total = ((partial8[0] + partial8[1]) + (partial8[2] + partial8[3]))
        + ((partial8[4] + partial8[5]) + (partial8[6] + partial8[7]));
    // (partial8 is written again only after the main loop's barrier, when all have read it)
    return 1.0 / sqrt(total / f32(P.cols) + P.eps);
}

// Weight row of accumulator i (0..R) of the workgroup whose first row (first gate row with GLU)
// is r0; rows past the chunk's end repeat its last row (their sums are never written), so every
// thread runs the same loop and no read leaves the chunk.
fn row_of(r0: u32, i: u32) -> u32 {
    if ((P.flags & GLU_MASK) != 0u) {
        return min(r0 + i % H, P.glu_rows - 1u) + (i / H) * P.glu_rows;
    }
    return min(r0 + i, P.rows - 1u);
}

@compute @workgroup_size(WG)
fn matvec_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let glu = P.flags & GLU_MASK;
    let r0 = (wid.x + wid.y * P.grid_x) * select(R, H, glu != 0u);
    let n_slices = P.cols / 32u;
    var scale = 1.0;
    if ((P.flags & FLAG_NORM) != 0u) {
        scale = norm_scale(lid);
    }
    // at function scope: naga zero-initialises only there (see attention.wgsl)
    var acc: array<f32, R>;
    for (var s = lid; s < n_slices; s = s + WG) {
        let x = load_x(s);
        for (var i = 0u; i < R; i = i + 1u) {
            acc[i] = acc[i] + slice_dot(row_of(r0, i), s, x);
        }
    }
    for (var i = 0u; i < R; i = i + 1u) {
        partial[i * WG + lid] = acc[i];
    }
    workgroupBarrier();
    // R · 8 threads add eight partial sums each (all eight of one row: WG % 8 == 0)
    if (lid < R * 8u) {
        let b = lid * (WG / 8u);
        var s = 0.0;
        for (var j = 0u; j < WG / 8u; j = j + 1u) {
            s = s + partial[b + j];
        }
        partial8[lid] = s;
    }
    workgroupBarrier();
    if (glu != 0u) {
        // gate row r0 + lid with its up row (accumulator lid + H)
        if (lid < H && r0 + lid < P.glu_rows) {
            let g = scale * row_sum(lid);
            let u = scale * row_sum(lid + H);
            Y[P.out_offset + r0 + lid] = gated_act(g, u, select(ACT_SILU, ACT_GELU, glu == GLU_GELU));
        }
    } else if (lid < R && r0 + lid < P.rows) {
        let v = scale * row_sum(lid);
        let at = P.out_offset + r0 + lid;
        if ((P.flags & FLAG_ADD) != 0u) {
            Y[at] = v + Y[at];
        } else {
            Y[at] = v;
        }
    }
}

// Accumulator i's workgroup total, from its eight partial8 sums.
fn row_sum(i: u32) -> f32 {
    let b = i * 8u;
    return ((partial8[b] + partial8[b + 1u]) + (partial8[b + 2u] + partial8[b + 3u]))
        + ((partial8[b + 4u] + partial8[b + 5u]) + (partial8[b + 6u] + partial8[b + 7u]));
}
