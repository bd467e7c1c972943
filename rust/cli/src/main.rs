//! `wasm-chord`: run, chat with, tokenize, inspect and benchmark GGUF models from the terminal.
//! Every failure ends as one `error: …` line on stderr and a non-zero exit code.

mod args;
mod commands;
mod prompt;

const USAGE: &str = "\
wasm-chord — LLM inference for GGUF models

usage:
  wasm-chord run      -m MODEL (-p TEXT | -f FILE) [-n N] [--temp T] [--top-k K] [--top-p P]
                      [--min-p P] [--repeat-penalty R] [--seed S] [-c CTX] [-t THREADS] [--no-escape]
  wasm-chord chat     -m MODEL [--system TEXT] [sampling options as for run]
  wasm-chord tokenize -m MODEL (-p TEXT | -f FILE) [--no-bos] [--no-parse-special] [--no-escape]
  wasm-chord info     -m MODEL [--json]
  wasm-chord bench    -m MODEL [-p 128] [-n 64] [-r 3] [-t THREADS] [--json]
  wasm-chord perplexity -m MODEL -f TEXT [-c 512] [-b 64] [--chunks N] [--backend cpu|gpu|cuda]
                      [-t THREADS] [--save-logits FILE] [--kl-base FILE] [--json]

run streams only the generated text to stdout; timings go to stderr.
perplexity scores a text as llama-perplexity does (the second half of each -c chunk); with
--kl-base it also gives KL divergence and top-1 agreement against a base saved by --save-logits.
Prompts are read as llama.cpp reads them: escapes like \\n are processed (unless --no-escape)
and -f drops one trailing newline.";

fn main() {
    // No panic is expected on any input; if one happens anyway, keep the one-line promise.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        eprintln!(
            "error: internal error: {} (please report this)",
            msg.replace('\n', " ")
        );
        std::process::exit(70);
    }));

    let argv: Vec<String> = std::env::args().skip(1).collect();
    let result = match argv.first().map(String::as_str) {
        Some("run") => commands::run::main(&argv[1..]),
        Some("chat") => commands::chat::main(&argv[1..]),
        Some("tokenize") => commands::tokenize::main(&argv[1..]),
        Some("info") => commands::info::main(&argv[1..]),
        Some("bench") => commands::bench::main(&argv[1..]),
        Some("perplexity") => commands::perplexity::main(&argv[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!(
            "unknown command '{other}' (commands: run, chat, tokenize, info, bench, perplexity; see --help)"
        )),
        None => {
            Err("no command given (commands: run, chat, tokenize, info, bench, perplexity; see --help)".into())
        }
    };
    if let Err(msg) = result {
        eprintln!("error: {}", msg.replace('\n', " "));
        std::process::exit(1);
    }
}
