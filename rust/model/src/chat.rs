//! Chat prompts: the model's own Jinja template (`tokenizer.chat_template`, rendered with
//! minijinja), or a built-in template chosen from the vocabulary when the file has none.
//! The rendered text never starts with the BOS token's text: BOS is added by tokenization
//! (add_special), so it is never doubled.

use crate::ModelError;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: &str, content: &str) -> Self {
        ChatMessage {
            role: role.to_string(),
            content: content.to_string(),
        }
    }
}

/// Built-in formats, for GGUF files without a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltinTemplate {
    Gemma,
    ChatMl,
    Llama2,
    Llama3,
    /// Phi-3: `<|role|>\ncontent<|end|>\n` per message, then `<|assistant|>\n` (llama.cpp's
    /// LLM_CHAT_TEMPLATE_PHI_3).
    Phi3,
}

pub enum ChatTemplate {
    Jinja {
        source: String,
        bos: String,
        eos: String,
    },
    Builtin(BuiltinTemplate),
}

impl ChatTemplate {
    /// The template to use for a model: its own if present, else one recognised from the
    /// special tokens in its vocabulary.
    pub fn for_model(gguf: &gguf::Gguf, tok: &tokenizer::Tokenizer) -> Result<Self, ModelError> {
        let text = |id: Option<u32>| id.and_then(|i| tok.token_text(i)).unwrap_or("").to_string();
        if let Some(source) = gguf.get_str_opt("tokenizer.chat_template")? {
            return Ok(ChatTemplate::Jinja {
                source: source.to_string(),
                bos: text(tok.bos_id()),
                eos: text(tok.eos_id()),
            });
        }
        let has = |t: &str| tok.token_id(t).is_some();
        let builtin = if has("<start_of_turn>") {
            BuiltinTemplate::Gemma
        } else if has("<|start_header_id|>") {
            BuiltinTemplate::Llama3
        } else if has("<|im_start|>") {
            BuiltinTemplate::ChatMl
        } else if has("<|assistant|>") && has("<|end|>") {
            BuiltinTemplate::Phi3
        } else if matches!(tok.kind(), tokenizer::TokenizerKind::Spm) {
            BuiltinTemplate::Llama2
        } else {
            return Err(ModelError::ChatTemplate(
                "the model has no tokenizer.chat_template and no recognisable chat tokens".into(),
            ));
        };
        Ok(ChatTemplate::Builtin(builtin))
    }

    /// Renders the conversation, ending with the cue for the assistant's turn.
    pub fn render(&self, messages: &[ChatMessage]) -> Result<String, ModelError> {
        self.render_with(messages, true)
    }

    /// Renders the conversation; `add_generation_prompt` appends the cue for the assistant's
    /// turn (without it, the text a finished conversation is stored as).
    pub fn render_with(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
    ) -> Result<String, ModelError> {
        match self {
            ChatTemplate::Builtin(b) => Ok(render_builtin(*b, messages, add_generation_prompt)),
            ChatTemplate::Jinja { source, bos, eos } => {
                let env = jinja_env(source)?;
                let render = |messages: &[ChatMessage]| {
                    let ctx = minijinja::context! {
                        messages => messages, add_generation_prompt, bos_token => bos, eos_token => eos,
                    };
                    env.get_template("chat").and_then(|t| t.render(ctx))
                };
                // Templates without a system role (Gemma 1 and 2 raise an error on one) get the
                // system text merged into the next message, as llama.cpp's chat layer does
                // before rendering, so a system prompt works with every model.
                let merged;
                let messages = match messages {
                    [first, rest @ ..] if first.role == "system" && !supports_system_role(&env) => {
                        merged = merge_system(first, rest);
                        &merged[..]
                    }
                    _ => messages,
                };
                let out = render(messages).map_err(|e| ModelError::ChatTemplate(e.to_string()))?;
                Ok(match out.strip_prefix(bos.as_str()) {
                    Some(rest) if !bos.is_empty() => rest.to_string(),
                    _ => out,
                })
            }
        }
    }
}

/// A minijinja environment set up as Hugging Face's transformers (and llama.cpp) compile chat
/// templates: trim_blocks and lstrip_blocks on (templates with one tag per line rely on them),
/// Python's string methods (`content.strip()`, `.split(...)`, `.startswith(...)`) and
/// `raise_exception`.
fn jinja_env(source: &str) -> Result<minijinja::Environment<'_>, ModelError> {
    let mut env = minijinja::Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.add_function(
        "raise_exception",
        |msg: String| -> Result<String, minijinja::Error> {
            Err(minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                msg,
            ))
        },
    );
    env.add_template("chat", source)
        .map_err(|e| ModelError::ChatTemplate(e.to_string()))?;
    Ok(env)
}

/// Whether the template shows a leading system message: it renders one without an error and
/// its text appears in the output (llama.cpp probes the same way, watching whether the template
/// reads the system content).
fn supports_system_role(env: &minijinja::Environment<'_>) -> bool {
    const PROBE: &str = "wasm-chord system probe";
    let messages = [
        ChatMessage::new("system", PROBE),
        ChatMessage::new("user", "u"),
    ];
    let ctx = minijinja::context! {
        messages => messages, add_generation_prompt => false, bos_token => "", eos_token => "",
    };
    env.get_template("chat")
        .and_then(|t| t.render(ctx))
        .is_ok_and(|out| out.contains(PROBE))
}

/// The conversation without its leading system message: its text opens the next message,
/// joined by a newline (or it is dropped when nothing follows), as llama.cpp does.
fn merge_system(system: &ChatMessage, rest: &[ChatMessage]) -> Vec<ChatMessage> {
    let mut out = rest.to_vec();
    if let Some(next) = out.first_mut() {
        next.content = format!("{}\n{}", system.content, next.content);
    }
    out
}

/// The built-ins equal llama.cpp's builtin templates of the same name (`llama_chat_apply_template`
/// with "gemma", "chatml", "llama3", "phi3"; tests/golden/chat-templates), except Llama 2, which
/// follows Meta's own Jinja template (the format the chat models were tuned on): llama.cpp's
/// "llama2" variants drop the spaces around a reply and the BOS before each later turn.
fn render_builtin(
    t: BuiltinTemplate,
    messages: &[ChatMessage],
    add_generation_prompt: bool,
) -> String {
    let mut out = String::new();
    // The cue for the assistant's turn; Llama 2 has none (its prompt ends with `[/INST]`).
    let cue = match t {
        BuiltinTemplate::Gemma => "<start_of_turn>model\n",
        BuiltinTemplate::ChatMl => "<|im_start|>assistant\n",
        BuiltinTemplate::Llama3 => "<|start_header_id|>assistant<|end_header_id|>\n\n",
        BuiltinTemplate::Phi3 => "<|assistant|>\n",
        BuiltinTemplate::Llama2 => "",
    };
    match t {
        BuiltinTemplate::Gemma => {
            // Gemma has no system role: the system texts (trimmed, joined) open the next turn that
            // is not the model's, as llama.cpp's builtin "gemma" template does.
            let mut system = String::new();
            for m in messages {
                if m.role == "system" {
                    system += m.content.trim();
                    continue;
                }
                let role = if m.role == "assistant" {
                    "model"
                } else {
                    m.role.as_str()
                };
                out += &format!("<start_of_turn>{role}\n");
                if !system.is_empty() && role != "model" {
                    out += &format!("{}\n\n", std::mem::take(&mut system));
                }
                out += &format!("{}<end_of_turn>\n", m.content.trim());
            }
        }
        BuiltinTemplate::ChatMl => {
            for m in messages {
                out += &format!("<|im_start|>{}\n{}<|im_end|>\n", m.role, m.content);
            }
        }
        BuiltinTemplate::Llama3 => {
            for m in messages {
                out += &format!(
                    "<|start_header_id|>{}<|end_header_id|>\n\n{}<|eot_id|>",
                    m.role,
                    m.content.trim()
                );
            }
        }
        BuiltinTemplate::Phi3 => {
            for m in messages {
                out += &format!("<|{}|>\n{}<|end|>\n", m.role, m.content);
            }
        }
        BuiltinTemplate::Llama2 => {
            // Meta's template: the system block is glued to the first user text and the two are
            // stripped together (so the system text keeps its own whitespace); every user turn
            // but the first starts with BOS, and a reply ends with EOS.
            let mut system = String::new();
            for m in messages {
                match m.role.as_str() {
                    "system" => system = format!("<<SYS>>\n{}\n<</SYS>>\n\n", m.content),
                    "user" => {
                        let content = std::mem::take(&mut system) + &m.content;
                        if !out.is_empty() {
                            out += "<s>";
                        }
                        out += &format!("[INST] {} [/INST]", content.trim());
                    }
                    _ => out += &format!(" {} </s>", m.content.trim()),
                }
            }
        }
    }
    if add_generation_prompt {
        out += cue;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A system prompt, two user turns and an assistant reply between them.
    fn four_turns() -> [ChatMessage; 4] {
        [
            ChatMessage::new("system", "Be brief."),
            ChatMessage::new("user", "Hi"),
            ChatMessage::new("assistant", "Hello!"),
            ChatMessage::new("user", "Bye"),
        ]
    }

    #[test]
    fn gemma_builtin_matches_the_reference_format() {
        let msgs = four_turns();
        assert_eq!(
            render_builtin(BuiltinTemplate::Gemma, &msgs, true),
            "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n"
        );
    }

    #[test]
    fn phi3_builtin_matches_llama_cpp() {
        let msgs = four_turns();
        assert_eq!(
            render_builtin(BuiltinTemplate::Phi3, &msgs, true),
            "<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n<|user|>\nBye<|end|>\n<|assistant|>\n"
        );
    }

    #[test]
    fn jinja_template_renders_and_drops_leading_bos() {
        let t = ChatTemplate::Jinja {
            source: "{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}".into(),
            bos: "<s>".into(),
            eos: "</s>".into(),
        };
        assert_eq!(
            t.render(&[ChatMessage::new("user", "x")]).unwrap(),
            "<user>x<assistant>"
        );
    }

    #[test]
    fn template_errors_are_reported() {
        let t = ChatTemplate::Jinja {
            source: "{{ raise_exception('no system role') }}".into(),
            bos: String::new(),
            eos: String::new(),
        };
        assert!(t
            .render(&[])
            .unwrap_err()
            .to_string()
            .contains("no system role"));
    }
}
