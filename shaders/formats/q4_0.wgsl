// q4_0.wgsl — decode of GGUF type Q4_0, read raw from the file's bytes (layout: shaders/LAYOUTS.md).
//
// Block of 32 in 18 B: d f16 @0, qs[16] @2; x[j] = (nib(j) - 8)·d, low nibbles j<16, high j≥16.
// Reference: quant::dequantize_row(GgmlType::Q4_0, ..) (rust/quant), equal bit for bit
// (rust/gpu/tests/kernels.rs, embed_dequantizes_every_format_bit_for_bit).
//
// fn dequant4(rb, i) -> vec4<f32>: elements i..i+4 of the row starting at byte rb of W; i % 4 == 0.
// Four consecutive elements always share a block and a scale group (groups are ≥ 16 elements).
// Needs bytes.wgsl and the op's binding W.

fn dequant4(rb: u32, i: u32) -> vec4<f32> {
    let bo = rb + 18u * (i / 32u);
    let j = i % 32u;
    let d = f16_bits_to_f32(u16_at(bo));
    let q = (bytes4(u32_at(bo + 2u + (j % 16u))) >> vec4<u32>(4u * (j / 16u))) & vec4<u32>(0xfu);
    return vec4<f32>(vec4<i32>(q) - vec4<i32>(8)) * d;
}
