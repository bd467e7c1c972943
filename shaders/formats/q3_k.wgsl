// q3_k.wgsl — decode of GGUF type Q3_K, read raw from the file's bytes (layout: shaders/LAYOUTS.md).
//
// Block of 256 in 110 B: hmask[32] @0, qs[64] @32 (as Q2_K), scales[12] @96 (16 packed 6-bit, minus 32), d f16 @108; x = d·sc·(q - 4·!h), h = bit (4·run + pair) of hmask[e%32].
// Reference: quant::dequantize_row(GgmlType::Q3_K, ..) (rust/quant), equal bit for bit
// (rust/gpu/tests/kernels.rs, embed_dequantizes_every_format_bit_for_bit).
//
// fn dequant4(rb, i) -> vec4<f32>: elements i..i+4 of the row starting at byte rb of W; i % 4 == 0.
// Four consecutive elements always share a block and a scale group (groups are ≥ 16 elements).
// Needs bytes.wgsl and the op's binding W.

fn dequant4(rb: u32, i: u32) -> vec4<f32> {
    let bo = rb + 110u * (i / 256u);
    let e = i % 256u;
    let g = e / 16u;
    let run = e / 128u;
    let pair = (e % 128u) / 32u;
    let l = e % 32u;
    // quant::q3k_scales: low nibble from byte g (g < 8) or the high nibble of byte g-8,
    // top two bits from byte 8 + g%4 at bit 2·(g/4)
    var low = byte_at(bo + 96u + g) & 0xfu;
    if (g >= 8u) {
        low = byte_at(bo + 96u + g - 8u) >> 4u;
    }
    let high = (byte_at(bo + 96u + 8u + g % 4u) >> (2u * (g / 4u))) & 3u;
    let dl = f16_bits_to_f32(u16_at(bo + 108u)) * f32(i32(low | (high << 4u)) - 32);
    let q = (bytes4(u32_at(bo + 32u + 32u * run + l)) >> vec4<u32>(2u * pair)) & vec4<u32>(3u);
    let h = bytes4(u32_at(bo + l)) & vec4<u32>(1u << (4u * run + pair));
    let minus = select(vec4<i32>(4), vec4<i32>(0), h != vec4<u32>(0u));
    return dl * vec4<f32>(vec4<i32>(q) - minus);
}
