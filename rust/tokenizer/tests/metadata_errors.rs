//! Bad metadata gives an error that names the key or problem, never a panic.
use tokenizer::{SpecialId, Tokenizer, TokenizerError, VocabSpec};

fn spm(tokens: &[&str]) -> VocabSpec {
    VocabSpec {
        model: "llama".into(),
        tokens: tokens.iter().map(|t| t.to_string()).collect(),
        scores: Some((0..tokens.len()).map(|i| -(i as f32)).collect()),
        token_types: Some(vec![1; tokens.len()]),
        ..VocabSpec::default()
    }
}

fn err(spec: VocabSpec) -> String {
    Tokenizer::from_spec(spec)
        .expect_err("should fail")
        .to_string()
}

#[test]
fn unsupported_model() {
    let mut s = spm(&["a", "b"]);
    s.model = "foo".into();
    assert_eq!(
        err(s),
        "tokenizer.ggml.model 'foo' is not supported (supported: llama, gpt2)"
    );
}

#[test]
fn empty_vocab() {
    assert!(err(spm(&[])).contains("tokenizer.ggml.tokens is empty"));
}

#[test]
fn scores_and_types_length() {
    let mut s = spm(&["a", "b", "c"]);
    s.scores = Some(vec![0.0; 2]);
    assert_eq!(
        err(s),
        "'tokenizer.ggml.scores' has 2 entries but tokenizer.ggml.tokens has 3"
    );
    let mut s = spm(&["a", "b", "c"]);
    s.token_types = Some(vec![1; 4]);
    assert_eq!(
        err(s),
        "'tokenizer.ggml.token_type' has 4 entries but tokenizer.ggml.tokens has 3"
    );
}

#[test]
fn special_id_out_of_range() {
    let mut s = spm(&["a", "b", "c"]);
    s.eos_id = Some(SpecialId {
        key: tokenizer::keys::EOS_ID,
        value: 3,
    });
    assert_eq!(
        err(s),
        "'tokenizer.ggml.eos_token_id' = 3 is not a token id (the vocabulary has 3 tokens)"
    );
    let mut s = spm(&["a", "b", "c"]);
    s.pad_id = Some(SpecialId {
        key: tokenizer::keys::PAD_ID,
        value: -1,
    });
    assert!(err(s).contains("padding_token_id' = -1"));
}

#[test]
fn duplicate_tokens() {
    assert_eq!(
        err(spm(&["a", "b", "a"])),
        "tokenizer.ggml.tokens has the text \"a\" twice, at ids 0 and 2"
    );
}

#[test]
fn bpe_needs_merges_and_drops_bad_ones() {
    let mut s = spm(&["a", "b", "ab"]);
    s.model = "gpt2".into();
    s.pre = Some("gpt-2".into());
    assert!(matches!(
        Tokenizer::from_spec(s.clone()),
        Err(TokenizerError::MissingKey {
            key: "tokenizer.ggml.merges"
        })
    ));
    // Entries without a space can never apply (llama.cpp stores them as ("", "")); entries
    // naming unknown tokens cannot change the result of a well-formed vocabulary. Both are
    // dropped with a warning.
    s.merges = Some(vec!["ab".into(), "a b".into(), "x y".into()]);
    let t = Tokenizer::from_spec(s).unwrap();
    let w = t.warnings().join("\n");
    assert!(
        w.contains("1 entries of tokenizer.ggml.merges are not two tokens"),
        "{w}"
    );
    assert!(
        w.contains("1 entries of tokenizer.ggml.merges name a token"),
        "{w}"
    );
    assert_eq!(t.encode("ab", false, false).unwrap(), vec![2]);
}

#[test]
fn missing_bos_when_needed() {
    // SPM adds BOS by default; a 1-token vocabulary has no default BOS id (1).
    let mut s = spm(&["a"]);
    s.add_space_prefix = Some(false);
    let t = Tokenizer::from_spec(s).unwrap();
    assert_eq!(t.bos_id(), None);
    assert!(matches!(
        t.encode("a", true, true),
        Err(TokenizerError::MissingSpecialToken { what: "bos" })
    ));
    assert_eq!(t.encode("a", false, true).unwrap(), vec![0]);
}

/// Odd but legal metadata must build and tokenize without panicking.
#[test]
fn odd_metadata_does_not_panic() {
    let mut s = spm(&[
        "",
        "<0x41>",
        "\u{2581}",
        "a",
        "\u{2581}a",
        "<0xZZ>",
        "<0x",
        "a\u{2581}a",
        "<s>",
    ]);
    s.scores = Some(vec![
        f32::NAN,
        0.0,
        -1.0,
        f32::INFINITY,
        -0.0,
        1e30,
        f32::NEG_INFINITY,
        3.0,
        0.0,
    ]);
    s.token_types = Some(vec![0, 6, 1, 1, 1, 6, 99, -5, 3]);
    s.add_space_prefix = Some(true);
    let t = Tokenizer::from_spec(s).unwrap();
    assert_eq!(t.token_text(0), Some("[EMPTY_0]"));
    for text in [
        "",
        " ",
        "a a",
        "<s>x<s>",
        "\u{1F600}A",
        "<0x41><0xZZ>",
        "[EMPTY_0]",
    ] {
        for (add, parse) in [(true, true), (false, false)] {
            let ids = t.encode(text, add, parse).unwrap();
            let _ = t.decode(&ids);
        }
    }
    let _ = t.decode(&[0, 1, 5, 6, 7, 8, 9, u32::MAX]);
    assert!(t.token_to_piece(u32::MAX).is_empty());
}
