// matmul.wgsl — prefill matrix-matrix product for one weight format (composed with a
// formats/<type>.wgsl decoder, see rust/gpu/src/shaders.rs).
//
// Computes Y[t][out_offset + r] = Σ_k W[r][k] · X[t][k] for all n_tok token rows and the weight
// rows r of one chunk. Each workgroup takes one weight row and a tile of TILE_T token rows, so every
// decoded weight element is used TILE_T times.
// Reference: cpu backend's matmul (activation quantized there, f32 here: equal to rounding).
// Layout: W holds the chunk's rows as raw GGUF bytes, row r at byte r · row_bytes (LAYOUTS.md).
// Bindings:
//   W: (rows · row_bytes / 4) u32        raw weight rows of this chunk
//   X: (n_tok, cols / 4) vec4<f32>       activations; cols % 4 == 0
//   Y: (n_tok, n_out) f32                columns out_offset .. out_offset + rows written
//   P: Params
// Dispatch: (min(rows, 65535), ceil(rows / 65535), ceil(n_tok / TILE_T)); WG threads per workgroup.

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

// Threads per workgroup; a power of two for the tree reduction.
override WG: u32 = 64u;
// Token rows per workgroup (a const: it sizes the per-thread accumulators).
const TILE_T: u32 = 8u;

var<workgroup> partial: array<f32, WG * TILE_T>;

@compute @workgroup_size(WG)
fn matmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let r = wid.x + wid.y * P.grid_x;
    if (r >= P.rows) {
        return; // uniform: depends on the workgroup id only
    }
    let t0 = wid.z * TILE_T;
    let nt = min(TILE_T, P.n_tok - t0);
    let rb = r * P.row_bytes;
    let x_row = P.cols / 4u;
    var acc: array<f32, TILE_T>;
    for (var i = lid * 4u; i < P.cols; i = i + WG * 4u) {
        let w = dequant4(rb, i);
        for (var t = 0u; t < nt; t = t + 1u) {
            acc[t] = acc[t] + dot(w, X[(t0 + t) * x_row + i / 4u]);
        }
    }
    for (var t = 0u; t < TILE_T; t = t + 1u) {
        partial[t * WG + lid] = acc[t];
    }
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (lid < s) {
            for (var t = 0u; t < TILE_T; t = t + 1u) {
                partial[t * WG + lid] = partial[t * WG + lid] + partial[t * WG + lid + s];
            }
        }
        workgroupBarrier();
    }
    if (lid < nt) {
        Y[(t0 + lid) * P.n_out + P.out_offset + r] = partial[lid * WG];
    }
}
