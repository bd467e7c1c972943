//! Shared by the integration tests: the input generator of scripts/quant-dumps/dump.c, reproduced
//! operation for operation, and a reader for the dumps in tests/golden/quant/.
#![allow(dead_code)]

use quant::GgmlType;
use std::path::PathBuf;

pub const N_ROWS: usize = 3;
pub const N_PER_ROW: usize = 512;

/// xorshift32, as `rng_t` in dump.c.
pub struct Rng(pub u32);

impl Rng {
    pub fn next_u32(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }
    /// [0, 1), exact.
    pub fn unit(&mut self) -> f32 {
        (self.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0)
    }
    pub fn pm1(&mut self) -> f32 {
        2.0 * self.unit() - 1.0
    }
    pub fn normalish(&mut self) -> f32 {
        let a = self.pm1();
        let b = self.pm1();
        let c = self.pm1();
        let d = self.pm1();
        ((a + b) + c) + d
    }
}

/// `make_input` of dump.c: N_ROWS rows of N_PER_ROW.
pub fn make_input(seed: u32) -> Vec<f32> {
    let mut r = Rng(seed);
    let mut x = vec![0.0f32; N_ROWS * N_PER_ROW];
    // row 0: scale changes every 16 elements
    for g in 0..N_PER_ROW / 16 {
        let mut e = (r.next_u32() % 9) as i32 - 6;
        let mut scale = 1.0f32;
        while e > 0 {
            scale *= 2.0;
            e -= 1;
        }
        while e < 0 {
            scale *= 0.5;
            e += 1;
        }
        for i in 0..16 {
            x[g * 16 + i] = r.normalish() * scale;
        }
    }
    // row 1: one edge case per 32-element chunk
    for c in 0..16 {
        for i in 0..32 {
            let v = match c {
                0 => 0.0,
                1 => 0.25,
                2 => r.unit() + 0.1,
                3 => -(r.unit() + 0.1),
                4 => r.normalish() * 1e-20,
                5 => {
                    if i == 7 {
                        50.0
                    } else {
                        r.pm1() * 0.01
                    }
                }
                6 => (i as i32 - 16) as f32,
                7 => r.normalish() * 3.0,
                8 => r.normalish() * 1e-6,
                9 => r.normalish() * 1e4,
                10 => {
                    if i & 1 != 0 {
                        1.0
                    } else {
                        -1.0
                    }
                }
                11 => -3.0,
                12 => {
                    if i < 16 {
                        0.0
                    } else {
                        r.normalish()
                    }
                }
                _ => r.normalish(),
            };
            x[N_PER_ROW + 32 * c + i] = v;
        }
    }
    // row 2: a zero super-block, then heavy tails
    for i in 256..N_PER_ROW {
        let u = r.pm1();
        x[2 * N_PER_ROW + i] = u * u * u * 8.0;
    }
    x
}

pub fn make_activation(seed: u32) -> Vec<f32> {
    let mut r = Rng(seed);
    (0..N_PER_ROW).map(|_| r.normalish() * 0.5).collect()
}

pub fn seed_for(ty: GgmlType) -> u32 {
    0x5EED_0000 + ty.id()
}

pub fn fnv1a_u32(mut h: u32, v: u32) -> u32 {
    for b in v.to_le_bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(16_777_619);
    }
    h
}

pub const FNV_OFFSET: u32 = 2_166_136_261;

pub fn hash_floats(x: &[f32]) -> u32 {
    x.iter().fold(FNV_OFFSET, |h, v| fnv1a_u32(h, v.to_bits()))
}

pub fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/quant")
}

fn le_f32s(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// One `<TYPE>.bin` dump (layout in dump.c).
pub struct Dump {
    pub ty: GgmlType,
    pub vec_dot_type: GgmlType,
    pub input: Vec<f32>,
    pub activation: Vec<f32>,
    /// ggml_quantize_chunk (or the *_ref quantizer) of `input`
    pub quant: Vec<u8>,
    /// ggml's to_float of `quant`
    pub dequant: Option<Vec<f32>>,
    /// the activation as the CPU backend quantized it, and the CPU backend's vec_dot per row
    pub act_q: Option<Vec<u8>>,
    pub dots: Option<Vec<f32>>,
    /// ggml's *_generic (scalar) vec_dot per row
    pub dots_generic: Option<Vec<f32>>,
}

impl Dump {
    pub fn row_bytes(&self) -> usize {
        self.ty.row_bytes(N_PER_ROW).unwrap()
    }
}

pub fn load(ty: GgmlType) -> Dump {
    let path = golden_dir().join(format!("{}.bin", ty.name()));
    let b = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run scripts/quant-dumps/make-dumps.sh)",
            path.display()
        )
    });
    let u32_at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    assert_eq!(&b[0..4], b"WCQD", "{}: bad magic", path.display());
    assert_eq!(u32_at(4), 1, "dump version");
    assert_eq!(u32_at(8), ty.id(), "type id in {}", path.display());
    let vdt = GgmlType::from_id(u32_at(12)).expect("known vec_dot type");
    assert_eq!(u32_at(16) as usize, N_ROWS);
    assert_eq!(u32_at(20) as usize, N_PER_ROW);
    let flags = u32_at(24);

    let input = make_input(seed_for(ty));
    let activation = make_activation(seed_for(ty) ^ 0x9E37_79B9);
    assert_eq!(
        hash_floats(&input),
        u32_at(28),
        "input generator differs from dump.c's"
    );
    assert_eq!(
        hash_floats(&activation),
        u32_at(32),
        "activation generator differs from dump.c's"
    );

    let mut off = 40;
    let mut take = |len: usize| {
        let s = b[off..off + len].to_vec();
        off += len;
        s
    };
    let quant = take(N_ROWS * ty.row_bytes(N_PER_ROW).unwrap());
    let dequant = (flags & 1 != 0).then(|| le_f32s(&take(N_ROWS * N_PER_ROW * 4)));
    let (act_q, dots) = if flags & 2 != 0 {
        let a = take(vdt.row_bytes(N_PER_ROW).unwrap());
        (Some(a), Some(le_f32s(&take(N_ROWS * 4))))
    } else {
        (None, None)
    };
    let dots_generic = (flags & 4 != 0).then(|| le_f32s(&take(N_ROWS * 4)));
    assert_eq!(off, b.len(), "{}: trailing bytes", path.display());
    Dump {
        ty,
        vec_dot_type: vdt,
        input,
        activation,
        quant,
        dequant,
        act_q,
        dots,
        dots_generic,
    }
}
