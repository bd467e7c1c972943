// matvec_coop.wgsl — decode matrix-vector product for one weight format, one workgroup per weight
// row: the variant for real GPUs (composed with a formats/<type>.wgsl decoder like matvec.wgsl).
//
// Computes Y[0][out_offset + r] = Σ_k W[r][k] · X[0][k], as matvec.wgsl, with the same bindings
// and Params. Why a second variant: matvec.wgsl gives each thread a whole row, which suits
// software rasterisers (no barriers) but on a GPU leaves most cores idle and makes neighbouring
// threads read bytes a row apart. Here the COOP threads of a workgroup walk one row together —
// thread t takes elements 4·(t + k·COOP), so neighbours read neighbouring bytes of the same block —
// and add their partial sums in a tree in workgroup memory. On real GPUs the backend now uses
// matvec_rows.wgsl, and this variant only for rows that are not whole 32-element slices
// (f32/f16/bf16 rows of cols % 32 != 0; rust/gpu/src/backend.rs, MatvecKernel).
// Reference: as matvec.wgsl (f32 activations; tests/kernels.rs checks both variants against an
// f64 dot of the CPU's dequantized weights).
// Bindings and Params: mat_io.wgsl (composed in front of this file).
// Dispatch: one workgroup per weight row: (min(rows, 65535), ceil(rows / 65535), 1);
// row = wid.x + wid.y · grid_x.

// Threads per row (the workgroup size; a power of two for the tree).
const COOP: u32 = 64u;

var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn matvec_coop(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let r = wid.x + wid.y * P.grid_x;
    var acc = vec4<f32>(0.0);
    if (r < P.rows) {
        let rb = r * P.row_bytes;
        for (var i = 4u * lid; i < P.cols; i = i + 4u * COOP) {
            acc = acc + dequant4(rb, i) * X[i / 4u];
        }
    }
    partial[lid] = (acc.x + acc.y) + (acc.z + acc.w);
    workgroupBarrier();
    for (var s = COOP / 2u; s > 0u; s = s / 2u) {
        if (lid < s) {
            partial[lid] = partial[lid] + partial[lid + s];
        }
        workgroupBarrier();
    }
    if (lid == 0u && r < P.rows) {
        Y[P.out_offset + r] = partial[0];
    }
}
