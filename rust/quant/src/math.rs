//! `sinf`, `cosf`, `expf` and `powf` with the bits llama.cpp gets from its C library: glibc on
//! x86-64, which runs the versions from Arm's optimized-routines (double-precision polynomials;
//! glibc ≥ 2.27/2.28) built with FMA (`*-fma` multiarch variants, picked on every AVX2 CPU), so
//! GCC has contracted their `a·b + c` into fused multiply-adds.
//!
//! Rust's `f32::sin` & co. call the platform's C library: glibc natively on x86-64 Linux (so the
//! same bits as llama.cpp there), but on wasm32 the `libm` crate's ports of FreeBSD's msun, a
//! different algorithm whose results differ in the last bit for about 0.1% (sin, cos) to 0.5%
//! (exp) of inputs. RoPE's angles go through sin/cos, the decode softmax through exp: that last
//! bit was enough to change Gemma's greedy text in the browser. So every build other than
//! x86-64 glibc uses [`glibc`], a reimplementation of those routines (same tables, same
//! polynomials, the fused operations where GCC fuses them; the algorithms and constants are Arm
//! optimized-routines', MIT/Apache-2.0), checked against glibc bit for bit by `tests/math.rs`: on
//! every f32 for sin, cos and exp (`--ignored`; every 251st by default), on samples for pow.
//! [`self_check`] checks hashes of glibc's results on the build at hand (the wasm builds run it
//! in every JS engine at load).
//!
//! The fused multiply-adds are `f64::mul_add`, exact everywhere (on wasm32 a software routine,
//! about 0.1 µs per sin/cos there: WebAssembly has no scalar FMA; the CPU backend makes RoPE's
//! tables once per forward pass, not per layer).

/// `sin(x)` as llama.cpp's x86-64 build computes it.
#[inline]
pub fn sinf(x: f32) -> f32 {
    #[cfg(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu"))]
    return x.sin();
    #[allow(unreachable_code)]
    glibc::sinf(x)
}

/// `cos(x)` as llama.cpp's x86-64 build computes it.
#[inline]
pub fn cosf(x: f32) -> f32 {
    #[cfg(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu"))]
    return x.cos();
    #[allow(unreachable_code)]
    glibc::cosf(x)
}

/// `exp(x)` as llama.cpp's x86-64 build computes it (libm's `expf`; ggml's vectorised softmax
/// has its own polynomial, `simd::tile::expf`).
#[inline]
pub fn expf(x: f32) -> f32 {
    #[cfg(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu"))]
    return x.exp();
    #[allow(unreachable_code)]
    glibc::expf(x)
}

/// `x^y` as llama.cpp's x86-64 build computes it.
#[inline]
pub fn powf(x: f32, y: f32) -> f32 {
    #[cfg(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu"))]
    return x.powf(y);
    #[allow(unreachable_code)]
    glibc::powf(x, y)
}

/// The glibc (x86-64, FMA variant) algorithms, on every target.
pub mod glibc {
    #[inline(always)]
    fn fma(a: f64, b: f64, c: f64) -> f64 {
        a.mul_add(b, c)
    }

    const fn d(bits: u64) -> f64 {
        f64::from_bits(bits)
    }

    /// Bits 20..31 of a float without its sign (exponent and the top 3 mantissa bits).
    #[inline(always)]
    fn abstop12(x: f32) -> u32 {
        (x.to_bits() >> 20) & 0x7ff
    }

    /// An invalid operation's result (glibc: `(x − x) / (x − x)`, a NaN; its bits are not part
    /// of the contract).
    const INVALID: f32 = f32::NAN;

    // ---- sin, cos ------------------------------------------------------------------------------

    /// One quadrant's polynomials: the second set computes −cos (negation for free).
    struct SinCos {
        c: [f64; 5],
        s: [f64; 3],
    }

    const C1: f64 = d(0xbfdf_ffff_fd0c_621c);
    const C2: f64 = d(0x3fa5_5553_e106_8f19);
    const C3: f64 = d(0xbf56_c087_e89a_359d);
    const C4: f64 = d(0x3ef9_9343_027b_f8c3);
    const S: [f64; 3] = [
        d(0xbfc5_5554_5995_a603),
        d(0x3f81_1076_0523_0bc4),
        d(0xbf29_94eb_3774_cf24),
    ];
    const SINCOS: [SinCos; 2] = [
        SinCos {
            c: [1.0, C1, C2, C3, C4],
            s: S,
        },
        SinCos {
            c: [-1.0, -C1, -C2, -C3, -C4],
            s: S,
        },
    ];
    /// Sign of the sine in quadrants 0..3.
    const QUADRANT_SIGN: [f64; 4] = [1.0, -1.0, -1.0, 1.0];
    /// 2/π · 2^24 (the quadrant lands in bits 24..31 of the truncated product).
    const HPI_INV: f64 = d(0x4164_5f30_6dc9_c883);
    /// π/2.
    const HPI: f64 = d(0x3ff9_21fb_5444_2d18);
    /// 2π · 2^-64.
    const PI63: f64 = d(0x3c19_21fb_5444_2d18);
    /// abstop12 of π/4 (as f32), 2^-12, 2^-126, 120 and infinity.
    const TOP_PIO4: u32 = 0x3f4;
    const TOP_2M12: u32 = 0x398;
    const TOP_120: u32 = 0x42f;
    const TOP_INF: u32 = 0x7f8;

    /// 2/π in binary, 192 bits (the reduction of large arguments reads 96 of them).
    const TWO_OVER_PI: [u8; 24] = [
        0xa2, 0xf9, 0x83, 0x6e, 0x4e, 0x44, 0x15, 0x29, 0xfc, 0x27, 0x57, 0xd1, 0xf5, 0x34, 0xdd,
        0xc0, 0xdb, 0x62, 0x95, 0x99, 0x3c, 0x43, 0x90, 0x41,
    ];

    /// `TWO_OVER_PI_WORDS[i]`: bits 8(i−3) .. 8i+8 of [`TWO_OVER_PI`] as one word (zeros
    /// before the binary point).
    const TWO_OVER_PI_WORDS: [u32; 24] = {
        let mut w = [0u32; 24];
        let mut i = 0;
        while i < 24 {
            let mut k = 0;
            while k < 4 {
                let b = if i + k >= 3 {
                    TWO_OVER_PI[i + k - 3]
                } else {
                    0
                };
                w[i] = (w[i] << 8) | b as u32;
                k += 1;
            }
            i += 1;
        }
        w
    };

    /// sin (odd `n`: cos) of the reduced argument `x` (`x2` = x²), through the polynomials `p`.
    #[inline(always)]
    fn poly(x: f64, x2: f64, p: &SinCos, n: u32) -> f32 {
        if n & 1 == 0 {
            let x3 = x * x2;
            let s1 = fma(x2, p.s[2], p.s[1]);
            let x7 = x3 * x2;
            let s = fma(x3, p.s[0], x);
            fma(x7, s1, s) as f32
        } else {
            let x4 = x2 * x2;
            let c2 = fma(x2, p.c[4], p.c[3]);
            let c1 = fma(x2, p.c[1], p.c[0]);
            let x6 = x4 * x2;
            let c = fma(x4, p.c[2], c1);
            fma(x6, c2, c) as f32
        }
    }

    /// x mod π/2 in [−π/4, π/4] for |x| < 120, and the quadrant.
    #[inline(always)]
    fn reduce_fast(x: f64) -> (f64, u32) {
        let r = x * HPI_INV;
        let n = ((r as i32).wrapping_add(0x80_0000)) >> 24;
        (fma(-(n as f64), HPI, x), n as u32)
    }

    /// x mod π/2 for |x| ≥ 120 (finite), from the float's bits by integer arithmetic with 96 bits
    /// of 2/π, and the quadrant (the sign of x not included).
    #[inline(always)]
    fn reduce_large(xi: u32) -> (f64, u32) {
        let first = ((xi >> 26) & 15) as usize;
        let shift = (xi >> 23) & 7;
        let m = ((xi & 0xff_ffff) | 0x80_0000) << shift;
        let r0 = m.wrapping_mul(TWO_OVER_PI_WORDS[first]) as u64;
        let r1 = m as u64 * TWO_OVER_PI_WORDS[first + 4] as u64;
        let r2 = m as u64 * TWO_OVER_PI_WORDS[first + 8] as u64;
        let res = ((r2 >> 32) | (r0 << 32)).wrapping_add(r1);
        let n = res.wrapping_add(1 << 61) >> 62;
        let res = res.wrapping_sub(n << 62);
        ((res as i64) as f64 * PI63, n as u32)
    }

    /// glibc's `sinf`.
    pub fn sinf(y: f32) -> f32 {
        let x = y as f64;
        let top = abstop12(y);
        if top < TOP_PIO4 {
            if top < TOP_2M12 {
                return y;
            }
            poly(x, x * x, &SINCOS[0], 0)
        } else if top < TOP_120 {
            let (x, n) = reduce_fast(x);
            let s = QUADRANT_SIGN[(n & 3) as usize];
            let p = &SINCOS[((n >> 1) & 1) as usize];
            poly(x * s, x * x, p, n)
        } else if top < TOP_INF {
            let xi = y.to_bits();
            let (x, n) = reduce_large(xi);
            let q = n.wrapping_add(xi >> 31);
            let s = QUADRANT_SIGN[(q & 3) as usize];
            let p = &SINCOS[((q >> 1) & 1) as usize];
            poly(x * s, x * x, p, n)
        } else {
            INVALID
        }
    }

    /// glibc's `cosf`.
    pub fn cosf(y: f32) -> f32 {
        let x = y as f64;
        let top = abstop12(y);
        if top < TOP_PIO4 {
            if top < TOP_2M12 {
                return 1.0;
            }
            poly(x, x * x, &SINCOS[0], 1)
        } else if top < TOP_120 {
            let (x, n) = reduce_fast(x);
            let s = QUADRANT_SIGN[(n & 3) as usize];
            let p = &SINCOS[((n >> 1) & 1) as usize];
            poly(x * s, x * x, p, n ^ 1)
        } else if top < TOP_INF {
            let xi = y.to_bits();
            let (x, n) = reduce_large(xi);
            let q = n.wrapping_add(xi >> 31);
            let s = QUADRANT_SIGN[(q & 3) as usize];
            let p = &SINCOS[((q >> 1) & 1) as usize];
            poly(x * s, x * x, p, n ^ 1)
        } else {
            INVALID
        }
    }

    // ---- exp -----------------------------------------------------------------------------------

    /// `EXP2_TAB[i]` = bits of 2^(i/32) − (i << 47): with k's bits added above, 2^(k/32).
    const EXP2_TAB: [u64; 32] = [
        0x3ff0000000000000,
        0x3fefd9b0d3158574,
        0x3fefb5586cf9890f,
        0x3fef9301d0125b51,
        0x3fef72b83c7d517b,
        0x3fef54873168b9aa,
        0x3fef387a6e756238,
        0x3fef1e9df51fdee1,
        0x3fef06fe0a31b715,
        0x3feef1a7373aa9cb,
        0x3feedea64c123422,
        0x3feece086061892d,
        0x3feebfdad5362a27,
        0x3feeb42b569d4f82,
        0x3feeab07dd485429,
        0x3feea47eb03a5585,
        0x3feea09e667f3bcd,
        0x3fee9f75e8ec5f74,
        0x3feea11473eb0187,
        0x3feea589994cce13,
        0x3feeace5422aa0db,
        0x3feeb737b0cdc5e5,
        0x3feec49182a3f090,
        0x3feed503b23e255d,
        0x3feee89f995ad3ad,
        0x3feeff76f2fb5e47,
        0x3fef199bdd85529c,
        0x3fef3720dcef9069,
        0x3fef5818dcfba487,
        0x3fef7c97337b9b5f,
        0x3fefa4afa2a490da,
        0x3fefd0765b6e4540,
    ];
    /// 2^(r/32) ≈ 1 + r·(C2 + r·(C1 + r·C0)) (coefficients of 2^r, scaled for r/32), …
    const EXP_POLY_SCALED: [f64; 3] = [
        d(0x3ebc_6af8_4b91_2394),
        d(0x3f2e_bfce_50fa_c4f3),
        d(0x3f96_2e42_ff0c_52d6),
    ];
    /// … and unscaled (powf's exp2).
    const EXP2_POLY: [f64; 3] = [
        d(0x3fac_6af8_4b91_2394),
        d(0x3fce_bfce_50fa_c4f3),
        d(0x3fe6_2e42_ff0c_52d6),
    ];
    /// 32/ln 2.
    const INV_LN2_32: f64 = d(0x4047_1547_652b_82fe);
    /// 1.5 · 2^52: adding it rounds to an integer held in the low mantissa bits.
    const SHIFT: f64 = d(0x4338_0000_0000_0000);
    /// 1.5 · 2^52 / 32.
    const SHIFT_32: f64 = d(0x42e8_0000_0000_0000);

    /// 2^(k/32 + r/32) for the integer `ki` (low bits of a shifted double) and |r| ≤ 1/2, with
    /// the polynomial `c` (its argument scaled as `c` expects).
    #[inline(always)]
    fn exp2_table(ki: u64, r: f64, c: &[f64; 3]) -> f64 {
        let t = EXP2_TAB[(ki % 32) as usize].wrapping_add(ki << 47);
        let s = f64::from_bits(t);
        let z = fma(c[0], r, c[1]);
        let r2 = r * r;
        let y = fma(c[2], r, 1.0);
        let y = fma(z, r2, y);
        y * s
    }

    /// glibc's `expf`.
    pub fn expf(x: f32) -> f32 {
        let xd = x as f64;
        let abstop = (x.to_bits() >> 20) & 0x7ff;
        if abstop >= 0x42b {
            // |x| >= 88 or NaN
            if x == f32::NEG_INFINITY {
                return 0.0;
            }
            if abstop >= TOP_INF {
                return x + x;
            }
            if x > f32::from_bits(0x42b1_7217) {
                return f32::INFINITY; // overflow
            }
            if x < f32::from_bits(0xc2cf_f1b4) {
                return 0.0; // underflow
            }
            if x < f32::from_bits(0xc2ce_8ecf) {
                // may underflow: glibc returns 0x1.4p-75f², rounded (the smallest subnormal)
                return f32::from_bits(1);
            }
        }
        // x·32/ln2 = k + r, k an integer (ties to even), |r| ≤ 1/2. GCC fuses the product into
        // both of its uses.
        let kd = fma(INV_LN2_32, xd, SHIFT);
        let ki = kd.to_bits();
        let kd = kd - SHIFT;
        let r = fma(INV_LN2_32, xd, -kd);
        exp2_table(ki, r, &EXP_POLY_SCALED) as f32
    }

    // ---- pow -----------------------------------------------------------------------------------

    /// (1/c, log2 c) for 16 subintervals of [0x3f330000, 2·0x3f330000] (as floats).
    const LOG2_TAB: [(u64, u64); 16] = [
        (0x3ff661ec79f8f3be, 0xbfdefec65b963019),
        (0x3ff571ed4aaf883d, 0xbfdb0b6832d4fca4),
        (0x3ff49539f0f010b0, 0xbfd7418b0a1fb77b),
        (0x3ff3c995b0b80385, 0xbfd39de91a6dcf7b),
        (0x3ff30d190c8864a5, 0xbfd01d9bf3f2b631),
        (0x3ff25e227b0b8ea0, 0xbfc97c1d1b3b7af0),
        (0x3ff1bb4a4a1a343f, 0xbfc2f9e393af3c9f),
        (0x3ff12358f08ae5ba, 0xbfb960cbbf788d5c),
        (0x3ff0953f419900a7, 0xbfaa6f9db6475fce),
        (0x3ff0000000000000, 0x0000000000000000),
        (0x3fee608cfd9a47ac, 0x3fb338ca9f24f53d),
        (0x3feca4b31f026aa0, 0x3fc476a9543891ba),
        (0x3feb2036576afce6, 0x3fce840b4ac4e4d2),
        (0x3fe9c2d163a1aa2d, 0x3fd40645f0c6651c),
        (0x3fe886e6037841ed, 0x3fd88e9c2c1b9ff8),
        (0x3fe767dcf5534862, 0x3fdce0a44eb17bcc),
    ];
    /// log2(1 + r) ≈ r·(A4 + r·(A3 + r·(A2 + r·(A1 + r·A0)))).
    const LOG2_POLY: [f64; 5] = [
        d(0x3fd2_7616_c949_6e0b),
        d(0xbfd7_1969_a075_c67a),
        d(0x3fde_c70a_6ca7_badd),
        d(0xbfe7_1547_48be_f6c8),
        d(0x3ff7_1547_652a_b82b),
    ];
    const LOG2_OFF: u32 = 0x3f33_0000;

    /// log2 of the positive normal (or normalised subnormal) float with bits `ix`, in double.
    #[inline(always)]
    fn log2_inline(ix: u32) -> f64 {
        let tmp = ix.wrapping_sub(LOG2_OFF);
        let i = ((tmp >> 19) % 16) as usize;
        let top = tmp & 0xff80_0000;
        let iz = ix.wrapping_sub(top);
        let k = (top as i32) >> 23;
        let (invc, logc) = (d(LOG2_TAB[i].0), d(LOG2_TAB[i].1));
        let z = f32::from_bits(iz) as f64;
        let a = &LOG2_POLY;
        let r = fma(z, invc, -1.0);
        let y0 = logc + k as f64;
        let r2 = r * r;
        let y = fma(a[0], r, a[1]);
        let p = fma(a[2], r, a[3]);
        let r4 = r2 * r2;
        let q = fma(a[4], r, y0);
        let q = fma(p, r2, q);
        fma(y, r4, q)
    }

    /// 2^xd for |xd| < 150 (in double), with `sign_bias` (bit 16 of k) flipping the sign.
    #[inline(always)]
    fn exp2_inline(xd: f64, sign_bias: u32) -> f64 {
        let kd = xd + SHIFT_32;
        let ki = kd.to_bits();
        let kd = kd - SHIFT_32;
        let r = xd - kd;
        exp2_table(ki.wrapping_add(sign_bias as u64), r, &EXP2_POLY)
    }

    /// 0: not an integer, 1: odd, 2: even (`iy` a non-zero finite float's bits).
    fn checkint(iy: u32) -> u32 {
        let e = (iy >> 23) & 0xff;
        if e < 0x7f {
            return 0;
        }
        if e > 0x7f + 23 {
            return 2;
        }
        if iy & ((1 << (0x7f + 23 - e)) - 1) != 0 {
            return 0;
        }
        if iy & (1 << (0x7f + 23 - e)) != 0 {
            return 1;
        }
        2
    }

    /// Zero, infinity or NaN.
    fn zeroinfnan(i: u32) -> bool {
        (2u32.wrapping_mul(i)).wrapping_sub(1) >= 2 * 0x7f80_0000 - 1
    }

    const SIGN_BIAS: u32 = 1 << (5 + 11);

    /// glibc's `powf`.
    pub fn powf(x: f32, y: f32) -> f32 {
        let mut sign_bias = 0u32;
        let mut ix = x.to_bits();
        let iy = y.to_bits();
        if ix.wrapping_sub(0x0080_0000) >= 0x7f80_0000 - 0x0080_0000 || zeroinfnan(iy) {
            // x < 2^-126, inf or NaN; or y zero, inf or NaN
            if zeroinfnan(iy) {
                if iy << 1 == 0 {
                    return if is_signaling(x) { x + y } else { 1.0 };
                }
                if ix == 0x3f80_0000 {
                    return if is_signaling(y) { x + y } else { 1.0 };
                }
                if ix << 1 > 2 * 0x7f80_0000 || iy << 1 > 2 * 0x7f80_0000 {
                    return x + y;
                }
                if ix << 1 == 2 * 0x3f80_0000 {
                    return 1.0;
                }
                if (ix << 1 < 2 * 0x3f80_0000) == (iy & 0x8000_0000 == 0) {
                    return 0.0; // |x| < 1 && y == inf, or |x| > 1 && y == -inf
                }
                return y * y;
            }
            if zeroinfnan(ix) {
                let mut x2 = x * x;
                if ix & 0x8000_0000 != 0 && checkint(iy) == 1 {
                    x2 = -x2;
                }
                if ix << 1 == 0 && iy & 0x8000_0000 != 0 {
                    // division by zero: ±inf
                    return if ix & 0x8000_0000 != 0 && checkint(iy) == 1 {
                        f32::NEG_INFINITY
                    } else {
                        f32::INFINITY
                    };
                }
                return if iy & 0x8000_0000 != 0 { 1.0 / x2 } else { x2 };
            }
            // x and y are non-zero finite
            if ix & 0x8000_0000 != 0 {
                let yint = checkint(iy);
                if yint == 0 {
                    return INVALID;
                }
                if yint == 1 {
                    sign_bias = SIGN_BIAS;
                }
                ix &= 0x7fff_ffff;
            }
            if ix < 0x0080_0000 {
                // normalise a subnormal x (its exponent becomes negative)
                ix = (f32::from_bits(ix) * f32::from_bits(0x4b00_0000)).to_bits();
                ix &= 0x7fff_ffff;
                ix = ix.wrapping_sub(23 << 23);
            }
        }
        let logx = log2_inline(ix);
        let ylogx = y as f64 * logx;
        if (ylogx.to_bits() >> 47 & 0xffff) >= 126.0f64.to_bits() >> 47 {
            // |y·log2 x| >= 126
            let neg = sign_bias != 0;
            let inf = if neg {
                f32::NEG_INFINITY
            } else {
                f32::INFINITY
            };
            if ylogx > d(0x405f_ffff_ffd1_d571) {
                return inf; // overflow
            }
            // (glibc's next check, for 0x1.fffffffa3aae2p+6 < ylogx, returns only in directed
            // rounding modes)
            if ylogx <= -150.0 {
                return if neg { -0.0 } else { 0.0 }; // underflow
            }
            if ylogx < -149.0 {
                // may underflow: glibc returns ±0x1.4p-75f², rounded (the smallest subnormal)
                let t = f32::from_bits(1);
                return if neg { -t } else { t };
            }
        }
        exp2_inline(ylogx, sign_bias) as f32
    }

    fn is_signaling(x: f32) -> bool {
        let i = x.to_bits();
        // quiet bit clear, not infinity (x86's NaN convention)
        (i ^ 0x0040_0000) << 1 > 0x7fc0_0000u32 << 1
    }
}

/// The inputs of [`self_check`], per function: RoPE angles (positions times powers of the
/// `powf`-made frequency step, for two bases), arguments of the attention softmax's `exp`
/// (mostly ≤ 0) and values spread over each function's range (the large-argument reduction of
/// sin/cos, exp's underflow edge). Deterministic.
pub fn check_inputs() -> [Vec<(f32, f32)>; 4] {
    let mut s = 0x2545_f491_4f6c_dd1du64;
    // xorshift64; `unit` in [0, 1)
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let unit = |n: u64| (n >> 40) as f32 / (1u64 << 24) as f32;
    let (mut trig, mut exp, mut pow) = (Vec::new(), Vec::new(), Vec::new());
    for base in [10_000.0f32, 1_000_000.0] {
        for n_rot in [64u32, 128, 256] {
            pow.push((base, -2.0 / n_rot as f32));
        }
        let step = glibc::powf(base, -2.0 / 256.0);
        for _ in 0..384 {
            let pos = (unit(next()) * 8192.0) as u32 as f32;
            let i = (unit(next()) * 128.0) as i32;
            trig.push((pos * glibc::powf(step, i as f32), 0.0));
        }
    }
    for _ in 0..768 {
        let e = unit(next()) * 34.0 - 14.0; // |x| from 2^-14 to 2^20
        let x = glibc::powf(2.0, e) * if unit(next()) < 0.5 { -1.0 } else { 1.0 };
        trig.push((x, 0.0));
        exp.push((-unit(next()) * 30.0, 0.0));
        exp.push((unit(next()) * 200.0 - 110.0, 0.0));
    }
    for _ in 0..64 {
        let large = 0x4b00_0000 + (next() >> 33) as u32 % (0x7f80_0000 - 0x4b00_0000);
        trig.push((f32::from_bits(large), 0.0)); // finite, ≥ 2^23
        pow.push((unit(next()) * 1e6, unit(next()) * 4.0 - 2.0));
        pow.push((unit(next()) * 2.0, unit(next()) * 300.0 - 150.0));
    }
    [trig.clone(), trig, exp, pow]
}

/// FNV-1a over the bits of `f` on `inputs` (any NaN counted as one value: NaN bits differ
/// between engines and are not part of the contract).
pub fn output_hash(inputs: &[(f32, f32)], f: impl Fn(f32, f32) -> f32) -> u64 {
    inputs.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &(x, y)| {
        let v = f(x, y);
        let v = if v.is_nan() { f32::NAN } else { v };
        v.to_bits()
            .to_le_bytes()
            .iter()
            .fold(h, |h, &b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
    })
}

/// [`output_hash`] of sinf, cosf, expf and powf on [`check_inputs`] with glibc 2.36's x86-64
/// `libm.so` (FMA variants), as llama.cpp's build calls them (`tests/math.rs` recomputes them
/// from glibc natively).
pub const GLIBC_HASHES: [u64; 4] = [
    0xdb26_0b90_e0b1_2272,
    0x5026_2366_ff9a_64fd,
    0xbfd2_157c_df51_363c,
    0x55bf_f884_058e_b504,
];

/// [`glibc`]'s functions (the ones every build but x86-64 glibc uses) against
/// [`GLIBC_HASHES`]: a check, on the engine at hand, that they give glibc's bits (run by
/// `simd::self_check`, so in every JS engine the package loads in; the old wasm build's
/// FreeBSD-derived functions fail it on 11–146 inputs of each). Returns the number of values
/// compared.
pub fn self_check() -> Result<usize, String> {
    let inputs = check_inputs();
    type Of2 = dyn Fn(f32, f32) -> f32;
    let fns: [(&str, &Of2); 4] = [
        ("sinf", &|x, _| glibc::sinf(x)),
        ("cosf", &|x, _| glibc::cosf(x)),
        ("expf", &|x, _| glibc::expf(x)),
        ("powf", &|x, y| glibc::powf(x, y)),
    ];
    let mut n = 0;
    for ((name, f), (inputs, want)) in fns.iter().zip(inputs.iter().zip(GLIBC_HASHES)) {
        let got = output_hash(inputs, f);
        if got != want {
            return Err(format!(
                "{name} differs from glibc's on some of {} inputs (hash {got:016x}, glibc's {want:016x})",
                inputs.len()
            ));
        }
        n += inputs.len();
    }
    Ok(n)
}
