// slice.wgsl — the generic slice decoder of matvec_rows.wgsl, for every format without one of its
// own: 32 consecutive elements through the format's dequant4 (formats/<type>.wgsl).
//
// Slice s of a row = elements 32s .. 32s + 32 (a whole block for the 32-element formats, an
// eighth of a super-block for the k-quants), so neighbouring threads read neighbouring blocks.
// What this still gains over matvec_coop: the activations are read once for R rows and the
// reduction is two barriers; what it does not: dequant4 decodes the scales for every four elements.
// Reference: quant::dequantize_row (tests/kernels.rs checks the product).
// Needs bytes.wgsl, the format's dequant4, and cols % 32 == 0.

struct XSlice {
    x: array<vec4<f32>, 8>,
}

fn load_x(s: u32) -> XSlice {
    var x: XSlice;
    for (var j = 0u; j < 8u; j = j + 1u) {
        x.x[j] = x4(8u * s + j);
    }
    return x;
}

fn slice_dot(r: u32, s: u32, x: XSlice) -> f32 {
    let rb = r * P.row_bytes;
    var acc = vec4<f32>(0.0);
    for (var j = 0u; j < 8u; j = j + 1u) {
        acc = acc + dequant4(rb, 32u * s + 4u * j) * x.x[j];
    }
    return (acc.x + acc.y) + (acc.z + acc.w);
}
