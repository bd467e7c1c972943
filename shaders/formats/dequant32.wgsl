// dequant32.wgsl — fn dequant32(rb, i) -> array<vec4<f32>, 8>: elements i..i+32 (i % 32 == 0) of
// the row at byte rb, eight dequant4 calls: for the formats whose decoder has no faster one of its
// own (Q4_K and Q6_K have, in their files). Used by matmul_tiled.wgsl.
fn dequant32(rb: u32, i: u32) -> array<vec4<f32>, 8> {
    var out: array<vec4<f32>, 8>;
    for (var w = 0u; w < 8u; w = w + 1u) {
        out[w] = dequant4(rb, i + 4u * w);
    }
    return out;
}
