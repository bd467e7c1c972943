//! Ids → bytes → text, as llama.cpp does it (`token_to_piece` with `special = false`,
//! `llama_detokenize`), plus a streaming decoder that never splits a UTF-8 character.

use crate::spec::TokenizerKind;
use crate::vocab::{attr, Vocab};

#[cfg(test)]
/// GPT-2's byte-level alphabet, reversed: the printable character that stands for a byte in
/// byte-level BPE token texts → that byte. Bytes that are printable stand for themselves; the
/// others (0..=32, 127..=160, 173) are mapped to U+0100 onwards in order.
fn byte_level_char_to_byte(c: char) -> Option<u8> {
    let cp = c as u32;
    let printable =
        |b: u32| (33..=126).contains(&b) || (161..=172).contains(&b) || (174..=255).contains(&b);
    if cp < 256 {
        return printable(cp).then_some(cp as u8);
    }
    let k = cp - 256; // index among the non-printable bytes, in byte order
    (0u32..256)
        .filter(|&b| !printable(b))
        .nth(k as usize)
        .map(|b| b as u8)
}

/// Lookup table for the reverse byte-level map (the 68 non-printable bytes).
struct ByteLevelTable {
    shifted: [u8; 68],
}

impl ByteLevelTable {
    const fn new() -> ByteLevelTable {
        let mut shifted = [0u8; 68];
        let mut b = 0usize;
        let mut k = 0usize;
        while b < 256 {
            let printable =
                (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
            if !printable {
                shifted[k] = b as u8;
                k += 1;
            }
            b += 1;
        }
        ByteLevelTable { shifted }
    }

    fn get(&self, c: char) -> Option<u8> {
        let cp = c as u32;
        if cp < 256 {
            let printable =
                (33..=126).contains(&cp) || (161..=172).contains(&cp) || (174..=255).contains(&cp);
            printable.then_some(cp as u8)
        } else {
            self.shifted.get((cp - 256) as usize).copied()
        }
    }
}

static BYTE_LEVEL: ByteLevelTable = ByteLevelTable::new();

/// A byte-level token text → its bytes. Characters outside the alphabet become llama.cpp's
/// `[UNK_BYTE_0x..<text>]` marker, byte for byte as it writes it.
fn byte_level_decode(text: &str, out: &mut Vec<u8>) {
    for c in text.chars() {
        match BYTE_LEVEL.get(c) {
            Some(b) => out.push(b),
            None => {
                out.extend_from_slice(b"[UNK_BYTE_0x");
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.extend_from_slice(format!("{b:02x}").as_bytes());
                }
                out.extend_from_slice(text.as_bytes());
                out.push(b']');
            }
        }
    }
}

/// The byte of a `<0xXX>` token.
fn byte_token_value(text: &str) -> Option<u8> {
    let hex = text.strip_prefix("<0x")?.strip_suffix('>')?;
    // llama.cpp reads the two characters after "<0x" with strtol; same for well-formed tokens.
    u8::from_str_radix(hex.get(..2)?, 16).ok()
}

/// llama.cpp's `token_to_piece(id, special = false)`: control and unknown tokens (and unused
/// or undefined ones) give nothing, user-defined tokens their text, byte tokens their byte,
/// normal tokens their text with U+2581 → space (SPM) or byte-level decoded (BPE).
pub(crate) fn token_to_piece(vocab: &Vocab, id: u32, out: &mut Vec<u8>) {
    let Some(text) = vocab.tokens.get(id as usize) else {
        return;
    };
    let a = vocab.attrs[id as usize];
    if a & (attr::UNKNOWN | attr::CONTROL) != 0 {
        return;
    }
    if a & attr::USER_DEFINED != 0 {
        out.extend_from_slice(text.as_bytes());
    } else if a & attr::NORMAL != 0 {
        match vocab.kind {
            TokenizerKind::Spm => out.extend_from_slice(text.replace('\u{2581}', " ").as_bytes()),
            TokenizerKind::Bpe => byte_level_decode(text, out),
        }
    } else if a & attr::BYTE != 0 {
        if let Some(b) = byte_token_value(text) {
            out.push(b);
        }
    }
}

/// llama.cpp's `llama_detokenize(remove_special = false, unparse_special = false)`: the pieces
/// joined, one leading space dropped from the first piece when the vocabulary adds a space
/// prefix, then (for most BPE vocabularies) its "clean up tokenization spaces" passes.
pub(crate) fn detokenize(vocab: &Vocab, ids: &[u32]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut remove_space = vocab.add_space_prefix;
    for &id in ids {
        let before = out.len();
        token_to_piece(vocab, id, &mut out);
        // The strip applies to the first token only, even when that one printed nothing.
        if remove_space && out.len() > before && out[before] == b' ' {
            out.remove(before);
        }
        remove_space = false;
    }
    if vocab.clean_spaces {
        out = clean_up_spaces(&out);
    }
    out
}

/// The three passes of llama.cpp's `clean_spaces` (HF's `clean_up_tokenization_spaces`):
/// " ?", " !", " .", " ," lose the space; " ' " loses both spaces; " 's", " 'm", " 're", " 've"
/// lose the space (but " 't", " 'd", " 'll" keep it).
fn clean_up_spaces(text: &[u8]) -> Vec<u8> {
    // Pass 1.
    let mut a: Vec<u8> = Vec::with_capacity(text.len());
    for (i, &x) in text.iter().enumerate() {
        if i > 0 && text[i - 1] == b' ' && matches!(x, b'?' | b'!' | b'.' | b',') {
            a.pop();
        }
        a.push(x);
    }
    // Pass 2: a lone apostrophe between spaces. llama.cpp zeroes the following space in place
    // and skips it, so that byte is dropped.
    let mut b: Vec<u8> = Vec::with_capacity(a.len());
    let mut zeroed = None;
    let mut i = 0;
    while i < a.len() {
        let x = a[i];
        let prev_is_space = i > 0 && a[i - 1] == b' ' && zeroed != Some(i - 1);
        if x == b'\'' && prev_is_space && i + 1 < a.len() && a[i + 1] == b' ' {
            b.pop();
            b.push(x);
            zeroed = Some(i + 1);
            i += 2;
            continue;
        }
        b.push(x);
        i += 1;
    }
    // Pass 3: contractions.
    let mut c: Vec<u8> = Vec::with_capacity(b.len());
    for (i, &x) in b.iter().enumerate() {
        if i > 0 && b[i - 1] == b' ' && x == b'\'' && i + 1 < b.len() {
            let x1 = b[i + 1];
            let drop = match x1 {
                b's' | b'm' => true,
                b't' | b'd' => false,
                _ => i + 2 < b.len() && matches!((x1, b[i + 2]), (b'r', b'e') | (b'v', b'e')),
            };
            if drop {
                c.pop();
            }
        }
        c.push(x);
    }
    c
}

/// Turns a stream of token ids into text without ever splitting a UTF-8 character: bytes of
/// an incomplete character are held back until the tokens that complete it arrive.
///
/// ```ignore
/// let mut d = StreamDecoder::new();
/// for id in generated { print!("{}", d.push(&tok, id)); }
/// print!("{}", d.flush());
/// ```
///
/// A byte sequence that can never become valid UTF-8 is emitted as U+FFFD as soon as that is
/// certain; an incomplete tail is only replaced by U+FFFD at `flush`. Pieces are llama.cpp's
/// `token_to_piece(special = false)`: control tokens print nothing, and no leading space is
/// stripped (unlike [`crate::Tokenizer::decode`] for vocabularies with a space prefix).
#[derive(Debug, Clone, Default)]
pub struct StreamDecoder {
    pending: Vec<u8>,
}

impl StreamDecoder {
    pub fn new() -> StreamDecoder {
        StreamDecoder::default()
    }

    /// Adds one token; returns the text that became complete (often empty).
    pub fn push(&mut self, tok: &crate::Tokenizer, id: u32) -> String {
        token_to_piece(&tok.vocab, id, &mut self.pending);
        self.drain(false)
    }

    /// Adds raw bytes (e.g. from [`crate::Tokenizer::token_to_piece`]); returns the text that
    /// became complete.
    pub fn push_bytes(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        self.drain(false)
    }

    /// Ends the stream: whatever is held back comes out, an incomplete character as U+FFFD.
    pub fn flush(&mut self) -> String {
        self.drain(true)
    }

    /// Bytes held back, waiting for the rest of a character.
    pub fn pending(&self) -> &[u8] {
        &self.pending
    }

    fn drain(&mut self, at_end: bool) -> String {
        let mut out = String::new();
        let mut rest: &[u8] = &self.pending;
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    out.push_str(s);
                    rest = &[];
                    break;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    // SAFETY-free: from_utf8 just said this prefix is valid.
                    out.push_str(std::str::from_utf8(&rest[..valid]).unwrap_or_default());
                    match e.error_len() {
                        Some(bad) => {
                            out.push('\u{FFFD}');
                            rest = &rest[valid + bad..];
                        }
                        None if at_end => {
                            out.push('\u{FFFD}');
                            rest = &[];
                            break;
                        }
                        None => {
                            rest = &rest[valid..];
                            break;
                        }
                    }
                }
            }
        }
        let keep = rest.len();
        let len = self.pending.len();
        self.pending.drain(..len - keep);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_level_table_matches_definition() {
        for cp in 0u32..400 {
            let c = char::from_u32(cp).unwrap();
            assert_eq!(BYTE_LEVEL.get(c), byte_level_char_to_byte(c), "U+{cp:04X}");
        }
        assert_eq!(BYTE_LEVEL.get('\u{0120}'), Some(b' ')); // 'Ġ'
        assert_eq!(BYTE_LEVEL.get('\u{010A}'), Some(b'\n')); // 'Ċ'
        assert_eq!(BYTE_LEVEL.get('a'), Some(b'a'));
        assert_eq!(BYTE_LEVEL.get('\u{0144}'), None);
    }

    #[test]
    fn clean_spaces_passes() {
        assert_eq!(clean_up_spaces(b"a , b ."), b"a, b.");
        assert_eq!(clean_up_spaces(b"a ' b"), b"a'b");
        // The space after a removed " ' " no longer counts as a space for the next quote.
        assert_eq!(clean_up_spaces(b"a ' ' b"), b"a'' b");
        assert_eq!(
            clean_up_spaces(b"it 's I 'm we 're they 've"),
            b"it's I'm we're they've"
        );
        assert_eq!(
            clean_up_spaces(b"don 't I 'd we 'll"),
            b"don 't I 'd we 'll"
        );
    }
}
