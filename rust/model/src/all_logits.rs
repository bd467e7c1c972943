//! Logits of every row of a forward pass, not only the last one: what perplexity and KL
//! divergence need (`wasm-chord perplexity`, as llama.cpp's llama-perplexity).
//!
//! `begin_forward` and `forward_layers` run as for generation; `finish_forward_all_logits` then
//! norms every row and multiplies by the output weight with the same backend step the last row
//! takes in generation (`Backend::norm_matmul`), so every row's logits are computed as the last
//! row's are.
//!
//! Memory: the logits come back as one `(rows, n_vocab)` f32 block, so callers bound `rows` by
//! evaluating in batches (Gemma's 262,144-token vocabulary makes 64 rows 64 MiB).

use crate::backend::Backend;
use crate::config::Config;
use crate::forward::{
    begin_forward, finish_forward_all_logits, forward_layers, read_logits, ForwardPass, Tracer,
};
use crate::weights::Weights;
use crate::ModelError;

/// Runs `tokens` at positions `pos0..` (filling the KV cache) and returns the logits of every
/// row, `(tokens.len(), n_vocab)` row-major, with the final logit softcap applied.
pub fn forward_all_logits<B: Backend>(
    cfg: &Config,
    w: &Weights<B::Weight>,
    be: &mut B,
    tokens: &[u32],
    pos0: usize,
) -> Result<Vec<f32>, ModelError> {
    let mut tr = Tracer::new(None);
    let mut pass = begin_forward(cfg, w, be, tokens, pos0, &mut tr)?;
    forward_layers(cfg, w, be, &mut pass, usize::MAX, &mut tr)?;
    finish_all_logits(cfg, w, be, pass)
}

/// Ends a pass whose layers are all done with the logits of all its rows (softcap applied).
pub fn finish_all_logits<B: Backend>(
    cfg: &Config,
    w: &Weights<B::Weight>,
    be: &mut B,
    pass: ForwardPass<B::Tensor>,
) -> Result<Vec<f32>, ModelError> {
    let logits = finish_forward_all_logits(cfg, w, be, pass)?;
    read_logits(cfg, be, &logits, &mut Tracer::off())
}
