// f16.wgsl — decode of GGUF type F16, read raw from the file's bytes (layout: shaders/LAYOUTS.md).
//
// IEEE binary16, 2 B per element, two per u32 (low half first).
// Reference: quant::dequantize_row(GgmlType::F16, ..) (rust/quant), equal bit for bit
// (rust/gpu/tests/kernels.rs, embed_dequantizes_every_format_bit_for_bit).
//
// fn dequant4(rb, i) -> vec4<f32>: elements i..i+4 of the row starting at byte rb of W; i % 4 == 0.
// Four consecutive elements always share a block and a scale group (groups are ≥ 16 elements).
// Needs bytes.wgsl and the op's binding W.

fn dequant4(rb: u32, i: u32) -> vec4<f32> {
    let o = rb + 2u * i;
    let a = u32_at(o);
    let b = u32_at(o + 4u);
    return vec4<f32>(f16_bits_to_f32(a & 0xffffu), f16_bits_to_f32(a >> 16u),
                     f16_bits_to_f32(b & 0xffffu), f16_bits_to_f32(b >> 16u));
}
