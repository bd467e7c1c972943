// q6_k.wgsl — decode of GGUF type Q6_K, read raw from the file's bytes (layout: shaders/LAYOUTS.md).
//
// Block of 256 in 210 B: ql[128] @0, qh[64] @128, scales[16] i8 @192, d f16 @208. Element e: half n = e/128, quarter k = (e%128)/32, l = e%32: low 4 bits from ql[64n + l + 32·(k%2)] (high nibble for k ≥ 2), top 2 from bits 2k of qh[32n + l], scale sc[8n + l/16 + 2k]; x = d·sc·(q - 32).
// Reference: quant::dequantize_row(GgmlType::Q6_K, ..) (rust/quant), equal bit for bit
// (rust/gpu/tests/kernels.rs, embed_dequantizes_every_format_bit_for_bit).
//
// fn dequant4(rb, i) -> vec4<f32>: elements i..i+4 of the row starting at byte rb of W; i % 4 == 0.
// Four consecutive elements always share a block and a scale group (groups are ≥ 16 elements).
// Needs bytes.wgsl and the op's binding W.

fn dequant4(rb: u32, i: u32) -> vec4<f32> {
    let bo = rb + 210u * (i / 256u);
    let e = i % 256u;
    let n = e / 128u;
    let k = (e % 128u) / 32u;
    let l = e % 32u;
    let lo = (bytes4(u32_at(bo + 64u * n + l + 32u * (k % 2u))) >> vec4<u32>(4u * (k / 2u)))
        & vec4<u32>(0xfu);
    let hi = (bytes4(u32_at(bo + 128u + 32u * n + l)) >> vec4<u32>(2u * k)) & vec4<u32>(3u);
    let sc = i32(byte_at(bo + 192u + 8u * n + l / 16u + 2u * k) << 24u) >> 24u;
    let ds = f16_bits_to_f32(u16_at(bo + 208u)) * f32(sc);
    return ds * vec4<f32>(vec4<i32>(lo | (hi << vec4<u32>(4u))) - vec4<i32>(32));
}
