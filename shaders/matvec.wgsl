// matvec.wgsl — decode matrix-vector product for one weight format (composed with a
// formats/<type>.wgsl decoder, see rust/gpu/src/shaders.rs).
//
// Computes Y[t][out_offset + r] = Σ_k W[r][k] · X[t][k] for one token row t = 0 (decode) and the
// weight rows r of one chunk (a weight larger than the adapter's binding limit is split into row
// chunks, each its own buffer and dispatch).
// Reference: cpu backend's matmul (there the activation is quantized to the format's dot type; here
// it stays f32, so results agree to rounding, not bit for bit).
// Layout: W holds the chunk's rows as raw GGUF bytes, row r at byte r · row_bytes (LAYOUTS.md).
// Bindings:
//   W: (rows · row_bytes / 4) u32        raw weight rows of this chunk
//   X: (1, cols / 4) vec4<f32>           the activation row; cols % 4 == 0
//   Y: (1, n_out) f32                    rows out_offset .. out_offset + rows written
//   P: Params
// Dispatch: one workgroup of WG threads per weight row, (min(rows, 65535), ceil(rows / 65535), 1);
// the row is wid.x + wid.y · grid_x. Threads stride the row four elements at a time and reduce in
// workgroup memory.

struct Params {
    rows: u32,        // weight rows in this chunk
    cols: u32,        // elements per row
    row_bytes: u32,   // bytes per row in the GGUF layout
    out_offset: u32,  // first output column written (the chunk's first row)
    n_out: u32,       // Y's row length (all chunks together)
    grid_x: u32,      // workgroups along x in the dispatch
    n_tok: u32,       // unused here (1)
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> W: array<u32>;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

// Threads per workgroup (one weight row); a power of two for the tree reduction.
override WG: u32 = 64u;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn matvec(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let r = wid.x + wid.y * P.grid_x;
    if (r >= P.rows) {
        return; // uniform across the workgroup: r depends on the workgroup id only
    }
    let rb = r * P.row_bytes;
    var acc = 0.0;
    for (var i = lid * 4u; i < P.cols; i = i + WG * 4u) {
        acc = acc + dot(dequant4(rb, i), X[i / 4u]);
    }
    partial[lid] = acc;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (lid < s) {
            partial[lid] = partial[lid] + partial[lid + s];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        Y[P.out_offset + r] = partial[0];
    }
}
