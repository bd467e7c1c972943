//! Eight f32 lanes standing for one AVX `__m256`, and ggml's horizontal reductions of them.

/// One `__m256` worth of f32 lanes, lane 0 first.
pub type F8 = [f32; 8];

/// ggml's `hsum_float_8` (and llamafile's `hsum(__m256)`): high 128 bits plus low, then
/// `movehl` and `movehdup` adds, i.e. `((x0+x4)+(x2+x6)) + ((x1+x5)+(x3+x7))`.
#[inline]
pub fn hsum8(x: F8) -> f32 {
    let r: [f32; 4] = std::array::from_fn(|i| x[i + 4] + x[i]);
    (r[0] + r[2]) + (r[1] + r[3])
}

/// The same reduction of one `__m128`: `(x0+x2) + (x1+x3)`.
#[inline]
pub fn hsum4(x: [f32; 4]) -> f32 {
    (x[0] + x[2]) + (x[1] + x[3])
}
