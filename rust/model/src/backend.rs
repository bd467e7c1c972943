//! The `Backend` trait: the operations a forward pass needs, implemented once per device
//! (CPU now; wgpu and CUDA later). The forward pass in `forward.rs` is written only against this.
//!
//! Activations are 2-D: `(rows, cols)` row-major, one row per token. Weight matrices follow ggml's
//! convention: a GGUF tensor with dims `[ne0, ne1]` is `ne1` rows of `ne0` elements, so
//! `matmul(w, x)` computes `out[t][r] = dot(w.row(r), x.row(t))`, i.e. `out = x · wᵀ`.

use quant::GgmlType;

/// What the backend needs to know about a weight tensor when it is handed over.
#[derive(Debug, Clone)]
pub struct WeightDesc {
    /// GGUF name, kept for error messages and debugging.
    pub name: String,
    pub ty: GgmlType,
    /// Elements per row (ggml's ne0).
    pub cols: usize,
    /// Number of rows (ggml's ne1; 1 for vectors such as norm weights).
    pub rows: usize,
}

impl WeightDesc {
    /// Bytes per row, once `len` is checked to be exactly `rows` rows of `ty`; else what is wrong.
    pub fn row_bytes_checked(&self, len: usize) -> Result<usize, String> {
        let row_bytes = self.ty.row_bytes(self.cols).map_err(|e| e.to_string())?;
        let expected = row_bytes
            .checked_mul(self.rows)
            .ok_or_else(|| "size overflows".to_string())?;
        if len != expected {
            return Err(format!("expected {expected} bytes, got {len}"));
        }
        Ok(row_bytes)
    }
}

/// How RoPE pairs up the elements of a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopeStyle {
    /// Adjacent pairs `(x[2i], x[2i+1])`: LLaMA ("normal" in ggml).
    Interleaved,
    /// Split halves `(x[i], x[i + n_rot/2])`: GPT-NeoX, Gemma ("neox" in ggml).
    Neox,
}

/// Parameters for rotating one tensor of heads.
#[derive(Debug, Clone, Copy)]
pub struct RopeParams {
    pub style: RopeStyle,
    pub head_dim: usize,
    /// Rotated dimensions per head (≤ head_dim); the rest pass through.
    pub n_rot: usize,
    pub freq_base: f32,
    /// Linear position scaling (1.0 = none).
    pub freq_scale: f32,
    /// Magnitude factor multiplied into cos θ and sin θ, so into every rotated element (ggml's
    /// `attn_factor`, its `mscale`; 1.0 = none). LongRoPE files (Phi-3/3.5 128k) carry
    /// `rope.scaling.attn_factor` ≈ 1.19: q and k are each scaled by it.
    pub attn_factor: f32,
}

/// One attention call over the cached keys and values of a layer.
#[derive(Debug, Clone, Copy)]
pub struct AttentionParams {
    pub layer: usize,
    pub n_head: usize,
    pub n_head_kv: usize,
    pub head_dim: usize,
    /// Position of the first query row; query row `t` sits at `pos0 + t` and sees keys `0..=pos0+t`.
    pub pos0: usize,
    /// Sliding window: a query at position p sees only keys at positions > p - window.
    pub window: Option<usize>,
    /// Multiplies q·k before the softmax.
    pub kq_scale: f32,
    /// Gemma 2's attention logit softcap: each score becomes `cap·tanh(kq_scale·q·k / cap)`
    /// before the mask and the softmax. ggml's CPU flash attention computes it as
    /// `cap·tanhf(q·k · (kq_scale/cap))` (the quotient taken once, in f32); a backend that
    /// must match it bit for bit does the same.
    pub softcap: Option<f32>,
}

/// Cells of llama.cpp's KV cache for a sliding-window layer: the window plus one micro-batch
/// (`n_ubatch`, our `PREFILL_CHUNK`), padded to 256, at most the context. llama.cpp reuses these
/// cells round-robin once they are full, so position `p` sits in cell `p % cells`; keys are
/// visited in cell order, which the CPU backend reproduces (its cache itself holds every
/// position), and a cache rewind must keep that layout (`Model::reusable_prefix`).
pub fn llama_swa_cache_cells(window: usize, n_ctx: usize) -> usize {
    n_ctx.min((window + crate::PREFILL_CHUNK).next_multiple_of(256))
}

/// Element-wise gated activations: `out = act(gate) * up`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatedActivation {
    /// SiLU gating (SwiGLU): LLaMA.
    Silu,
    /// tanh-approximated GELU gating (GeGLU): Gemma.
    Gelu,
}

/// The input side of a layer's attention: the norm, the q/k/v projections (with their biases),
/// Gemma's per-head Q/K norms, RoPE, the q scale, and the store of k and v in the layer's cache.
/// `Backend::attention_input` runs all of it and returns q `(rows, n_head·head_dim)`.
#[derive(Clone, Copy)]
pub struct AttnInput<'a, W> {
    pub layer: usize,
    /// Position of the first row.
    pub pos0: usize,
    /// Row length of x (the norm's group).
    pub n_embd: usize,
    pub norm: &'a W,
    pub eps: f32,
    pub wq: &'a W,
    pub wk: &'a W,
    pub wv: &'a W,
    pub bq: Option<&'a W>,
    pub bk: Option<&'a W>,
    pub bv: Option<&'a W>,
    /// Per-head RMS norms `(head_dim)` of q and k, both or neither.
    pub qk_norm: Option<(&'a W, &'a W)>,
    pub rope: RopeParams,
    pub rope_freqs: Option<&'a W>,
    pub q_scale: Option<f32>,
}

/// The input side of a layer's feed-forward: `act(norm(x)·gateᵀ) * (norm(x)·upᵀ)`.
#[derive(Clone, Copy)]
pub struct FfnInput<'a, W> {
    /// Row length of x (the norm's group).
    pub n_embd: usize,
    pub norm: &'a W,
    pub eps: f32,
    pub gate: &'a W,
    pub up: &'a W,
    pub act: GatedActivation,
}

/// What a model will need from a backend, known before any weight is loaded (`plan_memory`).
#[derive(Debug, Clone, Copy)]
pub struct MemoryPlan {
    /// Bytes of every weight tensor as stored in the file.
    pub weight_bytes: u64,
    pub n_layer: usize,
    pub n_ctx: usize,
    /// Values per position per layer in each of the key and value caches.
    pub kv_dim: usize,
    pub n_embd: usize,
    pub n_ff: usize,
    pub n_vocab: usize,
    /// The most rows one forward pass carries (`PREFILL_CHUNK`).
    pub max_rows: usize,
    /// The experts of a mixture-of-experts model (each row then carries `n_expert_used`
    /// expert FFNs of `n_ff`); None for a dense FFN. A backend without the MoE ops refuses
    /// the model here, before any weight is uploaded.
    pub moe: Option<crate::config::MoeConfig>,
}

pub trait Backend {
    /// f32 activations `(rows, cols)` living on the device.
    type Tensor;
    /// A weight tensor (kept in its quantized form) living on the device.
    type Weight;
    type Error: std::error::Error + Send + Sync + 'static;

    /// Called once, before the first `load_weight`: a backend with memory of its own (a GPU)
    /// checks that the model fits and fails here, with what it needs and has, rather than
    /// midway through the upload. Default: nothing to check.
    fn plan_memory(&mut self, _plan: &MemoryPlan) -> Result<(), Self::Error> {
        Ok(())
    }

    /// Takes a weight tensor from its raw GGUF bytes.
    fn load_weight(&mut self, desc: &WeightDesc, bytes: &[u8])
        -> Result<Self::Weight, Self::Error>;

    /// Sets up the key/value cache: `n_layer` layers of `n_ctx` positions × `kv_dim` values.
    fn init_kv_cache(
        &mut self,
        n_layer: usize,
        n_ctx: usize,
        kv_dim: usize,
    ) -> Result<(), Self::Error>;

    /// Rows of `table` (one per id) as f32: `(ids.len(), table.cols)`.
    fn embed(&mut self, table: &Self::Weight, ids: &[u32]) -> Result<Self::Tensor, Self::Error>;

    /// `out = x · wᵀ`: `x (rows, w.cols)` → `(rows, w.rows)`.
    fn matmul(&mut self, w: &Self::Weight, x: &Self::Tensor) -> Result<Self::Tensor, Self::Error>;

    /// Adds a bias vector `(n)` to every row of `x (rows, n)`.
    fn add_bias(&mut self, x: &mut Self::Tensor, bias: &Self::Weight) -> Result<(), Self::Error>;

    /// RMS norm of each `group`-element slice of `x`, times `weight (group)`.
    /// `group` = cols for a token-wise norm, = head_dim for per-head Q/K norms.
    fn rms_norm(
        &mut self,
        x: &Self::Tensor,
        weight: &Self::Weight,
        group: usize,
        eps: f32,
    ) -> Result<Self::Tensor, Self::Error>;

    /// LayerNorm of each `group`-element slice of `x`: `(x − mean) / √(var + eps) · weight + bias`
    /// (phi2), as ggml's `norm` then `mul` then `add`.
    fn layer_norm(
        &mut self,
        x: &Self::Tensor,
        weight: &Self::Weight,
        bias: &Self::Weight,
        group: usize,
        eps: f32,
    ) -> Result<Self::Tensor, Self::Error>;

    /// Rotates each head of `x (rows, n_heads*head_dim)` in place; row t is at position `pos0 + t`.
    /// `freq_factors (n_rot/2)` divides the per-pair frequencies (LLaMA 3 rope scaling).
    fn rope(
        &mut self,
        x: &mut Self::Tensor,
        pos0: usize,
        params: &RopeParams,
        freq_factors: Option<&Self::Weight>,
    ) -> Result<(), Self::Error>;

    /// `x *= s`.
    fn scale(&mut self, x: &mut Self::Tensor, s: f32) -> Result<(), Self::Error>;

    /// `a += b` (same shapes).
    fn add(&mut self, a: &mut Self::Tensor, b: &Self::Tensor) -> Result<(), Self::Error>;

    /// `a /= b` element-wise (same shapes; ggml_div: IEEE division, so 0/0 is NaN as there).
    /// qwen2moe's graph forms the sigmoid of its shared-expert gate as `silu(x) / x`.
    fn div(&mut self, a: &mut Self::Tensor, b: &Self::Tensor) -> Result<(), Self::Error>;

    /// `act(gate) * up`, both `(rows, n_ff)`.
    fn gated_activation(
        &mut self,
        gate: &Self::Tensor,
        up: &Self::Tensor,
        act: GatedActivation,
    ) -> Result<Self::Tensor, Self::Error>;

    /// `act(x)` element-wise, ungated (phi2's feed-forward): `act(x)` exactly where
    /// `gated_activation(x, 1)` would give `act(x) · 1`.
    fn activation(
        &mut self,
        x: &Self::Tensor,
        act: GatedActivation,
    ) -> Result<Self::Tensor, Self::Error>;

    /// Writes `k, v (rows, kv_dim)` into the layer's cache at positions `pos0..pos0+rows`.
    fn store_kv(
        &mut self,
        layer: usize,
        pos0: usize,
        k: &Self::Tensor,
        v: &Self::Tensor,
    ) -> Result<(), Self::Error>;

    /// Causal (optionally windowed) grouped-query attention of `q (rows, n_head*head_dim)`
    /// against the layer's cache → `(rows, n_head*head_dim)`.
    fn attention(
        &mut self,
        q: &Self::Tensor,
        params: &AttentionParams,
    ) -> Result<Self::Tensor, Self::Error>;

    // --- Mixture of experts (mixtral-style, llama.cpp's build_moe_ffn) ---
    // Expert ids travel as a `(rows, k)` tensor of small integers stored in f32 (exact up to
    // 2^24): they are produced and consumed on the device, like ggml's I32 ids tensor, without
    // a tensor type of their own in this trait.

    /// Routing of `logits (rows, n_expert)`: per row, the softmax over all experts, the `k` most
    /// probable experts in descending order of probability (ties: the lower id first), and their
    /// probabilities, divided by their sum (clamped below at 2⁻¹⁴, as llama.cpp) when `norm`.
    /// Returns `(ids (rows, k), weights (rows, k))`.
    fn moe_route(
        &mut self,
        logits: &Self::Tensor,
        k: usize,
        norm: bool,
    ) -> Result<(Self::Tensor, Self::Tensor), Self::Error>;

    /// ggml's `mul_mat_id`: `w` holds `n_expert` matrices of `w.rows / n_expert` rows stacked
    /// (a 3-D GGUF tensor, expert `e` at rows `e·n..(e+1)·n`); for every row `t` and slot `s` of
    /// `ids (rows, k)`, output row `t·k + s` is `x_row · w[ids[t][s]]ᵀ`, where `x_row` is row `t`
    /// of `x (rows, w.cols)` (one input for all slots) or row `t·k + s` of `x (rows·k, w.cols)`.
    /// Returns `(rows·k, w.rows / n_expert)`. A backend computes only the chosen experts.
    fn matmul_id(
        &mut self,
        w: &Self::Weight,
        n_expert: usize,
        x: &Self::Tensor,
        ids: &Self::Tensor,
    ) -> Result<Self::Tensor, Self::Error>;

    /// The weighted sum of each row's `k` expert outputs: `y (rows·k, n)`, `weights (rows, k)` →
    /// `(rows, n)` with row `t` = `Σ_s weights[t][s] · y[t·k + s]`, as llama.cpp's graph: each
    /// product rounded (ggml_mul), then added in slot order (ggml_add of the views).
    fn moe_combine(
        &mut self,
        y: &Self::Tensor,
        weights: &Self::Tensor,
    ) -> Result<Self::Tensor, Self::Error>;

    /// Keeps only the last row of `x` (only the last token's logits are needed).
    fn last_row(&mut self, x: &Self::Tensor) -> Result<Self::Tensor, Self::Error>;

    /// Copies a tensor back to the host, row-major.
    fn read(&mut self, x: &Self::Tensor) -> Result<Vec<f32>, Self::Error>;

    /// Starts copying `x` to the host without waiting, for a `read` of the same tensor once
    /// `read_ready` says the copy has landed. Only `Model::poll_step` uses this pair: a backend
    /// that must never block its thread (WebGPU in a browser, whose reads complete through the
    /// JS event loop) starts the copy here and the caller awaits it between two polls. Backends
    /// whose `read` is immediate (the CPU) keep the defaults.
    fn begin_read(&mut self, _x: &Self::Tensor) -> Result<(), Self::Error> {
        Ok(())
    }

    /// Whether the copy `begin_read` started has landed (a following `read` will not wait);
    /// an error when it failed (e.g. the device was lost).
    fn read_ready(&mut self) -> Result<bool, Self::Error> {
        Ok(true)
    }

    // --- Fused steps ---
    // The forward pass calls these; each default runs the primitive ops above in the order the
    // forward pass always ran them (`crate::compose`), so a backend that keeps the defaults (the
    // CPU, bit-exact with llama.cpp) computes exactly what it computed before. A GPU backend
    // overrides them to do in one or two kernel passes what the primitives do in many: every
    // pass costs a dispatch and a barrier, which dominate a decode step of a small model.

    /// Called once per layer after loading, with the weights that always multiply the same
    /// input (`[q, k, v]`, `[gate, up]`): a backend may store them side by side (each stays a
    /// valid weight on its own) so that a fused step reads them in one pass. Default: nothing.
    fn stack_weights(&mut self, _ws: &mut [&mut Self::Weight]) -> Result<(), Self::Error> {
        Ok(())
    }

    /// See `AttnInput`: returns q, having stored k and v in the layer's cache.
    fn attention_input(
        &mut self,
        x: &Self::Tensor,
        a: &AttnInput<'_, Self::Weight>,
    ) -> Result<Self::Tensor, Self::Error> {
        crate::compose::attention_input(self, x, a, &mut crate::forward::Tracer::off())
    }

    /// See `FfnInput`: `(rows, n_ff)`.
    fn ffn_input(
        &mut self,
        x: &Self::Tensor,
        f: &FfnInput<'_, Self::Weight>,
    ) -> Result<Self::Tensor, Self::Error> {
        crate::compose::ffn_input(self, x, f, None, &mut crate::forward::Tracer::off())
    }

    /// `acc = x·wᵀ + acc` (a projection added to the residual stream).
    fn matmul_add(
        &mut self,
        w: &Self::Weight,
        x: &Self::Tensor,
        acc: &mut Self::Tensor,
    ) -> Result<(), Self::Error> {
        crate::compose::matmul_add(self, w, x, acc)
    }

    /// `acc = rms_norm(x)·weight + acc` over `group`-element rows (Gemma's post-norms before the
    /// residual add).
    fn rms_norm_add(
        &mut self,
        x: &Self::Tensor,
        weight: &Self::Weight,
        group: usize,
        eps: f32,
        acc: &mut Self::Tensor,
    ) -> Result<(), Self::Error> {
        let mut n = self.rms_norm(x, weight, group, eps)?;
        self.add(&mut n, acc)?;
        *acc = n;
        Ok(())
    }

    /// `rms_norm(x)·norm · wᵀ` over `group`-element rows (the output head).
    fn norm_matmul(
        &mut self,
        x: &Self::Tensor,
        norm: &Self::Weight,
        group: usize,
        eps: f32,
        w: &Self::Weight,
    ) -> Result<Self::Tensor, Self::Error> {
        let h = self.rms_norm(x, norm, group, eps)?;
        self.matmul(w, &h)
    }
}
