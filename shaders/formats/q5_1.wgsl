// q5_1.wgsl — decode of GGUF type Q5_1, read raw from the file's bytes (layout: shaders/LAYOUTS.md).
//
// Block of 32 in 24 B: d f16 @0, m f16 @2, qh u32 @4, qs[16] @8; x[j] = (nib(j) | h(j)<<4)·d + m.
// Reference: quant::dequantize_row(GgmlType::Q5_1, ..) (rust/quant), equal bit for bit
// (rust/gpu/tests/kernels.rs, embed_dequantizes_every_format_bit_for_bit).
//
// fn dequant4(rb, i) -> vec4<f32>: elements i..i+4 of the row starting at byte rb of W; i % 4 == 0.
// Four consecutive elements always share a block and a scale group (groups are ≥ 16 elements).
// Needs bytes.wgsl and the op's binding W.

fn dequant4(rb: u32, i: u32) -> vec4<f32> {
    let bo = rb + 24u * (i / 32u);
    let j = i % 32u;
    let d = f16_bits_to_f32(u16_at(bo));
    let m = f16_bits_to_f32(u16_at(bo + 2u));
    let qh = u32_at(bo + 4u);
    let lanes = vec4<u32>(j) + vec4<u32>(0u, 1u, 2u, 3u);
    let h = ((vec4<u32>(qh) >> lanes) & vec4<u32>(1u)) << vec4<u32>(4u);
    let q = (bytes4(u32_at(bo + 8u + (j % 16u))) >> vec4<u32>(4u * (j / 16u))) & vec4<u32>(0xfu);
    return vec4<f32>(q | h) * d + m;
}
