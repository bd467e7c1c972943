// bf16.wgsl — decode of GGUF type BF16, read raw from the file's bytes (layout: shaders/LAYOUTS.md).
//
// bfloat16, 2 B per element: the top half of an f32.
// Reference: quant::dequantize_row(GgmlType::BF16, ..) (rust/quant), equal bit for bit
// (rust/gpu/tests/kernels.rs, embed_dequantizes_every_format_bit_for_bit).
//
// fn dequant4(rb, i) -> vec4<f32>: elements i..i+4 of the row starting at byte rb of W; i % 4 == 0.
// Four consecutive elements always share a block and a scale group (groups are ≥ 16 elements).
// Needs bytes.wgsl and the op's binding W.

fn dequant4(rb: u32, i: u32) -> vec4<f32> {
    let o = rb + 2u * i;
    let a = u32_at(o);
    let b = u32_at(o + 4u);
    return bitcast<vec4<f32>>(vec4<u32>(a << 16u, a & 0xffff0000u, b << 16u, b & 0xffff0000u));
}
