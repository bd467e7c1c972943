//! The real test model (Gemma 3 270M, Q4_K_M), fetched by scripts/test-model.sh, read the
//! way a browser would: only as much of the file as `NeedMore` asks for. Facts checked
//! against llama.cpp's gguf-py reader.

use std::fs::File;
use std::io::Read;

use gguf::{parse_header, GgmlType, Gguf, GgufError};

fn test_model_path() -> String {
    testkit::gemma3_path().to_string_lossy().into_owned()
}

/// Reads the file prefix on demand, growing it the way a range-request client would.
fn parse_incrementally(file: &mut File) -> (Gguf, usize) {
    let mut prefix = Vec::new();
    let mut reads = 0;
    loop {
        match parse_header(&prefix) {
            Ok(g) => return (g, reads),
            Err(GgufError::NeedMore { needed }) => {
                // At least double, so a multi-MB vocabulary takes a handful of reads.
                let want = (needed as usize).max(2 * prefix.len()).max(64 << 10);
                let have = prefix.len();
                file.by_ref()
                    .take((want - have) as u64)
                    .read_to_end(&mut prefix)
                    .unwrap();
                assert!(
                    prefix.len() > have,
                    "file ended at {have}, header needs {needed}"
                );
                reads += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
}

#[test]
fn gemma3_270m_header() {
    let path = test_model_path();
    let mut file = File::open(&path).unwrap();
    let file_len = file.metadata().unwrap().len();
    let (g, reads) = parse_incrementally(&mut file);
    assert!(reads < 12, "{reads} reads");

    assert_eq!(g.version, 3);
    assert_eq!(g.metadata.len(), 33);
    assert_eq!(g.tensors.len(), 236);
    assert_eq!(g.alignment, 32);
    assert_eq!(g.data_offset, 6_525_120);
    g.check_tensor_bounds(file_len).unwrap();

    assert_eq!(g.get_str("general.architecture").unwrap(), "gemma3");
    assert_eq!(g.get_u32("gemma3.block_count").unwrap(), 18);
    assert_eq!(g.get_u32("gemma3.embedding_length").unwrap(), 640);
    assert_eq!(g.get_u32("gemma3.attention.head_count_kv").unwrap(), 1);
    assert_eq!(g.get_f32("gemma3.rope.freq_base").unwrap(), 1_000_000.0);
    assert_eq!(g.get_str("tokenizer.ggml.model").unwrap(), "llama");
    assert!(g.get_bool("tokenizer.ggml.add_bos_token").unwrap());
    assert_eq!(
        g.get_str_array("tokenizer.ggml.tokens").unwrap().len(),
        262_144
    );
    assert_eq!(
        g.get_f32_array("tokenizer.ggml.scores").unwrap().len(),
        262_144
    );
    assert_eq!(
        g.get_i32_array("tokenizer.ggml.token_type").unwrap().len(),
        262_144
    );

    let embd = g.tensor("token_embd.weight").unwrap();
    assert_eq!(embd.dims, [640, 262_144]);
    assert_eq!(embd.ty().unwrap(), GgmlType::Q8_0);
    assert_eq!(
        g.tensor_range(embd).unwrap(),
        6_527_680..6_527_680 + 178_257_920
    );

    let mut types: Vec<_> = g.tensors.iter().map(|t| t.ty().unwrap().name()).collect();
    types.sort();
    types.dedup();
    assert_eq!(types, ["F32", "Q4_K", "Q5_0", "Q6_K", "Q8_0"]);

    // The last tensor's data ends exactly at the end of the file.
    let end = g
        .tensors
        .iter()
        .map(|t| g.tensor_range(t).unwrap().end)
        .max();
    assert_eq!(end, Some(file_len));
}
