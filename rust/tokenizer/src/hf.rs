//! Building the `tokenizers::Tokenizer` for each flavour.
//!
//! SPM: llama.cpp's SentencePiece tokenizer (`llm_tokenizer_spm`) starts from the characters of
//! the text and repeatedly merges the adjacent pair whose concatenation is a vocabulary token
//! with the highest score, the leftmost pair on ties; characters left that are not tokens
//! become `<0xXX>` byte tokens. That is a BPE whose merge list is implied by the scores: every
//! way of cutting a token into two tokens is a merge, ranked by the score of the token it makes.
//! HF's BPE applies the lowest-rank merge present, leftmost on ties of the same merge, and
//! falls back to `<0xXX>` tokens for characters outside the vocabulary (`byte_fallback`), so
//! with these merges it makes the same choices, with one difference: two *different* merges
//! with equal scores are ordered by rank here (result id, then cut position) but by position in
//! llama.cpp. That only changes the outcome when such equal-score merges compete for the same
//! symbol; in SentencePiece vocabularies, normal tokens have distinct scores and the tokens that
//! share a score (control, user-defined, byte tokens: -1000 or 0 in Gemma 3) cannot overlap that
//! way (checked for Gemma 3 by the tests against llama.cpp). A second, theoretical difference:
//! a token containing a character that is not itself a token. llama.cpp's symbols are strings,
//! so it can still build such a token; HF turns the character into byte tokens first.
//! SentencePiece keeps every character of its pieces in the vocabulary, so this does not occur
//! in practice (none in Gemma 3); `build` warns if it does.
//!
//! BPE: byte-level BPE with the file's merges, HF `Split` pre-tokenizers with llama.cpp's
//! regexes for `tokenizer.ggml.pre`, then `ByteLevel` (bytes → GPT-2's printable characters).

use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::byte_level::ByteLevel;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
use tokenizers::decoders::strip::Strip;
use tokenizers::models::bpe::BPE;
use tokenizers::normalizers::{Prepend, Replace, Sequence as NormalizerSequence};
use tokenizers::pre_tokenizers::sequence::Sequence as PreSequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{
    AddedToken, DecoderWrapper, NormalizerWrapper, PreTokenizerWrapper, SplitDelimiterBehavior,
};

use crate::pre::pin_unicode_version;
use crate::spec::TokenizerKind;
use crate::vocab::{attr, Index, Vocab};
use crate::TokenizerError;

const SPACE_MARK: &str = "\u{2581}";

fn build_err(what: &str, e: impl std::fmt::Display) -> TokenizerError {
    TokenizerError::Build(format!("{what}: {e}"))
}

/// The merges implied by SentencePiece scores, best first: for every token, every cut into two
/// tokens, ranked by the token's score (higher first), then token id, then cut position.
/// Linear in the total length of the vocabulary (each cut is two hash lookups).
///
/// Also returns how many normal tokens share their score with another normal token that is a
/// merge result too: the case where this ranking can differ from llama.cpp (see module doc).
pub(crate) fn spm_merges(vocab: &Vocab, ids: &Index) -> (Vec<(String, String)>, usize) {
    // (score, token id, cut byte offset)
    let mut cuts: Vec<(f32, u32, u32)> = Vec::new();
    for (id, t) in vocab.tokens.iter().enumerate() {
        for (k, _) in t.char_indices().skip(1) {
            if ids.contains_key(&t[..k]) && ids.contains_key(&t[k..]) {
                // A total order for sorting: NaN last, -0 == +0 (llama.cpp compares with `<`).
                let s = vocab.scores[id];
                let s = if s.is_nan() {
                    f32::NEG_INFINITY
                } else {
                    s + 0.0
                };
                cuts.push((s, id as u32, k as u32));
            }
        }
    }
    cuts.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let normal = |id: u32| vocab.attrs[id as usize] == attr::NORMAL;
    let mut tied = 0;
    let mut prev: Option<(f32, u32)> = None;
    for &(s, id, _) in &cuts {
        if let Some((ps, pid)) = prev {
            if ps == s && pid != id && normal(pid) && normal(id) {
                tied += 1;
            }
        }
        prev = Some((s, id));
    }
    let merges = cuts
        .into_iter()
        .map(|(_, id, k)| {
            let t = &vocab.tokens[id as usize];
            (t[..k as usize].to_owned(), t[k as usize..].to_owned())
        })
        .collect();
    (merges, tied)
}

/// How many distinct characters of normal tokens are not single-character tokens.
fn chars_missing_from_vocab(vocab: &Vocab, index: &Index) -> usize {
    let mut seen = vec![false; char::MAX as usize + 1];
    let mut missing = 0;
    for (t, &a) in vocab.tokens.iter().zip(&vocab.attrs) {
        if a != attr::NORMAL {
            continue;
        }
        for c in t.chars() {
            if !std::mem::replace(&mut seen[c as usize], true) {
                let mut buf = [0u8; 4];
                missing += usize::from(!index.contains_key(&*c.encode_utf8(&mut buf)));
            }
        }
    }
    missing
}

/// Builds the full `tokenizers` pipeline for a vocabulary; also returns warnings.
pub(crate) fn build(
    vocab: &Vocab,
    index: Index,
) -> Result<(tokenizers::Tokenizer, Vec<String>), TokenizerError> {
    let mut warnings = Vec::new();
    let mut tk = match vocab.kind {
        TokenizerKind::Spm => {
            let missing = chars_missing_from_vocab(vocab, &index);
            if missing > 0 {
                warnings.push(format!(
                    "{missing} characters occur in normal tokens but are not tokens themselves; llama.cpp can still form those tokens, this tokenizer cannot"
                ));
            }
            let (merges, tied) = spm_merges(vocab, &index);
            if tied > 0 {
                warnings.push(format!(
                    "{tied} normal tokens share their score with another one; llama.cpp orders such merges by position, this tokenizer by token id, so rare inputs may tokenize differently"
                ));
            }
            let mut b = BPE::builder()
                .vocab_and_merges(index, merges)
                .byte_fallback(true);
            // Only reached for characters that have no `<0xXX>` token either (llama.cpp aborts there).
            if let Some(unk) = vocab.unk {
                b = b.unk_token(vocab.tokens[unk as usize].clone());
            }
            let model = b.build().map_err(|e| build_err("SPM model", e))?;
            let mut tk = tokenizers::Tokenizer::new(model);
            let mut norms: Vec<NormalizerWrapper> = Vec::new();
            if vocab.add_space_prefix {
                norms.push(Prepend::new(" ".to_owned()).into());
            }
            norms.push(
                Replace::new(" ", SPACE_MARK)
                    .map_err(|e| build_err("normalizer", e))?
                    .into(),
            );
            tk.with_normalizer(Some(NormalizerSequence::new(norms)));
            let mut decs: Vec<DecoderWrapper> = vec![
                Replace::new(SPACE_MARK, " ")
                    .map_err(|e| build_err("decoder", e))?
                    .into(),
                ByteFallback::new().into(),
                Fuse::new().into(),
            ];
            if vocab.add_space_prefix {
                decs.push(Strip::new(' ', 1, 0).into());
            }
            tk.with_decoder(Some(DecoderSequence::new(decs)));
            tk
        }
        TokenizerKind::Bpe => {
            let pre = vocab
                .pre
                .as_ref()
                .ok_or_else(|| build_err("BPE", "no pre-tokenizer"))?;
            let model = BPE::builder()
                .vocab_and_merges(index, vocab.merges.clone())
                .ignore_merges(vocab.ignore_merges)
                .build()
                .map_err(|e| build_err("BPE model", e))?;
            let mut tk = tokenizers::Tokenizer::new(model);
            let mut pres: Vec<PreTokenizerWrapper> = Vec::new();
            for re in pre.regexes {
                let split = Split::new(
                    SplitPattern::Regex(pin_unicode_version(re)),
                    SplitDelimiterBehavior::Isolated,
                    false,
                )
                .map_err(|e| build_err(&format!("pre-tokenizer regex {re:?}"), e))?;
                pres.push(split.into());
            }
            pres.push(ByteLevel::new(false, false, false).into());
            tk.with_pre_tokenizer(Some(PreSequence::new(pres)));
            tk.with_decoder(Some(ByteLevel::new(false, false, false)));
            tk
        }
    };

    // Special tokens, so the standalone HF tokenizer splits them out too. (`Tokenizer::encode`
    // does its own splitting, with llama.cpp's rules, and never relies on these.)
    let (mut special, mut user): (Vec<AddedToken>, Vec<AddedToken>) = (Vec::new(), Vec::new());
    for &id in &vocab.special_order {
        let a = vocab.attrs[id as usize];
        let is_special = a & (attr::CONTROL | attr::UNKNOWN) != 0;
        let t = AddedToken::from(vocab.tokens[id as usize].clone(), is_special)
            .normalized(false)
            .lstrip(a & attr::LSTRIP != 0)
            .rstrip(a & attr::RSTRIP != 0);
        if is_special {
            special.push(t);
        } else {
            user.push(t);
        }
    }
    tk.add_special_tokens(&special);
    tk.add_tokens(&user);

    // BOS/EOS as the metadata asks, for `encode(text, true)` on the HF tokenizer.
    let mut single: Vec<String> = Vec::new();
    let mut specials: Vec<(String, u32)> = Vec::new();
    if let (true, Some(b)) = (vocab.add_bos, vocab.bos) {
        single.push(vocab.tokens[b as usize].clone());
        specials.push((vocab.tokens[b as usize].clone(), b));
    }
    single.push("$A".to_owned());
    if let (true, Some(e)) = (vocab.add_eos, vocab.eos) {
        single.push(vocab.tokens[e as usize].clone());
        specials.push((vocab.tokens[e as usize].clone(), e));
    }
    if !specials.is_empty() {
        // Token texts with ':' or whitespace cannot be written in a template; skip it then.
        match TemplateProcessing::builder().try_single(single).map(|b| b.special_tokens(specials).build()) {
            Ok(Ok(tp)) => {
                tk.with_post_processor(Some(tp));
            }
            _ => warnings.push(
                "the BOS/EOS token text cannot be written as an HF template; hf() does not add them (encode() does)"
                    .to_owned(),
            ),
        }
    }
    Ok((tk, warnings))
}
