// q5_0.wgsl — decode of GGUF type Q5_0, read raw from the file's bytes (layout: shaders/LAYOUTS.md).
//
// Block of 32 in 22 B: d f16 @0, qh u32 @2 (bit j = 5th bit of x[j]), qs[16] @6; x[j] = ((nib(j) | h(j)<<4) - 16)·d.
// Reference: quant::dequantize_row(GgmlType::Q5_0, ..) (rust/quant), equal bit for bit
// (rust/gpu/tests/kernels.rs, embed_dequantizes_every_format_bit_for_bit).
//
// fn dequant4(rb, i) -> vec4<f32>: elements i..i+4 of the row starting at byte rb of W; i % 4 == 0.
// Four consecutive elements always share a block and a scale group (groups are ≥ 16 elements).
// Needs bytes.wgsl and the op's binding W.

fn dequant4(rb: u32, i: u32) -> vec4<f32> {
    let bo = rb + 22u * (i / 32u);
    let j = i % 32u;
    let d = f16_bits_to_f32(u16_at(bo));
    let qh = u32_at(bo + 2u);
    let lanes = vec4<u32>(j) + vec4<u32>(0u, 1u, 2u, 3u);
    let h = ((vec4<u32>(qh) >> lanes) & vec4<u32>(1u)) << vec4<u32>(4u);
    let q = (bytes4(u32_at(bo + 6u + (j % 16u))) >> vec4<u32>(4u * (j / 16u))) & vec4<u32>(0xfu);
    return vec4<f32>(vec4<i32>(q | h) - vec4<i32>(16)) * d;
}
