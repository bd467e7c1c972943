//! Causal grouped-query attention over the f16 KV cache, numerically mirroring ggml's CPU flash
//! attention (llama.cpp's default), which has two kernels:
//!
//! - fewer than 64 query rows (decode, short prompts): per row, keys in order with an online
//!   softmax; q is rounded to f16 for q·k and the weighted sum of values is accumulated **in
//!   f16**. That rounding is visible in the logits, so we reproduce it.
//! - 64 or more query rows (prefill): tiles of 64 keys in f32 (q not rounded), online softmax
//!   across tiles, f32 accumulation.
//!
//! Keys are the cache positions `first..=pos` (first > 0 inside a sliding window).

use crate::pool::Pool;
use crate::{CpuError, Tensor};
use half::f16;
use model::backend::AttentionParams;
use quant::simd::f16::{axpy_f16, dot_f16, mad_f16, scale_f16};

/// Query rows from which ggml switches to its tiled f32 kernel (GGML_FA_TILE_Q).
const TILED_MIN_ROWS: usize = 64;
/// Keys per tile in the tiled kernel (GGML_FA_TILE_KV).
const KV_TILE: usize = 64;

/// q: (n_tokens, n_head*head_dim); k_cache, v_cache: (n_ctx, kv_dim) → (n_tokens, n_head*head_dim).
pub fn attention(
    q: &Tensor,
    k_cache: &[f16],
    v_cache: &[f16],
    kv_dim: usize,
    p: &AttentionParams,
    pool: &Pool,
) -> Tensor {
    // f16 bits, for the ggml-order f16 kernels of quant::simd::f16
    let k_cache: &[u16] = bytemuck::cast_slice(k_cache);
    let v_cache: &[u16] = bytemuck::cast_slice(v_cache);
    let hd = p.head_dim;
    let group = p.n_head / p.n_head_kv;
    let tiled = q.rows >= TILED_MIN_ROWS;
    let mut out = Tensor::zeros(q.rows, q.cols);

    let head_job = |t: usize, h: usize, out_head: &mut [f32], scratch: &mut Scratch| {
        let pos = p.pos0 + t;
        let first = p.window.map_or(0, |w| (pos + 1).saturating_sub(w));
        let kv_off = (h / group) * hd;
        let key = |j: usize| &k_cache[j * kv_dim + kv_off..j * kv_dim + kv_off + hd];
        let value = |j: usize| &v_cache[j * kv_dim + kv_off..j * kv_dim + kv_off + hd];
        let q_head = &q.row(t)[h * hd..(h + 1) * hd];
        if tiled {
            attend_tiled(
                q_head,
                first..=pos,
                key,
                value,
                p.kq_scale,
                out_head,
                scratch,
            );
        } else {
            attend_f16_accumulate(
                q_head,
                first..=pos,
                key,
                value,
                p.kq_scale,
                out_head,
                scratch,
            );
        }
    };

    // Query rows are split across the pool's threads (one chunk, run inline, for decode).
    let cols = q.cols;
    let rows_per_chunk = q.rows.div_ceil(pool.threads()).max(1);
    let chunk_job = |chunk_idx: usize, chunk: &mut [f32]| -> Result<(), CpuError> {
        let mut scratch = Scratch::default();
        for (i, row) in chunk.chunks_mut(cols).enumerate() {
            let t = chunk_idx * rows_per_chunk + i;
            for (h, out_head) in row.chunks_mut(hd).enumerate() {
                head_job(t, h, out_head, &mut scratch);
            }
        }
        Ok(())
    };
    pool.for_each_chunk(&mut out.data, rows_per_chunk * cols, &chunk_job)
        .expect("attention chunks cannot fail");
    out
}

/// Per-thread buffers, reused across heads.
#[derive(Default)]
struct Scratch {
    q: Vec<f32>,
    acc16: Vec<u16>,
    scores: Vec<f32>,
}

/// ggml's one-row kernel: online softmax key by key, values accumulated in f16.
fn attend_f16_accumulate<'a>(
    q_head: &[f32],
    keys: std::ops::RangeInclusive<usize>,
    key: impl Fn(usize) -> &'a [u16],
    value: impl Fn(usize) -> &'a [u16],
    scale: f32,
    out: &mut [f32],
    s: &mut Scratch,
) {
    s.q.clear();
    s.q.extend(q_head.iter().map(|&x| f16::from_f32(x).to_f32()));
    s.acc16.clear();
    s.acc16.resize(out.len(), 0);
    let (mut m, mut sum) = (f32::NEG_INFINITY, 0.0f32);
    for j in keys {
        let score = dot_f16(key(j), &s.q) * scale;
        let (mut ms, mut vs) = (1.0f32, 1.0f32);
        if score > m {
            ms = (m - score).exp();
            m = score;
            scale_f16(&mut s.acc16, ms);
        } else {
            vs = (score - m).exp();
        }
        // ggml_vec_mad_f16: one fused multiply-add, rounded to f16.
        mad_f16(&mut s.acc16, value(j), vs);
        // ggml's `S = S*ms + vs`, contracted to an FMA by GCC in llama.cpp's build.
        sum = sum.mul_add(ms, vs);
    }
    let inv = if sum == 0.0 { 0.0 } else { 1.0 / sum };
    out.iter_mut()
        .zip(&s.acc16)
        .for_each(|(o, &a)| *o = f16::from_bits(a).to_f32() * inv);
}

/// ggml's tiled kernel: f32 throughout, softmax renormalised once per tile of 64 keys. Tiles are
/// aligned to cache position 0, as ggml walks the whole cache view in tiles.
fn attend_tiled<'a>(
    q_head: &[f32],
    keys: std::ops::RangeInclusive<usize>,
    key: impl Fn(usize) -> &'a [u16],
    value: impl Fn(usize) -> &'a [u16],
    scale: f32,
    out: &mut [f32],
    s: &mut Scratch,
) {
    let (first, last) = (*keys.start(), *keys.end());
    out.iter_mut().for_each(|o| *o = 0.0);
    let (mut m, mut sum) = (f32::NEG_INFINITY, 0.0f32);
    let mut tile_start = first / KV_TILE * KV_TILE;
    while tile_start <= last {
        let tile = tile_start.max(first)..=(tile_start + KV_TILE - 1).min(last);
        s.scores.clear();
        s.scores
            .extend(tile.clone().map(|j| dot_f16(key(j), q_head) * scale));
        let tile_max = s.scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let m_new = m.max(tile_max);
        if m_new > m {
            let ms = (m - m_new).exp();
            out.iter_mut().for_each(|o| *o *= ms);
            sum *= ms;
        }
        m = m_new;
        let mut tile_sum = 0.0f64;
        for sc in s.scores.iter_mut() {
            *sc = (*sc - m).exp();
            tile_sum += *sc as f64;
        }
        sum += tile_sum as f32;
        for (j, &w) in tile.zip(&s.scores) {
            axpy_f16(out, value(j), w);
        }
        tile_start += KV_TILE;
    }
    let inv = if sum == 0.0 { 0.0 } else { 1.0 / sum };
    out.iter_mut().for_each(|o| *o *= inv);
}
