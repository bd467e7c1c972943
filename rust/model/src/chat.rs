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
        match self {
            ChatTemplate::Builtin(b) => Ok(render_builtin(*b, messages)),
            ChatTemplate::Jinja { source, bos, eos } => {
                let mut env = minijinja::Environment::new();
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
                let ctx = minijinja::context! {
                    messages => messages, add_generation_prompt => true, bos_token => bos, eos_token => eos,
                };
                let out = env
                    .get_template("chat")
                    .and_then(|t| t.render(ctx))
                    .map_err(|e| ModelError::ChatTemplate(e.to_string()))?;
                Ok(match out.strip_prefix(bos.as_str()) {
                    Some(rest) if !bos.is_empty() => rest.to_string(),
                    _ => out,
                })
            }
        }
    }
}

fn render_builtin(t: BuiltinTemplate, messages: &[ChatMessage]) -> String {
    let mut out = String::new();
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
            out += "<start_of_turn>model\n";
        }
        BuiltinTemplate::ChatMl => {
            for m in messages {
                out += &format!("<|im_start|>{}\n{}<|im_end|>\n", m.role, m.content);
            }
            out += "<|im_start|>assistant\n";
        }
        BuiltinTemplate::Llama3 => {
            for m in messages {
                out += &format!(
                    "<|start_header_id|>{}<|end_header_id|>\n\n{}<|eot_id|>",
                    m.role,
                    m.content.trim()
                );
            }
            out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
        }
        BuiltinTemplate::Phi3 => {
            for m in messages {
                out += &format!("<|{}|>\n{}<|end|>\n", m.role, m.content);
            }
            out += "<|assistant|>\n";
        }
        BuiltinTemplate::Llama2 => {
            let mut system = String::new();
            for m in messages {
                match m.role.as_str() {
                    "system" => system = format!("<<SYS>>\n{}\n<</SYS>>\n\n", m.content),
                    "user" => {
                        out += &format!(
                            "[INST] {}{} [/INST]",
                            std::mem::take(&mut system),
                            m.content.trim()
                        )
                    }
                    _ => out += &format!(" {} </s><s>", m.content.trim()),
                }
            }
        }
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
            render_builtin(BuiltinTemplate::Gemma, &msgs),
            "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n"
        );
    }

    #[test]
    fn phi3_builtin_matches_llama_cpp() {
        let msgs = four_turns();
        assert_eq!(
            render_builtin(BuiltinTemplate::Phi3, &msgs),
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
