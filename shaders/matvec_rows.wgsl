// matvec_rows.wgsl — decode matrix-vector product for real GPUs: a workgroup takes R weight rows,
// its threads split them into 32-element slices (composed with a slice decoder: a format's own,
// formats/q4_k_slice.wgsl and formats/q6_k_slice.wgsl, or formats/slice.wgsl over dequant4).
//
// Computes Y[0][out_offset + r] = Σ_k W[r][k] · X[0][k] for the one token row of a decode step and
// the weight rows r of one chunk, as matvec.wgsl, with the same bindings and Params (mat_io.wgsl).
// Reference: as matvec.wgsl (f32 activations; tests/kernels.rs checks it against an f64 dot of
// the CPU's dequantized weights).
//
// Work split: slice s of a row holds 32 of its elements (8 slices per 256-element super-block;
// which 32 is the decoder's choice — for Q4_K the two nibble halves of 16 bytes of qs). Thread
// t of the WG takes slices t, t + WG, … of all R rows of its workgroup:
//  - neighbouring threads read neighbouring bytes of the same blocks (coalesced; Q4_K with one
//    16-byte load for the block header and one for its quants);
//  - a block's scales are decoded once per 32 elements, not once per 4 as dequant4 does;
//  - the slice's 32 activations are loaded once into registers and used for all R rows;
//  - each row's WG partial sums are added in workgroup memory: two barriers, not a tree of six
//    as matvec_coop's.
// Why not one row per workgroup (matvec_coop): a 2048×2048 Q4_K weight is 2.4 MB, a few µs of a
// GPU's memory bandwidth; with one row per workgroup the time went to per-element scale decoding,
// the reduction tree and one X read per row, not to the memory.
// Needs: cols % 32 == 0 (the backend falls back to matvec_coop otherwise).
// Dispatch: (min(g, 65535), ceil(g / 65535), 1), g = ceil(rows / R); the workgroup's first row is
// (wid.x + wid.y · grid_x) · R.
//
// Slice decoder interface (formats/*slice.wgsl):
//   struct XSlice                                   the activations of a slice, as the decoder wants them
//   fn load_x(s: u32) -> XSlice                     slice s of X's row 0
//   fn slice_dot(r: u32, s: u32, x: XSlice) -> f32  Σ over slice s of W[r][k] · X[0][k]

// Threads per workgroup (a const: it sizes the workgroup arrays; a multiple of 8).
const WG: u32 = 64u;
// Weight rows per workgroup: each activation slice is read once for R rows. 4 keeps a
// 2048-row weight at 512 workgroups (several per SM on a 132-SM GPU) and a 256-row one at 64.
const R: u32 = 4u;

// (R, WG) partial sums, then (R, 8) sums of eight of them
var<workgroup> partial: array<f32, 256>; // R · WG
var<workgroup> partial8: array<f32, 32>; // R · 8

@compute @workgroup_size(WG)
fn matvec_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let r0 = (wid.x + wid.y * P.grid_x) * R;
    let n_slices = P.cols / 32u;
    // at function scope: naga zero-initialises only there (see attention.wgsl)
    var acc: array<f32, R>;
    for (var s = lid; s < n_slices; s = s + WG) {
        let x = load_x(s);
        for (var i = 0u; i < R; i = i + 1u) {
            // rows past the chunk's end repeat its last row (their sums are never written), so
            // every thread runs the same loop and no read leaves the chunk
            acc[i] = acc[i] + slice_dot(min(r0 + i, P.rows - 1u), s, x);
        }
    }
    for (var i = 0u; i < R; i = i + 1u) {
        partial[i * WG + lid] = acc[i];
    }
    workgroupBarrier();
    // R · 8 threads add eight partial sums each (all eight of one row: WG % 8 == 0)
    if (lid < R * 8u) {
        let b = lid * (WG / 8u);
        var s = 0.0;
        for (var j = 0u; j < WG / 8u; j = j + 1u) {
            s = s + partial[b + j];
        }
        partial8[lid] = s;
    }
    workgroupBarrier();
    if (lid < R && r0 + lid < P.rows) {
        let b = lid * 8u;
        Y[P.out_offset + r0 + lid] = ((partial8[b] + partial8[b + 1u]) + (partial8[b + 2u] + partial8[b + 3u]))
            + ((partial8[b + 4u] + partial8[b + 5u]) + (partial8[b + 6u] + partial8[b + 7u]));
    }
}
