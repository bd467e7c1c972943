// Matrix × few-vectors for decode (ggml's "mmvq" idea): the activations are quantized to Q8_1
// blocks and every granule's dot is 4 integer dp4a's. One warp per output row; the lanes walk
// the row's granules. Up to MV_MAX_TOKENS activation rows share each weight load.
//
// Each kernel is compiled for NT = 1, 2, 4 and 8 activation rows (matvec_q8_t1 ...): the
// accumulators of a decode matvec (NT = 1) then take one register, not eight, which keeps
// more warps resident and more loads in flight.
//
// One launch can cover up to three weight matrices ("segments"), each with its own type, that
// multiply the same input: q|k|v in one pass. Epilogues: store, add into the output (a residual
// add), or a gated activation of two segments (gate, up) written as one row.

#define MV_MAX_TOKENS 8
#define MV_WARPS 4

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

// acc[t] += dot(weight row, activation row t) over this lane's granules.
template <int NT> struct RowDotQ8 {
    const u8* wrow;
    const u8* act; // Q8_1 blocks, (ntok, ncols/32)
    int act_row_bytes;
    int ngran;
    int ntok;
    float* acc;
    template <class F> __device__ __forceinline__ void run() {
        int lane = threadIdx.x & 31;
        // unrolled so that several granules' loads are in flight at once: a decode matvec of
        // a small model is bound by memory latency, not bandwidth
#pragma unroll 4
        for (int gi = lane; gi < ngran; gi += 32) {
            Granule g;
            row_granule<F>(wrow, gi, g);
            const u8* ab = act + (gi >> 1) * Q8_1_BYTES;
            const int* aq = (const int*)(ab + 4 + 16 * (gi & 1));
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
                acc[t] += ad * v;
            }
        }
    }
};

template <int NT>
__device__ __forceinline__ void mv_row_dot(const MvSeg& s, int r, const u8* act, int ncols,
                                           int ntok, float* acc) {
#pragma unroll
    for (int t = 0; t < NT; t++) acc[t] = 0.0f;
    RowDotQ8<NT> body{s.w + (u64)r * s.row_bytes, act, (ncols / 32) * Q8_1_BYTES, ncols / 16,
                      ntok, acc};
    DISPATCH_QUANT(s.type, body)
#pragma unroll
    for (int t = 0; t < NT; t++) acc[t] = warp_sum(acc[t]);
}

// acc[t] for t = this lane (acc is indexed with constants only, so it stays in registers).
template <int NT> __device__ __forceinline__ float mv_pick(const float* acc, int lane) {
    float v = acc[0];
#pragma unroll
    for (int t = 1; t < NT; t++)
        if (t == lane) v = acc[t];
    return v;
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

// Lane t < ntok writes token t's dot of row r of segment s (stored or added).
template <int NT>
__device__ __forceinline__ void mv_store(const MvArgs& a, const MvSeg& s, int r, const float* acc,
                                         float* out) {
    int lane = threadIdx.x & 31;
    if (lane >= a.ntok) return;
    float v = mv_pick<NT>(acc, lane);
    float* o = out + (u64)lane * a.out_stride + s.out_col + r;
    *o = a.mode == MV_ADD ? *o + v : v;
}

template <int NT>
__device__ __forceinline__ void matvec_q8_body(const MvArgs& a, const u8* __restrict__ act,
                                               float* __restrict__ out) {
    int row = blockIdx.x * MV_WARPS + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (row >= a.total_rows) return;
    float acc[NT];
    if (a.mode == MV_GLU_SILU || a.mode == MV_GLU_GELU) {
        float up[NT];
        mv_row_dot<NT>(a.seg[0], row, act, a.ncols, a.ntok, acc);
        mv_row_dot<NT>(a.seg[1], row, act, a.ncols, a.ntok, up);
        if (lane < a.ntok) {
            float gate = mv_pick<NT>(acc, lane);
            float g = a.mode == MV_GLU_SILU ? silu(gate) : gelu_tanh(gate);
            out[(u64)lane * a.out_stride + row] = g * mv_pick<NT>(up, lane);
        }
        return;
    }
    int r;
    MvSeg s = mv_segment(a, row, r);
    mv_row_dot<NT>(s, r, act, a.ncols, a.ntok, acc);
    mv_store<NT>(a, s, r, acc, out);
}

// The same for float weights (F32/F16/BF16) against f32 activations (ntok, ncols).
template <int NT>
__device__ __forceinline__ void matvec_f_body(const MvArgs& a, const float* __restrict__ x,
                                              float* __restrict__ out) {
    int row = blockIdx.x * MV_WARPS + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (row >= a.total_rows) return;
    int r;
    MvSeg s = mv_segment(a, row, r);
    const u8* wrow = s.w + (u64)r * s.row_bytes;
    float acc[NT];
#pragma unroll
    for (int t = 0; t < NT; t++) acc[t] = 0.0f;
    for (int i = lane; i < a.ncols; i += 32) {
        float w = float_elem(wrow, s.type, i);
#pragma unroll
        for (int t = 0; t < NT; t++)
            if (t < a.ntok) acc[t] += w * x[(u64)t * a.ncols + i];
    }
#pragma unroll
    for (int t = 0; t < NT; t++) acc[t] = warp_sum(acc[t]);
    mv_store<NT>(a, s, r, acc, out);
}

#define MATVEC_FOR(NT)                                                                        \
    extern "C" __global__ void __launch_bounds__(32 * MV_WARPS)                               \
    matvec_q8_t##NT(MvArgs a, const u8* __restrict__ act, float* __restrict__ out) {          \
        matvec_q8_body<NT>(a, act, out);                                                      \
    }                                                                                         \
    extern "C" __global__ void __launch_bounds__(32 * MV_WARPS)                               \
    matvec_f_t##NT(MvArgs a, const float* __restrict__ x, float* __restrict__ out) {          \
        matvec_f_body<NT>(a, x, out);                                                         \
    }
MATVEC_FOR(1)
MATVEC_FOR(2)
MATVEC_FOR(4)
MATVEC_FOR(8)

// f32 (rows, cols) → Q8_1 blocks (rows, cols/32): one warp per block.
extern "C" __global__ void quantize_q8_1(const float* __restrict__ x, u8* __restrict__ dst,
                                         int n_blocks) {
    int b = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (b >= n_blocks) return;
    warp_quantize_q8_1(x[(u64)b * 32 + (threadIdx.x & 31)], dst + (u64)b * Q8_1_BYTES);
}
