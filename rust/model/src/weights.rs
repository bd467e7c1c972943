//! Tensor declarations for the llama family: the one table of GGUF tensor names, the expected
//! shapes, and loading each tensor into the backend (a bad GGUF fails here, naming the tensor).

use crate::backend::{Backend, WeightDesc};
use crate::config::{Arch, Config};
use crate::ModelError;
use gguf::Gguf;
use quant::GgmlType;
use std::ops::Range;

/// GGUF names of the global tensors.
const TOKEN_EMBD: &str = "token_embd.weight";
const OUTPUT_NORM: &str = "output_norm.weight";
const OUTPUT: &str = "output.weight";
const ROPE_FREQS: &str = "rope_freqs.weight";

/// GGUF names of per-layer tensors, as `blk.{i}.{suffix}`.
mod layer_names {
    pub const ATTN_NORM: &str = "attn_norm.weight";
    pub const ATTN_Q: &str = "attn_q.weight";
    pub const ATTN_K: &str = "attn_k.weight";
    pub const ATTN_V: &str = "attn_v.weight";
    pub const ATTN_Q_BIAS: &str = "attn_q.bias";
    pub const ATTN_K_BIAS: &str = "attn_k.bias";
    pub const ATTN_V_BIAS: &str = "attn_v.bias";
    pub const ATTN_OUTPUT: &str = "attn_output.weight";
    pub const ATTN_Q_NORM: &str = "attn_q_norm.weight";
    pub const ATTN_K_NORM: &str = "attn_k_norm.weight";
    pub const ATTN_POST_NORM: &str = "post_attention_norm.weight";
    pub const FFN_NORM: &str = "ffn_norm.weight";
    pub const FFN_GATE: &str = "ffn_gate.weight";
    pub const FFN_UP: &str = "ffn_up.weight";
    pub const FFN_DOWN: &str = "ffn_down.weight";
    pub const FFN_POST_NORM: &str = "post_ffw_norm.weight";
}

/// One transformer block. Shapes are `(rows, cols)`: a matmul maps `cols` inputs to `rows` outputs.
pub struct LayerWeights<W> {
    pub attn_norm: W,              // (n_embd)
    pub wq: W,                     // (n_head*head_dim, n_embd)
    pub wk: W,                     // (n_head_kv*head_dim, n_embd)
    pub wv: W,                     // (n_head_kv*head_dim, n_embd)
    pub bq: Option<W>,             // (n_head*head_dim)
    pub bk: Option<W>,             // (n_head_kv*head_dim)
    pub bv: Option<W>,             // (n_head_kv*head_dim)
    pub wo: W,                     // (n_embd, n_head*head_dim)
    pub q_norm: Option<W>,         // (head_dim)   Gemma 3
    pub k_norm: Option<W>,         // (head_dim)   Gemma 3
    pub attn_post_norm: Option<W>, // (n_embd)    Gemma 3
    pub ffn_norm: W,               // (n_embd)
    pub ffn_gate: W,               // (n_ff, n_embd)
    pub ffn_up: W,                 // (n_ff, n_embd)
    pub ffn_down: W,               // (n_embd, n_ff)
    pub ffn_post_norm: Option<W>,  // (n_embd)     Gemma 3
}

pub struct Weights<W> {
    pub token_embd: W,  // (n_vocab, n_embd)
    pub output_norm: W, // (n_embd)
    /// (n_vocab, n_embd); None when tied to `token_embd`.
    pub output: Option<W>,
    /// (n_rot/2) LLaMA 3 frequency factors.
    pub rope_freqs: Option<W>,
    pub layers: Vec<LayerWeights<W>>,
}

impl<W> Weights<W> {
    pub fn output(&self) -> &W {
        self.output.as_ref().unwrap_or(&self.token_embd)
    }
}

/// Reads the bytes of a tensor (an absolute file range) into the buffer, replacing its contents.
pub type TensorReader<'a> = dyn FnMut(Range<u64>, &mut Vec<u8>) -> std::io::Result<()> + 'a;

/// Loads tensors one at a time through one reusable buffer, checking each against its declaration.
struct Loader<'a, 'r, B: Backend> {
    gguf: &'a Gguf,
    backend: &'a mut B,
    read: &'a mut TensorReader<'r>,
    buf: Vec<u8>,
}

impl<B: Backend> Loader<'_, '_, B> {
    /// A tensor that must exist with ggml dims `[cols, rows]` (or `[cols]` when rows == 1).
    fn required(&mut self, name: &str, rows: usize, cols: usize) -> Result<B::Weight, ModelError> {
        self.optional(name, rows, cols)?
            .ok_or_else(|| ModelError::MissingTensor(name.to_string()))
    }

    fn optional(
        &mut self,
        name: &str,
        rows: usize,
        cols: usize,
    ) -> Result<Option<B::Weight>, ModelError> {
        let Some(info) = self.gguf.tensor(name) else {
            return Ok(None);
        };
        let bad = |problem: String| ModelError::BadTensor {
            name: name.to_string(),
            problem,
        };
        let expected: Vec<u64> = if rows == 1 {
            vec![cols as u64]
        } else {
            vec![cols as u64, rows as u64]
        };
        // Trailing 1s are the same shape ([640] == [640, 1]).
        let mut found = info.dims.clone();
        while found.len() > expected.len() && found.last() == Some(&1) {
            found.pop();
        }
        if found != expected {
            return Err(bad(format!(
                "expected shape {expected:?}, found {:?}",
                info.dims
            )));
        }
        let ty = GgmlType::from_id(info.ggml_type).ok_or_else(|| {
            bad(format!(
                "tensor type id {} is not supported",
                info.ggml_type
            ))
        })?;
        if cols % ty.block_size() != 0 {
            return Err(bad(format!(
                "row of {cols} elements is not a whole number of {} blocks",
                ty.name()
            )));
        }
        let range = self.gguf.tensor_range(info)?;
        (self.read)(range.clone(), &mut self.buf)
            .map_err(|e| bad(format!("reading bytes {}..{}: {e}", range.start, range.end)))?;
        let desc = WeightDesc {
            name: name.to_string(),
            ty,
            cols,
            rows,
        };
        self.backend
            .load_weight(&desc, &self.buf)
            .map(Some)
            .map_err(ModelError::backend)
    }
}

/// Declares and loads every tensor of a llama-family model.
pub fn load_weights<B: Backend>(
    gguf: &Gguf,
    cfg: &Config,
    backend: &mut B,
    read: &mut TensorReader<'_>,
) -> Result<Weights<B::Weight>, ModelError> {
    use layer_names::*;
    let mut l = Loader {
        gguf,
        backend,
        read,
        buf: Vec::new(),
    };
    let (d, q, kv, ff) = (cfg.n_embd, cfg.q_dim(), cfg.kv_dim(), cfg.n_ff);
    let gemma = cfg.arch == Arch::Gemma3;

    let token_embd = l.required(TOKEN_EMBD, cfg.n_vocab, d)?;
    let output_norm = l.required(OUTPUT_NORM, 1, d)?;
    let output = l.optional(OUTPUT, cfg.n_vocab, d)?;
    let rope_freqs = l.optional(ROPE_FREQS, 1, cfg.n_rot / 2)?;

    let mut layers = Vec::with_capacity(cfg.n_layer);
    for i in 0..cfg.n_layer {
        let n = |suffix: &str| format!("blk.{i}.{suffix}");
        let gemma_only = |l: &mut Loader<B>,
                          suffix: &str,
                          len: usize|
         -> Result<Option<B::Weight>, ModelError> {
            if gemma {
                l.required(&n(suffix), 1, len).map(Some)
            } else {
                Ok(None)
            }
        };
        layers.push(LayerWeights {
            attn_norm: l.required(&n(ATTN_NORM), 1, d)?,
            wq: l.required(&n(ATTN_Q), q, d)?,
            wk: l.required(&n(ATTN_K), kv, d)?,
            wv: l.required(&n(ATTN_V), kv, d)?,
            bq: l.optional(&n(ATTN_Q_BIAS), 1, q)?,
            bk: l.optional(&n(ATTN_K_BIAS), 1, kv)?,
            bv: l.optional(&n(ATTN_V_BIAS), 1, kv)?,
            wo: l.required(&n(ATTN_OUTPUT), d, q)?,
            q_norm: gemma_only(&mut l, ATTN_Q_NORM, cfg.head_dim)?,
            k_norm: gemma_only(&mut l, ATTN_K_NORM, cfg.head_dim)?,
            attn_post_norm: gemma_only(&mut l, ATTN_POST_NORM, d)?,
            ffn_norm: l.required(&n(FFN_NORM), 1, d)?,
            ffn_gate: l.required(&n(FFN_GATE), ff, d)?,
            ffn_up: l.required(&n(FFN_UP), ff, d)?,
            ffn_down: l.required(&n(FFN_DOWN), d, ff)?,
            ffn_post_norm: gemma_only(&mut l, FFN_POST_NORM, d)?,
        });
    }
    Ok(Weights {
        token_embd,
        output_norm,
        output,
        rope_freqs,
        layers,
    })
}
