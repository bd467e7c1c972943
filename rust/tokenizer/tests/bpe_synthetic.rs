//! The BPE flavour (tokenizer.ggml.model = gpt2) against llama.cpp, on a small byte-level BPE
//! vocabulary trained for the purpose (tests/data/tiny_bpe.gguf.json, made by
//! tests/oracle/make_bpe_gguf.py), once per pre-tokenizer family: the GGUF is the same but for
//! `tokenizer.ggml.pre`, which is patched in memory here (llama.cpp saw one file per value).
mod common;

use std::path::PathBuf;

use common::*;
use gguf::Value;

/// `tokenizer.ggml.pre` values with goldens ("none": key absent).
const PRES: &[&str] = &[
    "none",
    "default",
    "gpt-2",
    "llama-bpe",
    "qwen2",
    "qwen35",
    "falcon",
    "starcoder",
    "command-r",
    "poro-chat",
    "viking",
    "tekken",
    "gpt-4o",
    "chatglm-bpe",
    "glm4",
    "dbrx",
    "bloom",
];

fn golden_dir() -> PathBuf {
    std::env::var("TOKENIZER_BPE_GOLDENS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| data_dir().join("bpe"))
}

fn with_pre(base: &gguf::Gguf, pre: &str) -> gguf::Gguf {
    let mut g = base.clone();
    g.metadata.retain(|(k, _)| k != "tokenizer.ggml.pre");
    if pre != "none" {
        g.metadata.push((
            "tokenizer.ggml.pre".to_owned(),
            Value::String(pre.to_owned()),
        ));
    }
    g
}

#[test]
fn bpe_families_match_llama_cpp() {
    let base = fixture("tiny_bpe");
    let mut failures = Vec::new();
    let mut total = 0;
    for pre in PRES {
        let tok = tokenizer::Tokenizer::from_gguf(&with_pre(&base, pre))
            .unwrap_or_else(|e| panic!("{pre}: {e}"));
        assert_eq!(tok.kind(), tokenizer::TokenizerKind::Bpe);
        check_vocab(&tok, &golden_dir().join(format!("{pre}.vocab.digest")));
        let cases = read_oracle(&golden_dir().join(format!("{pre}.jsonl")));
        let (n, bad) = compare(&tok, &cases);
        total += n;
        eprintln!("pre {pre}: {n} comparisons, {} differ", bad.len());
        for b in bad.iter().take(5) {
            eprintln!("  {b}");
        }
        if !bad.is_empty() {
            failures.push(format!("{pre}: {} of {n}", bad.len()));
        }
    }
    assert!(
        failures.is_empty(),
        "differences from llama.cpp: {failures:?} ({total} comparisons)"
    );
}

#[test]
fn missing_pre_defaults_with_a_warning() {
    let base = fixture("tiny_bpe");
    let tok = tokenizer::Tokenizer::from_gguf(&with_pre(&base, "none")).unwrap();
    assert!(
        tok.warnings()
            .iter()
            .any(|w| w.contains("tokenizer.ggml.pre")),
        "{:?}",
        tok.warnings()
    );
}

#[test]
fn unknown_pre_is_an_error_naming_it() {
    let base = fixture("tiny_bpe");
    let err = tokenizer::Tokenizer::from_gguf(&with_pre(&base, "foo-bar")).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("tokenizer.ggml.pre 'foo-bar' is not supported"),
        "{msg}"
    );
}
