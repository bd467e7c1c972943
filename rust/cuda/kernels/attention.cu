// Causal (optionally windowed) grouped-query attention over the f16 cache, flash style: keys
// and values go through shared memory 32 at a time with an online softmax, so no score matrix
// is ever stored. One warp per (query row, head); the warps of a block share one KV head, so a
// tile loaded once serves every query head of its group. Decode splits the keys across
// `n_split` blocks to fill the card at one query row; the last of them to finish merges the
// partials (a per-tile counter, reset by that block, so a replayed graph finds it zero).

#define ATT_WARPS 8
#define ATT_TILE 32

struct AttnArgs {
    int rows;
    int n_head;
    int n_head_kv;
    int head_dim;
    int kv_dim;
    int window;    // 0: none; else a query at p sees keys > p - window
    int n_split;   // blocks along the keys; 1 writes the output directly
    int split_len; // keys per split (a multiple of ATT_TILE)
    float scale;   // multiplies q·k
    float softcap; // > 0: scores are softcap·tanh(scale·q·k) (Gemma 2; scale already / softcap)
};

// Each kernel is compiled once per head size (PER = head_dim / 32 values per lane), so that a
// lane's accumulators are registers: indexed with a run-time bound they would live in local
// memory, which made prefill attention ~10x slower. Names: attention_hd64 etc. (kernels.rs).
// Head sizes that are not a multiple of 32 (any even size up to 256: the random test models'
// 16, Phi-2's 80, …) take the instance of the next multiple, attention_any{32·PER}, which reads
// the head size at run time (HD = 0 below) and leaves the lanes past it idle: the accumulators
// are still PER registers with constant indices, only guarded by `lane + 32·i < hd`.

// Writes one (row, head) of attention output: f32, and Q8_1 blocks for the next matvec.
// out_q8 is null unless hd is a multiple of 32 (a Q8_1 block then never spans two heads).
template <int PER>
__device__ __forceinline__ void attn_write(const AttnArgs& a, int hd, int t, int h,
                                           const float* o, float* out, u8* out_q8) {
    int lane = threadIdx.x & 31;
    u64 base = ((u64)t * a.n_head + h) * hd;
#pragma unroll
    for (int i = 0; i < PER; i++) {
        if (lane + 32 * i < hd) out[base + lane + 32 * i] = o[i];
        if (out_q8) warp_quantize_q8_1(o[i], out_q8 + (base / 32 + i) * Q8_1_BYTES);
    }
}

// A partial written by another block of this launch, read past L1 (not coherent across SMs).
__device__ __forceinline__ float ld_cg(const float* p) {
    float v;
    asm volatile("ld.global.cg.f32 %0, [%1];" : "=f"(v) : "l"(p));
    return v;
}

// Merges the n_split partials (m, l, acc[hd]) of (row t, head h) into the output: one warp.
template <int PER>
__device__ __forceinline__ void attention_merge(const AttnArgs& a, int hd, int t, int h,
                                                const float* part, float* out, u8* out_q8) {
    int lane = threadIdx.x & 31;
    u64 stride = (u64)a.rows * a.n_head * (hd + 2);
    const float* p0 = part + ((u64)t * a.n_head + h) * (hd + 2);
    float big = NEG_INF;
    for (int s = 0; s < a.n_split; s++) big = fmaxf(big, ld_cg(p0 + s * stride));
    float l = 0.0f, o[PER];
#pragma unroll
    for (int i = 0; i < PER; i++) o[i] = 0.0f;
    if (big != NEG_INF) {
        for (int s = 0; s < a.n_split; s++) {
            const float* ps = p0 + s * stride;
            float ms = ld_cg(ps);
            if (ms == NEG_INF) continue;
            float w = __expf(ms - big);
            l += ld_cg(ps + 1) * w;
#pragma unroll
            for (int i = 0; i < PER; i++)
                if (lane + 32 * i < hd) o[i] += ld_cg(ps + 2 + lane + 32 * i) * w;
        }
    }
    float inv = l > 0.0f ? 1.0f / l : 0.0f;
#pragma unroll
    for (int i = 0; i < PER; i++) o[i] *= inv;
    attn_write<PER>(a, hd, t, h, o, out, out_q8);
}

// HD: the head size, 32·PER; 0: a.head_dim (even, in (32·(PER−1), 32·PER]), read at run time.
template <int PER, int HD>
__device__ __forceinline__ void
attention_body(const float* q, const u16* k_cache,
               const u16* v_cache, const AttnArgs& a, const Step* step,
               float* out, u8* out_q8, float* part, int* counters) {
    constexpr int max_hd = 32 * PER;
    const int hd = HD ? HD : a.head_dim, hw = hd / 2, kstride = hw + 1;
    __shared__ float s_q[ATT_WARPS][max_hd];
    __shared__ u32 s_k[ATT_TILE * (max_hd / 2 + 1)]; // (keys, hw) padded to kstride
    __shared__ u16 s_v[ATT_TILE * max_hd];           // (keys, hd)

    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int group = a.n_head / a.n_head_kv, hk = blockIdx.y, split = blockIdx.z;
    int n_items = a.rows * group;
    int item0 = blockIdx.x * ATT_WARPS, item = item0 + warp;
    bool active = item < n_items;
    int t = (active ? item : n_items - 1) / group;
    int h = hk * group + (active ? item : n_items - 1) % group;
    int pos0 = step->pos0, pos = pos0 + t;

    // keys this block needs: those of its first row's window start to its last row
    int t_lo = item0 / group, t_hi = min(item0 + ATT_WARPS, n_items) / group;
    t_hi = min(t_hi, a.rows - 1);
    int k_end = pos0 + t_hi + 1;
    int k_begin = a.window > 0 ? max(0, pos0 + t_lo - a.window + 1) : 0;
    int s_begin = split * a.split_len, s_end = s_begin + a.split_len;
    k_begin = max(k_begin, s_begin) / ATT_TILE * ATT_TILE;
    k_end = min(k_end, s_end);

    for (int i = lane; i < hd; i += 32) s_q[warp][i] = q[((u64)t * a.n_head + h) * hd + i];

    float m = NEG_INF, l = 0.0f, acc[PER];
#pragma unroll
    for (int i = 0; i < PER; i++) acc[i] = 0.0f;

    for (int kb = k_begin; kb < k_end; kb += ATT_TILE) {
        __syncthreads();
        for (int w = threadIdx.x; w < ATT_TILE * hw; w += blockDim.x) {
            int key = w / hw, j = w % hw;
            u32 kv = 0, vv = 0;
            if (kb + key < k_end) {
                u64 off = (u64)(kb + key) * a.kv_dim + hk * hd + 2 * j;
                kv = *(const u32*)(k_cache + off);
                vv = *(const u32*)(v_cache + off);
            }
            s_k[key * kstride + j] = kv;
            ((u32*)s_v)[key * hw + j] = vv;
        }
        __syncthreads();
        if (!active) continue;

        int key = kb + lane;
        bool valid = key < k_end && key <= pos && (a.window == 0 || key > pos - a.window);
        float dot = 0.0f;
        const u32* kr = s_k + lane * kstride;
#pragma unroll 8
        for (int j = 0; j < hw; j++) {
            u32 kk = kr[j];
            dot += s_q[warp][2 * j] * h2f((u16)kk) + s_q[warp][2 * j + 1] * h2f((u16)(kk >> 16));
        }
        float s = dot * a.scale;
        if (a.softcap > 0.0f) s = a.softcap * tanhf(s);
        s = valid ? s : NEG_INF;
        float m_new = fmaxf(m, warp_max(s));
        if (m_new == NEG_INF) continue; // nothing visible yet
        float p = valid ? __expf(s - m_new) : 0.0f;
        float corr = __expf(m - m_new);
        l = l * corr + warp_sum(p);
#pragma unroll
        for (int i = 0; i < PER; i++) acc[i] *= corr;
        for (int k = 0; k < ATT_TILE; k++) {
            float pk = __shfl_sync(0xffffffffu, p, k);
            if (pk == 0.0f) continue;
            const u16* vr = s_v + k * hd + lane;
#pragma unroll
            for (int i = 0; i < PER; i++)
                if (HD || lane + 32 * i < hd) acc[i] += pk * h2f(vr[32 * i]);
        }
        m = m_new;
    }
    if (a.n_split == 1) {
        if (!active) return;
        float o[PER];
        float inv = l > 0.0f ? 1.0f / l : 0.0f;
#pragma unroll
        for (int i = 0; i < PER; i++) o[i] = acc[i] * inv;
        attn_write<PER>(a, hd, t, h, o, out, out_q8);
        return;
    }
    if (active) {
        float* pp = part + (((u64)split * a.rows + t) * a.n_head + h) * (hd + 2);
        if (lane == 0) {
            pp[0] = m;
            pp[1] = l;
        }
#pragma unroll
        for (int i = 0; i < PER; i++)
            if (lane + 32 * i < hd) pp[2 + lane + 32 * i] = acc[i];
    }
    // the last split of this tile to get here merges them all
    __shared__ int last;
    __threadfence(); // this block's partials are visible before its count
    __syncthreads();
    if (threadIdx.x == 0) {
        int* c = counters + blockIdx.y * gridDim.x + blockIdx.x;
        last = atomicAdd(c, 1) == a.n_split - 1;
        if (last) *c = 0;
    }
    __syncthreads();
    if (last && active) attention_merge<PER>(a, hd, t, h, part, out, out_q8);
}

#define ATTENTION_FOR(NAME, PER, HD)                                                           \
    extern "C" __global__ void __launch_bounds__(32 * ATT_WARPS)                               \
    NAME(const float* q, const u16* k_cache, const u16* v_cache, AttnArgs a,                   \
         const Step* step, float* out, u8* out_q8, float* part, int* counters) {               \
        pdl_enter();                                                                           \
        attention_body<PER, HD>(q, k_cache, v_cache, a, step, out, out_q8, part, counters);   \
    }
ATTENTION_FOR(attention_hd32, 1, 32)
ATTENTION_FOR(attention_hd64, 2, 64)
ATTENTION_FOR(attention_hd96, 3, 96)
ATTENTION_FOR(attention_hd128, 4, 128)
ATTENTION_FOR(attention_hd160, 5, 160)
ATTENTION_FOR(attention_hd192, 6, 192)
ATTENTION_FOR(attention_hd224, 7, 224)
ATTENTION_FOR(attention_hd256, 8, 256)
ATTENTION_FOR(attention_any32, 1, 0)
ATTENTION_FOR(attention_any64, 2, 0)
ATTENTION_FOR(attention_any96, 3, 0)
ATTENTION_FOR(attention_any128, 4, 0)
ATTENTION_FOR(attention_any160, 5, 0)
ATTENTION_FOR(attention_any192, 6, 0)
ATTENTION_FOR(attention_any224, 7, 0)
ATTENTION_FOR(attention_any256, 8, 0)
