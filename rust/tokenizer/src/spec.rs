//! `VocabSpec`: the `tokenizer.ggml.*` metadata of a GGUF, read into plain Rust types.
//!
//! This is the only place that knows GGUF key names. Everything after it (the llama.cpp-style
//! defaults and token attributes in `vocab.rs`, the `tokenizers` pipelines) works on this struct,
//! so it can also be filled by hand in tests.

use crate::TokenizerError;

/// Which tokenizer algorithm a vocabulary uses (`tokenizer.ggml.model`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenizerKind {
    /// `"llama"`: SentencePiece BPE over characters, scores as merge priorities, `<0xXX>` byte
    /// fallback, spaces written as U+2581 (Gemma, LLaMA 1/2, TinyLlama, Mistral).
    Spm,
    /// `"gpt2"`: byte-level BPE with an explicit merge list and a regex pre-tokenizer chosen
    /// by `tokenizer.ggml.pre` (LLaMA 3, Qwen2, GPT-2, ...).
    Bpe,
}

/// GGUF metadata keys read here (llama.cpp's names, `gguf-py/gguf/constants.py`).
pub mod keys {
    pub const MODEL: &str = "tokenizer.ggml.model";
    pub const PRE: &str = "tokenizer.ggml.pre";
    pub const TOKENS: &str = "tokenizer.ggml.tokens";
    pub const SCORES: &str = "tokenizer.ggml.scores";
    pub const TOKEN_TYPE: &str = "tokenizer.ggml.token_type";
    pub const MERGES: &str = "tokenizer.ggml.merges";
    pub const BOS_ID: &str = "tokenizer.ggml.bos_token_id";
    pub const EOS_ID: &str = "tokenizer.ggml.eos_token_id";
    pub const EOT_ID: &str = "tokenizer.ggml.eot_token_id";
    pub const EOM_ID: &str = "tokenizer.ggml.eom_token_id";
    pub const UNK_ID: &str = "tokenizer.ggml.unknown_token_id";
    pub const SEP_ID: &str = "tokenizer.ggml.seperator_token_id"; // sic, as in GGUF
    pub const PAD_ID: &str = "tokenizer.ggml.padding_token_id";
    pub const MASK_ID: &str = "tokenizer.ggml.mask_token_id";
    pub const FIM_PRE_ID: &str = "tokenizer.ggml.fim_pre_token_id";
    pub const FIM_SUF_ID: &str = "tokenizer.ggml.fim_suf_token_id";
    pub const FIM_MID_ID: &str = "tokenizer.ggml.fim_mid_token_id";
    pub const FIM_PAD_ID: &str = "tokenizer.ggml.fim_pad_token_id";
    pub const FIM_REP_ID: &str = "tokenizer.ggml.fim_rep_token_id";
    pub const FIM_SEP_ID: &str = "tokenizer.ggml.fim_sep_token_id";
    // Deprecated spellings of the first three FIM keys; read when the new ones are absent.
    pub const PREFIX_ID: &str = "tokenizer.ggml.prefix_token_id";
    pub const SUFFIX_ID: &str = "tokenizer.ggml.suffix_token_id";
    pub const MIDDLE_ID: &str = "tokenizer.ggml.middle_token_id";
    pub const ADD_BOS: &str = "tokenizer.ggml.add_bos_token";
    pub const ADD_EOS: &str = "tokenizer.ggml.add_eos_token";
    pub const ADD_SPACE_PREFIX: &str = "tokenizer.ggml.add_space_prefix";
    pub const GENERAL_NAME: &str = "general.name";
    pub const GENERAL_ARCH: &str = "general.architecture";
}

/// A special-token id as written in the metadata: the key it came from and its raw value
/// (kept wide so an out-of-range or negative value can be reported, not truncated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecialId {
    pub key: &'static str,
    pub value: i64,
}

/// Everything the tokenizer needs from `tokenizer.ggml.*`, before any defaulting.
/// `None` means "key absent"; defaults are applied (as llama.cpp applies them) in `vocab.rs`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VocabSpec {
    /// `tokenizer.ggml.model`, e.g. "llama" or "gpt2".
    pub model: String,
    /// `tokenizer.ggml.pre`; only BPE vocabularies use it.
    pub pre: Option<String>,
    pub tokens: Vec<String>,
    pub scores: Option<Vec<f32>>,
    /// llama.cpp token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
    pub token_types: Option<Vec<i32>>,
    /// BPE merges, "left right" strings in rank order.
    pub merges: Option<Vec<String>>,
    pub bos_id: Option<SpecialId>,
    pub eos_id: Option<SpecialId>,
    pub eot_id: Option<SpecialId>,
    pub eom_id: Option<SpecialId>,
    pub unk_id: Option<SpecialId>,
    pub sep_id: Option<SpecialId>,
    pub pad_id: Option<SpecialId>,
    pub mask_id: Option<SpecialId>,
    pub fim_pre_id: Option<SpecialId>,
    pub fim_suf_id: Option<SpecialId>,
    pub fim_mid_id: Option<SpecialId>,
    pub fim_pad_id: Option<SpecialId>,
    pub fim_rep_id: Option<SpecialId>,
    pub fim_sep_id: Option<SpecialId>,
    pub add_bos: Option<bool>,
    pub add_eos: Option<bool>,
    pub add_space_prefix: Option<bool>,
    /// `general.name` and `general.architecture`: llama.cpp keys a few per-model token
    /// attribute quirks on them (Phi-3's right-stripping special tokens, for one).
    pub general_name: Option<String>,
    pub general_arch: Option<String>,
}

impl VocabSpec {
    /// Reads the tokenizer metadata of a parsed GGUF header. Fails on a missing
    /// `tokenizer.ggml.model` / `tokenizer.ggml.tokens` or a value of the wrong type, naming the key.
    pub fn from_gguf(g: &gguf::Gguf) -> Result<VocabSpec, TokenizerError> {
        let model = g
            .get_str_opt(keys::MODEL)?
            .ok_or(TokenizerError::MissingKey { key: keys::MODEL })?
            .to_owned();
        let tokens: Vec<String> = g
            .get_str_array_opt(keys::TOKENS)?
            .ok_or(TokenizerError::MissingKey { key: keys::TOKENS })?
            .into_iter()
            .map(str::to_owned)
            .collect();
        let merges = g
            .get_str_array_opt(keys::MERGES)?
            .map(|m| m.into_iter().map(str::to_owned).collect());
        let id = |key: &'static str| -> Result<Option<SpecialId>, TokenizerError> {
            match g.get(key) {
                None => Ok(None),
                Some(v) => match v.as_i64() {
                    Some(value) => Ok(Some(SpecialId { key, value })),
                    None => Err(TokenizerError::WrongType {
                        key,
                        expected: "an integer token id",
                        found: v.type_name().to_owned(),
                    }),
                },
            }
        };
        let fim_or =
            |new: &'static str, old: &'static str| -> Result<Option<SpecialId>, TokenizerError> {
                // llama.cpp reads the deprecated key after the new one, so the old one wins when
                // both are present; converters never write both.
                Ok(id(old)?.or(id(new)?))
            };
        Ok(VocabSpec {
            model,
            pre: g.get_str_opt(keys::PRE)?.map(str::to_owned),
            tokens,
            scores: g.get_f32_array_opt(keys::SCORES)?,
            token_types: g.get_i32_array_opt(keys::TOKEN_TYPE)?,
            merges,
            bos_id: id(keys::BOS_ID)?,
            eos_id: id(keys::EOS_ID)?,
            eot_id: id(keys::EOT_ID)?,
            eom_id: id(keys::EOM_ID)?,
            unk_id: id(keys::UNK_ID)?,
            sep_id: id(keys::SEP_ID)?,
            pad_id: id(keys::PAD_ID)?,
            mask_id: id(keys::MASK_ID)?,
            fim_pre_id: fim_or(keys::FIM_PRE_ID, keys::PREFIX_ID)?,
            fim_suf_id: fim_or(keys::FIM_SUF_ID, keys::SUFFIX_ID)?,
            fim_mid_id: fim_or(keys::FIM_MID_ID, keys::MIDDLE_ID)?,
            fim_pad_id: id(keys::FIM_PAD_ID)?,
            fim_rep_id: id(keys::FIM_REP_ID)?,
            fim_sep_id: id(keys::FIM_SEP_ID)?,
            add_bos: g.get_bool_opt(keys::ADD_BOS)?,
            add_eos: g.get_bool_opt(keys::ADD_EOS)?,
            add_space_prefix: g.get_bool_opt(keys::ADD_SPACE_PREFIX)?,
            // Informational keys: a malformed one must not make the vocabulary unusable.
            general_name: g
                .get(keys::GENERAL_NAME)
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            general_arch: g
                .get(keys::GENERAL_ARCH)
                .and_then(|v| v.as_str())
                .map(str::to_owned),
        })
    }
}
