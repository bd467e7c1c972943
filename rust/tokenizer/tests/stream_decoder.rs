//! Streaming detokenization never splits a UTF-8 character (real Gemma byte tokens).
mod common;

use common::*;
use tokenizer::StreamDecoder;

#[test]
fn stream_holds_back_incomplete_characters() {
    let tok = load(&gemma3_path());
    let byte = |b: u8| tok.token_id(&format!("<0x{b:02X}>")).expect("byte token");
    let mut d = StreamDecoder::new();
    // "一" = E4 B8 80, one byte token at a time.
    assert_eq!(d.push(&tok, byte(0xE4)), "");
    assert_eq!(d.push(&tok, byte(0xB8)), "");
    assert_eq!(d.pending(), &[0xE4, 0xB8]);
    assert_eq!(d.push(&tok, byte(0x80)), "一");
    // A byte that can never start a character comes out as U+FFFD at once.
    assert_eq!(d.push(&tok, byte(0xFF)), "\u{FFFD}");
    // A normal token after an incomplete lead byte: the lead byte is invalid now.
    assert_eq!(d.push(&tok, byte(0xF0)), "");
    let hello = tok.encode("Hello", false, false).unwrap();
    assert_eq!(d.push(&tok, hello[0]), "\u{FFFD}Hello");
    // An incomplete tail becomes U+FFFD only at flush.
    assert_eq!(d.push(&tok, byte(0xE2)), "");
    assert_eq!(d.flush(), "\u{FFFD}");
    assert_eq!(d.flush(), "");
    // Control tokens print nothing.
    assert_eq!(d.push(&tok, 106), "");
}

#[test]
fn stream_equals_decode_on_real_text() {
    let tok = load(&gemma3_path());
    for text in [
        "Hello, world! 你好 👨‍👩‍👧‍👦 \u{10FFFF}\u{E0001} مرحبا\n\tend",
        "<start_of_turn>user\nhi<end_of_turn>\n",
        "  spaces  and\n\n\nnewlines",
    ] {
        let ids = tok.encode(text, true, true).unwrap();
        let mut d = StreamDecoder::new();
        let mut streamed = String::new();
        for &id in &ids {
            let piece = d.push(&tok, id);
            streamed.push_str(&piece);
        }
        streamed.push_str(&d.flush());
        assert_eq!(streamed, tok.decode(&ids), "{text:?}");
        // Gemma has no space prefix, so control tokens aside the text comes back.
        let expected = text
            .replace("<start_of_turn>", "")
            .replace("<end_of_turn>", "");
        assert_eq!(streamed, expected);
    }
}
