//! The fused steps of `Backend` (`attention_input`, `ffn_input`, `matmul_add`) written out as the
//! primitive ops, in the order the forward pass has always run them: the trait's defaults (so the
//! CPU backend computes exactly what it computed before the steps existed), and the forward
//! pass's path when it traces, since only here every intermediate has a name.

use crate::backend::{AttnInput, Backend, FfnInput};
use crate::forward::Tracer;

/// `Backend::attention_input` as primitives; names attn_norm, q_rope, k_rope and v.
pub fn attention_input<B: Backend + ?Sized>(
    be: &mut B,
    x: &B::Tensor,
    a: &AttnInput<'_, B::Weight>,
    tr: &mut Tracer,
) -> Result<B::Tensor, B::Error> {
    let h = be.rms_norm(x, a.norm, a.n_embd, a.eps)?;
    tr.name_raw(be, &h, "attn_norm", Some(a.layer))?;
    attention_input_normed(be, &h, a, tr)
}

/// `attention_input` from the already normed input `h` (`a.norm` and `a.eps` unused): Phi-2's
/// LayerNorm, whose output also feeds the FFN. Names q_rope, k_rope and v.
pub fn attention_input_normed<B: Backend + ?Sized>(
    be: &mut B,
    h: &B::Tensor,
    a: &AttnInput<'_, B::Weight>,
    tr: &mut Tracer,
) -> Result<B::Tensor, B::Error> {
    let l = Some(a.layer);
    let mut q = be.matmul(a.wq, h)?; // (rows, n_head·head_dim)
    let mut k = be.matmul(a.wk, h)?; // (rows, n_head_kv·head_dim)
    let mut v = be.matmul(a.wv, h)?; // (rows, n_head_kv·head_dim)
    for (t, b) in [(&mut q, a.bq), (&mut k, a.bk), (&mut v, a.bv)] {
        if let Some(b) = b {
            be.add_bias(t, b)?;
        }
    }
    if let Some((qn, kn)) = a.qk_norm {
        q = be.rms_norm(&q, qn, a.rope.head_dim, a.eps)?;
        k = be.rms_norm(&k, kn, a.rope.head_dim, a.eps)?;
    }
    be.rope(&mut q, a.pos0, &a.rope, a.rope_freqs)?;
    be.rope(&mut k, a.pos0, &a.rope, a.rope_freqs)?;
    if let Some(s) = a.q_scale {
        be.scale(&mut q, s)?;
    }
    tr.name_raw(be, &q, "q_rope", l)?;
    tr.name_raw(be, &k, "k_rope", l)?;
    tr.name_raw(be, &v, "v", l)?;
    be.store_kv(a.layer, a.pos0, &k, &v)?;
    Ok(q)
}

/// `Backend::ffn_input` as primitives; names ffn_norm, ffn_gate, ffn_up and ffn_act.
pub fn ffn_input<B: Backend + ?Sized>(
    be: &mut B,
    x: &B::Tensor,
    f: &FfnInput<'_, B::Weight>,
    layer: Option<usize>,
    tr: &mut Tracer,
) -> Result<B::Tensor, B::Error> {
    let h = be.rms_norm(x, f.norm, f.n_embd, f.eps)?;
    tr.name_raw(be, &h, "ffn_norm", layer)?;
    let gate = be.matmul(f.gate, &h)?; // (rows, n_ff)
    let up = be.matmul(f.up, &h)?; // (rows, n_ff)
    tr.name_raw(be, &gate, "ffn_gate", layer)?;
    tr.name_raw(be, &up, "ffn_up", layer)?;
    let act = be.gated_activation(&gate, &up, f.act)?;
    tr.name_raw(be, &act, "ffn_act", layer)?;
    Ok(act)
}

/// `Backend::matmul_add` as primitives: `x·wᵀ + acc` (that order of the addition's operands).
pub fn matmul_add<B: Backend + ?Sized>(
    be: &mut B,
    w: &B::Weight,
    x: &B::Tensor,
    acc: &mut B::Tensor,
) -> Result<(), B::Error> {
    let mut out = be.matmul(w, x)?;
    be.add(&mut out, acc)?;
    *acc = out;
    Ok(())
}
