// q2_k.wgsl — decode of GGUF type Q2_K, read raw from the file's bytes (layout: shaders/LAYOUTS.md).
//
// Block of 256 in 84 B: scales[16] @0 (low nibble scale, high min, per 16), qs[64] @16, d f16 @80, dmin f16 @82. Element e: run e/128, bit pair (e%128)/32, byte 32·run + e%32; x = d·sc·q - dmin·m.
// Reference: quant::dequantize_row(GgmlType::Q2_K, ..) (rust/quant), equal bit for bit
// (rust/gpu/tests/kernels.rs, embed_dequantizes_every_format_bit_for_bit).
//
// fn dequant4(rb, i) -> vec4<f32>: elements i..i+4 of the row starting at byte rb of W; i % 4 == 0.
// Four consecutive elements always share a block and a scale group (groups are ≥ 16 elements).
// Needs bytes.wgsl and the op's binding W.

fn dequant4(rb: u32, i: u32) -> vec4<f32> {
    let bo = rb + 84u * (i / 256u);
    let e = i % 256u;
    let sc = byte_at(bo + e / 16u);
    let dl = f16_bits_to_f32(u16_at(bo + 80u)) * f32(sc & 0xfu);
    let ml = f16_bits_to_f32(u16_at(bo + 82u)) * f32(sc >> 4u);
    let shift = 2u * ((e % 128u) / 32u);
    let q = (bytes4(u32_at(bo + 16u + 32u * (e / 128u) + e % 32u)) >> vec4<u32>(shift)) & vec4<u32>(3u);
    return dl * vec4<f32>(q) - ml;
}
