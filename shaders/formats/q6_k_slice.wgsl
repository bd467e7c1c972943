// q6_k_slice.wgsl — the Q6_K slice decoder of matvec_rows.wgsl: 32 elements per call from 8
// bytes of each of ql's two halves and of qh, with four scales.
//
// Block of 256 in 210 B (LAYOUTS.md, formats/q6_k.wgsl): ql[128] @0, qh[64] @128, scales[16] i8
// @192, d f16 @208. Element 128n + 32k + l (half n, quarter k, l < 32): low 4 bits from
// ql[64n + l + 32·(k%2)] (high nibble for k ≥ 2), top 2 from bits 2k of qh[32n + l], scale
// scales[8n + 2k + l/16]; x = d·sc·(q − 32).
// Slice t (0..8) of a block: half n = t / 4, l = 8·(t%4) .. + 8, all four quarters — so each
// byte of ql and qh read is used whole (one ql byte gives two elements, one qh byte four) and a
// block's eight slices read neighbouring bytes. Blocks are 210 B, so they start 2-byte aligned
// only: 8 bytes are read as three words and funnel-shifted (bytes.wgsl reads the rest).
// Reference: quant::dequantize_row(GgmlType::Q6_K, ..) (tests/kernels.rs checks the product).
// Needs bytes.wgsl (W as u32).

struct XSlice {
    x: array<vec4<f32>, 8>, // quarter k's 8 activations at 2k, 2k + 1
}

fn load_x(s: u32) -> XSlice {
    var x: XSlice;
    // element 256·block + 128·half + 8·(t % 4), in vec4 units; quarters are 32 elements apart
    let e4 = 64u * (s / 8u) + 32u * ((s % 8u) / 4u) + 2u * (s % 4u);
    for (var k = 0u; k < 4u; k = k + 1u) {
        x.x[2u * k] = x4(e4 + 8u * k);
        x.x[2u * k + 1u] = x4(e4 + 8u * k + 1u);
    }
    return x;
}

// Eight bytes at the even byte offset o, as two little-endian words.
fn u32x2_at(o: u32) -> vec2<u32> {
    let a = o >> 2u;
    let w0 = W[a];
    let w1 = W[a + 1u];
    if ((o & 2u) == 0u) {
        return vec2<u32>(w0, w1);
    }
    let w2 = W[a + 2u];
    return vec2<u32>((w0 >> 16u) | (w1 << 16u), (w1 >> 16u) | (w2 << 16u));
}

// The four bytes of w as lanes.
fn lanes4(w: u32) -> vec4<u32> {
    return (vec4<u32>(w) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu);
}

fn slice_dot(r: u32, s: u32, x: XSlice) -> f32 {
    let t = s % 8u;
    let n = t / 4u;
    let l = 8u * (t % 4u);
    let bo = r * P.row_bytes + 210u * (s / 8u);
    let ql_a = u32x2_at(bo + 64u * n + l);        // quarters 0 (low nibbles) and 2 (high)
    let ql_b = u32x2_at(bo + 64u * n + 32u + l);  // quarters 1 and 3
    let qh = u32x2_at(bo + 128u + 32u * n + l);   // bits 2k..2k+1: quarter k
    // scales[8n + l/16 + 2k], k = 0..4: bytes 0, 2, 4, 6 from 8n + l/16
    let sc8 = u32x2_at(bo + 192u + 8u * n);
    let sh = 8u * (l / 16u);
    let sc = vec4<i32>(i32(sc8.x << (24u - sh)), i32(sc8.x << (8u - sh)),
                       i32(sc8.y << (24u - sh)), i32(sc8.y << (8u - sh))) >> vec4<u32>(24u);
    var qa = vec4<f32>(0.0); // Σ (q − 32)·a per quarter
    for (var w = 0u; w < 2u; w = w + 1u) {
        let a = lanes4(ql_a[w]);
        let b = lanes4(ql_b[w]);
        let h = lanes4(qh[w]);
        let q0 = (a & vec4<u32>(0xfu)) | ((h & vec4<u32>(3u)) << vec4<u32>(4u));
        let q1 = (b & vec4<u32>(0xfu)) | (((h >> vec4<u32>(2u)) & vec4<u32>(3u)) << vec4<u32>(4u));
        let q2 = (a >> vec4<u32>(4u)) | (((h >> vec4<u32>(4u)) & vec4<u32>(3u)) << vec4<u32>(4u));
        let q3 = (b >> vec4<u32>(4u)) | ((h >> vec4<u32>(6u)) << vec4<u32>(4u));
        qa.x = qa.x + dot(vec4<f32>(vec4<i32>(q0) - vec4<i32>(32)), x.x[w]);
        qa.y = qa.y + dot(vec4<f32>(vec4<i32>(q1) - vec4<i32>(32)), x.x[2u + w]);
        qa.z = qa.z + dot(vec4<f32>(vec4<i32>(q2) - vec4<i32>(32)), x.x[4u + w]);
        qa.w = qa.w + dot(vec4<f32>(vec4<i32>(q3) - vec4<i32>(32)), x.x[6u + w]);
    }
    let d = f16_bits_to_f32(u16_at(bo + 208u));
    return d * dot(vec4<f32>(sc), qa);
}
