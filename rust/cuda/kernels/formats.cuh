// The quantized formats, each seen as "granules" of 16 consecutive elements of a row:
//     value[i] = scale * q[i] - min        (q: 16 signed bytes, packed 4 to an int)
// Every ggml format fits that form (the K-quants' scales are per 16 or per 32 elements), so one
// matrix-vector kernel, one dequantizer and one embedding lookup serve them all: a format only
// says how to find a granule's quants, scale and min. Byte layouts are ggml's (rust/quant's
// blocks.rs documents each). `get(block, h, q, sc, mn)` reads granule h of the block at `block`.

struct Granule {
    int q[4];
    float scale;
    float min;
};

// Spreads 4 bits into bit 4 of each of 4 bytes (the 5th bit of Q5_0/Q5_1).
__device__ __forceinline__ u32 spread4_to_bit4(u32 b) {
    return ((b & 1u) << 4) | ((b & 2u) << 11) | ((b & 4u) << 18) | ((b & 8u) << 25);
}

// Q4_K/Q5_K: scale and min of sub-block j (32 elements) from the 12 packed bytes.
__device__ __forceinline__ void kscale_min(const u8* s, int j, int& sc, int& m) {
    if (j < 4) {
        sc = s[j] & 63;
        m = s[j + 4] & 63;
    } else {
        sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
        m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

// 4 quant bytes: one aligned 32-bit load where every block of the format starts on 4 bytes
// (rows and buffers do), else two 16-bit ones.
template <int BYTES> __device__ __forceinline__ u32 ldq(const u8* p) {
    if constexpr (BYTES % 4 == 0) {
        return *(const u32*)p;
    } else {
        return ld32(p);
    }
}

// 16 quant bytes in one load, where they sit on 16 bytes (Q4_K's and Q5_K's blocks are whole
// multiples of 16 bytes, so every granule's are).
__device__ __forceinline__ void ld128(const u8* p, u32* w) {
    uint4 v = *(const uint4*)p;
    w[0] = v.x;
    w[1] = v.y;
    w[2] = v.z;
    w[3] = v.w;
}

template <int T> struct Fmt;

template <> struct Fmt<T_Q4_0> {
    enum { BYTES = 18, GRANS = 2, HAS_MIN = 0 };
    static __device__ __forceinline__ void get(const u8* b, int h, Granule& g) {
#pragma unroll
        for (int k = 0; k < 4; k++)
            g.q[k] = __vsub4((ldq<BYTES>(b + 2 + 4 * k) >> (4 * h)) & 0x0F0F0F0Fu, 0x08080808u);
        g.scale = ldh(b);
        g.min = 0.0f;
    }
};

template <> struct Fmt<T_Q4_1> {
    enum { BYTES = 20, GRANS = 2, HAS_MIN = 1 };
    static __device__ __forceinline__ void get(const u8* b, int h, Granule& g) {
#pragma unroll
        for (int k = 0; k < 4; k++) g.q[k] = (ldq<BYTES>(b + 4 + 4 * k) >> (4 * h)) & 0x0F0F0F0Fu;
        g.scale = ldh(b);
        g.min = -ldh(b + 2);
    }
};

template <> struct Fmt<T_Q5_0> {
    enum { BYTES = 22, GRANS = 2, HAS_MIN = 0 };
    static __device__ __forceinline__ void get(const u8* b, int h, Granule& g) {
        u32 qh = ldq<BYTES>(b + 2) >> (16 * h);
#pragma unroll
        for (int k = 0; k < 4; k++) {
            u32 lo = (ldq<BYTES>(b + 6 + 4 * k) >> (4 * h)) & 0x0F0F0F0Fu;
            g.q[k] = __vsub4(lo | spread4_to_bit4((qh >> (4 * k)) & 0xF), 0x10101010u);
        }
        g.scale = ldh(b);
        g.min = 0.0f;
    }
};

template <> struct Fmt<T_Q5_1> {
    enum { BYTES = 24, GRANS = 2, HAS_MIN = 1 };
    static __device__ __forceinline__ void get(const u8* b, int h, Granule& g) {
        u32 qh = ldq<BYTES>(b + 4) >> (16 * h);
#pragma unroll
        for (int k = 0; k < 4; k++) {
            u32 lo = (ldq<BYTES>(b + 8 + 4 * k) >> (4 * h)) & 0x0F0F0F0Fu;
            g.q[k] = lo | spread4_to_bit4((qh >> (4 * k)) & 0xF);
        }
        g.scale = ldh(b);
        g.min = -ldh(b + 2);
    }
};

template <> struct Fmt<T_Q8_0> {
    enum { BYTES = 34, GRANS = 2, HAS_MIN = 0 };
    static __device__ __forceinline__ void get(const u8* b, int h, Granule& g) {
#pragma unroll
        for (int k = 0; k < 4; k++) g.q[k] = ldq<BYTES>(b + 2 + 16 * h + 4 * k);
        g.scale = ldh(b);
        g.min = 0.0f;
    }
};

// Q2_K: scales[16] @0, qs[64] @16, d @80, dmin @82. Granule h: 128-run n = h/8, shift
// 2*((h%8)/2), bytes 32n + 16*(h%2); scale byte h (low nibble scale, high nibble min).
template <> struct Fmt<T_Q2_K> {
    enum { BYTES = 84, GRANS = 16, HAS_MIN = 1 };
    static __device__ __forceinline__ void get(const u8* b, int h, Granule& g) {
        int n = h >> 3, shift = 2 * ((h & 7) >> 1);
        const u8* qs = b + 16 + 32 * n + 16 * (h & 1);
#pragma unroll
        for (int k = 0; k < 4; k++) g.q[k] = (ldq<BYTES>(qs + 4 * k) >> shift) & 0x03030303u;
        int s = b[h];
        g.scale = ldh(b + 80) * (float)(s & 0xF);
        g.min = ldh(b + 82) * (float)(s >> 4);
    }
};

// Q3_K: hmask[32] @0, qs[64] @32, scales[12] @96, d @108. Low 2 bits as in Q2_K; the high bit
// of element e is bit e/32 of hmask byte e%32, and a clear bit subtracts 4.
template <> struct Fmt<T_Q3_K> {
    enum { BYTES = 110, GRANS = 16, HAS_MIN = 0 };
    static __device__ __forceinline__ void get(const u8* b, int h, Granule& g) {
        int n = h >> 3, shift = 2 * ((h & 7) >> 1);
        const u8* qs = b + 32 + 32 * n + 16 * (h & 1);
        const u8* hm = b + 16 * (h & 1);
#pragma unroll
        for (int k = 0; k < 4; k++) {
            u32 lo = (ldq<BYTES>(qs + 4 * k) >> shift) & 0x03030303u;
            u32 hi = (ldq<BYTES>(hm + 4 * k) >> (h >> 1)) & 0x01010101u;
            g.q[k] = __vsub4(lo | (hi << 2), 0x04040404u);
        }
        const u8* sc = b + 96;
        int low4 = h < 8 ? (sc[h] & 0xF) : (sc[h - 8] >> 4);
        int high2 = (sc[8 + (h & 3)] >> (2 * (h >> 2))) & 3;
        g.scale = ldh(b + 108) * (float)((low4 | (high2 << 4)) - 32);
        g.min = 0.0f;
    }
};

// Q4_K: d @0, dmin @2, scales[12] @4, qs[128] @16. Sub-block j = h/2 (32 elements): bytes
// 32*(j/2) + 16*(h%2), low nibbles when j is even.
template <> struct Fmt<T_Q4_K> {
    enum { BYTES = 144, GRANS = 16, HAS_MIN = 1 };
    static __device__ __forceinline__ void get(const u8* b, int h, Granule& g) {
        int j = h >> 1;
        u32 w[4];
        ld128(b + 16 + 32 * (j >> 1) + 16 * (h & 1), w);
#pragma unroll
        for (int k = 0; k < 4; k++) g.q[k] = (w[k] >> (4 * (j & 1))) & 0x0F0F0F0Fu;
        int sc, m;
        kscale_min(b + 4, j, sc, m);
        g.scale = ldh(b) * (float)sc;
        g.min = ldh(b + 2) * (float)m;
    }
};

// Q5_K: d @0, dmin @2, scales[12] @4, qh[32] @16, qs[128] @48. Low nibbles as in Q4_K; the
// 5th bit of element e is bit e/32 of qh byte e%32.
template <> struct Fmt<T_Q5_K> {
    enum { BYTES = 176, GRANS = 16, HAS_MIN = 1 };
    static __device__ __forceinline__ void get(const u8* b, int h, Granule& g) {
        int j = h >> 1;
        u32 ws[4], wh[4];
        ld128(b + 48 + 32 * (j >> 1) + 16 * (h & 1), ws);
        ld128(b + 16 + 16 * (h & 1), wh);
#pragma unroll
        for (int k = 0; k < 4; k++) {
            u32 lo = (ws[k] >> (4 * (j & 1))) & 0x0F0F0F0Fu;
            u32 hi = (wh[k] >> j) & 0x01010101u;
            g.q[k] = lo | (hi << 4);
        }
        int sc, m;
        kscale_min(b + 4, j, sc, m);
        g.scale = ldh(b) * (float)sc;
        g.min = ldh(b + 2) * (float)m;
    }
};

// Q6_K: ql[128] @0, qh[64] @128, scales[16] @192 (int8), d @208. Per 128-run n: quarter
// qq = (h%8)/2 takes the low (qq < 2) or high nibbles of ql bytes 64n + 32*(qq%2) + l and bits
// 2qq of qh bytes 32n + l; values are q - 32; scale byte h.
template <> struct Fmt<T_Q6_K> {
    enum { BYTES = 210, GRANS = 16, HAS_MIN = 0 };
    static __device__ __forceinline__ void get(const u8* b, int h, Granule& g) {
        int n = h >> 3, qq = (h & 7) >> 1, l0 = 16 * (h & 1);
        const u8* ql = b + 64 * n + 32 * (qq & 1) + l0;
        const u8* qh = b + 128 + 32 * n + l0;
#pragma unroll
        for (int k = 0; k < 4; k++) {
            u32 lo = (ldq<BYTES>(ql + 4 * k) >> (4 * (qq >> 1))) & 0x0F0F0F0Fu;
            u32 hi = (ldq<BYTES>(qh + 4 * k) >> (2 * qq)) & 0x03030303u;
            g.q[k] = __vsub4(lo | (hi << 4), 0x20202020u);
        }
        g.scale = ldh(b + 208) * (float)((const i8*)b)[192 + h];
        g.min = 0.0f;
    }
};

// Granule gi (0-based over the whole row) of a row of format F.
template <class F> __device__ __forceinline__ void row_granule(const u8* row, int gi, Granule& g) {
    F::get(row + (gi / F::GRANS) * F::BYTES, gi % F::GRANS, g);
}

// Byte `i` of a packed int.
__device__ __forceinline__ int byte_of(int v, int i) {
    return (int)(i8)((u32)v >> (8 * i));
}

// Calls `body.template run<Fmt<T>>()` for the quantized format `ty`; false for float and
// unknown types (the host checks types at load, so that never happens for a loaded weight).
#define DISPATCH_QUANT(ty, body)                                        \
    switch (ty) {                                                       \
    case T_Q4_0: body.template run<Fmt<T_Q4_0> >(); break;              \
    case T_Q4_1: body.template run<Fmt<T_Q4_1> >(); break;              \
    case T_Q5_0: body.template run<Fmt<T_Q5_0> >(); break;              \
    case T_Q5_1: body.template run<Fmt<T_Q5_1> >(); break;              \
    case T_Q8_0: body.template run<Fmt<T_Q8_0> >(); break;              \
    case T_Q2_K: body.template run<Fmt<T_Q2_K> >(); break;              \
    case T_Q3_K: body.template run<Fmt<T_Q3_K> >(); break;              \
    case T_Q4_K: body.template run<Fmt<T_Q4_K> >(); break;              \
    case T_Q5_K: body.template run<Fmt<T_Q5_K> >(); break;              \
    case T_Q6_K: body.template run<Fmt<T_Q6_K> >(); break;              \
    default: break;                                                     \
    }

__device__ __forceinline__ bool is_float_type(int ty) {
    return ty == T_F32 || ty == T_F16 || ty == T_BF16;
}

// Element i of a row of a float format.
__device__ __forceinline__ float float_elem(const u8* row, int ty, int i) {
    if (ty == T_F32) return ((const float*)row)[i];
    if (ty == T_F16) return h2f(((const u16*)row)[i]);
    return bf2f(((const u16*)row)[i]);
}

// The 16 values of granule gi of a row of any type, through `emit(i, value)`.
template <class Emit> struct GranuleValues {
    const u8* row;
    int gi;
    Emit& emit;
    template <class F> __device__ __forceinline__ void run() {
        Granule g;
        row_granule<F>(row, gi, g);
#pragma unroll
        for (int i = 0; i < 16; i++) emit(i, g.scale * (float)byte_of(g.q[i >> 2], i & 3) - g.min);
    }
};

template <class Emit>
__device__ __forceinline__ void granule_values(const u8* row, int ty, int gi, Emit& emit) {
    if (is_float_type(ty)) {
#pragma unroll
        for (int i = 0; i < 16; i++) emit(i, float_elem(row, ty, 16 * gi + i));
        return;
    }
    GranuleValues<Emit> body{row, gi, emit};
    DISPATCH_QUANT(ty, body)
}
