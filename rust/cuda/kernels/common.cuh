// Shared by every kernel. NVRTC compiles the kernel files as one program with no system
// headers (none are needed at run time), so the few types and helpers used are defined here.
// fp16 conversions go through PTX `cvt` rather than cuda_fp16.h for the same reason.

typedef unsigned char u8;
typedef signed char i8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef int i32;
typedef unsigned long long u64;

#define NEG_INF (-__int_as_float(0x7f800000))

// ggml type ids (GgmlType in rust/quant)
#define T_F32 0
#define T_F16 1
#define T_Q4_0 2
#define T_Q4_1 3
#define T_Q5_0 6
#define T_Q5_1 7
#define T_Q8_0 8
#define T_Q2_K 10
#define T_Q3_K 11
#define T_Q4_K 12
#define T_Q5_K 13
#define T_Q6_K 14
#define T_BF16 30

// What changes from one decode step to the next lives in device memory, written by the host
// before the step's kernels run, so that a captured CUDA graph replays unchanged (launch.rs).
struct Step {
    i32 pos0;  // position of the first row of this forward pass
    i32 n_ids; // token ids that follow this header
};
__device__ __forceinline__ const u32* step_ids(const Step* s) {
    return (const u32*)(s + 1);
}

// Programmatic dependent launch (sm_90+, launch.rs): each kernel is launched so that it may
// start while the one before it is still finishing, which hides the launch latency between
// the small kernels of a decode step. So every kernel first waits for its predecessor (the
// chain makes that every earlier kernel) and then lets its own successor be launched.
// Kernel parameters carry no __restrict__: with it the compiler may read activations through
// the non-coherent path ahead of the wait.
__device__ __forceinline__ void pdl_enter() {
#if __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

__device__ __forceinline__ float h2f(u16 h) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}
__device__ __forceinline__ u16 f2h(float f) {
    u16 h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
    return h;
}
__device__ __forceinline__ float bf2f(u16 b) {
    return __uint_as_float(((u32)b) << 16);
}
// 4 bytes from a 2-byte-aligned address (every GGUF block size is even).
__device__ __forceinline__ u32 ld32(const u8* p) {
    const u16* q = (const u16*)p;
    return (u32)q[0] | ((u32)q[1] << 16);
}
__device__ __forceinline__ float ldh(const u8* p) {
    return h2f(*(const u16*)p);
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum over a block of up to 1024 threads; `scratch` holds 32 floats. Every thread gets the sum.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = (blockDim.x + 31) >> 5;
    v = warp_sum(v);
    __syncthreads(); // scratch may still be read by an earlier call
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < nwarps ? scratch[lane] : 0.0f;
    return warp_sum(v);
}

// The same in f64 (LayerNorm's sums, which the CPU takes in f64); `scratch` holds 32 doubles.
__device__ __forceinline__ double block_sum_d(double v, double* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = (blockDim.x + 31) >> 5;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    __syncthreads(); // scratch may still be read by an earlier call
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < nwarps ? scratch[lane] : 0.0;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Q8_1 activation block: 32 values as int8 with an fp16 scale and fp16 d*sum(qs) (36 bytes).
#define Q8_1_BYTES 36

// Quantizes the 32 values held one per lane into the Q8_1 block at `dst` (ggml's rounding).
__device__ __forceinline__ void warp_quantize_q8_1(float v, u8* dst) {
    int lane = threadIdx.x & 31;
    float amax = warp_max(fabsf(v));
    float d = amax / 127.0f;
    int q = amax == 0.0f ? 0 : (int)roundf(v / d);
    float sum = warp_sum((float)q);
    ((i8*)(dst + 4))[lane] = (i8)q;
    if (lane == 0) {
        ((u16*)dst)[0] = f2h(d);
        ((u16*)dst)[1] = f2h(d * sum);
    }
}

__device__ __forceinline__ float silu(float x) {
    return x / (1.0f + expf(-x));
}
__device__ __forceinline__ float gelu_tanh(float x) {
    const float k = 0.7978845608028654f; // sqrt(2/pi)
    return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
}
