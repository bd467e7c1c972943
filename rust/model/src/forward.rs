//! The llama-family forward pass, written once against `Backend`. Per-architecture differences
//! are the typed flags of `Config`; every intermediate is named through the trace hook so a run
//! can be diffed against a reference layer by layer.

use crate::backend::{AttentionParams, AttnInput, Backend, FfnInput, GatedActivation, RopeParams};
use crate::compose;
use crate::config::{Config, MoeConfig};
use crate::weights::{LayerWeights, MoeWeights, SharedExpert, Weights};
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

    /// A tracer that names nothing.
    pub fn off() -> Self {
        Tracer { hook: None }
    }

    /// Whether intermediates are wanted (the forward pass then runs the primitive ops, in which
    /// every intermediate exists, instead of the backend's fused steps).
    pub fn active(&self) -> bool {
        self.hook.is_some()
    }

    fn name<B: Backend + ?Sized>(
        &mut self,
        be: &mut B,
        t: &B::Tensor,
        label: &str,
        layer: Option<usize>,
    ) -> Result<(), ModelError> {
        self.name_raw(be, t, label, layer)
            .map_err(ModelError::backend)
    }

    /// `name` with the backend's own error.
    pub(crate) fn name_raw<B: Backend + ?Sized>(
        &mut self,
        be: &mut B,
        t: &B::Tensor,
        label: &str,
        layer: Option<usize>,
    ) -> Result<(), B::Error> {
        if let Some(hook) = self.hook.as_deref_mut() {
            hook(label, layer, &be.read(t)?);
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
        let layer = &w.layers[il];
        pass.x = Some(if cfg.parallel_block {
            parallel_block(cfg, w, layer, il, be, x, pass.pos0, tr)?
        } else {
            block(cfg, w, layer, il, be, x, pass.pos0, tr)?
        });
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
    if let Some(nb) = &w.output_norm_b {
        return layer_norm_head(cfg, w, be, &x, nb, tr);
    }
    if tr.active() {
        let x = be
            .rms_norm(&x, &w.output_norm, cfg.n_embd, cfg.rms_eps)
            .map_err(e)?;
        tr.name(be, &x, "result_norm", None)?;
        return be.matmul(w.output(), &x).map_err(e);
    }
    be.norm_matmul(&x, &w.output_norm, cfg.n_embd, cfg.rms_eps, w.output())
        .map_err(e)
}

/// Ends a pass whose blocks are all done with the raw logits of every row, `(rows, n_vocab)`
/// on the device (before any softcap): what perplexity scores (`all_logits`).
pub fn finish_forward_all_logits<B: Backend>(
    cfg: &Config,
    w: &Weights<B::Weight>,
    be: &mut B,
    pass: ForwardPass<B::Tensor>,
) -> Result<B::Tensor, ModelError> {
    if pass.next_layer != w.layers.len() {
        return Err(ModelError::BadRequest(format!(
            "forward pass finished after {} of {} layers",
            pass.next_layer,
            w.layers.len()
        )));
    }
    let x = pass.x.as_ref().ok_or_else(broken_pass)?;
    if let Some(nb) = &w.output_norm_b {
        return layer_norm_head(cfg, w, be, x, nb, &mut Tracer::off());
    }
    be.norm_matmul(x, &w.output_norm, cfg.n_embd, cfg.rms_eps, w.output())
        .map_err(ModelError::backend)
}

/// Phi-2's head: LayerNorm (with bias), the output matmul, the output bias.
fn layer_norm_head<B: Backend>(
    cfg: &Config,
    w: &Weights<B::Weight>,
    be: &mut B,
    x: &B::Tensor,
    norm_b: &B::Weight,
    tr: &mut Tracer,
) -> Result<B::Tensor, ModelError> {
    let e = ModelError::backend;
    let h = be
        .layer_norm(x, &w.output_norm, norm_b, cfg.n_embd, cfg.rms_eps)
        .map_err(e)?;
    tr.name(be, &h, "result_norm", None)?;
    let mut logits = be.matmul(w.output(), &h).map_err(e)?;
    if let Some(b) = &w.output_b {
        be.add_bias(&mut logits, b).map_err(e)?;
    }
    Ok(logits)
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
        // As llama.cpp's graph: scale by the f32 reciprocal, tanh, scale by the cap (x/cap
        // would round differently from x·(1/cap)).
        let inv = 1.0 / cap;
        for l in &mut logits {
            *l = (*l * inv).tanh() * cap;
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

/// One transformer block: attention then feed-forward, each with a residual connection. Runs
/// the backend's fused steps (`Backend::attention_input` …), or, when tracing, the same steps as
/// primitive ops (`compose`), where every intermediate is named.
#[allow(clippy::too_many_arguments)]
fn block<B: Backend>(
    cfg: &Config,
    w: &Weights<B::Weight>,
    layer: &LayerWeights<B::Weight>,
    il: usize,
    be: &mut B,
    mut x: B::Tensor,
    pos0: usize,
    tr: &mut Tracer,
) -> Result<B::Tensor, ModelError> {
    let e = ModelError::backend;
    let l = Some(il);
    let tracing = tr.active();

    // --- attention ---
    let input = attn_input(cfg, w, layer, il, pos0);
    // q (n_tokens, n_head*head_dim); k and v are in the cache
    let q = if tracing {
        compose::attention_input(be, &x, &input, tr)
    } else {
        be.attention_input(&x, &input)
    }
    .map_err(e)?;
    let attn = attn_params(cfg, il, pos0);
    let a = be.attention(&q, &attn).map_err(e)?; // (n_tokens, n_head*head_dim)
    tr.name(be, &a, "kqv", l)?;
    residual_add(
        cfg,
        be,
        &layer.wo,
        &a,
        layer.attn_post_norm.as_ref(),
        &mut x,
        tr,
        ["attn_wo", "attn_out"],
        l,
    )?;
    tr.name(be, &x, "ffn_inp", l)?; // the residual stream after attention

    // --- feed-forward ---
    if let (Some(moe), Some(m)) = (&layer.moe, cfg.moe) {
        return moe_ffn(cfg, layer, moe, m, il, be, x, tr);
    }
    // (all exist in every sequential dense architecture: declared required in weights.rs)
    let (Some(ffn_norm), Some(ffn_gate), Some(ffn_up), Some(ffn_down)) = (
        &layer.ffn_norm,
        &layer.ffn_gate,
        &layer.ffn_up,
        &layer.ffn_down,
    ) else {
        return Err(ModelError::BadConfig(format!(
            "layer {il} has no ffn_norm, ffn_gate, ffn_up or ffn_down"
        )));
    };
    let input = FfnInput {
        n_embd: cfg.n_embd,
        norm: ffn_norm,
        eps: cfg.rms_eps,
        gate: ffn_gate,
        up: ffn_up,
        act: cfg.activation,
    };
    let act = if tracing {
        compose::ffn_input(be, &x, &input, l, tr)
    } else {
        be.ffn_input(&x, &input)
    }
    .map_err(e)?; // (n_tokens, n_ff)
    residual_add(
        cfg,
        be,
        ffn_down,
        &act,
        layer.ffn_post_norm.as_ref(),
        &mut x,
        tr,
        ["ffn_down", "ffn_out"],
        l,
    )?;
    tr.name(be, &x, "l_out", l)?;
    Ok(x)
}

/// A mixture-of-experts feed-forward (llama.cpp's build_moe_ffn with softmax gating), then the
/// residual add: `x + Σ_s w_s · down_e(silu(gate_e(h)) · up_e(h))` over the `n_expert_used`
/// experts `e` the router picks for each row, `h = rms_norm(x)`; the weights `w_s` normalized
/// (mixtral-style llama, qwen3moe) or not (qwen2moe), and with qwen2moe's shared expert added
/// (`shared_expert`) before the residual.
#[allow(clippy::too_many_arguments)]
fn moe_ffn<B: Backend>(
    cfg: &Config,
    layer: &LayerWeights<B::Weight>,
    moe: &MoeWeights<B::Weight>,
    m: MoeConfig,
    il: usize,
    be: &mut B,
    x: B::Tensor,
    tr: &mut Tracer,
) -> Result<B::Tensor, ModelError> {
    let e = ModelError::backend;
    let l = Some(il);
    let norm = layer
        .ffn_norm
        .as_ref()
        .ok_or_else(|| ModelError::BadConfig(format!("layer {il} has no ffn_norm")))?;
    let h = be.rms_norm(&x, norm, cfg.n_embd, cfg.rms_eps).map_err(e)?;
    tr.name(be, &h, "ffn_norm", l)?;
    let logits = be.matmul(&moe.gate_inp, &h).map_err(e)?; // (n_tokens, n_expert)
    tr.name(be, &logits, "ffn_moe_logits", l)?;
    // ids, weights (n_tokens, n_expert_used)
    let (ids, mut weights) = be
        .moe_route(&logits, m.n_expert_used, m.norm_weights)
        .map_err(e)?;
    tr.name(be, &ids, "ffn_moe_topk", l)?;
    if m.weights_scale != 1.0 {
        be.scale(&mut weights, m.weights_scale).map_err(e)?;
    }
    tr.name(be, &weights, "ffn_moe_weights_norm", l)?;
    // (n_tokens·n_expert_used, n_ff) each
    let up = be
        .matmul_id(&moe.up_exps, m.n_expert, &h, &ids)
        .map_err(e)?;
    tr.name(be, &up, "ffn_moe_up", l)?;
    let gate = be
        .matmul_id(&moe.gate_exps, m.n_expert, &h, &ids)
        .map_err(e)?;
    tr.name(be, &gate, "ffn_moe_gate", l)?;
    let act = be.gated_activation(&gate, &up, cfg.activation).map_err(e)?;
    tr.name(be, &act, "ffn_moe_swiglu", l)?;
    // (n_tokens·n_expert_used, n_embd)
    let down = be
        .matmul_id(&moe.down_exps, m.n_expert, &act, &ids)
        .map_err(e)?;
    tr.name(be, &down, "ffn_moe_down", l)?;
    let mut out = be.moe_combine(&down, &weights).map_err(e)?; // (n_tokens, n_embd)
    tr.name(be, &out, "ffn_moe_out", l)?;
    if let Some(sh) = &moe.shared {
        let shared = shared_expert(be, sh, &h, tr, l)?;
        be.add(&mut out, &shared).map_err(e)?; // (llama.cpp: ggml_add(moe_out, ffn_shexp_out))
        tr.name(be, &out, "ffn_out", l)?;
    }
    be.add(&mut out, &x).map_err(e)?; // (llama.cpp: ggml_add(moe_out, ffn_inp))
    tr.name(be, &out, "l_out", l)?;
    Ok(out)
}

/// qwen2moe's shared expert on the normed rows `h (n_tokens, n_embd)`: a SwiGLU FFN scaled per
/// row by `sigmoid(gate_inp · h)`, the sigmoid formed as llama.cpp's graph forms it,
/// `silu(g) / g` (the scalar SiLU: a row of one element has no full group of 8), and the scaling
/// as `moe_combine` with one slot (`ggml_mul`: one rounded product). → `(n_tokens, n_embd)`.
fn shared_expert<B: Backend>(
    be: &mut B,
    sh: &SharedExpert<B::Weight>,
    h: &B::Tensor,
    tr: &mut Tracer,
    l: Option<usize>,
) -> Result<B::Tensor, ModelError> {
    let e = ModelError::backend;
    let g = be.matmul(&sh.gate_inp, h).map_err(e)?; // (n_tokens, 1)
    tr.name(be, &g, "ffn_shexp_gate_inp", l)?;
    let mut sigmoid = be.activation(&g, GatedActivation::Silu).map_err(e)?;
    be.div(&mut sigmoid, &g).map_err(e)?;
    tr.name(be, &sigmoid, "ffn_shexp_gate", l)?;
    let up = be.matmul(&sh.up, h).map_err(e)?; // (n_tokens, n_ff_shared)
    let gate = be.matmul(&sh.gate, h).map_err(e)?;
    let act = be
        .gated_activation(&gate, &up, GatedActivation::Silu)
        .map_err(e)?;
    let down = be.matmul(&sh.down, &act).map_err(e)?; // (n_tokens, n_embd)
    tr.name(be, &down, "ffn_shexp", l)?;
    let out = be.moe_combine(&down, &sigmoid).map_err(e)?;
    tr.name(be, &out, "ffn_shexp_out", l)?;
    Ok(out)
}

/// The attention input of layer `il` (see `AttnInput`).
fn attn_input<'a, W>(
    cfg: &Config,
    w: &'a Weights<W>,
    layer: &'a LayerWeights<W>,
    il: usize,
    pos0: usize,
) -> AttnInput<'a, W> {
    let swa = cfg.swa_layers[il];
    let rope = RopeParams {
        style: cfg.rope_style,
        head_dim: cfg.head_dim,
        n_rot: cfg.n_rot,
        // Local (sliding-window) layers keep their own base and position scaling.
        freq_base: if swa {
            cfg.rope_base_swa
        } else {
            cfg.rope_base
        },
        freq_scale: if swa {
            cfg.rope_freq_scale_swa
        } else {
            cfg.rope_freq_scale
        },
        attn_factor: cfg.rope_attn_factor,
    };
    AttnInput {
        layer: il,
        pos0,
        n_embd: cfg.n_embd,
        norm: &layer.attn_norm,
        eps: cfg.rms_eps,
        wq: &layer.wq,
        wk: &layer.wk,
        wv: &layer.wv,
        bq: layer.bq.as_ref(),
        bk: layer.bk.as_ref(),
        bv: layer.bv.as_ref(),
        qk_norm: layer.q_norm.as_ref().zip(layer.k_norm.as_ref()),
        rope,
        rope_freqs: w.rope_freqs.as_ref(),
        q_scale: cfg.q_scale,
    }
}

/// The attention call of layer `il`.
fn attn_params(cfg: &Config, il: usize, pos0: usize) -> AttentionParams {
    let swa = cfg.swa_layers[il];
    AttentionParams {
        layer: il,
        n_head: cfg.n_head,
        n_head_kv: cfg.n_head_kv,
        head_dim: cfg.head_dim,
        pos0,
        window: if swa { cfg.sliding_window } else { None },
        kq_scale: cfg.kq_scale,
        softcap: cfg.attn_softcap,
    }
}

/// Phi-2's block: one LayerNorm (with bias) of the residual feeds both the attention and the
/// ungated GELU feed-forward; their outputs (each with its bias) are added, then the residual:
/// `x + (attn(h) + ffn(h))`, the order of llama.cpp's phi2 graph. Primitive ops only (the fused
/// steps are RMS-norm ones).
#[allow(clippy::too_many_arguments)]
fn parallel_block<B: Backend>(
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
    let norm_b = layer
        .attn_norm_b
        .as_ref()
        .ok_or_else(|| ModelError::BadConfig(format!("layer {il} has no attn_norm bias")))?;
    let h = be
        .layer_norm(&x, &layer.attn_norm, norm_b, cfg.n_embd, cfg.rms_eps)
        .map_err(e)?;
    tr.name(be, &h, "attn_norm", l)?;

    // attention: q (n_tokens, n_head*head_dim); k and v are in the cache
    let input = attn_input(cfg, w, layer, il, pos0);
    let q = compose::attention_input_normed(be, &h, &input, tr).map_err(e)?;
    let a = be.attention(&q, &attn_params(cfg, il, pos0)).map_err(e)?;
    tr.name(be, &a, "kqv", l)?;
    let mut out = be.matmul(&layer.wo, &a).map_err(e)?; // (n_tokens, n_embd)
    if let Some(b) = &layer.bo {
        be.add_bias(&mut out, b).map_err(e)?;
    }
    tr.name(be, &out, "attn_out", l)?;

    // feed-forward: down(act(up(h) + b_up)) + b_down
    let (Some(ffn_up), Some(ffn_down)) = (&layer.ffn_up, &layer.ffn_down) else {
        return Err(ModelError::BadConfig(format!(
            "layer {il} has no ffn_up or ffn_down"
        )));
    };
    let mut up = be.matmul(ffn_up, &h).map_err(e)?; // (n_tokens, n_ff)
    if let Some(b) = &layer.ffn_up_b {
        be.add_bias(&mut up, b).map_err(e)?;
    }
    tr.name(be, &up, "ffn_up", l)?;
    let act = be.activation(&up, cfg.activation).map_err(e)?;
    tr.name(be, &act, "ffn_act", l)?;
    let mut ffn = be.matmul(ffn_down, &act).map_err(e)?; // (n_tokens, n_embd)
    if let Some(b) = &layer.ffn_down_b {
        be.add_bias(&mut ffn, b).map_err(e)?;
    }
    tr.name(be, &ffn, "ffn_out", l)?;

    be.add(&mut out, &ffn).map_err(e)?;
    be.add(&mut out, &x).map_err(e)?;
    tr.name(be, &out, "l_out", l)?;
    Ok(out)
}

/// `resid += [post_norm](h·wᵀ)`: a block's output projection into the residual stream; when
/// tracing, `names` label the projection and the (post-normed) value added.
#[allow(clippy::too_many_arguments)]
fn residual_add<B: Backend>(
    cfg: &Config,
    be: &mut B,
    w: &B::Weight,
    h: &B::Tensor,
    post_norm: Option<&B::Weight>,
    resid: &mut B::Tensor,
    tr: &mut Tracer,
    names: [&str; 2],
    l: Option<usize>,
) -> Result<(), ModelError> {
    let e = ModelError::backend;
    if !tr.active() {
        return match post_norm {
            Some(pn) => {
                let out = be.matmul(w, h).map_err(e)?;
                be.rms_norm_add(&out, pn, cfg.n_embd, cfg.rms_eps, resid)
            }
            None => be.matmul_add(w, h, resid),
        }
        .map_err(e);
    }
    let mut out = be.matmul(w, h).map_err(e)?;
    tr.name(be, &out, names[0], l)?;
    if let Some(pn) = post_norm {
        out = be.rms_norm(&out, pn, cfg.n_embd, cfg.rms_eps).map_err(e)?;
    }
    tr.name(be, &out, names[1], l)?;
    be.add(&mut out, resid).map_err(e)?;
    *resid = out;
    Ok(())
}
