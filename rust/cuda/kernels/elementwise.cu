// The primitive element-wise ops (the forward pass's traced path, and steps no fused kernel
// covers). One thread per element.

#define EW_INDEX                                                  \
    u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;          \
    if (i >= n) return;

// a += b
extern "C" __global__ void add(float* a, const float* b, u64 n) { pdl_enter();
    EW_INDEX
    a[i] = b[i] + a[i];
}

// a /= b (qwen2moe's sigmoid as silu(x)/x); IEEE division (__fdiv_rn), as ggml_div
extern "C" __global__ void div_f32(float* a, const float* b, u64 n) { pdl_enter();
    EW_INDEX
    a[i] = __fdiv_rn(a[i], b[i]);
}

// x[r][c] += bias[c]
extern "C" __global__ void add_bias(float* x, const float* bias, int cols, u64 n) { pdl_enter();
    EW_INDEX
    x[i] += bias[i % cols];
}

// x *= s
extern "C" __global__ void scale(float* x, float s, u64 n) { pdl_enter();
    EW_INDEX
    x[i] *= s;
}

// out = act(gate) * up; act 0 SiLU, 1 GELU (tanh)
extern "C" __global__ void gated_activation(const float* gate,
                                            const float* up, int act,
                                            float* out, u64 n) { pdl_enter();
    EW_INDEX
    float g = gate[i];
    out[i] = (act == 0 ? silu(g) : gelu_tanh(g)) * up[i];
}

// Rows [row0, row0 + rows) of the two (rows, cols) halves of a stacked gate|up output
// (rows, 2*cols) → act(gate)*up (rows, cols): the prefill GLU after one GEMM of both.
extern "C" __global__ void glu_split(const float* gu, int cols, int act,
                                     float* out, u64 n) { pdl_enter();
    EW_INDEX
    u64 r = i / cols, c = i % cols;
    float g = gu[r * 2 * cols + c], u = gu[r * 2 * cols + cols + c];
    out[i] = (act == 0 ? silu(g) : gelu_tanh(g)) * u;
}

// GELU as the CPU backend's ops::gelu (ggml's table): x ≤ −10 → 0, x ≥ 10 → x, otherwise the
// tanh GELU of x rounded to f16, itself rounded to f16 (ggml's table holds f16 values indexed
// by the f16 of x), with 1 + a·x·x as one fused multiply-add as in llama.cpp's table build.
__device__ __forceinline__ float gelu_f16_table(float x) {
    if (x <= -10.0f) return 0.0f;
    if (x >= 10.0f) return x;
    float h = h2f(f2h(x));
    float u = fmaf(0.044715f * h, h, 1.0f);
    float g = __fmul_rn(__fmul_rn(0.5f, h), __fadd_rn(1.0f, tanhf(__fmul_rn(__fmul_rn(0.7978846f, h), u))));
    return h2f(f2h(g));
}

// out = act(x), ungated (Phi-2's FFN); act 0 SiLU, 1 GELU (as the CPU: see gelu_f16_table)
extern "C" __global__ void activation(const float* x, int act, float* out, u64 n) { pdl_enter();
    EW_INDEX
    out[i] = act == 0 ? silu(x[i]) : gelu_f16_table(x[i]);
}

extern "C" __global__ void copy_f32(const float* src, float* dst, u64 n) { pdl_enter();
    EW_INDEX
    dst[i] = src[i];
}

// Profiling only (WASM_CHORD_CUDA_PROFILE=1): holds the stream for `ns` nanoseconds while the
// host queues the timed launches behind it, so that they then run back to back and the events
// between them time the kernels, not the host's pace of issuing them.
extern "C" __global__ void profile_hold(u64 ns) {
    u64 t0, t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
    do {
        __nanosleep(1000);
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    } while (t - t0 < ns);
}
