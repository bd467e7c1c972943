//! Multi-turn chats with prompt caching against llama.cpp (tests/golden/chat, made by
//! scripts/oracle/make-chat-goldens.sh): llama.cpp plays each conversation as llama-server does
//! with `cache_prompt`, evaluating only the tokens of a turn that are not in its KV cache. We
//! replay it through `Model::begin`/`step` with `cache_prompt: true` on the same file and check,
//! turn by turn:
//! - our Gemma template renders the conversation to llama.cpp's prompt ids (its builtin "gemma"
//!   template, through `llama_chat_apply_template`);
//! - we reuse exactly as many cached tokens as llama.cpp did;
//! - the greedy reply is llama.cpp's, token for token (the cache holds keys and values computed
//!   in the same batches as llama.cpp's, so the logits are bit-identical).

use cpu::CpuBackend;
use model::chat::{ChatMessage, ChatTemplate};
use model::{GenerateOptions, Model, SamplingParams};
use serde_json::Value;

fn ids(case: &Value, key: &str) -> Vec<u32> {
    case[key]
        .as_array()
        .unwrap_or_else(|| panic!("golden field {key}"))
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect()
}

#[test]
fn gemma3_chats_reuse_the_cache_as_llama_cpp() {
    let path = testkit::gemma3_path();
    let mut file = model::file::open(path.to_str().unwrap()).unwrap();
    // 2 threads, 2048 context: the goldens' settings (llama.cpp's split-KV decode depends on the
    // thread count).
    let mut model: Model<CpuBackend> = file.load_model(CpuBackend::new(2), Some(2048)).unwrap();
    let template = ChatTemplate::for_model(&file.gguf, &model.tokenizer).unwrap();
    let golden =
        std::fs::read_to_string(testkit::repo_root().join("tests/golden/chat/gemma3.jsonl"))
            .unwrap();

    let mut conversation = String::new();
    let mut messages: Vec<ChatMessage> = Vec::new();
    let (mut turns, mut reused_total) = (0, 0);
    for line in golden.lines() {
        let case: Value = serde_json::from_str(line).unwrap();
        let name = case["conversation"].as_str().unwrap();
        let turn = case["turn"].as_u64().unwrap();
        if name != conversation {
            // Each conversation is a fresh llama.cpp process: start from an empty cache too.
            model.reset();
            conversation = name.to_string();
            messages = case["system"]
                .as_str()
                .map(|s| ChatMessage::new("system", s))
                .into_iter()
                .collect();
        }
        messages.push(ChatMessage::new("user", case["user"].as_str().unwrap()));
        let text = template.render(&messages).unwrap();
        let prompt = model.tokenizer.encode(&text, true, true).unwrap();
        assert_eq!(
            prompt,
            ids(&case, "prompt_ids"),
            "{name} turn {turn}: the prompt differs from llama.cpp's"
        );

        let opts = GenerateOptions {
            max_tokens: case["n_predict"].as_u64().unwrap() as usize,
            sampling: SamplingParams::greedy(),
            ignore_eos: false,
            cache_prompt: true,
        };
        let mut reply = String::new();
        let stats = model
            .generate(&prompt, &opts, &mut |piece| {
                reply.push_str(piece);
                true
            })
            .unwrap();
        let reused = stats.prompt_tokens - stats.prompt_evaluated;
        let want_reused = case["reused"].as_u64().unwrap() as usize;
        assert_eq!(
            reused, want_reused,
            "{name} turn {turn}: cached prompt tokens reused"
        );
        let want = ids(&case, "ids");
        let want = match case["stop"].as_str() {
            Some("eog") => &want[..want.len() - 1],
            _ => &want[..],
        };
        assert_eq!(
            stats.generated_tokens, want,
            "{name} turn {turn}: reply tokens differ from llama.cpp's"
        );
        messages.push(ChatMessage::new("assistant", &reply));
        turns += 1;
        reused_total += reused;
        eprintln!(
            "{name} turn {turn}: {} prompt tokens, {reused} reused, {} generated",
            prompt.len(),
            want.len()
        );
    }
    assert!(turns >= 9 && reused_total > 0, "{turns} turns played");
}
