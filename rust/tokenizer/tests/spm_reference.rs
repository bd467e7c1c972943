//! Randomized check of the SPM flavour against a direct implementation of llama.cpp's SPM
//! procedure (`llm_tokenizer_spm`: merge the adjacent pair whose concatenation is a token with
//! the highest score, leftmost on ties; leftover characters become byte tokens) on Gemma 3's
//! vocabulary. This complements the llama.cpp goldens with many more inputs, many of them made
//! of few distinct characters so that merges compete and ties happen.
mod common;

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use common::*;
use tokenizer::Tokenizer;

#[derive(PartialEq)]
struct Cand {
    score: f32,
    left: usize,
    right: usize,
    len: usize,
}
impl Eq for Cand {}
impl PartialOrd for Cand {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Cand {
    // Max-heap: higher score first, then the smaller left index.
    fn cmp(&self, o: &Self) -> Ordering {
        self.score.total_cmp(&o.score).then(o.left.cmp(&self.left))
    }
}

/// llama.cpp's SPM procedure on one fragment (no special tokens in it; no space prefix).
fn reference(tok: &Tokenizer, text: &str) -> Vec<u32> {
    let s = text.replace(' ', "\u{2581}");
    // Symbols: byte ranges of `s`, linked.
    let mut start: Vec<usize> = s.char_indices().map(|(i, _)| i).collect();
    let n = start.len();
    start.push(s.len());
    let mut len: Vec<usize> = (0..n).map(|i| start[i + 1] - start[i]).collect();
    let mut prev: Vec<isize> = (0..n as isize).map(|i| i - 1).collect();
    let mut next: Vec<isize> = (0..n as isize)
        .map(|i| if i + 1 < n as isize { i + 1 } else { -1 })
        .collect();
    let mut heap = BinaryHeap::new();
    let push = |heap: &mut BinaryHeap<Cand>, len: &[usize], l: isize, r: isize| {
        if l < 0 || r < 0 {
            return;
        }
        let (l, r) = (l as usize, r as usize);
        let t = &s[start[l]..start[l] + len[l] + len[r]];
        if let Some(id) = tok.token_id(t) {
            heap.push(Cand {
                score: tok.token_score(id).unwrap(),
                left: l,
                right: r,
                len: t.len(),
            });
        }
    };
    for i in 1..n {
        push(&mut heap, &len, i as isize - 1, i as isize);
    }
    while let Some(c) = heap.pop() {
        if len[c.left] == 0 || len[c.right] == 0 || len[c.left] + len[c.right] != c.len {
            continue;
        }
        len[c.left] += len[c.right];
        len[c.right] = 0;
        next[c.left] = next[c.right];
        if next[c.right] >= 0 {
            prev[next[c.right] as usize] = c.left as isize;
        }
        push(&mut heap, &len, prev[c.left], c.left as isize);
        push(&mut heap, &len, c.left as isize, next[c.left]);
    }
    let mut out = Vec::new();
    let mut i = if n > 0 { 0isize } else { -1 };
    while i >= 0 {
        let u = i as usize;
        let t = &s[start[u]..start[u] + len[u]];
        match tok.token_id(t) {
            Some(id) => out.push(id),
            None => out.extend(
                t.bytes()
                    .map(|b| tok.token_id(&format!("<0x{b:02X}>")).unwrap()),
            ),
        }
        i = next[u];
    }
    out
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn spm_equals_reference_procedure_on_random_text() {
    let tok = load(&gemma3_path());
    let pieces: Vec<String> = (0..tok.vocab_size() as u32)
        .filter(|&id| tok.token_attr(id) == Some(tokenizer::attr::NORMAL))
        .map(|id| tok.token_text(id).unwrap().replace('\u{2581}', " "))
        .collect();
    let alphabets: Vec<Vec<char>> = [
        "ab",
        "ab ",
        "aab ",
        "the ing",
        "\u{3002}\u{4e00}\u{4e8c}",
        "10 ",
        "xyz=-",
    ]
    .iter()
    .map(|a| a.chars().collect())
    .collect();
    let mut rng = Rng(0x9E3779B97F4A7C15);
    let (mut checked, mut bad) = (0, Vec::new());
    for _ in 0..20000 {
        let text: String = if rng.below(3) == 0 {
            let a = &alphabets[rng.below(alphabets.len())];
            (0..1 + rng.below(40))
                .map(|_| a[rng.below(a.len())])
                .collect()
        } else {
            (0..1 + rng.below(8))
                .map(|_| pieces[rng.below(pieces.len())].as_str())
                .collect()
        };
        // Keep to single fragments: no user-defined token texts (newlines, tabs, space runs,
        // HTML tags, "[multimodal]") that would be split out first.
        if text.contains(['\n', '\t', '<', '[']) || text.contains("  ") || text.contains('\r') {
            continue;
        }
        checked += 1;
        let want = reference(&tok, &text);
        let got = tok.encode(&text, false, false).unwrap();
        if got != want {
            bad.push(format!(
                "{text:?}\n  reference {want:?}\n  ours      {got:?}"
            ));
        }
    }
    assert!(checked > 10000, "only {checked} inputs checked");
    assert!(
        bad.is_empty(),
        "{} of {checked} differ:\n{}",
        bad.len(),
        bad[..bad.len().min(10)].join("\n")
    );
}
