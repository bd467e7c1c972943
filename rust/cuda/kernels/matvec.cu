// Matrix × few-vectors for decode (ggml's "mmvq" idea): the activations are quantized to Q8_1
// blocks and every granule's dot is 4 integer dp4a's. A block of MV_BLOCK threads is
// blockDim.y rows × blockDim.x threads per row (the host picks the split from the row length:
// a decode matvec of a small model is bound by memory latency, so every load should be in
// flight at once, which takes enough threads per row that each walks only a few granules).
// Up to MV_MAX_TOKENS activation rows share each weight load.
//
// Each kernel is compiled for NT = 1, 2, 4 and 8 activation rows (matvec_q8_t1 ...): the
// accumulators of a decode matvec (NT = 1) then take one register, not eight, which keeps
// more warps resident and more loads in flight.
//
// One launch can cover up to three weight matrices ("segments"), each with its own type, that
// multiply the same input: q|k|v in one pass. Epilogues: store, add into the output (a residual
// add), or a gated activation of two segments (gate, up) written as one row; gate and up of one
// type are read in one granule loop.

#define MV_MAX_TOKENS 8
#define MV_BLOCK 128

#define MV_STORE 0
#define MV_ADD 1
#define MV_GLU_SILU 2
#define MV_GLU_GELU 3

struct MvSeg {
    const u8* w;   // rows × row_bytes
    int type;      // ggml type id
    int rows;
    int row_bytes;
    int out_col;   // where the segment's rows start in an output row
};

struct MvArgs {
    MvSeg seg[3];
    int nseg;
    int total_rows; // rows computed (for GLU: rows of one segment)
    int ncols;      // elements per weight row (a multiple of 32)
    int ntok;       // activation rows (≤ MV_MAX_TOKENS)
    int out_stride; // floats per output row
    int mode;
};

// acc[t] += dot(weight row, activation row t) over this thread's granules, for one weight
// row, or for two of the same format (acc2: GLU's up row) in the same loop.
template <int NT, bool PAIR> struct RowDotQ8 {
    const u8* wrow;
    const u8* wrow2;
    const u8* act; // Q8_1 blocks, (ntok, ncols/32)
    int act_row_bytes;
    int ngran;
    int ntok;
    float* acc;
    float* acc2;

    template <class F>
    __device__ __forceinline__ void dot(const Granule& g, const u8* ab, const int* aq,
                                        float* out) {
#pragma unroll
        for (int t = 0; t < NT; t++) {
            if (t >= ntok) break;
            const int* a = (const int*)((const u8*)aq + t * act_row_bytes);
            float ad = h2f(*(const u16*)(ab + t * act_row_bytes));
            int sumi = 0;
#pragma unroll
            for (int k = 0; k < 4; k++) sumi = __dp4a(g.q[k], a[k], sumi);
            float v = g.scale * (float)sumi;
            if (F::HAS_MIN) {
                int suma = 0;
#pragma unroll
                for (int k = 0; k < 4; k++) suma = __dp4a(0x01010101, a[k], suma);
                v -= g.min * (float)suma;
            }
            out[t] += ad * v;
        }
    }

    template <class F> __device__ __forceinline__ void run() {
        // unrolled so that several granules' loads are in flight at once
#pragma unroll 4
        for (int gi = threadIdx.x; gi < ngran; gi += blockDim.x) {
            Granule g, g2;
            row_granule<F>(wrow, gi, g);
            if (PAIR) row_granule<F>(wrow2, gi, g2);
            const u8* ab = act + (gi >> 1) * Q8_1_BYTES;
            const int* aq = (const int*)(ab + 4 + 16 * (gi & 1));
            dot<F>(g, ab, aq, acc);
            if (PAIR) dot<F>(g2, ab, aq, acc2);
        }
    }
};

// This thread's part of the dot of segment row r (acc2: of row r2 of s2, GLU's up row).
template <int NT, bool PAIR>
__device__ __forceinline__ void mv_row_dot(const MvSeg& s, int r, const MvSeg& s2, int r2,
                                           const u8* act, int ncols, int ntok, float* acc,
                                           float* acc2) {
    RowDotQ8<NT, PAIR> body{s.w + (u64)r * s.row_bytes, s2.w + (u64)r2 * s2.row_bytes, act,
                            (ncols / 32) * Q8_1_BYTES, ncols / 16, ntok, acc, acc2};
    DISPATCH_QUANT(s.type, body)
}

// Sums acc[0..M) over the threads of each row (threadIdx.y) of the block: afterwards
// part[m] (this row's slice of the shared array) holds the totals. Every thread of the block
// must call it (it synchronises the block).
template <int M>
__device__ __forceinline__ const float* mv_reduce(float* acc, float (*part)[MV_BLOCK / 32]) {
    __shared__ float sums[MV_BLOCK / 32][M];
    int warps_per_row = blockDim.x >> 5, w0 = threadIdx.y * warps_per_row;
    int warp = w0 + (threadIdx.x >> 5);
#pragma unroll
    for (int m = 0; m < M; m++) {
        float v = warp_sum(acc[m]);
        if ((threadIdx.x & 31) == 0) part[m][warp] = v;
    }
    __syncthreads();
    // thread x < M of the row adds up its warps' partials of value x
    if (threadIdx.x < M) {
        float v = 0.0f;
        for (int i = 0; i < warps_per_row; i++) v += part[threadIdx.x][w0 + i];
        sums[threadIdx.y][threadIdx.x] = v;
    }
    __syncthreads();
    return sums[threadIdx.y];
}

// The segment holding output row `row` (a copy), `r` the row within it. Constant indices
// only: indexing the kernel's parameter struct at run time would copy it to local memory in
// every thread.
__device__ __forceinline__ MvSeg mv_segment(const MvArgs& a, int row, int& r) {
    r = row;
    if (a.nseg > 1 && r >= a.seg[0].rows) {
        r -= a.seg[0].rows;
        if (a.nseg > 2 && r >= a.seg[1].rows) {
            r -= a.seg[1].rows;
            return a.seg[2];
        }
        return a.seg[1];
    }
    return a.seg[0];
}

// Thread t < ntok of the row writes token t's dot of row r of segment s (stored or added).
__device__ __forceinline__ void mv_store(const MvArgs& a, const MvSeg& s, int r, float v,
                                         float* out) {
    float* o = out + (u64)threadIdx.x * a.out_stride + s.out_col + r;
    *o = a.mode == MV_ADD ? *o + v : v;
}

// Pulls this thread's share of a weight row into L2. Weights never depend on an earlier
// kernel, so this runs before pdl_enter's wait, overlapping the previous kernel's tail.
__device__ __forceinline__ void mv_prefetch(const MvSeg& s, int r) {
    const u8* w = s.w + (u64)r * s.row_bytes;
    for (int off = 128 * threadIdx.x; off < s.row_bytes; off += 128 * blockDim.x)
        asm volatile("prefetch.global.L2 [%0];" ::"l"(w + off));
}

template <int NT>
__device__ __forceinline__ void matvec_q8_body(const MvArgs& a, const u8* act,
                                               float* out) {
    __shared__ float part[2 * NT][MV_BLOCK / 32];
    int row = blockIdx.x * blockDim.y + threadIdx.y;
    bool live = row < a.total_rows; // dead rows still join the block's reductions
    bool glu = a.mode == MV_GLU_SILU || a.mode == MV_GLU_GELU;
    int r = 0;
    MvSeg s = mv_segment(a, live ? row : 0, r);
    if (live && glu) {
        mv_prefetch(a.seg[0], row);
        mv_prefetch(a.seg[1], row);
    } else if (live) {
        mv_prefetch(s, r);
    }
    pdl_enter();
    if (glu) {
        float acc[2 * NT]; // gate, then up
#pragma unroll
        for (int t = 0; t < 2 * NT; t++) acc[t] = 0.0f;
        if (live && a.seg[0].type == a.seg[1].type) {
            mv_row_dot<NT, true>(a.seg[0], row, a.seg[1], row, act, a.ncols, a.ntok, acc,
                                 acc + NT);
        } else if (live) {
            mv_row_dot<NT, false>(a.seg[0], row, a.seg[0], row, act, a.ncols, a.ntok, acc, acc);
            mv_row_dot<NT, false>(a.seg[1], row, a.seg[1], row, act, a.ncols, a.ntok, acc + NT,
                                  acc + NT);
        }
        const float* sum = mv_reduce<2 * NT>(acc, part);
        if (live && threadIdx.x < a.ntok) {
            float gate = sum[threadIdx.x], up = sum[NT + threadIdx.x];
            float g = a.mode == MV_GLU_SILU ? silu(gate) : gelu_tanh(gate);
            out[(u64)threadIdx.x * a.out_stride + row] = g * up;
        }
        return;
    }
    float acc[NT];
#pragma unroll
    for (int t = 0; t < NT; t++) acc[t] = 0.0f;
    if (live) mv_row_dot<NT, false>(s, r, s, r, act, a.ncols, a.ntok, acc, acc);
    const float* sum = mv_reduce<NT>(acc, part);
    if (live && threadIdx.x < a.ntok) mv_store(a, s, r, sum[threadIdx.x], out);
}

// The same for float weights (F32/F16/BF16) against f32 activations (ntok, ncols).
template <int NT>
__device__ __forceinline__ void matvec_f_body(const MvArgs& a, const float* x,
                                              float* out) {
    __shared__ float part[NT][MV_BLOCK / 32];
    int row = blockIdx.x * blockDim.y + threadIdx.y;
    bool live = row < a.total_rows;
    int r = 0;
    MvSeg s = mv_segment(a, live ? row : 0, r);
    if (live) mv_prefetch(s, r);
    pdl_enter();
    const u8* wrow = s.w + (u64)r * s.row_bytes;
    float acc[NT];
#pragma unroll
    for (int t = 0; t < NT; t++) acc[t] = 0.0f;
    for (int i = threadIdx.x; live && i < a.ncols; i += blockDim.x) {
        float w = float_elem(wrow, s.type, i);
#pragma unroll
        for (int t = 0; t < NT; t++)
            if (t < a.ntok) acc[t] += w * x[(u64)t * a.ncols + i];
    }
    const float* sum = mv_reduce<NT>(acc, part);
    if (live && threadIdx.x < a.ntok) mv_store(a, s, r, sum[threadIdx.x], out);
}

#define MATVEC_FOR(NT)                                                                        \
    extern "C" __global__ void __launch_bounds__(MV_BLOCK)                               \
    matvec_q8_t##NT(MvArgs a, const u8* act, float* out) {                               \
        matvec_q8_body<NT>(a, act, out);                                                      \
    }                                                                                         \
    extern "C" __global__ void __launch_bounds__(MV_BLOCK)                               \
    matvec_f_t##NT(MvArgs a, const float* x, float* out) {                                \
        matvec_f_body<NT>(a, x, out);                                                         \
    }
MATVEC_FOR(1)
MATVEC_FOR(2)
MATVEC_FOR(4)
MATVEC_FOR(8)

// f32 (rows, cols) → Q8_1 blocks (rows, cols/32): one warp per block.
extern "C" __global__ void quantize_q8_1(const float* x, u8* dst,
                                         int n_blocks) { pdl_enter();
    int b = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (b >= n_blocks) return;
    warp_quantize_q8_1(x[(u64)b * 32 + (threadIdx.x & 31)], dst + (u64)b * Q8_1_BYTES);
}
