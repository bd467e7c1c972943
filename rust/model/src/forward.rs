//! The llama-family forward pass, written once against `Backend`. Per-architecture differences
//! are the typed flags of `Config`; every intermediate is named through the trace hook so a run
//! can be diffed against a reference layer by layer.

use crate::backend::{AttentionParams, Backend, RopeParams};
use crate::config::Config;
use crate::weights::{LayerWeights, Weights};
use crate::ModelError;

/// Called with (name, layer, values) for every named intermediate, when tracing.
pub type Trace<'a> = dyn FnMut(&str, Option<usize>, &[f32]) + 'a;

/// Hands named intermediates to the trace hook, when there is one.
pub struct Tracer<'h, 't> {
    hook: Option<&'h mut Trace<'t>>,
}

impl<'h, 't> Tracer<'h, 't> {
    pub fn new(hook: Option<&'h mut Trace<'t>>) -> Self {
        Tracer { hook }
    }

    fn name<B: Backend>(
        &mut self,
        be: &mut B,
        t: &B::Tensor,
        label: &str,
        layer: Option<usize>,
    ) -> Result<(), ModelError> {
        if let Some(hook) = self.hook.as_deref_mut() {
            hook(label, layer, &be.read(t).map_err(ModelError::backend)?);
        }
        Ok(())
    }
}

/// A forward pass in progress: the residual stream after `next_layer` blocks. The pass can stop
/// between blocks and resume, so a caller (a Web Worker) can bound the work done per call.
pub struct ForwardPass<T> {
    /// (n_tokens, n_embd); None only after a block failed (the request is over then).
    x: Option<T>,
    pos0: usize,
    next_layer: usize,
}

impl<T> ForwardPass<T> {
    pub fn layers_done(&self) -> usize {
        self.next_layer
    }

    /// Position of the pass's first token.
    pub fn pos0(&self) -> usize {
        self.pos0
    }
}

fn broken_pass() -> ModelError {
    ModelError::BadRequest("this forward pass failed earlier; start a new one".into())
}

/// Starts a pass over `tokens` at positions `pos0..`: the scaled embeddings.
pub fn begin_forward<B: Backend>(
    cfg: &Config,
    w: &Weights<B::Weight>,
    be: &mut B,
    tokens: &[u32],
    pos0: usize,
    tr: &mut Tracer,
) -> Result<ForwardPass<B::Tensor>, ModelError> {
    let e = ModelError::backend;
    let mut x = be.embed(&w.token_embd, tokens).map_err(e)?;
    if let Some(s) = cfg.embed_scale {
        be.scale(&mut x, s).map_err(e)?;
    }
    tr.name(be, &x, "inp_embd", None)?;
    Ok(ForwardPass {
        x: Some(x),
        pos0,
        next_layer: 0,
    })
}

/// Runs up to `max_layers` more blocks (filling their KV cache); true when all are done.
pub fn forward_layers<B: Backend>(
    cfg: &Config,
    w: &Weights<B::Weight>,
    be: &mut B,
    pass: &mut ForwardPass<B::Tensor>,
    max_layers: usize,
    tr: &mut Tracer,
) -> Result<bool, ModelError> {
    let end = (pass.next_layer + max_layers).min(w.layers.len());
    while pass.next_layer < end {
        let il = pass.next_layer;
        let x = pass.x.take().ok_or_else(broken_pass)?;
        pass.x = Some(block(cfg, w, &w.layers[il], il, be, x, pass.pos0, tr)?);
        pass.next_layer += 1;
    }
    Ok(pass.next_layer == w.layers.len())
}

/// Ends a pass whose blocks are all done: the logits `(n_vocab)` of the last token.
pub fn finish_forward<B: Backend>(
    cfg: &Config,
    w: &Weights<B::Weight>,
    be: &mut B,
    pass: ForwardPass<B::Tensor>,
    tr: &mut Tracer,
) -> Result<Vec<f32>, ModelError> {
    let logits = finish_forward_logits(cfg, w, be, pass, tr)?;
    read_logits(cfg, be, &logits, tr)
}

/// Ends a pass whose blocks are all done, leaving the raw logits `(1, n_vocab)` of the last token
/// on the device (before any softcap): a backend that cannot wait for the device (WebGPU in a
/// browser) starts their copy to the host and reads them once it has landed (`read_logits`).
pub fn finish_forward_logits<B: Backend>(
    cfg: &Config,
    w: &Weights<B::Weight>,
    be: &mut B,
    pass: ForwardPass<B::Tensor>,
    tr: &mut Tracer,
) -> Result<B::Tensor, ModelError> {
    let e = ModelError::backend;
    if pass.next_layer != w.layers.len() {
        return Err(ModelError::BadRequest(format!(
            "forward pass finished after {} of {} layers",
            pass.next_layer,
            w.layers.len()
        )));
    }
    let x = be
        .last_row(pass.x.as_ref().ok_or_else(broken_pass)?)
        .map_err(e)?;
    let x = be
        .rms_norm(&x, &w.output_norm, cfg.n_embd, cfg.rms_eps)
        .map_err(e)?;
    tr.name(be, &x, "result_norm", None)?;
    be.matmul(w.output(), &x).map_err(e)
}

/// The host copy of `finish_forward_logits`' tensor, with the final logit softcap applied.
pub fn read_logits<B: Backend>(
    cfg: &Config,
    be: &mut B,
    logits: &B::Tensor,
    tr: &mut Tracer,
) -> Result<Vec<f32>, ModelError> {
    let mut logits = be.read(logits).map_err(ModelError::backend)?;
    if let Some(cap) = cfg.final_logit_softcap {
        for l in &mut logits {
            *l = cap * (*l / cap).tanh();
        }
    }
    if let Some(hook) = tr.hook.as_deref_mut() {
        hook("result_output", None, &logits);
    }
    Ok(logits)
}

/// Runs `tokens` (at positions `pos0..`) through the model, filling the KV cache, and returns the
/// logits `(n_vocab)` of the last token.
pub fn forward<B: Backend>(
    cfg: &Config,
    w: &Weights<B::Weight>,
    be: &mut B,
    tokens: &[u32],
    pos0: usize,
    trace: Option<&mut Trace<'_>>,
) -> Result<Vec<f32>, ModelError> {
    let mut tr = Tracer::new(trace);
    let mut pass = begin_forward(cfg, w, be, tokens, pos0, &mut tr)?;
    forward_layers(cfg, w, be, &mut pass, usize::MAX, &mut tr)?;
    finish_forward(cfg, w, be, pass, &mut tr)
}

/// One transformer block: attention then feed-forward, each with a residual connection.
#[allow(clippy::too_many_arguments)]
fn block<B: Backend>(
    cfg: &Config,
    w: &Weights<B::Weight>,
    layer: &LayerWeights<B::Weight>,
    il: usize,
    be: &mut B,
    x: B::Tensor,
    pos0: usize,
    tr: &mut Tracer,
) -> Result<B::Tensor, ModelError> {
    let e = ModelError::backend;
    let l = Some(il);
    let swa = cfg.swa_layers[il];

    // --- attention ---
    let h = be
        .rms_norm(&x, &layer.attn_norm, cfg.n_embd, cfg.rms_eps)
        .map_err(e)?;
    tr.name(be, &h, "attn_norm", l)?;

    let mut q = be.matmul(&layer.wq, &h).map_err(e)?; // (n_tokens, n_head*head_dim)
    let mut k = be.matmul(&layer.wk, &h).map_err(e)?; // (n_tokens, n_head_kv*head_dim)
    let mut v = be.matmul(&layer.wv, &h).map_err(e)?; // (n_tokens, n_head_kv*head_dim)
    for (t, b) in [
        (&mut q, &layer.bq),
        (&mut k, &layer.bk),
        (&mut v, &layer.bv),
    ] {
        if let Some(b) = b {
            be.add_bias(t, b).map_err(e)?;
        }
    }
    if let (Some(qn), Some(kn)) = (&layer.q_norm, &layer.k_norm) {
        q = be.rms_norm(&q, qn, cfg.head_dim, cfg.rms_eps).map_err(e)?;
        k = be.rms_norm(&k, kn, cfg.head_dim, cfg.rms_eps).map_err(e)?;
    }

    let rope = RopeParams {
        style: cfg.rope_style,
        head_dim: cfg.head_dim,
        n_rot: cfg.n_rot,
        // Local (sliding-window) layers keep their own base and no position scaling.
        freq_base: if swa {
            cfg.rope_base_swa
        } else {
            cfg.rope_base
        },
        freq_scale: if swa { 1.0 } else { cfg.rope_freq_scale },
    };
    be.rope(&mut q, pos0, &rope, w.rope_freqs.as_ref())
        .map_err(e)?;
    be.rope(&mut k, pos0, &rope, w.rope_freqs.as_ref())
        .map_err(e)?;
    if let Some(s) = cfg.q_scale {
        be.scale(&mut q, s).map_err(e)?;
    }
    tr.name(be, &q, "q_rope", l)?;
    tr.name(be, &k, "k_rope", l)?;
    tr.name(be, &v, "v", l)?;

    be.store_kv(il, pos0, &k, &v).map_err(e)?;
    let attn = AttentionParams {
        layer: il,
        n_head: cfg.n_head,
        n_head_kv: cfg.n_head_kv,
        head_dim: cfg.head_dim,
        pos0,
        window: if swa { cfg.sliding_window } else { None },
        kq_scale: cfg.kq_scale,
    };
    let a = be.attention(&q, &attn).map_err(e)?; // (n_tokens, n_head*head_dim)
    tr.name(be, &a, "kqv", l)?;
    let mut attn_out = be.matmul(&layer.wo, &a).map_err(e)?; // (n_tokens, n_embd)
    tr.name(be, &attn_out, "attn_wo", l)?;
    if let Some(pn) = &layer.attn_post_norm {
        attn_out = be
            .rms_norm(&attn_out, pn, cfg.n_embd, cfg.rms_eps)
            .map_err(e)?;
    }
    tr.name(be, &attn_out, "attn_out", l)?;
    be.add(&mut attn_out, &x).map_err(e)?;
    let resid = attn_out; // residual stream after attention
    tr.name(be, &resid, "ffn_inp", l)?;

    // --- feed-forward ---
    let h = be
        .rms_norm(&resid, &layer.ffn_norm, cfg.n_embd, cfg.rms_eps)
        .map_err(e)?;
    tr.name(be, &h, "ffn_norm", l)?;
    let gate = be.matmul(&layer.ffn_gate, &h).map_err(e)?; // (n_tokens, n_ff)
    let up = be.matmul(&layer.ffn_up, &h).map_err(e)?; // (n_tokens, n_ff)
    tr.name(be, &gate, "ffn_gate", l)?;
    tr.name(be, &up, "ffn_up", l)?;
    let act = be.gated_activation(&gate, &up, cfg.activation).map_err(e)?;
    tr.name(be, &act, "ffn_act", l)?;
    let mut ffn_out = be.matmul(&layer.ffn_down, &act).map_err(e)?; // (n_tokens, n_embd)
    tr.name(be, &ffn_out, "ffn_down", l)?;
    if let Some(pn) = &layer.ffn_post_norm {
        ffn_out = be
            .rms_norm(&ffn_out, pn, cfg.n_embd, cfg.rms_eps)
            .map_err(e)?;
    }
    tr.name(be, &ffn_out, "ffn_out", l)?;
    be.add(&mut ffn_out, &resid).map_err(e)?;
    tr.name(be, &ffn_out, "l_out", l)?;
    Ok(ffn_out)
}
