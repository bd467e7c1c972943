// Golden dumps for the wasm-chord `quant` crate, produced by llama.cpp's ggml (built from source).
//
// For every ggml type the crate supports this writes <out>/<name>.bin:
//   * the quantized bytes ggml_quantize_chunk makes from a deterministic input (no imatrix, so the
//     reference quantizers `quantize_row_*_ref` run; Q8_1 and Q8_K, which quantize_chunk refuses,
//     go through their *_ref functions directly),
//   * those bytes dequantized by ggml's to_float (dequantize_row_q8_K for Q8_K; Q8_1 has none),
//   * a fixed activation quantized to the type's vec_dot_type by the CPU backend's from_float, and
//     the CPU backend's vec_dot of every weight row with it (the SIMD build for this host, plus the
//     scalar *_generic kernel where libggml-cpu exports one).
// and <out>/float.bin with hashes of ggml's fp16/bf16 conversions (see write_float_hashes).
//
// The inputs are NOT stored: they come from the small generator below, which the Rust tests
// reproduce operation for operation (rust/quant/tests/common/mod.rs). The header carries a hash of
// the inputs so a mismatch between the two generators fails loudly instead of comparing garbage.
// Build with -ffp-contract=off so the generator's float ops are not fused (Rust never fuses).
//
// File layout (little-endian), version 1:
//   0  char[4] "WCQD"         4  u32 version = 1      8  u32 ggml type id   12 u32 vec_dot type id
//   16 u32 n_rows            20  u32 n_per_row       24 u32 flags          28 u32 FNV-1a of input bits
//   32 u32 FNV-1a of activation bits                 36 u32 reserved (0)
//   40 quantized rows                       n_rows * row_size(type, n_per_row) bytes
//      dequantized floats        (FLAG_DEQUANT)     n_rows * n_per_row f32
//      activation, quantized     (FLAG_VEC_DOT)     row_size(vec_dot_type, n_per_row) bytes
//      vec_dot per row, CPU SIMD (FLAG_VEC_DOT)     n_rows f32
//      vec_dot per row, generic  (FLAG_GENERIC)     n_rows f32

#include "ggml.h"
#include "ggml-cpu.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Exported by libggml-base (ggml-quants.h is internal, so declare what we use).
void quantize_row_q8_1_ref(const float * x, void * y, int64_t k);
void quantize_row_q8_K_ref(const float * x, void * y, int64_t k);
void dequantize_row_q8_K(const void * x, float * y, int64_t k);

// Scalar kernels exported by libggml-cpu next to the SIMD ones on x86.
typedef void (*vec_dot_fn)(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q4_0_q8_0_generic(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q4_1_q8_1_generic(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q5_0_q8_0_generic(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q5_1_q8_1_generic(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q8_0_q8_0_generic(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q2_K_q8_K_generic(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q3_K_q8_K_generic(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q4_K_q8_K_generic(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q5_K_q8_K_generic(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q6_K_q8_K_generic(int, float *, size_t, const void *, size_t, const void *, size_t, int);

enum { FLAG_DEQUANT = 1, FLAG_VEC_DOT = 2, FLAG_GENERIC = 4 };

#define N_ROWS 3
#define N_PER_ROW 512

// ---- deterministic inputs (mirrored in rust/quant/tests/common/mod.rs) -------------------------

typedef struct { uint32_t s; } rng_t;

static uint32_t rng_next(rng_t * r) { // xorshift32
    uint32_t x = r->s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    r->s = x;
    return x;
}

static float rng_unit(rng_t * r) { // [0, 1), exact: a 24-bit integer times 2^-24
    return (float)(rng_next(r) >> 8) * (1.0f / 16777216.0f);
}

static float rng_pm1(rng_t * r) { return 2.0f * rng_unit(r) - 1.0f; }

static float rng_normalish(rng_t * r) { // sum of four uniforms: bell-shaped, in (-4, 4)
    float a = rng_pm1(r);
    float b = rng_pm1(r);
    float c = rng_pm1(r);
    float d = rng_pm1(r);
    return ((a + b) + c) + d;
}

// Three rows of 512 covering the paths the quantizers branch on.
static void make_input(uint32_t seed, float * x) {
    rng_t r = { seed };
    // row 0: bell-shaped values whose scale changes every 16 elements (2^-6 .. 2^2)
    for (int g = 0; g < N_PER_ROW / 16; g++) {
        int e = (int)(rng_next(&r) % 9) - 6;
        float scale = 1.0f;
        for (; e > 0; e--) scale *= 2.0f;
        for (; e < 0; e++) scale *= 0.5f;
        for (int i = 0; i < 16; i++) x[g * 16 + i] = rng_normalish(&r) * scale;
    }
    // row 1: one edge case per 32-element chunk
    float * y = x + N_PER_ROW;
    for (int c = 0; c < 16; c++) {
        float * z = y + 32 * c;
        for (int i = 0; i < 32; i++) {
            float v;
            switch (c) {
                case 0:  v = 0.0f; break;                                 // all zero
                case 1:  v = 0.25f; break;                                // constant
                case 2:  v = rng_unit(&r) + 0.1f; break;                  // all positive
                case 3:  v = -(rng_unit(&r) + 0.1f); break;               // all negative
                case 4:  v = rng_normalish(&r) * 1e-20f; break;           // below GROUP_MAX_EPS
                case 5:  v = i == 7 ? 50.0f : rng_pm1(&r) * 0.01f; break; // one outlier
                case 6:  v = (float)(i - 16); break;                      // integer ramp
                case 7:  v = rng_normalish(&r) * 3.0f; break;
                case 8:  v = rng_normalish(&r) * 1e-6f; break;            // fp16 scales go subnormal
                case 9:  v = rng_normalish(&r) * 1e4f; break;             // large
                case 10: v = (i & 1) ? 1.0f : -1.0f; break;               // alternating
                case 11: v = -3.0f; break;                                // negative constant
                case 12: v = i < 16 ? 0.0f : rng_normalish(&r); break;    // half zero
                default: v = rng_normalish(&r); break;
            }
            z[i] = v;
        }
    }
    // row 2: a zero super-block, then heavy-tailed values (cubes of uniforms, up to +-8)
    float * w = x + 2 * N_PER_ROW;
    for (int i = 0; i < 256; i++) w[i] = 0.0f;
    for (int i = 256; i < N_PER_ROW; i++) {
        float u = rng_pm1(&r);
        w[i] = u * u * u * 8.0f;
    }
}

static void make_activation(uint32_t seed, float * a) {
    rng_t r = { seed };
    for (int i = 0; i < N_PER_ROW; i++) a[i] = rng_normalish(&r) * 0.5f;
}

static uint32_t fnv1a_u32(uint32_t h, uint32_t v) {
    for (int i = 0; i < 4; i++) {
        h ^= (v >> (8 * i)) & 0xFF;
        h *= 16777619u;
    }
    return h;
}

static uint32_t hash_floats(const float * x, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        uint32_t b;
        memcpy(&b, &x[i], 4);
        h = fnv1a_u32(h, b);
    }
    return h;
}

// ---- dumps --------------------------------------------------------------------------------------

static void put_u32(FILE * f, uint32_t v) {
    uint8_t b[4] = { v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF, (v >> 24) & 0xFF };
    fwrite(b, 1, 4, f);
}

static vec_dot_fn generic_for(enum ggml_type t) {
    switch (t) {
        case GGML_TYPE_Q4_0: return ggml_vec_dot_q4_0_q8_0_generic;
        case GGML_TYPE_Q4_1: return ggml_vec_dot_q4_1_q8_1_generic;
        case GGML_TYPE_Q5_0: return ggml_vec_dot_q5_0_q8_0_generic;
        case GGML_TYPE_Q5_1: return ggml_vec_dot_q5_1_q8_1_generic;
        case GGML_TYPE_Q8_0: return ggml_vec_dot_q8_0_q8_0_generic;
        case GGML_TYPE_Q2_K: return ggml_vec_dot_q2_K_q8_K_generic;
        case GGML_TYPE_Q3_K: return ggml_vec_dot_q3_K_q8_K_generic;
        case GGML_TYPE_Q4_K: return ggml_vec_dot_q4_K_q8_K_generic;
        case GGML_TYPE_Q5_K: return ggml_vec_dot_q5_K_q8_K_generic;
        case GGML_TYPE_Q6_K: return ggml_vec_dot_q6_K_q8_K_generic;
        default: return NULL;
    }
}

static int dump_type(const char * dir, enum ggml_type t, const char * file_name, uint32_t seed) {
    const int64_t n = (int64_t) N_ROWS * N_PER_ROW;
    const size_t row_size = ggml_row_size(t, N_PER_ROW);

    float * x = malloc(n * sizeof(float));
    float * deq = malloc(n * sizeof(float));
    float * act = malloc(N_PER_ROW * sizeof(float));
    uint8_t * q = calloc(N_ROWS, row_size);
    make_input(seed, x);
    make_activation(seed ^ 0x9E3779B9u, act);

    // quantize
    if (t == GGML_TYPE_Q8_1) {
        quantize_row_q8_1_ref(x, q, n);
    } else if (t == GGML_TYPE_Q8_K) {
        quantize_row_q8_K_ref(x, q, n); // leaves bsums untouched for all-zero blocks: q is calloc'ed
    } else {
        size_t got = ggml_quantize_chunk(t, x, q, 0, N_ROWS, N_PER_ROW, NULL);
        if (got != N_ROWS * row_size) {
            fprintf(stderr, "%s: quantize_chunk wrote %zu bytes\n", file_name, got);
            return 1;
        }
    }

    uint32_t flags = 0;

    // dequantize
    const struct ggml_type_traits * tt = ggml_get_type_traits(t);
    if (t == GGML_TYPE_Q8_K) {
        dequantize_row_q8_K(q, deq, n);
        flags |= FLAG_DEQUANT;
    } else if (tt->to_float) {
        tt->to_float(q, deq, n);
        flags |= FLAG_DEQUANT;
    }

    // vec_dot through the CPU backend's traits
    const struct ggml_type_traits_cpu * ct = ggml_get_type_traits_cpu(t);
    const enum ggml_type vdt = ct->vec_dot ? ct->vec_dot_type : t;
    const size_t act_size = ggml_row_size(vdt, N_PER_ROW);
    uint8_t * aq = calloc(1, act_size);
    float dots[N_ROWS] = { 0 };
    float dots_generic[N_ROWS] = { 0 };
    if (ct->vec_dot) {
        ggml_get_type_traits_cpu(vdt)->from_float(act, aq, N_PER_ROW);
        for (int r = 0; r < N_ROWS; r++) {
            ct->vec_dot(N_PER_ROW, &dots[r], 0, q + r * row_size, 0, aq, 0, 1);
        }
        flags |= FLAG_VEC_DOT;
        vec_dot_fn g = generic_for(t);
        if (g) {
            for (int r = 0; r < N_ROWS; r++) {
                g(N_PER_ROW, &dots_generic[r], 0, q + r * row_size, 0, aq, 0, 1);
            }
            flags |= FLAG_GENERIC;
        }
    }

    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.bin", dir, file_name);
    FILE * f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return 1;
    }
    fwrite("WCQD", 1, 4, f);
    put_u32(f, 1);
    put_u32(f, (uint32_t) t);
    put_u32(f, (uint32_t) vdt);
    put_u32(f, N_ROWS);
    put_u32(f, N_PER_ROW);
    put_u32(f, flags);
    put_u32(f, hash_floats(x, n));
    put_u32(f, hash_floats(act, N_PER_ROW));
    put_u32(f, 0);
    fwrite(q, 1, N_ROWS * row_size, f);
    if (flags & FLAG_DEQUANT) fwrite(deq, sizeof(float), n, f); // host is little-endian
    if (flags & FLAG_VEC_DOT) {
        fwrite(aq, 1, act_size, f);
        fwrite(dots, sizeof(float), N_ROWS, f);
    }
    if (flags & FLAG_GENERIC) fwrite(dots_generic, sizeof(float), N_ROWS, f);
    const long size = ftell(f);
    fclose(f);

    printf("%-5s %6ld bytes  flags=%u  dots:", file_name, size, flags);
    for (int r = 0; r < N_ROWS && (flags & FLAG_VEC_DOT); r++) printf(" %.9g", dots[r]);
    if (flags & FLAG_GENERIC) {
        printf("  generic:");
        for (int r = 0; r < N_ROWS; r++) printf(" %.9g", dots_generic[r]);
    }
    printf("\n");

    free(x); free(deq); free(act); free(q); free(aq);
    return 0;
}

// ---- fp16 / bf16 conversions ----------------------------------------------------------------------
//
// float.bin holds six u32 FNV-1a hashes (after "WCQF", version 1):
//   fp16 -> f32 for all 65536 halves; bf16 -> f32 for all 65536;
//   f32 -> fp16 and f32 -> bf16 over the sampled bit patterns of sample_bits() (fast, always tested);
//   f32 -> fp16 and f32 -> bf16 over all 2^32 bit patterns (the Rust test for these is #[ignore]d).

static uint32_t sample_bits(uint32_t i) {
    // i < 2^24: a spread of patterns (odd multiplier: a bijection on u32, so every class shows up);
    // 2^24 <= i < 2^24 + 2^20: every top-16-bit prefix with 16 chosen low halves (rounding edges).
    static const uint16_t lows[16] = { 0x0000, 0x0001, 0x0FFF, 0x1000, 0x1001, 0x1FFF, 0x2000, 0x2FFF,
                                       0x3000, 0x3001, 0x7FFF, 0x8000, 0x8001, 0xBFFF, 0xC000, 0xFFFF };
    if (i < (1u << 24)) return i * 2654435761u;
    i -= 1u << 24;
    return ((i >> 4) << 16) | lows[i & 15];
}
#define N_SAMPLES ((1u << 24) + (1u << 20))

static int write_float_hashes(const char * dir) {
    uint32_t h16 = 2166136261u, hb16 = 2166136261u;
    for (uint32_t i = 0; i < 65536; i++) {
        float f = ggml_fp16_to_fp32((ggml_fp16_t) i);
        uint32_t b;
        memcpy(&b, &f, 4);
        h16 = fnv1a_u32(h16, b);
        ggml_bf16_t bf = { (uint16_t) i };
        f = ggml_bf16_to_fp32(bf);
        memcpy(&b, &f, 4);
        hb16 = fnv1a_u32(hb16, b);
    }
    uint32_t s16 = 2166136261u, sb16 = 2166136261u;
    for (uint32_t i = 0; i < N_SAMPLES; i++) {
        uint32_t b = sample_bits(i);
        float f;
        memcpy(&f, &b, 4);
        s16 = fnv1a_u32(s16, ggml_fp32_to_fp16(f));
        sb16 = fnv1a_u32(sb16, ggml_fp32_to_bf16(f).bits);
    }
    uint32_t a16 = 2166136261u, ab16 = 2166136261u;
    uint32_t b = 0;
    do {
        float f;
        memcpy(&f, &b, 4);
        a16 = fnv1a_u32(a16, ggml_fp32_to_fp16(f));
        ab16 = fnv1a_u32(ab16, ggml_fp32_to_bf16(f).bits);
    } while (++b != 0);

    char path[4096];
    snprintf(path, sizeof(path), "%s/float.bin", dir);
    FILE * f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return 1;
    }
    fwrite("WCQF", 1, 4, f);
    put_u32(f, 1);
    put_u32(f, h16);
    put_u32(f, hb16);
    put_u32(f, s16);
    put_u32(f, sb16);
    put_u32(f, a16);
    put_u32(f, ab16);
    fclose(f);
    printf("float hashes: %08x %08x %08x %08x %08x %08x\n", h16, hb16, s16, sb16, a16, ab16);
    return 0;
}

int main(int argc, char ** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
        return 2;
    }
    const char * dir = argv[1];
    ggml_cpu_init();

    static const struct { enum ggml_type t; const char * name; } types[] = {
        { GGML_TYPE_F32,  "F32"  }, { GGML_TYPE_F16,  "F16"  }, { GGML_TYPE_BF16, "BF16" },
        { GGML_TYPE_Q4_0, "Q4_0" }, { GGML_TYPE_Q4_1, "Q4_1" }, { GGML_TYPE_Q5_0, "Q5_0" },
        { GGML_TYPE_Q5_1, "Q5_1" }, { GGML_TYPE_Q8_0, "Q8_0" }, { GGML_TYPE_Q8_1, "Q8_1" },
        { GGML_TYPE_Q2_K, "Q2_K" }, { GGML_TYPE_Q3_K, "Q3_K" }, { GGML_TYPE_Q4_K, "Q4_K" },
        { GGML_TYPE_Q5_K, "Q5_K" }, { GGML_TYPE_Q6_K, "Q6_K" }, { GGML_TYPE_Q8_K, "Q8_K" },
    };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        // one seed per type (its ggml id), so the types do not all see the same numbers
        if (dump_type(dir, types[i].t, types[i].name, 0x5EED0000u + (uint32_t) types[i].t)) return 1;
    }
    return write_float_hashes(dir);
}
