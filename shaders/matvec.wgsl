// matvec.wgsl — decode matrix-vector product for one weight format (composed with a
// formats/<type>.wgsl decoder, see rust/gpu/src/shaders.rs).
//
// Computes Y[0][out_offset + r] = Σ_k W[r][k] · X[0][k] for the one token row of a decode step and
// the weight rows r of one chunk (a weight larger than the adapter's binding limit is split into
// row chunks, each its own buffer and dispatch).
// Reference: cpu backend's matmul (there the activation is quantized to the format's dot type; here
// it stays f32, so results agree to that quantization, not bit for bit); tests/kernels.rs checks
// it against an f64 dot of the CPU's dequantized weights.
// Layout: W holds the chunk's rows as raw GGUF bytes, row r at byte r · row_bytes (LAYOUTS.md).
// Bindings:
//   W: (rows · row_bytes / 4) u32        raw weight rows of this chunk
//   X: (1, cols / 4) vec4<f32>           the activation row; cols % 4 == 0
//   Y: (1, n_out) f32                    columns out_offset .. out_offset + rows written
//   P: Params
// Dispatch: one thread per weight row, WG rows per workgroup:
// (min(g, 65535), ceil(g / 65535), 1) with g = ceil(rows / WG); row = (wid.x + wid.y · grid_x) · WG + lid.
// Why one thread per row and no workgroup reduction: barriers are what software rasterisers
// (lavapipe, SwiftShader) run slowest, and decode matrices have thousands of rows, enough to
// fill a GPU. Four partial sums (the vec4 lanes) keep the f32 rounding error at ~cols/4 steps.
// Coalesced or subgroup variants are the speed work that follows (numeric knobs as overrides).

struct Params {
    rows: u32,        // weight rows in this chunk
    cols: u32,        // elements per row
    row_bytes: u32,   // bytes per row in the GGUF layout
    out_offset: u32,  // first output column written (the chunk's first row)
    n_out: u32,       // Y's row length (all chunks together)
    grid_x: u32,      // workgroups along x in the dispatch
    n_tok: u32,       // token rows in X (1 here)
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> W: array<u32>;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

// Weight rows (threads) per workgroup.
override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn matvec(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let r = (wid.x + wid.y * P.grid_x) * WG + lid;
    if (r >= P.rows) {
        return;
    }
    let rb = r * P.row_bytes;
    var acc = vec4<f32>(0.0);
    for (var i = 0u; i < P.cols; i = i + 4u) {
        acc = acc + dequant4(rb, i) * X[i / 4u];
    }
    Y[P.out_offset + r] = (acc.x + acc.y) + (acc.z + acc.w);
}
