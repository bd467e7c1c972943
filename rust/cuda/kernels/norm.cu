// RMS norm of each `group`-element slice, times the weight, written in whichever forms the next
// step reads: f32 (optionally added into the output: Gemma's post-norm + residual), Q8_1 blocks
// for a decode matvec, f16 for a prefill GEMM. One block (up to 1024 threads) per slice.

struct NormArgs {
    int group;
    float eps;
    int add;       // out_f32 += normed instead of =
};

// A slice up to this long is staged in shared memory (read from global memory once; the
// Q8_1 pass then quantizes from there with every warp at once). Longer ones re-read x.
#define NORM_STAGE 8192

extern "C" __global__ void rms_norm(const float* x, const float* w,
                                    NormArgs a, float* out_f32, u8* out_q8,
                                    u16* out_f16) { pdl_enter();
    __shared__ float scratch[32];
    __shared__ float vals[NORM_STAGE];
    u64 base = (u64)blockIdx.x * a.group;
    const float* xs = x + base;
    bool staged = a.group <= NORM_STAGE;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < a.group; i += blockDim.x) {
        float v = xs[i];
        if (staged) vals[i] = v;
        ss += v * v;
    }
    ss = block_sum(ss, scratch);
    float scale = rsqrtf(ss / (float)a.group + a.eps);
    for (int i = threadIdx.x; i < a.group; i += blockDim.x) {
        float v = (staged ? vals[i] : xs[i]) * scale * w[i];
        if (staged) vals[i] = v;
        if (out_f16) out_f16[base + i] = f2h(v);
        if (out_f32) out_f32[base + i] = a.add ? v + out_f32[base + i] : v;
    }
    if (out_q8) {
        __syncthreads(); // vals complete
        int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
        u8* dst = out_q8 + (u64)blockIdx.x * (a.group / 32) * Q8_1_BYTES;
        for (int b = warp; b < a.group / 32; b += nwarps) {
            int i = 32 * b + lane;
            float v = staged ? vals[i] : xs[i] * scale * w[i];
            warp_quantize_q8_1(v, dst + (u64)b * Q8_1_BYTES);
        }
    }
}

// LayerNorm (Phi-2) of each `group`-element slice: (x − mean) / √(var + eps) · w + b, as the
// CPU backend's ops::layer_norm (ggml's norm, then mul and add): mean and variance from f64
// sums (the CPU sums in f64 too, in another order), 1/√ correctly rounded, and the products and
// the bias added as separate roundings (no fused multiply-add). One block (up to 1024 threads)
// per slice; x is read three times (from L1/L2 after the first).
//   x, out: (n_slices, group) f32; w, b: (group) f32.
extern "C" __global__ void layer_norm(const float* x, const float* w, const float* b, int group,
                                      float eps, float* out) { pdl_enter();
    __shared__ double scratch[32];
    u64 base = (u64)blockIdx.x * group;
    const float* xs = x + base;
    double s = 0.0;
    for (int i = threadIdx.x; i < group; i += blockDim.x) s += (double)xs[i];
    float mean = (float)block_sum_d(s, scratch) / (float)group;
    double v = 0.0;
    for (int i = threadIdx.x; i < group; i += blockDim.x) {
        float d = __fsub_rn(xs[i], mean);
        v += (double)__fmul_rn(d, d);
    }
    float var = (float)(block_sum_d(v, scratch) / (double)group);
    float scale = 1.0f / __fsqrt_rn(__fadd_rn(var, eps));
    for (int i = threadIdx.x; i < group; i += blockDim.x) {
        float d = __fsub_rn(xs[i], mean);
        out[base + i] = __fadd_rn(__fmul_rn(__fmul_rn(d, scale), w[i]), b[i]);
    }
}
