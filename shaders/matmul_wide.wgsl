// matmul_wide.wgsl — prefill matrix-matrix product for real GPUs, one weight format (composed
// with a formats/<type>.wgsl decoder and its dequant32, as matmul_tiled.wgsl): output tiles of
// BT = 64 token rows × BR = 128 weight rows per workgroup of 256 threads, both operands staged in
// workgroup memory, a 4 × 8 register tile (32 accumulators) per thread.
//
// Computes Y[t][out_offset + r] = Σ_k W[r][k] · X[t][k] for all n_tok token rows and the weight
// rows r of one chunk, as matmul.wgsl / matmul_tiled.wgsl, with the same bindings and Params
// (mat_io.wgsl). Reference: tests/kernels.rs, against an f64 dot, every format and edge shape.
//
// Why (against matmul_tiled's 32 × 64 tiles of 64 threads): the classic shape of fast f32 SGEMM
// on NVIDIA (256 threads, ≥ 64 × 128 outputs per block, 32 per thread): 4× the outputs per
// staged operand, 8 warps per workgroup to hide the latency of the staging loads and barriers.
//  - 64 tokens × 128 rows rather than 128 × 64: the token count is the dimension that varies
//    (prompts of 20..512 tokens; a 70-token prompt wastes 9% of a 64-token tile, 45% of a 128
//    one) while weight rows come in multiples of 128 in real models (256, 640, 2048, 5632);
//    X is the 4-byte operand, so the wider side of the tile goes to the weights; and decode work
//    splits evenly: one thread per weight row is 128 threads, the other 128 stage X.
//  - per BK = 32 step, warps 0-3 (lid < 128) each decode the 32 elements of one weight row with
//    the format's dequant32 (one scale decode per 32 elements for Q4_K / Q6_K), warps 4-7 each
//    read four vec4 of X: no warp diverges, and the decode is done once per 64 tokens.
//  - both operands are staged k-major so the inner loop reads vec4s of 4 tokens / 4 rows:
//    thread (tx, ty) (tx = lid % 16, ty = lid / 16) accumulates tokens 4ty .. 4ty + 4 against
//    rows 4tx .. 4tx + 4 and 64 + 4tx .. 64 + 4tx + 4: per k, 32 FMAs for three 16-byte reads,
//    of which a warp's X read is two adjacent vec4 (one broadcast wavefront) and its two W reads
//    are 16 consecutive vec4 each (two wavefronts): 5 shared-memory wavefronts per 32 warp-FMAs,
//    under the 8 cycles an SM needs to issue them (FMA-bound, not shared-memory-bound).
//  - staging stores are conflict-free: a decode warp stores 32 consecutive floats per k; an X
//    warp holds 16 tokens × 2 adjacent vec4 (32-byte, fully used global sectors) and Xs rows are
//    padded to 68 floats, so its 32 lanes hit 32 different banks.
//  - the operands of step k0 + BK are read (and decoded) into registers right after the first
//    barrier of step k0, so their memory latency overlaps step k0's FMAs (register double
//    buffering; two shared buffers would need 49 KiB, past most adapters' limit).
//  - no function-local array is indexed dynamically (NVIDIA puts those in local memory): the
//    accumulators and step sums are structs of named vec4 (Acc), the prefetched operands named
//    vec4 variables; dequant32's array result is only read at constant indices. The k loop is
//    unrolled by four by hand (wide_step).
// Sums: as matmul_tiled, each BK-step is summed apart (wide_step) and then added to the total, so
// a result is at most BK + cols / BK roundings deep (tests/kernels.rs's MATMUL_REL).
// Rows: any cols % 4 == 0 (the f32/f16/bf16 rows of cols % 32 != 0 decode their last step by
// dequant4, zero past the row; X is zero there too). Token rows past n_tok read as zero and weight
// rows past the chunk repeat its last row; neither is written.
// Workgroup memory: 8704 B (Xs) + 16384 B (Ws) = 25088 B, over WebGPU's guaranteed 16384: the
// backend selects this kernel only where the adapter's maxComputeWorkgroupStorageSize allows
// (NVIDIA/AMD Vulkan 48-64 KiB, browsers 32 KiB, lavapipe), else matmul_tiled.
// Dispatch: (min(g, 65535), ceil(g / 65535), ceil(n_tok / BT)), g = ceil(rows / BR); the tile's
// first weight row is (wid.x + wid.y · grid_x) · BR, its first token row wid.z · BT.
// Barriers: two per BK-step (after staging, before overwriting the stage).

// Token rows per tile.
const BT: u32 = 64u;
// Weight rows per tile.
const BR: u32 = 128u;
// Elements of k per step (= dequant32's 32; the row tail is zero-filled).
const BK: u32 = 32u;
// Threads: (BR / 8) × (BT / 4) = 16 × 16; the first BR decode weights, the other BT · 2 read X.
const WG: u32 = 256u;
// vec4 per k-row of Xs: BT / 4 = 16, padded by one (68 floats) against bank conflicts.
const XS4: u32 = 17u;

// (BK, XS4): Xs[k · XS4 + t / 4][t % 4] = X[t0 + t][k0 + k]
var<workgroup> Xs: array<vec4<f32>, 544>;
// (BK, BR / 4): Ws[k · BR/4 + r / 4][r % 4] = W[row0 + r][k0 + k]
var<workgroup> Ws: array<vec4<f32>, 1024>;

// Elements k0 .. k0 + BK of the weight row at byte rb: dequant32 (formats/<type>.wgsl) while the
// step is whole; past the last whole step (f32/f16/bf16 rows of cols % 32 != 0) groups of four,
// zero beyond the row.
fn wide_read_w(rb: u32, k0: u32) -> array<vec4<f32>, 8> {
    if (k0 + BK <= P.cols) {
        return dequant32(rb, k0);
    }
    return array<vec4<f32>, 8>(
        wide_tail4(rb, k0), wide_tail4(rb, k0 + 4u), wide_tail4(rb, k0 + 8u),
        wide_tail4(rb, k0 + 12u), wide_tail4(rb, k0 + 16u), wide_tail4(rb, k0 + 20u),
        wide_tail4(rb, k0 + 24u), wide_tail4(rb, k0 + 28u));
}

// Elements k .. k + 4 of the weight row at byte rb, zero past the row.
fn wide_tail4(rb: u32, k: u32) -> vec4<f32> {
    if (k < P.cols) {
        return dequant4(rb, k);
    }
    return vec4<f32>(0.0);
}

// X[t][k .. k + 4] (k % 4 == 0), zero past the prompt or the row.
fn wide_read_x(t: u32, k: u32) -> vec4<f32> {
    if (t < P.n_tok && k < P.cols) {
        return X[t * (P.cols / 4u) + k / 4u];
    }
    return vec4<f32>(0.0);
}

// Stores the weights v = W[r][k .. k + 4] of the stage (conflict-free across a warp's rows).
fn wide_put_w(k: u32, r: u32, v: vec4<f32>) {
    let at = k * (BR / 4u) + r / 4u;
    Ws[at][r % 4u] = v.x;
    Ws[at + BR / 4u][r % 4u] = v.y;
    Ws[at + 2u * (BR / 4u)][r % 4u] = v.z;
    Ws[at + 3u * (BR / 4u)][r % 4u] = v.w;
}

// Stores the activations v = X[t0 + t][k0 + k .. + 4] of the stage.
fn wide_put_x(k: u32, t: u32, v: vec4<f32>) {
    let at = k * XS4 + t / 4u;
    Xs[at][t % 4u] = v.x;
    Xs[at + XS4][t % 4u] = v.y;
    Xs[at + 2u * XS4][t % 4u] = v.z;
    Xs[at + 3u * XS4][t % 4u] = v.w;
}

// Y[t][out_offset + r + c] = v[c] for the rows r + c of the chunk, if t is a prompt row.
fn wide_put_y(t: u32, r: u32, v: vec4<f32>) {
    if (t >= P.n_tok) {
        return;
    }
    let yb = t * P.n_out + P.out_offset + r;
    if (r < P.rows) {
        Y[yb] = v.x;
    }
    if (r + 1u < P.rows) {
        Y[yb + 1u] = v.y;
    }
    if (r + 2u < P.rows) {
        Y[yb + 2u] = v.z;
    }
    if (r + 3u < P.rows) {
        Y[yb + 3u] = v.w;
    }
}

// A thread's 4 × 8 outputs: c0..c3 = tokens 4ty + 0..3 × rows 4tx .. 4tx + 4, c4..c7 = the same
// tokens × rows 64 + 4tx .. 64 + 4tx + 4. A struct of named vec4, never an array (see the header):
// every member access is constant, so the driver keeps all 32 floats in registers.
struct Acc {
    c0: vec4<f32>,
    c1: vec4<f32>,
    c2: vec4<f32>,
    c3: vec4<f32>,
    c4: vec4<f32>,
    c5: vec4<f32>,
    c6: vec4<f32>,
    c7: vec4<f32>,
}

fn wide_zero() -> Acc {
    let z = vec4<f32>(0.0);
    return Acc(z, z, z, z, z, z, z, z);
}

fn wide_add(a: Acc, b: Acc) -> Acc {
    return Acc(a.c0 + b.c0, a.c1 + b.c1, a.c2 + b.c2, a.c3 + b.c3,
               a.c4 + b.c4, a.c5 + b.c5, a.c6 + b.c6, a.c7 + b.c7);
}

// s + the products of element k of the stage: 3 workgroup reads (tokens 4ty.. of Xs, rows 4tx..
// and 64 + 4tx.. of Ws), 32 FMAs.
fn wide_k(s: Acc, k: u32, tx: u32, ty: u32) -> Acc {
    let x = Xs[k * XS4 + ty];
    let b0 = Ws[k * (BR / 4u) + tx];
    let b1 = Ws[k * (BR / 4u) + 16u + tx];
    return Acc(fma(vec4<f32>(x.x), b0, s.c0), fma(vec4<f32>(x.y), b0, s.c1),
               fma(vec4<f32>(x.z), b0, s.c2), fma(vec4<f32>(x.w), b0, s.c3),
               fma(vec4<f32>(x.x), b1, s.c4), fma(vec4<f32>(x.y), b1, s.c5),
               fma(vec4<f32>(x.z), b1, s.c6), fma(vec4<f32>(x.w), b1, s.c7));
}

// The thread's sums over the BK elements of the staged step, from zero. Unrolled by hand four
// times: naga bounds every loop with an extra 64-bit counter (wgpu's default force_loop_bounding),
// which costs instructions per iteration and can keep the driver from unrolling it.
fn wide_step(tx: u32, ty: u32) -> Acc {
    var s = wide_zero();
    for (var k = 0u; k < BK; k = k + 4u) {
        s = wide_k(s, k, tx, ty);
        s = wide_k(s, k + 1u, tx, ty);
        s = wide_k(s, k + 2u, tx, ty);
        s = wide_k(s, k + 3u, tx, ty);
    }
    return s;
}

@compute @workgroup_size(WG)
fn matmul_wide(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row0 = (wid.x + wid.y * P.grid_x) * BR;
    let t0 = wid.z * BT;
    let tx = lid % 16u;
    let ty = lid / 16u;
    // staging roles (warp-uniform): lid < BR decodes weight row lid (rows past the chunk repeat
    // its last; never written); the others read X token xt, vec4s 2j + xp of the step (j < 4)
    let decoder = lid < BR;
    let rb = min(row0 + lid, P.rows - 1u) * P.row_bytes;
    let xl = lid - BR; // only used when !decoder
    let xt = xl / 2u;
    let xp = xl % 2u;

    // the thread's 4 × 8 totals (see Acc)
    var a = wide_zero();
    // the operands of the next step, read one step ahead: a decoder's 32 weights (f0..f7 =
    // elements 4j..4j+4), or an X reader's four vec4 (f0..f3 = elements 4(2j + xp)..)
    var f0 = vec4<f32>(0.0);
    var f1 = vec4<f32>(0.0);
    var f2 = vec4<f32>(0.0);
    var f3 = vec4<f32>(0.0);
    var f4 = vec4<f32>(0.0);
    var f5 = vec4<f32>(0.0);
    var f6 = vec4<f32>(0.0);
    var f7 = vec4<f32>(0.0);

    // step 0's operands
    if (decoder) {
        let w = wide_read_w(rb, 0u);
        f0 = w[0];
        f1 = w[1];
        f2 = w[2];
        f3 = w[3];
        f4 = w[4];
        f5 = w[5];
        f6 = w[6];
        f7 = w[7];
    } else {
        f0 = wide_read_x(t0 + xt, 4u * xp);
        f1 = wide_read_x(t0 + xt, 4u * (2u + xp));
        f2 = wide_read_x(t0 + xt, 4u * (4u + xp));
        f3 = wide_read_x(t0 + xt, 4u * (6u + xp));
    }

    for (var k0 = 0u; k0 < P.cols; k0 = k0 + BK) {
        // stage the step: BR rows × BK weights, BT tokens × BK activations
        if (decoder) {
            wide_put_w(0u, lid, f0);
            wide_put_w(4u, lid, f1);
            wide_put_w(8u, lid, f2);
            wide_put_w(12u, lid, f3);
            wide_put_w(16u, lid, f4);
            wide_put_w(20u, lid, f5);
            wide_put_w(24u, lid, f6);
            wide_put_w(28u, lid, f7);
        } else {
            wide_put_x(4u * xp, xt, f0);
            wide_put_x(4u * (2u + xp), xt, f1);
            wide_put_x(4u * (4u + xp), xt, f2);
            wide_put_x(4u * (6u + xp), xt, f3);
        }
        workgroupBarrier();
        // the next step's reads, in flight during this step's FMAs
        let k1 = k0 + BK;
        if (k1 < P.cols) {
            if (decoder) {
                let w = wide_read_w(rb, k1);
                f0 = w[0];
                f1 = w[1];
                f2 = w[2];
                f3 = w[3];
                f4 = w[4];
                f5 = w[5];
                f6 = w[6];
                f7 = w[7];
            } else {
                f0 = wide_read_x(t0 + xt, k1 + 4u * xp);
                f1 = wide_read_x(t0 + xt, k1 + 4u * (2u + xp));
                f2 = wide_read_x(t0 + xt, k1 + 4u * (4u + xp));
                f3 = wide_read_x(t0 + xt, k1 + 4u * (6u + xp));
            }
        }
        a = wide_add(a, wide_step(tx, ty));
        workgroupBarrier();
    }

    let ta = t0 + 4u * ty;
    let r0 = row0 + 4u * tx;
    wide_put_y(ta, r0, a.c0);
    wide_put_y(ta + 1u, r0, a.c1);
    wide_put_y(ta + 2u, r0, a.c2);
    wide_put_y(ta + 3u, r0, a.c3);
    wide_put_y(ta, r0 + 64u, a.c4);
    wide_put_y(ta + 1u, r0 + 64u, a.c5);
    wide_put_y(ta + 2u, r0 + 64u, a.c6);
    wide_put_y(ta + 3u, r0 + 64u, a.c7);
}
