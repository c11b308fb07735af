// fp32 micro-kernels (AVX-512 14x32, AVX2+FMA 6x16) and their packing.
//
// The micro-tile is mr rows x nr columns of C, nr along the vector direction: per k the
// kernel loads nr/16 (nr/8) vectors of packed B, broadcasts mr values of packed A and does
// mr * nr/16 FMAs into registers (AVX-512: 28 zmm accumulators; AVX2: 12 ymm). Each kernel
// is compiled for its instruction set with a target attribute, so the library still runs on
// CPUs without it (the dispatcher never calls it there).
#include "CGemm.h"
#include "internal.h"

#include <immintrin.h>
#include <string.h>

// ---- packing (plain C; memory-bound and amortized over a whole block) -------------------
// A micro-panel: element (i, k) at dst[k * MR + i].
static inline void pack_a_f32(int MR, int trans, const float *A, long lda, long i0, long m,
                              long k0, long kc, float *dst) {
    if (trans == LG_TRANS) {    // op(A)(i, k) = A[k][i]: rows of the panel are contiguous
        for (long k = 0; k < kc; k++) {
            const float *src = A + (k0 + k) * lda + i0;
            float *d = dst + k * MR;
            long i = 0;
            for (; i < m; i++) d[i] = src[i];
            for (; i < MR; i++) d[i] = 0.0f;
        }
        return;
    }
    const float *rows[32];
    for (long i = 0; i < m; i++) rows[i] = A + (i0 + i) * lda + k0;
    if (m == MR) {
        for (long k = 0; k < kc; k++) {
            float *d = dst + k * MR;
            for (int i = 0; i < MR; i++) d[i] = rows[i][k];
        }
    } else {
        for (long k = 0; k < kc; k++) {
            float *d = dst + k * MR;
            long i = 0;
            for (; i < m; i++) d[i] = rows[i][k];
            for (; i < MR; i++) d[i] = 0.0f;
        }
    }
}

// B micro-panel: element (k, j) at dst[k * NR + j].
static inline void pack_b_f32(int NR, int trans, const float *B, long ldb, long k0, long kc,
                              long j0, long n, float *dst) {
    if (trans != LG_TRANS) {    // op(B)(k, j) = B[k][j]
        for (long k = 0; k < kc; k++) {
            const float *src = B + (k0 + k) * ldb + j0;
            float *d = dst + k * NR;
            if (n == NR) memcpy(d, src, (size_t)NR * sizeof(float));
            else {
                long j = 0;
                for (; j < n; j++) d[j] = src[j];
                for (; j < NR; j++) d[j] = 0.0f;
            }
        }
        return;
    }
    // op(B)(k, j) = B[j][k]: transpose blocks of 8 k so writes stay in a few lines
    long k = 0;
    for (; k + 8 <= kc; k += 8) {
        float *d = dst + k * NR;
        for (long j = 0; j < n; j++) {
            const float *src = B + (j0 + j) * ldb + k0 + k;
            for (int u = 0; u < 8; u++) d[u * NR + j] = src[u];
        }
        for (long j = n; j < NR; j++)
            for (int u = 0; u < 8; u++) d[u * NR + j] = 0.0f;
    }
    for (; k < kc; k++) {
        float *d = dst + k * NR;
        long j = 0;
        for (; j < n; j++) d[j] = B[(j0 + j) * ldb + k0 + k];
        for (; j < NR; j++) d[j] = 0.0f;
    }
}

// In-register transpose of a 16 x 16 matrix of floats.
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl")))
static inline void transpose16_ps(__m512 v[16]) {
    __m512 a[16], b[16];
    for (int j = 0; j < 8; j++) {
        a[2 * j] = _mm512_unpacklo_ps(v[2 * j], v[2 * j + 1]);
        a[2 * j + 1] = _mm512_unpackhi_ps(v[2 * j], v[2 * j + 1]);
    }
    for (int j = 0; j < 4; j++) {
        b[4 * j + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a[4 * j]), _mm512_castps_pd(a[4 * j + 2])));
        b[4 * j + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a[4 * j]), _mm512_castps_pd(a[4 * j + 2])));
        b[4 * j + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a[4 * j + 1]), _mm512_castps_pd(a[4 * j + 3])));
        b[4 * j + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a[4 * j + 1]), _mm512_castps_pd(a[4 * j + 3])));
    }
    for (int q = 0; q < 4; q++) {
        __m512 x0 = _mm512_shuffle_f32x4(b[q], b[4 + q], 0x44), x1 = _mm512_shuffle_f32x4(b[q], b[4 + q], 0xee);
        __m512 y0 = _mm512_shuffle_f32x4(b[8 + q], b[12 + q], 0x44), y1 = _mm512_shuffle_f32x4(b[8 + q], b[12 + q], 0xee);
        v[q] = _mm512_shuffle_f32x4(x0, y0, 0x88);
        v[4 + q] = _mm512_shuffle_f32x4(x0, y0, 0xdd);
        v[8 + q] = _mm512_shuffle_f32x4(x1, y1, 0x88);
        v[12 + q] = _mm512_shuffle_f32x4(x1, y1, 0xdd);
    }
}

// AVX-512 packing of a 14-row A micro-panel: non-transposed A is read 16 k at a time from
// each row and transposed in registers (16 x 16); transposed A is a masked 14-float copy per k.
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl")))
static void pack_a_14_avx512(int trans, const float *A, long lda, long i0, long m, long k0, long kc, float *dst) {
    const __mmask16 m14 = 0x3fff;
    if (trans == LG_TRANS) {
        __mmask16 mm = (__mmask16)((1u << m) - 1);
        for (long k = 0; k < kc; k++)
            _mm512_mask_storeu_ps(dst + k * 14, m14, _mm512_maskz_loadu_ps(mm, A + (k0 + k) * lda + i0));
        return;
    }
    const float *rows[16];
    for (int i = 0; i < 16; i++) rows[i] = i < m ? A + (i0 + i) * lda + k0 : NULL;
    for (long k = 0; k < kc; k += 16) {
        long cnt = kc - k < 16 ? kc - k : 16;
        __mmask16 mk = (__mmask16)((1u << cnt) - 1);
        __m512 v[16];
        for (int i = 0; i < 16; i++) v[i] = rows[i] ? _mm512_maskz_loadu_ps(mk, rows[i] + k) : _mm512_setzero_ps();
        transpose16_ps(v);    // v[i][kk] -> v[kk][i]
        for (long kk = 0; kk < cnt; kk++) _mm512_mask_storeu_ps(dst + (k + kk) * 14, m14, v[kk]);
    }
}

static void pack_a_14(int trans, const float *A, long lda, long i0, long m, long k0, long kc, long kcp, void *dst) {
    (void)kcp;
    pack_a_14_avx512(trans, A, lda, i0, m, k0, kc, dst);
}
// A transposed (stored K x M), every 14-row micro-panel of the group at once: each source row
// read start to end (see pack_a_rows in internal.h).
__attribute__((target("avx512f")))
static void pack_a_rows_14(const float *A, long lda, long i0, long m, long k0, long kc, long kcp, char *dst,
                           size_t panel_bytes) {
    (void)kcp;
    const long npanels = (m + 13) / 14;
    for (long k = 0; k < kc; k++) {
        const float *row = A + (k0 + k) * lda + i0;
        for (long q = 0; q < npanels; q++) {
            long c = q * 14;
            __m512 v = _mm512_maskz_loadu_ps(lg_mask16(m - c < 14 ? m - c : 14), row + c);
            _mm512_mask_storeu_ps((float *)(dst + q * panel_bytes) + k * 14, 0x3fff, v);
        }
    }
}

// AVX-512 packing of a 32-column B micro-panel from transposed B (stored N x K): 16 x 16
// blocks read along k from 16 rows and transposed in registers.
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl")))
static void pack_b_32_trans_avx512(const float *B, long ldb, long k0, long kc, long j0, long n, float *dst) {
    for (int h = 0; h < 2; h++) {
        const float *rows[16];
        for (int r = 0; r < 16; r++) {
            long j = h * 16 + r;
            rows[r] = j < n ? B + (j0 + j) * ldb + k0 : NULL;
        }
        for (long k = 0; k < kc; k += 16) {
            long cnt = kc - k < 16 ? kc - k : 16;
            __mmask16 mk = (__mmask16)((1u << cnt) - 1);
            __m512 v[16];
            for (int r = 0; r < 16; r++) v[r] = rows[r] ? _mm512_maskz_loadu_ps(mk, rows[r] + k) : _mm512_setzero_ps();
            transpose16_ps(v);
            for (long kk = 0; kk < cnt; kk++) _mm512_storeu_ps(dst + (k + kk) * 32 + h * 16, v[kk]);
        }
    }
}

static void pack_b_32(int trans, const float *B, long ldb, long k0, long kc, long kcp, long j0, long n, void *dst) {
    (void)kcp;
    if (trans == LG_TRANS) pack_b_32_trans_avx512(B, ldb, k0, kc, j0, n, dst);
    else pack_b_f32(32, trans, B, ldb, k0, kc, j0, n, dst);
}
// B not transposed, every 32-wide micro-panel of the block at once: each source row is read
// start to end with vector loads (per panel, every row of every panel cost a 128-byte memcpy
// call, a visible share of the weight-gradient products).
__attribute__((target("avx512f")))
static void pack_b_rows_32(const float *B, long ldb, long k0, long kc, long kcp, long j0, long n, long npanels,
                           char *dst, size_t panel_bytes) {
    (void)kcp;
    for (long k = 0; k < kc; k++) {
        const float *row = B + (k0 + k) * ldb + j0;
        for (long q = 0; q < npanels; q++) {
            float *out = (float *)(dst + q * panel_bytes) + k * 32;
            long c = q * 32;    // the last panel's columns past n are zeros
            _mm512_storeu_ps(out, _mm512_maskz_loadu_ps(lg_mask16(n - c), row + c));
            _mm512_storeu_ps(out + 16, _mm512_maskz_loadu_ps(lg_mask16(n - c - 16), row + c + 16));
        }
    }
}

static void pack_a_6(int trans, const float *A, long lda, long i0, long m, long k0, long kc, long kcp, void *dst) {
    (void)kcp;
    pack_a_f32(6, trans, A, lda, i0, m, k0, kc, dst);
}
static void pack_b_16(int trans, const float *B, long ldb, long k0, long kc, long kcp, long j0, long n, void *dst) {
    (void)kcp;
    pack_b_f32(16, trans, B, ldb, k0, kc, j0, n, dst);
}

// ---- micro-kernels --------------------------------------------------------------------------
// Generated by scripts/gen/gemm_kernels.py: the k-loop is inline assembly with explicit
// registers (accumulators zmm0-27 / ymm0-11, B vectors next, two broadcast registers
// alternating), since compilers spill an accumulator per iteration at this register pressure. The accumulators are dumped
// to a local tile and merged into C with alpha and beta, masked to the m x n corner on edge
// tiles (measured faster than updating C from the registers inside the assembly).
// C[0:m, 0:n] = alpha * acc + beta * C (beta == 0: C not read), acc row stride `ld`.
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma")))
void merge_avx512(const float *acc, int ld, float *c, long ldc, long m, long n, float alpha, float beta,
                  const float *bias) {
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (long i = 0; i < m; i++) {
        float *cr = c + i * ldc;
        const float *ar = acc + i * ld;
        for (long v = 0; v < n; v += 16) {
            long left = n - v;
            __mmask16 mk = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
            __m512 r = _mm512_mul_ps(va, _mm512_load_ps(ar + v));
            if (beta != 0.0f) r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mk, cr + v), r);
            if (bias) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(mk, bias + v));
            _mm512_mask_storeu_ps(cr + v, mk, r);
        }
    }
}

__attribute__((target("avx2,fma")))
static void merge_avx2(const float *acc, int ld, float *c, long ldc, long m, long n, float alpha, float beta,
                       const float *bias) {
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (long i = 0; i < m; i++) {
        float *cr = c + i * ldc;
        const float *ar = acc + i * ld;
        for (long v = 0; v < n; v += 8) {
            long left = n - v;
            __m256 r = _mm256_mul_ps(va, _mm256_load_ps(ar + v));
            if (left >= 8) {
                if (beta != 0.0f) r = _mm256_fmadd_ps(vb, _mm256_loadu_ps(cr + v), r);
                if (bias) r = _mm256_add_ps(r, _mm256_loadu_ps(bias + v));
                _mm256_storeu_ps(cr + v, r);
            } else {
                __m256i mk = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)left), lanes);
                if (beta != 0.0f) r = _mm256_fmadd_ps(vb, _mm256_maskload_ps(cr + v, mk), r);
                if (bias) r = _mm256_add_ps(r, _mm256_maskload_ps(bias + v, mk));
                _mm256_maskstore_ps(cr + v, mk, r);
            }
        }
    }
}

__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma")))
static void kern_avx512_r4(long kc, const void *ap, const void *bp, float *c, long ldc, long m, long n, float alpha, float beta,
                           const float *bias) {
    float acc[4 * 32] __attribute__((aligned(64)));
    const float *a = ap, *b = bp;
    for (long i = 0; i < m; i++) { _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0); _mm_prefetch((const char *)(c + i * ldc + n - 1), _MM_HINT_T0); }
    long kq = kc / 2, kr = kc % 2;
    __asm__ volatile(
        "vxorps %%zmm0, %%zmm0, %%zmm0\n\t"
        "vxorps %%zmm1, %%zmm1, %%zmm1\n\t"
        "vxorps %%zmm2, %%zmm2, %%zmm2\n\t"
        "vxorps %%zmm3, %%zmm3, %%zmm3\n\t"
        "vxorps %%zmm4, %%zmm4, %%zmm4\n\t"
        "vxorps %%zmm5, %%zmm5, %%zmm5\n\t"
        "vxorps %%zmm6, %%zmm6, %%zmm6\n\t"
        "vxorps %%zmm7, %%zmm7, %%zmm7\n\t"
        "test %[kq], %[kq]\n\t"
        "jz 2f\n\t"
        "1:\n\t"
        "vmovaps 0(%[b]), %%zmm8\n\t"
        "vmovaps 64(%[b]), %%zmm9\n\t"
        "prefetcht0 2048(%[b])\n\t"
        "vbroadcastss 0(%[a]), %%zmm10\n\t"
        "vfmadd231ps %%zmm8, %%zmm10, %%zmm0\n\t"
        "vfmadd231ps %%zmm9, %%zmm10, %%zmm1\n\t"
        "vbroadcastss 4(%[a]), %%zmm11\n\t"
        "vfmadd231ps %%zmm8, %%zmm11, %%zmm2\n\t"
        "vfmadd231ps %%zmm9, %%zmm11, %%zmm3\n\t"
        "vbroadcastss 8(%[a]), %%zmm10\n\t"
        "vfmadd231ps %%zmm8, %%zmm10, %%zmm4\n\t"
        "vfmadd231ps %%zmm9, %%zmm10, %%zmm5\n\t"
        "vbroadcastss 12(%[a]), %%zmm11\n\t"
        "vfmadd231ps %%zmm8, %%zmm11, %%zmm6\n\t"
        "vfmadd231ps %%zmm9, %%zmm11, %%zmm7\n\t"
        "vmovaps 128(%[b]), %%zmm8\n\t"
        "vmovaps 192(%[b]), %%zmm9\n\t"
        "prefetcht0 2176(%[b])\n\t"
        "vbroadcastss 56(%[a]), %%zmm10\n\t"
        "vfmadd231ps %%zmm8, %%zmm10, %%zmm0\n\t"
        "vfmadd231ps %%zmm9, %%zmm10, %%zmm1\n\t"
        "vbroadcastss 60(%[a]), %%zmm11\n\t"
        "vfmadd231ps %%zmm8, %%zmm11, %%zmm2\n\t"
        "vfmadd231ps %%zmm9, %%zmm11, %%zmm3\n\t"
        "vbroadcastss 64(%[a]), %%zmm10\n\t"
        "vfmadd231ps %%zmm8, %%zmm10, %%zmm4\n\t"
        "vfmadd231ps %%zmm9, %%zmm10, %%zmm5\n\t"
        "vbroadcastss 68(%[a]), %%zmm11\n\t"
        "vfmadd231ps %%zmm8, %%zmm11, %%zmm6\n\t"
        "vfmadd231ps %%zmm9, %%zmm11, %%zmm7\n\t"
        "add $112, %[a]\n\t"
        "add $256, %[b]\n\t"
        "dec %[kq]\n\t"
        "jnz 1b\n\t"
        "2:\n\t"
        "test %[kr], %[kr]\n\t"
        "jz 4f\n\t"
        "3:\n\t"
        "vmovaps 0(%[b]), %%zmm8\n\t"
        "vmovaps 64(%[b]), %%zmm9\n\t"
        "prefetcht0 2048(%[b])\n\t"
        "vbroadcastss 0(%[a]), %%zmm10\n\t"
        "vfmadd231ps %%zmm8, %%zmm10, %%zmm0\n\t"
        "vfmadd231ps %%zmm9, %%zmm10, %%zmm1\n\t"
        "vbroadcastss 4(%[a]), %%zmm11\n\t"
        "vfmadd231ps %%zmm8, %%zmm11, %%zmm2\n\t"
        "vfmadd231ps %%zmm9, %%zmm11, %%zmm3\n\t"
        "vbroadcastss 8(%[a]), %%zmm10\n\t"
        "vfmadd231ps %%zmm8, %%zmm10, %%zmm4\n\t"
        "vfmadd231ps %%zmm9, %%zmm10, %%zmm5\n\t"
        "vbroadcastss 12(%[a]), %%zmm11\n\t"
        "vfmadd231ps %%zmm8, %%zmm11, %%zmm6\n\t"
        "vfmadd231ps %%zmm9, %%zmm11, %%zmm7\n\t"
        "add $56, %[a]\n\t"
        "add $128, %[b]\n\t"
        "dec %[kr]\n\t"
        "jnz 3b\n\t"
        "4:\n\t"
        "vmovaps %%zmm0, 0(%[acc])\n\t"
        "vmovaps %%zmm1, 64(%[acc])\n\t"
        "vmovaps %%zmm2, 128(%[acc])\n\t"
        "vmovaps %%zmm3, 192(%[acc])\n\t"
        "vmovaps %%zmm4, 256(%[acc])\n\t"
        "vmovaps %%zmm5, 320(%[acc])\n\t"
        "vmovaps %%zmm6, 384(%[acc])\n\t"
        "vmovaps %%zmm7, 448(%[acc])\n\t"
        : [a] "+r"(a), [b] "+r"(b), [kq] "+r"(kq), [kr] "+r"(kr)
        : [acc] "r"(acc)
        : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11");
    merge_avx512(acc, 32, c, ldc, m, n, alpha, beta, bias);
}

__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma")))
static void kern_avx512_r8(long kc, const void *ap, const void *bp, float *c, long ldc, long m, long n, float alpha, float beta,
                           const float *bias) {
    float acc[8 * 32] __attribute__((aligned(64)));
    const float *a = ap, *b = bp;
    for (long i = 0; i < m; i++) { _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0); _mm_prefetch((const char *)(c + i * ldc + n - 1), _MM_HINT_T0); }
    long kq = kc / 2, kr = kc % 2;
    __asm__ volatile(
        "vxorps %%zmm0, %%zmm0, %%zmm0\n\t"
        "vxorps %%zmm1, %%zmm1, %%zmm1\n\t"
        "vxorps %%zmm2, %%zmm2, %%zmm2\n\t"
        "vxorps %%zmm3, %%zmm3, %%zmm3\n\t"
        "vxorps %%zmm4, %%zmm4, %%zmm4\n\t"
        "vxorps %%zmm5, %%zmm5, %%zmm5\n\t"
        "vxorps %%zmm6, %%zmm6, %%zmm6\n\t"
        "vxorps %%zmm7, %%zmm7, %%zmm7\n\t"
        "vxorps %%zmm8, %%zmm8, %%zmm8\n\t"
        "vxorps %%zmm9, %%zmm9, %%zmm9\n\t"
        "vxorps %%zmm10, %%zmm10, %%zmm10\n\t"
        "vxorps %%zmm11, %%zmm11, %%zmm11\n\t"
        "vxorps %%zmm12, %%zmm12, %%zmm12\n\t"
        "vxorps %%zmm13, %%zmm13, %%zmm13\n\t"
        "vxorps %%zmm14, %%zmm14, %%zmm14\n\t"
        "vxorps %%zmm15, %%zmm15, %%zmm15\n\t"
        "test %[kq], %[kq]\n\t"
        "jz 2f\n\t"
        "1:\n\t"
        "vmovaps 0(%[b]), %%zmm16\n\t"
        "vmovaps 64(%[b]), %%zmm17\n\t"
        "prefetcht0 2048(%[b])\n\t"
        "vbroadcastss 0(%[a]), %%zmm18\n\t"
        "vfmadd231ps %%zmm16, %%zmm18, %%zmm0\n\t"
        "vfmadd231ps %%zmm17, %%zmm18, %%zmm1\n\t"
        "vbroadcastss 4(%[a]), %%zmm19\n\t"
        "vfmadd231ps %%zmm16, %%zmm19, %%zmm2\n\t"
        "vfmadd231ps %%zmm17, %%zmm19, %%zmm3\n\t"
        "vbroadcastss 8(%[a]), %%zmm18\n\t"
        "vfmadd231ps %%zmm16, %%zmm18, %%zmm4\n\t"
        "vfmadd231ps %%zmm17, %%zmm18, %%zmm5\n\t"
        "vbroadcastss 12(%[a]), %%zmm19\n\t"
        "vfmadd231ps %%zmm16, %%zmm19, %%zmm6\n\t"
        "vfmadd231ps %%zmm17, %%zmm19, %%zmm7\n\t"
        "vbroadcastss 16(%[a]), %%zmm18\n\t"
        "vfmadd231ps %%zmm16, %%zmm18, %%zmm8\n\t"
        "vfmadd231ps %%zmm17, %%zmm18, %%zmm9\n\t"
        "vbroadcastss 20(%[a]), %%zmm19\n\t"
        "vfmadd231ps %%zmm16, %%zmm19, %%zmm10\n\t"
        "vfmadd231ps %%zmm17, %%zmm19, %%zmm11\n\t"
        "vbroadcastss 24(%[a]), %%zmm18\n\t"
        "vfmadd231ps %%zmm16, %%zmm18, %%zmm12\n\t"
        "vfmadd231ps %%zmm17, %%zmm18, %%zmm13\n\t"
        "vbroadcastss 28(%[a]), %%zmm19\n\t"
        "vfmadd231ps %%zmm16, %%zmm19, %%zmm14\n\t"
        "vfmadd231ps %%zmm17, %%zmm19, %%zmm15\n\t"
        "vmovaps 128(%[b]), %%zmm16\n\t"
        "vmovaps 192(%[b]), %%zmm17\n\t"
        "prefetcht0 2176(%[b])\n\t"
        "vbroadcastss 56(%[a]), %%zmm18\n\t"
        "vfmadd231ps %%zmm16, %%zmm18, %%zmm0\n\t"
        "vfmadd231ps %%zmm17, %%zmm18, %%zmm1\n\t"
        "vbroadcastss 60(%[a]), %%zmm19\n\t"
        "vfmadd231ps %%zmm16, %%zmm19, %%zmm2\n\t"
        "vfmadd231ps %%zmm17, %%zmm19, %%zmm3\n\t"
        "vbroadcastss 64(%[a]), %%zmm18\n\t"
        "vfmadd231ps %%zmm16, %%zmm18, %%zmm4\n\t"
        "vfmadd231ps %%zmm17, %%zmm18, %%zmm5\n\t"
        "vbroadcastss 68(%[a]), %%zmm19\n\t"
        "vfmadd231ps %%zmm16, %%zmm19, %%zmm6\n\t"
        "vfmadd231ps %%zmm17, %%zmm19, %%zmm7\n\t"
        "vbroadcastss 72(%[a]), %%zmm18\n\t"
        "vfmadd231ps %%zmm16, %%zmm18, %%zmm8\n\t"
        "vfmadd231ps %%zmm17, %%zmm18, %%zmm9\n\t"
        "vbroadcastss 76(%[a]), %%zmm19\n\t"
        "vfmadd231ps %%zmm16, %%zmm19, %%zmm10\n\t"
        "vfmadd231ps %%zmm17, %%zmm19, %%zmm11\n\t"
        "vbroadcastss 80(%[a]), %%zmm18\n\t"
        "vfmadd231ps %%zmm16, %%zmm18, %%zmm12\n\t"
        "vfmadd231ps %%zmm17, %%zmm18, %%zmm13\n\t"
        "vbroadcastss 84(%[a]), %%zmm19\n\t"
        "vfmadd231ps %%zmm16, %%zmm19, %%zmm14\n\t"
        "vfmadd231ps %%zmm17, %%zmm19, %%zmm15\n\t"
        "add $112, %[a]\n\t"
        "add $256, %[b]\n\t"
        "dec %[kq]\n\t"
        "jnz 1b\n\t"
        "2:\n\t"
        "test %[kr], %[kr]\n\t"
        "jz 4f\n\t"
        "3:\n\t"
        "vmovaps 0(%[b]), %%zmm16\n\t"
        "vmovaps 64(%[b]), %%zmm17\n\t"
        "prefetcht0 2048(%[b])\n\t"
        "vbroadcastss 0(%[a]), %%zmm18\n\t"
        "vfmadd231ps %%zmm16, %%zmm18, %%zmm0\n\t"
        "vfmadd231ps %%zmm17, %%zmm18, %%zmm1\n\t"
        "vbroadcastss 4(%[a]), %%zmm19\n\t"
        "vfmadd231ps %%zmm16, %%zmm19, %%zmm2\n\t"
        "vfmadd231ps %%zmm17, %%zmm19, %%zmm3\n\t"
        "vbroadcastss 8(%[a]), %%zmm18\n\t"
        "vfmadd231ps %%zmm16, %%zmm18, %%zmm4\n\t"
        "vfmadd231ps %%zmm17, %%zmm18, %%zmm5\n\t"
        "vbroadcastss 12(%[a]), %%zmm19\n\t"
        "vfmadd231ps %%zmm16, %%zmm19, %%zmm6\n\t"
        "vfmadd231ps %%zmm17, %%zmm19, %%zmm7\n\t"
        "vbroadcastss 16(%[a]), %%zmm18\n\t"
        "vfmadd231ps %%zmm16, %%zmm18, %%zmm8\n\t"
        "vfmadd231ps %%zmm17, %%zmm18, %%zmm9\n\t"
        "vbroadcastss 20(%[a]), %%zmm19\n\t"
        "vfmadd231ps %%zmm16, %%zmm19, %%zmm10\n\t"
        "vfmadd231ps %%zmm17, %%zmm19, %%zmm11\n\t"
        "vbroadcastss 24(%[a]), %%zmm18\n\t"
        "vfmadd231ps %%zmm16, %%zmm18, %%zmm12\n\t"
        "vfmadd231ps %%zmm17, %%zmm18, %%zmm13\n\t"
        "vbroadcastss 28(%[a]), %%zmm19\n\t"
        "vfmadd231ps %%zmm16, %%zmm19, %%zmm14\n\t"
        "vfmadd231ps %%zmm17, %%zmm19, %%zmm15\n\t"
        "add $56, %[a]\n\t"
        "add $128, %[b]\n\t"
        "dec %[kr]\n\t"
        "jnz 3b\n\t"
        "4:\n\t"
        "vmovaps %%zmm0, 0(%[acc])\n\t"
        "vmovaps %%zmm1, 64(%[acc])\n\t"
        "vmovaps %%zmm2, 128(%[acc])\n\t"
        "vmovaps %%zmm3, 192(%[acc])\n\t"
        "vmovaps %%zmm4, 256(%[acc])\n\t"
        "vmovaps %%zmm5, 320(%[acc])\n\t"
        "vmovaps %%zmm6, 384(%[acc])\n\t"
        "vmovaps %%zmm7, 448(%[acc])\n\t"
        "vmovaps %%zmm8, 512(%[acc])\n\t"
        "vmovaps %%zmm9, 576(%[acc])\n\t"
        "vmovaps %%zmm10, 640(%[acc])\n\t"
        "vmovaps %%zmm11, 704(%[acc])\n\t"
        "vmovaps %%zmm12, 768(%[acc])\n\t"
        "vmovaps %%zmm13, 832(%[acc])\n\t"
        "vmovaps %%zmm14, 896(%[acc])\n\t"
        "vmovaps %%zmm15, 960(%[acc])\n\t"
        : [a] "+r"(a), [b] "+r"(b), [kq] "+r"(kq), [kr] "+r"(kr)
        : [acc] "r"(acc)
        : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19");
    merge_avx512(acc, 32, c, ldc, m, n, alpha, beta, bias);
}

__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma")))
static void kern_avx512(long kc, const void *ap, const void *bp, float *c, long ldc, long m, long n, float alpha, float beta,
                        const float *bias) {
    if (m <= 4) {
        kern_avx512_r4(kc, ap, bp, c, ldc, m, n, alpha, beta, bias);
        return;
    }
    if (m <= 8) {
        kern_avx512_r8(kc, ap, bp, c, ldc, m, n, alpha, beta, bias);
        return;
    }
    float acc[14 * 32] __attribute__((aligned(64)));
    const float *a = ap, *b = bp;
    for (long i = 0; i < m; i++) { _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0); _mm_prefetch((const char *)(c + i * ldc + n - 1), _MM_HINT_T0); }
    long kq = kc / 2, kr = kc % 2;
    __asm__ volatile(
        "vxorps %%zmm0, %%zmm0, %%zmm0\n\t"
        "vxorps %%zmm1, %%zmm1, %%zmm1\n\t"
        "vxorps %%zmm2, %%zmm2, %%zmm2\n\t"
        "vxorps %%zmm3, %%zmm3, %%zmm3\n\t"
        "vxorps %%zmm4, %%zmm4, %%zmm4\n\t"
        "vxorps %%zmm5, %%zmm5, %%zmm5\n\t"
        "vxorps %%zmm6, %%zmm6, %%zmm6\n\t"
        "vxorps %%zmm7, %%zmm7, %%zmm7\n\t"
        "vxorps %%zmm8, %%zmm8, %%zmm8\n\t"
        "vxorps %%zmm9, %%zmm9, %%zmm9\n\t"
        "vxorps %%zmm10, %%zmm10, %%zmm10\n\t"
        "vxorps %%zmm11, %%zmm11, %%zmm11\n\t"
        "vxorps %%zmm12, %%zmm12, %%zmm12\n\t"
        "vxorps %%zmm13, %%zmm13, %%zmm13\n\t"
        "vxorps %%zmm14, %%zmm14, %%zmm14\n\t"
        "vxorps %%zmm15, %%zmm15, %%zmm15\n\t"
        "vxorps %%zmm16, %%zmm16, %%zmm16\n\t"
        "vxorps %%zmm17, %%zmm17, %%zmm17\n\t"
        "vxorps %%zmm18, %%zmm18, %%zmm18\n\t"
        "vxorps %%zmm19, %%zmm19, %%zmm19\n\t"
        "vxorps %%zmm20, %%zmm20, %%zmm20\n\t"
        "vxorps %%zmm21, %%zmm21, %%zmm21\n\t"
        "vxorps %%zmm22, %%zmm22, %%zmm22\n\t"
        "vxorps %%zmm23, %%zmm23, %%zmm23\n\t"
        "vxorps %%zmm24, %%zmm24, %%zmm24\n\t"
        "vxorps %%zmm25, %%zmm25, %%zmm25\n\t"
        "vxorps %%zmm26, %%zmm26, %%zmm26\n\t"
        "vxorps %%zmm27, %%zmm27, %%zmm27\n\t"
        "test %[kq], %[kq]\n\t"
        "jz 2f\n\t"
        "1:\n\t"
        "vmovaps 0(%[b]), %%zmm28\n\t"
        "vmovaps 64(%[b]), %%zmm29\n\t"
        "prefetcht0 2048(%[b])\n\t"
        "vbroadcastss 0(%[a]), %%zmm30\n\t"
        "vfmadd231ps %%zmm28, %%zmm30, %%zmm0\n\t"
        "vfmadd231ps %%zmm29, %%zmm30, %%zmm1\n\t"
        "vbroadcastss 4(%[a]), %%zmm31\n\t"
        "vfmadd231ps %%zmm28, %%zmm31, %%zmm2\n\t"
        "vfmadd231ps %%zmm29, %%zmm31, %%zmm3\n\t"
        "vbroadcastss 8(%[a]), %%zmm30\n\t"
        "vfmadd231ps %%zmm28, %%zmm30, %%zmm4\n\t"
        "vfmadd231ps %%zmm29, %%zmm30, %%zmm5\n\t"
        "vbroadcastss 12(%[a]), %%zmm31\n\t"
        "vfmadd231ps %%zmm28, %%zmm31, %%zmm6\n\t"
        "vfmadd231ps %%zmm29, %%zmm31, %%zmm7\n\t"
        "vbroadcastss 16(%[a]), %%zmm30\n\t"
        "vfmadd231ps %%zmm28, %%zmm30, %%zmm8\n\t"
        "vfmadd231ps %%zmm29, %%zmm30, %%zmm9\n\t"
        "vbroadcastss 20(%[a]), %%zmm31\n\t"
        "vfmadd231ps %%zmm28, %%zmm31, %%zmm10\n\t"
        "vfmadd231ps %%zmm29, %%zmm31, %%zmm11\n\t"
        "vbroadcastss 24(%[a]), %%zmm30\n\t"
        "vfmadd231ps %%zmm28, %%zmm30, %%zmm12\n\t"
        "vfmadd231ps %%zmm29, %%zmm30, %%zmm13\n\t"
        "vbroadcastss 28(%[a]), %%zmm31\n\t"
        "vfmadd231ps %%zmm28, %%zmm31, %%zmm14\n\t"
        "vfmadd231ps %%zmm29, %%zmm31, %%zmm15\n\t"
        "vbroadcastss 32(%[a]), %%zmm30\n\t"
        "vfmadd231ps %%zmm28, %%zmm30, %%zmm16\n\t"
        "vfmadd231ps %%zmm29, %%zmm30, %%zmm17\n\t"
        "vbroadcastss 36(%[a]), %%zmm31\n\t"
        "vfmadd231ps %%zmm28, %%zmm31, %%zmm18\n\t"
        "vfmadd231ps %%zmm29, %%zmm31, %%zmm19\n\t"
        "vbroadcastss 40(%[a]), %%zmm30\n\t"
        "vfmadd231ps %%zmm28, %%zmm30, %%zmm20\n\t"
        "vfmadd231ps %%zmm29, %%zmm30, %%zmm21\n\t"
        "vbroadcastss 44(%[a]), %%zmm31\n\t"
        "vfmadd231ps %%zmm28, %%zmm31, %%zmm22\n\t"
        "vfmadd231ps %%zmm29, %%zmm31, %%zmm23\n\t"
        "vbroadcastss 48(%[a]), %%zmm30\n\t"
        "vfmadd231ps %%zmm28, %%zmm30, %%zmm24\n\t"
        "vfmadd231ps %%zmm29, %%zmm30, %%zmm25\n\t"
        "vbroadcastss 52(%[a]), %%zmm31\n\t"
        "vfmadd231ps %%zmm28, %%zmm31, %%zmm26\n\t"
        "vfmadd231ps %%zmm29, %%zmm31, %%zmm27\n\t"
        "vmovaps 128(%[b]), %%zmm28\n\t"
        "vmovaps 192(%[b]), %%zmm29\n\t"
        "prefetcht0 2176(%[b])\n\t"
        "vbroadcastss 56(%[a]), %%zmm30\n\t"
        "vfmadd231ps %%zmm28, %%zmm30, %%zmm0\n\t"
        "vfmadd231ps %%zmm29, %%zmm30, %%zmm1\n\t"
        "vbroadcastss 60(%[a]), %%zmm31\n\t"
        "vfmadd231ps %%zmm28, %%zmm31, %%zmm2\n\t"
        "vfmadd231ps %%zmm29, %%zmm31, %%zmm3\n\t"
        "vbroadcastss 64(%[a]), %%zmm30\n\t"
        "vfmadd231ps %%zmm28, %%zmm30, %%zmm4\n\t"
        "vfmadd231ps %%zmm29, %%zmm30, %%zmm5\n\t"
        "vbroadcastss 68(%[a]), %%zmm31\n\t"
        "vfmadd231ps %%zmm28, %%zmm31, %%zmm6\n\t"
        "vfmadd231ps %%zmm29, %%zmm31, %%zmm7\n\t"
        "vbroadcastss 72(%[a]), %%zmm30\n\t"
        "vfmadd231ps %%zmm28, %%zmm30, %%zmm8\n\t"
        "vfmadd231ps %%zmm29, %%zmm30, %%zmm9\n\t"
        "vbroadcastss 76(%[a]), %%zmm31\n\t"
        "vfmadd231ps %%zmm28, %%zmm31, %%zmm10\n\t"
        "vfmadd231ps %%zmm29, %%zmm31, %%zmm11\n\t"
        "vbroadcastss 80(%[a]), %%zmm30\n\t"
        "vfmadd231ps %%zmm28, %%zmm30, %%zmm12\n\t"
        "vfmadd231ps %%zmm29, %%zmm30, %%zmm13\n\t"
        "vbroadcastss 84(%[a]), %%zmm31\n\t"
        "vfmadd231ps %%zmm28, %%zmm31, %%zmm14\n\t"
        "vfmadd231ps %%zmm29, %%zmm31, %%zmm15\n\t"
        "vbroadcastss 88(%[a]), %%zmm30\n\t"
        "vfmadd231ps %%zmm28, %%zmm30, %%zmm16\n\t"
        "vfmadd231ps %%zmm29, %%zmm30, %%zmm17\n\t"
        "vbroadcastss 92(%[a]), %%zmm31\n\t"
        "vfmadd231ps %%zmm28, %%zmm31, %%zmm18\n\t"
        "vfmadd231ps %%zmm29, %%zmm31, %%zmm19\n\t"
        "vbroadcastss 96(%[a]), %%zmm30\n\t"
        "vfmadd231ps %%zmm28, %%zmm30, %%zmm20\n\t"
        "vfmadd231ps %%zmm29, %%zmm30, %%zmm21\n\t"
        "vbroadcastss 100(%[a]), %%zmm31\n\t"
        "vfmadd231ps %%zmm28, %%zmm31, %%zmm22\n\t"
        "vfmadd231ps %%zmm29, %%zmm31, %%zmm23\n\t"
        "vbroadcastss 104(%[a]), %%zmm30\n\t"
        "vfmadd231ps %%zmm28, %%zmm30, %%zmm24\n\t"
        "vfmadd231ps %%zmm29, %%zmm30, %%zmm25\n\t"
        "vbroadcastss 108(%[a]), %%zmm31\n\t"
        "vfmadd231ps %%zmm28, %%zmm31, %%zmm26\n\t"
        "vfmadd231ps %%zmm29, %%zmm31, %%zmm27\n\t"
        "add $112, %[a]\n\t"
        "add $256, %[b]\n\t"
        "dec %[kq]\n\t"
        "jnz 1b\n\t"
        "2:\n\t"
        "test %[kr], %[kr]\n\t"
        "jz 4f\n\t"
        "3:\n\t"
        "vmovaps 0(%[b]), %%zmm28\n\t"
        "vmovaps 64(%[b]), %%zmm29\n\t"
        "prefetcht0 2048(%[b])\n\t"
        "vbroadcastss 0(%[a]), %%zmm30\n\t"
        "vfmadd231ps %%zmm28, %%zmm30, %%zmm0\n\t"
        "vfmadd231ps %%zmm29, %%zmm30, %%zmm1\n\t"
        "vbroadcastss 4(%[a]), %%zmm31\n\t"
        "vfmadd231ps %%zmm28, %%zmm31, %%zmm2\n\t"
        "vfmadd231ps %%zmm29, %%zmm31, %%zmm3\n\t"
        "vbroadcastss 8(%[a]), %%zmm30\n\t"
        "vfmadd231ps %%zmm28, %%zmm30, %%zmm4\n\t"
        "vfmadd231ps %%zmm29, %%zmm30, %%zmm5\n\t"
        "vbroadcastss 12(%[a]), %%zmm31\n\t"
        "vfmadd231ps %%zmm28, %%zmm31, %%zmm6\n\t"
        "vfmadd231ps %%zmm29, %%zmm31, %%zmm7\n\t"
        "vbroadcastss 16(%[a]), %%zmm30\n\t"
        "vfmadd231ps %%zmm28, %%zmm30, %%zmm8\n\t"
        "vfmadd231ps %%zmm29, %%zmm30, %%zmm9\n\t"
        "vbroadcastss 20(%[a]), %%zmm31\n\t"
        "vfmadd231ps %%zmm28, %%zmm31, %%zmm10\n\t"
        "vfmadd231ps %%zmm29, %%zmm31, %%zmm11\n\t"
        "vbroadcastss 24(%[a]), %%zmm30\n\t"
        "vfmadd231ps %%zmm28, %%zmm30, %%zmm12\n\t"
        "vfmadd231ps %%zmm29, %%zmm30, %%zmm13\n\t"
        "vbroadcastss 28(%[a]), %%zmm31\n\t"
        "vfmadd231ps %%zmm28, %%zmm31, %%zmm14\n\t"
        "vfmadd231ps %%zmm29, %%zmm31, %%zmm15\n\t"
        "vbroadcastss 32(%[a]), %%zmm30\n\t"
        "vfmadd231ps %%zmm28, %%zmm30, %%zmm16\n\t"
        "vfmadd231ps %%zmm29, %%zmm30, %%zmm17\n\t"
        "vbroadcastss 36(%[a]), %%zmm31\n\t"
        "vfmadd231ps %%zmm28, %%zmm31, %%zmm18\n\t"
        "vfmadd231ps %%zmm29, %%zmm31, %%zmm19\n\t"
        "vbroadcastss 40(%[a]), %%zmm30\n\t"
        "vfmadd231ps %%zmm28, %%zmm30, %%zmm20\n\t"
        "vfmadd231ps %%zmm29, %%zmm30, %%zmm21\n\t"
        "vbroadcastss 44(%[a]), %%zmm31\n\t"
        "vfmadd231ps %%zmm28, %%zmm31, %%zmm22\n\t"
        "vfmadd231ps %%zmm29, %%zmm31, %%zmm23\n\t"
        "vbroadcastss 48(%[a]), %%zmm30\n\t"
        "vfmadd231ps %%zmm28, %%zmm30, %%zmm24\n\t"
        "vfmadd231ps %%zmm29, %%zmm30, %%zmm25\n\t"
        "vbroadcastss 52(%[a]), %%zmm31\n\t"
        "vfmadd231ps %%zmm28, %%zmm31, %%zmm26\n\t"
        "vfmadd231ps %%zmm29, %%zmm31, %%zmm27\n\t"
        "add $56, %[a]\n\t"
        "add $128, %[b]\n\t"
        "dec %[kr]\n\t"
        "jnz 3b\n\t"
        "4:\n\t"
        "vmovaps %%zmm0, 0(%[acc])\n\t"
        "vmovaps %%zmm1, 64(%[acc])\n\t"
        "vmovaps %%zmm2, 128(%[acc])\n\t"
        "vmovaps %%zmm3, 192(%[acc])\n\t"
        "vmovaps %%zmm4, 256(%[acc])\n\t"
        "vmovaps %%zmm5, 320(%[acc])\n\t"
        "vmovaps %%zmm6, 384(%[acc])\n\t"
        "vmovaps %%zmm7, 448(%[acc])\n\t"
        "vmovaps %%zmm8, 512(%[acc])\n\t"
        "vmovaps %%zmm9, 576(%[acc])\n\t"
        "vmovaps %%zmm10, 640(%[acc])\n\t"
        "vmovaps %%zmm11, 704(%[acc])\n\t"
        "vmovaps %%zmm12, 768(%[acc])\n\t"
        "vmovaps %%zmm13, 832(%[acc])\n\t"
        "vmovaps %%zmm14, 896(%[acc])\n\t"
        "vmovaps %%zmm15, 960(%[acc])\n\t"
        "vmovaps %%zmm16, 1024(%[acc])\n\t"
        "vmovaps %%zmm17, 1088(%[acc])\n\t"
        "vmovaps %%zmm18, 1152(%[acc])\n\t"
        "vmovaps %%zmm19, 1216(%[acc])\n\t"
        "vmovaps %%zmm20, 1280(%[acc])\n\t"
        "vmovaps %%zmm21, 1344(%[acc])\n\t"
        "vmovaps %%zmm22, 1408(%[acc])\n\t"
        "vmovaps %%zmm23, 1472(%[acc])\n\t"
        "vmovaps %%zmm24, 1536(%[acc])\n\t"
        "vmovaps %%zmm25, 1600(%[acc])\n\t"
        "vmovaps %%zmm26, 1664(%[acc])\n\t"
        "vmovaps %%zmm27, 1728(%[acc])\n\t"
        : [a] "+r"(a), [b] "+r"(b), [kq] "+r"(kq), [kr] "+r"(kr)
        : [acc] "r"(acc)
        : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31");
    merge_avx512(acc, 32, c, ldc, m, n, alpha, beta, bias);
}

__attribute__((target("avx2,fma")))
static void kern_avx2(long kc, const void *ap, const void *bp, float *c, long ldc, long m, long n, float alpha, float beta,
                      const float *bias) {
    float acc[6 * 16] __attribute__((aligned(64)));
    const float *a = ap, *b = bp;
    for (long i = 0; i < m; i++) { _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0); _mm_prefetch((const char *)(c + i * ldc + n - 1), _MM_HINT_T0); }
    long kq = kc / 4, kr = kc % 4;
    __asm__ volatile(
        "vxorps %%ymm0, %%ymm0, %%ymm0\n\t"
        "vxorps %%ymm1, %%ymm1, %%ymm1\n\t"
        "vxorps %%ymm2, %%ymm2, %%ymm2\n\t"
        "vxorps %%ymm3, %%ymm3, %%ymm3\n\t"
        "vxorps %%ymm4, %%ymm4, %%ymm4\n\t"
        "vxorps %%ymm5, %%ymm5, %%ymm5\n\t"
        "vxorps %%ymm6, %%ymm6, %%ymm6\n\t"
        "vxorps %%ymm7, %%ymm7, %%ymm7\n\t"
        "vxorps %%ymm8, %%ymm8, %%ymm8\n\t"
        "vxorps %%ymm9, %%ymm9, %%ymm9\n\t"
        "vxorps %%ymm10, %%ymm10, %%ymm10\n\t"
        "vxorps %%ymm11, %%ymm11, %%ymm11\n\t"
        "test %[kq], %[kq]\n\t"
        "jz 2f\n\t"
        "1:\n\t"
        "vmovaps 0(%[b]), %%ymm12\n\t"
        "vmovaps 32(%[b]), %%ymm13\n\t"
        "prefetcht0 2048(%[b])\n\t"
        "vbroadcastss 0(%[a]), %%ymm14\n\t"
        "vfmadd231ps %%ymm12, %%ymm14, %%ymm0\n\t"
        "vfmadd231ps %%ymm13, %%ymm14, %%ymm1\n\t"
        "vbroadcastss 4(%[a]), %%ymm15\n\t"
        "vfmadd231ps %%ymm12, %%ymm15, %%ymm2\n\t"
        "vfmadd231ps %%ymm13, %%ymm15, %%ymm3\n\t"
        "vbroadcastss 8(%[a]), %%ymm14\n\t"
        "vfmadd231ps %%ymm12, %%ymm14, %%ymm4\n\t"
        "vfmadd231ps %%ymm13, %%ymm14, %%ymm5\n\t"
        "vbroadcastss 12(%[a]), %%ymm15\n\t"
        "vfmadd231ps %%ymm12, %%ymm15, %%ymm6\n\t"
        "vfmadd231ps %%ymm13, %%ymm15, %%ymm7\n\t"
        "vbroadcastss 16(%[a]), %%ymm14\n\t"
        "vfmadd231ps %%ymm12, %%ymm14, %%ymm8\n\t"
        "vfmadd231ps %%ymm13, %%ymm14, %%ymm9\n\t"
        "vbroadcastss 20(%[a]), %%ymm15\n\t"
        "vfmadd231ps %%ymm12, %%ymm15, %%ymm10\n\t"
        "vfmadd231ps %%ymm13, %%ymm15, %%ymm11\n\t"
        "vmovaps 64(%[b]), %%ymm12\n\t"
        "vmovaps 96(%[b]), %%ymm13\n\t"
        "prefetcht0 2112(%[b])\n\t"
        "vbroadcastss 24(%[a]), %%ymm14\n\t"
        "vfmadd231ps %%ymm12, %%ymm14, %%ymm0\n\t"
        "vfmadd231ps %%ymm13, %%ymm14, %%ymm1\n\t"
        "vbroadcastss 28(%[a]), %%ymm15\n\t"
        "vfmadd231ps %%ymm12, %%ymm15, %%ymm2\n\t"
        "vfmadd231ps %%ymm13, %%ymm15, %%ymm3\n\t"
        "vbroadcastss 32(%[a]), %%ymm14\n\t"
        "vfmadd231ps %%ymm12, %%ymm14, %%ymm4\n\t"
        "vfmadd231ps %%ymm13, %%ymm14, %%ymm5\n\t"
        "vbroadcastss 36(%[a]), %%ymm15\n\t"
        "vfmadd231ps %%ymm12, %%ymm15, %%ymm6\n\t"
        "vfmadd231ps %%ymm13, %%ymm15, %%ymm7\n\t"
        "vbroadcastss 40(%[a]), %%ymm14\n\t"
        "vfmadd231ps %%ymm12, %%ymm14, %%ymm8\n\t"
        "vfmadd231ps %%ymm13, %%ymm14, %%ymm9\n\t"
        "vbroadcastss 44(%[a]), %%ymm15\n\t"
        "vfmadd231ps %%ymm12, %%ymm15, %%ymm10\n\t"
        "vfmadd231ps %%ymm13, %%ymm15, %%ymm11\n\t"
        "vmovaps 128(%[b]), %%ymm12\n\t"
        "vmovaps 160(%[b]), %%ymm13\n\t"
        "prefetcht0 2176(%[b])\n\t"
        "vbroadcastss 48(%[a]), %%ymm14\n\t"
        "vfmadd231ps %%ymm12, %%ymm14, %%ymm0\n\t"
        "vfmadd231ps %%ymm13, %%ymm14, %%ymm1\n\t"
        "vbroadcastss 52(%[a]), %%ymm15\n\t"
        "vfmadd231ps %%ymm12, %%ymm15, %%ymm2\n\t"
        "vfmadd231ps %%ymm13, %%ymm15, %%ymm3\n\t"
        "vbroadcastss 56(%[a]), %%ymm14\n\t"
        "vfmadd231ps %%ymm12, %%ymm14, %%ymm4\n\t"
        "vfmadd231ps %%ymm13, %%ymm14, %%ymm5\n\t"
        "vbroadcastss 60(%[a]), %%ymm15\n\t"
        "vfmadd231ps %%ymm12, %%ymm15, %%ymm6\n\t"
        "vfmadd231ps %%ymm13, %%ymm15, %%ymm7\n\t"
        "vbroadcastss 64(%[a]), %%ymm14\n\t"
        "vfmadd231ps %%ymm12, %%ymm14, %%ymm8\n\t"
        "vfmadd231ps %%ymm13, %%ymm14, %%ymm9\n\t"
        "vbroadcastss 68(%[a]), %%ymm15\n\t"
        "vfmadd231ps %%ymm12, %%ymm15, %%ymm10\n\t"
        "vfmadd231ps %%ymm13, %%ymm15, %%ymm11\n\t"
        "vmovaps 192(%[b]), %%ymm12\n\t"
        "vmovaps 224(%[b]), %%ymm13\n\t"
        "prefetcht0 2240(%[b])\n\t"
        "vbroadcastss 72(%[a]), %%ymm14\n\t"
        "vfmadd231ps %%ymm12, %%ymm14, %%ymm0\n\t"
        "vfmadd231ps %%ymm13, %%ymm14, %%ymm1\n\t"
        "vbroadcastss 76(%[a]), %%ymm15\n\t"
        "vfmadd231ps %%ymm12, %%ymm15, %%ymm2\n\t"
        "vfmadd231ps %%ymm13, %%ymm15, %%ymm3\n\t"
        "vbroadcastss 80(%[a]), %%ymm14\n\t"
        "vfmadd231ps %%ymm12, %%ymm14, %%ymm4\n\t"
        "vfmadd231ps %%ymm13, %%ymm14, %%ymm5\n\t"
        "vbroadcastss 84(%[a]), %%ymm15\n\t"
        "vfmadd231ps %%ymm12, %%ymm15, %%ymm6\n\t"
        "vfmadd231ps %%ymm13, %%ymm15, %%ymm7\n\t"
        "vbroadcastss 88(%[a]), %%ymm14\n\t"
        "vfmadd231ps %%ymm12, %%ymm14, %%ymm8\n\t"
        "vfmadd231ps %%ymm13, %%ymm14, %%ymm9\n\t"
        "vbroadcastss 92(%[a]), %%ymm15\n\t"
        "vfmadd231ps %%ymm12, %%ymm15, %%ymm10\n\t"
        "vfmadd231ps %%ymm13, %%ymm15, %%ymm11\n\t"
        "add $96, %[a]\n\t"
        "add $256, %[b]\n\t"
        "dec %[kq]\n\t"
        "jnz 1b\n\t"
        "2:\n\t"
        "test %[kr], %[kr]\n\t"
        "jz 4f\n\t"
        "3:\n\t"
        "vmovaps 0(%[b]), %%ymm12\n\t"
        "vmovaps 32(%[b]), %%ymm13\n\t"
        "prefetcht0 2048(%[b])\n\t"
        "vbroadcastss 0(%[a]), %%ymm14\n\t"
        "vfmadd231ps %%ymm12, %%ymm14, %%ymm0\n\t"
        "vfmadd231ps %%ymm13, %%ymm14, %%ymm1\n\t"
        "vbroadcastss 4(%[a]), %%ymm15\n\t"
        "vfmadd231ps %%ymm12, %%ymm15, %%ymm2\n\t"
        "vfmadd231ps %%ymm13, %%ymm15, %%ymm3\n\t"
        "vbroadcastss 8(%[a]), %%ymm14\n\t"
        "vfmadd231ps %%ymm12, %%ymm14, %%ymm4\n\t"
        "vfmadd231ps %%ymm13, %%ymm14, %%ymm5\n\t"
        "vbroadcastss 12(%[a]), %%ymm15\n\t"
        "vfmadd231ps %%ymm12, %%ymm15, %%ymm6\n\t"
        "vfmadd231ps %%ymm13, %%ymm15, %%ymm7\n\t"
        "vbroadcastss 16(%[a]), %%ymm14\n\t"
        "vfmadd231ps %%ymm12, %%ymm14, %%ymm8\n\t"
        "vfmadd231ps %%ymm13, %%ymm14, %%ymm9\n\t"
        "vbroadcastss 20(%[a]), %%ymm15\n\t"
        "vfmadd231ps %%ymm12, %%ymm15, %%ymm10\n\t"
        "vfmadd231ps %%ymm13, %%ymm15, %%ymm11\n\t"
        "add $24, %[a]\n\t"
        "add $64, %[b]\n\t"
        "dec %[kr]\n\t"
        "jnz 3b\n\t"
        "4:\n\t"
        "vmovaps %%ymm0, 0(%[acc])\n\t"
        "vmovaps %%ymm1, 32(%[acc])\n\t"
        "vmovaps %%ymm2, 64(%[acc])\n\t"
        "vmovaps %%ymm3, 96(%[acc])\n\t"
        "vmovaps %%ymm4, 128(%[acc])\n\t"
        "vmovaps %%ymm5, 160(%[acc])\n\t"
        "vmovaps %%ymm6, 192(%[acc])\n\t"
        "vmovaps %%ymm7, 224(%[acc])\n\t"
        "vmovaps %%ymm8, 256(%[acc])\n\t"
        "vmovaps %%ymm9, 288(%[acc])\n\t"
        "vmovaps %%ymm10, 320(%[acc])\n\t"
        "vmovaps %%ymm11, 352(%[acc])\n\t"
        : [a] "+r"(a), [b] "+r"(b), [kq] "+r"(kq), [kr] "+r"(kr)
        : [acc] "r"(acc)
        : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
    merge_avx2(acc, 16, c, ldc, m, n, alpha, beta, bias);
}


kdesc lg_kd_avx512 = {.name = "avx512 fp32 14x32", .mr = 14, .nr = 32, .kalign = 1, .esize = 4,
                      .kc = 512, .nc = 0, .l2_bytes = 1 << 20, .pack_a = pack_a_14, .pack_b = pack_b_32,
                      .kernel = kern_avx512, .pack_b_rows = pack_b_rows_32, .pack_a_rows = pack_a_rows_14};
kdesc lg_kd_avx2 = {.name = "avx2 fp32 6x16", .mr = 6, .nr = 16, .kalign = 1, .esize = 4,
                    .kc = 512, .nc = 0, .l2_bytes = 1 << 20, .pack_a = pack_a_6, .pack_b = pack_b_16,
                    .kernel = kern_avx2};
