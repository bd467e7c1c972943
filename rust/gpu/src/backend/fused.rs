//! The fused steps of `Backend` on the GPU (see model::backend): what a decode step of one layer
//! costs in passes. With matvec_rows (real GPUs) a LLaMA layer is 6 passes — q|k|v projection
//! with the norm folded in, qkv_rope_store, attention, output projection + residual, gate|up
//! projection with the norm and the activation folded in, down projection + residual — where the
//! primitive ops took 16; Gemma adds its post-norms as two norm+add passes (8). Weights of one
//! input are read in one pass when `stack_weights` could put them side by side (same type);
//! otherwise each is its own pass into the same output tensor. Prompts (several rows) and the
//! software kernels keep separate norm passes but share the rest.

use super::{shape, Chunk, Fuse, GpuBackend, Res, Tensor, Weight};
use crate::{host, GpuError};
use model::backend::{AttnInput, FfnInput, RopeStyle};

/// A weight as a fused step reads it: one of the model's, or several of them that sit side by
/// side in one buffer, seen as one.
pub(super) enum Part<'w> {
    One(&'w Weight),
    Stacked(Weight),
}

impl Part<'_> {
    pub(super) fn weight(&self) -> &Weight {
        match self {
            Part::One(w) => w,
            Part::Stacked(w) => w,
        }
    }
}

/// Bytes of a single-chunk weight's rows.
fn rows_bytes(w: &Weight) -> u64 {
    (w.rows * w.row_bytes) as u64
}

/// Whether `b` follows `a` directly in the same buffer, so that the two read as one weight.
fn follows(a: &Weight, b: &Weight) -> bool {
    let (Some(ca), Some(cb)) = (single_chunk(a), single_chunk(b)) else {
        return false;
    };
    a.ty == b.ty
        && a.cols == b.cols
        && a.row_bytes == b.row_bytes
        && ca.buf == cb.buf
        && cb.offset == ca.offset + rows_bytes(a)
}

fn single_chunk(w: &Weight) -> Option<&Chunk> {
    match w.chunks.as_slice() {
        [c] => Some(c),
        _ => None,
    }
}

/// `ws` in order, runs of weights that follow each other merged into one, each with the column
/// (output row) its run starts at.
pub(super) fn parts<'w>(ws: &[&'w Weight]) -> Vec<(Part<'w>, usize)> {
    let mut out: Vec<(Vec<&'w Weight>, usize)> = Vec::new();
    let mut col = 0;
    for &w in ws {
        match out.last_mut() {
            Some((run, _)) if follows(run.last().expect("non-empty run"), w) => run.push(w),
            _ => out.push((vec![w], col)),
        }
        col += w.rows;
    }
    out.into_iter()
        .map(|(run, col)| {
            let part = if run.len() == 1 {
                Part::One(run[0])
            } else {
                let first = single_chunk(run[0]).expect("merged runs are single chunks");
                let rows = run.iter().map(|w| w.rows).sum();
                Part::Stacked(Weight {
                    ty: run[0].ty,
                    rows,
                    cols: run[0].cols,
                    row_bytes: run[0].row_bytes,
                    chunks: vec![Chunk {
                        buf: first.buf.clone(),
                        offset: first.offset,
                        row0: 0,
                        rows,
                    }],
                    vector: None,
                })
            };
            (part, col)
        })
        .collect()
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct QkvParams {
    head_dim: u32,
    n_rot: u32,
    n_head: u32,
    n_head_kv: u32,
    qkv_cols: u32,
    pos0: u32,
    flags: u32,
    eps: f32,
    q_scale: f32,
    _pad: [u32; 3],
}

/// qkv_rope_store.wgsl's flags.
const QKV_NEOX: u32 = 1;
const QKV_QK_NORM: u32 = 2;
const QKV_Q_SCALE: u32 = 4;

impl GpuBackend {
    /// `Backend::stack_weights`: copies the weights into one buffer, back to back in order, each
    /// then a view of its range, when they are of one type and row length, each in one chunk,
    /// and each range can be bound on its own (a multiple of the storage offset alignment).
    pub(super) fn stack(&mut self, ws: &mut [&mut Weight]) -> Result<(), GpuError> {
        let Some(first) = ws.first() else {
            return Ok(());
        };
        let align = self.gpu.device.limits().min_storage_buffer_offset_alignment as u64;
        let stackable = ws.len() > 1
            && ws.iter().all(|w| {
                w.ty == first.ty
                    && w.cols == first.cols
                    && w.vector.is_none()
                    && single_chunk(w).is_some()
                    && rows_bytes(w) % align == 0
            });
        let bytes: u64 = ws.iter().map(|w| rows_bytes(w)).sum::<u64>() + 4; // (layout's spare word)
        let cap = self
            .gpu
            .max_chunk_bytes()
            .min(self.chunk_limit.unwrap_or(u64::MAX))
            .min(u32::MAX as u64);
        if !stackable || bytes > cap {
            return Ok(());
        }
        self.gpu.check()?;
        let buf = self.gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("stacked weights"),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_DST
                | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let mut at = 0;
        for w in ws.iter() {
            let c = &w.chunks[0];
            let n = rows_bytes(w);
            self.encoder()
                .copy_buffer_to_buffer(&c.buf, c.offset, &buf, at, n);
            at += n;
        }
        self.flush();
        let mut at = 0;
        for w in ws.iter_mut() {
            // (the old buffer goes once the copy that reads it is done)
            w.chunks = vec![Chunk {
                buf: buf.clone(),
                offset: at,
                row0: 0,
                rows: w.rows,
            }];
            at += rows_bytes(w);
        }
        Ok(())
    }

    /// `out[:, col ..] = [rms_norm(x)·norm] · wᵀ` for each of `ws` (at its column), the norm
    /// folded into matvec_rows where every part runs on it, else one norm pass first.
    fn normed_products(
        &mut self,
        x: &Tensor,
        (norm, group, eps): (&Weight, usize, f32),
        ws: &[&Weight],
        out: &Tensor,
    ) -> Result<(), GpuError> {
        for w in ws {
            self.check_product("fused matmul", w, x)?;
        }
        let parts = parts(ws);
        if group == x.cols && parts.iter().all(|(p, _)| self.fusable(p.weight(), x)) {
            let g = Self::norm_vector(norm, group, x.cols)?.clone();
            let fuse = Fuse {
                norm: Some((&g, eps)),
                ..Fuse::NONE
            };
            for (p, col) in &parts {
                self.product(p.weight(), x, out, *col, &fuse)?;
            }
        } else {
            let h = self.alloc(x.rows, x.cols);
            self.norm_into(x, norm, group, eps, &h, false)?;
            for (p, col) in &parts {
                self.product(p.weight(), &h, out, *col, &Fuse::NONE)?;
            }
        }
        Ok(())
    }

    /// `Backend::attention_input`: the q|k|v projection into one tensor, then qkv_rope_store.
    pub(super) fn fused_attention_input(
        &mut self,
        x: &Tensor,
        a: &AttnInput<'_, Weight>,
    ) -> Result<Tensor, GpuError> {
        if a.bq.is_some() || a.bk.is_some() || a.bv.is_some() {
            // (no architecture we load has q/k/v biases yet: Qwen2 will fold them in here)
            return model::compose::attention_input(self, x, a, &mut model::forward::Tracer::off());
        }
        let (hd, q_dim, kv_dim) = (a.rope.head_dim, a.wq.rows, a.wk.rows);
        let p = &a.rope;
        if hd == 0
            || hd > 256
            || hd % 2 != 0
            || q_dim % hd != 0
            || kv_dim % hd != 0
            || a.wv.rows != kv_dim
            || p.n_rot > hd
            || p.n_rot % 2 != 0
        {
            return Err(shape(
                "attention_input",
                format!(
                    "q {q_dim}, k {kv_dim}, v {}, head_dim {hd}, n_rot {}",
                    a.wv.rows, p.n_rot
                ),
            ));
        }
        let cache = self
            .cache
            .as_ref()
            .ok_or_else(|| GpuError::Cache("not initialised".into()))?;
        if kv_dim != cache.kv_dim || a.pos0 + x.rows > cache.n_ctx || a.layer >= cache.k.len() {
            return Err(GpuError::Cache(format!(
                "cannot store {} rows of {kv_dim} at position {} in layer {}",
                x.rows, a.pos0, a.layer
            )));
        }
        let (kc, vc) = (cache.k[a.layer].clone(), cache.v[a.layer].clone());
        let qkv = self.alloc(x.rows, q_dim + 2 * kv_dim);
        self.normed_products(x, (a.norm, a.n_embd, a.eps), &[a.wq, a.wk, a.wv], &qkv)?;
        let q = self.alloc(x.rows, q_dim);
        if x.rows == 0 {
            return Ok(q);
        }
        let cs = self.rope_table(a.pos0, x.rows, p, a.rope_freqs)?;
        let table = self.gelu_table(); // (stands in for absent norm weights: never read)
        let (qn, kn) = match a.qk_norm {
            Some((qn, kn)) => (
                Self::norm_vector(qn, hd, q_dim)?.clone(),
                Self::norm_vector(kn, hd, kv_dim)?.clone(),
            ),
            None => (table.clone(), table.clone()),
        };
        let params = QkvParams {
            head_dim: hd as u32,
            n_rot: p.n_rot as u32,
            n_head: (q_dim / hd) as u32,
            n_head_kv: (kv_dim / hd) as u32,
            qkv_cols: qkv.cols as u32,
            pos0: a.pos0 as u32,
            flags: if p.style == RopeStyle::Neox {
                QKV_NEOX
            } else {
                0
            } | if a.qk_norm.is_some() { QKV_QK_NORM } else { 0 }
                | if a.q_scale.is_some() { QKV_Q_SCALE } else { 0 },
            eps: a.eps,
            q_scale: a.q_scale.unwrap_or(1.0),
            _pad: [0; 3],
        };
        self.dispatch_res(
            "qkv_rope_store",
            None,
            &[
                Res::Whole(qkv.buffer()),
                Res::Whole(q.buffer()),
                Res::Whole(&kc),
                Res::Whole(&vc),
                Res::Whole(&qn),
                Res::Whole(&kn),
                Res::Param(bytemuck::cast_slice(&cs)),
                Res::Param(bytemuck::bytes_of(&params)),
            ],
            ((q_dim / hd + 2 * kv_dim / hd) as u32, x.rows as u32, 1),
        )?;
        Ok(q)
    }

    /// `Backend::ffn_input`: one pass (norm, gate|up, activation) where the two weights are
    /// stacked and the row is a decode step's; else the projection into one (rows, 2·n_ff)
    /// tensor and gated_activation over its halves.
    pub(super) fn fused_ffn_input(
        &mut self,
        x: &Tensor,
        f: &FfnInput<'_, Weight>,
    ) -> Result<Tensor, GpuError> {
        let n_ff = f.gate.rows;
        if f.up.rows != n_ff {
            return Err(shape(
                "ffn_input",
                format!("gate {n_ff} rows, up {}", f.up.rows),
            ));
        }
        let parts = parts(&[f.gate, f.up]);
        if let [(stacked, _)] = parts.as_slice() {
            let w = stacked.weight();
            if f.n_embd == x.cols && self.fusable(w, x) {
                self.check_product("ffn_input", w, x)?;
                let g = Self::norm_vector(f.norm, f.n_embd, x.cols)?.clone();
                let out = self.alloc(1, n_ff);
                let fuse = Fuse {
                    norm: Some((&g, f.eps)),
                    glu: Some((f.act, n_ff)),
                    ..Fuse::NONE
                };
                self.product(w, x, &out, 0, &fuse)?;
                return Ok(out);
            }
        }
        let gu = self.alloc(x.rows, 2 * n_ff);
        self.normed_products(x, (f.norm, f.n_embd, f.eps), &[f.gate, f.up], &gu)?;
        self.gated_columns((&gu, 0), (&gu, n_ff), n_ff, f.act)
    }

    /// `Backend::matmul_add`: the add folded into matvec_rows on a decode step.
    pub(super) fn fused_matmul_add(
        &mut self,
        w: &Weight,
        x: &Tensor,
        acc: &mut Tensor,
    ) -> Result<(), GpuError> {
        self.check_product("matmul_add", w, x)?;
        if acc.rows != x.rows || acc.cols != w.rows {
            return Err(shape(
                "matmul_add",
                format!("{}×{} into {}×{}", x.rows, w.rows, acc.rows, acc.cols),
            ));
        }
        if self.fusable(w, x) {
            let fuse = Fuse {
                add: true,
                ..Fuse::NONE
            };
            return self.product(w, x, acc, 0, &fuse);
        }
        model::compose::matmul_add(self, w, x, acc)
    }

    /// `Backend::norm_matmul`: the norm folded into matvec_rows on a decode step.
    pub(super) fn fused_norm_matmul(
        &mut self,
        x: &Tensor,
        norm: &Weight,
        group: usize,
        eps: f32,
        w: &Weight,
    ) -> Result<Tensor, GpuError> {
        let out = self.alloc(x.rows, w.rows);
        self.normed_products(x, (norm, group, eps), &[w], &out)?;
        Ok(out)
    }

    /// cos/sin of every rotated pair for rows at positions pos0.. (host::rope_cos_sin), with the
    /// shapes checked.
    pub(super) fn rope_table(
        &self,
        pos0: usize,
        rows: usize,
        p: &model::backend::RopeParams,
        freq_factors: Option<&Weight>,
    ) -> Result<Vec<f32>, GpuError> {
        let ff = match freq_factors {
            Some(w) => Some(
                w.vector
                    .as_ref()
                    .map(|(_, v)| v.as_slice())
                    .ok_or_else(|| shape("rope", "freq factors are not a vector".into()))?,
            ),
            None => None,
        };
        if ff.is_some_and(|f| f.len() != p.n_rot / 2) {
            return Err(shape("rope", format!("freq factors for n_rot {}", p.n_rot)));
        }
        Ok(host::rope_cos_sin(pos0, rows, p, ff))
    }
}
