//! `wasm-chord chat`: an interactive conversation in the terminal using the model's chat
//! template. Each turn re-renders the whole conversation and reuses the longest prefix of it
//! already in the KV cache (as llama-server's `cache_prompt`), so only the new tokens are
//! evaluated; `--no-cache-prompt` reuses only what a fresh run computes identically. A turn that
//! no longer fits the context is refused with an error (the conversation is kept: /reset).
//! After each reply one line of timings goes to stderr. Commands: /reset, /exit (or end of input).

use super::*;
use model::chat::{ChatMessage, ChatTemplate};
use model::GenerateOptions;
use std::io::{BufRead, Write};

pub fn main(argv: &[String]) -> Result<(), String> {
    if wants_help(argv) {
        println!("usage: wasm-chord chat -m MODEL [--system TEXT] [-n MAX_TOKENS_PER_REPLY] [--no-cache-prompt] [sampling options as for run]");
        return Ok(());
    }
    let mut spec = vec![
        MODEL,
        THREADS,
        CTX,
        BACKEND,
        value(&["--system"]),
        value(&["-n", "--n-predict"]),
        switch(&["--no-cache-prompt"]),
    ];
    spec.extend(SAMPLING);
    let a = Args::parse(argv, &spec)?;
    let sampling = sampling_params(&a)?;
    let n: i64 = a.num("-n", -1)?;
    let cache_prompt = !a.has("--no-cache-prompt");
    let path = a.require("-m")?;
    let (mut model, header, _) = load_model(&a)?;
    let template = ChatTemplate::for_model(&header, &model.tokenizer).map_err(|e| e.to_string())?;

    let mut messages: Vec<ChatMessage> = a
        .get("--system")
        .map(|s| ChatMessage::new("system", s))
        .into_iter()
        .collect();
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    eprintln!("chatting with {path} — /reset starts over, /exit or Ctrl-D ends");
    loop {
        eprint!("> ");
        let mut line = String::new();
        if stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| e.to_string())?
            == 0
        {
            break;
        }
        let line = line.trim_end_matches(['\n', '\r']);
        match line.trim() {
            "" => continue,
            "/exit" | "/quit" => break,
            "/reset" => {
                messages.retain(|m| m.role == "system");
                model.reset();
                continue;
            }
            _ => {}
        }
        messages.push(ChatMessage::new("user", line));
        let text = template.render(&messages).map_err(|e| e.to_string())?;
        let prompt = model
            .tokenizer
            .encode(&text, true, true)
            .map_err(|e| e.to_string())?;
        let mut reply = String::new();
        let opts = GenerateOptions {
            max_tokens: if n < 0 { usize::MAX } else { n as usize },
            sampling: sampling.clone(),
            ignore_eos: false,
            cache_prompt,
        };
        let result = model.generate(&prompt, &opts, &mut |piece| {
            reply.push_str(piece);
            stdout
                .write_all(piece.as_bytes())
                .and_then(|_| stdout.flush())
                .is_ok()
        });
        println!();
        match result {
            Ok(stats) => {
                eprintln!("{}", turn_timings(&stats));
                messages.push(ChatMessage::new("assistant", &reply));
            }
            // A context overflow ends this turn, not the session.
            Err(e @ model::ModelError::PromptTooLong { .. }) => {
                eprintln!("error: {e} (use /reset)");
                messages.pop();
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(())
}

/// "[prompt 571 tokens: 540 cached, 31 evaluated in 0.21 s; reply 40 tokens, 31.2 tokens/s]"
fn turn_timings(stats: &model::GenerationStats) -> String {
    format!(
        "[prompt {} tokens: {} cached, {} evaluated in {:.2} s; reply {} tokens, {:.1} tokens/s]",
        stats.prompt_tokens,
        stats.prompt_tokens - stats.prompt_evaluated,
        stats.prompt_evaluated,
        stats.prompt_time.as_secs_f64(),
        stats.generated_tokens.len(),
        stats.decode_tps()
    )
}
