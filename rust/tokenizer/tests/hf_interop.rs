//! The `tokenizers::Tokenizer` underneath stands on its own: its `encode` agrees with ours on
//! ordinary text (special tokens included), and it serializes to a `tokenizer.json` that loads
//! back into an equivalent tokenizer.
mod common;

use std::str::FromStr;

use common::*;

const TEXTS: &[&str] = &[
    "Hello world",
    "  two spaces, then\nnewline\t\ttabs",
    "你好，世界！ Привет 👨‍👩‍👧‍👦",
    "<|eot_id|>after a special<tool>user-defined",
    "<|im_end|>",
    "",
];

fn check(name: &str) {
    let tok = load_fixture(name);
    let json = tok.hf().to_string(false).expect("serialize");
    let reloaded = tokenizers::Tokenizer::from_str(&json).expect("reload tokenizer.json");
    for text in TEXTS {
        let ours = tok.encode(text, true, true).unwrap();
        let hf = tok.hf().encode(*text, true).unwrap().get_ids().to_vec();
        assert_eq!(hf, ours, "{name}: {text:?}");
        let again = reloaded.encode(*text, true).unwrap().get_ids().to_vec();
        assert_eq!(again, ours, "{name} reloaded: {text:?}");
    }
}

#[test]
fn hf_pipeline_agrees_spm() {
    check("tiny_spm");
}

#[test]
fn hf_pipeline_agrees_bpe() {
    check("tiny_bpe");
}
