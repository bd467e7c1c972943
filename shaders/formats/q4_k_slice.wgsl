// q4_k_slice.wgsl — the Q4_K slice decoder of matvec_rows.wgsl: 32 elements per call, read with
// two 16-byte loads, scales decoded once for them.
//
// Block of 256 in 144 B (LAYOUTS.md, formats/q4_k.wgsl): d f16 @0, dmin f16 @2, scales[12] @4,
// qs[128] @16. 144 = 9 · 16 and every row is whole blocks, so with the chunk buffer's rows at
// byte 0 each block starts 16-byte aligned: W is read here as vec4<u32>, 9 per block.
// qs holds four 32-byte runs; run c has elements 64c + l (low nibbles, scale group 2c) and
// 64c + 32 + l (high nibbles, group 2c + 1), l < 32.
// Slice k (0..8) of a block = 16 bytes of qs: run c = k / 2, bytes 16·(k % 2) .. + 16 of it, so
// elements 64c + 16·(k%2) + 0..16 (low nibbles) and the same + 32 (high nibbles). A block's
// eight slices are its eight consecutive vec4 of quants: neighbouring threads, neighbouring bytes.
// Value: x = d·sc·q − dmin·m, so Σ x·a = d·sc·Σ q·a − dmin·m·Σ a; Σ a is the activations' own
// (XSlice.sum), shared by the R rows of the workgroup.
// Reference: quant::dequantize_row(GgmlType::Q4_K, ..) (tests/kernels.rs checks the product).

// (rows · row_bytes / 16) raw GGUF bytes of one row chunk, 16 at a time (LAYOUTS.md)
@group(0) @binding(0) var<storage, read> W: array<vec4<u32>>;

struct XSlice {
    lo: array<vec4<f32>, 4>, // activations of the low-nibble elements
    hi: array<vec4<f32>, 4>, // of the high-nibble elements (32 further on)
    sum: vec2<f32>,          // Σ lo, Σ hi
}

fn load_x(s: u32) -> XSlice {
    var x: XSlice;
    // element 256·block + 64·run + 16·half, in vec4 units
    let e4 = 64u * (s / 8u) + 16u * ((s % 8u) / 2u) + 4u * (s % 2u);
    var sl = vec4<f32>(0.0);
    var sh = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j = j + 1u) {
        x.lo[j] = x4(e4 + j);
        x.hi[j] = x4(e4 + 8u + j);
        sl = sl + x.lo[j];
        sh = sh + x.hi[j];
    }
    x.sum = vec2<f32>((sl.x + sl.y) + (sl.z + sl.w), (sh.x + sh.y) + (sh.z + sh.w));
    return x;
}

// Byte b (0..4) of w.
fn byte_of(w: u32, b: u32) -> u32 {
    return (w >> (8u * b)) & 0xffu;
}

fn slice_dot(r: u32, s: u32, x: XSlice) -> f32 {
    let k = s % 8u;
    let c = k / 2u;
    // the block's first vec4: rows are 9 · cols/256 vec4 long
    let bv = r * (P.row_bytes / 16u) + 9u * (s / 8u);
    let head = W[bv];
    let qs = W[bv + 1u + k];
    // the 6-bit scales and mins of groups 2c and 2c + 1 (quant::get_scale_min_k4): groups 0-3 are
    // the low 6 bits of scales[j] and [j + 4]; groups 4-7 take their low 4 bits from the nibbles
    // of scales[j + 4] and their top 2 from the top bits of scales[j − 4] and [j]. Four at a time:
    // head.y = scales[0..4], head.z = [4..8], head.w = [8..12].
    var sc4: u32;
    var m4: u32;
    if (c < 2u) {
        sc4 = head.y & 0x3f3f3f3fu;
        m4 = head.z & 0x3f3f3f3fu;
    } else {
        sc4 = (head.w & 0x0f0f0f0fu) | ((head.y >> 2u) & 0x30303030u);
        m4 = ((head.w >> 4u) & 0x0f0f0f0fu) | ((head.z >> 2u) & 0x30303030u);
    }
    let j = 2u * (c % 2u); // byte of group 2c in sc4 / m4
    let d = f16_bits_to_f32(head.x & 0xffffu);
    let dmin = f16_bits_to_f32(head.x >> 16u);
    var dot_lo = vec4<f32>(0.0);
    var dot_hi = vec4<f32>(0.0);
    for (var w = 0u; w < 4u; w = w + 1u) {
        let q = (vec4<u32>(qs[w]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu);
        dot_lo = dot_lo + vec4<f32>(q & vec4<u32>(0xfu)) * x.lo[w];
        dot_hi = dot_hi + vec4<f32>(q >> vec4<u32>(4u)) * x.hi[w];
    }
    let qa_lo = (dot_lo.x + dot_lo.y) + (dot_lo.z + dot_lo.w);
    let qa_hi = (dot_hi.x + dot_hi.y) + (dot_hi.z + dot_hi.w);
    return d * (f32(byte_of(sc4, j)) * qa_lo + f32(byte_of(sc4, j + 1u)) * qa_hi)
        - dmin * (f32(byte_of(m4, j)) * x.sum.x + f32(byte_of(m4, j + 1u)) * x.sum.y);
}
