//! From `VocabSpec` to a checked vocabulary with llama.cpp's defaults and token attributes.
//!
//! llama.cpp does more at load time than read the metadata: it fills in per-model defaults
//! (BOS 1 / EOS 2 / UNK 0 for SPM, ...), finds end-of-turn and fill-in-the-middle tokens by
//! their text when the metadata does not name them, forces "control" on tokens that look like
//! end markers, and collects the end-of-generation set. All of that changes tokenization (which
//! tokens are split out of the text) and detokenization (control tokens print nothing), so it is
//! reproduced here step by step, in llama.cpp's order (`llama_vocab::impl::load`).

use std::collections::{BTreeSet, HashSet};

/// Token text → id (the map HF's BPE model takes over).
pub(crate) type Index = tokenizers::models::bpe::Vocab;

use crate::pre::{pre_config, PreConfig, SUPPORTED_NAMES};
use crate::spec::{keys, SpecialId, TokenizerKind, VocabSpec};
use crate::TokenizerError;

/// Token attribute bits, with llama.cpp's `llama_token_attr` values so they can be compared
/// with its output directly.
pub mod attr {
    pub const UNDEFINED: u32 = 0;
    pub const UNKNOWN: u32 = 1 << 0;
    pub const UNUSED: u32 = 1 << 1;
    pub const NORMAL: u32 = 1 << 2;
    pub const CONTROL: u32 = 1 << 3;
    pub const USER_DEFINED: u32 = 1 << 4;
    pub const BYTE: u32 = 1 << 5;
    pub const NORMALIZED: u32 = 1 << 6;
    pub const LSTRIP: u32 = 1 << 7;
    pub const RSTRIP: u32 = 1 << 8;
    pub const SINGLE_WORD: u32 = 1 << 9;
}

/// Token type values of `tokenizer.ggml.token_type` → attribute bits.
fn attr_of_type(t: i32) -> u32 {
    match t {
        1 => attr::NORMAL,
        2 => attr::UNKNOWN,
        3 => attr::CONTROL,
        4 => attr::USER_DEFINED,
        5 => attr::UNUSED,
        6 => attr::BYTE,
        _ => attr::UNDEFINED,
    }
}

/// End-of-turn candidates, looked for by text when `tokenizer.ggml.eot_token_id` is absent.
const EOT_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "<\u{ff5c}end\u{2581}of\u{2581}sentence\u{ff5c}>",
    "<end_of_utterance>",
];
const EOM_TEXTS: &[&str] = &["<|eom_id|>"];
const FIM_PRE_TEXTS: &[&str] = &[
    "<|fim_prefix|>",
    "<fim-prefix>",
    "<fim_prefix>",
    "<\u{ff5c}fim\u{2581}begin\u{ff5c}>",
    "<PRE>",
    "\u{2581}<PRE>",
    "<|code_prefix|>",
    "<|prefix|>",
];
const FIM_SUF_TEXTS: &[&str] = &[
    "<|fim_suffix|>",
    "<fim-suffix>",
    "<fim_suffix>",
    "<\u{ff5c}fim\u{2581}hole\u{ff5c}>",
    "<SUF>",
    "\u{2581}<SUF>",
    "<|code_suffix|>",
    "<|suffix|>",
];
const FIM_MID_TEXTS: &[&str] = &[
    "<|fim_middle|>",
    "<fim-middle>",
    "<fim_middle>",
    "<\u{ff5c}fim\u{2581}end\u{ff5c}>",
    "<MID>",
    "\u{2581}<MID>",
    "<|code_middle|>",
    "<|middle|>",
];
const FIM_PAD_TEXTS: &[&str] = &["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"];
const FIM_REP_TEXTS: &[&str] = &[
    "<|fim_repo|>",
    "<|repo_name|>",
    "<fim-repo>",
    "<REPO>",
    "<reponame>",
];
const FIM_SEP_TEXTS: &[&str] = &["<|file_sep|>"];

/// Texts that end generation whatever their type (llama.cpp's `special_eog_ids` text list).
const EOG_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "<\u{ff5c}end\u{2581}of\u{2581}sentence\u{ff5c}>",
    "[e~[",
];

/// The checked vocabulary: token table, attributes, special ids and flags.
#[derive(Debug, Clone)]
pub(crate) struct Vocab {
    pub kind: TokenizerKind,
    /// BPE only: the pre-tokenizer family.
    pub pre: Option<PreConfig>,
    pub tokens: Vec<String>,
    pub scores: Vec<f32>,
    pub attrs: Vec<u32>,
    /// BPE only: merges as (left, right) in rank order, duplicates removed (first kept).
    pub merges: Vec<(String, String)>,
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    pub eot: Option<u32>,
    pub eom: Option<u32>,
    pub unk: Option<u32>,
    pub pad: Option<u32>,
    pub add_bos: bool,
    pub add_eos: bool,
    pub add_space_prefix: bool,
    pub clean_spaces: bool,
    pub ignore_merges: bool,
    pub eog: BTreeSet<u32>,
    /// Tokens split out of the text before the model runs (control, user-defined, unknown),
    /// longest text first; equal lengths by id (llama.cpp's order there is unspecified).
    pub special_order: Vec<u32>,
    /// Things that were accepted but are worth knowing (dropped merges, a defaulted `pre`).
    pub warnings: Vec<String>,
}

impl Vocab {
    /// Applies llama.cpp's load-time rules. Also returns the text → id map, built once here
    /// (it is the duplicate check) and handed on to the HF model.
    pub fn from_spec(spec: VocabSpec) -> Result<(Vocab, Index), TokenizerError> {
        let mut warnings = Vec::new();

        // 1. Model kind and the defaults that come with it.
        let kind = match spec.model.as_str() {
            "llama" => TokenizerKind::Spm,
            "gpt2" => TokenizerKind::Bpe,
            other => return Err(TokenizerError::UnsupportedModel(other.to_owned())),
        };
        let n = spec.tokens.len();
        if n == 0 {
            return Err(TokenizerError::EmptyVocab);
        }
        if n > u32::MAX as usize / 2 {
            return Err(TokenizerError::Invalid(format!(
                "{} has {n} entries, too many",
                keys::TOKENS
            )));
        }
        // (bos, eos, unk) defaults; pad, sep, mask and the rest default to none.
        let (mut bos, mut eos, mut unk): (Option<i64>, Option<i64>, Option<i64>);
        let mut add_bos;
        let mut add_eos = false;
        let mut add_space_prefix;
        let clean_spaces;
        let mut ignore_merges = false;
        let mut pre = None;
        match kind {
            TokenizerKind::Spm => {
                (bos, eos, unk) = (Some(1), Some(2), Some(0));
                add_space_prefix = true;
                clean_spaces = false;
                add_bos = true;
            }
            TokenizerKind::Bpe => {
                (bos, eos, unk) = (Some(11), Some(11), None);
                add_space_prefix = false;
                add_bos = false;
                let name = spec.pre.as_deref().unwrap_or("");
                if name.is_empty() {
                    warnings.push(format!(
                        "{} is missing; using the 'default' pre-tokenizer as llama.cpp does",
                        keys::PRE
                    ));
                }
                let cfg = pre_config(name).ok_or_else(|| TokenizerError::UnsupportedPre {
                    pre: name.to_owned(),
                    supported: SUPPORTED_NAMES,
                })?;
                clean_spaces = cfg.clean_spaces;
                ignore_merges = cfg.ignore_merges;
                add_bos |= cfg.add_bos;
                if cfg.no_default_bos {
                    bos = None;
                }
                pre = Some(cfg);
            }
        }
        if let Some(v) = spec.add_space_prefix {
            add_space_prefix = v;
        }

        // 2. Tokens, scores, types.
        let mut tokens = spec.tokens;
        for (i, t) in tokens.iter_mut().enumerate() {
            // llama.cpp renames empty tokens so that every text maps back to one id.
            if t.is_empty() {
                *t = format!("[EMPTY_{i}]");
            }
        }
        let mut index = Index::with_capacity(n);
        for (i, t) in tokens.iter().enumerate() {
            if let Some(first) = index.insert(t.clone(), i as u32) {
                // llama.cpp refuses such a vocabulary too (an assertion on the map size).
                return Err(TokenizerError::DuplicateToken {
                    text: t.clone(),
                    first,
                    second: i as u32,
                });
            }
        }
        let scores = match spec.scores {
            Some(s) if s.len() != n => {
                return Err(TokenizerError::LengthMismatch {
                    key: keys::SCORES,
                    found: s.len(),
                    expected: n,
                })
            }
            Some(s) => s,
            None => {
                if kind == TokenizerKind::Spm {
                    warnings.push(format!(
                        "{} is missing: every merge has the same priority, and ties between different merges are not broken by position as llama.cpp does",
                        keys::SCORES
                    ));
                }
                vec![0.0; n]
            }
        };
        let mut attrs = match &spec.token_types {
            Some(t) if t.len() != n => {
                return Err(TokenizerError::LengthMismatch {
                    key: keys::TOKEN_TYPE,
                    found: t.len(),
                    expected: n,
                })
            }
            Some(t) => t.iter().map(|&t| attr_of_type(t)).collect(),
            None => vec![attr::NORMAL; n],
        };

        // 3. Merges (BPE). llama.cpp splits each entry at the first space after its first
        // byte and keeps the first rank of a repeated pair.
        let mut merges = Vec::new();
        if kind == TokenizerKind::Bpe {
            let list = spec
                .merges
                .as_ref()
                .ok_or(TokenizerError::MissingKey { key: keys::MERGES })?;
            let mut seen_pairs = HashSet::with_capacity(list.len());
            let mut dropped = 0usize;
            let mut malformed = 0usize;
            for m in list {
                let split = m
                    .char_indices()
                    .skip(1)
                    .find(|&(_, c)| c == ' ')
                    .map(|(p, _)| p);
                // llama.cpp stores an entry without a space as the pair ("", ""), which can
                // never apply; we drop it the same way.
                let Some(p) = split else {
                    malformed += 1;
                    continue;
                };
                let (a, b) = (&m[..p], &m[p + 1..]);
                if !seen_pairs.insert((a, b)) {
                    continue;
                }
                merges.push((a.to_owned(), b.to_owned()));
            }
            // A merge whose parts or result are not tokens cannot be expressed in HF's BPE (it
            // works on ids). llama.cpp (string-based) could still apply it as an intermediate
            // step; trained vocabularies have none, so count them rather than fail.
            merges.retain(|(a, b)| {
                let ok = index.contains_key(a.as_str())
                    && index.contains_key(b.as_str())
                    && index.contains_key(format!("{a}{b}").as_str());
                dropped += usize::from(!ok);
                ok
            });
            if malformed > 0 {
                warnings.push(format!(
                    "{malformed} entries of {} are not two tokens separated by a space and were ignored (as llama.cpp does)",
                    keys::MERGES
                ));
            }
            if dropped > 0 {
                warnings.push(format!("{dropped} entries of {} name a token that is not in the vocabulary and were dropped", keys::MERGES));
            }
        }

        // 4. Special ids: defaults out of range are disabled; metadata values must be in range.
        let in_range = |v: Option<i64>| {
            v.filter(|&x| x >= 0 && (x as u64) < n as u64)
                .map(|x| x as u32)
        };
        let from_meta = |s: &Option<SpecialId>| -> Result<Option<u32>, TokenizerError> {
            match s {
                None => Ok(None),
                Some(SpecialId { key, value }) => {
                    if *value < 0 || *value as u64 >= n as u64 {
                        Err(TokenizerError::IdOutOfRange {
                            key,
                            id: *value,
                            n_vocab: n,
                        })
                    } else {
                        Ok(Some(*value as u32))
                    }
                }
            }
        };
        let pick = |meta: &Option<SpecialId>,
                    default: Option<i64>|
         -> Result<Option<u32>, TokenizerError> {
            Ok(from_meta(meta)?.or(if meta.is_none() {
                in_range(default)
            } else {
                None
            }))
        };
        let bos_id = pick(&spec.bos_id, bos.take())?;
        let eos_id = pick(&spec.eos_id, eos.take())?;
        let unk_id = pick(&spec.unk_id, unk.take())?;
        let pad_id = pick(&spec.pad_id, None)?;
        // Read for validation only: nothing in tokenization uses them.
        pick(&spec.sep_id, None)?;
        pick(&spec.mask_id, None)?;
        let mut eot_id = pick(&spec.eot_id, None)?;
        let mut eom_id = pick(&spec.eom_id, None)?;
        let mut fim = [
            pick(&spec.fim_pre_id, None)?,
            pick(&spec.fim_suf_id, None)?,
            pick(&spec.fim_mid_id, None)?,
            pick(&spec.fim_pad_id, None)?,
            pick(&spec.fim_rep_id, None)?,
            pick(&spec.fim_sep_id, None)?,
        ];
        if let Some(v) = spec.add_bos {
            add_bos = v;
        }
        if let Some(v) = spec.add_eos {
            add_eos = v;
        }

        // 5. Ids still unknown are found by text. llama.cpp walks a hash map and takes the first
        // hit, so with several candidates present its choice depends on hash order; we take the
        // first text of the list that is present (its lists start with the most specific
        // markers: "<|eot_id|>" before "<|end_of_text|>"). The chosen token becomes a control
        // token if it was not one. (Every candidate is in the end-of-generation set anyway.)
        let find_first =
            |texts: &[&str]| -> Option<u32> { texts.iter().find_map(|t| index.get(*t).copied()) };
        let detect = |slot: &mut Option<u32>, texts: &[&str], attrs: &mut Vec<u32>| {
            if slot.is_none() {
                if let Some(id) = find_first(texts) {
                    *slot = Some(id);
                    attrs[id as usize] |= attr::CONTROL;
                }
            }
        };
        detect(&mut eot_id, EOT_TEXTS, &mut attrs);
        detect(&mut eom_id, EOM_TEXTS, &mut attrs);
        let fim_texts = [
            FIM_PRE_TEXTS,
            FIM_SUF_TEXTS,
            FIM_MID_TEXTS,
            FIM_PAD_TEXTS,
            FIM_REP_TEXTS,
            FIM_SEP_TEXTS,
        ];
        for (slot, texts) in fim.iter_mut().zip(fim_texts) {
            detect(slot, texts, &mut attrs);
        }

        // 6. Control tokens named "...unused..." are unused.
        for (t, a) in tokens.iter().zip(attrs.iter_mut()) {
            if *a & attr::CONTROL != 0 && t.contains("unused") {
                *a |= attr::UNUSED;
            }
        }

        // 7. End-of-generation set.
        let mut eog = BTreeSet::new();
        eog.extend(fim[3..].iter().flatten());
        for t in EOG_TEXTS {
            if let Some(&i) = index.get(*t) {
                eog.insert(i);
                attrs[i as usize] |= attr::CONTROL;
            }
        }
        // gpt-oss: these must always render, so they are user-defined whatever the file says.
        for t in ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"] {
            if let Some(&i) = index.get(t) {
                attrs[i as usize] = attr::USER_DEFINED;
            }
        }
        eog.extend(eos_id);
        eog.extend(eot_id);
        eog.extend(eom_id);
        // o200k_harmony / solar-open: "<|end|>" ends a message, not the generation.
        let has =
            |eog: &BTreeSet<u32>, text: &str| eog.iter().any(|&id| tokens[id as usize] == text);
        let end_id = eog
            .iter()
            .copied()
            .find(|&id| tokens[id as usize] == "<|end|>");
        if let Some(end_id) = end_id {
            let call = has(&eog, "<|call|>") || has(&eog, "<|calls|>");
            if call && (has(&eog, "<|return|>") || has(&eog, "<|flush|>")) {
                eog.remove(&end_id);
                attrs[end_id as usize] = attr::USER_DEFINED;
            }
        }
        // Gemma 4 and PLaMo use "</s>" as an ordinary token.
        if has(&eog, "<|tool_response>") || has(&eog, "<|plamo:eos|>") {
            if let Some(s_id) = eog
                .iter()
                .copied()
                .find(|&id| tokens[id as usize] == "</s>")
            {
                eog.remove(&s_id);
                attrs[s_id as usize] = attr::NORMAL;
            }
        }

        // 8. Tokens split out before tokenization, longest first.
        let mut special_order: Vec<u32> = (0..n as u32)
            .filter(|&i| {
                attrs[i as usize] & (attr::CONTROL | attr::USER_DEFINED | attr::UNKNOWN) != 0
            })
            .collect();
        special_order.sort_by(|&a, &b| {
            tokens[b as usize]
                .len()
                .cmp(&tokens[a as usize].len())
                .then(a.cmp(&b))
        });

        // 9. Per-model strip flags, keyed on names as llama.cpp does.
        let lower_name = spec.general_name.as_deref().unwrap_or("").to_lowercase();
        let pre_name = spec.pre.as_deref().unwrap_or("");
        let arch = spec.general_arch.as_deref().unwrap_or("");
        let id_of = |text: &str| index.get(text).map(|&i| i as usize);
        if ["jina-v2-de", "jina-v2-es", "jina-v2-code"]
            .iter()
            .any(|p| pre_name.contains(p))
            || ["nomic-bert-moe", "jina-bert-v3"]
                .iter()
                .any(|p| arch.contains(p))
        {
            if let Some(i) = id_of("<mask>") {
                attrs[i] |= attr::LSTRIP;
            }
        } else if lower_name.contains("phi-3") || lower_name.contains("phi3") {
            for &i in &special_order {
                attrs[i as usize] |= attr::RSTRIP;
            }
            if let Some(i) = id_of("</s>") {
                attrs[i] |= attr::RSTRIP;
            }
            for t in ["<unk>", "<s>", "<|endoftext|>"] {
                if let Some(i) = id_of(t) {
                    attrs[i] &= !attr::RSTRIP;
                }
            }
        } else if lower_name.contains("modern-bert") {
            if let Some(i) = id_of("[MASK]") {
                attrs[i] |= attr::LSTRIP;
            }
        }

        Ok((
            Vocab {
                kind,
                pre,
                tokens,
                scores,
                attrs,
                merges,
                bos: bos_id,
                eos: eos_id,
                eot: eot_id,
                eom: eom_id,
                unk: unk_id,
                pad: pad_id,
                add_bos,
                add_eos,
                add_space_prefix,
                clean_spaces,
                ignore_merges,
                eog,
                special_order,
                warnings,
            },
            index,
        ))
    }
}
