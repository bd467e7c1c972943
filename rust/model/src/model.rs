//! A loaded model and its generation loop: prefill the prompt as a batch (reusing whatever prefix
//! is already in the KV cache), then decode token by token, streaming UTF-8-safe text.

use crate::backend::Backend;
use crate::config::Config;
use crate::forward::{forward, Trace};
use crate::sampler::{Sampler, SamplingParams};
use crate::weights::{load_weights, TensorReader, Weights};
use crate::ModelError;
use gguf::Gguf;
use std::time::Duration;
use tokenizer::{StreamDecoder, Tokenizer};

/// Prompt tokens per forward call: bounds activation memory on long prompts.
const PREFILL_CHUNK: usize = 256;
/// Context used when the caller does not choose one (capped by the model's training context).
pub const DEFAULT_N_CTX: usize = 4096;

pub struct Model<B: Backend> {
    pub config: Config,
    pub tokenizer: Tokenizer,
    weights: Weights<B::Weight>,
    backend: B,
    n_ctx: usize,
    /// The tokens whose keys and values sit in the cache, in position order.
    cached: Vec<u32>,
}

#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub max_tokens: usize,
    pub sampling: SamplingParams,
    /// Keep going past end-of-generation tokens (benchmarks).
    pub ignore_eos: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// The model produced an end-of-generation token.
    Stop,
    /// `max_tokens` reached, or the context is full.
    Length,
    /// The callback asked to stop.
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

impl<B: Backend> Model<B> {
    /// Builds the model: config and tokenizer from metadata, then every tensor through `read`.
    /// `n_ctx` None = min(training context, DEFAULT_N_CTX).
    pub fn load(
        gguf: &Gguf,
        mut backend: B,
        read: &mut TensorReader<'_>,
        n_ctx: Option<usize>,
    ) -> Result<Self, ModelError> {
        let config = Config::from_gguf(gguf)?;
        let tokenizer = Tokenizer::from_gguf(gguf)?;
        if tokenizer.vocab_size() != config.n_vocab {
            return Err(ModelError::BadConfig(format!(
                "tokenizer has {} tokens but the model's vocabulary is {}",
                tokenizer.vocab_size(),
                config.n_vocab
            )));
        }
        let n_ctx = n_ctx.unwrap_or(DEFAULT_N_CTX.min(config.n_ctx_train));
        if n_ctx == 0 {
            return Err(ModelError::BadConfig(
                "context size must be at least 1".into(),
            ));
        }
        let weights = load_weights(gguf, &config, &mut backend, read)?;
        backend
            .init_kv_cache(config.n_layer, n_ctx, config.kv_dim())
            .map_err(ModelError::backend)?;
        Ok(Model {
            config,
            tokenizer,
            weights,
            backend,
            n_ctx,
            cached: Vec::new(),
        })
    }

    pub fn n_ctx(&self) -> usize {
        self.n_ctx
    }

    /// Forgets the cached sequence (the next prompt is evaluated from scratch).
    pub fn reset(&mut self) {
        self.cached.clear();
    }

    /// Runs tokens at positions `pos0..` through the network and returns the last token's
    /// logits; `trace` sees every named intermediate. Low level: does not track the cache.
    pub fn forward_traced(
        &mut self,
        tokens: &[u32],
        pos0: usize,
        trace: Option<&mut Trace<'_>>,
    ) -> Result<Vec<f32>, ModelError> {
        self.check_tokens(tokens)?;
        if pos0 + tokens.len() > self.n_ctx {
            return Err(ModelError::PromptTooLong {
                prompt: pos0 + tokens.len(),
                n_ctx: self.n_ctx,
            });
        }
        self.cached.truncate(pos0);
        let logits = forward(
            &self.config,
            &self.weights,
            &mut self.backend,
            tokens,
            pos0,
            trace,
        )?;
        self.cached.extend_from_slice(tokens);
        Ok(logits)
    }

    /// Makes the cache hold exactly `tokens` and returns the logits after the last one.
    /// The longest prefix already cached is reused (always re-evaluating at least one token).
    pub fn eval(&mut self, tokens: &[u32]) -> Result<(Vec<f32>, usize), ModelError> {
        if tokens.is_empty() {
            return Err(ModelError::EmptyPrompt);
        }
        if tokens.len() > self.n_ctx {
            return Err(ModelError::PromptTooLong {
                prompt: tokens.len(),
                n_ctx: self.n_ctx,
            });
        }
        self.check_tokens(tokens)?;
        let common = self
            .cached
            .iter()
            .zip(tokens)
            .take_while(|(a, b)| a == b)
            .count();
        let start = common.min(tokens.len() - 1);
        let mut logits = Vec::new();
        for (i, chunk) in tokens[start..].chunks(PREFILL_CHUNK).enumerate() {
            logits = self.forward_traced(chunk, start + i * PREFILL_CHUNK, None)?;
        }
        Ok((logits, tokens.len() - start))
    }

    /// Generates after `prompt`, calling `on_text` with each new piece of text (never half a
    /// UTF-8 character); `on_text` returns false to stop.
    pub fn generate(
        &mut self,
        prompt: &[u32],
        opts: &GenerateOptions,
        on_text: &mut dyn FnMut(&str) -> bool,
    ) -> Result<GenerationStats, ModelError> {
        let mut sampler = Sampler::new(opts.sampling.clone())?;
        let t0 = web_time::Instant::now();
        let (mut logits, evaluated) = self.eval(prompt)?;
        let prompt_time = t0.elapsed();
        for &t in prompt {
            sampler.accept(t);
        }

        let t1 = web_time::Instant::now();
        let mut decoder = StreamDecoder::new();
        let mut generated = Vec::new();
        let mut finish = FinishReason::Length;
        while generated.len() < opts.max_tokens {
            let token = sampler.sample(&logits);
            if !opts.ignore_eos && self.tokenizer.is_end_of_generation(token) {
                finish = FinishReason::Stop;
                break;
            }
            generated.push(token);
            sampler.accept(token);
            let text = decoder.push(&self.tokenizer, token);
            if !text.is_empty() && !on_text(&text) {
                finish = FinishReason::Abort;
                break;
            }
            let pos = self.cached.len();
            if generated.len() == opts.max_tokens || pos >= self.n_ctx {
                break;
            }
            logits = self.forward_traced(&[token], pos, None)?;
        }
        let tail = decoder.flush();
        if !tail.is_empty() && finish != FinishReason::Abort {
            on_text(&tail);
        }
        Ok(GenerationStats {
            finish_reason: finish,
            prompt_tokens: prompt.len(),
            prompt_evaluated: evaluated,
            prompt_time,
            generated_tokens: generated,
            decode_time: t1.elapsed(),
        })
    }

    fn check_tokens(&self, tokens: &[u32]) -> Result<(), ModelError> {
        match tokens.iter().find(|&&t| t as usize >= self.config.n_vocab) {
            Some(&id) => Err(ModelError::TokenOutOfRange {
                id,
                n_vocab: self.config.n_vocab,
            }),
            None => Ok(()),
        }
    }
}
