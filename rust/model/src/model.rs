//! A loaded model: building it tensor by tensor, and evaluating tokens against its KV cache
//! (reusing whatever prefix is already cached). The generation loop is in `generation.rs`.

use crate::backend::{Backend, WeightDesc};
use crate::config::Config;
use crate::forward::{
    begin_forward, finish_forward_logits, forward_layers, read_logits, ForwardPass, Trace, Tracer,
};
use crate::weights::{PlannedTensor, TensorReader, WeightLoader, Weights};
use crate::ModelError;
use gguf::Gguf;
use tokenizer::Tokenizer;

/// Prompt tokens per forward call: bounds activation memory on long prompts. 512 is llama.cpp's
/// default micro-batch (`n_ubatch`), so a long prompt is split where llama.cpp splits it; the CPU
/// kernels' float order depends on the rows in a batch, so this keeps the numbers equal.
pub const PREFILL_CHUNK: usize = 512;
/// Context used when the caller does not choose one (capped by the model's training context).
pub const DEFAULT_N_CTX: usize = 4096;

pub struct Model<B: Backend> {
    pub config: Config,
    pub tokenizer: Tokenizer,
    weights: Weights<B::Weight>,
    backend: B,
    n_ctx: usize,
    /// The tokens whose keys and values sit in the cache, in position order.
    pub(crate) cached: Vec<u32>,
    /// How many leading cached positions were computed exactly as a fresh evaluation computes
    /// them: whole `PREFILL_CHUNK` batches from position 0. Only these are reused, because the
    /// kernels' float order depends on how rows are batched (a token decoded alone, or a prompt
    /// split elsewhere, gets keys and values a few ulps apart), and a reused prefix must never
    /// change the output.
    exact_prefix: usize,
}

/// Loads a model push-style: the header is checked up front (config, tokenizer, every tensor's
/// shape, type and byte range), then the caller hands over each tensor's bytes in file order.
/// `Model::load` drives it from a reader; the browser drives it from async reads.
pub struct ModelBuilder<B: Backend> {
    config: Config,
    tokenizer: Tokenizer,
    weights: WeightLoader<B::Weight>,
    backend: B,
    n_ctx: usize,
}

impl<B: Backend> ModelBuilder<B> {
    /// `n_ctx` None = min(training context, DEFAULT_N_CTX).
    pub fn new(gguf: &Gguf, mut backend: B, n_ctx: Option<usize>) -> Result<Self, ModelError> {
        let mut config = Config::from_gguf(gguf)?;
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
        // llama.cpp's get_rope_factors: long factors when the context exceeds n_ctx_orig.
        config.rope_factors_long = n_ctx > config.n_ctx_orig;
        let weights = WeightLoader::new(gguf, &config)?;
        backend
            .plan_memory(&crate::backend::MemoryPlan {
                weight_bytes: weights.total_bytes(),
                n_layer: config.n_layer,
                n_ctx,
                kv_dim: config.kv_dim(),
                n_embd: config.n_embd,
                n_ff: config.n_ff,
                n_vocab: config.n_vocab,
                max_rows: PREFILL_CHUNK,
                moe: config.moe,
            })
            .map_err(ModelError::backend)?;
        Ok(ModelBuilder {
            config,
            tokenizer,
            weights,
            backend,
            n_ctx,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    pub fn n_ctx(&self) -> usize {
        self.n_ctx
    }

    /// The next tensor wanted (ascending file offsets), or None when all are loaded.
    pub fn next_tensor(&self) -> Option<&PlannedTensor> {
        self.weights.next_tensor()
    }

    /// The bytes of the tensor `next_tensor()` named.
    pub fn load_tensor(&mut self, bytes: &[u8]) -> Result<(), ModelError> {
        self.weights.load_next(&mut self.backend, bytes)
    }

    /// Loads the tensor `next_tensor()` named through `make(backend, desc, byte length)`, which
    /// fetches its bytes itself (see `WeightLoader::load_next_with`).
    pub fn load_tensor_with(
        &mut self,
        make: impl FnOnce(&mut B, &WeightDesc, usize) -> Result<B::Weight, B::Error>,
    ) -> Result<(), ModelError> {
        self.weights.load_next_with(&mut self.backend, make)
    }

    pub fn total_bytes(&self) -> u64 {
        self.weights.total_bytes()
    }

    pub fn loaded_bytes(&self) -> u64 {
        self.weights.loaded_bytes()
    }

    /// The ready model, once every tensor is loaded.
    pub fn finish(mut self) -> Result<Model<B>, ModelError> {
        let mut weights = self.weights.finish()?;
        for l in &mut weights.layers {
            // (what the fused steps read in one pass: Backend::stack_weights)
            let e = ModelError::backend;
            self.backend
                .stack_weights(&mut [&mut l.wq, &mut l.wk, &mut l.wv])
                .map_err(e)?;
            if let (Some(gate), Some(up)) = (&mut l.ffn_gate, &mut l.ffn_up) {
                self.backend.stack_weights(&mut [gate, up]).map_err(e)?;
            }
        }
        self.backend
            .init_kv_cache(self.config.n_layer, self.n_ctx, self.config.kv_dim())
            .map_err(ModelError::backend)?;
        Ok(Model {
            config: self.config,
            tokenizer: self.tokenizer,
            weights,
            backend: self.backend,
            n_ctx: self.n_ctx,
            cached: Vec::new(),
            exact_prefix: 0,
        })
    }
}

impl<B: Backend> Model<B> {
    /// Builds the model: config and tokenizer from metadata, then every tensor through `read`.
    /// `n_ctx` None = min(training context, DEFAULT_N_CTX).
    pub fn load(
        gguf: &Gguf,
        backend: B,
        read: &mut TensorReader<'_>,
        n_ctx: Option<usize>,
    ) -> Result<Self, ModelError> {
        let mut builder = ModelBuilder::new(gguf, backend, n_ctx)?;
        let mut buf = Vec::new();
        while let Some(t) = builder.next_tensor() {
            let range = t.range.clone();
            read(range.clone(), &mut buf).map_err(|e| ModelError::BadTensor {
                name: t.desc.name.clone(),
                problem: format!("reading bytes {}..{}: {e}", range.start, range.end),
            })?;
            builder.load_tensor(&buf)?;
        }
        builder.finish()
    }

    pub fn n_ctx(&self) -> usize {
        self.n_ctx
    }

    /// The backend the model runs on (e.g. to await a GPU read started by `poll_step`).
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// The backend, mutably: for backend-specific reports (the CUDA backend's launch counts and
    /// profile in `wasm-chord bench`), not for changing state the model relies on.
    pub fn backend_mut(&mut self) -> &mut B {
        &mut self.backend
    }

    /// Forgets the cached sequence (the next prompt is evaluated from scratch).
    pub fn reset(&mut self) {
        self.cached.clear();
        self.exact_prefix = 0;
    }

    /// Runs tokens at positions `pos0..` through the network and returns the last token's
    /// logits; `trace` sees every named intermediate. Low level: does not track the cache.
    pub fn forward_traced(
        &mut self,
        tokens: &[u32],
        pos0: usize,
        trace: Option<&mut Trace<'_>>,
    ) -> Result<Vec<f32>, ModelError> {
        let mut tr = Tracer::new(trace);
        let logits = self.forward_logits(tokens, pos0, &mut tr)?;
        self.read_logits(&logits, &mut tr)
    }

    /// `forward_traced` up to the logits, which stay on the device.
    pub(crate) fn forward_logits(
        &mut self,
        tokens: &[u32],
        pos0: usize,
        tr: &mut Tracer,
    ) -> Result<B::Tensor, ModelError> {
        let mut pass = self.begin_chunk(tokens, pos0, tr)?;
        self.continue_chunk(&mut pass, usize::MAX, tr)?;
        self.finish_chunk_logits(pass, tokens, tr)
    }

    /// The host copy of logits left on the device (softcap applied).
    pub(crate) fn read_logits(
        &mut self,
        logits: &B::Tensor,
        tr: &mut Tracer,
    ) -> Result<Vec<f32>, ModelError> {
        read_logits(&self.config, &mut self.backend, logits, tr)
    }

    /// Starts copying device logits to the host (see `Backend::begin_read`).
    pub(crate) fn begin_read(&mut self, logits: &B::Tensor) -> Result<(), ModelError> {
        self.backend.begin_read(logits).map_err(ModelError::backend)
    }

    /// Whether the copy `begin_read` started has landed.
    pub(crate) fn read_ready(&mut self) -> Result<bool, ModelError> {
        self.backend.read_ready().map_err(ModelError::backend)
    }

    /// Starts evaluating `tokens` at positions `pos0..` (the cache is cut back to `pos0`), to be
    /// run a few layers at a time by `continue_chunk` and ended by `finish_chunk`. A chunk left
    /// unfinished leaves the cache consistent: it holds the first `pos0` tokens.
    pub(crate) fn begin_chunk(
        &mut self,
        tokens: &[u32],
        pos0: usize,
        tr: &mut Tracer,
    ) -> Result<ForwardPass<B::Tensor>, ModelError> {
        self.check_tokens(tokens)?;
        if pos0 + tokens.len() > self.n_ctx {
            return Err(ModelError::PromptTooLong {
                prompt: pos0 + tokens.len(),
                n_ctx: self.n_ctx,
            });
        }
        self.cached.truncate(pos0);
        self.exact_prefix = self.exact_prefix.min(pos0);
        begin_forward(
            &self.config,
            &self.weights,
            &mut self.backend,
            tokens,
            pos0,
            tr,
        )
    }

    /// Runs up to `max_layers` more layers of a chunk; true when all are done.
    pub(crate) fn continue_chunk(
        &mut self,
        pass: &mut ForwardPass<B::Tensor>,
        max_layers: usize,
        tr: &mut Tracer,
    ) -> Result<bool, ModelError> {
        forward_layers(
            &self.config,
            &self.weights,
            &mut self.backend,
            pass,
            max_layers,
            tr,
        )
    }

    /// Ends a chunk whose layers are done: its tokens join the cache; returns the last logits.
    pub(crate) fn finish_chunk(
        &mut self,
        pass: ForwardPass<B::Tensor>,
        tokens: &[u32],
        tr: &mut Tracer,
    ) -> Result<Vec<f32>, ModelError> {
        let logits = self.finish_chunk_logits(pass, tokens, tr)?;
        self.read_logits(&logits, tr)
    }

    /// `finish_chunk`, the logits left on the device.
    pub(crate) fn finish_chunk_logits(
        &mut self,
        pass: ForwardPass<B::Tensor>,
        tokens: &[u32],
        tr: &mut Tracer,
    ) -> Result<B::Tensor, ModelError> {
        let pos0 = pass.pos0();
        let logits =
            finish_forward_logits(&self.config, &self.weights, &mut self.backend, pass, tr)?;
        self.cached.extend_from_slice(tokens);
        if pos0 == self.exact_prefix && tokens.len() == PREFILL_CHUNK {
            self.exact_prefix += PREFILL_CHUNK;
        }
        Ok(logits)
    }

    /// Makes the cache hold exactly `tokens` and returns the logits after the last one, and how
    /// many tokens had to be evaluated. Reuses only what a fresh evaluation would compute
    /// identically (the numbers never depend on what ran before).
    pub fn eval(&mut self, tokens: &[u32]) -> Result<(Vec<f32>, usize), ModelError> {
        let start = self.reusable_prefix(tokens, false)?;
        let mut logits = Vec::new();
        for (i, chunk) in tokens[start..].chunks(PREFILL_CHUNK).enumerate() {
            logits = self.forward_traced(chunk, start + i * PREFILL_CHUNK, None)?;
        }
        Ok((logits, tokens.len() - start))
    }

    /// Evaluates `tokens` after the cached ones (positions `cached..`, as `eval` appends) in one
    /// forward call and returns the logits of every row, `(tokens.len(), n_vocab)` row-major,
    /// softcap applied (`all_logits`): for perplexity. The caller bounds the batch (memory is
    /// rows × n_vocab × 4 bytes, twice while it is copied back). Cached positions computed this
    /// way are not counted as reusable (`exact_prefix` stays where it was).
    pub fn eval_all_logits(&mut self, tokens: &[u32]) -> Result<Vec<f32>, ModelError> {
        self.eval_appended(tokens, true)
    }

    /// `eval_all_logits` without any logits: only fills the cache (a perplexity chunk's
    /// unscored first half skips the output matmul, the largest one of a small model).
    pub fn eval_no_logits(&mut self, tokens: &[u32]) -> Result<(), ModelError> {
        self.eval_appended(tokens, false).map(drop)
    }

    fn eval_appended(&mut self, tokens: &[u32], logits: bool) -> Result<Vec<f32>, ModelError> {
        if tokens.is_empty() {
            return Err(ModelError::EmptyPrompt);
        }
        let pos0 = self.cached.len();
        let mut tr = Tracer::new(None);
        let mut pass = self.begin_chunk(tokens, pos0, &mut tr)?;
        self.continue_chunk(&mut pass, usize::MAX, &mut tr)?;
        let out = match logits {
            true => crate::all_logits::finish_all_logits(
                &self.config,
                &self.weights,
                &mut self.backend,
                pass,
            )?,
            false => Vec::new(),
        };
        self.cached.extend_from_slice(tokens);
        Ok(out)
    }

    /// Checks a prompt and returns how many of its leading tokens are already in the cache and
    /// will be kept; at least one token is always left to evaluate (its logits are needed).
    ///
    /// - `longest` (`cache_prompt`): the whole common prefix of the cache and the prompt, as
    ///   llama-server keeps it — unless llama.cpp could not rewind its sliding-window cache there
    ///   (`rewind_fits_swa_cells`); then as below.
    /// - otherwise: whole chunks computed exactly as a fresh evaluation would (`exact_prefix`).
    pub(crate) fn reusable_prefix(
        &self,
        tokens: &[u32],
        longest: bool,
    ) -> Result<usize, ModelError> {
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
            .count()
            .min(tokens.len() - 1);
        if longest && self.rewind_fits_swa_cells(common) {
            return Ok(common);
        }
        let exact = common.min(self.exact_prefix);
        Ok(exact - exact % PREFILL_CHUNK)
    }

    /// Whether cutting the cache back to `keep` positions keeps llama.cpp's sliding-window cells
    /// as our attention walks them (`swa_rewind_keeps_cells`).
    fn rewind_fits_swa_cells(&self, keep: usize) -> bool {
        match self.config.sliding_window {
            Some(window) => swa_rewind_keeps_cells(window, self.n_ctx, self.cached.len(), keep),
            None => true,
        }
    }

    pub(crate) fn check_tokens(&self, tokens: &[u32]) -> Result<(), ModelError> {
        match tokens.iter().find(|&&t| t as usize >= self.config.n_vocab) {
            Some(&id) => Err(ModelError::TokenOutOfRange {
                id,
                n_vocab: self.config.n_vocab,
            }),
            None => Ok(()),
        }
    }
}

/// Whether llama.cpp, its cache holding positions `0..len` of a model with a sliding `window`,
/// can cut the cache back to `keep` positions and evaluate on from there with its sliding-window
/// cells (`llama_swa_cache_cells`) laid out as a fresh run lays them out — position `p` in cell
/// `p % cells`, which is the key order our attention reproduces:
/// - it frees the removed cells and goes on from the lowest freed one, which is `keep % cells`
///   only if the removed positions `keep..len` do not cross a multiple of `cells`;
/// - its cells hold only the latest `cells` positions, and the window of position `keep` must
///   still be among them.
/// (A cache that never filled its cells always fits.)
pub(crate) fn swa_rewind_keeps_cells(window: usize, n_ctx: usize, len: usize, keep: usize) -> bool {
    let cells = crate::backend::llama_swa_cache_cells(window, n_ctx);
    if keep >= len || len <= cells {
        return true;
    }
    let same_lap = keep / cells == (len - 1) / cells;
    let oldest_held = len - cells;
    let oldest_needed = (keep + 1).saturating_sub(window);
    same_lap && oldest_needed >= oldest_held
}

#[cfg(test)]
mod tests {
    use super::swa_rewind_keeps_cells as fits;

    /// Gemma 3 270M: a window of 512, so 1024 cells at a 2048 context.
    #[test]
    fn swa_rewinds_that_keep_llama_cpp_cells() {
        let (w, ctx) = (512, 2048);
        // Before the cells are full, any cut works.
        assert!(fits(w, ctx, 1000, 3));
        assert!(fits(w, ctx, 1024, 1000));
        // After the wrap: a short cut inside the last lap works...
        assert!(fits(w, ctx, 1100, 1050));
        assert!(fits(w, ctx, 1100, 1024));
        // ...one across the wrap (position 1024 lives in cell 0) does not...
        assert!(!fits(w, ctx, 1100, 1023));
        // ...nor one whose window was already overwritten (keys 589.. gone, cells hold 976..).
        assert!(!fits(w, ctx, 2000, 1100));
        assert!(fits(w, ctx, 2000, 1500));
        // Nothing removed: always.
        assert!(fits(w, ctx, 1500, 1500));
        // A context smaller than the cells: llama.cpp's cells are the context.
        assert!(fits(w, 512, 512, 10));
    }
}
