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

// fn dequant32(rb, i) -> array<vec4<f32>, 8>: elements i..i+32 (i % 32 == 0: one quarter of a
// half-block, two scale groups of 16), as dequant4 computes them, bit for bit, with d and the two
// scales read once. Used by matmul_tiled.wgsl to stage a weight row's 32 elements of one k-step.
fn dequant32(rb: u32, i: u32) -> array<vec4<f32>, 8> {
    let bo = rb + 210u * (i / 256u);
    let e = i % 256u;
    let n = e / 128u;
    let k = (e % 128u) / 32u;
    let d = f16_bits_to_f32(u16_at(bo + 208u));
    let sc0 = i32(byte_at(bo + 192u + 8u * n + 2u * k) << 24u) >> 24u;
    let sc1 = i32(byte_at(bo + 193u + 8u * n + 2u * k) << 24u) >> 24u;
    let ds0 = d * f32(sc0); // elements l < 16
    let ds1 = d * f32(sc1); // l ≥ 16
    let ql = bo + 64u * n + 32u * (k % 2u);
    let qh = bo + 128u + 32u * n;
    var out: array<vec4<f32>, 8>;
    for (var w = 0u; w < 8u; w = w + 1u) {
        let lo = (bytes4(u32_at(ql + 4u * w)) >> vec4<u32>(4u * (k / 2u))) & vec4<u32>(0xfu);
        let hi = (bytes4(u32_at(qh + 4u * w)) >> vec4<u32>(2u * k)) & vec4<u32>(3u);
        out[w] = select(ds1, ds0, w < 4u) * vec4<f32>(vec4<i32>(lo | (hi << vec4<u32>(4u))) - vec4<i32>(32));
    }
    return out;
}
