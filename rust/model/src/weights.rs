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
const OUTPUT_NORM_BIAS: &str = "output_norm.bias";
const OUTPUT: &str = "output.weight";
const OUTPUT_BIAS: &str = "output.bias";
const ROPE_FREQS: &str = "rope_freqs.weight";
/// Phi-3 LongRoPE frequency factors (n_rot/2), one pair for all layers.
const ROPE_FACTORS_LONG: &str = "rope_factors_long.weight";
const ROPE_FACTORS_SHORT: &str = "rope_factors_short.weight";

/// GGUF names of per-layer tensors, as `blk.{i}.{suffix}`.
mod layer_names {
    pub const ATTN_NORM: &str = "attn_norm.weight";
    pub const ATTN_NORM_BIAS: &str = "attn_norm.bias";
    pub const ATTN_Q: &str = "attn_q.weight";
    pub const ATTN_K: &str = "attn_k.weight";
    pub const ATTN_V: &str = "attn_v.weight";
    /// Phi-3: q, k and v stacked by rows (in that order).
    pub const ATTN_QKV: &str = "attn_qkv.weight";
    /// Phi-2: the q, k and v biases stacked (in that order).
    pub const ATTN_QKV_BIAS: &str = "attn_qkv.bias";
    pub const ATTN_Q_BIAS: &str = "attn_q.bias";
    pub const ATTN_K_BIAS: &str = "attn_k.bias";
    pub const ATTN_V_BIAS: &str = "attn_v.bias";
    pub const ATTN_OUTPUT: &str = "attn_output.weight";
    pub const ATTN_OUTPUT_BIAS: &str = "attn_output.bias";
    pub const ATTN_Q_NORM: &str = "attn_q_norm.weight";
    pub const ATTN_K_NORM: &str = "attn_k_norm.weight";
    pub const ATTN_POST_NORM: &str = "post_attention_norm.weight";
    pub const FFN_NORM: &str = "ffn_norm.weight";
    pub const FFN_GATE: &str = "ffn_gate.weight";
    pub const FFN_UP: &str = "ffn_up.weight";
    pub const FFN_UP_BIAS: &str = "ffn_up.bias";
    pub const FFN_DOWN: &str = "ffn_down.weight";
    pub const FFN_DOWN_BIAS: &str = "ffn_down.bias";
    pub const FFN_POST_NORM: &str = "post_ffw_norm.weight";
    /// Mixtral-style experts: the router and the 3-D expert tensors.
    pub const FFN_GATE_INP: &str = "ffn_gate_inp.weight";
    pub const FFN_GATE_EXPS: &str = "ffn_gate_exps.weight";
    pub const FFN_UP_EXPS: &str = "ffn_up_exps.weight";
    pub const FFN_DOWN_EXPS: &str = "ffn_down_exps.weight";
    /// qwen2moe's shared expert and its gate.
    pub const FFN_GATE_INP_SHEXP: &str = "ffn_gate_inp_shexp.weight";
    pub const FFN_GATE_SHEXP: &str = "ffn_gate_shexp.weight";
    pub const FFN_UP_SHEXP: &str = "ffn_up_shexp.weight";
    pub const FFN_DOWN_SHEXP: &str = "ffn_down_shexp.weight";
}

/// One transformer block. Shapes are `(rows, cols)`: a matmul maps `cols` inputs to `rows` outputs.
pub struct LayerWeights<W> {
    pub attn_norm: W,              // (n_embd)
    pub attn_norm_b: Option<W>,    // (n_embd)      Phi-2's LayerNorm
    pub wq: W,                     // (n_head*head_dim, n_embd)
    pub wk: W,                     // (n_head_kv*head_dim, n_embd)
    pub wv: W,                     // (n_head_kv*head_dim, n_embd)
    pub bq: Option<W>,             // (n_head*head_dim)
    pub bk: Option<W>,             // (n_head_kv*head_dim)
    pub bv: Option<W>,             // (n_head_kv*head_dim)
    pub wo: W,                     // (n_embd, n_head*head_dim)
    pub bo: Option<W>,             // (n_embd)      Phi-2
    pub q_norm: Option<W>,         // (head_dim)   Gemma 3, Qwen 3
    pub k_norm: Option<W>,         // (head_dim)   Gemma 3, Qwen 3
    pub attn_post_norm: Option<W>, // (n_embd)    Gemma 2, Gemma 3
    pub ffn_norm: Option<W>,       // (n_embd)      None in Phi-2 (the attention's norm serves)
    pub ffn_gate: Option<W>,       // (n_ff, n_embd) None in Phi-2 (ungated)
    pub ffn_up: Option<W>,         // (n_ff, n_embd) None with experts
    pub ffn_up_b: Option<W>,       // (n_ff)        Phi-2
    pub ffn_down: Option<W>,       // (n_embd, n_ff) None with experts
    pub ffn_down_b: Option<W>,     // (n_embd)      Phi-2
    pub ffn_post_norm: Option<W>,  // (n_embd)     Gemma 2, Gemma 3
    /// The mixture of experts that replaces the dense FFN (mixtral-style llama).
    pub moe: Option<MoeWeights<W>>,
}

/// A layer's experts. Each expert tensor is 3-D in the file (ggml dims `[cols, rows, n_expert]`)
/// and handed to the backend as its `n_expert·rows` rows, expert `e` at rows `e·rows..`: ggml
/// stores the experts one after another, so that is a valid 2-D weight of the same type
/// (`Backend::matmul_id` picks the slices).
pub struct MoeWeights<W> {
    pub gate_inp: W,  // (n_expert, n_embd)       the router
    pub gate_exps: W, // (n_expert·n_ff, n_embd)
    pub up_exps: W,   // (n_expert·n_ff, n_embd)
    pub down_exps: W, // (n_expert·n_embd, n_ff)
    /// qwen2moe's shared expert, run for every token beside the routed ones.
    pub shared: Option<SharedExpert<W>>,
}

/// A dense SwiGLU FFN every token runs, its output scaled per token by
/// `sigmoid(gate_inp · h)` (the file's 1-D `ffn_gate_inp_shexp`, here a 1-row matrix).
pub struct SharedExpert<W> {
    pub gate_inp: W, // (1, n_embd)
    pub gate: W,     // (n_ff_shared, n_embd)
    pub up: W,       // (n_ff_shared, n_embd)
    pub down: W,     // (n_embd, n_ff_shared)
}

pub struct Weights<W> {
    pub token_embd: W,  // (n_vocab, n_embd)
    pub output_norm: W, // (n_embd)
    /// (n_embd) Phi-2's LayerNorm bias.
    pub output_norm_b: Option<W>,
    /// (n_vocab, n_embd); None when tied to `token_embd`.
    pub output: Option<W>,
    /// (n_vocab) Phi-2.
    pub output_b: Option<W>,
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

/// One tensor to load: what the backend is told about it and where its bytes are in the file.
#[derive(Debug, Clone)]
pub struct PlannedTensor {
    pub desc: WeightDesc,
    /// Absolute byte range in the file.
    pub range: Range<u64>,
}

/// Checks every declared tensor against the header (shape, type, byte range) before any byte is
/// read, numbering them in declaration order.
struct Planner<'a> {
    gguf: &'a Gguf,
    tensors: Vec<PlannedTensor>,
}

impl Planner<'_> {
    /// A tensor that must exist with ggml dims `[cols, rows]` (or `[cols]` when rows == 1).
    fn required(&mut self, name: &str, rows: usize, cols: usize) -> Result<usize, ModelError> {
        self.optional(name, rows, cols)?
            .ok_or_else(|| ModelError::MissingTensor(name.to_string()))
    }

    fn optional(
        &mut self,
        name: &str,
        rows: usize,
        cols: usize,
    ) -> Result<Option<usize>, ModelError> {
        Ok(self
            .optional_split(name, &[("", rows)], cols)?
            .map(|parts| parts[0]))
    }

    /// A 3-D tensor of ggml dims `[cols, rows, n_expert]` (a layer's experts), declared as one
    /// weight of `n_expert·rows` rows.
    fn required_experts(
        &mut self,
        name: &str,
        n_expert: usize,
        rows: usize,
        cols: usize,
    ) -> Result<usize, ModelError> {
        let info = self
            .gguf
            .tensor(name)
            .ok_or_else(|| ModelError::MissingTensor(name.to_string()))?;
        let expected = [cols as u64, rows as u64, n_expert as u64];
        // A trailing 1 is the same shape; one expert may be stored as [cols, rows].
        let mut found = info.dims.clone();
        while found.len() < 3 {
            found.push(1);
        }
        while found.len() > 3 && found.last() == Some(&1) {
            found.pop();
        }
        if found != expected {
            return Err(ModelError::BadTensor {
                name: name.to_string(),
                problem: format!("expected shape {expected:?}, found {:?}", info.dims),
            });
        }
        // The stacked experts are checked (type, whole blocks, byte size) as a 2-D tensor.
        let stacked = n_expert * rows;
        let (ty, _) = self.checked_rows(name, info, stacked, cols)?;
        let range = self.gguf.tensor_range(info)?;
        self.tensors.push(PlannedTensor {
            desc: WeightDesc {
                name: name.to_string(),
                ty,
                cols,
                rows: stacked,
            },
            range,
        });
        Ok(self.tensors.len() - 1)
    }

    /// A vector of ggml dims `[Σ len]` declared as consecutive element ranges, one weight each
    /// (Phi-2's stacked q|k|v bias).
    fn optional_vector_split(
        &mut self,
        name: &str,
        parts: &[(&str, usize)],
    ) -> Result<Option<Vec<usize>>, ModelError> {
        let Some(info) = self.gguf.tensor(name) else {
            return Ok(None);
        };
        let ty = GgmlType::from_id(info.ggml_type);
        if ty != Some(GgmlType::F32) {
            return Err(ModelError::BadTensor {
                name: name.to_string(),
                problem: "a stacked bias must be F32".into(),
            });
        }
        // Each part is then a `[len]` vector: the whole, split by its byte ranges.
        let len: usize = parts.iter().map(|(_, n)| n).sum();
        let whole = self
            .optional(name, 1, len)?
            .expect("present: checked above");
        let planned = self.tensors.pop().expect("just planned");
        debug_assert_eq!(whole, self.tensors.len());
        let mut start = planned.range.start;
        let mut ids = Vec::with_capacity(parts.len());
        for &(label, n) in parts {
            let end = start + 4 * n as u64;
            self.tensors.push(PlannedTensor {
                desc: WeightDesc {
                    name: format!("{name}[{label}]"),
                    ty: GgmlType::F32,
                    cols: n,
                    rows: 1,
                },
                range: start..end,
            });
            ids.push(self.tensors.len() - 1);
            start = end;
        }
        Ok(Some(ids))
    }

    /// A tensor of ggml dims `[cols, Σ rows]` declared as consecutive row blocks, one weight
    /// each (`parts`: a label and a row count). Rows are contiguous in every ggml type, so a
    /// block's byte range is a valid tensor of the same type. A single part with an empty label
    /// is the tensor itself.
    fn optional_split(
        &mut self,
        name: &str,
        parts: &[(&str, usize)],
        cols: usize,
    ) -> Result<Option<Vec<usize>>, ModelError> {
        let Some(info) = self.gguf.tensor(name) else {
            return Ok(None);
        };
        let bad = |problem: String| ModelError::BadTensor {
            name: name.to_string(),
            problem,
        };
        let rows: usize = parts.iter().map(|(_, r)| r).sum();
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
        let (ty, row_bytes) = self.checked_rows(name, info, rows, cols)?;
        let range = self.gguf.tensor_range(info)?;
        let mut start = range.start;
        let mut ids = Vec::with_capacity(parts.len());
        for &(label, part_rows) in parts {
            let end = start + row_bytes * part_rows as u64;
            self.tensors.push(PlannedTensor {
                desc: WeightDesc {
                    name: if label.is_empty() {
                        name.to_string()
                    } else {
                        format!("{name}[{label}]")
                    },
                    ty,
                    cols,
                    rows: part_rows,
                },
                range: start..end,
            });
            ids.push(self.tensors.len() - 1);
            start = end;
        }
        Ok(Some(ids))
    }
}

impl Planner<'_> {
    /// Checks that `info` holds `rows` rows of `cols` elements of a supported type, whole
    /// blocks each; returns the type and the bytes per row.
    fn checked_rows(
        &self,
        name: &str,
        info: &gguf::TensorInfo,
        rows: usize,
        cols: usize,
    ) -> Result<(GgmlType, u64), ModelError> {
        let bad = |problem: String| ModelError::BadTensor {
            name: name.to_string(),
            problem,
        };
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
        let row_bytes = ty.row_bytes(cols).map_err(|e| bad(e.to_string()))? as u64;
        if range.end - range.start != row_bytes * rows as u64 {
            return Err(bad(format!(
                "{} bytes for {rows} rows of {row_bytes}",
                range.end - range.start
            )));
        }
        Ok((ty, row_bytes))
    }
}

/// Declares every tensor of a llama-family model: the layout refers to tensors by their index in
/// the returned list.
pub fn plan_weights(
    gguf: &Gguf,
    cfg: &Config,
) -> Result<(Weights<usize>, Vec<PlannedTensor>), ModelError> {
    use layer_names::*;
    let mut p = Planner {
        gguf,
        tensors: Vec::new(),
    };
    let (d, q, kv, ff) = (cfg.n_embd, cfg.q_dim(), cfg.kv_dim(), cfg.n_ff);

    let token_embd = p.required(TOKEN_EMBD, cfg.n_vocab, d)?;
    let output_norm = p.required(OUTPUT_NORM, 1, d)?;
    let phi2 = cfg.parallel_block;
    // A LayerNorm's bias where the architecture has one (then required), else not read.
    let bias_if = |p: &mut Planner, name: &str, len: usize| -> Result<Option<usize>, ModelError> {
        if phi2 {
            p.required(name, 1, len).map(Some)
        } else {
            Ok(None)
        }
    };
    let output_norm_b = bias_if(&mut p, OUTPUT_NORM_BIAS, d)?;
    // Gemma and Gemma 2 always tie the head to token_embd; llama.cpp does not read an
    // output.weight there (and refuses a file with a tensor it did not read), so neither do we.
    let output = if matches!(cfg.arch, Arch::Gemma | Arch::Gemma2) {
        if gguf.tensor(OUTPUT).is_some() {
            return Err(ModelError::BadTensor {
                name: OUTPUT.into(),
                problem: format!(
                    "{} ties its output head to {TOKEN_EMBD}; this tensor is not expected",
                    cfg.arch.name()
                ),
            });
        }
        None
    } else {
        p.optional(OUTPUT, cfg.n_vocab, d)?
    };
    // Phi-2's head has a bias (llama.cpp requires it). Elsewhere (Qwen 2 may carry one)
    // llama.cpp's graphs do not add it, so a file that has one is refused rather than run
    // with a different head than its authors meant.
    let output_b = bias_if(&mut p, OUTPUT_BIAS, cfg.n_vocab)?;
    if phi2 && output.is_none() {
        return Err(ModelError::MissingTensor(OUTPUT.into()));
    }
    if !phi2 && gguf.tensor(OUTPUT_BIAS).is_some() {
        return Err(ModelError::BadTensor {
            name: OUTPUT_BIAS.into(),
            problem: "an output bias is not supported".into(),
        });
    }
    let mut rope_freqs = p.optional(ROPE_FREQS, 1, cfg.n_rot / 2)?;
    if rope_freqs.is_none() && cfg.arch == Arch::Phi3 {
        // llama.cpp's get_rope_factors: rope_freqs if present, else long when the context
        // exceeds n_ctx_orig (cfg.rope_factors_long), else short; only the one used is loaded.
        let name = if cfg.rope_factors_long {
            ROPE_FACTORS_LONG
        } else {
            ROPE_FACTORS_SHORT
        };
        rope_freqs = p.optional(name, 1, cfg.n_rot / 2)?;
    }

    let mut layers = Vec::with_capacity(cfg.n_layer);
    for i in 0..cfg.n_layer {
        let n = |suffix: &str| format!("blk.{i}.{suffix}");
        // A norm the architecture's flag asks for (then it must exist), else not read at all.
        let norm_if = |p: &mut Planner,
                       wanted: bool,
                       suffix: &str,
                       len: usize|
         -> Result<Option<usize>, ModelError> {
            if wanted {
                p.required(&n(suffix), 1, len).map(Some)
            } else {
                Ok(None)
            }
        };
        let attn_norm = p.required(&n(ATTN_NORM), 1, d)?;
        let attn_norm_b = bias_if(&mut p, &n(ATTN_NORM_BIAS), d)?;
        // Phi-3's fused q/k/v, split by rows; separate tensors otherwise (or when absent).
        let (wq, wk, wv) =
            match p.optional_split(&n(ATTN_QKV), &[("q", q), ("k", kv), ("v", kv)], d)? {
                Some(qkv) => (qkv[0], qkv[1], qkv[2]),
                None => (
                    p.required(&n(ATTN_Q), q, d)?,
                    p.required(&n(ATTN_K), kv, d)?,
                    p.required(&n(ATTN_V), kv, d)?,
                ),
            };
        // Phi-2 stacks the q, k and v biases as it stacks their weights.
        let (bq, bk, bv) =
            match p.optional_vector_split(&n(ATTN_QKV_BIAS), &[("q", q), ("k", kv), ("v", kv)])? {
                Some(b) => (Some(b[0]), Some(b[1]), Some(b[2])),
                None => (
                    p.optional(&n(ATTN_Q_BIAS), 1, q)?,
                    p.optional(&n(ATTN_K_BIAS), 1, kv)?,
                    p.optional(&n(ATTN_V_BIAS), 1, kv)?,
                ),
            };
        // Phi-3 has no ffn_gate: its ffn_up holds 2·n_ff rows, gate then up (llama.cpp's
        // LLM_FFN_SWIGLU on one matmul: ggml_swiglu applies SiLU to the first half). Phi-2's
        // FFN is ungated.
        // Mixtral-style layers have a router and experts instead of the dense FFN (llama.cpp
        // then reads no ffn_gate/ffn_up/ffn_down, and neither do we).
        let moe = match cfg.moe {
            Some(m) => Some(MoeWeights {
                gate_inp: p.required(&n(FFN_GATE_INP), m.n_expert, d)?,
                gate_exps: p.required_experts(&n(FFN_GATE_EXPS), m.n_expert, ff, d)?,
                up_exps: p.required_experts(&n(FFN_UP_EXPS), m.n_expert, ff, d)?,
                down_exps: p.required_experts(&n(FFN_DOWN_EXPS), m.n_expert, d, ff)?,
                shared: match m.n_ff_shared {
                    Some(sh) => Some(SharedExpert {
                        gate_inp: p.required(&n(FFN_GATE_INP_SHEXP), 1, d)?,
                        gate: p.required(&n(FFN_GATE_SHEXP), sh, d)?,
                        up: p.required(&n(FFN_UP_SHEXP), sh, d)?,
                        down: p.required(&n(FFN_DOWN_SHEXP), d, sh)?,
                    }),
                    None => None,
                },
            }),
            None => None,
        };
        let (ffn_gate, ffn_up) = if moe.is_some() {
            (None, None)
        } else if phi2 {
            (None, Some(p.required(&n(FFN_UP), ff, d)?))
        } else if cfg.arch == Arch::Phi3 && gguf.tensor(&n(FFN_GATE)).is_none() {
            let fused = p.optional_split(&n(FFN_UP), &[("gate", ff), ("up", ff)], d)?;
            let fused = fused.ok_or_else(|| ModelError::MissingTensor(n(FFN_UP)))?;
            (Some(fused[0]), Some(fused[1]))
        } else {
            (
                Some(p.required(&n(FFN_GATE), ff, d)?),
                Some(p.required(&n(FFN_UP), ff, d)?),
            )
        };
        let ffn_down = match moe {
            Some(_) => None,
            None => Some(p.required(&n(FFN_DOWN), d, ff)?),
        };
        layers.push(LayerWeights {
            attn_norm,
            attn_norm_b,
            wq,
            wk,
            wv,
            bq,
            bk,
            bv,
            wo: p.required(&n(ATTN_OUTPUT), d, q)?,
            bo: bias_if(&mut p, &n(ATTN_OUTPUT_BIAS), d)?,
            q_norm: norm_if(&mut p, cfg.qk_norm, ATTN_Q_NORM, cfg.head_dim)?,
            k_norm: norm_if(&mut p, cfg.qk_norm, ATTN_K_NORM, cfg.head_dim)?,
            attn_post_norm: norm_if(&mut p, cfg.post_norms, ATTN_POST_NORM, d)?,
            ffn_norm: norm_if(&mut p, !phi2, FFN_NORM, d)?,
            ffn_gate,
            ffn_up,
            ffn_up_b: bias_if(&mut p, &n(FFN_UP_BIAS), ff)?,
            ffn_down,
            ffn_down_b: bias_if(&mut p, &n(FFN_DOWN_BIAS), d)?,
            ffn_post_norm: norm_if(&mut p, cfg.post_norms, FFN_POST_NORM, d)?,
            moe,
        });
    }
    let layout = Weights {
        token_embd,
        output_norm,
        output_norm_b,
        output,
        output_b,
        rope_freqs,
        layers,
    };
    Ok((layout, p.tensors))
}

impl<W> LayerWeights<W> {
    fn map<V>(self, f: &mut impl FnMut(W) -> V) -> LayerWeights<V> {
        LayerWeights {
            attn_norm: f(self.attn_norm),
            attn_norm_b: self.attn_norm_b.map(&mut *f),
            wq: f(self.wq),
            wk: f(self.wk),
            wv: f(self.wv),
            bq: self.bq.map(&mut *f),
            bk: self.bk.map(&mut *f),
            bv: self.bv.map(&mut *f),
            wo: f(self.wo),
            bo: self.bo.map(&mut *f),
            q_norm: self.q_norm.map(&mut *f),
            k_norm: self.k_norm.map(&mut *f),
            attn_post_norm: self.attn_post_norm.map(&mut *f),
            ffn_norm: self.ffn_norm.map(&mut *f),
            ffn_gate: self.ffn_gate.map(&mut *f),
            ffn_up: self.ffn_up.map(&mut *f),
            ffn_up_b: self.ffn_up_b.map(&mut *f),
            ffn_down: self.ffn_down.map(&mut *f),
            ffn_down_b: self.ffn_down_b.map(&mut *f),
            ffn_post_norm: self.ffn_post_norm.map(&mut *f),
            moe: self.moe.map(|m| MoeWeights {
                gate_inp: f(m.gate_inp),
                gate_exps: f(m.gate_exps),
                up_exps: f(m.up_exps),
                down_exps: f(m.down_exps),
                shared: m.shared.map(|sh| SharedExpert {
                    gate_inp: f(sh.gate_inp),
                    gate: f(sh.gate),
                    up: f(sh.up),
                    down: f(sh.down),
                }),
            }),
        }
    }
}

impl<W> Weights<W> {
    fn map<V>(self, mut f: impl FnMut(W) -> V) -> Weights<V> {
        Weights {
            token_embd: f(self.token_embd),
            output_norm: f(self.output_norm),
            output_norm_b: self.output_norm_b.map(&mut f),
            output: self.output.map(&mut f),
            output_b: self.output_b.map(&mut f),
            rope_freqs: self.rope_freqs.map(&mut f),
            layers: self.layers.into_iter().map(|l| l.map(&mut f)).collect(),
        }
    }
}

/// Loads planned tensors push-style, in ascending file order (so a browser can stream the file
/// front to back): the caller asks for the next range, reads it however it can and hands it over.
pub struct WeightLoader<W> {
    layout: Weights<usize>,
    tensors: Vec<PlannedTensor>,
    loaded: Vec<Option<W>>,
    /// Indices into `tensors`, sorted by file offset.
    order: Vec<usize>,
    next: usize,
    loaded_bytes: u64,
}

impl<W> WeightLoader<W> {
    pub fn new(gguf: &Gguf, cfg: &Config) -> Result<Self, ModelError> {
        let (layout, tensors) = plan_weights(gguf, cfg)?;
        let mut order: Vec<usize> = (0..tensors.len()).collect();
        order.sort_by_key(|&i| tensors[i].range.start);
        Ok(WeightLoader {
            layout,
            loaded: tensors.iter().map(|_| None).collect(),
            tensors,
            order,
            next: 0,
            loaded_bytes: 0,
        })
    }

    /// The tensor whose bytes are wanted next, or None when all are loaded.
    pub fn next_tensor(&self) -> Option<&PlannedTensor> {
        self.order.get(self.next).map(|&i| &self.tensors[i])
    }

    /// Hands the next tensor's bytes to the backend.
    pub fn load_next<B: Backend<Weight = W>>(
        &mut self,
        backend: &mut B,
        bytes: &[u8],
    ) -> Result<(), ModelError> {
        if let Some(t) = self.next_tensor() {
            let len = t.range.end - t.range.start;
            if bytes.len() as u64 != len {
                return Err(ModelError::BadTensor {
                    name: t.desc.name.clone(),
                    problem: format!("expected {len} bytes, got {}", bytes.len()),
                });
            }
        }
        // (load_next_with reports a call after the last tensor)
        self.load_next_with(backend, |b, desc, _| b.load_weight(desc, bytes))
    }

    /// `load_next` where `make` builds the backend's weight from the tensor's description and
    /// byte length, fetching the bytes itself (the browser's WebGPU upload copies them piece by
    /// piece, so a tensor never sits whole in the wasm heap).
    pub fn load_next_with<B: Backend<Weight = W>>(
        &mut self,
        backend: &mut B,
        make: impl FnOnce(&mut B, &WeightDesc, usize) -> Result<W, B::Error>,
    ) -> Result<(), ModelError> {
        let Some(&i) = self.order.get(self.next) else {
            return Err(ModelError::BadConfig(
                "all tensors are already loaded".into(),
            ));
        };
        let t = &self.tensors[i];
        let len = t.range.end - t.range.start;
        let weight = make(backend, &t.desc, len as usize).map_err(ModelError::backend)?;
        self.loaded[i] = Some(weight);
        self.loaded_bytes += len;
        self.next += 1;
        Ok(())
    }

    pub fn total_bytes(&self) -> u64 {
        self.tensors
            .iter()
            .map(|t| t.range.end - t.range.start)
            .sum()
    }

    pub fn loaded_bytes(&self) -> u64 {
        self.loaded_bytes
    }

    /// The weights, once every tensor is loaded.
    pub fn finish(self) -> Result<Weights<W>, ModelError> {
        if let Some(t) = self.next_tensor() {
            return Err(ModelError::BadTensor {
                name: t.desc.name.clone(),
                problem: "not loaded yet".into(),
            });
        }
        let mut loaded = self.loaded;
        // Every index in the layout was loaded (checked above), and each appears once.
        Ok(self
            .layout
            .map(|i| loaded[i].take().expect("tensor loaded once")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gguf::{GgufWriter, Value};

    /// A one-layer mixtral-style llama header (32 wide, 2 heads, 2 experts of FFN 64, 1 used)
    /// with F32 tensors of the given dims; `skip` leaves one out.
    fn moe_file(exps_dims: &[u64], skip: &str) -> Gguf {
        let mut w = GgufWriter::new();
        w.add("general.architecture", Value::String("llama".into()));
        for (k, v) in [
            ("embedding_length", 32),
            ("block_count", 1),
            ("attention.head_count", 2),
            ("feed_forward_length", 64),
            ("vocab_size", 8),
            ("expert_count", 2),
            ("expert_used_count", 1),
        ] {
            w.add(format!("llama.{k}"), Value::U32(v));
        }
        w.add("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5));
        let tensors: [(&str, &[u64]); 12] = [
            ("token_embd.weight", &[32, 8]),
            ("output_norm.weight", &[32]),
            ("blk.0.attn_norm.weight", &[32]),
            ("blk.0.attn_q.weight", &[32, 32]),
            ("blk.0.attn_k.weight", &[32, 32]),
            ("blk.0.attn_v.weight", &[32, 32]),
            ("blk.0.attn_output.weight", &[32, 32]),
            ("blk.0.ffn_norm.weight", &[32]),
            ("blk.0.ffn_gate_inp.weight", &[32, 2]),
            ("blk.0.ffn_gate_exps.weight", &[32, 64, 2]),
            ("blk.0.ffn_up_exps.weight", exps_dims),
            ("blk.0.ffn_down_exps.weight", &[64, 32, 2]),
        ];
        for (name, dims) in tensors.iter().filter(|(n, _)| *n != skip) {
            let n: u64 = dims.iter().product();
            w.add_tensor(*name, dims, 0, vec![0; 4 * n as usize]);
        }
        gguf::parse_header(&w.finish()).unwrap()
    }

    #[test]
    fn expert_tensors_are_planned_as_stacked_rows_and_checked() {
        let g = moe_file(&[32, 64, 2], "");
        let cfg = Config::from_gguf(&g).unwrap();
        let (layout, tensors) = plan_weights(&g, &cfg).unwrap();
        let moe = layout.layers[0].moe.as_ref().unwrap();
        let up = &tensors[moe.up_exps].desc;
        assert_eq!((up.rows, up.cols), (2 * 64, 32));
        let down = &tensors[moe.down_exps].desc;
        assert_eq!((down.rows, down.cols), (2 * 32, 64));
        assert!(layout.layers[0].ffn_up.is_none() && layout.layers[0].ffn_down.is_none());

        // a wrong expert count, or a 2-D tensor where the experts belong, names the tensor
        for dims in [&[32, 64, 3][..], &[32, 128]] {
            let g = moe_file(dims, "");
            let e = plan_weights(&g, &cfg).err().unwrap();
            assert!(
                e.to_string().contains("blk.0.ffn_up_exps.weight"),
                "{dims:?}: {e}"
            );
        }
        let g = moe_file(&[32, 64, 2], "blk.0.ffn_gate_inp.weight");
        let e = plan_weights(&g, &cfg).err().unwrap();
        assert!(e.to_string().contains("ffn_gate_inp"), "{e}");
    }
}
