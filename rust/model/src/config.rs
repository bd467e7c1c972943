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
    /// Gemma 3: QK-norm, pre+post norms, GeGLU, NeoX RoPE, local/global layers, scaled embeddings.
    Gemma3,
    /// Qwen 2 / 2.5: LLaMA's graph with q/k/v biases and NeoX RoPE, usually tied embeddings.
    Qwen2,
    /// Qwen 3 (dense): Qwen 2 without the biases, with per-head Q/K RMS norms (before RoPE) and a
    /// head size of its own (`key_length`, e.g. 128 for the 0.6B's 1024 = 16 heads × 64).
    Qwen3,
    /// Phi-3 / Phi-3.5-mini: LLaMA's graph with NeoX RoPE, fused `attn_qkv` and gate+up
    /// `ffn_up` tensors (split at load time, weights.rs), Q scaled by 1/√head_dim before the
    /// attention kernel, and optional LongRoPE frequency factors.
    Phi3,
}

impl Arch {
    pub fn name(self) -> &'static str {
        match self {
            Arch::Llama => "llama",
            Arch::Gemma3 => "gemma3",
            Arch::Qwen2 => "qwen2",
            Arch::Qwen3 => "qwen3",
            Arch::Phi3 => "phi3",
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
    pub rms_eps: f32,
    pub rope_style: RopeStyle,
    pub n_rot: usize,
    pub rope_base: f32,
    /// RoPE base of sliding-window layers (Gemma 3 uses 10 000 locally, 1 000 000 globally).
    pub rope_base_swa: f32,
    pub rope_freq_scale: f32,
    /// Some(window) when sliding-window layers exist.
    pub sliding_window: Option<usize>,
    /// Per layer: does it use the sliding window?
    pub swa_layers: Vec<bool>,
    /// Multiplies Q after RoPE (Gemma), before the attention kernel.
    pub q_scale: Option<f32>,
    /// Multiplies q·k inside attention.
    pub kq_scale: f32,
    /// Multiplies token embeddings (Gemma: √n_embd).
    pub embed_scale: Option<f32>,
    pub activation: GatedActivation,
    /// RMS-normalise each Q and K head (Gemma 3, Qwen 3).
    pub qk_norm: bool,
    /// Norms after attention and after the FFN, before the residual add (Gemma 2/3).
    pub post_norms: bool,
    /// `cap * tanh(logits / cap)` on the output (Gemma 2; 0/None for Gemma 3).
    pub final_logit_softcap: Option<f32>,
}

impl Config {
    pub fn from_gguf(g: &Gguf) -> Result<Config, ModelError> {
        let arch_name = g.get_str("general.architecture")?;
        let arch = match arch_name {
            "llama" => Arch::Llama,
            "gemma3" => Arch::Gemma3,
            "qwen2" => Arch::Qwen2,
            "qwen3" => Arch::Qwen3,
            "phi3" => Arch::Phi3,
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
        let rms_eps = g.get_f32(&key("attention.layer_norm_rms_epsilon"))?;
        let rope_base = g.get_f32_opt(&key("rope.freq_base"))?.unwrap_or(10000.0);
        let rope_freq_scale =
            rope_freq_scale(g, &key("rope.scaling.type"), &key("rope.scaling.factor"))?;

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
            rope_style: RopeStyle::Interleaved,
            n_rot,
            rope_base,
            rope_base_swa: rope_base,
            rope_freq_scale,
            sliding_window: None,
            swa_layers: vec![false; n_layer],
            q_scale: None,
            kq_scale: 1.0 / (head_dim as f32).sqrt(),
            embed_scale: None,
            activation: GatedActivation::Silu,
            qk_norm: false,
            post_norms: false,
            final_logit_softcap: None,
        };

        match arch {
            Arch::Llama | Arch::Gemma3 => {}
            Arch::Phi3 => {
                // llama.cpp (src/models/phi3.cpp): LLAMA_ROPE_TYPE_NEOX; Q is multiplied by
                // 1/√head_dim after RoPE (ggml_scale) and the attention runs with kq_scale 1.
                cfg.rope_style = RopeStyle::Neox;
                cfg.q_scale = Some(1.0 / (head_dim as f32).sqrt());
                cfg.kq_scale = 1.0;
                // LongRoPE files (Phi-3/3.5 128k) carry `rope.scaling.attn_factor`
                // (√(1 + ln(scale)/ln(n_ctx_orig)), ≈1.19), which ggml's rope multiplies into
                // cos and sin (so into every rotated q and k) whichever factors are used. The
                // Backend's RoPE has no such magnitude factor, so these files are refused.
                let key_af = key("rope.scaling.attn_factor");
                if let Some(af) = g.get_f32_opt(&key_af)?.filter(|af| *af != 1.0) {
                    return Err(ModelError::BadConfig(format!(
                        "{key_af} = {af} (LongRoPE attention scaling) is not supported"
                    )));
                }
            }
            // llama.cpp gives both LLAMA_ROPE_TYPE_NEOX (split halves); the q/k/v biases of
            // Qwen 2 are optional tensors (weights.rs), used whenever the file has them.
            Arch::Qwen2 => cfg.rope_style = RopeStyle::Neox,
            Arch::Qwen3 => {
                cfg.rope_style = RopeStyle::Neox;
                cfg.qk_norm = true;
            }
        }
        if arch == Arch::Gemma3 {
            cfg.rope_style = RopeStyle::Neox;
            cfg.activation = GatedActivation::Gelu;
            cfg.qk_norm = true;
            cfg.post_norms = true;
            cfg.embed_scale = Some((n_embd as f32).sqrt());
            // Gemma scales Q by 1/√head_dim itself (27B uses n_embd/n_head instead: 62 layers).
            let q_scale_dim = if n_layer == 62 {
                n_embd / n_head
            } else {
                head_dim
            };
            cfg.q_scale = Some(1.0 / (q_scale_dim as f32).sqrt());
            cfg.kq_scale = 1.0;
            cfg.final_logit_softcap = g
                .get_f32_opt(&key("final_logit_softcapping"))?
                .filter(|c| *c != 0.0);
            if let Some(window) = u_opt("attention.sliding_window")?.filter(|w| *w > 0) {
                cfg.sliding_window = Some(window);
                cfg.swa_layers = swa_pattern(g, &key("attention.sliding_window_pattern"), n_layer)?;
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

/// Which layers slide. The key is either a period n (every n-th layer is global, the others
/// local — Gemma 3 defaults to 6) or an explicit per-layer array of bools.
fn swa_pattern(g: &Gguf, key: &str, n_layer: usize) -> Result<Vec<bool>, ModelError> {
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
    let period = g.get_u32_opt(key)?.unwrap_or(6) as usize;
    Ok((0..n_layer)
        .map(|il| period == 0 || il % period < period - 1)
        .collect())
}
