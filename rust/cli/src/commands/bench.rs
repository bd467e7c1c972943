//! `wasm-chord bench`: prompt processing and generation speed, as llama-bench measures them —
//! pp: one batch of P prompt tokens from an empty cache; tg: N tokens decoded one at a time.
//! Each is repeated R times; the mean tokens/s is reported.

use super::*;
use serde_json::json;

pub fn main(argv: &[String]) -> Result<(), String> {
    if wants_help(argv) {
        println!("usage: wasm-chord bench -m MODEL [-p 128] [-n 64] [-r 3] [-t THREADS] [--backend cpu|gpu|cuda] [--json]");
        return Ok(());
    }
    let spec = [
        MODEL,
        THREADS,
        BACKEND,
        value(&["-p", "--n-prompt"]),
        value(&["-n", "--n-gen"]),
        value(&["-r", "--repetitions"]),
        switch(&["--json"]),
    ];
    let a = Args::parse(argv, &spec)?;
    let (n_prompt, n_gen, reps) = (
        a.num("-p", 128usize)?,
        a.num("-n", 64usize)?,
        a.num("-r", 3usize)?.max(1),
    );
    match backend_choice(&a)? {
        "gpu" => {
            let backend = gpu::GpuBackend::new().map_err(|e| e.to_string())?;
            let label = format!("gpu ({})", backend.gpu().adapter_name);
            let (model, _, _) = load_model_on(&a, backend)?;
            bench_on(model, &a, &label, (n_prompt, n_gen, reps)).map(drop)
        }
        #[cfg(feature = "cuda")]
        "cuda" => {
            let backend = cuda::CudaBackend::new().map_err(|e| e.to_string())?;
            let label = format!("cuda ({})", backend.device_name());
            let (model, _, _) = load_model_on(&a, backend)?;
            let model = bench_on(model, &a, &label, (n_prompt, n_gen, reps))?;
            if !a.has("--json") {
                cuda_report(model)?;
            }
            Ok(())
        }
        _ => {
            let threads = a.num("-t", 0usize)?;
            let backend = cpu::CpuBackend::new(threads);
            let label = format!("cpu, {} threads", backend.n_threads());
            let (model, _, _) = load_model_on(&a, backend)?;
            bench_on(model, &a, &label, (n_prompt, n_gen, reps)).map(drop)
        }
    }
}

/// What a CUDA decode step costs in launches (and whether it ran as a graph), from a few steps
/// of their own; and the per-kernel times of the whole bench under WASM_CHORD_CUDA_PROFILE=1.
#[cfg(feature = "cuda")]
fn cuda_report(mut model: model::Model<cuda::CudaBackend>) -> Result<(), String> {
    const STEPS: usize = 16;
    if let Some(p) = model.backend().profile_report() {
        eprint!("{p}");
    }
    model.reset();
    let n_vocab = model.config.n_vocab;
    let step = |model: &mut model::Model<cuda::CudaBackend>, i: usize| {
        model
            .forward_traced(&[((i * 31 + 7) % n_vocab) as u32], i, None)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    step(&mut model, 0)?; // the first step of a pass shape runs eagerly; the rest replay
    model
        .backend_mut()
        .time_flushes(true)
        .map_err(|e| e.to_string())?;
    model.backend_mut().take_stats();
    let t0 = std::time::Instant::now();
    for i in 1..=STEPS {
        step(&mut model, i)?;
    }
    let wall_us = t0.elapsed().as_secs_f64() * 1e6 / STEPS as f64;
    let s = model.backend_mut().take_stats();
    model
        .backend_mut()
        .time_flushes(false)
        .map_err(|e| e.to_string())?;
    let per = |n: u64| n as f64 / STEPS as f64;
    println!(
        "decode step: {:.1} kernel launches, {:.2} flushes, {:.2} graph replays per token ({} captures in {STEPS} steps); GPU busy {:.0} of {:.0} us per token",
        per(s.launches),
        per(s.flushes),
        per(s.graph_replays),
        s.graph_captures,
        s.gpu_ms * 1e3 / STEPS as f64,
        wall_us
    );
    Ok(())
}

/// pp and tg on any backend; every step reads its logits back, so GPU work is finished inside
/// the timing.
fn bench_on<B: model::Backend>(
    mut model: model::Model<B>,
    a: &Args,
    label: &str,
    (n_prompt, n_gen, reps): (usize, usize, usize),
) -> Result<model::Model<B>, String> {
    if n_prompt + n_gen > model.n_ctx() {
        return Err(format!(
            "-p {n_prompt} + -n {n_gen} exceeds the context of {}",
            model.n_ctx()
        ));
    }
    // Token ids cycle through a fixed range so runs are repeatable; their text does not matter.
    let n_vocab = model.config.n_vocab as u32;
    let tokens: Vec<u32> = (0..n_prompt.max(1) as u32)
        .map(|i| (i * 7919 + 13) % n_vocab)
        .collect();

    let mut pp = Vec::new();
    let mut tg = Vec::new();
    for _ in 0..reps {
        if n_prompt > 0 {
            model.reset();
            let t0 = std::time::Instant::now();
            model
                .forward_traced(&tokens[..n_prompt], 0, None)
                .map_err(|e| e.to_string())?;
            pp.push(n_prompt as f64 / t0.elapsed().as_secs_f64());
        }
        if n_gen > 0 {
            model.reset();
            let t0 = std::time::Instant::now();
            for i in 0..n_gen {
                model
                    .forward_traced(&[tokens[i % tokens.len()]], i, None)
                    .map_err(|e| e.to_string())?;
            }
            tg.push(n_gen as f64 / t0.elapsed().as_secs_f64());
        }
    }
    let mean = |v: &[f64]| {
        if v.is_empty() {
            0.0
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        }
    };
    if a.has("--json") {
        println!(
            "{}",
            json!({ "pp_tps": mean(&pp), "tg_tps": mean(&tg), "n_prompt": n_prompt, "n_gen": n_gen, "repetitions": reps, "backend": label })
        );
    } else {
        println!("backend {label}, {reps} repetitions");
        println!("pp{n_prompt}: {:.2} tok/s", mean(&pp));
        println!("tg{n_gen}: {:.2} tok/s", mean(&tg));
    }
    Ok(model)
}
