//! The ggml block structs, byte-identical to `ggml-common.h`.
//!
//! Every struct is `#[repr(C, packed)]`: the same field order and offsets as ggml's (none of ggml's
//! blocks has padding, which the size asserts below pin down), but alignment 1 instead of 2 or 4, so
//! `bytemuck::cast_slice::<u8, BlockQ4K>` works on any byte slice (a GGUF tensor inside a wasm
//! heap buffer, a `fetch`ed range) without copying. Read multi-byte fields by value (`{ b.d }`),
//! never by reference. fp16 scales are raw `u16` bits (ggml's `ggml_half`); convert with
//! [`fp16_to_f32`](crate::fp16_to_f32). Multi-byte fields are little-endian, as in GGUF files;
//! the crate refuses to build for big-endian targets.
//!
//! Each struct's comment: what it holds; the formula from quants `q` to weights `x`; bits per weight.

use bytemuck::{Pod, Zeroable};

#[cfg(target_endian = "big")]
compile_error!(
    "wasm-chord-quant reads ggml blocks in place and supports little-endian targets only"
);

/// Elements per block of Q4_0.
pub const QK4_0: usize = 32;
/// Elements per block of Q4_1.
pub const QK4_1: usize = 32;
/// Elements per block of Q5_0.
pub const QK5_0: usize = 32;
/// Elements per block of Q5_1.
pub const QK5_1: usize = 32;
/// Elements per block of Q8_0.
pub const QK8_0: usize = 32;
/// Elements per block of Q8_1.
pub const QK8_1: usize = 32;
/// Elements per super-block of the K-quants.
pub const QK_K: usize = 256;
/// Bytes of packed 6-bit scales and mins in Q4_K and Q5_K (and of 6-bit scales in Q3_K).
pub const K_SCALE_SIZE: usize = 12;

/// Q4_0: 32 weights as 4-bit quants around 8, one fp16 scale.
/// `x[j] = d * (q[j] - 8)`; `q[j]` is the low nibble of `qs[j]` for j < 16, the high one of `qs[j-16]` after.
/// 18 bytes / 32 weights = 4.5 bits per weight.
#[allow(non_camel_case_types)]
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockQ4_0 {
    /// scale (fp16 bits)
    pub d: u16,
    /// nibbles: element j in the low half of byte j, element j+16 in the high half
    pub qs: [u8; QK4_0 / 2],
}

/// Q4_1: 32 weights as 4-bit quants, one fp16 scale and one fp16 offset.
/// `x[j] = d * q[j] + m`, nibbles laid out as in Q4_0.
/// 20 bytes / 32 weights = 5 bits per weight.
#[allow(non_camel_case_types)]
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockQ4_1 {
    /// scale (fp16 bits)
    pub d: u16,
    /// offset, the block's minimum (fp16 bits)
    pub m: u16,
    /// nibbles, as in Q4_0
    pub qs: [u8; QK4_1 / 2],
}

/// Q5_0: 32 weights as 5-bit quants around 16, one fp16 scale.
/// `x[j] = d * (q[j] - 16)`; low 4 bits as Q4_0's nibbles, bit 4 of `q[j]` is bit j of `qh` (a LE u32).
/// 22 bytes / 32 weights = 5.5 bits per weight.
#[allow(non_camel_case_types)]
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockQ5_0 {
    /// scale (fp16 bits)
    pub d: u16,
    /// fifth bits, a little-endian u32: bit j belongs to element j
    pub qh: [u8; 4],
    /// low nibbles, as in Q4_0
    pub qs: [u8; QK5_0 / 2],
}

/// Q5_1: 32 weights as 5-bit quants, one fp16 scale and one fp16 offset.
/// `x[j] = d * q[j] + m`, bits laid out as in Q5_0.
/// 24 bytes / 32 weights = 6 bits per weight.
#[allow(non_camel_case_types)]
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockQ5_1 {
    /// scale (fp16 bits)
    pub d: u16,
    /// offset, the block's minimum (fp16 bits)
    pub m: u16,
    /// fifth bits, as in Q5_0
    pub qh: [u8; 4],
    /// low nibbles, as in Q4_0
    pub qs: [u8; QK5_1 / 2],
}

/// Q8_0: 32 weights as signed bytes, one fp16 scale (also the activation format of Q4_0/Q5_0/Q8_0).
/// `x[j] = d * qs[j]`.
/// 34 bytes / 32 weights = 8.5 bits per weight.
#[allow(non_camel_case_types)]
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockQ8_0 {
    /// scale (fp16 bits)
    pub d: u16,
    /// quants
    pub qs: [i8; QK8_0],
}

/// Q8_1: 32 activations as signed bytes, one fp16 scale and `s = d * sum(qs)` (for Q4_1/Q5_1 dots).
/// `x[j] = d * qs[j]`; s lets an offset format's dot add `m * sum(x)` without touching qs.
/// 36 bytes / 32 values = 9 bits per value.
#[allow(non_camel_case_types)]
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockQ8_1 {
    /// scale (fp16 bits)
    pub d: u16,
    /// d * sum(qs) (fp16 bits)
    pub s: u16,
    /// quants
    pub qs: [i8; QK8_1],
}

/// Q2_K: 256 weights in 16 groups of 16, 2-bit quants, a 4-bit scale and a 4-bit min per group.
/// `x = d * (scales[g] & 0xF) * q - dmin * (scales[g] >> 4)`, g = element / 16.
/// 84 bytes / 256 weights = 2.625 bits per weight.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockQ2K {
    /// per group of 16: scale in the low nibble, min in the high nibble
    pub scales: [u8; QK_K / 16],
    /// 2-bit quants: byte l of each 32-byte run holds elements l, l+32, l+64, l+96 of that run's 128
    /// (bits 0-1, 2-3, 4-5, 6-7)
    pub qs: [u8; QK_K / 4],
    /// super-block scale for the scales (fp16 bits)
    pub d: u16,
    /// super-block scale for the mins (fp16 bits)
    pub dmin: u16,
}

/// Q3_K: 256 weights in 16 groups of 16, 3-bit quants (2 bits in qs, 1 in hmask), 6-bit group scales.
/// `x = d * (sc[g] - 32) * (q - 4)`, `q = low2 | high << 2`, sc unpacked by [`q3k_scales`].
/// 110 bytes / 256 weights = 3.4375 bits per weight.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockQ3K {
    /// high bits: element e's is bit e / 32 of byte e % 32
    pub hmask: [u8; QK_K / 8],
    /// low 2 bits, packed as in Q2_K
    pub qs: [u8; QK_K / 4],
    /// 16 packed 6-bit scales: low nibbles in bytes 0-7 (groups 0-7 low halves, 8-15 high halves),
    /// top 2 bits in bytes 8-11
    pub scales: [u8; K_SCALE_SIZE],
    /// super-block scale (fp16 bits)
    pub d: u16,
}

/// Q4_K: 256 weights in 8 groups of 32, 4-bit quants, a 6-bit scale and a 6-bit min per group.
/// `x = d * sc[g] * q - dmin * m[g]`, g = element / 32, (sc, m) unpacked by [`get_scale_min_k4`].
/// 144 bytes / 256 weights = 4.5 bits per weight.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockQ4K {
    /// super-block scale for the scales (fp16 bits)
    pub d: u16,
    /// super-block scale for the mins (fp16 bits)
    pub dmin: u16,
    /// 8 packed 6-bit scales and 8 packed 6-bit mins
    pub scales: [u8; K_SCALE_SIZE],
    /// 4-bit quants: element e in byte 32 * (e / 64) + e % 32, low nibble when e % 64 < 32
    pub qs: [u8; QK_K / 2],
}

/// Q5_K: Q4_K with a fifth bit per quant (in qh).
/// `x = d * sc[g] * q - dmin * m[g]`, `q = nibble | high << 4`.
/// 176 bytes / 256 weights = 5.5 bits per weight.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockQ5K {
    /// super-block scale for the scales (fp16 bits)
    pub d: u16,
    /// super-block scale for the mins (fp16 bits)
    pub dmin: u16,
    /// 8 packed 6-bit scales and 8 packed 6-bit mins, as in Q4_K
    pub scales: [u8; K_SCALE_SIZE],
    /// fifth bits: element e's is bit e / 32 of byte e % 32
    pub qh: [u8; QK_K / 8],
    /// low 4 bits, as in Q4_K
    pub qs: [u8; QK_K / 2],
}

/// Q6_K: 256 weights in 16 groups of 16, 6-bit quants around 32 (4 bits in ql, 2 in qh), i8 scales.
/// `x = d * scales[g] * (q - 32)`, g = element / 16.
/// 210 bytes / 256 weights = 6.5625 bits per weight.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockQ6K {
    /// low 4 bits: per 128 elements 64 bytes; element l, l+32 in the low nibbles of bytes l, l+32,
    /// elements l+64, l+96 in their high nibbles (l < 32)
    pub ql: [u8; QK_K / 2],
    /// high 2 bits: per 128 elements 32 bytes; byte l holds those of elements l, l+32, l+64, l+96
    /// at bits 0-1, 2-3, 4-5, 6-7
    pub qh: [u8; QK_K / 4],
    /// per-group scales
    pub scales: [i8; QK_K / 16],
    /// super-block scale (fp16 bits)
    pub d: u16,
}

/// Q8_K: 256 activations as signed bytes, an f32 scale and sums per 16 (the K-quants' dot partner).
/// `x[j] = d * qs[j]`; `bsums[g]` = sum of the 16 quants of group g (serves the K-quants' min terms).
/// 292 bytes / 256 values = 9.125 bits per value.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockQ8K {
    /// scale (a full f32 here, not fp16)
    pub d: f32,
    /// quants
    pub qs: [i8; QK_K],
    /// sums of qs in groups of 16
    pub bsums: [i16; QK_K / 16],
}

// Byte sizes, from ggml-common.h's static asserts; alignment 1 (see the module comment).
macro_rules! assert_block {
    ($t:ty, $size:expr) => {
        const _: () = assert!(std::mem::size_of::<$t>() == $size);
        const _: () = assert!(std::mem::align_of::<$t>() == 1);
    };
}
assert_block!(BlockQ4_0, 2 + QK4_0 / 2);
assert_block!(BlockQ4_1, 2 * 2 + QK4_1 / 2);
assert_block!(BlockQ5_0, 2 + 4 + QK5_0 / 2);
assert_block!(BlockQ5_1, 2 * 2 + 4 + QK5_1 / 2);
assert_block!(BlockQ8_0, 2 + QK8_0);
assert_block!(BlockQ8_1, 2 * 2 + QK8_1);
assert_block!(BlockQ2K, 2 * 2 + QK_K / 16 + QK_K / 4);
assert_block!(BlockQ3K, 2 + QK_K / 4 + QK_K / 8 + 12);
assert_block!(BlockQ4K, 2 * 2 + K_SCALE_SIZE + QK_K / 2);
assert_block!(BlockQ5K, 2 * 2 + K_SCALE_SIZE + QK_K / 2 + QK_K / 8);
assert_block!(BlockQ6K, 2 + QK_K / 16 + 3 * QK_K / 4);
assert_block!(BlockQ8K, 4 + QK_K + QK_K / 16 * 2);

/// The 6-bit scale and min of group `j` (0..8) of a Q4_K/Q5_K block's 12 packed bytes: groups 0-3
/// sit in the low 6 bits of bytes j and j+4; groups 4-7 have their low 4 bits as the nibbles of
/// byte j+4 and their top 2 bits in the top bits of bytes j-4 (scale) and j (min).
#[inline]
pub fn get_scale_min_k4(j: usize, q: &[u8; K_SCALE_SIZE]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

/// The 16 signed scales of a Q3_K block (each 6-bit field minus 32): group j's low 4 bits are the low
/// nibble of byte j (j < 8) or the high nibble of byte j-8, its top 2 bits are bits 2*(j/4)..+2 of
/// byte 8 + j%4.
#[inline]
pub fn q3k_scales(q: &[u8; K_SCALE_SIZE]) -> [i8; 16] {
    let mut out = [0i8; 16];
    for (j, o) in out.iter_mut().enumerate() {
        let low = if j < 8 { q[j] & 0xF } else { q[j - 8] >> 4 };
        let high = (q[8 + j % 4] >> (2 * (j / 4))) & 3;
        *o = (low | (high << 4)) as i8 - 32;
    }
    out
}
