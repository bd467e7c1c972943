// matmul_tiled.wgsl — prefill matrix-matrix product for real GPUs, one weight format (composed
// with a formats/<type>.wgsl decoder, as matmul.wgsl): output tiles of BT token rows × BR weight
// rows per workgroup, both operands staged in workgroup memory, a 4 × 8 register tile per thread.
//
// Computes Y[t][out_offset + r] = Σ_k W[r][k] · X[t][k] for all n_tok token rows and the weight
// rows r of one chunk, as matmul.wgsl, with the same bindings and Params (mat_io.wgsl).
// Reference: as matvec.wgsl (f32 activations; tests/kernels.rs against an f64 dot).
//
// Why: matmul.wgsl gives each thread one weight row and reads X from memory for every product, so
// a prompt step was bound by X traffic and per-element decoding (2 ms a pass on an H200). Here, per
// step of BK elements of k:
//  - the BT × BK activations and BR × BK weights (decoded once to f32 by the format's dequant32,
//    a thread per weight row: one scale decode per 32 elements for Q4_K / Q6_K) are staged in
//    workgroup memory, stored transposed (k-major) so the inner loop reads vec4s of 4 tokens / 4
//    rows; every staged weight serves BT tokens and every activation BR rows;
//  - thread (tx, ty) (tx = lid % 8, ty = lid / 8) accumulates tokens 4ty .. 4ty + 4 against rows
//    4tx .. 4tx + 4 and 32 + 4tx .. 32 + 4tx + 4: 32 FMAs per three 16-byte workgroup reads (a
//    warp's reads are one broadcast and two contiguous 128-byte runs: no bank conflicts);
//  - staging stores are conflict-free: the 32 threads of a warp store 32 consecutive floats.
// Sums: each BK-step is summed apart and then added to the total, so a result is at most
// BK + cols / BK roundings deep (tests/kernels.rs's MATMUL_REL assumes ~cols/4).
// BT = 32, BR = 64: a 128-token prompt and a 2048-row weight make 4 × 32 = 128 workgroups, about
// one per SM of an H100/H200 — larger tiles would leave SMs idle at this size.
// Dispatch: (min(g, 65535), ceil(g / 65535), ceil(n_tok / BT)), g = ceil(rows / BR); the tile's
// first weight row is (wid.x + wid.y · grid_x) · BR, its first token row wid.z · BT.
// Barriers: two per BK-step; the backend uses matmul.wgsl on software adapters instead.

// Token rows per tile.
const BT: u32 = 32u;
// Weight rows per tile.
const BR: u32 = 64u;
// Elements of k per step (a multiple of 4; the row tail is zero-filled).
const BK: u32 = 32u;
// Threads: (BR / 8) × (BT / 4).
const WG: u32 = 64u;

// (BK, BT / 4): Xs[k · BT/4 + t / 4][t % 4] = X[t0 + t][k0 + k]
var<workgroup> Xs: array<vec4<f32>, 256>;
// (BK, BR / 4): Ws[k · BR/4 + r / 4][r % 4] = W[row0 + r][k0 + k]
var<workgroup> Ws: array<vec4<f32>, 512>;

// This thread's four vec4 of the X tile of the k-step at k0: vec4 j holds token t0 + idx % BT,
// elements k0 + 4·(idx / BT) .. + 4 (idx = lid + WG·j); zero past the prompt or the row.
fn read_x_step(t0: u32, k0: u32, lid: u32) -> array<vec4<f32>, 4> {
    var out: array<vec4<f32>, 4>;
    for (var j = 0u; j < 4u; j = j + 1u) {
        let idx = lid + WG * j;
        let t = t0 + idx % BT;
        let k = k0 + 4u * (idx / BT);
        out[j] = vec4<f32>(0.0);
        if (t < P.n_tok && k < P.cols) {
            out[j] = X[t * (P.cols / 4u) + k / 4u];
        }
    }
    return out;
}

// Elements k0 .. k0 + BK of the weight row at byte rb: dequant32 decodes the k-step's scale group
// once (formats/<type>.wgsl); past the last whole step (f32/f16/bf16 rows of cols % 32 != 0)
// groups of four, zero beyond the row.
fn read_w_step(rb: u32, k0: u32) -> array<vec4<f32>, 8> {
    if (k0 + BK <= P.cols) {
        return dequant32(rb, k0);
    }
    var out: array<vec4<f32>, 8>;
    for (var j = 0u; j < 8u; j = j + 1u) {
        out[j] = vec4<f32>(0.0);
        if (k0 + 4u * j < P.cols) {
            out[j] = dequant4(rb, k0 + 4u * j);
        }
    }
    return out;
}

@compute @workgroup_size(WG)
fn matmul_tiled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row0 = (wid.x + wid.y * P.grid_x) * BR;
    let t0 = wid.z * BT;
    let tx = lid % 8u;
    let ty = lid / 8u;
    // the weight row this thread stages (rows past the chunk repeat its last; never written)
    let r_stage = lid % BR;
    let rb = min(row0 + r_stage, P.rows - 1u) * P.row_bytes;
    // at function scope: naga zero-initialises only there (see attention.wgsl)
    // acc[i] / acc[4 + i]: token 4ty + i × rows 4tx.. / 32 + 4tx..
    var acc: array<vec4<f32>, 8>;
    var part: array<vec4<f32>, 8>;
    // the operands of a k-step, read (and decoded) from memory one step ahead, so that the
    // reads of step k0 + BK are in flight while step k0 is multiplied
    var xr = read_x_step(t0, 0u, lid);
    var wr = read_w_step(rb, 0u);
    for (var k0 = 0u; k0 < P.cols; k0 = k0 + BK) {
        // stage X: BT · BK / 4 = 256 vec4, four per thread (token idx % BT, k4 = idx / BT)
        for (var j = 0u; j < 4u; j = j + 1u) {
            let idx = lid + WG * j;
            let t = idx % BT;
            let at = 4u * (idx / BT) * (BT / 4u) + t / 4u;
            Xs[at][t % 4u] = xr[j].x;
            Xs[at + BT / 4u][t % 4u] = xr[j].y;
            Xs[at + 2u * (BT / 4u)][t % 4u] = xr[j].z;
            Xs[at + 3u * (BT / 4u)][t % 4u] = xr[j].w;
        }
        // stage W: BR rows of BK = 32 elements, one row per thread
        for (var j = 0u; j < 8u; j = j + 1u) {
            let at = 4u * j * (BR / 4u) + r_stage / 4u;
            Ws[at][r_stage % 4u] = wr[j].x;
            Ws[at + BR / 4u][r_stage % 4u] = wr[j].y;
            Ws[at + 2u * (BR / 4u)][r_stage % 4u] = wr[j].z;
            Ws[at + 3u * (BR / 4u)][r_stage % 4u] = wr[j].w;
        }
        workgroupBarrier();
        if (k0 + BK < P.cols) {
            xr = read_x_step(t0, k0 + BK, lid);
            wr = read_w_step(rb, k0 + BK);
        }
        for (var i = 0u; i < 8u; i = i + 1u) {
            part[i] = vec4<f32>(0.0);
        }
        for (var kk = 0u; kk < BK; kk = kk + 1u) {
            let a = Xs[kk * (BT / 4u) + ty];
            let b0 = Ws[kk * (BR / 4u) + tx];
            let b1 = Ws[kk * (BR / 4u) + 8u + tx];
            part[0] = part[0] + a.x * b0;
            part[1] = part[1] + a.y * b0;
            part[2] = part[2] + a.z * b0;
            part[3] = part[3] + a.w * b0;
            part[4] = part[4] + a.x * b1;
            part[5] = part[5] + a.y * b1;
            part[6] = part[6] + a.z * b1;
            part[7] = part[7] + a.w * b1;
        }
        for (var i = 0u; i < 8u; i = i + 1u) {
            acc[i] = acc[i] + part[i];
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i = i + 1u) {
        let t = t0 + 4u * ty + i;
        if (t < P.n_tok) {
            let yb = t * P.n_out + P.out_offset;
            for (var c = 0u; c < 4u; c = c + 1u) {
                let r = row0 + 4u * tx + c;
                if (r < P.rows) {
                    Y[yb + r] = acc[i][c];
                }
                if (r + 32u < P.rows) {
                    Y[yb + r + 32u] = acc[4u + i][c];
                }
            }
        }
    }
}
