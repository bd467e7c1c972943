//! The llama-family forward pass, written once against `Backend`. Per-architecture differences
//! are the typed flags of `Config`; every intermediate is named through the trace hook so a run
//! can be diffed against a reference layer by layer.

use crate::backend::{AttentionParams, Backend, RopeParams};
use crate::config::Config;
use crate::weights::{LayerWeights, Weights};
use crate::ModelError;

/// Called with (name, layer, values) for every named intermediate, when tracing.
pub type Trace<'a> = dyn FnMut(&str, Option<usize>, &[f32]) + 'a;

/// Runs `tokens` (at positions `pos0..`) through the model, filling the KV cache, and returns the
/// logits `(n_vocab)` of the last token.
pub fn forward<B: Backend>(
    cfg: &Config,
    w: &Weights<B::Weight>,
    be: &mut B,
    tokens: &[u32],
    pos0: usize,
    mut trace: Option<&mut Trace<'_>>,
) -> Result<Vec<f32>, ModelError> {
    let e = ModelError::backend;
    let mut name =
        |be: &mut B, t: &B::Tensor, label: &str, layer: Option<usize>| -> Result<(), ModelError> {
            if let Some(hook) = trace.as_deref_mut() {
                hook(label, layer, &be.read(t).map_err(e)?);
            }
            Ok(())
        };

    // x: (n_tokens, n_embd)
    let mut x = be.embed(&w.token_embd, tokens).map_err(e)?;
    if let Some(s) = cfg.embed_scale {
        be.scale(&mut x, s).map_err(e)?;
    }
    name(be, &x, "inp_embd", None)?;

    for (il, layer) in w.layers.iter().enumerate() {
        x = block(cfg, w, layer, il, be, x, pos0, &mut name)?;
    }

    let x = be.last_row(&x).map_err(e)?;
    let x = be
        .rms_norm(&x, &w.output_norm, cfg.n_embd, cfg.rms_eps)
        .map_err(e)?;
    name(be, &x, "result_norm", None)?;
    let logits = be.matmul(w.output(), &x).map_err(e)?;
    let mut logits = be.read(&logits).map_err(e)?;
    if let Some(cap) = cfg.final_logit_softcap {
        for l in &mut logits {
            *l = cap * (*l / cap).tanh();
        }
    }
    if let Some(hook) = trace {
        hook("result_output", None, &logits);
    }
    Ok(logits)
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
    name: &mut impl FnMut(&mut B, &B::Tensor, &str, Option<usize>) -> Result<(), ModelError>,
) -> Result<B::Tensor, ModelError> {
    let e = ModelError::backend;
    let l = Some(il);
    let swa = cfg.swa_layers[il];

    // --- attention ---
    let h = be
        .rms_norm(&x, &layer.attn_norm, cfg.n_embd, cfg.rms_eps)
        .map_err(e)?;
    name(be, &h, "attn_norm", l)?;

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
    name(be, &q, "q_rope", l)?;
    name(be, &k, "k_rope", l)?;
    name(be, &v, "v", l)?;

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
    name(be, &a, "kqv", l)?;
    let mut attn_out = be.matmul(&layer.wo, &a).map_err(e)?; // (n_tokens, n_embd)
    name(be, &attn_out, "attn_wo", l)?;
    if let Some(pn) = &layer.attn_post_norm {
        attn_out = be
            .rms_norm(&attn_out, pn, cfg.n_embd, cfg.rms_eps)
            .map_err(e)?;
    }
    name(be, &attn_out, "attn_out", l)?;
    be.add(&mut attn_out, &x).map_err(e)?;
    let resid = attn_out; // residual stream after attention
    name(be, &resid, "ffn_inp", l)?;

    // --- feed-forward ---
    let h = be
        .rms_norm(&resid, &layer.ffn_norm, cfg.n_embd, cfg.rms_eps)
        .map_err(e)?;
    name(be, &h, "ffn_norm", l)?;
    let gate = be.matmul(&layer.ffn_gate, &h).map_err(e)?; // (n_tokens, n_ff)
    let up = be.matmul(&layer.ffn_up, &h).map_err(e)?; // (n_tokens, n_ff)
    name(be, &gate, "ffn_gate", l)?;
    name(be, &up, "ffn_up", l)?;
    let act = be.gated_activation(&gate, &up, cfg.activation).map_err(e)?;
    name(be, &act, "ffn_act", l)?;
    let mut ffn_out = be.matmul(&layer.ffn_down, &act).map_err(e)?; // (n_tokens, n_embd)
    name(be, &ffn_out, "ffn_down", l)?;
    if let Some(pn) = &layer.ffn_post_norm {
        ffn_out = be
            .rms_norm(&ffn_out, pn, cfg.n_embd, cfg.rms_eps)
            .map_err(e)?;
    }
    name(be, &ffn_out, "ffn_out", l)?;
    be.add(&mut ffn_out, &resid).map_err(e)?;
    name(be, &ffn_out, "l_out", l)?;
    Ok(ffn_out)
}
