//! Shared test fixtures: a sample file with every value type, a byte builder for files
//! the writer cannot (or should not) produce, and a seeded PRNG.
#![allow(dead_code)] // each test binary uses a different subset

use gguf::{GgufWriter, Value};

/// One key per value type, plus arrays of each, nested arrays and the edge values.
pub fn sample_metadata() -> Vec<(String, Value)> {
    let s = |x: &str| Value::String(x.to_string());
    vec![
        ("general.architecture".into(), s("llama")),
        ("t.u8".into(), Value::U8(200)),
        ("t.i8".into(), Value::I8(-100)),
        ("t.u16".into(), Value::U16(60_000)),
        ("t.i16".into(), Value::I16(-30_000)),
        ("t.u32".into(), Value::U32(4_000_000_000)),
        ("t.i32".into(), Value::I32(-2_000_000_000)),
        ("t.u64".into(), Value::U64(u64::MAX)),
        ("t.i64".into(), Value::I64(i64::MIN)),
        ("t.f32".into(), Value::F32(-1.5e-7)),
        ("t.f64".into(), Value::F64(std::f64::consts::PI)),
        ("t.true".into(), Value::Bool(true)),
        ("t.false".into(), Value::Bool(false)),
        ("t.str".into(), s("héllo ✓ 🦀")),
        ("t.empty_str".into(), s("")),
        (
            "t.arr_u8".into(),
            Value::Array(vec![Value::U8(0), Value::U8(255)]),
        ),
        (
            "t.arr_i8".into(),
            Value::Array(vec![Value::I8(-128), Value::I8(127)]),
        ),
        (
            "t.arr_u16".into(),
            Value::Array(vec![Value::U16(1), Value::U16(65535)]),
        ),
        ("t.arr_i16".into(), Value::Array(vec![Value::I16(-1)])),
        (
            "t.arr_u32".into(),
            Value::Array(vec![Value::U32(7), Value::U32(8)]),
        ),
        (
            "t.arr_i32".into(),
            Value::Array(vec![Value::I32(-7), Value::I32(3)]),
        ),
        ("t.arr_u64".into(), Value::Array(vec![Value::U64(1 << 40)])),
        (
            "t.arr_i64".into(),
            Value::Array(vec![Value::I64(-(1 << 40))]),
        ),
        (
            "t.arr_f32".into(),
            Value::Array(vec![Value::F32(0.25), Value::F32(-0.0)]),
        ),
        ("t.arr_f64".into(), Value::Array(vec![Value::F64(1e300)])),
        (
            "t.arr_bool".into(),
            Value::Array(vec![Value::Bool(true), Value::Bool(false)]),
        ),
        (
            "t.arr_str".into(),
            Value::Array(vec![s("a"), s(""), s("<0x0A>")]),
        ),
        ("t.arr_empty".into(), Value::Array(vec![])),
        (
            "t.nested".into(),
            Value::Array(vec![
                Value::Array(vec![Value::U32(1), Value::U32(2)]),
                Value::Array(vec![s("x")]),
                Value::Array(vec![]),
                Value::Array(vec![Value::Array(vec![Value::I64(-5)])]),
            ]),
        ),
    ]
}

/// Tensors of mixed types and sizes (none a multiple of the alignment, so padding shows).
pub fn sample_tensors() -> Vec<(String, Vec<u64>, u32, Vec<u8>)> {
    let bytes = |n: usize, seed: u8| (0..n).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect();
    vec![
        (
            "token_embd.weight".into(),
            vec![64, 3],
            8,
            bytes(3 * 2 * 34, 1),
        ), // Q8_0
        ("output_norm.weight".into(), vec![5], 0, bytes(20, 2)), // F32
        (
            "blk.0.ffn_up.weight".into(),
            vec![256, 2],
            12,
            bytes(2 * 144, 3),
        ), // Q4_K
        ("scalar".into(), vec![], 1, bytes(2, 4)),               // F16, 0 dims
        ("empty".into(), vec![0, 4], 0, vec![]),                 // F32, no elements
        ("cube".into(), vec![2, 3, 4, 1], 30, bytes(48, 5)),     // BF16, 4 dims
    ]
}

pub fn sample_writer(version: u32) -> GgufWriter {
    let mut w = GgufWriter::new();
    w.version(version);
    for (k, v) in sample_metadata() {
        w.add(k, v);
    }
    for (name, dims, ty, data) in sample_tensors() {
        w.add_tensor(name, &dims, ty, data);
    }
    w
}

pub fn sample_file(version: u32) -> Vec<u8> {
    sample_writer(version).finish()
}

/// Little-endian byte builder for hand-made (often broken) files.
#[derive(Default)]
pub struct Raw(pub Vec<u8>);

impl Raw {
    /// Magic, version, tensor count, kv count.
    pub fn header(version: u32, n_tensors: u64, n_kv: u64) -> Raw {
        let mut r = Raw::default();
        r.bytes(b"GGUF").u32(version).u64(n_tensors).u64(n_kv);
        r
    }
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }
    pub fn u8(&mut self, x: u8) -> &mut Self {
        self.bytes(&[x])
    }
    pub fn u32(&mut self, x: u32) -> &mut Self {
        self.bytes(&x.to_le_bytes())
    }
    pub fn u64(&mut self, x: u64) -> &mut Self {
        self.bytes(&x.to_le_bytes())
    }
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.u64(s.len() as u64).bytes(s.as_bytes())
    }
    /// A u32 key-value pair (value type 4).
    pub fn kv_u32(&mut self, key: &str, v: u32) -> &mut Self {
        self.str(key).u32(4).u32(v)
    }
    pub fn tensor(&mut self, name: &str, dims: &[u64], ty: u32, offset: u64) -> &mut Self {
        self.str(name).u32(dims.len() as u32);
        for &d in dims {
            self.u64(d);
        }
        self.u32(ty).u64(offset)
    }
    /// Zero bytes up to a multiple of `align`, then `data_len` more bytes of data.
    pub fn pad_and_data(&mut self, align: usize, data_len: usize) -> &mut Self {
        let padded = self.0.len().next_multiple_of(align);
        self.0.resize(padded + data_len, 0xAB);
        self
    }
    pub fn build(&self) -> Vec<u8> {
        self.0.clone()
    }
}

/// xorshift64*: deterministic, good enough to scatter mutations.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}
