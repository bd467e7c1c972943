//! `wasm-chord run`: one completion, streamed to stdout.

use super::*;
use crate::prompt::read_prompt;
use model::GenerateOptions;
use std::io::Write;

pub fn main(argv: &[String]) -> Result<(), String> {
    if wants_help(argv) {
        println!("usage: wasm-chord run -m MODEL (-p TEXT | -f FILE) [-n N] [--temp T] [--top-k K] [--top-p P] [--min-p P] [--repeat-penalty R] [--seed S] [-c CTX] [-t THREADS] [--backend cpu|gpu|cuda] [--ignore-eos] [--no-escape]");
        return Ok(());
    }
    let mut spec = vec![
        MODEL,
        PROMPT,
        FILE,
        NO_ESCAPE,
        THREADS,
        CTX,
        BACKEND,
        value(&["-n", "--n-predict"]),
        switch(&["--ignore-eos"]),
        switch(&["--trace"]),
    ];
    spec.extend(SAMPLING);
    let a = Args::parse(argv, &spec)?;
    let text = read_prompt(&a, true)?;
    // -n < 0 (the default) means: until end of generation or a full context.
    let n: i64 = a.num("-n", -1)?;
    let sampling = sampling_params(&a)?;

    match backend_choice(&a)? {
        "gpu" => {
            let backend = gpu::GpuBackend::new().map_err(|e| e.to_string())?;
            let adapter = backend.gpu().adapter_name.clone();
            let (model, _, load_time) = load_model_on(&a, backend)?;
            run_on(
                &a,
                model,
                &text,
                n,
                sampling,
                load_time,
                &format!("gpu: {adapter}"),
            )
        }
        #[cfg(feature = "cuda")]
        "cuda" => {
            let backend = cuda::CudaBackend::new().map_err(|e| e.to_string())?;
            let label = format!("cuda: {}", backend.device_name());
            let (model, _, load_time) = load_model_on(&a, backend)?;
            run_on(&a, model, &text, n, sampling, load_time, &label)
        }
        _ => {
            let threads = a.num("-t", 0usize)?;
            let backend = cpu::CpuBackend::new(threads);
            let label = format!("{} threads", backend.n_threads());
            let (model, _, load_time) = load_model_on(&a, backend)?;
            run_on(&a, model, &text, n, sampling, load_time, &label)
        }
    }
}

/// The completion itself, on any backend; `label` describes the backend for the load line.
fn run_on<B: model::Backend>(
    a: &Args,
    mut model: model::Model<B>,
    text: &str,
    n: i64,
    sampling: model::SamplingParams,
    load_time: std::time::Duration,
    label: &str,
) -> Result<(), String> {
    let prompt = model
        .tokenizer
        .encode(text, true, true)
        .map_err(|e| e.to_string())?;
    if a.has("--trace") {
        return trace_prompt(&mut model, &prompt, n.max(0) as usize);
    }
    let opts = GenerateOptions {
        max_tokens: if n < 0 { usize::MAX } else { n as usize },
        sampling,
        ignore_eos: a.has("--ignore-eos"),
        // one request per process: nothing is cached before it
        cache_prompt: true,
    };
    let mut stdout = std::io::stdout().lock();
    let mut write_failed = None;
    let stats = model
        .generate(&prompt, &opts, &mut |piece| {
            // A closed pipe (e.g. `| head`) ends generation quietly instead of failing.
            match stdout
                .write_all(piece.as_bytes())
                .and_then(|_| stdout.flush())
            {
                Ok(()) => true,
                Err(e) => {
                    write_failed = Some(e);
                    false
                }
            }
        })
        .map_err(|e| e.to_string())?;
    if let Some(e) = write_failed {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(format!("writing output: {e}"));
        }
    }
    eprintln!();
    eprintln!("load: {:.2} s ({label})", load_time.as_secs_f64());
    eprintln!(
        "prompt: {} tokens ({} evaluated) at {:.1} tok/s",
        stats.prompt_tokens,
        stats.prompt_evaluated,
        stats.prompt_tps()
    );
    eprintln!(
        "decode: {} tokens at {:.1} tok/s, finish: {}",
        stats.generated_tokens.len(),
        stats.decode_tps(),
        stats.finish_reason.as_str()
    );
    Ok(())
}

/// `--trace`: evaluates the prompt, then decodes `n` greedy tokens one by one, printing every
/// named intermediate (sum and first values per row) to diff a run against a reference
/// implementation layer by layer.
fn trace_prompt<B: model::Backend>(
    model: &mut model::Model<B>,
    prompt: &[u32],
    n: usize,
) -> Result<(), String> {
    let mut rows = prompt.len();
    let mut hook = |name: &str, layer: Option<usize>, values: &[f32]| {
        let label = layer.map_or(name.to_string(), |l| format!("{name}-{l}"));
        let sum: f64 = values.iter().map(|&v| v as f64).sum();
        let head: Vec<String> = values.iter().take(3).map(|v| format!("{v:.4}")).collect();
        eprintln!("{label:>20} sum = {sum:.6}  [{}]", head.join(", "));
        // Per-row first values, for a finer diff (rows = tokens).
        if values.len().is_multiple_of(rows) {
            for row in values.chunks(values.len() / rows) {
                let head: Vec<String> = row.iter().take(3).map(|v| format!("{v:.4}")).collect();
                eprintln!("{:>20}   [{}]", "", head.join(", "));
            }
        }
    };
    let mut logits = model
        .forward_traced(prompt, 0, Some(&mut hook))
        .map_err(|e| e.to_string())?;
    for step in 0..n {
        let token = model::sampler::argmax(&logits);
        eprintln!("== step {step}: token {token}");
        rows = 1;
        let mut hook = |name: &str, layer: Option<usize>, values: &[f32]| {
            let label = layer.map_or(name.to_string(), |l| format!("{name}-{l}"));
            let sum: f64 = values.iter().map(|&v| v as f64).sum();
            let head: Vec<String> = values.iter().take(3).map(|v| format!("{v:.4}")).collect();
            eprintln!("{label:>20} sum = {sum:.6}  [{}]", head.join(", "));
        };
        logits = model
            .forward_traced(&[token], prompt.len() + step, Some(&mut hook))
            .map_err(|e| e.to_string())?;
    }
    let _ = rows;
    Ok(())
}
