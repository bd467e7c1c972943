//! Causal grouped-query attention over the f16 KV cache, numerically mirroring ggml's CPU flash
//! attention (llama.cpp's default) as llama.cpp runs it, so that results are equal bit for bit:
//!
//! - the one-row kernel, below 64 query rows (decode, short prompts): per row, keys in order with
//!   an online softmax; q is rounded to f16 for q·k and the weighted sum of values is accumulated
//!   **in f16**. That rounding is visible in the logits, so we reproduce it.
//! - the split-KV path, for one query row once llama.cpp's cache view has 512 cells or more: the
//!   view is cut into one key range per thread, each runs the one-row kernel, and the partial
//!   results are merged. So from there the result depends on the thread count, as llama.cpp's.
//! - the tiled kernel, from 64 query rows (prefill): tiles of 64 cells, in f32 (q not rounded);
//!   scores by a fused GEMM, softmax with ggml's polynomial expf, renormalised once per tile;
//!   values accumulated with fused multiply-adds ([`quant::simd::tile`]).
//!
//! Every score is q·k times kq_scale, or with Gemma 2's softcap `cap·tanhf(q·k · (kq_scale/cap))`
//! ([`Scores`]), as ggml computes it in all three kernels, before the mask.
//!
//! All three walk the keys in the order of llama.cpp's cache *cells*. Our cache is indexed by
//! position; llama.cpp's is too, except in a sliding-window layer, whose cache (window + 512
//! cells, padded to 256) is reused round-robin once full: there cell = position mod cells, so a
//! row that sees keys on both sides of a wrap visits the newer ones first. [`Cache::segments`]
//! gives that order.

use crate::pool::Pool;
use crate::{CpuError, Tensor};
use half::f16;
use model::backend::{llama_swa_cache_cells, AttentionParams};
use quant::float::Fmaf;
use quant::math;
use quant::simd::f16::{dot_f16, mad_f16, scale_f16};
use quant::simd::tile::{self, TILE};
use std::ops::RangeInclusive;

/// Query rows from which ggml switches to its tiled f32 kernel (GGML_FA_TILE_Q).
const TILED_MIN_ROWS: usize = 64;

/// The KV cache of one layer as f16 bits, (n_ctx, kv_dim) row-major, and the number of cells
/// llama.cpp's cache has for this layer.
struct Cache<'a> {
    k: &'a [u16],
    v: &'a [u16],
    kv_dim: usize,
    head_dim: usize,
    cells: usize,
}

/// How a raw q·k becomes a softmax input. ggml's flash attention divides its scale by the
/// softcap once (`scale /= logit_softcap`), then per score takes `s·scale` and, with a cap,
/// `cap·tanhf(s·scale)`; tanh is the C library's, as ggml's (`f32::tanh` calls it natively).
#[derive(Clone, Copy)]
struct Scores {
    scale: f32,
    /// 0 = none
    softcap: f32,
}

impl Scores {
    fn new(p: &AttentionParams) -> Self {
        match p.softcap {
            Some(cap) => Scores {
                scale: p.kq_scale / cap,
                softcap: cap,
            },
            None => Scores {
                scale: p.kq_scale,
                softcap: 0.0,
            },
        }
    }

    #[inline]
    fn of(self, dot: f32) -> f32 {
        let s = dot * self.scale;
        if self.softcap != 0.0 {
            self.softcap * s.tanh()
        } else {
            s
        }
    }
}

/// Keys at cache positions `positions`, held by llama.cpp in cells from `first_cell` on.
#[derive(Clone)]
struct Segment {
    first_cell: usize,
    positions: RangeInclusive<usize>,
}

impl<'a> Cache<'a> {
    fn new(k: &'a [f16], v: &'a [f16], kv_dim: usize, p: &AttentionParams) -> Self {
        let n_ctx = k.len() / kv_dim;
        let cells = match p.window {
            Some(w) => llama_swa_cache_cells(w, n_ctx),
            None => n_ctx,
        };
        Cache {
            k: bytemuck::cast_slice(k),
            v: bytemuck::cast_slice(v),
            kv_dim,
            head_dim: p.head_dim,
            cells,
        }
    }

    /// llama.cpp's cache view for a batch whose last position is `last_pos`: the used cells,
    /// padded to a multiple of 256, at most the cache.
    fn view_len(&self, last_pos: usize) -> usize {
        self.cells
            .min((last_pos + 1).next_multiple_of(256).max(256))
    }

    /// The keys at `positions` in cell order: one segment, or two when they wrap around the
    /// cells (a window is never longer than the cache, so at most once). No allocation: this
    /// runs for every row and head of a decode step.
    fn segments(&self, positions: RangeInclusive<usize>) -> impl Iterator<Item = Segment> + Clone {
        let (first, last) = (*positions.start(), *positions.end());
        let wrap = last / self.cells * self.cells;
        let (newer, older) = if first >= wrap {
            let whole = Segment {
                first_cell: first - wrap,
                positions,
            };
            (whole, None)
        } else {
            let newer = Segment {
                first_cell: 0,
                positions: wrap..=last,
            };
            let older = Segment {
                first_cell: first % self.cells,
                positions: first..=wrap - 1,
            };
            (newer, Some(older))
        };
        std::iter::once(newer).chain(older)
    }

    /// The cache positions of `positions` in cell order (see [`Cache::segments`]).
    fn keys_in_cell_order(&self, positions: RangeInclusive<usize>) -> impl Iterator<Item = usize> {
        self.segments(positions).flat_map(|s| s.positions)
    }

    fn key(&self, pos: usize, kv_head: usize) -> &'a [u16] {
        let at = pos * self.kv_dim + kv_head * self.head_dim;
        &self.k[at..at + self.head_dim]
    }

    fn value(&self, pos: usize, kv_head: usize) -> &'a [u16] {
        let at = pos * self.kv_dim + kv_head * self.head_dim;
        &self.v[at..at + self.head_dim]
    }
}

/// q: (n_tokens, n_head*head_dim); k_cache, v_cache: (n_ctx, kv_dim) → (n_tokens, n_head*head_dim).
pub fn attention(
    q: &Tensor,
    k_cache: &[f16],
    v_cache: &[f16],
    kv_dim: usize,
    p: &AttentionParams,
    pool: &Pool,
) -> Tensor {
    // f16 bits, for the ggml-order kernels of quant::simd
    let cache = Cache::new(k_cache, v_cache, kv_dim, p);
    if q.rows == 1 {
        let view = cache.view_len(p.pos0);
        if view >= SPLIT_KV_MIN_VIEW {
            return attend_split_kv(q, &cache, p, view, pool);
        }
    }
    let tiled = q.rows >= TILED_MIN_ROWS;
    let mut out = Tensor::zeros(q.rows, q.cols);

    // Query rows are split across the pool's threads (one chunk, run inline, for decode). Each
    // row's result does not depend on the split.
    let cols = q.cols;
    let rows_per_chunk = q.rows.div_ceil(pool.threads()).max(1);
    let chunk_job = |chunk_idx: usize, chunk: &mut [f32]| -> Result<(), CpuError> {
        let rows = Rows {
            first: chunk_idx * rows_per_chunk,
            count: chunk.len() / cols,
        };
        quant::float::with_hardware_fma(|| {
            if tiled {
                attend_tiled(q, &cache, p, rows, chunk);
            } else {
                attend_rows_f16(q, &cache, p, rows, chunk);
            }
        });
        Ok(())
    };
    pool.for_each_chunk(&mut out.data, rows_per_chunk * cols, &chunk_job)
        .expect("attention chunks cannot fail");
    out
}

/// Query rows `first..first+count` of the batch.
#[derive(Clone, Copy)]
struct Rows {
    first: usize,
    count: usize,
}

/// The cache positions query row `t` attends to.
fn keys_of(p: &AttentionParams, t: usize) -> RangeInclusive<usize> {
    let pos = p.pos0 + t;
    let first = p.window.map_or(0, |w| (pos + 1).saturating_sub(w));
    first..=pos
}

/// ggml's one-row kernel for each (row, head): online softmax key by key, values accumulated in
/// f16. `out`: the rows' output, (rows.count, n_head*head_dim).
fn attend_rows_f16(q: &Tensor, cache: &Cache, p: &AttentionParams, rows: Rows, out: &mut [f32]) {
    let hd = p.head_dim;
    let group = p.n_head / p.n_head_kv;
    let mut row = OneRow::new(hd);
    for (i, out_row) in out.chunks_mut(q.cols).enumerate().take(rows.count) {
        let t = rows.first + i;
        for (h, out_head) in out_row.chunks_mut(hd).enumerate() {
            row.set_query(&q.row(t)[h * hd..(h + 1) * hd]);
            let keys = cache.keys_in_cell_order(keys_of(p, t));
            let (_, sum) = row.attend(cache, h / group, keys, Scores::new(p), out_head);
            let inv = if sum == 0.0 { 0.0 } else { 1.0 / sum };
            out_head.iter_mut().for_each(|o| *o *= inv);
        }
    }
}

/// The state of ggml's one-row kernel for one query head.
struct OneRow {
    /// the query rounded to f16 (as f32)
    q16: Vec<f32>,
    /// the weighted sum of values, f16 bits
    acc16: Vec<u16>,
}

impl OneRow {
    fn new(head_dim: usize) -> Self {
        OneRow {
            q16: Vec::with_capacity(head_dim),
            acc16: vec![0; head_dim],
        }
    }

    fn set_query(&mut self, q_head: &[f32]) {
        self.q16.clear();
        self.q16
            .extend(q_head.iter().map(|&x| f16::from_f32(x).to_f32()));
    }

    /// Online softmax over `keys` in order: returns (max score, sum of weights) and writes the
    /// unnormalised weighted sum of values to `out`.
    fn attend(
        &mut self,
        cache: &Cache,
        kv_head: usize,
        keys: impl Iterator<Item = usize>,
        scores: Scores,
        out: &mut [f32],
    ) -> (f32, f32) {
        self.acc16.fill(0);
        let (mut m, mut sum) = (f32::NEG_INFINITY, 0.0f32);
        for j in keys {
            let score = scores.of(dot_f16(cache.key(j, kv_head), &self.q16));
            let (mut ms, mut vs) = (1.0f32, 1.0f32);
            if score > m {
                ms = math::expf(m - score);
                m = score;
                scale_f16(&mut self.acc16, ms);
            } else {
                vs = math::expf(score - m);
            }
            // ggml_vec_mad_f16: one fused multiply-add, rounded to f16.
            mad_f16(&mut self.acc16, cache.value(j, kv_head), vs);
            // ggml's `S = S*ms + vs`, contracted to an FMA by GCC in llama.cpp's build.
            sum = sum.fmaf(ms, vs);
        }
        out.iter_mut()
            .zip(&self.acc16)
            .for_each(|(o, &a)| *o = f16::from_bits(a).to_f32());
        (m, sum)
    }
}

/// From this many cells in the view, ggml splits a one-row attention across its threads by key.
const SPLIT_KV_MIN_VIEW: usize = 512;

/// ggml's split-KV path for one query row: the view's keys are cut into one chunk per thread,
/// each chunk runs the one-row kernel, and the chunks' (max, sum, values) are merged in order.
fn attend_split_kv(
    q: &Tensor,
    cache: &Cache,
    p: &AttentionParams,
    view: usize,
    pool: &Pool,
) -> Tensor {
    let hd = p.head_dim;
    let group = p.n_head / p.n_head_kv;
    let n_chunks = pool.threads().max(1);
    let chunk_len = view.div_ceil(n_chunks);
    let segments = cache.segments(keys_of(p, 0));
    // partials[c][h] = [max, sum, values(head_dim)]
    let part = 2 + hd;
    let mut partials = crate::buffers::take(n_chunks * p.n_head * part);
    let chunk_job = |c: usize, chunk: &mut [f32]| -> Result<(), CpuError> {
        let mut row = OneRow::new(hd);
        let cells = c * chunk_len..(c + 1) * chunk_len;
        // the keys held in this chunk's cells, in cell order
        let keys = || {
            segments.clone().flat_map(|s| {
                let at = |cell: usize| s.positions.start() + cell.saturating_sub(s.first_cell);
                let from = at(cells.start).min(s.positions.end() + 1);
                let to = at(cells.end).min(s.positions.end() + 1);
                from..to
            })
        };
        for (h, partial) in chunk.chunks_mut(part).enumerate() {
            let (stats, values) = partial.split_at_mut(2);
            if keys().next().is_none() {
                (stats[0], stats[1]) = (f32::NEG_INFINITY, 0.0);
                continue;
            }
            row.set_query(&q.row(0)[h * hd..(h + 1) * hd]);
            (stats[0], stats[1]) = quant::float::with_hardware_fma(|| {
                row.attend(cache, h / group, keys(), Scores::new(p), values)
            });
        }
        Ok(())
    };
    pool.for_each_chunk(&mut partials, p.n_head * part, &chunk_job)
        .expect("attention chunks cannot fail");

    let mut out = Tensor::zeros(1, q.cols);
    for (h, acc) in out.data.chunks_mut(hd).enumerate() {
        let (mut max, mut sum) = (f32::NEG_INFINITY, 0.0f32);
        for c in 0..n_chunks {
            let partial = &partials[(c * p.n_head + h) * part..][..part];
            let (c_max, c_sum, values) = (partial[0], partial[1], &partial[2..]);
            if c_sum == 0.0 {
                continue;
            }
            let new_max = max.max(c_max);
            let (scale_old, scale_new) = (math::expf(max - new_max), math::expf(c_max - new_max));
            // GCC's contraction in llama.cpp's build: a·s_old + (b·s_new), fused.
            for (a, &v) in acc.iter_mut().zip(values) {
                *a = a.fmaf(scale_old, v * scale_new);
            }
            sum = sum.fmaf(scale_old, c_sum * scale_new);
            max = new_max;
        }
        if sum != 0.0 {
            let inv = 1.0 / sum;
            acc.iter_mut().for_each(|a| *a *= inv);
        }
    }
    crate::buffers::give(partials);
    out
}

/// ggml's tiled kernel for a block of query rows: for each KV head, the cache is walked in tiles
/// of [`TILE`] cells in cell order; each tile is converted to f32 once and serves every (row,
/// head) of the block that sees one of its keys. `out` (rows.count, n_head*head_dim) holds the
/// running weighted sums; `max`/`sum` the running softmax state per (row, head).
fn attend_tiled(q: &Tensor, cache: &Cache, p: &AttentionParams, rows: Rows, out: &mut [f32]) {
    let hd = p.head_dim;
    let group = p.n_head / p.n_head_kv;
    let n_state = rows.count * p.n_head;
    let mut max = vec![f32::NEG_INFINITY; n_state];
    let mut sum = vec![0.0f32; n_state];
    let mut kt = vec![0.0f32; hd * TILE]; // the key tile transposed: [head_dim][TILE]
    let mut vt = vec![0.0f32; TILE * hd]; // the value tile as f32: [TILE][head_dim]
    let mut scores = [0.0f32; TILE];
    let score_of = Scores::new(p);

    let last_key = p.pos0 + rows.first + rows.count - 1;
    let first_key = *keys_of(p, rows.first).start();
    // The tiles (64 cells; cells and positions are aligned alike) in cell order.
    let mut tiles: Vec<usize> = (first_key / TILE * TILE..=last_key).step_by(TILE).collect();
    tiles.sort_by_key(|&t| (t % cache.cells, t));
    for kv_head in 0..p.n_head_kv {
        for &tile_start in &tiles {
            let tile_keys = tile_start..(tile_start + TILE).min(last_key + 1);
            kt.fill(0.0);
            for (tk, j) in tile_keys.clone().enumerate() {
                for (d, &k) in cache.key(j, kv_head).iter().enumerate() {
                    kt[d * TILE + tk] = f16::from_bits(k).to_f32();
                }
                for (v, &h) in vt[tk * hd..(tk + 1) * hd]
                    .iter_mut()
                    .zip(cache.value(j, kv_head))
                {
                    *v = f16::from_bits(h).to_f32();
                }
            }
            for i in 0..rows.count {
                let keys = keys_of(p, rows.first + i);
                if *keys.end() < tile_keys.start || *keys.start() >= tile_keys.end {
                    continue; // every key of the tile is masked for this row
                }
                for h in kv_head * group..(kv_head + 1) * group {
                    let q_head = &q.row(rows.first + i)[h * hd..(h + 1) * hd];
                    let acc = &mut out[i * q.cols + h * hd..i * q.cols + (h + 1) * hd];
                    let state = i * p.n_head + h;
                    tile::scores(&kt, q_head, &mut scores);
                    for (tk, s) in scores.iter_mut().enumerate() {
                        *s = if keys.contains(&(tile_start + tk)) {
                            score_of.of(*s)
                        } else {
                            f32::NEG_INFINITY
                        };
                    }
                    let tile_max = scores.iter().fold(f32::NEG_INFINITY, |m, &s| m.max(s));
                    let new_max = max[state].max(tile_max);
                    if new_max > max[state] {
                        let ms = math::expf(max[state] - new_max);
                        acc.iter_mut().for_each(|a| *a *= ms);
                        sum[state] *= ms;
                    }
                    max[state] = new_max;
                    // ggml adds the tile's f64 sum to the f32 running sum in double.
                    sum[state] = (sum[state] as f64 + tile::softmax(&mut scores, new_max)) as f32;
                    for (v, &w) in vt.chunks_exact(hd).zip(&scores[..tile_keys.len()]) {
                        if w != 0.0 {
                            tile::axpy(acc, v, w);
                        }
                    }
                }
            }
        }
    }
    for (acc, &s) in out.chunks_mut(hd).zip(&sum) {
        let inv = if s == 0.0 { 0.0 } else { 1.0 / s };
        acc.iter_mut().for_each(|a| *a *= inv);
    }
}
