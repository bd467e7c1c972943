// matmul_id.wgsl — the expert matmul of a mixture-of-experts layer (ggml's mul_mat_id), for one
// weight format (composed with a formats/<type>.wgsl decoder, see rust/gpu/src/shaders.rs).
//
// W holds n_expert matrices of R rows stacked (a 3-D GGUF tensor: expert e at rows e·R ..);
// for every (row t, slot s) pair p = t·k + s with expert e = IDS[p]:
//   Y[p][r] = Σ_i W[e·R + r][i] · X[a][i],  a = t when one input row serves all slots (up, gate),
//                                           a = p when each slot has its own (down).
// The ids are read here, on the device: only the chosen experts' rows are ever decoded.
// Reference: cpu backend's matmul_id (activations quantized there, f32 here: results agree to
// that quantization, as matvec.wgsl); tests/kernels.rs checks it against an f64 dot.
// Bindings and Params: mat_io.wgsl, whose fields mean here:
//   rows, row_bytes   this chunk's weight rows (a weight past the binding limit is split in
//                     row chunks, one dispatch each), out_offset = the chunk's first stacked row;
//   n_out = R; n_tok = pairs; flags = k; glu_rows = 1 when X has one row per t (else per pair).
//   IDS: (pairs) f32 expert ids (whole numbers, checked < n_expert by the backend).
// Dispatch: (min(g, 65535), ceil(g / 65535), pairs) with g = ceil(R / WG); one thread per output
// row r = (wid.x + wid.y · grid_x) · WG + lid of pair wid.z; a thread whose weight row lies in
// another chunk returns (that chunk's dispatch writes it).

@group(0) @binding(4) var<storage, read> IDS: array<f32>;

// Output rows (threads) per workgroup.
override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn matmul_id(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let r = (wid.x + wid.y * P.grid_x) * WG + lid;
    let p = wid.z;
    if (r >= P.n_out || p >= P.n_tok) {
        return;
    }
    let g = u32(IDS[p]) * P.n_out + r; // stacked weight row
    if (g < P.out_offset || g >= P.out_offset + P.rows) {
        return;
    }
    var a = p;
    if (P.glu_rows == 1u) {
        a = p / P.flags;
    }
    let rb = (g - P.out_offset) * P.row_bytes;
    let x0 = a * (P.cols / 4u);
    var acc = vec4<f32>(0.0);
    for (var i = 0u; i < P.cols; i = i + 4u) {
        acc = acc + dequant4(rb, i) * X[x0 + i / 4u];
    }
    Y[p * P.n_out + r] = (acc.x + acc.y) + (acc.z + acc.w);
}
