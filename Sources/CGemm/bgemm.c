// bf16 GEMM with fp32 inputs and outputs: conversion (round to nearest even), packing into
// the layouts of VDPBF16PS (AVX512_BF16) and TDPBF16PS (AMX), and the two micro-kernels.
//
// Both instructions multiply pairs of bf16 along K and accumulate in fp32, so packed panels
// hold 32-bit "pairs" (element k and k+1 of one row of op(A), or of one column of op(B)).
// K is padded with zeros to a whole pair (AVX512_BF16) or to a whole 32-wide tile (AMX).
// Like the instructions, the products treat bf16 denormals as zero.
#include "CGemm.h"
#include "internal.h"

#include <immintrin.h>
#include <string.h>

// ---- conversion --------------------------------------------------------------------------
uint16_t lg_f32_to_bf16(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);    // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}
float lg_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float x;
    memcpy(&x, &u, 4);
    return x;
}

__attribute__((target("avx512f,avx512bw,avx512vl")))
static inline __m256i cvt16_soft(__m512 x) {    // exact RNE, NaN quieted, denormals kept
    __m512i u = _mm512_castps_si512(x);
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
    __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(u, _mm512_set1_epi32(0x400000)));
    return _mm512_cvtepi32_epi16(_mm512_srli_epi32(r, 16));
}

__attribute__((target("avx512f,avx512bw,avx512vl")))
static void f32_to_bf16_avx512(const float *x, uint16_t *y, long n) {
    long i = 0;
    for (; i + 16 <= n; i += 16) _mm256_storeu_si256((__m256i *)(y + i), cvt16_soft(_mm512_loadu_ps(x + i)));
    for (; i < n; i++) y[i] = lg_f32_to_bf16(x[i]);
}

void lg_f32_to_bf16_array(const float *x, uint16_t *y, long n) {
    if (lg_cpu_features() & LG_CPU_AVX512) {
        f32_to_bf16_avx512(x, y, n);
        return;
    }
    for (long i = 0; i < n; i++) y[i] = lg_f32_to_bf16(x[i]);
}
void lg_bf16_to_f32_array(const uint16_t *x, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] = lg_bf16_to_f32(x[i]);
}
void lg_round_bf16_array(float *x, long n) {
    for (long i = 0; i < n; i++) x[i] = lg_bf16_to_f32(lg_f32_to_bf16(x[i]));
}

// ---- packing -----------------------------------------------------------------------------
// Layouts (in 32-bit pair units; r = row of op(A) or column of op(B), p = pair index k/2):
enum { LAY_AVX_A, LAY_AVX_B, LAY_AMX_A, LAY_AMX_B };

static inline long pidx(int lay, long r, long p) {
    switch (lay) {
    case LAY_AVX_A: return p * 14 + r;
    case LAY_AVX_B: return p * 32 + r;
    case LAY_AMX_A: return (p >> 4) * 512 + (r >> 4) * 256 + (r & 15) * 16 + (p & 15);
    default: return (p >> 4) * 512 + (r >> 4) * 256 + (p & 15) * 16 + (r & 15);
    }
}

#define BF_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))


// 32 floats (masked to `cnt`, which may be <= 0) -> 16 pairs: pair u = (x[2u], x[2u+1]).
BF_TARGET static inline __m512i cvt_pairs(const float *x, long cnt) {
    __m512 lo, hi;
    if (cnt >= 32) {
        lo = _mm512_loadu_ps(x);
        hi = _mm512_loadu_ps(x + 16);
    } else {
        lo = _mm512_maskz_loadu_ps(lg_mask16(cnt), x);
        hi = _mm512_maskz_loadu_ps(lg_mask16(cnt - 16), x + 16);
    }
    return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

// Two rows of 16 floats (masked to `cnt`; row1 may be NULL = zeros) -> 16 pairs:
// pair u = (row0[u], row1[u]).
BF_TARGET static inline __m512i cvt_interleave(const float *row0, const float *row1, long cnt) {
    __mmask16 m = lg_mask16(cnt);
    __m512 r0 = _mm512_maskz_loadu_ps(m, row0);
    __m512 r1 = row1 ? _mm512_maskz_loadu_ps(m, row1) : _mm512_setzero_ps();
    __m512i v = (__m512i)_mm512_cvtne2ps_pbh(r1, r0);    // lanes 0-15 row0, 16-31 row1
    const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                         23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    return _mm512_permutexvar_epi16(idx, v);
}

// In-register transpose of a 16 x 16 matrix of 32-bit elements.
BF_TARGET static inline void transpose16(__m512i v[16]) {
    __m512i a[16], b[16];
    for (int j = 0; j < 8; j++) {
        a[2 * j] = _mm512_unpacklo_epi32(v[2 * j], v[2 * j + 1]);
        a[2 * j + 1] = _mm512_unpackhi_epi32(v[2 * j], v[2 * j + 1]);
    }
    for (int j = 0; j < 4; j++) {
        b[4 * j + 0] = _mm512_unpacklo_epi64(a[4 * j], a[4 * j + 2]);
        b[4 * j + 1] = _mm512_unpackhi_epi64(a[4 * j], a[4 * j + 2]);
        b[4 * j + 2] = _mm512_unpacklo_epi64(a[4 * j + 1], a[4 * j + 3]);
        b[4 * j + 3] = _mm512_unpackhi_epi64(a[4 * j + 1], a[4 * j + 3]);
    }
    // b[4j + q], lane L = column 4L + q of rows 4j..4j+3
    for (int q = 0; q < 4; q++) {
        __m512i x0 = _mm512_shuffle_i32x4(b[q], b[4 + q], 0x44), x1 = _mm512_shuffle_i32x4(b[q], b[4 + q], 0xee);
        __m512i y0 = _mm512_shuffle_i32x4(b[8 + q], b[12 + q], 0x44), y1 = _mm512_shuffle_i32x4(b[8 + q], b[12 + q], 0xee);
        v[q] = _mm512_shuffle_i32x4(x0, y0, 0x88);
        v[4 + q] = _mm512_shuffle_i32x4(x0, y0, 0xdd);
        v[8 + q] = _mm512_shuffle_i32x4(x1, y1, 0x88);
        v[12 + q] = _mm512_shuffle_i32x4(x1, y1, 0xdd);
    }
}

// Packs a panel of R rows r (of op(A), or columns of op(B)) by kcp (zero padded), where
//   src(r, k) = S[(r0 + r) * rs + (k0 + k) * ks], with rs == 1 or ks == 1,
// for r < n and k < kc (zeros elsewhere). Works on 16 x 16 blocks of pairs: read in the
// source's natural direction, transposed in registers when the layout wants the other one.
BF_TARGET static inline void pack_pairs(int lay, int R, const float *S, long rs, long ks,
                                        long r0, long n, long k0, long kc, long kcp, uint32_t *dst) {
    const long npairs = kcp / 2;
    const int pmajor = lay != LAY_AMX_A;    // the layout stores runs of r for a fixed p
    const int kcontig = ks == 1;            // the source gives runs of p for a fixed r
    // kcontig: each row of the 16-row block is first converted whole, start to end, into `rows`
    // (in L1), and the 16 x 16 blocks are taken from there. Reading the source block by block
    // instead (128 bytes of each of 16 rows a kilobyte or more apart) was latency-bound: too
    // many short streams for the hardware prefetcher.
    const long rstride = (npairs + 15) / 16 * 16;    // pairs per row in `rows`
    uint32_t rows[kcontig ? 16 * rstride : 1] __attribute__((aligned(64)));
    for (long rb = 0; rb < R; rb += 16) {
        const int rcnt = R - rb < 16 ? (int)(R - rb) : 16;
        if (kcontig) {
            for (int r = 0; r < 16; r++) {
                long rr = rb + r;
                uint32_t *out = rows + r * rstride;
                if (r < rcnt && rr < n) {
                    const float *src = S + (r0 + rr) * rs + k0;
                    for (long pb = 0; pb < npairs; pb += 16)
                        _mm512_store_si512((void *)(out + pb), cvt_pairs(src + 2 * pb, kc - 2 * pb));
                } else {
                    for (long pb = 0; pb < npairs; pb += 16) _mm512_store_si512((void *)(out + pb), _mm512_setzero_si512());
                }
            }
        }
        for (long pb = 0; pb < npairs; pb += 16) {
            __m512i v[16];
            if (kcontig) {
                for (int r = 0; r < 16; r++) v[r] = _mm512_load_si512((const void *)(rows + r * rstride + pb));
            } else {
                for (int p = 0; p < 16; p++) {
                    long k = 2 * (pb + p);
                    if (k < kc) {
                        const float *row0 = S + (k0 + k) * ks + r0 + rb;
                        long cnt = n - rb < rcnt ? n - rb : rcnt;
                        v[p] = cvt_interleave(row0, k + 1 < kc ? row0 + ks : NULL, cnt);
                    } else {
                        v[p] = _mm512_setzero_si512();
                    }
                }
            }
            if (kcontig == pmajor) transpose16(v);    // now v[p] over r (pmajor) or v[r] over p
            if (pmajor) {
                __mmask16 m = lg_mask16(rcnt);
                long pc = npairs - pb < 16 ? npairs - pb : 16;
                for (long p = 0; p < pc; p++) _mm512_mask_storeu_epi32(dst + pidx(lay, rb, pb + p), m, v[p]);
            } else {
                __mmask16 m = lg_mask16(npairs - pb);
                for (int r = 0; r < rcnt; r++) _mm512_mask_storeu_epi32(dst + pidx(lay, rb + r, pb), m, v[r]);
            }
        }
    }
}

BF_TARGET static void pack_a_avx(int trans, const float *A, long lda, long i0, long m, long k0, long kc, long kcp, void *dst) {
    if (trans == LG_TRANS) pack_pairs(LAY_AVX_A, 14, A, 1, lda, i0, m, k0, kc, kcp, dst);
    else pack_pairs(LAY_AVX_A, 14, A, lda, 1, i0, m, k0, kc, kcp, dst);
}
// A row-major panel for kern_avx512bf16_rm: row r's pairs at r * (kcp / 2), rows past m zero.
// Only for A not transposed (lg_kd_avx512bf16_rm serves only as lg_kd_avx512bf16's notrans_a):
// each source row is converted start to end, no transposes.
BF_TARGET static void pack_a_avx_rm(int trans, const float *A, long lda, long i0, long m, long k0, long kc, long kcp,
                                    void *dst) {
    (void)trans;
    const long np = kcp / 2;
    for (long r = 0; r < 14; r++) {
        uint32_t *o = (uint32_t *)dst + r * np;
        if (r >= m) {
            memset(o, 0, (size_t)np * 4);
            continue;
        }
        const float *src = A + (i0 + r) * lda + k0;
        for (long pb = 0; pb < np; pb += 16)
            _mm512_mask_storeu_epi32(o + pb, lg_mask16(np - pb), cvt_pairs(src + 2 * pb, kc - 2 * pb));
    }
}
BF_TARGET static void pack_b_avx(int trans, const float *B, long ldb, long k0, long kc, long kcp, long j0, long n, void *dst) {
    if (trans == LG_TRANS) pack_pairs(LAY_AVX_B, 32, B, ldb, 1, j0, n, k0, kc, kcp, dst);
    else pack_pairs(LAY_AVX_B, 32, B, 1, ldb, j0, n, k0, kc, kcp, dst);
}
// B not transposed, AVX layout, every micro-panel of the block at once: one pair of source
// rows at a time, read start to end (per panel, 32 columns of 32 rows at a time were short
// reads from many rows, latency-bound like A's; in the weight gradients this B is an
// activation with thousands of rows).
BF_TARGET static void pack_b_rows_avx(const float *B, long ldb, long k0, long kc, long kcp, long j0, long n,
                                      long npanels, char *dst, size_t panel_bytes) {
    for (long p = 0; p < kcp / 2; p++) {
        long k = 2 * p;
        const float *row0 = k < kc ? B + (k0 + k) * ldb + j0 : NULL;
        const float *row1 = row0 && k + 1 < kc ? row0 + ldb : NULL;
        for (long q = 0; q < npanels; q++) {
            uint32_t *out = (uint32_t *)(dst + q * panel_bytes) + p * 32;
            for (int h = 0; h < 2; h++) {
                long c = q * 32 + h * 16;
                __m512i v = row0 ? cvt_interleave(row0 + c, row1 ? row1 + c : NULL, n - c) : _mm512_setzero_si512();
                _mm512_storeu_si512((void *)(out + h * 16), v);
            }
        }
    }
}

// A transposed (stored K x M), AVX layout, every micro-panel of the group at once: one pair of
// source rows at a time, read start to end.
BF_TARGET static void pack_a_rows_avx(const float *A, long lda, long i0, long m, long k0, long kc, long kcp,
                                      char *dst, size_t panel_bytes) {
    const long npanels = (m + 13) / 14;
    for (long p = 0; p < kcp / 2; p++) {
        long k = 2 * p;
        const float *row0 = k < kc ? A + (k0 + k) * lda + i0 : NULL;
        const float *row1 = row0 && k + 1 < kc ? row0 + lda : NULL;
        for (long q = 0; q < npanels; q++) {
            uint32_t *out = (uint32_t *)(dst + q * panel_bytes) + p * 14;
            long c = q * 14, cnt = m - c < 14 ? m - c : 14;
            __m512i v = row0 ? cvt_interleave(row0 + c, row1 ? row1 + c : NULL, cnt) : _mm512_setzero_si512();
            _mm512_mask_storeu_epi32(out, 0x3fff, v);
        }
    }
}

BF_TARGET static void pack_a_amx(int trans, const float *A, long lda, long i0, long m, long k0, long kc, long kcp, void *dst) {
    if (trans == LG_TRANS) pack_pairs(LAY_AMX_A, 32, A, 1, lda, i0, m, k0, kc, kcp, dst);
    else pack_pairs(LAY_AMX_A, 32, A, lda, 1, i0, m, k0, kc, kcp, dst);
}
BF_TARGET static void pack_b_amx(int trans, const float *B, long ldb, long k0, long kc, long kcp, long j0, long n, void *dst) {
    if (trans == LG_TRANS) pack_pairs(LAY_AMX_B, 32, B, ldb, 1, j0, n, k0, kc, kcp, dst);
    else pack_pairs(LAY_AMX_B, 32, B, 1, ldb, j0, n, k0, kc, kcp, dst);
}

// ---- AVX512_BF16 micro-kernel: 14 x 32, VDPBF16PS ------------------------------------------
#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13)

#define ROWS4(X) X(0) X(1) X(2) X(3)
#define ROWS8(X) ROWS4(X) X(4) X(5) X(6) X(7)

// The kernel family is written once over three macros for the packed A panel: APRE declares
// the pointers, XEL(i, x) broadcasts row i's pair at the current k into x, AADV moves to the
// next pair. Two A layouts: pair-major (LAY_AVX_A, 14 rows' pairs per k: what transposed A
// packs into directly) and row-major (each row's pairs contiguous: what a non-transposed A
// packs into without transposes, see pack_a_avx_rm).
#define DECL(i) __m512 c##i##a = _mm512_setzero_ps(), c##i##b = _mm512_setzero_ps();
#define STEP(i) { __m512bh x; XEL(i, x) \
        c##i##a = _mm512_dpbf16_ps(c##i##a, x, b0); c##i##b = _mm512_dpbf16_ps(c##i##b, x, b1); }
#define DUMP(i) _mm512_store_ps(acc + i * 32, c##i##a); _mm512_store_ps(acc + i * 32 + 16, c##i##b);
#define ST0B(i) _mm512_storeu_ps(c + i * ldc, _mm512_add_ps(_mm512_mul_ps(va, c##i##a), ba)); \
                _mm512_storeu_ps(c + i * ldc + 16, _mm512_add_ps(_mm512_mul_ps(va, c##i##b), bb));
#define ST1B(i) _mm512_storeu_ps(c + i * ldc, _mm512_add_ps(_mm512_fmadd_ps(vb, _mm512_loadu_ps(c + i * ldc), _mm512_mul_ps(va, c##i##a)), ba)); \
                _mm512_storeu_ps(c + i * ldc + 16, _mm512_add_ps(_mm512_fmadd_ps(vb, _mm512_loadu_ps(c + i * ldc + 16), _mm512_mul_ps(va, c##i##b)), bb));
#define ST0(i) _mm512_storeu_ps(c + i * ldc, _mm512_mul_ps(va, c##i##a)); _mm512_storeu_ps(c + i * ldc + 16, _mm512_mul_ps(va, c##i##b));
#define ST1(i) _mm512_storeu_ps(c + i * ldc, _mm512_fmadd_ps(vb, _mm512_loadu_ps(c + i * ldc), _mm512_mul_ps(va, c##i##a))); \
               _mm512_storeu_ps(c + i * ldc + 16, _mm512_fmadd_ps(vb, _mm512_loadu_ps(c + i * ldc + 16), _mm512_mul_ps(va, c##i##b)));

// The k loop over the rows RL.
#define KLOOP(RL)                                                                                 \
    RL(DECL)                                                                                      \
    for (long i = 0; i < m; i++) {                                                                \
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);                                   \
        _mm_prefetch((const char *)(c + i * ldc + n - 1), _MM_HINT_T0);                           \
    }                                                                                             \
    const uint32_t *b = bp;                                                                       \
    long np = kcp / 2;                                                                            \
    _Pragma("clang loop unroll_count(2)")                                                         \
    for (long p = 0; p < np; p++) {                                                              \
        __m512bh b0 = (__m512bh)_mm512_load_si512((const void *)b);                               \
        __m512bh b1 = (__m512bh)_mm512_load_si512((const void *)(b + 16));                       \
        RL(STEP)                                                                                  \
        AADV                                                                                      \
        b += 32;                                                                                  \
    }

// Tails: the first R rows of a 14-row packed panel (R = 4, 8), merged through a tile.
#define KERN_BF16_TAIL(NAME, RL, R)                                                               \
    BF_TARGET static void NAME(long kcp, const void *ap, const void *bp, float *c, long ldc,       \
                               long m, long n, float alpha, float beta, const float *bias) {      \
        APRE                                                                                      \
        KLOOP(RL)                                                                                 \
        float acc[R * 32] __attribute__((aligned(64)));                                           \
        RL(DUMP)                                                                                  \
        merge_avx512(acc, 32, c, ldc, m, n, alpha, beta, bias);                                   \
    }

// 14 x 32; the last micro-panel of M with few rows runs a tail (the padding rows' products
// skipped).
#define KERN_BF16(NAME, T4, T8)                                                                   \
    KERN_BF16_TAIL(T4, ROWS4, 4)                                                                  \
    KERN_BF16_TAIL(T8, ROWS8, 8)                                                                  \
    BF_TARGET static void NAME(long kcp, const void *ap, const void *bp, float *c, long ldc,       \
                               long m, long n, float alpha, float beta, const float *bias) {      \
        if (m <= 4) {                                                                             \
            T4(kcp, ap, bp, c, ldc, m, n, alpha, beta, bias);                                     \
            return;                                                                               \
        }                                                                                         \
        if (m <= 8) {                                                                             \
            T8(kcp, ap, bp, c, ldc, m, n, alpha, beta, bias);                                     \
            return;                                                                               \
        }                                                                                         \
        APRE                                                                                      \
        KLOOP(ROWS)                                                                               \
        if (m < 14 || n < 32) {                                                                   \
            float acc[14 * 32] __attribute__((aligned(64)));                                      \
            ROWS(DUMP)                                                                            \
            merge_avx512(acc, 32, c, ldc, m, n, alpha, beta, bias);                               \
            return;                                                                               \
        }                                                                                         \
        __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);                             \
        if (bias) { /* (alpha acc + beta C) + bias, the order of the unfused bias pass */         \
            __m512 ba = _mm512_loadu_ps(bias), bb = _mm512_loadu_ps(bias + 16);                   \
            if (beta == 0.0f) {                                                                   \
                ROWS(ST0B)                                                                        \
            } else {                                                                              \
                ROWS(ST1B)                                                                        \
            }                                                                                     \
        } else if (beta == 0.0f) {                                                                \
            ROWS(ST0)                                                                             \
        } else {                                                                                  \
            ROWS(ST1)                                                                             \
        }                                                                                         \
    }

// pair-major panel: element (r, p) at p * 14 + r
#define APRE const uint32_t *a = ap;
#define XEL(i, x) x = (__m512bh)_mm512_set1_epi32((int)a[i]);
#define AADV a += 14;
KERN_BF16(kern_avx512bf16, kern_avx512bf16_r4, kern_avx512bf16_r8)
#undef APRE
#undef XEL
#undef AADV

// row-major panel: element (r, p) at r * (kcp / 2) + p. Rows 0-6 are addressed from `lo`,
// 7-13 from `hi` (7 rows further), with the row stride and its multiples 3 and 5 in registers,
// so that base + index * {1, 2, 4} reaches every row. Each broadcast is a one-instruction asm
// with that addressing: left to itself the compiler kept 14 row pointers, recomputed and
// spilled every iteration (the whole k-loop in assembly instead lost the direct store of full
// tiles, slower for short K).
#define RM_BC(base, idx, sc, out) __asm__("vbroadcastss (%1,%2," #sc "), %0" : "=v"(out) : "r"(base), "r"(idx) : )
#define RM_B0(base, out) __asm__("vbroadcastss (%1), %0" : "=v"(out) : "r"(base) : )
#define RM_ROW(j, base, out)                                                                      \
    do {                                                                                          \
        if ((j) == 0) RM_B0(base, out);                                                           \
        else if ((j) == 1) RM_BC(base, s1, 1, out);                                               \
        else if ((j) == 2) RM_BC(base, s1, 2, out);                                               \
        else if ((j) == 3) RM_BC(base, s3, 1, out);                                               \
        else if ((j) == 4) RM_BC(base, s1, 4, out);                                               \
        else if ((j) == 5) RM_BC(base, s5, 1, out);                                               \
        else RM_BC(base, s3, 2, out);                                                             \
    } while (0)
#define APRE                                                                                      \
    const long s1 = kcp * 2;                                                                      \
    const long s3 = 3 * s1;                                                                       \
    const long s5 = 5 * s1;                                                                       \
    const char *lo = (const char *)ap;                                                            \
    const char *hi = lo + 7 * s1;
#define XEL(i, x)                                                                                 \
    {                                                                                             \
        __m512 xf;                                                                                \
        if ((i) < 7) RM_ROW((i), lo, xf);                                                         \
        else RM_ROW((i) - 7, hi, xf);                                                             \
        x = (__m512bh)xf;                                                                         \
    }
#define AADV lo += 4; hi += 4;
KERN_BF16(kern_avx512bf16_rm, kern_avx512bf16_rm_r4, kern_avx512bf16_rm_r8)
#undef APRE
#undef XEL
#undef AADV

// ---- AMX micro-kernel: 32 x 32 (2 x 2 tiles of 16 x 16 fp32), TDPBF16PS ------------------
#define AMX_TARGET __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,avx512dq")))

typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} __attribute__((packed, aligned(64))) tilecfg_t;

AMX_TARGET static void amx_begin(void) {
    tilecfg_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) {
        cfg.colsb[t] = 64;
        cfg.rows[t] = 16;
    }
    _tile_loadconfig(&cfg);
}
AMX_TARGET static void amx_end(void) { _tile_release(); }

// The micro-kernel's body, written once over the tile operations so that the same code runs
// on the hardware (kern_amx) and, for tests on CPUs without AMX, on a C model of the tile
// registers and TDPBF16PS (kern_amx_emulated, below).
#define AMX_KERNEL_BODY(LOADD, ZERO, DP, STORED)                                                  \
    {                                                                                             \
        const char *a = ap, *b = bp;                                                              \
        const long sc = ldc * 4;                                                                  \
        int direct = m == 32 && n == 32 && alpha == 1.0f && (beta == 0.0f || beta == 1.0f) && !bias; \
        if (direct && beta == 1.0f) {                                                             \
            LOADD(0, c, sc);                                                                      \
            LOADD(1, c + 16, sc);                                                                 \
            LOADD(2, c + 16 * ldc, sc);                                                           \
            LOADD(3, c + 16 * ldc + 16, sc);                                                      \
        } else {                                                                                  \
            ZERO(0);                                                                              \
            ZERO(1);                                                                              \
            ZERO(2);                                                                              \
            ZERO(3);                                                                              \
        }                                                                                         \
        long nb = kcp / 32;                                                                       \
        for (long kb = 0; kb < nb; kb++) {                                                        \
            LOADD(4, a, 64);                                                                      \
            LOADD(6, b, 64);                                                                      \
            LOADD(5, a + 1024, 64);                                                               \
            DP(0, 4, 6);                                                                          \
            LOADD(7, b + 1024, 64);                                                               \
            DP(2, 5, 6);                                                                          \
            DP(1, 4, 7);                                                                          \
            DP(3, 5, 7);                                                                          \
            a += 2048;                                                                            \
            b += 2048;                                                                            \
        }                                                                                         \
        if (direct) {                                                                             \
            STORED(0, c, sc);                                                                     \
            STORED(1, c + 16, sc);                                                                \
            STORED(2, c + 16 * ldc, sc);                                                          \
            STORED(3, c + 16 * ldc + 16, sc);                                                     \
            return;                                                                               \
        }                                                                                         \
        float t[32 * 32] __attribute__((aligned(64)));                                            \
        STORED(0, t, 128);                                                                        \
        STORED(1, t + 16, 128);                                                                   \
        STORED(2, t + 16 * 32, 128);                                                              \
        STORED(3, t + 16 * 32 + 16, 128);                                                         \
        merge_avx512(t, 32, c, ldc, m, n, alpha, beta, bias);                                     \
    }

AMX_TARGET static void kern_amx(long kcp, const void *ap, const void *bp, float *c, long ldc,
                                long m, long n, float alpha, float beta, const float *bias)
    AMX_KERNEL_BODY(_tile_loadd, _tile_zero, _tile_dpbf16ps, _tile_stored)

// ---- a C model of the tile registers, for testing the AMX path without AMX ---------------
// Eight tiles of 16 rows x 64 bytes per thread (the palette amx_begin configures), and
// TDPBF16PS as the Intel SDM defines it: for each row m of the destination and each column n,
// two fp32 accumulators (even and odd bf16 of the pairs) start at zero, take one FMA per pair
// k with DAZ and FTZ and round-to-nearest-even, and their sum is added to dst[m][n].
// The hardware's summation inside an instruction may differ in rounding; the tests compare
// with a float64 reference under the bf16 tolerance, so they check the packing layouts, the
// tile indexing and the driver with AMX's 32 x 32 geometry, not the silicon.
typedef struct {
    uint32_t row[16][16];
} em_tile_t;
static _Thread_local em_tile_t em_tiles[8] __attribute__((aligned(64)));

static void em_loadd(int t, const void *p, long stride) {
    for (int r = 0; r < 16; r++) memcpy(em_tiles[t].row[r], (const char *)p + r * stride, 64);
}
static void em_stored(int t, void *p, long stride) {
    for (int r = 0; r < 16; r++) memcpy((char *)p + r * stride, em_tiles[t].row[r], 64);
}
static void em_zero(int t) { memset(&em_tiles[t], 0, sizeof em_tiles[t]); }

// Denormals to (signed) zero: the instruction's DAZ on inputs and FTZ on results.
BF_TARGET static inline __m512 em_ftz(__m512 x) {
    __m512i u = _mm512_castps_si512(x);
    __m512i expo = _mm512_and_si512(u, _mm512_set1_epi32(0x7f800000));
    __mmask16 den = _mm512_cmpeq_epi32_mask(expo, _mm512_setzero_si512());
    return _mm512_castsi512_ps(_mm512_mask_and_epi32(u, den, u, _mm512_set1_epi32((int)0x80000000u)));
}
// bf16 halves of 16 pairs as fp32 (even: low halves, odd: high halves), denormals as zero.
BF_TARGET static inline __m512 em_half(__m512i pairs, int odd) {
    __m512i u = odd ? _mm512_and_si512(pairs, _mm512_set1_epi32((int)0xffff0000u)) : _mm512_slli_epi32(pairs, 16);
    return em_ftz(_mm512_castsi512_ps(u));
}
BF_TARGET static void em_dpbf16ps(int d, int ta, int tb) {
    em_tile_t *dst = &em_tiles[d];
    const em_tile_t *A = &em_tiles[ta], *B = &em_tiles[tb];
    for (int m = 0; m < 16; m++) {
        __m512 even = _mm512_setzero_ps(), odd = _mm512_setzero_ps();
        for (int k = 0; k < 16; k++) {
            __m512i bk = _mm512_loadu_si512(B->row[k]);
            __m512i ak = _mm512_set1_epi32((int)A->row[m][k]);
            even = em_ftz(_mm512_fmadd_ps(em_half(ak, 0), em_half(bk, 0), even));
            odd = em_ftz(_mm512_fmadd_ps(em_half(ak, 1), em_half(bk, 1), odd));
        }
        __m512 cur = _mm512_loadu_ps((const float *)dst->row[m]);
        _mm512_storeu_ps((float *)dst->row[m], em_ftz(_mm512_add_ps(cur, em_ftz(_mm512_add_ps(even, odd)))));
    }
}

BF_TARGET static void kern_amx_emulated(long kcp, const void *ap, const void *bp, float *c, long ldc,
                                        long m, long n, float alpha, float beta, const float *bias)
    AMX_KERNEL_BODY(em_loadd, em_zero, em_dpbf16ps, em_stored)

kdesc lg_kd_avx512bf16 = {.name = "avx512_bf16 14x32", .mr = 14, .nr = 32, .kalign = 2, .esize = 2,
                          .kc = 512, .nc = 0, .l2_bytes = 1 << 20, .pack_a = pack_a_avx, .pack_b = pack_b_avx,
                          .pack_b_rows = pack_b_rows_avx, .pack_a_rows = pack_a_rows_avx, .kernel = kern_avx512bf16,
                          .notrans_a = &lg_kd_avx512bf16_rm};
kdesc lg_kd_avx512bf16_rm = {.name = "avx512_bf16 14x32 (row-major A)", .mr = 14, .nr = 32, .kalign = 2, .esize = 2,
                             .kc = 512, .nc = 0, .l2_bytes = 1 << 20, .pack_a = pack_a_avx_rm, .pack_b = pack_b_avx,
                             .pack_b_rows = pack_b_rows_avx, .kernel = kern_avx512bf16_rm};
kdesc lg_kd_amx = {.name = "amx bf16 32x32", .mr = 32, .nr = 32, .kalign = 32, .esize = 2,
                   .kc = 512, .nc = 0, .l2_bytes = 1 << 20, .pack_a = pack_a_amx, .pack_b = pack_b_amx,
                   .kernel = kern_amx, .begin = amx_begin, .end = amx_end};
kdesc lg_kd_amx_emulated = {.name = "amx bf16 32x32 (tile instructions emulated, for tests)", .mr = 32, .nr = 32,
                            .kalign = 32, .esize = 2, .kc = 512, .nc = 0, .l2_bytes = 1 << 20,
                            .pack_a = pack_a_amx, .pack_b = pack_b_amx, .kernel = kern_amx_emulated};
