// mat_io.wgsl — the parameters and bindings shared by the weight products matvec.wgsl,
// matvec_coop.wgsl, matvec_rows.wgsl, matmul.wgsl and matmul_tiled.wgsl (composed in front of
// them, see rust/gpu/src/shaders.rs).
//
// Bindings:
//   W: (rows · row_bytes / 4) u32        raw GGUF bytes of this chunk's weight rows, row r at
//                                        byte r · row_bytes (LAYOUTS.md); declared by
//                                        formats/bytes.wgsl (as vec4<u32> by q4_k_slice.wgsl)
//   X: (n_tok, cols / 4) vec4<f32>       activations; cols % 4 == 0
//   Y: (n_tok, n_out) f32                columns out_offset .. out_offset + rows written
//   P: Params

struct Params {
    rows: u32,        // weight rows in this chunk
    cols: u32,        // elements per row
    row_bytes: u32,   // bytes per row in the GGUF layout
    out_offset: u32,  // first output column written (the chunk's first row)
    n_out: u32,       // Y's row length (all chunks together)
    grid_x: u32,      // workgroups along x in the dispatch
    n_tok: u32,       // token rows in X
    // matvec_rows only (the other products ignore them): the fused decode steps
    flags: u32,       // FLAG_NORM: rms-norm X first (times G); FLAG_ADD: Y += result; GLU_*: gated rows
    eps: f32,         // the norm's epsilon (FLAG_NORM)
    glu_rows: u32,    // GLU: rows of the gate half of W (the up half follows); Y gets glu_rows values
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;
