// q5_k.wgsl — decode of GGUF type Q5_K, read raw from the file's bytes (layout: shaders/LAYOUTS.md).
//
// Block of 256 in 176 B: d f16 @0, dmin f16 @2, scales[12] @4 (kscales.wgsl), qh[32] @16 (bit g of byte e%32 = 5th bit), qs[128] @48 (as Q4_K); x = d·sc·q - dmin·m.
// Reference: quant::dequantize_row(GgmlType::Q5_K, ..) (rust/quant), equal bit for bit
// (rust/gpu/tests/kernels.rs, embed_dequantizes_every_format_bit_for_bit).
//
// fn dequant4(rb, i) -> vec4<f32>: elements i..i+4 of the row starting at byte rb of W; i % 4 == 0.
// Four consecutive elements always share a block and a scale group (groups are ≥ 16 elements).
// Needs bytes.wgsl and the op's binding W.

fn dequant4(rb: u32, i: u32) -> vec4<f32> {
    let bo = rb + 176u * (i / 256u);
    let e = i % 256u;
    let g = e / 32u;
    let sm = scale_min_k4(bo + 4u, g);
    let d1 = f16_bits_to_f32(u16_at(bo)) * f32(sm.x);
    let m1 = f16_bits_to_f32(u16_at(bo + 2u)) * f32(sm.y);
    let ql = (bytes4(u32_at(bo + 48u + 32u * (e / 64u) + e % 32u)) >> vec4<u32>(4u * (g % 2u)))
        & vec4<u32>(0xfu);
    let h = select(vec4<u32>(0u), vec4<u32>(16u),
                   (bytes4(u32_at(bo + 16u + e % 32u)) & vec4<u32>(1u << g)) != vec4<u32>(0u));
    return d1 * vec4<f32>(ql + h) - m1;
}
