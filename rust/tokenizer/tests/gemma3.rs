//! The real Gemma 3 270M vocabulary (SPM, 262,144 tokens) against llama.cpp.
mod common;

use std::time::Instant;

use common::*;

#[test]
fn gemma3_matches_llama_cpp() {
    let path = gemma3_path();
    let g = read_header(&path);
    let t0 = Instant::now();
    let tok = tokenizer::Tokenizer::from_gguf(&g).expect("tokenizer");
    eprintln!("from_gguf: {:?}", t0.elapsed());
    let cases_path = std::env::var("TOKENIZER_CASES")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| data_dir().join("gemma3_cases.jsonl"));
    let cases = read_oracle(&cases_path);
    let t0 = Instant::now();
    let (n, bad) = compare(&tok, &cases);
    eprintln!("{n} comparisons in {:?}", t0.elapsed());
    for b in bad.iter().take(30) {
        eprintln!("{b}");
    }
    assert!(
        bad.is_empty(),
        "{} of {n} comparisons differ from llama.cpp",
        bad.len()
    );
}

#[test]
fn gemma3_vocabulary_matches_llama_cpp() {
    let tok = load(&gemma3_path());
    let digest = std::env::var("TOKENIZER_VOCAB_DIGEST")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| data_dir().join("gemma3_vocab.digest"));
    check_vocab(&tok, &digest);
    // Facts worth stating on their own.
    assert_eq!(tok.kind(), tokenizer::TokenizerKind::Spm);
    assert!(tok.warnings().is_empty(), "{:?}", tok.warnings());
    assert_eq!(tok.end_of_generation_ids(), vec![1, 106, 212]); // <eos>, <end_of_turn>, "</s>"
    assert_eq!(tok.token_text(106), Some("<end_of_turn>"));
    assert!(tok.token_to_piece(106).is_empty());
    assert_eq!(tok.token_to_piece(107), b"\n");
}

/// Gemma's vocabulary with `add_space_prefix = true` (the LLaMA convention): every text fragment,
/// also the ones after special tokens, gets a leading space, and decode removes one.
#[test]
fn gemma3_with_space_prefix_matches_llama_cpp() {
    let mut g = read_header(&gemma3_path());
    g.metadata
        .retain(|(k, _)| k != "tokenizer.ggml.add_space_prefix");
    g.metadata.push((
        "tokenizer.ggml.add_space_prefix".to_owned(),
        gguf::Value::Bool(true),
    ));
    let tok = tokenizer::Tokenizer::from_gguf(&g).expect("tokenizer");
    let (n, bad) = compare(
        &tok,
        &read_oracle(&data_dir().join("gemma3_space_prefix.jsonl")),
    );
    for b in bad.iter().take(20) {
        eprintln!("{b}");
    }
    assert!(
        bad.is_empty(),
        "{} of {n} comparisons differ from llama.cpp",
        bad.len()
    );
}
