//! `wasm-chord chat`: an interactive conversation in the terminal using the model's chat
//! template. Each turn re-renders the whole conversation; the KV cache keeps the shared prefix,
//! so only the new turn is evaluated. Commands: /reset, /exit (or end of input).

use super::*;
use model::chat::{ChatMessage, ChatTemplate};
use model::GenerateOptions;
use std::io::{BufRead, Write};

pub fn main(argv: &[String]) -> Result<(), String> {
    if wants_help(argv) {
        println!("usage: wasm-chord chat -m MODEL [--system TEXT] [-n MAX_TOKENS_PER_REPLY] [sampling options as for run]");
        return Ok(());
    }
    let mut spec = vec![
        MODEL,
        THREADS,
        CTX,
        BACKEND,
        value(&["--system"]),
        value(&["-n", "--n-predict"]),
    ];
    spec.extend(SAMPLING);
    let a = Args::parse(argv, &spec)?;
    let sampling = sampling_params(&a)?;
    let n: i64 = a.num("-n", -1)?;
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
            Ok(_) => messages.push(ChatMessage::new("assistant", &reply)),
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
