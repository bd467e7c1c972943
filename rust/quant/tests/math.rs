//! `quant::math`: the reimplemented glibc functions (what every build but x86-64 glibc calls for
//! sin/cos/exp/pow) equal glibc's own, which llama.cpp calls. Natively on x86-64 glibc with FMA
//! (the variants llama.cpp's AVX2 build gets) the tests compare with `f32::sin` & co. (glibc's
//! libm); elsewhere only the hashes of `quant::math::self_check` are checked.

use quant::math::{self, glibc};

/// Whether `f32::sin` & co. are glibc's FMA variants here (x86-64 Linux glibc on a CPU with FMA).
fn std_is_glibc_fma() -> bool {
    cfg!(all(
        target_arch = "x86_64",
        target_os = "linux",
        target_env = "gnu"
    )) && quant::simd::has_avx2_fma()
}

/// `f` and `g` on floats `first, first + stride, …` (two threads), NaN results equal as NaN.
fn compare(name: &str, stride: u64, f: fn(f32) -> f32, g: fn(f32) -> f32) {
    let bad = std::sync::Mutex::new(Vec::new());
    let n = std::thread::scope(|s| {
        let run = |t: u64| {
            let bad = &bad;
            move || {
                let mut n = 0u64;
                let mut i = t * stride;
                // The fused multiply-adds as instructions (as glibc's): the same bits, faster.
                quant::float::with_hardware_fma(|| {
                    while i <= u32::MAX as u64 {
                        let x = f32::from_bits(i as u32);
                        let (a, b) = (f(x), g(x));
                        if a.to_bits() != b.to_bits() && !(a.is_nan() && b.is_nan()) {
                            bad.lock().unwrap().push((x, a, b));
                        }
                        n += 1;
                        i += 2 * stride;
                    }
                });
                n
            }
        };
        let a = s.spawn(run(0));
        let b = s.spawn(run(1));
        a.join().unwrap() + b.join().unwrap()
    });
    let bad = bad.into_inner().unwrap();
    assert!(
        bad.is_empty(),
        "{name}: {} of {n} inputs differ from glibc, e.g. {:?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );
    eprintln!("{name}: {n} inputs equal to glibc's");
}

#[test]
fn sin_cos_exp_equal_glibc_on_sampled_floats() {
    if !std_is_glibc_fma() {
        eprintln!("f32::sin & co. are not glibc's FMA variants here: nothing to compare");
        return;
    }
    // every 251st bit pattern: all exponents, both signs, NaN and infinities (17 M inputs)
    compare("sinf", 251, glibc::sinf, f32::sin);
    compare("cosf", 251, glibc::cosf, f32::cos);
    compare("expf", 251, glibc::expf, f32::exp);
}

#[test]
#[ignore = "exhaustive (2^32 inputs per function, about a minute); run with --ignored"]
fn sin_cos_exp_equal_glibc_on_every_float() {
    if !std_is_glibc_fma() {
        eprintln!("f32::sin & co. are not glibc's FMA variants here: nothing to compare");
        return;
    }
    compare("sinf", 1, glibc::sinf, f32::sin);
    compare("cosf", 1, glibc::cosf, f32::cos);
    compare("expf", 1, glibc::expf, f32::exp);
}

#[test]
fn pow_equals_glibc() {
    if !std_is_glibc_fma() {
        eprintln!("f32::powf is not glibc's FMA variant here: nothing to compare");
        return;
    }
    let mut bad = Vec::new();
    let mut check = |x: f32, y: f32| {
        let (a, b) = (glibc::powf(x, y), x.powf(y));
        if a.to_bits() != b.to_bits() && !(a.is_nan() && b.is_nan()) {
            bad.push((x, y, a, b));
        }
    };
    // RoPE's frequency steps: base^(−2/n_rot)
    for base in [
        10_000.0f32,
        500_000.0,
        1_000_000.0,
        80_000.0,
        2.0,
        100.0,
        123.456,
    ] {
        for k in 1..=1024 {
            for y in [-2.0 / k as f32, 2.0 / k as f32, -1.0 / k as f32] {
                check(base, y);
            }
        }
    }
    // and any pair of bit patterns: signs, subnormals, zeros, infinities, NaN, integer y
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..4_000_000 {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        check(f32::from_bits(s as u32), f32::from_bits((s >> 32) as u32));
        check(
            f32::from_bits(s as u32 & 0x7fff_ffff),
            (s >> 40) as f32 / 65536.0 - 128.0,
        );
    }
    for x in [
        0.0f32,
        -0.0,
        1.0,
        -1.0,
        2.0,
        -2.0,
        0.5,
        f32::INFINITY,
        f32::NEG_INFINITY,
    ] {
        for y in [
            0.0f32,
            -0.0,
            1.0,
            -1.0,
            2.0,
            3.0,
            -3.0,
            0.5,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ] {
            check(x, y);
        }
    }
    assert!(
        bad.is_empty(),
        "{} pairs differ, e.g. {:?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );
}

/// The hashes `self_check` compares with are glibc's (not just the reimplementation's).
#[test]
fn self_check_hashes_are_glibcs() {
    assert_eq!(math::self_check(), Ok(1600 + 1600 + 1536 + 134));
    if !std_is_glibc_fma() {
        return;
    }
    let inputs = math::check_inputs();
    let std: [u64; 4] = [
        math::output_hash(&inputs[0], |x, _| x.sin()),
        math::output_hash(&inputs[1], |x, _| x.cos()),
        math::output_hash(&inputs[2], |x, _| x.exp()),
        math::output_hash(&inputs[3], |x, y| x.powf(y)),
    ];
    assert_eq!(std, math::GLIBC_HASHES);
}

/// The functions the CPU backend calls are glibc's bits on this build.
#[test]
fn the_functions_in_use_equal_the_reimplementation() {
    for (x, _) in math::check_inputs().concat() {
        assert!(x.is_finite(), "{x}");
        assert_eq!(
            math::sinf(x).to_bits(),
            glibc::sinf(x).to_bits(),
            "sin {x:e}"
        );
        assert_eq!(
            math::cosf(x).to_bits(),
            glibc::cosf(x).to_bits(),
            "cos {x:e}"
        );
        let e = -x.abs().min(100.0);
        assert_eq!(
            math::expf(e).to_bits(),
            glibc::expf(e).to_bits(),
            "exp {e:e}"
        );
    }
}
