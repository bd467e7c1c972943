//! Q4_K weights with eight rows interleaved, for AVX2 kernels whose eight f32 lanes are eight
//! weight rows (prefill and decode of the large Q4_K matrices).
//!
//! The row-at-a-time kernels in `avx2` end every super-block with horizontal reductions and
//! scalar fused multiply-adds, once per (weight row, activation row). With the rows interleaved,
//! one `maddubs` multiplies four elements of each of eight rows by the same four activation bytes
//! (broadcast), sub-block sums stay in lanes, and the float steps become lane-wise vector FMAs —
//! per lane exactly the operations of `portable::dot_q4_k_gemm` / `dot_q4_k_gemv`, so the results
//! are those kernels' (and llama.cpp's repacked Q4_K kernels') bit for bit.
//!
//! The layout is ours (the weights are rearranged once, at load): see [`BlockQ4Kx8`]. The scales
//! and mins are unpacked from their 6-bit packing to one byte each, which costs 4 bytes per row
//! and super-block (2.8%) and saves the unpacking in the inner loop.

use crate::blocks::{BlockQ4K, K_SCALE_SIZE, QK_K};
use bytemuck::{Pod, Zeroable};

/// Rows per interleaved group.
pub const ROWS: usize = 8;

/// One super-block (256 elements) of eight Q4_K rows.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct BlockQ4Kx8 {
    /// Per row: the super-block scale for the scales (fp16 bits).
    pub d: [u16; ROWS],
    /// Per row: the super-block scale for the mins (fp16 bits).
    pub dmin: [u16; ROWS],
    /// `[sub-block j][row]`: the 6-bit scale of sub-block j (32 elements).
    pub scales: [[u8; ROWS]; 8],
    /// `[pair p][row][half]`: the 6-bit mins of sub-blocks 2p and 2p + 1.
    pub mins: [[[u8; 2]; ROWS]; 4],
    /// `[8·p + c][row]`: bytes `32·p + 4·c .. + 4` of the row's `qs` — low nibbles are elements
    /// `64·p + 4·c ..+4` (sub-block 2p), high nibbles elements `64·p + 32 + 4·c ..+4` (2p + 1).
    pub qs: [[[u8; 4]; ROWS]; 32],
}

const _: () = assert!(std::mem::size_of::<BlockQ4Kx8>() == 1184);

/// Bytes of one interleaved group of eight rows of `cols` elements.
pub fn group_bytes(cols: usize) -> usize {
    cols / QK_K * std::mem::size_of::<BlockQ4Kx8>()
}

/// Interleaves eight Q4_K rows (`rows[r]` = row r's blocks) into `out` (`group_bytes` bytes).
pub fn interleave(rows: [&[BlockQ4K]; ROWS], out: &mut [u8]) {
    let out: &mut [BlockQ4Kx8] = bytemuck::cast_slice_mut(out);
    for (b, dst) in out.iter_mut().enumerate() {
        for (r, row) in rows.iter().enumerate() {
            let x = &row[b];
            dst.d[r] = x.d;
            dst.dmin[r] = x.dmin;
            let (sc, m) = super::portable::k4_scales_mins(&x.scales);
            for j in 0..8 {
                dst.scales[j][r] = sc[j] as u8;
                dst.mins[j / 2][r][j % 2] = m[j] as u8;
            }
            for (k, chunk) in x.qs.chunks_exact(4).enumerate() {
                dst.qs[k][r].copy_from_slice(chunk);
            }
        }
    }
}

/// Row `r`'s plain Q4_K block of one interleaved super-block (for the use of a repacked weight
/// as a lookup table: a Q4_K token embedding).
pub fn block_of_row(x: &BlockQ4Kx8, r: usize) -> BlockQ4K {
    let sc: [u8; 8] = std::array::from_fn(|j| x.scales[j][r]);
    let m: [u8; 8] = std::array::from_fn(|j| x.mins[j / 2][r][j % 2]);
    let mut qs = [0u8; QK_K / 2];
    for (k, chunk) in qs.chunks_exact_mut(4).enumerate() {
        chunk.copy_from_slice(&x.qs[k][r]);
    }
    BlockQ4K {
        d: x.d[r],
        dmin: x.dmin[r],
        scales: pack_scales_mins(&sc, &m),
        qs,
    }
}

/// ggml's 6-bit packing of eight scales and eight mins (the inverse of `get_scale_min_k4`).
fn pack_scales_mins(sc: &[u8; 8], m: &[u8; 8]) -> [u8; K_SCALE_SIZE] {
    let mut s = [0u8; K_SCALE_SIZE];
    for j in 0..4 {
        s[j] = sc[j] | (sc[j + 4] >> 4) << 6;
        s[j + 4] = m[j] | (m[j + 4] >> 4) << 6;
        s[j + 8] = (sc[j + 4] & 0xF) | (m[j + 4] & 0xF) << 4;
    }
    s
}

/// Eight weight rows against four activation rows: `out[i][r]`.
pub type Gemm4Fn = fn(w: &[u8], a: [&[u8]; 4]) -> [[f32; ROWS]; 4];
/// Eight weight rows against one activation row: `out[r]`.
pub type Gemv1Fn = fn(w: &[u8], a: &[u8]) -> [f32; ROWS];

/// The interleaved kernels, where this CPU has them (x86-64 with AVX2): the gemm in
/// `dot_q4_k_gemm`'s order (activations from `quantize_q8_k_4x8`), the gemv in `dot_q4_k_gemv`'s.
/// Without them Q4_K weights stay row by row.
pub fn kernels() -> Option<(Gemm4Fn, Gemv1Fn)> {
    #[cfg(target_arch = "x86_64")]
    if super::has_avx2_fma() {
        use crate::blocks::BlockQ8K;
        let gemm: Gemm4Fn = |w, a| {
            let a = a.map(bytemuck::cast_slice::<u8, BlockQ8K>);
            // SAFETY: handed out only when has_avx2_fma() is true.
            unsafe { avx2::gemm(bytemuck::cast_slice(w), a) }
        };
        let gemv: Gemv1Fn = |w, a| {
            // SAFETY: as above.
            unsafe { avx2::gemv(bytemuck::cast_slice(w), bytemuck::cast_slice(a)) }
        };
        return Some((gemm, gemv));
    }
    None
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! Lane r = weight row r. Per 4 bytes of a row, `maddubs` gives two i16 sums of two
    //! products; the eight such results of a sub-block (32 elements) are added in i16 — at most
    //! 8 · 2 · 15 · 128 = 30720, no overflow — then `madd` with the row's scale (duplicated into
    //! both i16 of its lane) gives the sub-block sum times scale in i32.

    use super::{BlockQ4Kx8, ROWS};
    use crate::blocks::BlockQ8K;
    use core::arch::x86_64::*;

    /// The activation bytes `at..at + 4` in every lane.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn broadcast4(y: &BlockQ8K, at: usize) -> __m256i {
        let b: [u8; 4] = bytemuck::cast([y.qs[at], y.qs[at + 1], y.qs[at + 2], y.qs[at + 3]]);
        _mm256_set1_epi32(i32::from_le_bytes(b))
    }

    /// Per pair p: the i16 sums of activation sub-blocks 2p and 2p + 1 packed in one i32, to
    /// broadcast against the `mins` pairs.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn sub_block_sum_pairs(y: &BlockQ8K) -> [i32; 4] {
        let bsums = y.bsums;
        // SAFETY: bsums is 16 i16 = 32 readable bytes (a copy on the stack).
        let (lo, hi) = unsafe {
            let p = bsums.as_ptr() as *const __m128i;
            (_mm_loadu_si128(p), _mm_loadu_si128(p.add(1)))
        };
        let mut out = [0i32; 4];
        // SAFETY: out is 16 writable bytes.
        unsafe { _mm_storeu_si128(out.as_mut_ptr() as *mut __m128i, _mm_hadd_epi16(lo, hi)) };
        out
    }

    /// fp16 × 8 → f32 × 8.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn f16x8(h: &[u16; ROWS]) -> __m256 {
        // SAFETY: h is 16 readable bytes.
        _mm256_cvtph_ps(unsafe { _mm_loadu_si128(h.as_ptr() as *const __m128i) })
    }

    /// The scales of sub-blocks 2p and 2p + 1, each row's in both i16 of its lane.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn scale_pair(x: &BlockQ4Kx8, p: usize) -> (__m256i, __m256i) {
        // SAFETY: scales[2p] and scales[2p + 1] are 16 contiguous readable bytes.
        let s = unsafe { _mm_loadu_si128(x.scales[2 * p].as_ptr() as *const __m128i) };
        (
            _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(s, s)),
            _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(s, s)),
        )
    }

    /// The mins of sub-blocks 2p and 2p + 1 as i16 pairs per lane.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn min_pair(x: &BlockQ4Kx8, p: usize) -> __m256i {
        // SAFETY: mins[p] is 16 readable bytes.
        _mm256_cvtepu8_epi16(unsafe { _mm_loadu_si128(x.mins[p].as_ptr() as *const __m128i) })
    }

    /// The quants of `qs[k]` for all eight rows: (low nibbles, high nibbles).
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn nibbles(x: &BlockQ4Kx8, k: usize) -> (__m256i, __m256i) {
        let m4 = _mm256_set1_epi8(0x0F);
        // SAFETY: qs[k] is 32 readable bytes.
        let q = unsafe { _mm256_loadu_si256(x.qs[k].as_ptr() as *const __m256i) };
        (
            _mm256_and_si256(q, m4),
            _mm256_and_si256(_mm256_srli_epi16(q, 4), m4),
        )
    }

    /// `Σ sc·dot` of pair p (64 elements) for N activation rows, per lane.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn pair_sums<const N: usize>(x: &BlockQ4Kx8, y: &[&BlockQ8K; N], p: usize) -> [__m256i; N] {
        let mut lo = [_mm256_setzero_si256(); N];
        let mut hi = [_mm256_setzero_si256(); N];
        for c in 0..8 {
            let (ql, qh) = nibbles(x, 8 * p + c);
            for i in 0..N {
                let at = 64 * p + 4 * c;
                lo[i] = _mm256_add_epi16(lo[i], _mm256_maddubs_epi16(ql, broadcast4(y[i], at)));
                hi[i] =
                    _mm256_add_epi16(hi[i], _mm256_maddubs_epi16(qh, broadcast4(y[i], at + 32)));
            }
        }
        let (sl, sh) = scale_pair(x, p);
        std::array::from_fn(|i| {
            _mm256_add_epi32(_mm256_madd_epi16(lo[i], sl), _mm256_madd_epi16(hi[i], sh))
        })
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn store(v: __m256) -> [f32; ROWS] {
        let mut out = [0.0f32; ROWS];
        // SAFETY: out is 32 writable bytes.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr(), v) };
        out
    }

    /// `dot_q4_k_gemm`'s order per lane: FMAs per pair of sub-blocks.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub fn gemm(w: &[BlockQ4Kx8], y: [&[BlockQ8K]; 4]) -> [[f32; ROWS]; 4] {
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut acc_m = [_mm256_setzero_ps(); 4];
        for (b, x) in w.iter().enumerate() {
            let yb: [&BlockQ8K; 4] = std::array::from_fn(|i| &y[i][b]);
            let (d, dmin) = (f16x8(&x.d), f16x8(&x.dmin));
            let dd: [__m256; 4] =
                std::array::from_fn(|i| _mm256_mul_ps(d, _mm256_set1_ps(yb[i].d)));
            let dm: [__m256; 4] =
                std::array::from_fn(|i| _mm256_mul_ps(dmin, _mm256_set1_ps(yb[i].d)));
            let bs: [[i32; 4]; 4] = std::array::from_fn(|i| sub_block_sum_pairs(yb[i]));
            for p in 0..4 {
                let sums = pair_sums(x, &yb, p);
                let mins = min_pair(x, p);
                for i in 0..4 {
                    let mn = _mm256_madd_epi16(mins, _mm256_set1_epi32(bs[i][p]));
                    acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums[i]), dd[i], acc[i]);
                    acc_m[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mn), dm[i], acc_m[i]);
                }
            }
        }
        std::array::from_fn(|i| store(_mm256_sub_ps(acc[i], acc_m[i])))
    }

    /// `dot_q4_k_gemv`'s order per lane: integer sums over the super-block, one FMA each.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub fn gemv(w: &[BlockQ4Kx8], y: &[BlockQ8K]) -> [f32; ROWS] {
        let mut acc = _mm256_setzero_ps();
        let mut acc_m = _mm256_setzero_ps();
        for (x, y) in w.iter().zip(y) {
            let bs = sub_block_sum_pairs(y);
            let mut isum = _mm256_setzero_si256();
            let mut imin = _mm256_setzero_si256();
            for p in 0..4 {
                let [s] = pair_sums(x, &[y], p);
                isum = _mm256_add_epi32(isum, s);
                imin = _mm256_add_epi32(
                    imin,
                    _mm256_madd_epi16(min_pair(x, p), _mm256_set1_epi32(bs[p])),
                );
            }
            let yd = _mm256_set1_ps(y.d);
            acc = _mm256_fmadd_ps(
                _mm256_cvtepi32_ps(isum),
                _mm256_mul_ps(f16x8(&x.d), yd),
                acc,
            );
            acc_m = _mm256_fmadd_ps(
                _mm256_cvtepi32_ps(imin),
                _mm256_mul_ps(f16x8(&x.dmin), yd),
                acc_m,
            );
        }
        store(_mm256_sub_ps(acc, acc_m))
    }
}
