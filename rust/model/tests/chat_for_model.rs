//! Which built-in chat template `ChatTemplate::for_model` picks for files without
//! `tokenizer.chat_template`: the random-weight test models (tests/models/make_llama.py) carry
//! each family's chat control tokens and no template, so the pick rests on the vocabulary alone.
//! The rendered prompt must also tokenize its markup to those control tokens (one id each), or
//! the model would read the turn markers as plain text.

use model::chat::{BuiltinTemplate, ChatMessage, ChatTemplate};

/// The control tokens a template's markup must become.
fn markers(t: BuiltinTemplate) -> &'static [&'static str] {
    match t {
        BuiltinTemplate::ChatMl => &["<|im_start|>", "<|im_end|>"],
        BuiltinTemplate::Phi3 => &["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"],
        BuiltinTemplate::Gemma => &["<start_of_turn>", "<end_of_turn>"],
        BuiltinTemplate::Llama2 => &["<s>", "</s>"],
        BuiltinTemplate::Llama3 => &["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
    }
}

fn pick(variant: &str) -> (Result<ChatTemplate, String>, tokenizer::Tokenizer) {
    let path = testkit::llama_test_model(variant);
    let file = model::file::open(path.to_str().unwrap()).unwrap();
    let tok = tokenizer::Tokenizer::from_gguf(&file.gguf).unwrap();
    let t = ChatTemplate::for_model(&file.gguf, &tok).map_err(|e| e.to_string());
    (t, tok)
}

#[test]
fn builtin_template_follows_the_vocabulary() {
    let conversation = [
        ChatMessage::new("system", "Be brief."),
        ChatMessage::new("user", "Hi"),
        ChatMessage::new("assistant", "Hello!"),
        ChatMessage::new("user", "Bye"),
    ];
    for (variant, want) in [
        ("qwen2-bpe-f32", BuiltinTemplate::ChatMl),
        ("qwen3-bpe-f32", BuiltinTemplate::ChatMl),
        ("phi3-spm-f32", BuiltinTemplate::Phi3),
        ("gemma-spm-f32", BuiltinTemplate::Gemma),
        ("gemma2-spm-f32", BuiltinTemplate::Gemma),
        // A plain SPM vocabulary: Llama 2's format, whose markup is text plus BOS/EOS.
        ("llama-spm-f32", BuiltinTemplate::Llama2),
        // The byte-level BPE vocabulary carries Llama 3's header tokens (phi2 reuses it: the real
        // Phi-2 has no chat format, so its file would need a Jinja template of its own).
        ("llama-bpe-f32", BuiltinTemplate::Llama3),
        ("phi2-bpe-f32", BuiltinTemplate::Llama3),
    ] {
        let (t, tok) = pick(variant);
        let t = t.unwrap_or_else(|e| panic!("{variant}: {e}"));
        match t {
            ChatTemplate::Builtin(got) => assert_eq!(got, want, "{variant}"),
            ChatTemplate::Jinja { .. } => panic!("{variant}: the test models have no Jinja"),
        }
        let ids = tok
            .encode(&t.render(&conversation).unwrap(), true, true)
            .unwrap();
        for m in markers(want) {
            let id = tok
                .token_id(m)
                .unwrap_or_else(|| panic!("{variant}: no {m}"));
            assert!(
                ids.contains(&id),
                "{variant}: {m} is not one token in the prompt"
            );
        }
    }
}
