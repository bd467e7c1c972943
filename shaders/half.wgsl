// half.wgsl — f16 <-> f32 by integer ops, shared by the format decoders, the KV cache and the
// attention/activation kernels. f16 data always travels packed two per u32 (low half first), so no
// kernel needs the `shader-f16` feature.
//
// Integer decoding instead of unpack2x16float / pack2x16float: WGSL allows drivers to flush f16
// subnormals and leaves pack2x16float's rounding open; these are exact and round to nearest even,
// equal to quant::fp16_to_f32 / quant::f32_to_fp16 bit for bit (tests/kernels.rs).

// IEEE binary16 bits → f32, decoded with integer ops rather than `unpack2x16float` so subnormal
// halves are exact on every driver (WGSL lets implementations flush them); equals
// quant::fp16_to_f32 bit for bit (checked through every decoder by rust/gpu/tests/kernels.rs).
fn f16_bits_to_f32(h: u32) -> f32 {
    let sign = (h & 0x8000u) << 16u;
    let e = (h >> 10u) & 0x1fu;
    let m = h & 0x3ffu;
    if (e == 0u) {
        // zero or subnormal: m · 2⁻²⁴, exact in f32
        let v = f32(m) * 5.9604644775390625e-8;
        return bitcast<f32>(bitcast<u32>(v) | sign);
    }
    if (e == 31u) {
        return bitcast<f32>(sign | 0x7f800000u | (m << 13u));
    }
    return bitcast<f32>(sign | ((e + 112u) << 23u) | (m << 13u));
}

// f32 → binary16 bits, round to nearest even (overflow → inf, NaN stays NaN).
fn f32_to_f16_bits(x: f32) -> u32 {
    let b = bitcast<u32>(x);
    let sign = (b >> 16u) & 0x8000u;
    let e = i32((b >> 23u) & 0xffu);
    let m = b & 0x7fffffu;
    if (e == 255) {
        return sign | 0x7c00u | select(0u, 0x200u, m != 0u);
    }
    let he = e - 112; // the f16 exponent field if x were a normal half
    if (he >= 31) {
        return sign | 0x7c00u;
    }
    if (he <= 0) {
        // subnormal half: the 24-bit significand in units of 2^-24
        if (he < -10) {
            return sign;
        }
        let full = m | 0x800000u;
        let shift = u32(14 - he);
        var r = full >> shift;
        let rem = full & ((1u << shift) - 1u);
        let halfway = 1u << (shift - 1u);
        if (rem > halfway || (rem == halfway && (r & 1u) == 1u)) {
            r = r + 1u;
        }
        return sign | r;
    }
    var r = (u32(he) << 10u) | (m >> 13u);
    let rem = m & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1u) == 1u)) {
        r = r + 1u; // a carry into the exponent is the right answer (up to inf)
    }
    return sign | r;
}

// x rounded to the nearest f16 value, kept as f32.
fn round_f16(x: f32) -> f32 {
    return f16_bits_to_f32(f32_to_f16_bits(x));
}
