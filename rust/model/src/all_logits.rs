//! Logits of every row of a forward pass, not only the last one: what perplexity and KL
//! divergence need (`wasm-chord perplexity`, as llama.cpp's llama-perplexity).
//!
//! Built from `forward.rs`' public pieces only: `begin_forward` and `forward_layers` run as for
//! generation, then `finish_forward_logits` runs against [`AllRows`], a thin wrapper of the
//! backend that turns that function's `last_row → rms_norm(output_norm) → matmul(output)` into
//! the same norm and matmul over *all* rows. The wrapper checks that the calls come in exactly
//! that order with exactly those weights and fails otherwise (if `forward.rs` ever changes its
//! tail, this errors instead of returning other numbers). The norm and the matmul are the very
//! backend calls generation makes, so every row's logits are computed as the last row's are.
//!
//! Memory: the logits come back as one `(rows, n_vocab)` f32 block, so callers bound `rows` by
//! evaluating in batches (Gemma's 262,144-token vocabulary makes 64 rows 64 MiB).

use crate::backend::{AttentionParams, Backend, GatedActivation, RopeParams, WeightDesc};
use crate::config::Config;
use crate::forward::{
    begin_forward, finish_forward_logits, forward_layers, read_logits, ForwardPass, Tracer,
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
    let mut tr = Tracer::new(None);
    let logits = {
        let mut all = AllRows {
            be: &mut *be,
            output_norm: &w.output_norm,
            output: w.output(),
            n_embd: cfg.n_embd,
            eps: cfg.rms_eps,
            stage: Stage::LastRow,
        };
        let logits = finish_forward_logits(cfg, w, &mut all, pass, &mut tr)?;
        if !matches!(all.stage, Stage::Done) {
            return Err(out_of_step("the output matmul never came"));
        }
        logits
    };
    read_logits(cfg, be, &logits, &mut tr)
}

fn out_of_step(what: &str) -> ModelError {
    ModelError::BadRequest(format!(
        "all_logits: finish_forward_logits no longer ends in last_row → rms_norm(output_norm) → \
         matmul(output) ({what}); all_logits.rs must follow forward.rs"
    ))
}

/// Where `finish_forward_logits` is in its three calls.
enum Stage<T> {
    /// Waiting for `last_row(x)`.
    LastRow,
    /// `x` normed over all rows, `(rows, n_embd)`; waiting for the one-row norm.
    Norm(T),
    /// Waiting for `matmul(output, ·)`, which gets the all-row norm instead.
    Output(T),
    Done,
}

/// The backend as `finish_forward_logits` sees it through `finish_all_logits`: `last_row`
/// also norms every row (kept), the one-row norm passes through, and the output matmul is
/// done on the kept all-row norm. Any other call is an error.
struct AllRows<'a, B: Backend> {
    be: &'a mut B,
    output_norm: &'a B::Weight,
    output: &'a B::Weight,
    n_embd: usize,
    eps: f32,
    stage: Stage<B::Tensor>,
}

#[derive(Debug)]
enum AllRowsError<E> {
    Backend(E),
    OutOfStep(String),
}

impl<E: std::fmt::Display> std::fmt::Display for AllRowsError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AllRowsError::Backend(e) => e.fmt(f),
            AllRowsError::OutOfStep(op) => write!(
                f,
                "all_logits: finish_forward_logits called {op} out of the expected order \
                 (last_row → rms_norm(output_norm) → matmul(output)); all_logits.rs must follow forward.rs"
            ),
        }
    }
}

impl<E: std::error::Error> std::error::Error for AllRowsError<E> {}

type R<T, E> = Result<T, AllRowsError<E>>;

impl<B: Backend> AllRows<'_, B> {
    fn refuse<T>(op: &str) -> R<T, B::Error> {
        Err(AllRowsError::OutOfStep(op.to_string()))
    }
}

impl<B: Backend> Backend for AllRows<'_, B> {
    type Tensor = B::Tensor;
    type Weight = B::Weight;
    type Error = AllRowsError<B::Error>;

    fn last_row(&mut self, x: &B::Tensor) -> R<B::Tensor, B::Error> {
        if !matches!(self.stage, Stage::LastRow) {
            return Self::refuse("last_row");
        }
        let e = AllRowsError::Backend;
        let normed = self
            .be
            .rms_norm(x, self.output_norm, self.n_embd, self.eps)
            .map_err(e)?;
        self.stage = Stage::Norm(normed);
        // The one row finish_forward_logits goes on with; only its norm is computed from it.
        self.be.last_row(x).map_err(e)
    }

    fn rms_norm(
        &mut self,
        x: &B::Tensor,
        weight: &B::Weight,
        group: usize,
        eps: f32,
    ) -> R<B::Tensor, B::Error> {
        let same =
            std::ptr::eq(weight, self.output_norm) && group == self.n_embd && eps == self.eps;
        match std::mem::replace(&mut self.stage, Stage::Done) {
            Stage::Norm(normed) if same => {
                self.stage = Stage::Output(normed);
                self.be
                    .rms_norm(x, weight, group, eps)
                    .map_err(AllRowsError::Backend)
            }
            _ => Self::refuse("rms_norm"),
        }
    }

    fn matmul(&mut self, w: &B::Weight, _x: &B::Tensor) -> R<B::Tensor, B::Error> {
        match std::mem::replace(&mut self.stage, Stage::Done) {
            Stage::Output(normed) if std::ptr::eq(w, self.output) => {
                self.be.matmul(w, &normed).map_err(AllRowsError::Backend) // (rows, n_vocab)
            }
            _ => Self::refuse("matmul"),
        }
    }

    fn load_weight(&mut self, _: &WeightDesc, _: &[u8]) -> R<B::Weight, B::Error> {
        Self::refuse("load_weight")
    }
    fn init_kv_cache(&mut self, _: usize, _: usize, _: usize) -> R<(), B::Error> {
        Self::refuse("init_kv_cache")
    }
    fn embed(&mut self, _: &B::Weight, _: &[u32]) -> R<B::Tensor, B::Error> {
        Self::refuse("embed")
    }
    fn add_bias(&mut self, _: &mut B::Tensor, _: &B::Weight) -> R<(), B::Error> {
        Self::refuse("add_bias")
    }
    fn rope(
        &mut self,
        _: &mut B::Tensor,
        _: usize,
        _: &RopeParams,
        _: Option<&B::Weight>,
    ) -> R<(), B::Error> {
        Self::refuse("rope")
    }
    fn scale(&mut self, _: &mut B::Tensor, _: f32) -> R<(), B::Error> {
        Self::refuse("scale")
    }
    fn add(&mut self, _: &mut B::Tensor, _: &B::Tensor) -> R<(), B::Error> {
        Self::refuse("add")
    }
    fn gated_activation(
        &mut self,
        _: &B::Tensor,
        _: &B::Tensor,
        _: GatedActivation,
    ) -> R<B::Tensor, B::Error> {
        Self::refuse("gated_activation")
    }
    fn store_kv(&mut self, _: usize, _: usize, _: &B::Tensor, _: &B::Tensor) -> R<(), B::Error> {
        Self::refuse("store_kv")
    }
    fn attention(&mut self, _: &B::Tensor, _: &AttentionParams) -> R<B::Tensor, B::Error> {
        Self::refuse("attention")
    }
    fn read(&mut self, _: &B::Tensor) -> R<Vec<f32>, B::Error> {
        Self::refuse("read")
    }
}
