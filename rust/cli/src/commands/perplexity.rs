//! `wasm-chord perplexity`: perplexity of a text, computed as llama.cpp's llama-perplexity
//! computes it, and optionally the KL divergence and top-1 agreement of this run's
//! distributions against saved base ones — the check every backend that is not bit-exact with
//! the CPU (the GPU now, CUDA later) is held to: its greedy text may part from the CPU's, its
//! KL and top-1 figures may not.
//!
//! ```text
//! wasm-chord perplexity -m MODEL -f TEXT [--backend cpu|gpu|cuda] [-t THREADS] [-c 512] [-b 64]
//!                       [--chunks N] [--save-logits FILE] [--kl-base FILE] [--json] [--no-escape]
//! ```
//!
//! What is scored (llama-perplexity's `perplexity()`, read in its source, followed exactly):
//! - The text is read as llama.cpp's `-f` reads it (one trailing newline dropped, backslash
//!   escapes processed unless `--no-escape`) and tokenized with `add_special` (BOS where the
//!   vocabulary's add_bos says so; Gemma: yes) and without parsing special-token text.
//! - It is cut into chunks of `-c` tokens; the incomplete tail is dropped. (llama-perplexity
//!   also refuses a text shorter than 2·c tokens; we need only c, one chunk.) `--chunks N`
//!   keeps the first N.
//! - Each chunk runs from an empty KV cache, at positions 0..c, with its first token replaced by
//!   BOS when the vocabulary adds BOS (llama-perplexity does this for every chunk; the replaced
//!   token is never scored). The model is loaded with a context of exactly c, as
//!   llama-perplexity's `n_ctx`, so the sliding-window cache layout is the one llama.cpp uses.
//! - Only the second half is scored: the logits at positions c/2 ..= c-2 predict the chunk's
//!   tokens c/2+1 ..= c-1 (c-1-c/2 tokens a chunk; 255 for c = 512). NLL = logsumexp − logit of
//!   the actual token, with llama's arithmetic (f32 max and differences, f32 exp, f64 sum and
//!   log), accumulated in f64. Printed: the running PPL after each chunk, `[1]a,[2]b,…`, then
//!   `PPL = exp(mean NLL) ± err`, err = PPL · sqrt(var(NLL)/(n−1)) (the standard error of the
//!   mean NLL, propagated through exp), as llama-perplexity's "Final estimate".
//! - Batches: a chunk goes through the model in forward calls of `-b` tokens (default 64,
//!   at most c). Batches wholly in the unscored first half compute no logits at all; the others
//!   return every row's logits (`Model::eval_all_logits`) and are scored as they come, so memory
//!   is `b × n_vocab × 4` bytes (×2 while copied back), 64 MiB at -b 64 for Gemma, whatever c is.
//!   `-b 1` evaluates token by token: it runs the backend's decode (matvec) kernels instead of its
//!   batch (matmul) kernels. The float order of both ours and llama.cpp's kernels depends on
//!   the batch shape, so compare with llama-perplexity at the same `-b` (its default is 512).
//!
//! Measured (2-core AMD EPYC dev box, Gemma 3 270M Q4_K_M, `tests/data/perplexity.txt`, CPU):
//! `-c 512 -b 512 --chunks 2` gives `[1]26.9463,[2]36.4064,` `PPL = 36.4064 ± 4.70241`, and
//! llama-perplexity (the project's AVX2 CPU build) prints the same digits; so do the other
//! settings tried (all 7 chunks at -c 512: 28.7604 ± 1.88847; -b 1, 4, 32, 64 at -c 128). The
//! batch shape itself moves the numbers, in llama.cpp as here (kernel float order), so the CPU's
//! own spread — mean KL ≈ 6e-3 between -b 1 and -b 512 — is the floor for other backends. Table in
//! the README section "Perplexity and KL divergence".
//!
//! `--kl-base FILE` compares with a base saved by `--save-logits`, over every scored token, all
//! in f64 over the whole vocabulary (no sampling, no cut-off): KL(base ‖ this) =
//! Σᵢ p_base,i · (log p_base,i − log p_this,i), its mean ± standard error and maximum; top-1
//! agreement = share of tokens whose most likely token (first index of the maximum log-prob) is
//! the same (llama-perplexity's KL mode prints this as "Same top p"); the base's PPL and
//! ln(PPL/PPL_base); Δp = p_this − p_base of the actual next token (mean, RMS, max |Δp|).
//! The base's PPL is from its stored f32 log-probs, so it may differ from the PPL the base run
//! printed in the last digit.
//!
//! `--save-logits FILE` format, version 1, all little-endian (written to FILE.partial and
//! renamed when complete, so a failed run leaves no half file under FILE):
//! ```text
//! offset  size                    field
//! 0       8                       magic "WCHORDLP" (wasm-chord log-probs)
//! 8       4  u32                  version = 1
//! 12      4  u32                  n_vocab
//! 16      4  u32                  n_ctx (the -c of the run)
//! 20      4  u32                  n_chunks
//! 24      4  u32                  first scored position = n_ctx / 2
//! 28      4  u32                  n_scored per chunk = n_ctx − 1 − n_ctx / 2
//! 32      4·n_chunks·n_ctx        u32 token ids of the chunks, as tokenized (before BOS replacement)
//! …       4·n_vocab per row       f32 log-softmax of each scored position, chunk by chunk, in
//!                                 position order (n_chunks · n_scored rows)
//! ```
//! Full f32 log-probs keep the KL exact (two runs that compute equal logits give KL exactly 0);
//! the cost is size: 1 MiB per scored token for Gemma's 262,144-token vocabulary (2 chunks of
//! 512 = 510 MiB). A base is accepted only if its vocabulary size, n_ctx and the token ids of the
//! chunks compared all match this run's; it may hold more chunks than are compared.

use super::*;
use model::Model;
use serde_json::json;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::time::{Duration, Instant};

const USAGE: &str = "usage: wasm-chord perplexity -m MODEL -f TEXT [--backend cpu|gpu|cuda] [-t THREADS] [-c 512] [-b 64] [--chunks N] [--save-logits FILE] [--kl-base FILE] [--json] [--no-escape]
  scores the second half of each -c token chunk as llama-perplexity does; -b 1 runs token by token (decode kernels)
  --save-logits FILE  saves the scored tokens' log-probs (a base); --kl-base FILE compares with one";

const MAGIC: &[u8; 8] = b"WCHORDLP";
const VERSION: u32 = 1;
const HEADER_BYTES: u64 = 32;
const REMAKE: &str =
    "the base was made from another text/model/-c; make it again with --save-logits";

struct Settings {
    n_ctx: usize,
    n_batch: usize,
    chunks: Option<usize>,
    save: Option<String>,
    base: Option<String>,
    json: bool,
}

pub fn main(argv: &[String]) -> Result<(), String> {
    if wants_help(argv) {
        println!("{USAGE}");
        return Ok(());
    }
    let spec = [
        MODEL,
        FILE,
        NO_ESCAPE,
        THREADS,
        CTX,
        BACKEND,
        value(&["-b", "--batch-size"]),
        value(&["--chunks"]),
        value(&["--save-logits"]),
        value(&["--kl-base"]),
        switch(&["--json"]),
    ];
    let a = Args::parse(argv, &spec)?;
    let n_ctx = a.num("-c", 512usize)?;
    if n_ctx < 4 {
        return Err(format!(
            "-c {n_ctx} is too small: a chunk needs at least 4 tokens (its first half is context, the rest is scored)"
        ));
    }
    let n_batch = a.num("-b", 64usize)?;
    if n_batch == 0 {
        return Err("-b must be at least 1".into());
    }
    let chunks = match a.get("--chunks") {
        None => None,
        Some(_) => match a.num("--chunks", 0usize)? {
            0 => return Err("--chunks must be at least 1".into()),
            n => Some(n),
        },
    };
    let s = Settings {
        n_ctx,
        n_batch: n_batch.min(n_ctx),
        chunks,
        save: a.get("--save-logits").map(String::from),
        base: a.get("--kl-base").map(String::from),
        json: a.has("--json"),
    };
    let text = read_text(&a)?;
    // A bad base fails before the model is loaded.
    let base = s.base.as_deref().map(Base::open).transpose()?;
    a.require("-m")?;

    match backend_choice(&a)? {
        "gpu" => {
            let backend = gpu::GpuBackend::new().map_err(|e| e.to_string())?;
            let label = format!("gpu ({})", backend.gpu().adapter_name);
            let max_bytes = backend.gpu().max_chunk_bytes();
            let (model, load_time) = load(&a, backend, n_ctx)?;
            let rows_bytes = (s.n_batch * model.config.n_vocab * 4) as u64;
            if rows_bytes > max_bytes {
                return Err(format!(
                    "-b {} needs {} MiB of logits in one GPU buffer, more than this adapter binds ({} MiB): use -b {} or less",
                    s.n_batch,
                    rows_bytes >> 20,
                    max_bytes >> 20,
                    (max_bytes / (model.config.n_vocab as u64 * 4)).max(1)
                ));
            }
            perplexity_on(model, &s, &text, base, &label, load_time)
        }
        #[cfg(feature = "cuda")]
        "cuda" => {
            let backend = cuda::CudaBackend::new().map_err(|e| e.to_string())?;
            let label = format!("cuda ({})", backend.device_name());
            let (model, load_time) = load(&a, backend, n_ctx)?;
            perplexity_on(model, &s, &text, base, &label, load_time)
        }
        _ => {
            let backend = cpu::CpuBackend::new(a.num("-t", 0usize)?);
            let label = format!("cpu ({} threads)", backend.n_threads());
            let (model, load_time) = load(&a, backend, n_ctx)?;
            perplexity_on(model, &s, &text, base, &label, load_time)
        }
    }
}

/// The text as llama.cpp's `-f` reads it: one trailing newline dropped, escapes processed.
fn read_text(a: &Args) -> Result<String, String> {
    let path = a
        .get("-f")
        .ok_or("a text file is required: -f FILE (plain text, e.g. tests/data/perplexity.txt)")?;
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read text file '{path}': {e}"))?;
    let mut text =
        String::from_utf8(bytes).map_err(|_| format!("text file '{path}' is not valid UTF-8"))?;
    if text.ends_with('\n') {
        text.pop();
    }
    if !a.has("--no-escape") {
        text = crate::prompt::process_escapes(&text)?;
    }
    if text.is_empty() {
        return Err(format!(
            "text file '{path}' is empty: perplexity needs text to score"
        ));
    }
    Ok(text)
}

/// Loads the model with a context of exactly `n_ctx` (llama-perplexity's n_ctx = -c).
fn load<B: model::Backend>(
    a: &Args,
    backend: B,
    n_ctx: usize,
) -> Result<(Model<B>, Duration), String> {
    let t0 = Instant::now();
    let path = a.require("-m")?;
    let mut f = load::open(path).map_err(|e| e.to_string())?;
    let model = f
        .load_model(backend, Some(n_ctx))
        .map_err(|e| format!("'{path}': {e}"))?;
    Ok((model, t0.elapsed()))
}

fn perplexity_on<B: model::Backend>(
    mut model: Model<B>,
    s: &Settings,
    text: &str,
    mut base: Option<Base>,
    label: &str,
    load_time: Duration,
) -> Result<(), String> {
    let c = s.n_ctx;
    let tokens = model
        .tokenizer
        .encode(text, true, false)
        .map_err(|e| e.to_string())?;
    if tokens.len() < c {
        return Err(format!(
            "the text has only {} tokens, fewer than one chunk of -c {c}: give a longer text or a smaller -c (at most {})",
            tokens.len(),
            tokens.len()
        ));
    }
    let n_chunks = (tokens.len() / c).min(s.chunks.unwrap_or(usize::MAX));
    let nv = model.config.n_vocab;
    let first = c / 2;
    let n_scored = c - 1 - first;
    let bos = match model.tokenizer.add_bos() {
        true => model.tokenizer.bos_id(),
        false => None,
    };
    if let Some(b) = &base {
        b.check(nv, c, n_chunks, &tokens[..n_chunks * c])?;
    }
    let mut save = s
        .save
        .as_deref()
        .map(|p| Saver::create(p, nv, c, n_chunks, &tokens[..n_chunks * c]))
        .transpose()?;

    if !s.json {
        println!(
            "perplexity: {n_chunks} chunks of {c} tokens ({n_scored} scored each), -b {}, text of {} tokens, backend {label}",
            s.n_batch,
            tokens.len()
        );
    }
    let mut out = std::io::stdout().lock();
    let mut nll = Sums::default();
    let mut kl = base.as_ref().map(|_| KlSums::default());
    let mut chunk_ppl = Vec::with_capacity(n_chunks);
    let (mut eval_time, mut score_time) = (Duration::ZERO, Duration::ZERO);
    let mut lp = vec![0f32; nv];
    let mut lp_base = vec![0f32; if base.is_some() { nv } else { 0 }];

    for k in 0..n_chunks {
        let chunk = &tokens[k * c..(k + 1) * c];
        let mut input = chunk.to_vec();
        if let Some(bos) = bos {
            input[0] = bos;
        }
        model.reset();
        let mut s0 = 0;
        while s0 < c {
            let end = (s0 + s.n_batch).min(c);
            let t = Instant::now();
            let err = |e: model::ModelError| format!("chunk {}, tokens {s0}..{end}: {e}", k + 1);
            if end <= first {
                model.eval_no_logits(&input[s0..end]).map_err(err)?;
                eval_time += t.elapsed();
                s0 = end;
                continue;
            }
            let logits = model.eval_all_logits(&input[s0..end]).map_err(err)?;
            eval_time += t.elapsed();
            let t = Instant::now();
            for pos in s0.max(first)..end.min(c - 1) {
                let row = &logits[(pos - s0) * nv..(pos - s0 + 1) * nv];
                let next = chunk[pos + 1] as usize;
                let (v, top) = log_softmax(row, next, &mut lp);
                if !v.is_finite() {
                    return Err(format!(
                        "chunk {}, position {pos}: the logits are not finite (NLL {v}); the backend computed NaN or infinity",
                        k + 1
                    ));
                }
                nll.add(v);
                if let Some(w) = &mut save {
                    w.row(&lp)?;
                }
                if let (Some(b), Some(kl)) = (&mut base, &mut kl) {
                    b.row(&mut lp_base)?;
                    kl.add(&lp_base, &lp, top, next, v);
                }
            }
            score_time += t.elapsed();
            s0 = end;
        }
        let ppl = (nll.sum / nll.n as f64).exp();
        chunk_ppl.push(ppl);
        if !s.json {
            let _ = write!(out, "[{}]{ppl:.4},", k + 1);
            let _ = out.flush();
        }
    }
    if let Some(w) = save {
        w.finish()?;
    }

    let (mean, se) = nll.mean_and_error();
    let ppl = mean.exp();
    let ppl_err = se * ppl;
    let evaluated = n_chunks * c;
    let tps = evaluated as f64 / eval_time.as_secs_f64().max(1e-9);
    let kl = kl.map(|k| k.summary(ppl));
    if s.json {
        let mut j = json!({
            "ppl": ppl,
            "ppl_err": ppl_err,
            "nll_mean": mean,
            "chunk_ppl": chunk_ppl,
            "n_ctx": c,
            "n_batch": s.n_batch,
            "n_chunks": n_chunks,
            "n_text_tokens": tokens.len(),
            "n_scored": nll.n,
            "backend": label,
            "load_s": load_time.as_secs_f64(),
            "eval_s": eval_time.as_secs_f64(),
            "score_s": score_time.as_secs_f64(),
            "eval_tokens_per_s": tps,
        });
        if let (Some(k), Some(map)) = (&kl, j.as_object_mut()) {
            map.insert("kl_base".into(), json!(s.base));
            for (name, v) in k.fields() {
                map.insert(name.into(), json!(v));
            }
        }
        println!("{j}");
    } else {
        let _ = writeln!(out);
        println!("PPL = {ppl:.4} ± {ppl_err:.5}");
        if let Some(k) = &kl {
            println!(
                "KL divergence against '{}' over {} tokens:",
                s.base.as_deref().unwrap_or(""),
                k.count
            );
            println!(
                "  mean KL(base ‖ this) = {:.6e} ± {:.6e}",
                k.kl_mean, k.kl_mean_err
            );
            println!("  max KL               = {:.6e}", k.kl_max);
            println!(
                "  top-1 agreement      = {:.3} % ({} of {}; llama's \"Same top p\")",
                k.top1_pct, k.same_top, k.count
            );
            println!(
                "  PPL(base)            = {:.4}, ln(PPL/PPL(base)) = {:.6e}",
                k.ppl_base, k.ln_ppl_ratio
            );
            println!(
                "  Δp of the next token = mean {:.6e}, RMS {:.6e}, max |Δp| {:.6e}",
                k.dp_mean, k.dp_rms, k.dp_max_abs
            );
        }
        println!(
            "time: load {:.2} s, evaluation {:.2} s ({evaluated} tokens, {tps:.1} tok/s), scoring {:.2} s",
            load_time.as_secs_f64(),
            eval_time.as_secs_f64(),
            score_time.as_secs_f64()
        );
    }
    Ok(())
}

/// The NLL of `next` under `logits` with llama-perplexity's arithmetic (f32 max and
/// differences, f32 exp, f64 sum and log), the log-softmax as f32 into `lp`, and the index of
/// its first maximum.
fn log_softmax(logits: &[f32], next: usize, lp: &mut [f32]) -> (f64, usize) {
    let max = logits.iter().copied().fold(logits[0], f32::max);
    let sum: f64 = logits.iter().map(|&l| (l - max).exp() as f64).sum();
    let lse = sum.ln();
    let nll = lse - (logits[next] - max) as f64;
    let (mut top, mut best) = (0, f32::NEG_INFINITY);
    for (i, (o, &l)) in lp.iter_mut().zip(logits).enumerate() {
        *o = ((l - max) as f64 - lse) as f32;
        if *o > best {
            (top, best) = (i, *o);
        }
    }
    (nll, top)
}

/// Sum and sum of squares, for a mean and its standard error.
#[derive(Default)]
struct Sums {
    sum: f64,
    sum2: f64,
    n: usize,
}

impl Sums {
    fn add(&mut self, v: f64) {
        self.sum += v;
        self.sum2 += v * v;
        self.n += 1;
    }
    /// Mean and the standard error of the mean, as llama-perplexity's `mean_and_uncertainty`.
    fn mean_and_error(&self) -> (f64, f64) {
        let n = self.n as f64;
        let mean = self.sum / n;
        let var = self.sum2 / n - mean * mean;
        let se = if self.n > 1 && var > 0.0 {
            (var / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        (mean, se)
    }
}

#[derive(Default)]
struct KlSums {
    kl: Sums,
    kl_max: f64,
    same_top: usize,
    nll_base: Sums,
    dp: Sums,
    dp_max_abs: f64,
}

struct KlSummary {
    count: usize,
    kl_mean: f64,
    kl_mean_err: f64,
    kl_max: f64,
    same_top: usize,
    top1_pct: f64,
    ppl_base: f64,
    ln_ppl_ratio: f64,
    dp_mean: f64,
    dp_rms: f64,
    dp_max_abs: f64,
}

impl KlSums {
    /// One scored token: `base` and `this` are its log-softmax rows, `top` this row's argmax,
    /// `next` the actual next token, `nll` this run's NLL of it.
    fn add(&mut self, base: &[f32], this: &[f32], top: usize, next: usize, nll: f64) {
        let mut kl = 0f64;
        let mut top_base = 0;
        for (i, (&b, &t)) in base.iter().zip(this).enumerate() {
            let b64 = b as f64;
            kl += b64.exp() * (b64 - t as f64);
            if b > base[top_base] {
                top_base = i;
            }
        }
        self.kl.add(kl);
        self.kl_max = self.kl_max.max(kl);
        self.same_top += usize::from(top == top_base);
        self.nll_base.add(-(base[next] as f64));
        let dp = (-nll).exp() - (base[next] as f64).exp();
        self.dp.add(dp);
        self.dp_max_abs = self.dp_max_abs.max(dp.abs());
    }

    fn summary(&self, ppl: f64) -> KlSummary {
        let (kl_mean, kl_mean_err) = self.kl.mean_and_error();
        let (nll_base, _) = self.nll_base.mean_and_error();
        let (dp_mean, _) = self.dp.mean_and_error();
        let n = self.kl.n;
        KlSummary {
            count: n,
            kl_mean,
            kl_mean_err,
            kl_max: self.kl_max,
            same_top: self.same_top,
            top1_pct: 100.0 * self.same_top as f64 / n.max(1) as f64,
            ppl_base: nll_base.exp(),
            ln_ppl_ratio: ppl.ln() - nll_base,
            dp_mean,
            dp_rms: (self.dp.sum2 / n.max(1) as f64).sqrt(),
            dp_max_abs: self.dp_max_abs,
        }
    }
}

impl KlSummary {
    fn fields(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("kl_tokens", self.count as f64),
            ("kl_mean", self.kl_mean),
            ("kl_mean_err", self.kl_mean_err),
            ("kl_max", self.kl_max),
            ("top1_agreement_pct", self.top1_pct),
            ("ppl_base", self.ppl_base),
            ("ln_ppl_ratio", self.ln_ppl_ratio),
            ("delta_p_mean", self.dp_mean),
            ("delta_p_rms", self.dp_rms),
            ("delta_p_max_abs", self.dp_max_abs),
        ]
    }
}

fn header(nv: usize, c: usize, n_chunks: usize) -> Vec<u8> {
    let mut h = MAGIC.to_vec();
    for v in [VERSION as usize, nv, c, n_chunks, c / 2, c - 1 - c / 2] {
        h.extend_from_slice(&(v as u32).to_le_bytes());
    }
    h
}

/// Bytes of a base file with these sizes.
fn file_bytes(nv: u64, c: u64, n_chunks: u64) -> u64 {
    let rows = n_chunks * (c - 1 - c / 2);
    HEADER_BYTES + 4 * n_chunks * c + 4 * nv * rows
}

/// Writes a base (`--save-logits`), to `PATH.partial` until `finish` renames it.
struct Saver {
    w: BufWriter<File>,
    tmp: String,
    path: String,
    buf: Vec<u8>,
}

impl Saver {
    fn create(
        path: &str,
        nv: usize,
        c: usize,
        n_chunks: usize,
        tokens: &[u32],
    ) -> Result<Self, String> {
        let tmp = format!("{path}.partial");
        let file = File::create(&tmp).map_err(|e| format!("cannot create '{tmp}': {e}"))?;
        let mut s = Saver {
            w: BufWriter::with_capacity(1 << 20, file),
            tmp,
            path: path.to_string(),
            buf: Vec::with_capacity(4 * nv),
        };
        let mut bytes = header(nv, c, n_chunks);
        for t in tokens {
            bytes.extend_from_slice(&t.to_le_bytes());
        }
        s.write(&bytes)?;
        Ok(s)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.w
            .write_all(bytes)
            .map_err(|e| format!("writing '{}': {e}", self.tmp))
    }

    fn row(&mut self, lp: &[f32]) -> Result<(), String> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        for v in lp {
            buf.extend_from_slice(&v.to_le_bytes());
        }
        let r = self.write(&buf);
        self.buf = buf;
        r
    }

    fn finish(mut self) -> Result<(), String> {
        self.w
            .flush()
            .map_err(|e| format!("writing '{}': {e}", self.tmp))?;
        std::fs::rename(&self.tmp, &self.path)
            .map_err(|e| format!("renaming '{}' to '{}': {e}", self.tmp, self.path))
    }
}

/// A base being read (`--kl-base`): its header checked at open, rows read in scoring order.
struct Base {
    r: BufReader<File>,
    path: String,
    nv: usize,
    c: usize,
    n_chunks: usize,
    tokens: Vec<u32>,
    buf: Vec<u8>,
}

impl Base {
    fn open(path: &str) -> Result<Self, String> {
        let bad = |what: String| format!("--kl-base '{path}': {what}");
        let file = File::open(path).map_err(|e| bad(format!("cannot open: {e}")))?;
        let len = file.metadata().map_err(|e| bad(e.to_string()))?.len();
        let mut r = BufReader::with_capacity(1 << 20, file);
        let mut h = [0u8; HEADER_BYTES as usize];
        r.read_exact(&mut h).map_err(|_| {
            bad(format!(
                "truncated: {len} bytes, shorter than the {HEADER_BYTES}-byte header; make it again with --save-logits"
            ))
        })?;
        if &h[..8] != MAGIC {
            return Err(bad(
                "not a wasm-chord logits file (wrong magic; make one with --save-logits)".into(),
            ));
        }
        let u = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]) as usize;
        let (version, nv, c, n_chunks, first, n_scored) = (u(8), u(12), u(16), u(20), u(24), u(28));
        if version != VERSION as usize {
            return Err(bad(format!(
                "format version {version}, this build reads version {VERSION}; make it again with --save-logits"
            )));
        }
        if c < 4 || nv == 0 || n_chunks == 0 || first != c / 2 || n_scored != c - 1 - c / 2 {
            return Err(bad(format!(
                "inconsistent header (n_vocab {nv}, n_ctx {c}, {n_chunks} chunks, first {first}, {n_scored} scored); make it again with --save-logits"
            )));
        }
        let want = file_bytes(nv as u64, c as u64, n_chunks as u64);
        if len != want {
            return Err(bad(format!(
                "{} {len} bytes, but its header (n_vocab {nv}, n_ctx {c}, {n_chunks} chunks) needs {want}; make it again with --save-logits",
                if len < want { "truncated:" } else { "too long:" }
            )));
        }
        let mut tb = vec![0u8; 4 * n_chunks * c];
        r.read_exact(&mut tb).map_err(|e| bad(e.to_string()))?;
        let tokens = tb
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Ok(Base {
            r,
            path: path.to_string(),
            nv,
            c,
            n_chunks,
            tokens,
            buf: vec![0u8; 4 * nv],
        })
    }

    /// Whether this run can be compared with the base: same vocabulary, -c and tokens.
    fn check(&self, nv: usize, c: usize, n_chunks: usize, tokens: &[u32]) -> Result<(), String> {
        let bad = |what: String| format!("--kl-base '{}': {what}; {REMAKE}", self.path);
        if self.nv != nv {
            return Err(bad(format!(
                "it has a vocabulary of {} tokens, this model {nv}",
                self.nv
            )));
        }
        if self.c != c {
            return Err(bad(format!(
                "it was made with -c {}, this run uses -c {c}",
                self.c
            )));
        }
        if self.n_chunks < n_chunks {
            return Err(bad(format!(
                "it holds {} chunks, this run scores {n_chunks} (pass --chunks {} to compare those)",
                self.n_chunks, self.n_chunks
            )));
        }
        if let Some(i) = self.tokens.iter().zip(tokens).position(|(a, b)| a != b) {
            return Err(bad(format!(
                "its token {i} is {}, this run's is {}",
                self.tokens[i], tokens[i]
            )));
        }
        Ok(())
    }

    fn row(&mut self, lp: &mut [f32]) -> Result<(), String> {
        self.r
            .read_exact(&mut self.buf)
            .map_err(|e| format!("--kl-base '{}': reading: {e}", self.path))?;
        for (o, b) in lp.iter_mut().zip(self.buf.chunks_exact(4)) {
            *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_softmax_matches_the_definition() {
        let logits = [1.0f32, 3.0, -2.0, 3.0];
        let mut lp = [0f32; 4];
        let (nll, top) = log_softmax(&logits, 2, &mut lp);
        let lse = logits.iter().map(|&l| (l as f64).exp()).sum::<f64>().ln();
        // f32 exp, as llama-perplexity: close to the f64 definition, not equal.
        assert!((nll - (lse + 2.0)).abs() < 1e-6);
        assert_eq!(top, 1, "first of the tied maxima");
        for (p, &l) in lp.iter().zip(&logits) {
            assert!((*p as f64 - (l as f64 - lse)).abs() < 1e-6);
        }
    }

    #[test]
    fn kl_of_a_distribution_with_itself_is_exactly_zero() {
        let logits = [0.5f32, -1.25, 2.0, 0.0, 7.5];
        let mut lp = [0f32; 5];
        let (nll, top) = log_softmax(&logits, 0, &mut lp);
        let mut k = KlSums::default();
        k.add(&lp, &lp, top, 0, nll);
        let s = k.summary((nll).exp());
        assert_eq!(s.kl_mean, 0.0);
        assert_eq!(s.top1_pct, 100.0);
    }

    #[test]
    fn file_size_formula() {
        assert_eq!(header(10, 8, 2).len() as u64, HEADER_BYTES);
        // 2 chunks of 8 tokens, 3 scored each (positions 4, 5, 6), vocabulary 10.
        assert_eq!(file_bytes(10, 8, 2), 32 + 4 * 16 + 4 * 10 * 6);
    }
}
