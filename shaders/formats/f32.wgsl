// f32.wgsl — decode of GGUF type F32, read raw from the file's bytes (layout: shaders/LAYOUTS.md).
//
// Plain little-endian f32, 4 B per element.
// Reference: quant::dequantize_row(GgmlType::F32, ..) (rust/quant), equal bit for bit
// (rust/gpu/tests/kernels.rs, embed_dequantizes_every_format_bit_for_bit).
//
// fn dequant4(rb, i) -> vec4<f32>: elements i..i+4 of the row starting at byte rb of W; i % 4 == 0.
// Four consecutive elements always share a block and a scale group (groups are ≥ 16 elements).
// Needs bytes.wgsl and the op's binding W.

fn dequant4(rb: u32, i: u32) -> vec4<f32> {
    let o = rb + 4u * i;
    return bitcast<vec4<f32>>(vec4<u32>(u32_at(o), u32_at(o + 4u), u32_at(o + 8u), u32_at(o + 12u)));
}
