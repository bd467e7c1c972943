//! llama.cpp's per-model strip attributes: a vocabulary whose `general.name` says Phi-3 gets
//! RSTRIP on its special tokens (they swallow the whitespace after them), with llama.cpp's
//! exceptions. tests/data/phi3_strip.gguf.json is made by tests/oracle/make_strip_gguf.py.
mod common;

use common::*;

#[test]
fn phi3_rstrip_matches_llama_cpp() {
    let tok = load_fixture("phi3_strip");
    check_vocab(&tok, &data_dir().join("phi3_strip.vocab.digest"));
    let (n, bad) = compare(&tok, &read_oracle(&data_dir().join("phi3_strip.jsonl")));
    for b in &bad {
        eprintln!("{b}");
    }
    assert!(bad.is_empty(), "{} of {n} differ from llama.cpp", bad.len());
    let rstrip =
        |t: &str| tok.token_attr(tok.token_id(t).unwrap()).unwrap() & tokenizer::attr::RSTRIP != 0;
    assert!(rstrip("<|im_end|>") && rstrip("</s>") && rstrip("<tool>"));
    assert!(!rstrip("<unk>") && !rstrip("<s>") && !rstrip("<|endoftext|>"));
}
