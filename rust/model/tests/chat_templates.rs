//! Our chat templates against llama.cpp's, for the fixed conversations of
//! tests/golden/chat-templates (made by scripts/oracle/make-chat-template-goldens.sh), each with
//! and without the generation cue (add_generation_prompt):
//! - `builtin.jsonl`: each built-in against llama.cpp's builtin of the same family
//!   (`llama_chat_apply_template` with its name: chatml, llama3, phi3, gemma);
//! - `jinja.jsonl`: each family's own Jinja template (`jinja/*.jinja`, as the models'
//!   tokenizer_config has it) rendered by us (minijinja) against llama.cpp's Jinja engine on the
//!   same source, bos_token and eos_token. A leading BOS text is left out of ours: tokenization
//!   adds the token (llama.cpp drops it too, for models that add BOS).
//!
//! Every comparison is exact, byte for byte. Nothing here needs a model file.

use model::chat::{BuiltinTemplate, ChatMessage, ChatTemplate};
use serde_json::Value;
use std::path::PathBuf;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/chat-templates")
}

fn golden(file: &str) -> Vec<Value> {
    let path = golden_dir().join(file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn messages(case: &Value) -> Vec<ChatMessage> {
    case["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| ChatMessage::new(m["role"].as_str().unwrap(), m["content"].as_str().unwrap()))
        .collect()
}

fn label(case: &Value) -> String {
    format!(
        "{} / {} / add_generation_prompt={}",
        case["template"].as_str().unwrap(),
        case["conversation"].as_str().unwrap(),
        case["add_generation_prompt"]
    )
}

/// Renders a golden case with `template`; the case's own add_generation_prompt.
fn ours(template: &ChatTemplate, case: &Value) -> Result<String, String> {
    let add = case["add_generation_prompt"].as_bool().unwrap();
    template
        .render_with(&messages(case), add)
        .map_err(|e| e.to_string())
}

/// llama.cpp's builtin name for each of our built-ins checked against one.
fn builtin_by_llama_cpp_name(name: &str) -> BuiltinTemplate {
    match name {
        "chatml" => BuiltinTemplate::ChatMl,
        "llama3" => BuiltinTemplate::Llama3,
        "phi3" => BuiltinTemplate::Phi3,
        "gemma" => BuiltinTemplate::Gemma,
        other => panic!("no built-in stands for llama.cpp's {other:?}"),
    }
}

#[test]
fn builtins_equal_llama_cpp_builtins() {
    let cases = golden("builtin.jsonl");
    let mut seen = std::collections::BTreeSet::new();
    for case in &cases {
        let name = case["template"].as_str().unwrap();
        seen.insert(name);
        let template = ChatTemplate::Builtin(builtin_by_llama_cpp_name(name));
        assert_eq!(
            ours(&template, case).as_deref(),
            Ok(case["legacy"].as_str().unwrap()),
            "{}",
            label(case)
        );
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        ["chatml", "gemma", "llama3", "phi3"]
    );
}

fn jinja_template(case: &Value) -> ChatTemplate {
    let name = case["template"].as_str().unwrap();
    let path = golden_dir().join("jinja").join(format!("{name}.jinja"));
    ChatTemplate::Jinja {
        source: std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        bos: case["bos"].as_str().unwrap().to_string(),
        eos: case["eos"].as_str().unwrap().to_string(),
    }
}

/// llama.cpp's Jinja rendering without the leading BOS text (see the module comment).
fn llama_cpp_jinja(case: &Value) -> &str {
    let out = case["jinja"]
        .as_str()
        .unwrap_or_else(|| panic!("{}: llama.cpp failed to render", label(case)));
    out.strip_prefix(case["bos"].as_str().unwrap())
        .unwrap_or(out)
}

#[test]
fn jinja_templates_render_as_llama_cpp_renders_them() {
    let cases = golden("jinja.jsonl");
    assert_eq!(
        cases.len(),
        9 * 8,
        "nine templates, four conversations, with and without the cue"
    );
    for case in &cases {
        assert_eq!(
            ours(&jinja_template(case), case).as_deref(),
            Ok(llama_cpp_jinja(case)),
            "{}",
            label(case)
        );
    }
}

/// Llama 2 has no llama.cpp builtin that renders Meta's format (its "llama2" variants drop the
/// spaces around a reply and the BOS of later turns), so our built-in is held to the Jinja.
#[test]
fn llama2_builtin_equals_metas_template() {
    let template = ChatTemplate::Builtin(BuiltinTemplate::Llama2);
    let cases: Vec<Value> = golden("jinja.jsonl")
        .into_iter()
        .filter(|c| c["template"] == "llama2")
        .collect();
    assert_eq!(cases.len(), 8);
    for case in &cases {
        assert_eq!(
            ours(&template, case).as_deref(),
            Ok(llama_cpp_jinja(case)),
            "{}",
            label(case)
        );
    }
}
