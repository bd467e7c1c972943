//! Tokenizers built from GGUF `tokenizer.ggml.*` metadata, giving the same token ids as
//! llama.cpp for the same file and text.
//!
//! ```ignore
//! let g = gguf::parse_header(&bytes)?;
//! let tok = tokenizer::Tokenizer::from_gguf(&g)?;
//! let ids = tok.encode("<start_of_turn>user\nhi<end_of_turn>\n", true, true)?;
//! let mut stream = tokenizer::StreamDecoder::new();
//! for &id in &generated { print!("{}", stream.push(&tok, id)); }
//! print!("{}", stream.flush());
//! ```
//!
//! How it is put together:
//!
//! 1. `spec`: the metadata, read into [`VocabSpec`] (the only place that knows key names).
//! 2. `vocab`: llama.cpp's load-time rules on top (defaults per model kind, end-of-turn and
//!    FIM tokens found by text, forced control tokens, the end-of-generation set).
//! 3. `hf`: a `tokenizers::Tokenizer` (model, normalizer, pre-tokenizer, decoder, added tokens)
//!    for the flavour: SPM as a BPE whose merges are derived from the scores, byte-level BPE
//!    with llama.cpp's pre-tokenizer regexes (see `hf.rs` and `pre.rs` for why and how).
//! 4. `special`: llama.cpp's special-token splitting, done before the HF pipeline runs on each
//!    text fragment (its order differs from HF's added-token matching in corner cases, and it
//!    depends on `parse_special`).
//! 5. `decode`: llama.cpp's `token_to_piece`/`detokenize`, and [`StreamDecoder`].

mod decode;
mod hf;
mod pre;
mod spec;
mod special;
mod vocab;

use tokenizers::{Model, NormalizedString, Normalizer};
use tokenizers::{OffsetReferential, OffsetType, PreTokenizedString, PreTokenizer};

pub use decode::StreamDecoder;
pub use spec::{keys, SpecialId, TokenizerKind, VocabSpec};
pub use vocab::attr;

use special::{Fragment, SpecialSplitter};
use vocab::Vocab;

/// Everything that can go wrong building or using a tokenizer. Messages name the metadata key
/// or the value at fault.
#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    #[error("GGUF metadata: {0}")]
    Metadata(#[from] gguf::GgufError),
    #[error("metadata key '{key}' is missing")]
    MissingKey { key: &'static str },
    #[error("metadata key '{key}' has type {found}, expected {expected}")]
    WrongType {
        key: &'static str,
        expected: &'static str,
        found: String,
    },
    #[error("tokenizer.ggml.model '{0}' is not supported (supported: llama, gpt2)")]
    UnsupportedModel(String),
    #[error("tokenizer.ggml.pre '{pre}' is not supported (supported: {supported})")]
    UnsupportedPre {
        pre: String,
        supported: &'static str,
    },
    #[error("tokenizer.ggml.tokens is empty")]
    EmptyVocab,
    #[error("'{key}' has {found} entries but tokenizer.ggml.tokens has {expected}")]
    LengthMismatch {
        key: &'static str,
        found: usize,
        expected: usize,
    },
    #[error("'{key}' = {id} is not a token id (the vocabulary has {n_vocab} tokens)")]
    IdOutOfRange {
        key: &'static str,
        id: i64,
        n_vocab: usize,
    },
    #[error("tokenizer.ggml.tokens has the text {text:?} twice, at ids {first} and {second}")]
    DuplicateToken {
        text: String,
        first: u32,
        second: u32,
    },
    #[error(
        "the vocabulary asks for a {what} token but has none (set tokenizer.ggml.{what}_token_id)"
    )]
    MissingSpecialToken { what: &'static str },
    #[error("invalid tokenizer metadata: {0}")]
    Invalid(String),
    #[error("building the tokenizer failed: {0}")]
    Build(String),
    #[error("tokenizing failed: {0}")]
    Encode(String),
}

/// A tokenizer for one GGUF vocabulary. Cheap to share (`&self` everywhere); building one for a
/// 262k-token SPM vocabulary takes a fraction of a second in release builds.
pub struct Tokenizer {
    vocab: Vocab,
    hf: tokenizers::Tokenizer,
    splitter: SpecialSplitter,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("kind", &self.vocab.kind)
            .field("vocab_size", &self.vocab.tokens.len())
            .field("bos", &self.vocab.bos)
            .field("eos", &self.vocab.eos)
            .finish_non_exhaustive()
    }
}

impl Tokenizer {
    /// Builds the tokenizer of a parsed GGUF header.
    pub fn from_gguf(g: &gguf::Gguf) -> Result<Tokenizer, TokenizerError> {
        Tokenizer::from_spec(VocabSpec::from_gguf(g)?)
    }

    /// Builds a tokenizer from metadata already read (or written by hand, in tests).
    pub fn from_spec(spec: VocabSpec) -> Result<Tokenizer, TokenizerError> {
        let (mut vocab, index) = Vocab::from_spec(spec)?;
        let (hf, warnings) = hf::build(&vocab, index)?;
        vocab.warnings.extend(warnings);
        let splitter = SpecialSplitter::new(&vocab)?;
        Ok(Tokenizer {
            vocab,
            hf,
            splitter,
        })
    }

    /// Text → token ids, as llama.cpp's `llama_tokenize(text, add_special, parse_special)`.
    ///
    /// `add_special`: add BOS/EOS where the vocabulary says so (`tokenizer.ggml.add_bos_token`,
    /// `add_eos_token`; SPM adds BOS by default). `parse_special`: control tokens written in the
    /// text (`<start_of_turn>`) become their ids; otherwise they are tokenized as plain text.
    /// User-defined tokens are matched either way, as in llama.cpp.
    pub fn encode(
        &self,
        text: &str,
        add_special: bool,
        parse_special: bool,
    ) -> Result<Vec<u32>, TokenizerError> {
        let v = &self.vocab;
        let mut out = Vec::with_capacity(text.len() / 3 + 2);
        if add_special && v.add_bos {
            out.push(
                v.bos
                    .ok_or(TokenizerError::MissingSpecialToken { what: "bos" })?,
            );
        }
        for frag in self.splitter.split(v, text, parse_special) {
            match frag {
                Fragment::Token(id) => out.push(id),
                Fragment::Text { start, end } => {
                    self.encode_fragment(&text[start..end], &mut out)?
                }
            }
        }
        if add_special && v.add_eos {
            out.push(
                v.eos
                    .ok_or(TokenizerError::MissingSpecialToken { what: "eos" })?,
            );
        }
        Ok(out)
    }

    /// One fragment between special tokens through the HF pipeline: normalizer (SPM: space
    /// prefix and U+2581), pre-tokenizer (BPE: regex splits, byte-level), model.
    fn encode_fragment(&self, text: &str, out: &mut Vec<u32>) -> Result<(), TokenizerError> {
        let err = |e: tokenizers::Error| TokenizerError::Encode(e.to_string());
        let mut normalized = NormalizedString::from(text);
        if let Some(n) = self.hf.get_normalizer() {
            n.normalize(&mut normalized).map_err(err)?;
        }
        let mut pre = PreTokenizedString::from(normalized);
        if let Some(p) = self.hf.get_pre_tokenizer() {
            p.pre_tokenize(&mut pre).map_err(err)?;
        }
        let model = self.hf.get_model();
        pre.tokenize(|n| model.tokenize(n.get())).map_err(err)?;
        for (_, _, tokens) in pre.get_splits(OffsetReferential::Original, OffsetType::None) {
            if let Some(tokens) = tokens {
                out.extend(tokens.iter().map(|t| t.id));
            }
        }
        Ok(())
    }

    /// The bytes a token stands for, as llama.cpp's `token_to_piece(id, special = false)`:
    /// empty for control tokens (and unknown/unused ones) and for ids out of range.
    /// Bytes, not text: a byte token or a byte-level piece may be part of a UTF-8 character.
    pub fn token_to_piece(&self, id: u32) -> Vec<u8> {
        let mut out = Vec::new();
        decode::token_to_piece(&self.vocab, id, &mut out);
        out
    }

    /// Ids → text, as llama.cpp's `llama_detokenize(remove_special = false,
    /// unparse_special = false)`: control tokens print nothing, the space prefix an SPM
    /// vocabulary adds is removed from the first token, and BPE vocabularies that ask for it
    /// get HF's `clean_up_tokenization_spaces`. Invalid UTF-8 becomes U+FFFD. Ids out of range
    /// print nothing.
    pub fn decode(&self, ids: &[u32]) -> String {
        String::from_utf8_lossy(&decode::detokenize(&self.vocab, ids)).into_owned()
    }

    pub fn kind(&self) -> TokenizerKind {
        self.vocab.kind
    }

    pub fn vocab_size(&self) -> usize {
        self.vocab.tokens.len()
    }

    /// The token's text as stored in the vocabulary (U+2581 for spaces in SPM, GPT-2's
    /// byte-level characters in BPE).
    pub fn token_text(&self, id: u32) -> Option<&str> {
        self.vocab.tokens.get(id as usize).map(String::as_str)
    }

    /// The id of a vocabulary text, if any.
    pub fn token_id(&self, text: &str) -> Option<u32> {
        self.hf.get_model().token_to_id(text)
    }

    /// llama.cpp's attribute bits for a token (see [`attr`]), after its load-time fix-ups.
    pub fn token_attr(&self, id: u32) -> Option<u32> {
        self.vocab.attrs.get(id as usize).copied()
    }

    pub fn token_score(&self, id: u32) -> Option<f32> {
        self.vocab.scores.get(id as usize).copied()
    }

    pub fn bos_id(&self) -> Option<u32> {
        self.vocab.bos
    }

    pub fn eos_id(&self) -> Option<u32> {
        self.vocab.eos
    }

    /// End of turn (`<end_of_turn>`, `<|eot_id|>`, `<|im_end|>`, ...), from the metadata or
    /// found by text.
    pub fn eot_id(&self) -> Option<u32> {
        self.vocab.eot
    }

    /// End of message (`<|eom_id|>`).
    pub fn eom_id(&self) -> Option<u32> {
        self.vocab.eom
    }

    pub fn unk_id(&self) -> Option<u32> {
        self.vocab.unk
    }

    pub fn pad_id(&self) -> Option<u32> {
        self.vocab.pad
    }

    /// Whether `encode(_, add_special = true, _)` starts with BOS.
    pub fn add_bos(&self) -> bool {
        self.vocab.add_bos
    }

    /// Whether `encode(_, add_special = true, _)` ends with EOS.
    pub fn add_eos(&self) -> bool {
        self.vocab.add_eos
    }

    /// Whether generation should stop at this token: llama.cpp's end-of-generation set (EOS,
    /// EOT, EOM, FIM pad/repo/separator, and tokens whose text is a known end marker such as
    /// `<end_of_turn>`, `<|eot_id|>`, `<|im_end|>`, `<|endoftext|>`, `</s>`).
    pub fn is_end_of_generation(&self, id: u32) -> bool {
        self.vocab.eog.contains(&id)
    }

    /// The end-of-generation set, ascending.
    pub fn end_of_generation_ids(&self) -> Vec<u32> {
        self.vocab.eog.iter().copied().collect()
    }

    /// Whether this is a control token (prints nothing; only produced from text when
    /// `parse_special` is on).
    pub fn is_control(&self, id: u32) -> bool {
        self.token_attr(id).is_some_and(|a| a & attr::CONTROL != 0)
    }

    /// Things accepted while building that may matter (a defaulted pre-tokenizer, merges
    /// dropped because they name unknown tokens, missing scores).
    pub fn warnings(&self) -> &[String] {
        &self.vocab.warnings
    }

    /// The `tokenizers` pipeline underneath, for interop (e.g. `hf().to_string(false)` writes a
    /// `tokenizer.json`). Its own `encode` splits added tokens HF's way (leftmost-longest, always
    /// parsing special tokens); [`Tokenizer::encode`] is the llama.cpp-exact one.
    pub fn hf(&self) -> &tokenizers::Tokenizer {
        &self.hf
    }
}
