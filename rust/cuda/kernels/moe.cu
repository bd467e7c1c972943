// Mixture-of-experts (mixtral-style, llama.cpp's build_moe_ffn): the routing, the expert
// matmul (ggml's mul_mat_id) and the weighted sum, all on the device: the expert ids the router
// picks are read by the expert matmul from device memory, so a decode step with experts is the
// same launch list at every step (a CUDA graph replays it, launch.rs) and no host loop waits
// for the ids. Mirrors shaders/moe_route.wgsl, matmul_id.wgsl and moe_combine.wgsl; the
// reference is the CPU backend's moe.rs. Expert ids travel as whole numbers stored in f32
// (the Backend trait's convention).

// Per row of router logits (rows, n_expert): the softmax over all experts, the k most probable
// in descending order (ties: the lower id first) and their probabilities, divided by their sum
// (clamped below at 2^-14) when `norm`, as the CPU's moe::route: exp(l − max) summed in f64, each
// probability times the f32 of 1/sum. One thread per row; the selection walks the row k times,
// each time taking the best expert ranked after the previous pick (no scratch array).
//   logits (rows, n_expert) → ids (rows, k), weights (rows, k)
extern "C" __global__ void moe_route(const float* logits, int rows, int n_expert, int k, int norm,
                                     float* ids, float* weights) { pdl_enter();
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= rows) return;
    const float* l = logits + (u64)t * n_expert;
    float mx = l[0];
    for (int e = 1; e < n_expert; e++) mx = fmaxf(mx, l[e]);
    double sum = 0.0;
    for (int e = 0; e < n_expert; e++) sum += (double)expf(l[e] - mx);
    float inv = (float)(1.0 / sum);
    // (prev_p, prev_e): the last pick; (p, e) ranks before (q, f) when p > q, or p == q and e < f
    float prev_p = 2.0f;
    int prev_e = -1;
    double total = 0.0;
    for (int s = 0; s < k; s++) {
        float best_p = -1.0f;
        int best_e = 0;
        for (int e = 0; e < n_expert; e++) {
            float p = __fmul_rn(expf(l[e] - mx), inv);
            bool after_prev = p < prev_p || (p == prev_p && e > prev_e);
            if (after_prev && p > best_p) {
                best_p = p;
                best_e = e;
            }
        }
        ids[(u64)t * k + s] = (float)best_e;
        weights[(u64)t * k + s] = best_p;
        total += (double)best_p;
        prev_p = best_p;
        prev_e = best_e;
    }
    if (norm) {
        float d = fmaxf((float)total, 6.103515625e-5f); // 2^-14, llama.cpp's clamp
        for (int s = 0; s < k; s++) weights[(u64)t * k + s] = __fdiv_rn(weights[(u64)t * k + s], d);
    }
}

// The weighted sum of each row's k expert outputs, as the CPU's moe::combine (llama.cpp's
// ggml_mul, then ggml_add of the k views): out[t][c] = Σ_s w[t][s] · y[t·k + s][c], each product
// rounded, then added in slot order (no fused multiply-add). One thread per output.
//   y (rows·k, n), w (rows, k) → out (rows, n)
extern "C" __global__ void moe_combine(const float* y, const float* w, int k, int cols,
                                       float* out, u64 n) { pdl_enter();
    EW_INDEX
    u64 t = i / cols, c = i % cols;
    float acc = __fmul_rn(y[(t * k) * cols + c], w[t * k]);
    for (int s = 1; s < k; s++) acc = __fadd_rn(acc, __fmul_rn(y[(t * k + s) * cols + c], w[t * k + s]));
    out[i] = acc;
}

struct IdArgs {
    const u8* w;   // n_expert matrices of `rows` rows stacked: expert e at rows e·rows ..
    int type;      // ggml type id
    int rows;      // rows per expert (R)
    int row_bytes;
    int ncols;
    int n_expert;
    int k;         // slots per activation row
    int shared;    // 1: one input row per row t serves its k slots (up, gate); 0: one per pair
};

// The expert id of pair p, or −1 when the value is no whole number below n_expert (never from
// moe_route; the output of such a pair is 0 rather than a read out of bounds).
__device__ __forceinline__ int expert_of(const IdArgs& a, const float* ids, int p) {
    float v = ids[p];
    int e = (int)v;
    return v >= 0.0f && (float)e == v && e < a.n_expert ? e : -1;
}

// ggml's mul_mat_id for one pair per blockIdx.y: out[p][r] = w[ids[p]·R + r] · x[a], a = p/k
// (shared) or p, for the R rows of the chosen expert only. Each row is a decode matvec row
// (matvec.cu's granule loop and reduction: blockDim.y rows × blockDim.x threads per row) over
// the Q8_1 blocks of x (quantized weights) or x itself (float weights). Prefill runs the same
// kernel for every (row, slot) pair: correct, but each pair reads its expert's weights again
// (from L2 for small experts); a grouped GEMM per expert would be the fast path for long
// prompts. No weight prefetch before the wait: the rows depend on the ids just written.
//   act: Q8_1 (x_rows, ncols/32) or f32 (x_rows, ncols); ids (pairs) f32; out (pairs, R) f32
extern "C" __global__ void __launch_bounds__(MV_BLOCK)
matmul_id_q8(IdArgs a, const u8* act, const float* ids, float* out) {
    __shared__ float part[1][MV_BLOCK / 32];
    pdl_enter();
    int p = blockIdx.y, row = blockIdx.x * blockDim.y + threadIdx.y;
    int e = expert_of(a, ids, p);
    bool live = row < a.rows && e >= 0;
    int xa = a.shared ? p / a.k : p;
    MvSeg s{a.w + (u64)(live ? e : 0) * a.rows * a.row_bytes, a.type, a.rows, a.row_bytes, 0};
    float acc[1] = {0.0f};
    if (live)
        mv_row_dot<1, false>(s, row, s, row, act + (u64)xa * (a.ncols / 32) * Q8_1_BYTES, a.ncols,
                             1, acc, acc);
    const float* sum = mv_reduce<1>(acc, part);
    if (row < a.rows && threadIdx.x == 0) out[(u64)p * a.rows + row] = e >= 0 ? sum[0] : 0.0f;
}

extern "C" __global__ void __launch_bounds__(MV_BLOCK)
matmul_id_f(IdArgs a, const float* x, const float* ids, float* out) {
    __shared__ float part[1][MV_BLOCK / 32];
    pdl_enter();
    int p = blockIdx.y, row = blockIdx.x * blockDim.y + threadIdx.y;
    int e = expert_of(a, ids, p);
    bool live = row < a.rows && e >= 0;
    const float* xr = x + (u64)(a.shared ? p / a.k : p) * a.ncols;
    const u8* wrow = a.w + ((u64)(live ? e : 0) * a.rows + (live ? row : 0)) * a.row_bytes;
    float acc[1] = {0.0f};
    for (int i = threadIdx.x; live && i < a.ncols; i += blockDim.x)
        acc[0] += float_elem(wrow, a.type, i) * xr[i];
    const float* sum = mv_reduce<1>(acc, part);
    if (row < a.rows && threadIdx.x == 0) out[(u64)p * a.rows + row] = e >= 0 ? sum[0] : 0.0f;
}
