// matvec.wgsl — decode matrix-vector product for one weight format (composed with a
// formats/<type>.wgsl decoder, see rust/gpu/src/shaders.rs).
//
// Computes Y[0][out_offset + r] = Σ_k W[r][k] · X[0][k] for the one token row of a decode step and
// the weight rows r of one chunk (a weight larger than the adapter's binding limit is split into
// row chunks, each its own buffer and dispatch).
// Reference: cpu backend's matmul (there the activation is quantized to the format's dot type; here
// it stays f32, so results agree to that quantization, not bit for bit); tests/kernels.rs checks
// it against an f64 dot of the CPU's dequantized weights.
// Bindings and Params: mat_io.wgsl (composed in front of this file).
// Dispatch: one thread per weight row, WG rows per workgroup:
// (min(g, 65535), ceil(g / 65535), 1) with g = ceil(rows / WG); row = (wid.x + wid.y · grid_x) · WG + lid.
// Why one thread per row and no workgroup reduction: barriers are what software rasterisers
// (lavapipe, SwiftShader) run slowest, and decode matrices have thousands of rows, enough to
// fill a GPU. Four partial sums (the vec4 lanes) keep the f32 rounding error at ~cols/4 steps.
// Real GPUs get matvec_rows.wgsl instead (rust/gpu/src/backend.rs, MatvecKernel).

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
