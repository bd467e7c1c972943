// matmul.wgsl — prefill matrix-matrix product for one weight format (composed with a
// formats/<type>.wgsl decoder, see rust/gpu/src/shaders.rs).
//
// Computes Y[t][out_offset + r] = Σ_k W[r][k] · X[t][k] for all n_tok token rows and the weight
// rows r of one chunk. Each thread takes one weight row and a tile of TILE_T token rows, so every
// decoded weight element is used TILE_T times (the decode is most of the work for k-quants).
// Reference: as matvec.wgsl (f32 activations; tests/kernels.rs against an f64 dot).
// Layout: W holds the chunk's rows as raw GGUF bytes, row r at byte r · row_bytes (LAYOUTS.md).
// Bindings:
//   W: (rows · row_bytes / 4) u32        raw weight rows of this chunk
//   X: (n_tok, cols / 4) vec4<f32>       activations; cols % 4 == 0
//   Y: (n_tok, n_out) f32                columns out_offset .. out_offset + rows written
//   P: Params
// Dispatch: (min(g, 65535), ceil(g / 65535), ceil(n_tok / TILE_T)) with g = ceil(rows / WG);
// row = (wid.x + wid.y · grid_x) · WG + lid, token tile = wid.z. No barriers (see matvec.wgsl).

struct Params {
    rows: u32,
    cols: u32,
    row_bytes: u32,
    out_offset: u32,
    n_out: u32,
    grid_x: u32,
    n_tok: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> W: array<u32>;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

// Weight rows (threads) per workgroup.
override WG: u32 = 64u;
// Token rows per thread (a const: it sizes the per-thread accumulators).
const TILE_T: u32 = 8u;

@compute @workgroup_size(WG)
fn matmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let r = (wid.x + wid.y * P.grid_x) * WG + lid;
    if (r >= P.rows) {
        return;
    }
    let t0 = wid.z * TILE_T;
    let nt = min(TILE_T, P.n_tok - t0);
    let rb = r * P.row_bytes;
    let x_row = P.cols / 4u;
    // declared at function scope: naga zero-initialises only there (see attention.wgsl)
    var acc: array<vec4<f32>, TILE_T>;
    for (var i = 0u; i < P.cols; i = i + 4u) {
        let w = dequant4(rb, i);
        for (var t = 0u; t < nt; t = t + 1u) {
            acc[t] = acc[t] + w * X[(t0 + t) * x_row + i / 4u];
        }
    }
    for (var t = 0u; t < nt; t = t + 1u) {
        let a = acc[t];
        Y[(t0 + t) * P.n_out + P.out_offset + r] = (a.x + a.y) + (a.z + a.w);
    }
}
