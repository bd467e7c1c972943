//! Timing of `from_gguf` stages on a GGUF: `cargo run --release --example tok_bench -- MODEL.gguf`.
use std::time::Instant;

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: tok_bench MODEL.gguf");
    let bytes = std::fs::read(&path).expect("read");
    let t = Instant::now();
    let g = gguf::parse_header(&bytes).expect("gguf");
    eprintln!("parse_header       {:?}", t.elapsed());
    let t = Instant::now();
    let spec = tokenizer::VocabSpec::from_gguf(&g).expect("spec");
    eprintln!("VocabSpec          {:?}", t.elapsed());
    let t = Instant::now();
    let tok = tokenizer::Tokenizer::from_spec(spec).expect("tokenizer");
    eprintln!("Tokenizer          {:?}", t.elapsed());
    let text = "The quick brown fox jumps over the lazy dog. ".repeat(2000);
    let t = Instant::now();
    let ids = tok.encode(&text, true, true).expect("encode");
    eprintln!(
        "encode {} bytes -> {} ids: {:?}",
        text.len(),
        ids.len(),
        t.elapsed()
    );
}
