//! Hyper-parameters of the "llama family" read from GGUF metadata (`{arch}.*` keys), with the
//! per-architecture choices as typed flags so one forward pass serves every supported model.

use crate::backend::{GatedActivation, RopeStyle};
use crate::ModelError;
use gguf::{Gguf, Value};

/// Architectures this crate runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// LLaMA 1/2/3, TinyLlama, Mistral-style: pre-norm, SwiGLU, interleaved RoPE.
    Llama,
    /// Gemma (v1): LLaMA's graph with NeoX RoPE, GeGLU, embeddings scaled by √n_embd, Q scaled
    /// by 1/√head_dim before the attention kernel, and the output head tied to the embeddings.
    Gemma,
    /// Gemma 2: Gemma plus post-attention and post-FFN norms, sliding-window attention on every
    /// other layer (even ones), and softcapped attention scores and logits (`cap·tanh(x/cap)`).
    Gemma2,
    /// Gemma 3: QK-norm, pre+post norms, GeGLU, NeoX RoPE, local/global layers, scaled embeddings.
    Gemma3,
    /// Qwen 2 / 2.5: LLaMA's graph with q/k/v biases and NeoX RoPE, usually tied embeddings.
    Qwen2,
    /// Qwen 3 (dense): Qwen 2 without the biases, with per-head Q/K RMS norms (before RoPE) and a
    /// head size of its own (`key_length`, e.g. 128 for the 0.6B's 1024 = 16 heads × 64).
    Qwen3,
    /// Qwen 3 MoE (Qwen3-30B-A3B …): Qwen 3's attention, and in every layer a mixture of
    /// experts in place of the dense FFN, routed as llama.cpp's qwen3moe graph does (softmax
    /// gating, the chosen weights normalized: the same as mixtral-style llama files); the experts'
    /// width is `expert_feed_forward_length`. No shared expert (that is qwen2moe).
    Qwen3Moe,
    /// Qwen 1.5 / 2 MoE (Qwen1.5-MoE-A2.7B, Qwen2-57B-A14B): Qwen 2's attention (q/k/v biases),
    /// and in every layer experts routed by softmax *without* normalizing the chosen weights,
    /// plus a shared expert (a dense SwiGLU FFN of `expert_shared_feed_forward_length`) whose
    /// output is gated per token by sigmoid(`ffn_gate_inp_shexp` · x), as llama.cpp's qwen2moe
    /// graph (src/models/qwen2moe.cpp).
    Qwen2Moe,
    /// Phi-3 / Phi-3.5-mini: LLaMA's graph with NeoX RoPE, fused `attn_qkv` and gate+up
    /// `ffn_up` tensors (split at load time, weights.rs), Q scaled by 1/√head_dim before the
    /// attention kernel, and optional LongRoPE frequency factors.
    Phi3,
    /// Phi-2: one LayerNorm (with bias) feeding attention and an ungated GELU FFN in parallel,
    /// both added to the residual; biases on every projection and the output head; partial
    /// NeoX RoPE (`rope.dimension_count` < head size); Q scaled by 1/√head_dim.
    Phi2,
}

impl Arch {
    pub fn name(self) -> &'static str {
        match self {
            Arch::Llama => "llama",
            Arch::Gemma => "gemma",
            Arch::Gemma2 => "gemma2",
            Arch::Gemma3 => "gemma3",
            Arch::Qwen2 => "qwen2",
            Arch::Qwen3 => "qwen3",
            Arch::Qwen3Moe => "qwen3moe",
            Arch::Qwen2Moe => "qwen2moe",
            Arch::Phi3 => "phi3",
            Arch::Phi2 => "phi2",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub arch: Arch,
    pub n_embd: usize,
    pub n_layer: usize,
    pub n_head: usize,
    pub n_head_kv: usize,
    /// Per-head size of queries and keys.
    pub head_dim: usize,
    /// FFN width; with experts, each expert's (qwen3moe: `expert_feed_forward_length`).
    pub n_ff: usize,
    pub n_vocab: usize,
    /// Context length the model was trained with.
    pub n_ctx_train: usize,
    /// `rope.scaling.original_context_length`, else `n_ctx_train` (llama.cpp's
    /// `n_ctx_orig_yarn`): a LongRoPE model (phi3) uses its long frequency factors when the
    /// context is larger than this, its short ones otherwise.
    pub n_ctx_orig: usize,
    /// Use `rope_factors_long.weight` rather than `rope_factors_short.weight` (phi3). Set by
    /// `ModelBuilder` from the context size: `n_ctx > n_ctx_orig`, as llama.cpp's
    /// `llama_model::get_rope_factors` (with one sequence its `n_ctx_seq` is the context).
    pub rope_factors_long: bool,
    /// The norms' epsilon (`layer_norm_rms_epsilon`; LayerNorm's `layer_norm_epsilon` for phi2).
    pub rms_eps: f32,
    /// LayerNorm with a bias instead of RMS norm, attention and an ungated FFN from one norm of
    /// the residual, added to it together (Phi-2's block; `forward::parallel_block`).
    pub parallel_block: bool,
    pub rope_style: RopeStyle,
    pub n_rot: usize,
    pub rope_base: f32,
    /// RoPE base of sliding-window layers (Gemma 3 uses 10 000 locally, 1 000 000 globally).
    pub rope_base_swa: f32,
    pub rope_freq_scale: f32,
    /// RoPE position scaling of sliding-window layers (llama.cpp's rope_freq_scale_train_swa:
    /// 1 unless the architecture says otherwise; Gemma 2 keeps the global one).
    pub rope_freq_scale_swa: f32,
    /// `rope.scaling.attn_factor` (1 when absent): RoPE's magnitude factor on cos and sin,
    /// llama.cpp's `hparams.rope_attn_factor`, which every architecture reads and which reaches
    /// the rope as its `attn_factor` (LongRoPE Phi-3/3.5 128k files: √(1 + ln(s)/ln(n_ctx_orig))).
    pub rope_attn_factor: f32,
    /// Some(window) when sliding-window layers exist.
    pub sliding_window: Option<usize>,
    /// Per layer: does it use the sliding window?
    pub swa_layers: Vec<bool>,
    /// Multiplies Q after RoPE (Gemma), before the attention kernel.
    pub q_scale: Option<f32>,
    /// Multiplies q·k inside attention.
    pub kq_scale: f32,
    /// `cap·tanh(score/cap)` on every attention score before the mask and softmax (Gemma 2's
    /// `attn_logit_softcapping`).
    pub attn_softcap: Option<f32>,
    /// Multiplies token embeddings (Gemma: √n_embd).
    pub embed_scale: Option<f32>,
    pub activation: GatedActivation,
    /// RMS-normalise each Q and K head (Gemma 3, Qwen 3).
    pub qk_norm: bool,
    /// Norms after attention and after the FFN, before the residual add (Gemma 2/3).
    pub post_norms: bool,
    /// `cap * tanh(logits / cap)` on the output (Gemma 2 always, 30 by default; Gemma 3 only
    /// when the file sets it).
    pub final_logit_softcap: Option<f32>,
    /// Mixtral-style mixture of experts (`llama.expert_count` > 0): every layer's FFN is
    /// `n_expert` SwiGLU experts of `n_ff` each behind a router; None for a dense FFN.
    pub moe: Option<MoeConfig>,
}

/// A mixture-of-experts FFN as llama.cpp's `build_moe_ffn` runs it with softmax gating:
/// softmax of the router logits over all experts, the `n_expert_used` most probable experts per
/// token, their probabilities (divided by their sum when `norm_weights`, then multiplied by
/// `weights_scale`), and the weighted sum of those experts' outputs; qwen2moe adds a shared
/// expert.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MoeConfig {
    pub n_expert: usize,
    pub n_expert_used: usize,
    /// The chosen probabilities divided by their sum (llama, qwen3moe; not qwen2moe).
    pub norm_weights: bool,
    /// `expert_weights_scale` (1 = none; llama.cpp applies it only when it is neither 0 nor 1).
    pub weights_scale: f32,
    /// Width of the shared expert (qwen2moe's `expert_shared_feed_forward_length`), if any.
    pub n_ff_shared: Option<usize>,
}

/// llama.cpp's LLAMA_MAX_EXPERTS: it refuses files with more.
const MAX_EXPERTS: usize = 1024;

impl Config {
    pub fn from_gguf(g: &Gguf) -> Result<Config, ModelError> {
        let arch_name = g.get_str("general.architecture")?;
        let arch = match arch_name {
            "llama" => Arch::Llama,
            "gemma" => Arch::Gemma,
            "gemma2" => Arch::Gemma2,
            "gemma3" => Arch::Gemma3,
            "qwen2" => Arch::Qwen2,
            "qwen3" => Arch::Qwen3,
            "qwen3moe" => Arch::Qwen3Moe,
            "qwen2moe" => Arch::Qwen2Moe,
            "phi3" => Arch::Phi3,
            "phi2" => Arch::Phi2,
            other => return Err(ModelError::UnsupportedArchitecture(other.to_string())),
        };
        let key = |k: &str| format!("{arch_name}.{k}");
        let u = |k: &str| -> Result<usize, ModelError> { Ok(g.get_u32(&key(k))? as usize) };
        let u_opt = |k: &str| -> Result<Option<usize>, ModelError> {
            Ok(g.get_u32_opt(&key(k))?.map(|v| v as usize))
        };

        let n_embd = u("embedding_length")?;
        let n_layer = u("block_count")?;
        let n_head = u("attention.head_count")?;
        let n_head_kv = u_opt("attention.head_count_kv")?.unwrap_or(n_head);
        let n_ff = u("feed_forward_length")?;
        if n_embd == 0 || n_layer == 0 || n_head == 0 || n_head_kv == 0 || n_ff == 0 {
            return Err(ModelError::BadConfig(format!(
                "zero-sized model: embedding_length={n_embd}, block_count={n_layer}, head_count={n_head}, head_count_kv={n_head_kv}, feed_forward_length={n_ff}"
            )));
        }
        if n_head % n_head_kv != 0 {
            return Err(ModelError::BadConfig(format!(
                "head_count {n_head} is not a multiple of head_count_kv {n_head_kv}"
            )));
        }
        let head_dim = match u_opt("attention.key_length")? {
            Some(d) => d,
            None if n_embd % n_head == 0 => n_embd / n_head,
            None => {
                return Err(ModelError::BadConfig(format!(
                    "embedding_length {n_embd} is not a multiple of head_count {n_head}"
                )))
            }
        };
        let v_dim = u_opt("attention.value_length")?.unwrap_or(head_dim);
        if v_dim != head_dim || head_dim == 0 || head_dim % 2 != 0 {
            return Err(ModelError::BadConfig(format!(
                "unsupported head sizes: key_length {head_dim}, value_length {v_dim} (must be equal and even)"
            )));
        }
        let n_rot = u_opt("rope.dimension_count")?.unwrap_or(head_dim);
        if n_rot > head_dim || n_rot % 2 != 0 {
            return Err(ModelError::BadConfig(format!(
                "rope.dimension_count {n_rot} must be even and at most the head size {head_dim}"
            )));
        }
        let n_vocab = match u_opt("vocab_size")? {
            Some(n) => n,
            None => g
                .get("tokenizer.ggml.tokens")
                .and_then(Value::as_array)
                .map(|a| a.len())
                .ok_or_else(|| {
                    ModelError::BadConfig(
                        "neither vocab_size nor tokenizer.ggml.tokens is present".into(),
                    )
                })?,
        };
        let n_ctx_train = u_opt("context_length")?.unwrap_or(2048).max(1);
        let n_ctx_orig = u_opt("rope.scaling.original_context_length")?
            .filter(|n| *n > 0)
            .unwrap_or(n_ctx_train);
        let rms_eps = if arch == Arch::Phi2 {
            g.get_f32(&key("attention.layer_norm_epsilon"))?
        } else {
            g.get_f32(&key("attention.layer_norm_rms_epsilon"))?
        };
        let rope_base = g.get_f32_opt(&key("rope.freq_base"))?.unwrap_or(10000.0);
        let rope_freq_scale =
            rope_freq_scale(g, &key("rope.scaling.type"), &key("rope.scaling.factor"))?;
        let key_af = key("rope.scaling.attn_factor");
        let rope_attn_factor = g.get_f32_opt(&key_af)?.unwrap_or(1.0);
        if !(rope_attn_factor.is_finite() && rope_attn_factor > 0.0) {
            return Err(ModelError::BadConfig(format!(
                "{key_af} = {rope_attn_factor}: must be a positive number"
            )));
        }

        let mut cfg = Config {
            arch,
            n_embd,
            n_layer,
            n_head,
            n_head_kv,
            head_dim,
            n_ff,
            n_vocab,
            n_ctx_train,
            n_ctx_orig,
            rope_factors_long: false,
            rms_eps,
            parallel_block: false,
            rope_style: RopeStyle::Interleaved,
            n_rot,
            rope_base,
            rope_base_swa: rope_base,
            rope_freq_scale,
            rope_freq_scale_swa: 1.0,
            rope_attn_factor,
            sliding_window: None,
            swa_layers: vec![false; n_layer],
            q_scale: None,
            kq_scale: 1.0 / (head_dim as f32).sqrt(),
            attn_softcap: None,
            embed_scale: None,
            activation: GatedActivation::Silu,
            qk_norm: false,
            post_norms: false,
            final_logit_softcap: None,
            moe: None,
        };

        match arch {
            Arch::Llama | Arch::Gemma3 => {}
            // The Gemmas share what Gemma 3 does below (NeoX, GeGLU, √n_embd, Q pre-scaled);
            // these are what they add or lack.
            Arch::Gemma => {}
            Arch::Gemma2 => {
                cfg.post_norms = true;
                // llama.cpp (src/models/gemma2.cpp) caps scores and logits unconditionally,
                // with 50 and 30 when the file does not say; a cap of 0 would divide by zero.
                cfg.attn_softcap = Some(softcap(g, &key("attn_logit_softcapping"), 50.0)?);
                cfg.final_logit_softcap = Some(softcap(g, &key("final_logit_softcapping"), 30.0)?);
                // Even layers slide (pattern period 2), over 4096 positions unless the file
                // says; local layers keep the global RoPE base and scale unless a base is given.
                let key_w = key("attention.sliding_window");
                let window = u_opt("attention.sliding_window")?.unwrap_or(4096);
                if window == 0 {
                    return Err(ModelError::BadConfig(format!("{key_w} must be positive")));
                }
                cfg.sliding_window = Some(window);
                cfg.swa_layers =
                    swa_pattern(g, &key("attention.sliding_window_pattern"), n_layer, 2)?;
                cfg.rope_base_swa = g
                    .get_f32_opt(&key("rope.freq_base_swa"))?
                    .unwrap_or(rope_base);
                cfg.rope_freq_scale_swa = rope_freq_scale;
            }
            Arch::Phi2 => {
                // llama.cpp (src/models/phi2.cpp): LLAMA_ROPE_TYPE_NEOX over n_rot dimensions;
                // Q multiplied by 1/√head_dim after RoPE, attention with kq_scale 1; GELU FFN.
                cfg.parallel_block = true;
                cfg.rope_style = RopeStyle::Neox;
                cfg.activation = GatedActivation::Gelu;
                cfg.q_scale = Some(1.0 / (head_dim as f32).sqrt());
                cfg.kq_scale = 1.0;
            }
            Arch::Phi3 => {
                // llama.cpp (src/models/phi3.cpp): LLAMA_ROPE_TYPE_NEOX; Q is multiplied by
                // 1/√head_dim after RoPE (ggml_scale) and the attention runs with kq_scale 1.
                cfg.rope_style = RopeStyle::Neox;
                cfg.q_scale = Some(1.0 / (head_dim as f32).sqrt());
                cfg.kq_scale = 1.0;
                // LongRoPE files (Phi-3/3.5 128k) also carry `rope.scaling.attn_factor`, read
                // above for every architecture (cfg.rope_attn_factor).
            }
            // llama.cpp gives both LLAMA_ROPE_TYPE_NEOX (split halves); the q/k/v biases of
            // Qwen 2 are optional tensors (weights.rs), used whenever the file has them.
            Arch::Qwen2 | Arch::Qwen2Moe => cfg.rope_style = RopeStyle::Neox,
            Arch::Qwen3 | Arch::Qwen3Moe => {
                cfg.rope_style = RopeStyle::Neox;
                cfg.qk_norm = true;
            }
        }
        if matches!(arch, Arch::Gemma | Arch::Gemma2 | Arch::Gemma3) {
            // The embeddings are stored unscaled and the norm weights already hold Gemma's
            // `1 + w` (llama.cpp's converter adds the 1; its graphs use the weights as they are).
            cfg.rope_style = RopeStyle::Neox;
            cfg.activation = GatedActivation::Gelu;
            cfg.embed_scale = Some((n_embd as f32).sqrt());
            // Gemma scales Q by 1/√head_dim itself and attends with kq_scale 1. The 27B models
            // (Gemma 2: 46 layers, Gemma 3: 62) use 1/√(n_embd/n_head) instead, as
            // llama.cpp's f_attention_scale (from gemma_pytorch's query_pre_attn_scalar).
            let is_27b = match arch {
                Arch::Gemma2 => n_layer == 46,
                Arch::Gemma3 => n_layer == 62,
                _ => false,
            };
            let q_scale_dim = if is_27b { n_embd / n_head } else { head_dim };
            cfg.q_scale = Some(1.0 / (q_scale_dim as f32).sqrt());
            cfg.kq_scale = 1.0;
        }
        if arch == Arch::Gemma3 {
            cfg.qk_norm = true;
            cfg.post_norms = true;
            cfg.final_logit_softcap = g
                .get_f32_opt(&key("final_logit_softcapping"))?
                .filter(|c| *c != 0.0);
            if let Some(window) = u_opt("attention.sliding_window")?.filter(|w| *w > 0) {
                cfg.sliding_window = Some(window);
                cfg.swa_layers =
                    swa_pattern(g, &key("attention.sliding_window_pattern"), n_layer, 6)?;
                // Local layers use their own RoPE base; 10 000 when the file does not say.
                cfg.rope_base_swa = g
                    .get_f32_opt(&key("rope.freq_base_swa"))?
                    .unwrap_or(10000.0);
            }
        } else if let Some(window) =
            u_opt("attention.sliding_window")?.filter(|w| *w > 0 && arch == Arch::Llama)
        {
            // Mistral-style: every layer slides. (llama.cpp's Qwen graphs ignore the key, and
            // its phi3 loader reads phi3.attention.sliding_window but turns SWA off: "Phi SWA is
            // currently disabled", so every phi3 layer attends to the whole context.)
            cfg.sliding_window = Some(window);
            cfg.swa_layers = vec![true; n_layer];
        }
        cfg.moe = moe_config(g, arch, &key)?;
        if let (Arch::Qwen2Moe, Some(m)) = (arch, cfg.moe.as_mut()) {
            // llama.cpp: the shared expert is feed_forward_length wide unless the file says
            // otherwise, and the routed ones n_ff / n_expert_used (below) unless it does.
            let shared = u_opt("expert_shared_feed_forward_length")?.filter(|n| *n > 0);
            m.n_ff_shared = Some(shared.unwrap_or(cfg.n_ff));
            m.norm_weights = false;
            let key_s = key("expert_weights_scale");
            let scale = g.get_f32_opt(&key_s)?.unwrap_or(0.0);
            if !scale.is_finite() {
                return Err(ModelError::BadConfig(format!("{key_s} = {scale}")));
            }
            m.weights_scale = if scale == 0.0 { 1.0 } else { scale };
        }
        if matches!(arch, Arch::Qwen3Moe | Arch::Qwen2Moe) {
            // The experts are narrower than the (unused) dense width feed_forward_length.
            match u_opt("expert_feed_forward_length")?.filter(|n| *n > 0) {
                Some(n_ff_exp) => cfg.n_ff = n_ff_exp,
                None if arch == Arch::Qwen2Moe => {
                    let used = cfg.moe.map_or(1, |m| m.n_expert_used);
                    cfg.n_ff /= used;
                }
                None => {}
            }
        }
        Ok(cfg)
    }

    /// Width of one token's keys (or values) across all KV heads.
    pub fn kv_dim(&self) -> usize {
        self.n_head_kv * self.head_dim
    }

    /// Width of one token's queries across all heads.
    pub fn q_dim(&self) -> usize {
        self.n_head * self.head_dim
    }
}

/// `linear` rope scaling divides positions by the factor; anything else is refused rather
/// than silently producing wrong text.
fn rope_freq_scale(g: &Gguf, type_key: &str, factor_key: &str) -> Result<f32, ModelError> {
    match g.get_str_opt(type_key)? {
        None | Some("none") => Ok(1.0),
        Some("linear") => {
            let factor = g.get_f32_opt(factor_key)?.unwrap_or(1.0);
            if !(factor > 0.0) {
                return Err(ModelError::BadConfig(format!(
                    "{factor_key} must be positive, found {factor}"
                )));
            }
            Ok(1.0 / factor)
        }
        Some(other) => Err(ModelError::BadConfig(format!(
            "rope scaling type '{other}' is not supported (supported: none, linear)"
        ))),
    }
}

/// The experts of a mixtral-style llama file, a qwen3moe or a qwen2moe file: `expert_count`
/// experts, `expert_used_count` of them per token (qwen2moe's shared expert and unnormalized
/// weights are set by the caller). Only these graphs route this way (llama.cpp's phi3.5-moe,
/// deepseek … gate otherwise), so an expert count on any other architecture is refused rather
/// than silently run as a dense model, and a qwen*moe file without experts is refused too.
fn moe_config(
    g: &Gguf,
    arch: Arch,
    key: &dyn Fn(&str) -> String,
) -> Result<Option<MoeConfig>, ModelError> {
    let (key_n, key_used) = (key("expert_count"), key("expert_used_count"));
    let n_expert = g.get_u32_opt(&key_n)?.unwrap_or(0) as usize;
    if n_expert == 0 {
        if matches!(arch, Arch::Qwen3Moe | Arch::Qwen2Moe) {
            return Err(ModelError::BadConfig(format!(
                "{key_n} is missing or 0: a {} file needs its experts",
                arch.name()
            )));
        }
        return Ok(None);
    }
    if !matches!(arch, Arch::Llama | Arch::Qwen3Moe | Arch::Qwen2Moe) {
        return Err(ModelError::BadConfig(format!(
            "{key_n} = {n_expert}: mixture-of-experts layers are supported only for llama, \
             qwen3moe and qwen2moe"
        )));
    }
    let n_expert_used = g.get_u32_opt(&key_used)?.unwrap_or(0) as usize;
    if n_expert > MAX_EXPERTS || n_expert_used == 0 || n_expert_used > n_expert {
        return Err(ModelError::BadConfig(format!(
            "{key_n} = {n_expert}, {key_used} = {n_expert_used}: need 1 ≤ used ≤ count ≤ {MAX_EXPERTS}"
        )));
    }
    Ok(Some(MoeConfig {
        n_expert,
        n_expert_used,
        norm_weights: true,
        weights_scale: 1.0,
        n_ff_shared: None,
    }))
}

/// A softcap from `key` (`default` when absent): positive, since it divides.
fn softcap(g: &Gguf, key: &str, default: f32) -> Result<f32, ModelError> {
    let cap = g.get_f32_opt(key)?.unwrap_or(default);
    if !(cap > 0.0 && cap.is_finite()) {
        return Err(ModelError::BadConfig(format!(
            "{key} must be positive, found {cap}"
        )));
    }
    Ok(cap)
}

/// Which layers slide. The key is either a period n (every n-th layer is global, the others
/// local; `default_period` when absent — Gemma 2: 2, Gemma 3: 6) or an explicit per-layer array
/// of bools.
fn swa_pattern(
    g: &Gguf,
    key: &str,
    n_layer: usize,
    default_period: u32,
) -> Result<Vec<bool>, ModelError> {
    if let Some(Value::Array(items)) = g.get(key) {
        if items.len() != n_layer {
            return Err(ModelError::BadConfig(format!(
                "{key} has {} entries for {n_layer} layers",
                items.len()
            )));
        }
        return items
            .iter()
            .map(|v| {
                v.as_bool()
                    .ok_or_else(|| ModelError::BadConfig(format!("{key} must hold bools")))
            })
            .collect();
    }
    let period = g.get_u32_opt(key)?.unwrap_or(default_period) as usize;
    Ok((0..n_layer)
        .map(|il| period == 0 || il % period < period - 1)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gguf::GgufWriter;

    /// A header-only file of `arch` with the keys every llama-family config needs (128 wide,
    /// 4 layers, 8 heads of 32, 4 KV heads), plus `extra`.
    fn header(arch: &str, extra: &[(&str, Value)]) -> Gguf {
        let mut w = GgufWriter::new();
        w.add("general.architecture", Value::String(arch.into()));
        let k = |s: &str| format!("{arch}.{s}");
        for (key, v) in [
            ("embedding_length", 128),
            ("block_count", 4),
            ("attention.head_count", 8),
            ("attention.head_count_kv", 4),
            ("attention.key_length", 32),
            ("attention.value_length", 32),
            ("feed_forward_length", 352),
            ("vocab_size", 100),
        ] {
            w.add(k(key), Value::U32(v));
        }
        w.add(k("attention.layer_norm_rms_epsilon"), Value::F32(1e-6));
        for (key, v) in extra {
            w.add(k(key), v.clone());
        }
        gguf::parse_header(&w.finish()).unwrap()
    }

    #[test]
    fn gemma2_defaults_follow_llama_cpp() {
        // No softcap, window or pattern keys: llama.cpp's 50, 30, 4096 and period 2 (even
        // layers slide); Q pre-scaled by 1/√key_length, kq_scale 1, √n_embd embeddings.
        let c = Config::from_gguf(&header("gemma2", &[])).unwrap();
        assert_eq!(c.arch, Arch::Gemma2);
        assert_eq!(c.attn_softcap, Some(50.0));
        assert_eq!(c.final_logit_softcap, Some(30.0));
        assert_eq!(c.sliding_window, Some(4096));
        assert_eq!(c.swa_layers, [true, false, true, false]);
        assert!(c.post_norms && !c.qk_norm);
        assert_eq!(c.q_scale, Some(1.0 / 32f32.sqrt()));
        assert_eq!(c.kq_scale, 1.0);
        assert_eq!(c.embed_scale, Some(128f32.sqrt()));
        assert_eq!(c.activation, GatedActivation::Gelu);
        assert_eq!(c.rope_style, RopeStyle::Neox);

        let c = Config::from_gguf(&header(
            "gemma2",
            &[
                ("attn_logit_softcapping", Value::F32(4.0)),
                ("final_logit_softcapping", Value::F32(8.0)),
                ("attention.sliding_window", Value::U32(16)),
            ],
        ))
        .unwrap();
        assert_eq!(
            (c.attn_softcap, c.final_logit_softcap, c.sliding_window),
            (Some(4.0), Some(8.0), Some(16))
        );
    }

    #[test]
    fn gemma2_refuses_a_zero_softcap_or_window() {
        for (key, v) in [
            ("attn_logit_softcapping", Value::F32(0.0)),
            ("final_logit_softcapping", Value::F32(-1.0)),
            ("attention.sliding_window", Value::U32(0)),
        ] {
            let e = Config::from_gguf(&header("gemma2", &[(key, v)])).unwrap_err();
            assert!(e.to_string().contains(key), "{e}");
        }
    }

    #[test]
    fn phi2_uses_its_layer_norm_epsilon_and_partial_rope() {
        let c = Config::from_gguf(&header(
            "phi2",
            &[
                ("attention.layer_norm_epsilon", Value::F32(1e-5)),
                ("rope.dimension_count", Value::U32(12)),
            ],
        ))
        .unwrap();
        assert_eq!(c.arch, Arch::Phi2);
        assert!(c.parallel_block);
        assert_eq!(c.rms_eps, 1e-5);
        assert_eq!((c.n_rot, c.head_dim), (12, 32));
        assert_eq!(c.rope_style, RopeStyle::Neox);
        assert_eq!(c.activation, GatedActivation::Gelu);
        assert_eq!((c.q_scale, c.kq_scale), (Some(1.0 / 32f32.sqrt()), 1.0));
        // without it: the missing key is named (the RMS epsilon does not stand in)
        let mut g = header("phi2", &[]);
        g.metadata
            .retain(|(k, _)| k != "phi2.attention.layer_norm_rms_epsilon");
        let e = Config::from_gguf(&g).unwrap_err();
        assert!(e.to_string().contains("layer_norm_epsilon"), "{e}");
    }

    #[test]
    fn llama_with_experts_is_mixtral_style_moe() {
        let c = Config::from_gguf(&header(
            "llama",
            &[
                ("expert_count", Value::U32(8)),
                ("expert_used_count", Value::U32(2)),
            ],
        ))
        .unwrap();
        assert_eq!(
            c.moe,
            Some(MoeConfig {
                n_expert: 8,
                n_expert_used: 2,
                norm_weights: true,
                weights_scale: 1.0,
                n_ff_shared: None,
            })
        );
        assert_eq!(Config::from_gguf(&header("llama", &[])).unwrap().moe, None);
        // used must be in 1..=count; other architectures route differently (refused)
        for (arch, count, used) in [("llama", 4, 0), ("llama", 4, 5), ("qwen2", 4, 2)] {
            let e = Config::from_gguf(&header(
                arch,
                &[
                    ("expert_count", Value::U32(count)),
                    ("expert_used_count", Value::U32(used)),
                ],
            ))
            .unwrap_err();
            assert!(e.to_string().contains("expert_count"), "{e}");
        }
    }

    #[test]
    fn qwen3moe_is_qwen3_with_narrow_experts() {
        let experts = [
            ("expert_count", Value::U32(8)),
            ("expert_used_count", Value::U32(2)),
            ("expert_feed_forward_length", Value::U32(96)),
        ];
        let c = Config::from_gguf(&header("qwen3moe", &experts)).unwrap();
        assert_eq!(c.arch, Arch::Qwen3Moe);
        assert!(c.qk_norm);
        assert_eq!(c.rope_style, RopeStyle::Neox);
        assert_eq!(
            c.moe,
            Some(MoeConfig {
                n_expert: 8,
                n_expert_used: 2,
                norm_weights: true,
                weights_scale: 1.0,
                n_ff_shared: None,
            })
        );
        assert_eq!(c.n_ff, 96, "the experts' width, not feed_forward_length");
        // without experts it is no qwen3moe
        let e = Config::from_gguf(&header("qwen3moe", &[])).unwrap_err();
        assert!(e.to_string().contains("needs its experts"), "{e}");
    }

    #[test]
    fn qwen2moe_has_a_shared_expert_and_unnormalized_weights() {
        let mut keys = vec![
            ("expert_count", Value::U32(8)),
            ("expert_used_count", Value::U32(2)),
            ("expert_feed_forward_length", Value::U32(96)),
            ("expert_shared_feed_forward_length", Value::U32(160)),
        ];
        let c = Config::from_gguf(&header("qwen2moe", &keys)).unwrap();
        assert_eq!(c.arch, Arch::Qwen2Moe);
        assert_eq!(c.rope_style, RopeStyle::Neox);
        assert!(!c.qk_norm);
        assert_eq!(
            c.moe,
            Some(MoeConfig {
                n_expert: 8,
                n_expert_used: 2,
                norm_weights: false,
                weights_scale: 1.0,
                n_ff_shared: Some(160),
            })
        );
        assert_eq!(c.n_ff, 96);
        // llama.cpp's defaults: shared = feed_forward_length, routed = n_ff / n_expert_used
        keys.truncate(2);
        keys.push(("expert_weights_scale", Value::F32(2.5)));
        let c = Config::from_gguf(&header("qwen2moe", &keys)).unwrap();
        let m = c.moe.unwrap();
        assert_eq!(
            (m.n_ff_shared, c.n_ff, m.weights_scale),
            (Some(352), 176, 2.5)
        );
        let e = Config::from_gguf(&header("qwen2moe", &[])).unwrap_err();
        assert!(
            e.to_string().contains("qwen2moe file needs its experts"),
            "{e}"
        );
    }

    #[test]
    fn gemma_has_no_softcaps_window_or_post_norms() {
        let c = Config::from_gguf(&header("gemma", &[])).unwrap();
        assert_eq!(c.arch, Arch::Gemma);
        assert_eq!((c.attn_softcap, c.final_logit_softcap), (None, None));
        assert_eq!(c.sliding_window, None);
        assert!(!c.post_norms && !c.qk_norm);
        assert_eq!(c.q_scale, Some(1.0 / 32f32.sqrt()));
        assert_eq!(c.embed_scale, Some(128f32.sqrt()));
        assert_eq!(c.activation, GatedActivation::Gelu);
    }
}
