// RMS norm of each `group`-element slice, times the weight, written in whichever forms the next
// step reads: f32 (optionally added into the output: Gemma's post-norm + residual), Q8_1 blocks
// for a decode matvec, f16 for a prefill GEMM. One block per slice.

struct NormArgs {
    int group;
    float eps;
    int add;       // out_f32 += normed instead of =
};

extern "C" __global__ void rms_norm(const float* __restrict__ x, const float* __restrict__ w,
                                    NormArgs a, float* out_f32, u8* __restrict__ out_q8,
                                    u16* __restrict__ out_f16) {
    __shared__ float scratch[32];
    u64 base = (u64)blockIdx.x * a.group;
    const float* xs = x + base;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < a.group; i += blockDim.x) ss += xs[i] * xs[i];
    ss = block_sum(ss, scratch);
    float scale = rsqrtf(ss / (float)a.group + a.eps);
    if (out_f32 || out_f16) {
        for (int i = threadIdx.x; i < a.group; i += blockDim.x) {
            float v = xs[i] * scale * w[i];
            if (out_f16) out_f16[base + i] = f2h(v);
            if (out_f32) out_f32[base + i] = a.add ? v + out_f32[base + i] : v;
        }
    }
    if (out_q8) {
        int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
        u8* dst = out_q8 + (u64)blockIdx.x * (a.group / 32) * Q8_1_BYTES;
        for (int b = warp; b < a.group / 32; b += nwarps) {
            int i = 32 * b + lane;
            warp_quantize_q8_1(xs[i] * scale * w[i], dst + (u64)b * Q8_1_BYTES);
        }
    }
}
