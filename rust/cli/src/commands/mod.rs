//! One module per subcommand, plus what they share: option tables and model loading.

pub mod bench;
pub mod chat;
pub mod info;
pub mod perplexity;
pub mod run;
pub mod tokenize;

use crate::args::{switch, value, Args, Opt};
use cpu::CpuBackend;
use model::file as load;
use model::{Model, SamplingParams};

pub const MODEL: Opt = value(&["-m", "--model"]);
pub const PROMPT: Opt = value(&["-p", "--prompt"]);
pub const FILE: Opt = value(&["-f", "--file"]);
pub const NO_ESCAPE: Opt = switch(&["--no-escape"]);
pub const THREADS: Opt = value(&["-t", "--threads"]);
pub const CTX: Opt = value(&["-c", "--ctx-size"]);
pub const BACKEND: Opt = value(&["--backend"]);

/// Sampling flags shared by `run` and `chat` (names as llama.cpp's).
pub const SAMPLING: [Opt; 6] = [
    value(&["--temp"]),
    value(&["--top-k"]),
    value(&["--top-p"]),
    value(&["--min-p"]),
    value(&["--repeat-penalty"]),
    value(&["--seed", "-s"]),
];

pub fn sampling_params(a: &Args) -> Result<SamplingParams, String> {
    let d = SamplingParams::default();
    let seed = match a.get("--seed") {
        Some(_) => a.num("--seed", 0u64)?,
        // No seed given: a different run each time, as llama.cpp's default.
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    };
    let p = SamplingParams {
        temperature: a.num("--temp", d.temperature)?,
        top_k: a.num("--top-k", d.top_k)?,
        top_p: a.num("--top-p", d.top_p)?,
        min_p: a.num("--min-p", d.min_p)?,
        repetition_penalty: a.num("--repeat-penalty", d.repetition_penalty)?,
        penalty_last_n: d.penalty_last_n,
        seed,
    };
    p.validate().map_err(|e| e.to_string())?;
    Ok(p)
}

/// Loads the model named by `-m` onto the CPU backend (the commands without `--backend gpu`
/// support). Also returns the file's header (for the chat template) and the load time.
pub fn load_model(
    a: &Args,
) -> Result<(Model<CpuBackend>, gguf::Gguf, std::time::Duration), String> {
    match a.get("--backend").unwrap_or("cpu") {
        "cpu" => {}
        "gpu" => return Err(
            "this command runs on the cpu backend only for now; `run --backend gpu` uses the GPU"
                .into(),
        ),
        other => return Err(format!("unknown backend '{other}' (supported: cpu, gpu)")),
    }
    let backend = CpuBackend::new(a.num("-t", 0usize)?);
    load_model_on(a, backend)
}

/// Which backend `--backend` names (default cpu).
pub fn backend_choice(a: &Args) -> Result<&'static str, String> {
    match a.get("--backend").unwrap_or("cpu") {
        "cpu" => Ok("cpu"),
        "gpu" => Ok("gpu"),
        #[cfg(feature = "cuda")]
        "cuda" => Ok("cuda"),
        #[cfg(not(feature = "cuda"))]
        "cuda" => Err("this wasm-chord was built without the `cuda` feature".into()),
        other => Err(format!(
            "unknown backend '{other}' (supported: cpu, gpu, cuda)"
        )),
    }
}

/// Loads the model named by `-m` onto `backend`; returns it with the file's header and load time.
pub fn load_model_on<B: model::Backend>(
    a: &Args,
    backend: B,
) -> Result<(Model<B>, gguf::Gguf, std::time::Duration), String> {
    let t0 = std::time::Instant::now();
    let path = a.require("-m")?;
    let mut f = load::open(path).map_err(|e| e.to_string())?;
    let n_ctx = match a.get("-c") {
        Some(_) => Some(a.num("-c", 0usize)?).filter(|&c| c > 0),
        None => None,
    };
    let model = f
        .load_model(backend, n_ctx)
        .map_err(|e| format!("'{path}': {e}"))?;
    Ok((model, f.gguf, t0.elapsed()))
}

pub fn wants_help(argv: &[String]) -> bool {
    argv.iter().any(|a| a == "-h" || a == "--help")
}
