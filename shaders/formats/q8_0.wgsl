// q8_0.wgsl — decode of GGUF type Q8_0, read raw from the file's bytes (layout: shaders/LAYOUTS.md).
//
// Block of 32 in 34 B: d f16 @0, qs[32] i8 @2; x[j] = qs[j]·d.
// Reference: quant::dequantize_row(GgmlType::Q8_0, ..) (rust/quant), equal bit for bit
// (rust/gpu/tests/kernels.rs, embed_dequantizes_every_format_bit_for_bit).
//
// fn dequant4(rb, i) -> vec4<f32>: elements i..i+4 of the row starting at byte rb of W; i % 4 == 0.
// Four consecutive elements always share a block and a scale group (groups are ≥ 16 elements).
// Needs bytes.wgsl and the op's binding W.

fn dequant4(rb: u32, i: u32) -> vec4<f32> {
    let bo = rb + 34u * (i / 32u);
    let d = f16_bits_to_f32(u16_at(bo));
    return vec4<f32>(i8x4(bytes4(u32_at(bo + 2u + (i % 32u))))) * d;
}
