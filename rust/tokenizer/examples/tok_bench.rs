//! Times building a tokenizer from a GGUF and encoding a long text:
//! `cargo run --release -p wasm-chord-tokenizer --example tok_bench -- MODEL.gguf`
use std::io::Read;
use std::time::{Duration, Instant};

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: tok_bench MODEL.gguf");
    // Read only the header: NeedMore says how much.
    let mut f = std::fs::File::open(&path).expect("open");
    let mut buf = Vec::new();
    let mut want = 1u64 << 20;
    let g = loop {
        let have = buf.len() as u64;
        (&mut f)
            .take(want - have)
            .read_to_end(&mut buf)
            .expect("read");
        match gguf::parse_header(&buf) {
            Ok(g) => break g,
            Err(gguf::GgufError::NeedMore { needed }) => want = needed.max(want * 2),
            Err(e) => panic!("{e}"),
        }
    };
    let rss = || {
        let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
        s.split(' ')
            .nth(1)
            .and_then(|x| x.parse::<u64>().ok())
            .unwrap_or(0)
            * 4096
            / (1 << 20)
    };
    let before = rss();
    let one = tokenizer::Tokenizer::from_gguf(&g).expect("tokenizer");
    println!(
        "resident memory: {} MiB before, {} MiB with one tokenizer (Linux only)",
        before,
        rss()
    );
    drop(one);
    let mut best = Duration::MAX;
    let mut tok = None;
    for _ in 0..3 {
        let t = Instant::now();
        tok = Some(tokenizer::Tokenizer::from_gguf(&g).expect("tokenizer"));
        best = best.min(t.elapsed());
    }
    let tok = tok.unwrap();
    println!(
        "from_gguf ({} tokens): best of 3 {best:?}",
        tok.vocab_size()
    );
    let text = "The quick brown fox jumps over the lazy dog. 你好，世界！ ".repeat(2000);
    let t = Instant::now();
    let ids = tok.encode(&text, true, true).expect("encode");
    println!(
        "encode {} bytes -> {} ids: {:?}",
        text.len(),
        ids.len(),
        t.elapsed()
    );
}
