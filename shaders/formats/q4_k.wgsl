// q4_k.wgsl — decode of GGUF type Q4_K, read raw from the file's bytes (layout: shaders/LAYOUTS.md).
//
// Block of 256 in 144 B: d f16 @0, dmin f16 @2, scales[12] @4 (kscales.wgsl), qs[128] @16. Element e: group g = e/32, byte 16 + 32·(e/64) + e%32, low nibble for even g; x = d·sc·q - dmin·m.
// Reference: quant::dequantize_row(GgmlType::Q4_K, ..) (rust/quant), equal bit for bit
// (rust/gpu/tests/kernels.rs, embed_dequantizes_every_format_bit_for_bit).
//
// fn dequant4(rb, i) -> vec4<f32>: elements i..i+4 of the row starting at byte rb of W; i % 4 == 0.
// Four consecutive elements always share a block and a scale group (groups are ≥ 16 elements).
// Needs bytes.wgsl and the op's binding W.

fn dequant4(rb: u32, i: u32) -> vec4<f32> {
    let bo = rb + 144u * (i / 256u);
    let e = i % 256u;
    let sm = scale_min_k4(bo + 4u, e / 32u);
    let d1 = f16_bits_to_f32(u16_at(bo)) * f32(sm.x);
    let m1 = f16_bits_to_f32(u16_at(bo + 2u)) * f32(sm.y);
    let q = (bytes4(u32_at(bo + 16u + 32u * (e / 64u) + e % 32u)) >> vec4<u32>(4u * ((e / 32u) % 2u)))
        & vec4<u32>(0xfu);
    return d1 * vec4<f32>(q) - m1;
}

// fn dequant32(rb, i) -> array<vec4<f32>, 8>: elements i..i+32 (i % 32 == 0: one scale group),
// as dequant4 computes them, bit for bit, but with the group's scale and min decoded once and its
// 16 bytes of quants read as four aligned words (rows are 144·n bytes, so blocks are 4-aligned).
// Used by matmul_tiled.wgsl to stage a weight row's 32 elements of one k-step.
fn dequant32(rb: u32, i: u32) -> array<vec4<f32>, 8> {
    let bo = rb + 144u * (i / 256u);
    let g = (i % 256u) / 32u;
    let sm = scale_min_k4(bo + 4u, g);
    let d1 = f16_bits_to_f32(u16_at(bo)) * f32(sm.x);
    let m1 = f16_bits_to_f32(u16_at(bo + 2u)) * f32(sm.y);
    // group g: the low (even g) or high nibbles of the 32 bytes at 16 + 32·(g / 2)
    let w0 = (bo + 16u + 32u * (g / 2u)) / 4u;
    let sh = vec4<u32>(0u, 8u, 16u, 24u) + vec4<u32>(4u * (g % 2u));
    var out: array<vec4<f32>, 8>;
    for (var w = 0u; w < 8u; w = w + 1u) {
        out[w] = d1 * vec4<f32>((vec4<u32>(W[w0 + w]) >> sh) & vec4<u32>(0xfu)) - m1;
    }
    return out;
}
