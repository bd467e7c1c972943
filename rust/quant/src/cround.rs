//! Rounding and float→integer conversions with the exact behaviour of ggml's C code.
//!
//! The reference quantizers round in two ways, and the golden tests need both reproduced exactly:
//! `nearest_int` (a float trick, round-half-to-even) and C casts such as `(int8_t)(x + 8.5f)`
//! (truncation). Rust's `as` saturates where C is undefined, so the casts go through
//! [`c_f32_to_i32`], which gives what GCC/Clang emit on x86-64 (`cvttss2si`). Only non-finite or
//! huge inputs can tell the difference; for those we pick x86's answer so outputs stay comparable.

/// ggml's `nearest_int`: adding 1.5 * 2^23 makes the FPU round the value to an integer (to nearest,
/// ties to even) in the low mantissa bits, which are then read back. Exact for |f| <= 2^22 - 1 (ggml
/// asserts that in debug builds only); outside that range the result is what ggml's release build
/// computes: always within [-2^22, 2^22).
#[inline(always)]
pub(crate) fn nearest_int(f: f32) -> i32 {
    let v = f + 12_582_912.0;
    (v.to_bits() as i32 & 0x007f_ffff) - 0x0040_0000
}

/// `f.round_ties_even()` (what `_mm256_round_ps(.., _MM_FROUND_TO_NEAREST_INT)` gives), without
/// the libm call that the x86-64 baseline (no SSE4.1) makes of it: below 2^22 in magnitude, adding
/// and subtracting 1.5·2^23 rounds to an integer, ties to even, exactly.
#[inline(always)]
pub(crate) fn round_ties_even(f: f32) -> f32 {
    if f.abs() < 4_194_304.0 {
        (f + 12_582_912.0) - 12_582_912.0
    } else {
        f.round_ties_even()
    }
}

/// C's `(int)f` on x86-64: truncation toward zero; NaN and out-of-range values give `i32::MIN`.
#[inline(always)]
pub(crate) fn c_f32_to_i32(f: f32) -> i32 {
    if (-2_147_483_648.0..2_147_483_648.0).contains(&f) {
        f as i32
    } else {
        i32::MIN
    }
}

/// C's `(int8_t)f` / `(uint8_t)f` on x86-64: convert to a 32-bit integer as above, keep the low byte.
#[inline(always)]
pub(crate) fn c_f32_to_u8_bits(f: f32) -> u8 {
    c_f32_to_i32(f) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_ties_even_matches_std() {
        let mut x = 0x1234_5678u32;
        for _ in 0..1_000_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let f = f32::from_bits(x);
            let g = (x % 2001) as f32 * 0.25 - 250.0; // exact halves: ties
            for f in [f, g, -g, f * 1e-30] {
                assert_eq!(
                    round_ties_even(f).to_bits() & 0x7fff_ffff,
                    f.round_ties_even().to_bits() & 0x7fff_ffff,
                    "{f:e}"
                );
            }
        }
    }

    #[test]
    fn nearest_int_rounds_half_to_even() {
        assert_eq!(nearest_int(0.5), 0);
        assert_eq!(nearest_int(1.5), 2);
        assert_eq!(nearest_int(2.5), 2);
        assert_eq!(nearest_int(-0.5), 0);
        assert_eq!(nearest_int(-1.5), -2);
        assert_eq!(nearest_int(-2.4999), -2);
        assert_eq!(nearest_int(3.7), 4);
        assert_eq!(nearest_int(4_194_303.0), 4_194_303);
        assert_eq!(nearest_int(-4_194_303.0), -4_194_303);
    }

    #[test]
    fn c_casts_truncate_like_x86() {
        assert_eq!(c_f32_to_i32(-1.9), -1);
        assert_eq!(c_f32_to_i32(16.99), 16);
        assert_eq!(c_f32_to_i32(f32::NAN), i32::MIN);
        assert_eq!(c_f32_to_i32(3e9), i32::MIN);
        assert_eq!(c_f32_to_i32(-3e9), i32::MIN);
        assert_eq!(c_f32_to_u8_bits(-1.5), 0xFF);
        assert_eq!(c_f32_to_u8_bits(300.0), 44);
    }
}
