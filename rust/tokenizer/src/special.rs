//! Splitting special-token texts out of the input before the model runs, with llama.cpp's rules
//! (`tokenizer_st_partition` in `llama-vocab.cpp`):
//!
//! - Candidates are control, user-defined and unknown tokens. With `parse_special = false`
//!   control and unknown tokens are left in the text (and then tokenized as ordinary text), but
//!   user-defined tokens are still split out, as HF `tokenizers` does for non-special added tokens.
//! - Tokens are taken one at a time, **longest text first**; each splits every remaining text
//!   fragment at all of its (leftmost, non-overlapping) occurrences. This is not the same as a
//!   leftmost-longest scan: with tokens "bcd" and "ab", "abcd" becomes "a" + "bcd".
//!   Equal-length tokens are taken in id order (llama.cpp's sort is unstable there).
//! - A token with the LSTRIP attribute swallows ASCII whitespace (C `isspace`) to its left,
//!   RSTRIP to its right; fragments left empty disappear.
//!
//! Only tokens that occur somewhere in the text can split anything, so an Aho-Corasick pass over
//! the text first finds those (Gemma 3 has 6,400 special tokens; a prompt uses a handful), and
//! the exact procedure above then runs over them alone.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::vocab::{attr, Vocab};
use crate::TokenizerError;

/// A piece of the input after splitting: raw text (a byte range of the input) or a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fragment {
    Text { start: usize, end: usize },
    Token(u32),
}

pub(crate) struct SpecialSplitter {
    /// Special token ids, in processing order (longest first).
    order: Vec<u32>,
    /// Pattern i of the automaton is the text of `order[i]`.
    automaton: Option<AhoCorasick>,
}

/// C's `isspace` in the "C" locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

impl SpecialSplitter {
    pub fn new(vocab: &Vocab) -> Result<SpecialSplitter, TokenizerError> {
        let order = vocab.special_order.clone();
        let automaton = if order.is_empty() {
            None
        } else {
            let patterns = order.iter().map(|&id| vocab.tokens[id as usize].as_bytes());
            Some(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::Standard)
                    .build(patterns)
                    .map_err(|e| TokenizerError::Build(format!("special-token matcher: {e}")))?,
            )
        };
        Ok(SpecialSplitter { order, automaton })
    }

    pub fn split(&self, vocab: &Vocab, text: &str, parse_special: bool) -> Vec<Fragment> {
        let mut frags = Vec::new();
        if text.is_empty() {
            return frags;
        }
        frags.push(Fragment::Text {
            start: 0,
            end: text.len(),
        });
        let Some(ac) = &self.automaton else {
            return frags;
        };
        let mut present = vec![false; self.order.len()];
        let mut any = false;
        for m in ac.find_overlapping_iter(text.as_bytes()) {
            present[m.pattern().as_usize()] = true;
            any = true;
        }
        if !any {
            return frags;
        }
        let bytes = text.as_bytes();
        for (i, &id) in self.order.iter().enumerate() {
            if !present[i] {
                continue;
            }
            let a = vocab.attrs[id as usize];
            if !parse_special && a & (attr::CONTROL | attr::UNKNOWN) != 0 {
                continue;
            }
            let needle = vocab.tokens[id as usize].as_str();
            let mut next = Vec::with_capacity(frags.len() + 2);
            for f in frags {
                let Fragment::Text { mut start, end } = f else {
                    next.push(f);
                    continue;
                };
                loop {
                    // Fragment bounds always fall on character boundaries (they are ends of
                    // token texts or of ASCII whitespace), so slicing cannot fail.
                    let Some(pos) = text.get(start..end).and_then(|s| s.find(needle)) else {
                        next.push(Fragment::Text { start, end });
                        break;
                    };
                    let m = start + pos;
                    let mut left_end = m;
                    if a & attr::LSTRIP != 0 {
                        while left_end > start && is_c_space(bytes[left_end - 1]) {
                            left_end -= 1;
                        }
                    }
                    if left_end > start {
                        next.push(Fragment::Text {
                            start,
                            end: left_end,
                        });
                    }
                    next.push(Fragment::Token(id));
                    let mut right = m + needle.len();
                    if right >= end {
                        break;
                    }
                    if a & attr::RSTRIP != 0 {
                        while right < end && is_c_space(bytes[right]) {
                            right += 1;
                        }
                    }
                    if right >= end {
                        break;
                    }
                    start = right;
                }
            }
            frags = next;
        }
        frags
    }
}
