//! `tokenizer.ggml.pre` → pre-tokenizer regexes and per-family flags, as llama.cpp's
//! `llama-vocab.cpp` maps them (its `LLAMA_VOCAB_PRE_TYPE_*` table and the flags set next to it).
//!
//! Each family splits text with one or more regexes applied in turn: every regex splits each
//! piece left by the previous ones into its matches and the text between them (HF's `Split`
//! with `Isolated` behaviour, chained in a `Sequence`). The regexes are llama.cpp's *adapted*
//! forms (e.g. `(?:'[sS]|...)` instead of `(?i:'s|...)`), because llama.cpp, not the original
//! `tokenizer.json`, is what we must agree with.
//!
//! Unknown names are an error, as in llama.cpp ("unknown pre-tokenizer type"): a wrong regex
//! tokenizes silently wrong, which is worse than refusing the file. A missing or empty
//! `tokenizer.ggml.pre` means "default", as in llama.cpp (which also warns about it).
//!
//! Unicode version: llama.cpp classifies characters (letter, number, punctuation, ...) with its
//! own tables, generated from Unicode 15.1 (`unicode-data.cpp`), while the `regex` crate knows
//! Unicode 16, which added some 5,000 letters, digits, marks and symbols (Garay, Kirat Rai,
//! Egyptian hieroglyphs extended-A, ...). So every `\p{X}` is pinned to characters assigned by
//! 15.1 (`[\p{X}&&\p{age:15.1}]`); with that, L, N, P, S and M agree with llama.cpp's tables on
//! all 1,114,112 code points (whitespace, `\s`, already agrees).
//!
//! Tested token for token against llama.cpp (tests/bpe_synthetic.rs): the `pre` values none
//! (missing), default, gpt-2, llama-bpe, qwen2, qwen35, falcon, starcoder, command-r, poro-chat,
//! viking, tekken, gpt-4o, chatglm-bpe, glm4, dbrx and bloom, i.e. every family in this table
//! (the other accepted names only alias one of them).

/// The Unicode version of llama.cpp's character tables (see the module comment).
pub(crate) const LLAMA_CPP_UNICODE_VERSION: &str = "15.1";

/// `\p{X}` → `[\p{X}&&\p{age:V}]`, valid both inside and outside a bracket class (the regex
/// crate allows nested classes), so a pattern's character classes match what llama.cpp's do.
pub(crate) fn pin_unicode_version(re: &str) -> String {
    let mut out = String::with_capacity(re.len() * 2);
    let mut rest = re;
    while let Some(i) = rest.find("\\p{") {
        // An escaped backslash before `p` (`\\p{`) would not be a property; none of our
        // patterns has one, and the check keeps the rewrite honest.
        let escaped = rest[..i].chars().rev().take_while(|&c| c == '\\').count() % 2 == 1;
        let Some(end) = rest[i..].find('}') else {
            break;
        };
        let prop = &rest[i..i + end + 1];
        out.push_str(&rest[..i]);
        if escaped {
            out.push_str(prop);
        } else {
            out.push_str(&format!("[{prop}&&\\p{{age:{LLAMA_CPP_UNICODE_VERSION}}}]"));
        }
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    out
}

/// One pre-tokenizer family.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PreConfig {
    /// llama.cpp's name for the family (`LLAMA_VOCAB_PRE_TYPE_<family>`), lower-cased.
    pub family: &'static str,
    pub regexes: &'static [&'static str],
    /// Look the whole pre-tokenized word up in the vocabulary before merging (LLaMA 3 style).
    pub ignore_merges: bool,
    /// Families that force `add_bos = true` before `tokenizer.ggml.add_bos_token` is read.
    pub add_bos: bool,
    /// llama.cpp's `clean_spaces` (detokenizer: " ," → ","), true unless the family turns it off.
    pub clean_spaces: bool,
    /// ChatGLM families have no BOS by default.
    pub no_default_bos: bool,
}

// The regexes, named by the llama.cpp family that uses them.
const GPT2: &[&str] = &[r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"];
const LLAMA3: &[&str] = &[
    r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
];
const QWEN2: &[&str] = &[
    r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
];
const QWEN35: &[&str] = &[
    r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
];
const DEFAULT: &[&str] = &[
    r"[\p{P}\$\+<=>\^~\|]+",
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)",
    r"\p{N}+",
    r"[0-9][0-9][0-9]",
];
const FALCON: &[&str] = &[
    r"[\p{P}\$\+<=>\^~\|`]+",
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)",
    r"[0-9][0-9][0-9]",
];
const STARCODER: &[&str] = &[
    r"\p{N}",
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)",
];
const PORO: &[&str] = &[r" ?[^(\s|.,!?…。，、।۔،)]+"];
const VIKING: &[&str] = &[r" ?[^(\s|.,!?…。，、।۔،)]+", r"\p{N}"];
const TEKKEN: &[&str] = &[
    r"[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+",
];
const GPT4O: &[&str] = &[
    r"[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+",
];

/// Every `tokenizer.ggml.pre` value accepted, for error messages.
pub(crate) const SUPPORTED_NAMES: &str =
    "default, llama3, llama-v3, llama-bpe, falcon3, falcon-h1, \
pixtral, midm-2.0, lfm2, jina-v5-nano, dbrx, smaug-bpe, qwen2, deepseek-r1-qwen, kormo, f2llmv2, \
megrez, stablelm2, hunyuan, solar-open, qwen35, gpt-2, phi-2, jina-es, jina-de, gigachat, \
jina-v2-es, jina-v2-de, a.x-4.0, mellum, modern-bert, jina-v1-en, jina-v2-code, roberta-bpe, mpt, \
olmo, jais, trillion, granite-docling, exaone4, falcon, starcoder, refact, command-r, smollm, \
codeshell, exaone, minerva-7b, mellum2, poro-chat, bloom, gpt3-finnish, viking, chatglm-bpe, glm4, \
glm5, tekken, gpt-4o, llama4, kanana2, talkie, minimax-m2";

/// The configuration for a `tokenizer.ggml.pre` value, or `None` if llama.cpp does not know it
/// or this crate does not implement its pre-tokenizer (DeepSeek's hand-written splitters,
/// Kimi-K2, Chameleon, ...).
pub(crate) fn pre_config(pre: &str) -> Option<PreConfig> {
    let c = |family, regexes| PreConfig {
        family,
        regexes,
        ignore_merges: false,
        add_bos: false,
        clean_spaces: true,
        no_default_bos: false,
    };
    Some(match pre {
        "default" | "" => c("default", DEFAULT),
        "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "falcon-h1" | "pixtral" | "midm-2.0"
        | "lfm2" | "jina-v5-nano" => PreConfig {
            ignore_merges: true,
            add_bos: true,
            ..c("llama3", LLAMA3)
        },
        "dbrx" => c("dbrx", LLAMA3),
        "smaug-bpe" => c("smaug", LLAMA3),
        "qwen2" | "deepseek-r1-qwen" | "kormo" | "f2llmv2" => PreConfig {
            clean_spaces: false,
            ..c("qwen2", QWEN2)
        },
        "megrez" | "stablelm2" => c("qwen2", QWEN2),
        "hunyuan" | "solar-open" => PreConfig {
            clean_spaces: false,
            ..c("qwen2", QWEN2)
        },
        "qwen35" => PreConfig {
            clean_spaces: false,
            ..c("qwen35", QWEN35)
        },
        "gpt-2" | "phi-2" | "jina-es" | "jina-de" | "gigachat" | "jina-v2-es" | "jina-v2-de"
        | "a.x-4.0" | "mellum" | "modern-bert" | "jina-v1-en" | "jina-v2-code" | "roberta-bpe"
        | "mpt" | "olmo" | "jais" | "exaone4" => c("gpt2", GPT2),
        "trillion" | "granite-docling" => PreConfig {
            clean_spaces: false,
            ..c("gpt2", GPT2)
        },
        "falcon" => c("falcon", FALCON),
        "starcoder" | "refact" | "codeshell" | "exaone" | "minerva-7b" | "mellum2" => {
            c("starcoder", STARCODER)
        }
        "command-r" | "smollm" => PreConfig {
            clean_spaces: false,
            ..c("starcoder", STARCODER)
        },
        "poro-chat" => PreConfig {
            clean_spaces: false,
            ..c("poro", PORO)
        },
        "bloom" | "gpt3-finnish" => c("poro", PORO),
        "viking" => PreConfig {
            clean_spaces: false,
            ..c("viking", VIKING)
        },
        "chatglm-bpe" => PreConfig {
            no_default_bos: true,
            ..c("chatglm4", LLAMA3)
        },
        "glm4" | "glm5" => PreConfig {
            no_default_bos: true,
            ignore_merges: true,
            ..c("chatglm4", LLAMA3)
        },
        "tekken" => PreConfig {
            clean_spaces: false,
            ignore_merges: true,
            add_bos: true,
            ..c("tekken", TEKKEN)
        },
        "gpt-4o" | "llama4" | "kanana2" | "talkie" | "minimax-m2" => PreConfig {
            clean_spaces: false,
            ..c("gpt4o", GPT4O)
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_properties_inside_and_outside_classes() {
        assert_eq!(
            pin_unicode_version(r"\p{N}{1,3}"),
            r"[\p{N}&&\p{age:15.1}]{1,3}"
        );
        assert_eq!(
            pin_unicode_version(r"[^\r\n\p{L}\p{N}]?\p{L}+"),
            r"[^\r\n[\p{L}&&\p{age:15.1}][\p{N}&&\p{age:15.1}]]?[\p{L}&&\p{age:15.1}]+"
        );
        assert_eq!(pin_unicode_version(r"'s|\s+(?!\S)"), r"'s|\s+(?!\S)");
    }

    #[test]
    fn every_family_compiles() {
        for re in [
            GPT2, LLAMA3, QWEN2, QWEN35, DEFAULT, FALCON, STARCODER, PORO, VIKING, TEKKEN, GPT4O,
        ]
        .concat()
        {
            fancy_regex_compiles(&pin_unicode_version(re));
        }
    }

    fn fancy_regex_compiles(re: &str) {
        use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
        Split::new(
            SplitPattern::Regex(re.to_owned()),
            tokenizers::SplitDelimiterBehavior::Isolated,
            false,
        )
        .unwrap_or_else(|e| panic!("{re}: {e}"));
    }
}
