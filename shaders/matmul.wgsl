// matmul.wgsl — prefill matrix-matrix product for one weight format (composed with a
// formats/<type>.wgsl decoder, see rust/gpu/src/shaders.rs).
//
// Computes Y[t][out_offset + r] = Σ_k W[r][k] · X[t][k] for all n_tok token rows and the weight
// rows r of one chunk. Each thread takes one weight row and a tile of TILE_T token rows, so every
// decoded weight element is used TILE_T times (the decode is most of the work for k-quants).
// Reference: as matvec.wgsl (f32 activations; tests/kernels.rs against an f64 dot).
// Bindings and Params: mat_io.wgsl (composed in front of this file).
// Dispatch: (min(g, 65535), ceil(g / 65535), ceil(n_tok / TILE_T)) with g = ceil(rows / WG);
// row = (wid.x + wid.y · grid_x) · WG + lid, token tile = wid.z. No barriers (see matvec.wgsl):
// the kernel for software adapters; real GPUs get matmul_tiled.wgsl.

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
