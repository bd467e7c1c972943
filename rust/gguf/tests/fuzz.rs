//! Deterministic mini-fuzzing: mutate a valid file with a seeded PRNG and require that
//! nothing panics and that every answer keeps the API's promises.

mod common;

use common::{sample_file, Rng};
use gguf::{parse_header, GgufError, MAX_HEADER_BYTES};

/// Everything a caller might do with the bytes; panics only on broken promises.
fn exercise(bytes: &[u8]) {
    let g = match parse_header(bytes) {
        Ok(g) => g,
        Err(GgufError::NeedMore { needed }) => {
            assert!(needed > bytes.len() as u64 && needed <= MAX_HEADER_BYTES);
            return;
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    assert!(g.alignment.is_power_of_two() && g.data_offset % g.alignment == 0);
    if !g.tensors.is_empty() {
        // Success means the header (with padding) was in hand, and a prefix that ends
        // there parses the same (compared as text: a mutated float may be NaN).
        assert!(g.data_offset <= bytes.len() as u64);
        let again = parse_header(&bytes[..g.data_offset as usize]);
        assert_eq!(
            format!("{again:?}"),
            format!("{:?}", Ok::<_, GgufError>(&g))
        );
    }
    let _ = g.check_tensor_bounds(bytes.len() as u64);
    for t in &g.tensors {
        assert_eq!(t.offset % g.alignment, 0);
        assert!(t.dims.len() <= gguf::MAX_DIMS);
        let _ = (t.n_elements(), t.ty(), t.byte_size(), g.tensor_range(t));
        assert!(g.tensor(&t.name).is_some());
    }
    for (key, value) in &g.metadata {
        let _ = (
            value.as_u64(),
            value.as_i64(),
            value.as_f32(),
            value.type_name(),
        );
        let _ = (
            g.get_u32(key),
            g.get_u64_opt(key),
            g.get_i32(key),
            g.get_f32(key),
        );
        let _ = (g.get_bool(key), g.get_str(key), g.get_str_array(key));
        let _ = (
            g.get_f32_array(key),
            g.get_i32_array(key),
            g.get_u32_array(key),
        );
    }
}

/// Values that tend to break length and count handling.
const INTERESTING: [u64; 10] = [
    0,
    1,
    0x7F,
    0xFF,
    0xFFFF_FFFF,
    1 << 32,
    1 << 62,
    i64::MAX as u64,
    u64::MAX,
    u64::MAX - 31,
];

fn mutate(rng: &mut Rng, file: &mut Vec<u8>, header_len: usize) {
    for _ in 0..1 + rng.below(4) {
        // Mostly the header: that is where the parser looks.
        let limit = if rng.below(8) == 0 {
            file.len()
        } else {
            header_len.min(file.len())
        };
        let at = rng.below(limit);
        match rng.below(6) {
            0 => file[at] ^= 1 << rng.below(8),
            1 => file[at] = rng.next() as u8,
            2 => {
                let v = INTERESTING[rng.below(INTERESTING.len())].to_le_bytes();
                let width = [1, 2, 4, 8][rng.below(4)];
                for (i, b) in v[..width].iter().enumerate() {
                    if let Some(slot) = file.get_mut(at + i) {
                        *slot = *b;
                    }
                }
            }
            3 => file.truncate(at),
            4 => {
                let n = 1 + rng.below(16);
                file.splice(at..at, (0..n).map(|_| rng.next() as u8));
            }
            _ => {
                let end = (at + 1 + rng.below(16)).min(file.len());
                file.drain(at..end);
            }
        }
        if file.is_empty() {
            return;
        }
    }
}

#[test]
fn mutated_files_never_panic() {
    for version in [2, 3] {
        let base = sample_file(version);
        let header_len = parse_header(&base).unwrap().data_offset as usize;
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ u64::from(version));
        let mut outcomes = [0usize; 3];
        for _ in 0..20_000 {
            let mut file = base.clone();
            mutate(&mut rng, &mut file, header_len);
            exercise(&file);
            outcomes[match parse_header(&file) {
                Ok(_) => 0,
                Err(GgufError::NeedMore { .. }) => 1,
                Err(_) => 2,
            }] += 1;
        }
        // The mutations must reach all three outcomes, or the test proves little.
        assert!(
            outcomes.iter().all(|&n| n > 100),
            "v{version}: {outcomes:?}"
        );
    }
}

#[test]
fn random_bytes_after_a_valid_start_never_panic() {
    let mut rng = Rng(42);
    for _ in 0..20_000 {
        let mut file = b"GGUF\x03\0\0\0".to_vec();
        // Small counts, so the parser gets past the count check and into the entries.
        file.extend_from_slice(&(rng.below(4) as u64).to_le_bytes());
        file.extend_from_slice(&(rng.below(4) as u64).to_le_bytes());
        let n = rng.below(256);
        file.extend((0..n).map(|_| {
            // Small bytes make plausible lengths and type ids more often.
            let b = rng.next() as u8;
            if b & 0x80 != 0 {
                b & 0x0F
            } else {
                b
            }
        }));
        exercise(&file);
    }
}
