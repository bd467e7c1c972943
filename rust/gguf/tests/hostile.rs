//! Broken and malicious files: each must fail with the right error, naming the culprit,
//! without panicking or allocating what the input cannot back.

mod common;

use common::Raw;
use gguf::{parse_header, GgufError, GgufWriter, Value, MAX_ARRAY_DEPTH, MAX_HEADER_BYTES};

fn err(file: &[u8]) -> GgufError {
    match parse_header(file) {
        Ok(g) => panic!("parsed a hostile file: {g:?}"),
        Err(e) => e,
    }
}

/// A file with one key-value pair whose value bytes are `value` (type tag included), so
/// each test only spells out the broken part.
///
/// Hand-built files that would end right after the broken field get a tail of junk standing
/// for the rest of the file: one shorter than its counts imply is rightly `NeedMore`.
fn with_value(value: &[u8]) -> Vec<u8> {
    Raw::header(3, 0, 1).str("k").bytes(value).build()
}

#[test]
fn bad_magic() {
    let mut file = GgufWriter::new().finish();
    file[..4].copy_from_slice(b"GGML");
    let e = err(&file);
    assert_eq!(
        e,
        GgufError::BadMagic {
            found: b"GGML".to_vec()
        }
    );
    assert!(e.to_string().contains("expected \"GGUF\""), "{e}");
}

#[test]
fn unsupported_versions() {
    for (version, hint) in [
        (1, "v1"),
        (0, "versions 2 and 3"),
        (4, "versions 2 and 3"),
        (0x0300_0000, "big-endian"),
        (0x0002_0000, "big-endian"),
    ] {
        let e = err(&Raw::header(version, 0, 0).build());
        assert!(
            matches!(e, GgufError::UnsupportedVersion { version: v, .. } if v == version),
            "{e:?}"
        );
        assert!(e.to_string().contains(hint), "{version:#x}: {e}");
    }
}

#[test]
fn huge_counts_are_too_large_before_any_allocation() {
    for (n_tensors, n_kv) in [
        (0, u64::MAX),
        (u64::MAX, 0),
        (1 << 40, 1 << 40),
        (0, 1 << 25),
    ] {
        let e = err(&Raw::header(3, n_tensors, n_kv).build());
        assert!(
            matches!(e, GgufError::TooLarge { .. }),
            "{n_tensors} {n_kv}: {e:?}"
        );
    }
}

#[test]
fn huge_string_lengths() {
    // Key length.
    let file = Raw::header(3, 0, 1).u64(1 << 60).bytes(&[b'a'; 64]).build();
    let e = err(&file);
    assert!(matches!(e, GgufError::TooLarge { .. }), "{e:?}");
    assert!(e.to_string().contains("key of key-value pair #0"), "{e}");
    // String value length, u64::MAX (offset + length overflows u64).
    let e = err(&with_value(&[
        8, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    ]));
    assert!(matches!(e, GgufError::TooLarge { .. }), "{e:?}");
    assert!(e.to_string().contains("value of key 'k'"), "{e}");
    // Tensor name length.
    let e = err(&Raw::header(3, 1, 0).u64(1 << 62).bytes(&[0; 64]).build());
    assert!(e.to_string().contains("name of tensor #0"), "{e}");
}

#[test]
fn arrays_with_huge_counts() {
    for elem_type in [0u32, 8, 9, 10] {
        let mut r = Raw::default();
        r.u32(9).u32(elem_type).u64(1 << 62);
        let e = err(&with_value(&r.0));
        assert!(
            matches!(e, GgufError::TooLarge { .. }),
            "type {elem_type}: {e:?}"
        );
    }
    let mut r = Raw::default();
    r.u32(9).u32(12).u64(u64::MAX);
    assert!(matches!(err(&with_value(&r.0)), GgufError::TooLarge { .. }));
}

#[test]
fn a_plausible_count_only_needs_more_bytes() {
    // 1000 u32s claimed, 2 present: a truncated file, not a hostile one.
    let mut r = Raw::default();
    r.u32(9).u32(4).u64(1000).u32(1).u32(2);
    let file = with_value(&r.0);
    let array_data_at = file.len() as u64 - 8;
    assert_eq!(
        err(&file),
        GgufError::NeedMore {
            needed: array_data_at + 4000
        }
    );
}

fn nested_arrays(depth: usize) -> Vec<u8> {
    let mut r = Raw::default();
    r.u32(9); // the value is an array...
    for _ in 1..depth {
        r.u32(9).u64(1); // ...of one array...
    }
    r.u32(0).u64(1).u8(42); // ...of one u8.
    with_value(&r.0)
}

#[test]
fn nesting_is_bounded() {
    let ok = parse_header(&nested_arrays(MAX_ARRAY_DEPTH)).unwrap();
    let mut v = ok.get("k").unwrap();
    for _ in 0..MAX_ARRAY_DEPTH {
        v = &v.as_array().unwrap()[0];
    }
    assert_eq!(v, &Value::U8(42));

    let e = err(&nested_arrays(MAX_ARRAY_DEPTH + 1));
    assert!(matches!(e, GgufError::TooDeep { .. }), "{e:?}");
    assert!(e.to_string().contains("key 'k'[0][0]"), "{e}");
    // Far deeper than any stack could take if recursion were unbounded.
    assert!(matches!(
        err(&nested_arrays(100_000)),
        GgufError::TooDeep { .. }
    ));
}

#[test]
fn unknown_value_types() {
    let e = err(&with_value(&13u32.to_le_bytes()));
    assert!(
        matches!(
            e,
            GgufError::BadValueType {
                type_id: 13,
                offset: 33,
                ..
            }
        ),
        "{e:?}"
    );
    let mut r = Raw::default();
    r.u32(9).u32(0xDEAD).u64(1);
    let e = err(&with_value(&r.0));
    assert!(
        matches!(
            e,
            GgufError::BadValueType {
                type_id: 0xDEAD,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("element type of value of key 'k'"),
        "{e}"
    );
}

#[test]
fn invalid_utf8_and_bools() {
    let file = Raw::header(3, 0, 1)
        .u64(3)
        .bytes(b"a\xFFb")
        .u32(4)
        .u32(0)
        .build();
    assert_eq!(
        err(&file),
        GgufError::InvalidUtf8 {
            what: "key of key-value pair #0".into(),
            offset: 33
        }
    );
    let mut r = Raw::default();
    r.u32(9).u32(8).u64(2).str("ok").u64(1).u8(0xC0);
    let e = err(&with_value(&r.0));
    assert!(e.to_string().contains("value of key 'k'[1]"), "{e}");

    let e = err(&with_value(&[7, 0, 0, 0, 2]));
    assert!(matches!(e, GgufError::BadBool { found: 2, .. }), "{e:?}");
}

#[test]
fn duplicate_keys_and_tensors() {
    let mut w = GgufWriter::new();
    w.add("a", Value::U8(1))
        .add("b", Value::U8(2))
        .add("a", Value::U8(3));
    assert_eq!(
        err(&w.finish()),
        GgufError::DuplicateKey {
            key: "a".into(),
            index: 2
        }
    );
    let mut w = GgufWriter::new();
    w.add_tensor("w", &[4], 0, vec![0; 16])
        .add_tensor("w", &[4], 0, vec![0; 16]);
    let e = err(&w.finish());
    assert_eq!(
        e,
        GgufError::DuplicateTensor {
            name: "w".into(),
            index: 1
        }
    );
    assert_eq!(e.to_string(), "duplicate tensor name 'w' (tensor #1)");
}

#[test]
fn bad_alignments() {
    for a in [0u32, 3, 48, 0x101] {
        let mut w = GgufWriter::new();
        w.alignment(a).add_tensor("w", &[1], 0, vec![0; 4]);
        assert_eq!(
            err(&w.finish()),
            GgufError::BadAlignment {
                alignment: a.into()
            }
        );
    }
    let mut w = GgufWriter::new();
    w.add("general.alignment", Value::U64(64));
    let e = err(&w.finish());
    assert!(
        matches!(
            e,
            GgufError::WrongType {
                expected: "u32",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("general.alignment"), "{e}");
}

#[test]
fn alignment_padding_past_the_header_limit() {
    let file = Raw::header(3, 1, 1)
        .kv_u32("general.alignment", 1 << 31)
        .tensor("w", &[1], 0, 0)
        .build();
    assert!(matches!(err(&file), GgufError::TooLarge { .. }));
}

#[test]
fn misaligned_tensor_offset() {
    let file = Raw::header(3, 2, 0)
        .tensor("a", &[8], 0, 0)
        .tensor("b", &[8], 0, 40)
        .pad_and_data(32, 96)
        .build();
    let e = err(&file);
    assert_eq!(
        e,
        GgufError::MisalignedTensor {
            name: "b".into(),
            offset: 40,
            alignment: 32
        }
    );
    assert!(e.to_string().contains("tensor 'b'"), "{e}");
}

#[test]
fn bad_dims() {
    let file = Raw::header(3, 1, 0)
        .tensor("w", &[1, 1, 1, 1, 1], 0, 0)
        .build();
    let e = err(&file);
    assert!(
        matches!(e, GgufError::BadDims { ref name, .. } if name == "w"),
        "{e:?}"
    );
    // n_dims = u32::MAX: rejected before reading (or allocating for) any dimension.
    let file = Raw::header(3, 1, 0)
        .str("w")
        .u32(u32::MAX)
        .bytes(&[0; 64])
        .build();
    assert!(matches!(err(&file), GgufError::BadDims { .. }));
    // A dimension outside ggml's int64.
    let file = Raw::header(3, 1, 0).tensor("w", &[1 << 63], 0, 0).build();
    assert!(matches!(err(&file), GgufError::BadDims { .. }));
}

#[test]
fn overflowing_dims_product() {
    let file = Raw::header(3, 1, 0)
        .tensor("w", &[1 << 32, 1 << 32], 0, 0)
        .build();
    let e = err(&file);
    assert!(matches!(e, GgufError::Overflow { .. }), "{e:?}");
    assert!(e.to_string().contains("tensor 'w'"), "{e}");
}

/// Files whose header parses but whose tensors are unusable: `check_tensor_bounds` and the
/// per-tensor methods must say why.
fn parsed(raw: &mut Raw) -> (gguf::Gguf, u64) {
    let file = raw.build();
    (parse_header(&file).unwrap(), file.len() as u64)
}

#[test]
fn tensor_past_the_end_of_the_file() {
    let mut w = GgufWriter::new();
    w.add_tensor("a", &[8], 0, vec![0; 32])
        .add_tensor("b", &[16], 0, vec![0; 32]); // claims 64 bytes, has 32 + padding
    let file = w.finish();
    let g = parse_header(&file).unwrap();
    let e = g.check_tensor_bounds(file.len() as u64).unwrap_err();
    assert!(
        matches!(e, GgufError::TensorOutOfBounds { ref name, end, .. } if name == "b" && end == g.data_offset + 96),
        "{e:?}"
    );
    assert!(e.to_string().contains("past the end of the file"), "{e}");
}

#[test]
fn overlapping_tensors() {
    let (g, len) = parsed(
        Raw::header(3, 3, 0)
            .tensor("a", &[64], 0, 0)
            .tensor("b", &[8], 0, 64)
            .tensor("c", &[8], 0, 128)
            .pad_and_data(32, 256),
    );
    let e = g.check_tensor_bounds(len).unwrap_err();
    assert!(
        matches!(e, GgufError::TensorOverlap { ref first, ref second, .. } if first == "a" && second == "b"),
        "{e:?}"
    );
    // Same start, and an empty tensor sharing an offset is fine.
    let (g, len) = parsed(
        Raw::header(3, 2, 0)
            .tensor("a", &[0], 0, 0)
            .tensor("b", &[8], 0, 0)
            .pad_and_data(32, 32),
    );
    g.check_tensor_bounds(len).unwrap();
}

#[test]
fn unknown_tensor_type_is_kept_but_rejected_on_use() {
    let (g, len) = parsed(
        Raw::header(3, 1, 0)
            .tensor("w", &[8], 99, 0)
            .pad_and_data(32, 32),
    );
    assert_eq!(g.tensors[0].ggml_type, 99);
    let want = GgufError::UnknownTensorType {
        name: "w".into(),
        type_id: 99,
    };
    assert_eq!(g.tensors[0].ty().unwrap_err(), want);
    assert_eq!(g.check_tensor_bounds(len).unwrap_err(), want);
    assert_eq!(want.to_string(), "tensor 'w' has unknown ggml type id 99");
}

#[test]
fn row_not_a_whole_number_of_blocks() {
    let (g, len) = parsed(
        Raw::header(3, 1, 0)
            .tensor("q", &[33, 2], 8, 0)
            .pad_and_data(32, 96),
    );
    let e = g.check_tensor_bounds(len).unwrap_err();
    assert!(matches!(e, GgufError::BadDims { .. }), "{e:?}");
    assert!(e.to_string().contains("Q8_0's block size 32"), "{e}");
}

#[test]
fn byte_size_and_range_overflow() {
    // 2^62 F32 elements fit int64 but not in bytes.
    let (g, _) = parsed(
        Raw::header(3, 1, 0)
            .tensor("w", &[1 << 62], 0, 0)
            .pad_and_data(32, 0),
    );
    assert!(matches!(
        g.tensors[0].byte_size(),
        Err(GgufError::Overflow { .. })
    ));
    // An aligned offset so large that data_offset + offset overflows.
    let (g, len) = parsed(
        Raw::header(3, 1, 0)
            .tensor("w", &[8], 0, u64::MAX - 31)
            .pad_and_data(32, 0),
    );
    assert!(matches!(
        g.tensor_range(&g.tensors[0]),
        Err(GgufError::Overflow { .. })
    ));
    assert!(matches!(
        g.check_tensor_bounds(len),
        Err(GgufError::Overflow { .. })
    ));
}

#[test]
fn needed_never_exceeds_the_header_limit() {
    // A string of exactly the largest length the limit allows, minus what precedes it:
    // a legitimate (if huge) header, so it asks for more rather than failing.
    let before = 24 + 8; // fixed header, key length
    let file = Raw::header(3, 0, 1)
        .u64(MAX_HEADER_BYTES - before)
        .bytes(&[b'k'; 64])
        .build();
    assert_eq!(
        err(&file),
        GgufError::NeedMore {
            needed: MAX_HEADER_BYTES
        }
    );
    let file = Raw::header(3, 0, 1)
        .u64(MAX_HEADER_BYTES - before + 1)
        .bytes(&[b'k'; 64])
        .build();
    assert!(matches!(err(&file), GgufError::TooLarge { .. }));
}
