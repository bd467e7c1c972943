//! The CPU backend: weights stay quantized in memory and are dotted against activations
//! quantized on the fly to each format's `vec_dot_type`, as ggml's CPU backend does, so results
//! track llama.cpp's closely. The KV cache is f16 (llama.cpp's default cache type).

mod attention;
mod buffers;
mod matmul;
mod moe;
mod ops;
mod plan;
mod pool;
mod q4k_x8;

use model::backend::{AttentionParams, Backend, GatedActivation, RopeParams, WeightDesc};
use quant::GgmlType;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CpuError {
    #[error("weight '{name}': {problem}")]
    BadWeight { name: String, problem: String },
    #[error("{0}")]
    Quant(#[from] quant::QuantError),
    #[error("shape mismatch in {op}: {detail}")]
    Shape { op: &'static str, detail: String },
    #[error("KV cache: {0}")]
    Cache(String),
    #[error("a CPU worker thread panicked (a bug in wasm-chord; please report it)")]
    WorkerPanicked,
}

/// Activations: `rows × cols` f32, row-major (one row per token). The buffer goes back to
/// [`buffers`] when the tensor is dropped.
#[derive(Debug)]
pub struct Tensor {
    pub data: Vec<f32>,
    pub rows: usize,
    pub cols: usize,
}

impl Drop for Tensor {
    fn drop(&mut self) {
        buffers::give(std::mem::take(&mut self.data));
    }
}

impl Clone for Tensor {
    fn clone(&self) -> Self {
        let mut t = Tensor::zeros(self.rows, self.cols);
        t.data.copy_from_slice(&self.data);
        t
    }
}

impl Tensor {
    fn zeros(rows: usize, cols: usize) -> Self {
        Tensor {
            data: buffers::take(rows * cols),
            rows,
            cols,
        }
    }
    fn row(&self, r: usize) -> &[f32] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }
}

/// A weight as stored in the file: `rows` rows of `cols` elements of `ty`.
pub struct Weight {
    pub ty: GgmlType,
    pub rows: usize,
    pub cols: usize,
    /// Raw ggml blocks, `rows * row_bytes` bytes: row by row, or in groups of eight rows
    /// interleaved when `q4k_x8` is set.
    bytes: Vec<u8>,
    row_bytes: usize,
    /// Q4_K weights whose row count is a multiple of 8 are interleaved at load where this CPU
    /// has the kernels for that layout (`quant::simd::q4k_x8`); these are they.
    q4k_x8: Option<q4k_x8::Kernels>,
    /// Vectors (norm weights, biases, rope factors) are kept dequantized too: they are used
    /// element-wise, and are small.
    f32_values: Option<Vec<f32>>,
}

impl Weight {
    /// Row `r` dequantized into `out` (`cols` floats), from either layout.
    fn dequantize_row_into(&self, r: usize, out: &mut [f32]) -> Result<(), CpuError> {
        if self.q4k_x8.is_none() {
            return Ok(quant::dequantize_row(self.ty, self.row_bytes(r), out)?);
        }
        let gb = q4k_x8::group_bytes(self.cols);
        let g = r / q4k_x8::ROWS;
        let group: &[quant::simd::q4k_x8::BlockQ4Kx8] =
            bytemuck::cast_slice(&self.bytes[g * gb..(g + 1) * gb]);
        for (x, out) in group.iter().zip(out.chunks_exact_mut(quant::QK_K)) {
            let block = q4k_x8::block_of_row(x, r % q4k_x8::ROWS);
            quant::dequantize_row(self.ty, bytemuck::bytes_of(&block), out)?;
        }
        Ok(())
    }
    fn row_bytes(&self, r: usize) -> &[u8] {
        &self.bytes[r * self.row_bytes..(r + 1) * self.row_bytes]
    }
    fn vector(&self, op: &'static str) -> Result<&[f32], CpuError> {
        self.f32_values.as_deref().ok_or_else(|| CpuError::Shape {
            op,
            detail: format!("expected a vector weight, got {}×{}", self.rows, self.cols),
        })
    }
}

/// Per-layer f16 keys and values: `(n_ctx, kv_dim)` each.
struct KvCache {
    n_ctx: usize,
    kv_dim: usize,
    k: Vec<Vec<half::f16>>,
    v: Vec<Vec<half::f16>>,
}

pub struct CpuBackend {
    n_threads: usize,
    pool: pool::Pool,
    cache: Option<KvCache>,
    scratch: matmul::Scratch,
    /// Where the forward pass is relative to the last layer's attention (see `matmul`).
    last_layer: LastLayer,
    /// cos/sin tables of recent rope calls (every layer ropes the same positions).
    rope_tables: ops::RopeTables,
}

/// llama.cpp drops every row but the output row right after the last layer's attention output
/// projection, so the feed-forward matmuls of that layer run on one row there — with one-row
/// kernels, whose float order differs from the batched ones. We keep computing all rows (the
/// `Backend` contract), but give the last row the one-row kernel there, so the logits match.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LastLayer {
    /// Not yet at the last layer's attention.
    Before,
    /// Its attention has run; the next matmul is the output projection, still batched.
    AttentionDone,
    /// After the output projection: matmuls compute the last row alone.
    FeedForward,
}

impl CpuBackend {
    /// `n_threads` 0 = one per available core.
    pub fn new(n_threads: usize) -> Self {
        let n = if n_threads == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        } else {
            n_threads
        };
        CpuBackend {
            n_threads: n,
            pool: pool::Pool::new(n),
            cache: None,
            scratch: matmul::Scratch::default(),
            last_layer: LastLayer::Before,
            rope_tables: ops::RopeTables::default(),
        }
    }

    pub fn n_threads(&self) -> usize {
        self.n_threads
    }

    fn cache(&mut self) -> Result<&mut KvCache, CpuError> {
        self.cache
            .as_mut()
            .ok_or_else(|| CpuError::Cache("not initialised".into()))
    }
}

/// Elements per task for a row-wise op over `len` elements in rows of `row`: whole rows, about
/// two tasks per thread, and one task (inline) below 64 Ki elements, where starting helpers
/// would cost more than it saves.
fn elementwise_chunk(len: usize, row: usize, threads: usize) -> usize {
    if threads <= 1 || len < 1 << 16 || row == 0 {
        return len.max(1);
    }
    let rows = len / row;
    rows.div_ceil(threads * 2).max(1) * row
}

fn same_shape(op: &'static str, a: &Tensor, b: &Tensor) -> Result<(), CpuError> {
    if a.rows != b.rows || a.cols != b.cols {
        return Err(CpuError::Shape {
            op,
            detail: format!("{}×{} vs {}×{}", a.rows, a.cols, b.rows, b.cols),
        });
    }
    Ok(())
}

impl Backend for CpuBackend {
    type Tensor = Tensor;
    type Weight = Weight;
    type Error = CpuError;

    fn load_weight(&mut self, desc: &WeightDesc, bytes: &[u8]) -> Result<Weight, CpuError> {
        let bad = |problem: String| CpuError::BadWeight {
            name: desc.name.clone(),
            problem,
        };
        let row_bytes = desc.row_bytes_checked(bytes.len()).map_err(bad)?;
        let f32_values = if desc.rows == 1 {
            let mut v = vec![0.0; desc.cols];
            quant::dequantize_row(desc.ty, bytes, &mut v)?;
            Some(v)
        } else {
            None
        };
        let q4k_x8 = (desc.ty == GgmlType::Q4_K && desc.rows % q4k_x8::ROWS == 0)
            .then(q4k_x8::Kernels::here)
            .flatten();
        let bytes = match q4k_x8 {
            Some(_) => q4k_x8::interleave_all(bytes, desc.rows, desc.cols),
            None => bytes.to_vec(),
        };
        Ok(Weight {
            ty: desc.ty,
            rows: desc.rows,
            cols: desc.cols,
            bytes,
            row_bytes,
            q4k_x8,
            f32_values,
        })
    }

    fn init_kv_cache(
        &mut self,
        n_layer: usize,
        n_ctx: usize,
        kv_dim: usize,
    ) -> Result<(), CpuError> {
        let size = n_ctx
            .checked_mul(kv_dim)
            .ok_or_else(|| CpuError::Cache("size overflows".into()))?;
        let zeros = || vec![half::f16::ZERO; size];
        self.cache = Some(KvCache {
            n_ctx,
            kv_dim,
            k: (0..n_layer).map(|_| zeros()).collect(),
            v: (0..n_layer).map(|_| zeros()).collect(),
        });
        Ok(())
    }

    fn embed(&mut self, table: &Weight, ids: &[u32]) -> Result<Tensor, CpuError> {
        self.last_layer = LastLayer::Before;
        let mut out = Tensor::zeros(ids.len(), table.cols);
        for (t, &id) in ids.iter().enumerate() {
            let id = id as usize;
            if id >= table.rows {
                return Err(CpuError::Shape {
                    op: "embed",
                    detail: format!("token id {id} ≥ {} rows", table.rows),
                });
            }
            table.dequantize_row_into(id, &mut out.data[t * table.cols..(t + 1) * table.cols])?;
        }
        Ok(out)
    }

    fn matmul(&mut self, w: &Weight, x: &Tensor) -> Result<Tensor, CpuError> {
        let last_row_alone = self.last_layer == LastLayer::FeedForward;
        if self.last_layer == LastLayer::AttentionDone {
            self.last_layer = LastLayer::FeedForward;
        }
        matmul::matmul(w, x, &self.pool, &mut self.scratch, last_row_alone)
    }

    fn add_bias(&mut self, x: &mut Tensor, bias: &Weight) -> Result<(), CpuError> {
        let b = bias.vector("add_bias")?;
        if b.len() != x.cols {
            return Err(CpuError::Shape {
                op: "add_bias",
                detail: format!("bias {} vs {} columns", b.len(), x.cols),
            });
        }
        for row in x.data.chunks_mut(x.cols) {
            row.iter_mut().zip(b).for_each(|(v, b)| *v += b);
        }
        Ok(())
    }

    fn rms_norm(
        &mut self,
        x: &Tensor,
        weight: &Weight,
        group: usize,
        eps: f32,
    ) -> Result<Tensor, CpuError> {
        let w = weight.vector("rms_norm")?;
        if group == 0 || w.len() != group || x.cols % group != 0 {
            return Err(CpuError::Shape {
                op: "rms_norm",
                detail: format!("weight {} / group {group} / row {}", w.len(), x.cols),
            });
        }
        let mut out = x.clone();
        // Prefill: rows in parallel (each row's result does not depend on the split).
        let chunk = elementwise_chunk(out.data.len(), group, self.pool.threads());
        self.pool.for_each_chunk(&mut out.data, chunk, &|_, rows| {
            rows.chunks_mut(group)
                .for_each(|g| ops::rms_norm(g, w, eps));
            Ok(())
        })?;
        Ok(out)
    }

    fn layer_norm(
        &mut self,
        x: &Tensor,
        weight: &Weight,
        bias: &Weight,
        group: usize,
        eps: f32,
    ) -> Result<Tensor, CpuError> {
        let (w, b) = (weight.vector("layer_norm")?, bias.vector("layer_norm")?);
        if group == 0 || w.len() != group || b.len() != group || !x.cols.is_multiple_of(group) {
            return Err(CpuError::Shape {
                op: "layer_norm",
                detail: format!(
                    "weight {} / bias {} / group {group} / row {}",
                    w.len(),
                    b.len(),
                    x.cols
                ),
            });
        }
        let mut out = x.clone();
        let chunk = elementwise_chunk(out.data.len(), group, self.pool.threads());
        self.pool.for_each_chunk(&mut out.data, chunk, &|_, rows| {
            rows.chunks_mut(group)
                .for_each(|g| ops::layer_norm(g, w, b, eps));
            Ok(())
        })?;
        Ok(out)
    }

    fn rope(
        &mut self,
        x: &mut Tensor,
        pos0: usize,
        p: &RopeParams,
        freq_factors: Option<&Weight>,
    ) -> Result<(), CpuError> {
        let ff = freq_factors.map(|w| w.vector("rope")).transpose()?;
        if p.head_dim == 0
            || x.cols % p.head_dim != 0
            || p.n_rot > p.head_dim
            || ff.is_some_and(|f| f.len() != p.n_rot / 2)
        {
            return Err(CpuError::Shape {
                op: "rope",
                detail: format!(
                    "row {} / head_dim {} / n_rot {}",
                    x.cols, p.head_dim, p.n_rot
                ),
            });
        }
        let cols = x.cols;
        let tables = &mut self.rope_tables;
        quant::float::with_hardware_fma(|| {
            let cos_sin = tables.get(pos0, x.rows, p, ff);
            for (row, cos_sin) in x.data.chunks_mut(cols).zip(cos_sin.chunks(p.n_rot.max(1))) {
                for head in row.chunks_mut(p.head_dim) {
                    ops::rope_apply(head, p, cos_sin);
                }
            }
        });
        Ok(())
    }

    fn scale(&mut self, x: &mut Tensor, s: f32) -> Result<(), CpuError> {
        x.data.iter_mut().for_each(|v| *v *= s);
        Ok(())
    }

    fn add(&mut self, a: &mut Tensor, b: &Tensor) -> Result<(), CpuError> {
        same_shape("add", a, b)?;
        a.data.iter_mut().zip(&b.data).for_each(|(a, b)| *a += b);
        Ok(())
    }

    fn div(&mut self, a: &mut Tensor, b: &Tensor) -> Result<(), CpuError> {
        same_shape("div", a, b)?;
        a.data.iter_mut().zip(&b.data).for_each(|(a, b)| *a /= b);
        Ok(())
    }

    fn activation(&mut self, x: &Tensor, act: GatedActivation) -> Result<Tensor, CpuError> {
        // GELU as ggml_vec_gelu_f32 (the gated kernel's table and cut-offs, without the product);
        // SiLU as ggml_vec_silu_f32 (the gated kernel's lanes; no architecture here has an
        // ungated SiLU). Chunks are whole rows, so a value's column is its index mod `cols`.
        let mut out = x.clone();
        let cols = x.cols;
        let chunk = elementwise_chunk(out.data.len(), cols, self.pool.threads());
        self.pool.for_each_chunk(&mut out.data, chunk, &|_, vals| {
            quant::float::with_hardware_fma(|| {
                for (i, v) in vals.iter_mut().enumerate() {
                    *v = match act {
                        GatedActivation::Silu => ops::silu_at(*v, i % cols, cols),
                        GatedActivation::Gelu => ops::gelu(*v),
                    };
                }
            });
            Ok(())
        })?;
        Ok(out)
    }

    fn gated_activation(
        &mut self,
        gate: &Tensor,
        up: &Tensor,
        act: GatedActivation,
    ) -> Result<Tensor, CpuError> {
        same_shape("gated_activation", gate, up)?;
        let mut out = Tensor::zeros(gate.rows, gate.cols);
        let cols = gate.cols;
        let chunk = elementwise_chunk(out.data.len(), cols, self.pool.threads());
        self.pool.for_each_chunk(&mut out.data, chunk, &|i, out| {
            let at = i * chunk..i * chunk + out.len();
            let vals = out.iter_mut().zip(&gate.data[at.clone()]).zip(&up.data[at]);
            quant::float::with_hardware_fma(|| {
                // chunks are whole rows: a value's column is its index mod `cols`
                for (c, ((o, &g), &u)) in vals.enumerate() {
                    *o = match act {
                        // ggml_vec_swiglu_f32: ggml_v_silu's lanes, the scalar SiLU for the tail
                        GatedActivation::Silu => ops::silu_at(g, c % cols, cols) * u,
                        // ggml_vec_geglu_f32 writes +0 below −10 (not gelu(x)·up, maybe −0)
                        GatedActivation::Gelu if g <= -10.0 => 0.0,
                        GatedActivation::Gelu => ops::gelu(g) * u,
                    };
                }
            });
            Ok(())
        })?;
        Ok(out)
    }

    fn store_kv(
        &mut self,
        layer: usize,
        pos0: usize,
        k: &Tensor,
        v: &Tensor,
    ) -> Result<(), CpuError> {
        same_shape("store_kv", k, v)?;
        let cache = self.cache()?;
        if k.cols != cache.kv_dim || pos0 + k.rows > cache.n_ctx || layer >= cache.k.len() {
            return Err(CpuError::Cache(format!(
                "cannot store {} rows of {} at position {pos0} in layer {layer}",
                k.rows, k.cols
            )));
        }
        let range = pos0 * cache.kv_dim..(pos0 + k.rows) * cache.kv_dim;
        for (dst, src) in [(&mut cache.k[layer], k), (&mut cache.v[layer], v)] {
            dst[range.clone()]
                .iter_mut()
                .zip(&src.data)
                .for_each(|(d, s)| *d = half::f16::from_f32(*s));
        }
        Ok(())
    }

    fn attention(&mut self, q: &Tensor, p: &AttentionParams) -> Result<Tensor, CpuError> {
        let n_layer = self.cache()?.k.len();
        self.last_layer = if p.layer + 1 == n_layer {
            LastLayer::AttentionDone
        } else {
            LastLayer::Before
        };
        let cache = self
            .cache
            .as_ref()
            .ok_or_else(|| CpuError::Cache("not initialised".into()))?;
        if q.cols != p.n_head * p.head_dim
            || p.n_head_kv == 0
            || p.n_head % p.n_head_kv != 0
            || p.n_head_kv * p.head_dim != cache.kv_dim
            || p.pos0 + q.rows > cache.n_ctx
        {
            return Err(CpuError::Shape {
                op: "attention",
                detail: format!(
                    "q {}×{} with {} heads of {} at {}",
                    q.rows, q.cols, p.n_head, p.head_dim, p.pos0
                ),
            });
        }
        let (k, v, pool) = (&cache.k[p.layer], &cache.v[p.layer], &self.pool);
        Ok(quant::float::with_hardware_fma(|| {
            attention::attention(q, k, v, cache.kv_dim, p, pool)
        }))
    }

    fn moe_route(
        &mut self,
        logits: &Tensor,
        k: usize,
        norm: bool,
    ) -> Result<(Tensor, Tensor), CpuError> {
        moe::route(logits, k, norm)
    }

    fn matmul_id(
        &mut self,
        w: &Weight,
        n_expert: usize,
        x: &Tensor,
        ids: &Tensor,
    ) -> Result<Tensor, CpuError> {
        // (the expert matmuls of the last layer come after its output projection: see
        // `LastLayer`)
        let last_row_alone = self.last_layer == LastLayer::FeedForward;
        moe::matmul_id(w, n_expert, x, ids, &self.pool, last_row_alone)
    }

    fn moe_combine(&mut self, y: &Tensor, weights: &Tensor) -> Result<Tensor, CpuError> {
        moe::combine(y, weights)
    }

    fn last_row(&mut self, x: &Tensor) -> Result<Tensor, CpuError> {
        let r = x.rows.checked_sub(1).ok_or(CpuError::Shape {
            op: "last_row",
            detail: "no rows".into(),
        })?;
        let mut out = Tensor::zeros(1, x.cols);
        out.data.copy_from_slice(x.row(r));
        Ok(out)
    }

    fn read(&mut self, x: &Tensor) -> Result<Vec<f32>, CpuError> {
        Ok(x.data.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Q4_K table of 16 rows is interleaved where the CPU has the kernels; looking rows up
    /// (a token embedding) gives the rows as stored either way.
    #[test]
    fn embedding_rows_of_an_interleaved_q4_k_table() {
        let (rows, cols) = (16, 512);
        let values: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        let ty = GgmlType::Q4_K;
        let mut bytes = vec![0u8; ty.row_bytes(cols).unwrap() * rows];
        quant::quantize_row(ty, &values, &mut bytes).unwrap();
        let desc = WeightDesc {
            name: "token_embd.weight".into(),
            ty,
            cols,
            rows,
        };
        let mut cpu = CpuBackend::new(1);
        let table = cpu.load_weight(&desc, &bytes).unwrap();
        assert_eq!(table.q4k_x8.is_some(), q4k_x8::Kernels::here().is_some());
        let ids = [0u32, 5, 8, 15];
        let got = cpu.embed(&table, &ids).unwrap();
        for (t, &id) in ids.iter().enumerate() {
            let rb = ty.row_bytes(cols).unwrap();
            let mut want = vec![0.0; cols];
            let row = &bytes[id as usize * rb..(id as usize + 1) * rb];
            quant::dequantize_row(ty, row, &mut want).unwrap();
            assert_eq!(&got.data[t * cols..(t + 1) * cols], &want[..], "row {id}");
        }
    }
}
