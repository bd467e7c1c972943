//! The one known way the SPM flavour can differ from llama.cpp: two *different* merges with
//! *equal* scores that compete for the same symbol. llama.cpp takes the leftmost; HF's BPE has
//! one rank per merge, so we order them by token id. No known model has such ties among normal
//! tokens (LLaMA, Mistral and Gemma scores are distinct), and the tokenizer warns when a
//! vocabulary does.
use tokenizer::{Tokenizer, VocabSpec};

#[test]
fn equal_score_merges_are_ordered_by_id_and_warned_about() {
    // "bc" and "ab" both score -1. llama.cpp (checked with llama_oracle on this exact vocabulary
    // written as a GGUF) tokenizes "abc" as [ab, c] = [7, 5]: the leftmost pair wins the tie.
    let spec = VocabSpec {
        model: "llama".into(),
        tokens: ["<unk>", "<s>", "</s>", "a", "b", "c", "bc", "ab"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        scores: Some(vec![0.0, 0.0, 0.0, -10.0, -10.0, -10.0, -1.0, -1.0]),
        token_types: Some(vec![2, 3, 3, 1, 1, 1, 1, 1]),
        add_space_prefix: Some(false),
        ..VocabSpec::default()
    };
    let tok = Tokenizer::from_spec(spec).unwrap();
    assert!(
        tok.warnings()
            .iter()
            .any(|w| w.contains("share their score")),
        "{:?}",
        tok.warnings()
    );
    // Ours: "bc" (id 6) ranks before "ab" (id 7), so [a, bc].
    assert_eq!(tok.encode("abc", false, false).unwrap(), vec![3, 6]);
    // Without the tie both agree: make "ab" strictly better.
    let spec = VocabSpec {
        model: "llama".into(),
        tokens: ["<unk>", "<s>", "</s>", "a", "b", "c", "bc", "ab"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        scores: Some(vec![0.0, 0.0, 0.0, -10.0, -10.0, -10.0, -1.0, -0.5]),
        token_types: Some(vec![2, 3, 3, 1, 1, 1, 1, 1]),
        add_space_prefix: Some(false),
        ..VocabSpec::default()
    };
    let tok = Tokenizer::from_spec(spec).unwrap();
    assert!(tok.warnings().is_empty(), "{:?}", tok.warnings());
    assert_eq!(tok.encode("abc", false, false).unwrap(), vec![7, 5]);
}
