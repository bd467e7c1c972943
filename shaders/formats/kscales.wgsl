// kscales.wgsl — the 6-bit (scale, min) of group j (0..8) of a Q4_K / Q5_K block, from the 12
// packed bytes at byte sb (quant::get_scale_min_k4, same layout as ggml's get_scale_min_k4):
// groups 0-3 are the low 6 bits of bytes j and j+4; groups 4-7 have their low 4 bits as the
// nibbles of byte j+4 and their top 2 bits in the top bits of bytes j-4 (scale) and j (min).
fn scale_min_k4(sb: u32, j: u32) -> vec2<u32> {
    if (j < 4u) {
        return vec2<u32>(byte_at(sb + j) & 63u, byte_at(sb + j + 4u) & 63u);
    }
    let b = byte_at(sb + j + 4u);
    return vec2<u32>((b & 0xfu) | ((byte_at(sb + j - 4u) >> 6u) << 4u),
                     (b >> 4u) | ((byte_at(sb + j) >> 6u) << 4u));
}
