// Rotary position embedding, alone (the primitive `rope`) or fused with everything between the
// q|k|v matvec and attention: biases, Gemma's per-head q/k norms, RoPE, the q scale, and the
// store of k and v into the f16 cache. One block per (row, head).

#define ROPE_INTERLEAVED 0
#define ROPE_NEOX 1
#define ROPE_MAX_HEAD_DIM 1024

struct RopeArgs {
    int style;
    int head_dim;
    int n_rot;
    float theta_scale; // base^(-2/n_rot), from the host
    float freq_scale;
    float attn_factor;         // multiplies cos and sin (ggml's mscale; 1 = none)
    const float* freq_factors; // (n_rot/2) or null
};

// The angle of rotation pair i at position pos: pos · theta_scale^i · freq_scale / factor, with
// the power as ggml's CPU rope cache forms it (i f32 multiplications in turn, not a pow): at
// position 10⁴ the two differ by ~10⁻³ radians, which the KL check against the CPU would see.
__device__ __forceinline__ float rope_theta(const RopeArgs& r, int pos, int i) {
    float theta = (float)pos;
    for (int k = 0; k < i; k++) theta *= r.theta_scale;
    float ff = r.freq_factors ? r.freq_factors[i] : 1.0f;
    return r.freq_scale * (theta / ff);
}

// Rotates the head held in `h` (shared memory) and hands each element to `emit(i, value)`.
template <class Emit>
__device__ __forceinline__ void rope_head(const float* h, const RopeArgs& r, int pos, Emit& emit) {
    int half = r.n_rot / 2;
    for (int p = threadIdx.x; p < half; p += blockDim.x) {
        int i0 = r.style == ROPE_NEOX ? p : 2 * p;
        int i1 = r.style == ROPE_NEOX ? p + half : 2 * p + 1;
        float s, c;
        sincosf(rope_theta(r, pos, p), &s, &c);
        s *= r.attn_factor;
        c *= r.attn_factor;
        float x0 = h[i0], x1 = h[i1];
        emit(i0, x0 * c - x1 * s);
        emit(i1, x0 * s + x1 * c);
    }
    for (int i = r.n_rot + threadIdx.x; i < r.head_dim; i += blockDim.x) emit(i, h[i]);
}

struct EmitF32 {
    float* dst;
    float scale;
    __device__ __forceinline__ void operator()(int i, float v) { dst[i] = v * scale; }
};
struct EmitF16 {
    u16* dst;
    __device__ __forceinline__ void operator()(int i, float v) { dst[i] = f2h(v); }
};

// x (rows, n_heads*head_dim) rotated in place; row t at position step->pos0 + t.
extern "C" __global__ void rope(float* x, int n_heads, RopeArgs r, const Step* step) { pdl_enter();
    __shared__ float h[ROPE_MAX_HEAD_DIM];
    int t = blockIdx.x, head = blockIdx.y;
    float* src = x + ((u64)t * n_heads + head) * r.head_dim;
    for (int i = threadIdx.x; i < r.head_dim; i += blockDim.x) h[i] = src[i];
    __syncthreads();
    EmitF32 emit{src, 1.0f};
    rope_head(h, r, step->pos0 + t, emit);
}

struct QkvArgs {
    int n_head;
    int n_head_kv;
    int kv_dim;        // n_head_kv * head_dim: a cache row
    const float* bq;   // biases (n_head*head_dim), (kv_dim), (kv_dim) or null
    const float* bk;
    const float* bv;
    const float* q_norm; // per-head RMS norm weights (head_dim) or null
    const float* k_norm;
    float eps;
    float q_scale;
};

// qkv (rows, q | k | v) → q_out (rows, n_head*head_dim); k and v into the cache rows
// step->pos0 + t of k_cache/v_cache (f16, kv_dim per row).
extern "C" __global__ void qkv_rope_store(const float* qkv, QkvArgs a, RopeArgs r,
                                          const Step* step, float* q_out,
                                          u16* k_cache, u16* v_cache) { pdl_enter();
    __shared__ float h[ROPE_MAX_HEAD_DIM];
    __shared__ float scratch[32];
    int t = blockIdx.x, slot = blockIdx.y, hd = r.head_dim;
    int q_dim = a.n_head * hd, row = q_dim + 2 * a.kv_dim;
    int pos = step->pos0 + t;
    const float* src;
    const float* bias;
    const float* norm;
    int kind; // 0 q, 1 k, 2 v
    int head;
    if (slot < a.n_head) {
        kind = 0, head = slot, src = qkv + (u64)t * row + head * hd, bias = a.bq, norm = a.q_norm;
    } else if (slot < a.n_head + a.n_head_kv) {
        kind = 1, head = slot - a.n_head;
        src = qkv + (u64)t * row + q_dim + head * hd, bias = a.bk, norm = a.k_norm;
    } else {
        kind = 2, head = slot - a.n_head - a.n_head_kv;
        src = qkv + (u64)t * row + q_dim + a.kv_dim + head * hd, bias = a.bv, norm = 0;
    }
    float ss = 0.0f;
    for (int i = threadIdx.x; i < hd; i += blockDim.x) {
        float v = src[i] + (bias ? bias[head * hd + i] : 0.0f);
        h[i] = v;
        ss += v * v;
    }
    if (norm) {
        ss = block_sum(ss, scratch); // syncs, so h is complete too
        float s = rsqrtf(ss / (float)hd + a.eps);
        for (int i = threadIdx.x; i < hd; i += blockDim.x) h[i] = h[i] * s * norm[i];
    }
    __syncthreads();
    if (kind == 0) {
        EmitF32 emit{q_out + ((u64)t * a.n_head + head) * hd, a.q_scale};
        rope_head(h, r, pos, emit);
    } else if (kind == 1) {
        EmitF16 emit{k_cache + (u64)pos * a.kv_dim + head * hd};
        rope_head(h, r, pos, emit);
    } else {
        u16* dst = v_cache + (u64)pos * a.kv_dim + head * hd;
        for (int i = threadIdx.x; i < hd; i += blockDim.x) dst[i] = f2h(h[i]);
    }
}

// The primitive store: k, v (rows, kv_dim) f32 → cache rows step->pos0 + t.
extern "C" __global__ void store_kv(const float* k, const float* v,
                                    int kv_dim, const Step* step,
                                    u16* k_cache, u16* v_cache) { pdl_enter();
    int t = blockIdx.y;
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= kv_dim) return;
    u64 dst = (u64)(step->pos0 + t) * kv_dim + i;
    k_cache[dst] = f2h(k[(u64)t * kv_dim + i]);
    v_cache[dst] = f2h(v[(u64)t * kv_dim + i]);
}
