//! Writer → parser round trips and the reading API on well-formed files.

mod common;

use common::{sample_file, sample_metadata, sample_tensors, sample_writer};
use gguf::{parse_header, GgmlType, GgufError, GgufWriter, Value};

#[test]
fn every_value_type_round_trips_in_v2_and_v3() {
    for version in [2, 3] {
        let file = sample_file(version);
        let g = parse_header(&file).unwrap();
        assert_eq!(g.version, version);
        assert_eq!(g.metadata, sample_metadata());
        assert_eq!(g.alignment, 32);
        assert_eq!(g.data_offset % 32, 0);
        g.check_tensor_bounds(file.len() as u64).unwrap();

        let want = sample_tensors();
        assert_eq!(g.tensors.len(), want.len());
        for (t, (name, dims, ty, data)) in g.tensors.iter().zip(&want) {
            assert_eq!((&t.name, &t.dims, t.ggml_type), (name, dims, *ty));
            assert_eq!(t.offset % 32, 0, "{name}");
            assert_eq!(t.byte_size().unwrap(), data.len() as u64, "{name}");
            let r = g.tensor_range(t).unwrap();
            assert_eq!(&file[r.start as usize..r.end as usize], &data[..], "{name}");
        }
    }
}

#[test]
fn writer_layout_matches_the_gguf_spec() {
    let file = sample_file(3);
    let g = parse_header(&file).unwrap();
    // Data packed in order, each tensor padded to the alignment, the last one too.
    let mut expect = 0;
    for (t, (_, _, _, data)) in g.tensors.iter().zip(sample_tensors()) {
        assert_eq!(t.offset, expect);
        expect += (data.len() as u64).next_multiple_of(32);
    }
    assert_eq!(file.len() as u64, g.data_offset + expect);
    // Padding after each tensor's data is zeros.
    for t in &g.tensors {
        let r = g.tensor_range(t).unwrap();
        let padded_end = r.end.next_multiple_of(32) as usize;
        assert!(file[r.end as usize..padded_end].iter().all(|&b| b == 0));
    }
}

#[test]
fn custom_alignment_is_written_and_honoured() {
    for align in [1u32, 8, 64, 4096] {
        let mut w = sample_writer(3);
        w.alignment(align);
        let file = w.finish();
        let g = parse_header(&file).unwrap();
        assert_eq!(g.alignment, u64::from(align));
        assert_eq!(g.get_u32("general.alignment").unwrap(), align);
        assert_eq!(g.data_offset % u64::from(align), 0);
        for t in &g.tensors {
            assert_eq!(t.offset % u64::from(align), 0);
        }
        assert_eq!(file.len() as u64 % u64::from(align), 0);
        g.check_tensor_bounds(file.len() as u64).unwrap();
    }
}

#[test]
fn alignment_set_twice_is_written_once() {
    let mut w = GgufWriter::new();
    w.alignment(64).alignment(16);
    let g = parse_header(&w.finish()).unwrap();
    assert_eq!(
        g.metadata,
        vec![("general.alignment".into(), Value::U32(16))]
    );
    assert_eq!(g.alignment, 16);
}

#[test]
fn empty_file_without_tensors_or_metadata() {
    let file = GgufWriter::new().finish();
    assert_eq!(file.len(), 32); // 24 bytes of header, padded
    let g = parse_header(&file).unwrap();
    assert!(g.metadata.is_empty() && g.tensors.is_empty());
    assert_eq!(g.data_offset, 32);
    // llama.cpp does not require the padding when there are no tensors; neither do we.
    assert_eq!(parse_header(&file[..24]).unwrap(), g);
}

#[test]
fn typed_getters_convert_and_explain() {
    let file = sample_file(3);
    let g = parse_header(&file).unwrap();

    assert_eq!(g.get_str("general.architecture").unwrap(), "llama");
    assert_eq!(g.get_u32("t.u8").unwrap(), 200);
    assert_eq!(g.get_u32("t.u16").unwrap(), 60_000);
    assert_eq!(g.get_u64("t.u32").unwrap(), 4_000_000_000);
    assert_eq!(g.get_i32("t.i8").unwrap(), -100);
    assert_eq!(g.get_f32("t.f32").unwrap(), -1.5e-7);
    assert_eq!(g.get_f32("t.f64").unwrap(), std::f32::consts::PI);
    assert_eq!(g.get_f32("t.u16").unwrap(), 60_000.0);
    assert!(g.get_bool("t.true").unwrap());
    assert_eq!(g.get_str_array("t.arr_str").unwrap(), ["a", "", "<0x0A>"]);
    assert_eq!(g.get_f32_array("t.arr_f32").unwrap(), [0.25, -0.0]);
    assert_eq!(g.get_i32_array("t.arr_i32").unwrap(), [-7, 3]);
    assert_eq!(g.get_i32_array("t.arr_u8").unwrap(), [0, 255]);
    assert_eq!(g.get_u32_array("t.arr_u32").unwrap(), [7, 8]);
    assert!(g.get_str_array("t.arr_empty").unwrap().is_empty());

    assert_eq!(g.get_u32_opt("nope").unwrap(), None);
    assert_eq!(g.get_str_array_opt("nope").unwrap(), None);
    assert_eq!(g.get_u32_opt("t.u32").unwrap(), Some(4_000_000_000));

    let msg = |e: GgufError| e.to_string();
    assert_eq!(msg(g.get_u32("nope").unwrap_err()), "missing key 'nope'");
    assert_eq!(
        msg(g.get_u32("t.str").unwrap_err()),
        "key 't.str' has type string, expected u32"
    );
    assert_eq!(
        msg(g.get_u32("t.u64").unwrap_err()),
        "key 't.u64' is 18446744073709551615 (u64), which does not fit u32"
    );
    assert_eq!(
        msg(g.get_u32("t.i8").unwrap_err()),
        "key 't.i8' is -100 (i8), which does not fit u32"
    );
    assert_eq!(
        msg(g.get_f32_array("t.arr_str").unwrap_err()),
        "key 't.arr_str[0]' has type string, expected f32"
    );
    assert_eq!(
        msg(g.get_str_array("t.u8").unwrap_err()),
        "key 't.u8' has type u8, expected array of string"
    );
    assert_eq!(
        msg(g.get_i32_array("t.nested").unwrap_err()),
        "key 't.nested[0]' has type array of u32, expected i32"
    );
    assert_eq!(
        msg(g.get_u32_opt("t.f32").unwrap_err()),
        "key 't.f32' has type f32, expected u32"
    );
    assert!(matches!(
        g.get_f32("t.arr_f64").unwrap_err(),
        GgufError::WrongType { .. }
    ));
}

#[test]
fn f64_beyond_f32_range_is_out_of_range_not_infinity() {
    let mut w = GgufWriter::new();
    w.add("big", Value::F64(1e300))
        .add("inf", Value::F64(f64::INFINITY));
    let g = parse_header(&w.finish()).unwrap();
    assert!(matches!(
        g.get_f32("big").unwrap_err(),
        GgufError::OutOfRange { .. }
    ));
    assert_eq!(g.get_f32("inf").unwrap(), f32::INFINITY);
}

#[test]
fn value_helpers() {
    assert_eq!(Value::I32(-1).as_u64(), None);
    assert_eq!(Value::I32(-1).as_i64(), Some(-1));
    assert_eq!(Value::U64(u64::MAX).as_i64(), None);
    assert_eq!(Value::U64(u64::MAX).as_u64(), Some(u64::MAX));
    assert_eq!(Value::U8(3).as_f32(), Some(3.0));
    assert_eq!(Value::F32(0.5).as_f64(), Some(0.5));
    assert_eq!(Value::F32(0.5).as_u64(), None);
    assert_eq!(Value::Bool(true).as_u64(), None);
    assert_eq!(Value::Bool(true).as_bool(), Some(true));
    assert_eq!(Value::String("x".into()).as_str(), Some("x"));
    assert_eq!(Value::U8(1).as_str(), None);
    assert_eq!(Value::Array(vec![]).as_array(), Some(&[][..]));
    let names: Vec<_> = sample_metadata()
        .iter()
        .map(|(_, v)| v.type_name())
        .collect();
    for name in [
        "u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64", "f32", "f64", "bool", "string",
        "array",
    ] {
        assert!(names.contains(&name), "{name}");
    }
}

#[test]
fn lookup_by_name_and_tensor_types() {
    let file = sample_file(3);
    let g = parse_header(&file).unwrap();
    assert!(g.get("t.u8").is_some() && g.get("T.U8").is_none());
    let t = g.tensor("blk.0.ffn_up.weight").unwrap();
    assert_eq!(t.ty().unwrap(), GgmlType::Q4_K);
    assert_eq!(t.n_elements(), 512);
    assert_eq!(g.tensor("scalar").unwrap().n_elements(), 1);
    assert_eq!(g.tensor("empty").unwrap().n_elements(), 0);
    assert!(g.tensor("missing").is_none());
}

#[test]
#[should_panic(expected = "mixed types")]
fn writer_refuses_heterogeneous_arrays() {
    GgufWriter::new().add("k", Value::Array(vec![Value::U8(1), Value::I8(1)]));
}
