// Weights to floats: rows of any format to f16 (the tiles cuBLAS multiplies in prefill) and
// embedding rows to f32. One thread per granule (16 elements).

// Gathers a granule's 16 halves in registers (granule_values emits them with constant
// indices), then writes them as two 16-byte stores instead of sixteen 2-byte ones.
struct PackF16 {
    u32 h[8];
    __device__ __forceinline__ void operator()(int i, float v) {
        u32 b = f2h(v);
        h[i >> 1] = (i & 1) ? (h[i >> 1] | (b << 16)) : b;
    }
    // dst: 32-byte aligned (a granule of a row whose length is a multiple of 32)
    __device__ __forceinline__ void store(u16* dst) const {
        uint4* d = (uint4*)dst;
        d[0] = make_uint4(h[0], h[1], h[2], h[3]);
        d[1] = make_uint4(h[4], h[5], h[6], h[7]);
    }
};
struct StoreF32 {
    float* dst;
    float scale;
    __device__ __forceinline__ void operator()(int i, float v) { dst[i] = v * scale; }
};

// Rows [row0, row0 + n_rows) of a (rows, cols) weight → f16 (n_rows, cols).
extern "C" __global__ void dequant_f16(const u8* w, int type, int row_bytes,
                                       int cols, int row0, int n_rows, u16* dst) { pdl_enter();
    int per_row = cols / 16;
    u64 gid = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (gid >= (u64)n_rows * per_row) return;
    int r = (int)(gid / per_row), gi = (int)(gid % per_row);
    PackF16 pack;
    granule_values(w + (u64)(row0 + r) * row_bytes, type, gi, pack);
    pack.store(dst + (u64)r * cols + 16 * gi);
}

// out (n, cols) = table rows ids[0..n) × scale. The ids are the step's (see Step) so that a
// decode step's graph replays with the new token.
extern "C" __global__ void embed(const u8* table, int type, int row_bytes,
                                 int cols, int n_vocab, const Step* step,
                                 float scale, float* out) { pdl_enter();
    int t = blockIdx.y;
    int gi = blockIdx.x * blockDim.x + threadIdx.x;
    if (gi >= cols / 16 || t >= step->n_ids) return;
    u32 id = step_ids(step)[t];
    float* dst = out + (u64)t * cols + 16 * gi;
    if (id >= (u32)n_vocab) { // checked on the host too; never read out of bounds
        for (int i = 0; i < 16; i++) dst[i] = 0.0f;
        return;
    }
    StoreF32 emit{dst, scale};
    granule_values(table + (u64)id * row_bytes, type, gi, emit);
}

extern "C" __global__ void f32_to_f16(const float* x, u16* y, u64 n) { pdl_enter();
    u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = f2h(x[i]);
}
