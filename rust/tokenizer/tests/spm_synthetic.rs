//! The SPM flavour with LLaMA/Mistral conventions that Gemma 3 does not exercise: a space
//! prefix (the default), `<unk>` of type unknown, byte fallback for characters outside a small
//! vocabulary, EOS appended. tests/data/tiny_spm.gguf.json is a SentencePiece BPE model trained for
//! the purpose (tests/oracle/make_spm_gguf.py); the variants patch its metadata in memory the
//! way tests/oracle/patch_gguf.py patched the files llama.cpp saw.
mod common;

use std::path::PathBuf;

use common::*;
use gguf::Value;

fn golden_dir() -> PathBuf {
    std::env::var("TOKENIZER_SPM_GOLDENS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| data_dir().join("spm"))
}

/// (variant, metadata to set)
fn variants() -> Vec<(&'static str, Vec<(&'static str, Value)>)> {
    vec![
        ("defaults", vec![]),
        (
            "nospace",
            vec![("tokenizer.ggml.add_space_prefix", Value::Bool(false))],
        ),
        (
            "eos",
            vec![
                ("tokenizer.ggml.add_bos_token", Value::Bool(false)),
                ("tokenizer.ggml.add_eos_token", Value::Bool(true)),
            ],
        ),
    ]
}

pub fn patched(base: &gguf::Gguf, set: &[(&str, Value)]) -> gguf::Gguf {
    let mut g = base.clone();
    for (k, v) in set {
        g.metadata.retain(|(key, _)| key != k);
        g.metadata.push(((*k).to_owned(), v.clone()));
    }
    g
}

#[test]
fn spm_variants_match_llama_cpp() {
    let base = fixture("tiny_spm");
    let mut failures = Vec::new();
    for (name, set) in variants() {
        let tok = tokenizer::Tokenizer::from_gguf(&patched(&base, &set))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        check_vocab(&tok, &golden_dir().join(format!("{name}.vocab.digest")));
        let (n, bad) = compare(
            &tok,
            &read_oracle(&golden_dir().join(format!("{name}.jsonl"))),
        );
        eprintln!("{name}: {n} comparisons, {} differ", bad.len());
        for b in bad.iter().take(5) {
            eprintln!("  {b}");
        }
        if !bad.is_empty() {
            failures.push(format!("{name}: {} of {n}", bad.len()));
        }
    }
    assert!(
        failures.is_empty(),
        "differences from llama.cpp: {failures:?}"
    );
}

#[test]
fn llama_style_defaults() {
    let tok = load_fixture("tiny_spm");
    assert_eq!(
        (tok.bos_id(), tok.eos_id(), tok.unk_id()),
        (Some(1), Some(2), Some(0))
    );
    assert!(tok.add_bos() && !tok.add_eos());
    // Space prefix: "Hello" is tokenized as " Hello", and decode drops that space again.
    let ids = tok.encode("Hello", false, false).unwrap();
    assert_eq!(
        tok.token_text(ids[0]).map(|t| t.starts_with('\u{2581}')),
        Some(true)
    );
    assert_eq!(tok.decode(&ids), "Hello");
}
