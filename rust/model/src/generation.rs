//! The generation loop as a state machine: `Model::begin` sets up a request and each
//! `Model::step` does one unit of work (one prompt chunk, or one token). A caller that must stay
//! responsive — a Web Worker listening for an abort message — returns to its event loop between
//! steps; `Model::generate` simply runs the steps to the end with a text callback.
//!
//! Reads from the device: `step` reads the logits with `Backend::read`, which waits for the
//! device (the CPU has nothing to wait for; native wgpu blocks on `Device::poll`). A browser's
//! WebGPU device can only be waited on by returning to the JS event loop, so `poll_step` never
//! waits: where logits must come back from the device it starts their copy
//! (`Backend::begin_read`), keeps the device tensor in the `Generation` and returns
//! `Poll::Pending`; the caller awaits the backend's completion (the GPU backend's `read_wait`)
//! and polls again, which then finds the copy landed (`Backend::read_ready`) and goes on from
//! there. The two give the same tokens: only where the wait happens differs.

use crate::backend::Backend;
use crate::forward::{ForwardPass, Tracer};
use crate::model::{Model, PREFILL_CHUNK};
use crate::sampler::{Sampler, SamplingParams};
use crate::ModelError;
use std::task::Poll;
use std::time::Duration;
use tokenizer::StreamDecoder;
use web_time::Instant;

#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub max_tokens: usize,
    pub sampling: SamplingParams,
    /// Keep going past end-of-generation tokens (benchmarks).
    pub ignore_eos: bool,
    /// Reuse the longest prefix of the prompt already in the KV cache (llama-server's
    /// `cache_prompt`): a chat turn then evaluates only its new tokens. Off, only whole prefill
    /// chunks computed exactly as a fresh run computes them are reused, so the output equals a
    /// fresh run's bit for bit; on, it equals what llama.cpp gives when it evaluates the same
    /// suffix on its own cache (the kernels' float order depends on how rows were batched).
    pub cache_prompt: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// The model produced an end-of-generation token.
    Stop,
    /// `max_tokens` reached, or the context is full.
    Length,
    /// The caller cancelled the request.
    Abort,
}

impl FinishReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::Abort => "abort",
        }
    }
}

#[derive(Debug, Clone)]
pub struct GenerationStats {
    pub finish_reason: FinishReason,
    /// Tokens in the prompt, and how many of them had to be evaluated (the rest were cached).
    pub prompt_tokens: usize,
    pub prompt_evaluated: usize,
    pub prompt_time: Duration,
    pub generated_tokens: Vec<u32>,
    pub decode_time: Duration,
}

impl GenerationStats {
    pub fn prompt_tps(&self) -> f64 {
        self.prompt_evaluated as f64 / self.prompt_time.as_secs_f64().max(1e-9)
    }
    /// Decode speed over the tokens that needed a forward pass (all but the first).
    pub fn decode_tps(&self) -> f64 {
        self.generated_tokens.len().saturating_sub(1) as f64
            / self.decode_time.as_secs_f64().max(1e-9)
    }
}

/// One request in progress. It holds no borrow of the model, so it can live across calls from
/// JavaScript; pass it back to `Model::step` with the model that began it.
pub struct Generation<B: Backend> {
    opts: GenerateOptions,
    /// Layers of a prompt chunk per step (0 = the whole chunk in one step).
    layers_per_step: usize,
    /// The prompt chunk being evaluated, when a step stopped between layers.
    chunk: Option<ForwardPass<B::Tensor>>,
    sampler: Sampler,
    prompt: Vec<u32>,
    /// Prompt tokens `0..prefilled` are in the cache.
    prefilled: usize,
    /// Where evaluation of this prompt started (tokens before it were reused from the cache).
    prefill_start: usize,
    /// Logits for the next token, once the prompt is in.
    logits: Vec<f32>,
    /// `poll_step` only: the next token's logits still on the device, their copy to the host
    /// started; they become `logits` once it has landed.
    device_logits: Option<B::Tensor>,
    /// `poll_step` only: when the step that is waiting for the device began (its wait counts
    /// towards the prompt or decode time).
    waiting_since: Option<Instant>,
    /// The last sampled token, not yet run through the network (it is only needed if another
    /// token is wanted, so a request that ends or is cancelled never pays for it).
    pending: Option<u32>,
    decoder: StreamDecoder,
    generated: Vec<u32>,
    prompt_time: Duration,
    decode_time: Duration,
    cancelled: bool,
    finished: bool,
}

/// What one `step` did.
#[derive(Debug, Clone)]
pub enum Step {
    /// Part of the prompt went through the network (some layers of a chunk, or a whole chunk):
    /// `evaluated` of the `total` prompt tokens that needed evaluation are done.
    Prefill { evaluated: usize, total: usize },
    /// A new token; `text` is empty while a UTF-8 character is incomplete.
    Token { token: u32, text: String },
    /// The request is over; `text` is any text held back until now.
    Finished {
        text: String,
        stats: GenerationStats,
    },
}

impl<B: Backend> Generation<B> {
    /// Bounds the work of a prefill step to `n` layers of a prompt chunk (0 = a whole chunk), so
    /// a caller that must stay responsive — a Web Worker waiting for an abort — gets control back
    /// often even while a long prompt is evaluated. The numbers are the same either way.
    pub fn set_layers_per_step(&mut self, n: usize) {
        self.layers_per_step = n;
    }

    /// Asks the request to end: the next step finishes it with `FinishReason::Abort`.
    pub fn cancel(&mut self) {
        self.cancelled = true;
    }

    pub fn is_finished(&self) -> bool {
        self.finished
    }
}

impl<B: Backend> Model<B> {
    /// Starts a request after `prompt`. Nothing is evaluated yet; the part of the prompt already in
    /// the cache that `opts.cache_prompt` allows will be reused (see `Model::reusable_prefix`).
    pub fn begin(
        &mut self,
        prompt: &[u32],
        opts: &GenerateOptions,
    ) -> Result<Generation<B>, ModelError> {
        let mut sampler = Sampler::new(opts.sampling.clone())?;
        let prefill_start = self.reusable_prefix(prompt, opts.cache_prompt)?;
        for &t in prompt {
            sampler.accept(t);
        }
        Ok(Generation {
            opts: opts.clone(),
            layers_per_step: 0,
            chunk: None,
            sampler,
            prompt: prompt.to_vec(),
            prefilled: prefill_start,
            prefill_start,
            logits: Vec::new(),
            device_logits: None,
            waiting_since: None,
            pending: None,
            decoder: StreamDecoder::new(),
            generated: Vec::new(),
            prompt_time: Duration::ZERO,
            decode_time: Duration::ZERO,
            cancelled: false,
            finished: false,
        })
    }

    /// Does the next unit of work of `gen`. After `Step::Finished`, further calls are an error.
    /// Waits for the device where logits are read (see the module comment).
    pub fn step(&mut self, gen: &mut Generation<B>) -> Result<Step, ModelError> {
        match self.step_inner(gen, true)? {
            Poll::Ready(step) => Ok(step),
            // (only poll_step leaves reads in flight)
            Poll::Pending => Err(ModelError::BadRequest(
                "this generation is waiting for the device: continue it with poll_step".into(),
            )),
        }
    }

    /// `step` without ever waiting for the device: `Poll::Pending` when the logits' copy to the
    /// host was started or has not landed yet; await the backend, then poll again. A generation
    /// driven by `poll_step` should be driven by it to the end.
    pub fn poll_step(&mut self, gen: &mut Generation<B>) -> Result<Poll<Step>, ModelError> {
        self.step_inner(gen, false)
    }

    fn step_inner(
        &mut self,
        gen: &mut Generation<B>,
        wait: bool,
    ) -> Result<Poll<Step>, ModelError> {
        if gen.finished {
            return Err(ModelError::BadRequest(
                "this generation has finished; begin a new one".into(),
            ));
        }
        if gen.cancelled {
            gen.device_logits = None;
            return Ok(Poll::Ready(self.finish(gen, FinishReason::Abort)));
        }
        if gen.prefilled < gen.prompt.len() {
            return self.prefill_step(gen, wait).map(Poll::Ready);
        }
        self.decode_step(gen, wait)
    }

    fn prefill_step(&mut self, gen: &mut Generation<B>, wait: bool) -> Result<Step, ModelError> {
        let t0 = Instant::now();
        let mut tr = Tracer::new(None);
        // Chunks are aligned to where evaluation started, as in `Model::eval`, so a prompt is
        // split the same way (and gives the same numbers) whichever way it is run.
        let end = (gen.prefilled + PREFILL_CHUNK).min(gen.prompt.len());
        let chunk = &gen.prompt[gen.prefilled..end];
        let mut pass = match gen.chunk.take() {
            Some(pass) => pass,
            None => self.begin_chunk(chunk, gen.prefilled, &mut tr)?,
        };
        let max_layers = match gen.layers_per_step {
            0 => usize::MAX,
            n => n,
        };
        if self.continue_chunk(&mut pass, max_layers, &mut tr)? {
            if wait {
                gen.logits = self.finish_chunk(pass, chunk, &mut tr)?;
            } else {
                let logits = self.finish_chunk_logits(pass, chunk, &mut tr)?;
                // Only the last chunk's logits are used: its copy is awaited by the first
                // decode poll. (The other chunks' work is simply queued on the device.)
                if end == gen.prompt.len() {
                    self.begin_read(&logits)?;
                    gen.device_logits = Some(logits);
                }
            }
            gen.prefilled = end;
        } else {
            gen.chunk = Some(pass);
        }
        gen.prompt_time += t0.elapsed();
        Ok(Step::Prefill {
            evaluated: gen.prefilled - gen.prefill_start,
            total: gen.prompt.len() - gen.prefill_start,
        })
    }

    fn decode_step(
        &mut self,
        gen: &mut Generation<B>,
        wait: bool,
    ) -> Result<Poll<Step>, ModelError> {
        if gen.generated.len() >= gen.opts.max_tokens {
            gen.device_logits = None;
            return Ok(Poll::Ready(self.finish(gen, FinishReason::Length)));
        }
        let t0 = gen.waiting_since.take().unwrap_or_else(Instant::now);
        if gen.device_logits.is_some() {
            // poll_step: a copy started earlier (by the last prefill chunk or the poll before).
            if !self.read_ready()? {
                gen.waiting_since = Some(t0);
                return Ok(Poll::Pending);
            }
            let logits = gen.device_logits.take().expect("checked above");
            gen.logits = self.read_logits(&logits, &mut Tracer::new(None))?;
            if gen.generated.is_empty() {
                // the wait was for the prompt's last chunk
                gen.prompt_time += t0.elapsed();
                return Ok(Poll::Ready(self.sample_next(gen, Instant::now())));
            }
        } else if let Some(token) = gen.pending.take() {
            let pos = self.cached.len();
            if pos >= self.n_ctx() {
                return Ok(Poll::Ready(self.finish(gen, FinishReason::Length)));
            }
            if wait {
                gen.logits = self.forward_traced(&[token], pos, None)?;
            } else {
                let logits = self.forward_logits(&[token], pos, &mut Tracer::new(None))?;
                self.begin_read(&logits)?;
                gen.device_logits = Some(logits);
                gen.waiting_since = Some(t0);
                return Ok(Poll::Pending);
            }
        }
        Ok(Poll::Ready(self.sample_next(gen, t0)))
    }

    /// Samples the next token from `gen.logits` (the decode step begun at `t0`).
    fn sample_next(&mut self, gen: &mut Generation<B>, t0: Instant) -> Step {
        let token = gen.sampler.sample(&gen.logits);
        gen.decode_time += t0.elapsed();
        if !gen.opts.ignore_eos && self.tokenizer.is_end_of_generation(token) {
            return self.finish(gen, FinishReason::Stop);
        }
        gen.generated.push(token);
        gen.sampler.accept(token);
        gen.pending = Some(token);
        let text = gen.decoder.push(&self.tokenizer, token);
        Step::Token { token, text }
    }

    fn finish(&self, gen: &mut Generation<B>, reason: FinishReason) -> Step {
        gen.finished = true;
        // Text held back for an incomplete character is emitted unless the caller walked away.
        let text = if reason == FinishReason::Abort {
            String::new()
        } else {
            gen.decoder.flush()
        };
        Step::Finished {
            text,
            stats: GenerationStats {
                finish_reason: reason,
                prompt_tokens: gen.prompt.len(),
                prompt_evaluated: gen.prefilled - gen.prefill_start,
                prompt_time: gen.prompt_time,
                generated_tokens: std::mem::take(&mut gen.generated),
                decode_time: gen.decode_time,
            },
        }
    }

    /// Generates after `prompt`, calling `on_text` with each new piece of text (never half a
    /// UTF-8 character); `on_text` returns false to stop.
    pub fn generate(
        &mut self,
        prompt: &[u32],
        opts: &GenerateOptions,
        on_text: &mut dyn FnMut(&str) -> bool,
    ) -> Result<GenerationStats, ModelError> {
        let mut gen = self.begin(prompt, opts)?;
        loop {
            match self.step(&mut gen)? {
                Step::Prefill { .. } => {}
                Step::Token { text, .. } => {
                    if !text.is_empty() && !on_text(&text) {
                        gen.cancel();
                    }
                }
                Step::Finished { text, stats } => {
                    if !text.is_empty() {
                        on_text(&text);
                    }
                    return Ok(stats);
                }
            }
        }
    }
}
