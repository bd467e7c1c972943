// bytes.wgsl — byte-level reads of raw GGUF tensor data, shared by every format file.
//
// Weights are uploaded exactly as they sit in the GGUF file (see shaders/LAYOUTS.md), so a block
// may start at any even byte offset (Q4_0 blocks are 18 B, Q8_0 34 B, Q6_K 210 B). WGSL storage is
// `array<u32>`, little-endian, so a byte at offset o is bits 8*(o%4).. of word o/4.
//
// Declares the weight binding for every op that reads weights through it (binding 0 of embed,
// matvec, matvec_coop, matmul, matmul_tiled, matvec_rows with the generic or Q6_K slices); only
// formats/q4_k_slice.wgsl, whose blocks are 16-byte aligned, reads W as vec4<u32> instead.

// (chunk_bytes / 4) raw GGUF bytes of one row chunk (LAYOUTS.md)
@group(0) @binding(0) var<storage, read> W: array<u32>;

// Byte at byte offset `o`.
fn byte_at(o: u32) -> u32 {
    return (W[o >> 2u] >> ((o & 3u) * 8u)) & 0xffu;
}

// Little-endian u16 at an even byte offset `o` (never straddles two words).
fn u16_at(o: u32) -> u32 {
    return (W[o >> 2u] >> ((o & 2u) * 8u)) & 0xffffu;
}

// Little-endian u32 at any byte offset `o` (two words when unaligned).
fn u32_at(o: u32) -> u32 {
    let lo = W[o >> 2u];
    let sh = (o & 3u) * 8u;
    if (sh == 0u) {
        return lo;
    }
    let hi = W[(o >> 2u) + 1u];
    return (lo >> sh) | (hi << (32u - sh));
}

// The four bytes of `w` as lanes, lowest byte first.
fn bytes4(w: u32) -> vec4<u32> {
    return (vec4<u32>(w) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu);
}

// Sign-extends four i8 lanes.
fn i8x4(b: vec4<u32>) -> vec4<i32> {
    return (bitcast<vec4<i32>>(b << vec4<u32>(24u)) >> vec4<u32>(24u));
}
