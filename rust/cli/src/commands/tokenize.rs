//! `wasm-chord tokenize`: the prompt's token ids as one JSON array on one line. Only the header
//! is read: no weights are loaded.

use super::*;
use crate::prompt::read_prompt;

pub fn main(argv: &[String]) -> Result<(), String> {
    if wants_help(argv) {
        println!("usage: wasm-chord tokenize -m MODEL (-p TEXT | -f FILE) [--no-bos] [--no-parse-special] [--no-escape]");
        return Ok(());
    }
    let spec = [
        MODEL,
        PROMPT,
        FILE,
        NO_ESCAPE,
        switch(&["--no-bos"]),
        switch(&["--no-parse-special"]),
    ];
    let a = Args::parse(argv, &spec)?;
    let text = read_prompt(&a, false)?;
    let path = a.require("-m")?;
    let f = load::open(path).map_err(|e| e.to_string())?;
    let tok = tokenizer::Tokenizer::from_gguf(&f.gguf).map_err(|e| format!("'{path}': {e}"))?;
    let ids = tok
        .encode(&text, !a.has("--no-bos"), !a.has("--no-parse-special"))
        .map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::to_string(&ids).map_err(|e| e.to_string())?
    );
    Ok(())
}
