// Products with few rows (M <= 16: matrix-vector products, generation with a small batch)
// skip packing: the B operand is read once, straight from memory, which bounds these
// memory-bound products, and no work is spent on the padding of a 14-row micro-tile.
//  - B not transposed (C += A(i,k) * B[k, :]): rows of B are streamed 32 columns at a time
//    against 8 rows of C held in registers (B read once per 8 rows);
//  - B transposed (C[i][j] = A[i, :] . Bt[j, :]): dot products of 4 rows of Bt with up to 4
//    rows of A, 16 k at a time, reduced at the end.
// With bf16 = 1 both operands are rounded to bf16 (nearest even) on load, so the results
// match the bf16 kernels' (products of bf16 values are exact in fp32).
#include "CGemm.h"
#include "internal.h"

#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SM_TARGET_NOBF __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma")))

typedef struct {
    float *p;
    size_t cap;
} sm_buf_t;
static _Thread_local sm_buf_t sm_a, sm_ct;

static float *sm_get(sm_buf_t *b, size_t n) {
    if (b->cap < n) {
        free(b->p);
        b->p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
        if (!b->p) {
            fprintf(stderr, "lathe: out of memory allocating %zu bytes for a matrix product\n", n * sizeof(float));
            abort();
        }
        b->cap = n;
    }
    return b->p;
}

// x rounded to bf16 and back (nearest even, NaN kept quiet), on 16 lanes.
SM_TARGET_NOBF static inline __m512 round_bf16(__m512 x) {
    __m512i u = _mm512_castps_si512(x);
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
    __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(u, _mm512_set1_epi32(0x400000)));
    return _mm512_castsi512_ps(_mm512_and_si512(r, _mm512_set1_epi32((int)0xffff0000u)));
}


typedef struct {
    int bf16, transB;
    long M, N, K;
    float alpha, beta;
    const float *A;    // row major M x K, lda
    long lda;
    const float *B;
    long ldb;
    float *C;
    long ldc;
    long jchunk;
} small_t;

// C[0:M, j0:j1] for B not transposed.
SM_TARGET_NOBF static void small_nn(const small_t *s, long j0, long j1) {
    const long K = s->K;
    for (long j = j0; j < j1; j += 32)    // B columns outer: a 32-column strip stays in L2
    for (long i0 = 0; i0 < s->M; i0 += 8) {
        const long M = s->M - i0 < 8 ? s->M - i0 : 8;
        const float *Ab = s->A + i0 * s->lda;
        float *Cb = s->C + i0 * s->ldc;
        __mmask16 mk0 = lg_mask16(j1 - j), mk1 = lg_mask16(j1 - j - 16);
        __m512 acc[8][2];
        for (int i = 0; i < 8; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
        const float *b = s->B + j;
        for (long k = 0; k < K; k++, b += s->ldb) {
            __m512 b0 = _mm512_maskz_loadu_ps(mk0, b), b1 = _mm512_maskz_loadu_ps(mk1, b + 16);
            if (s->bf16) {
                b0 = round_bf16(b0);
                b1 = round_bf16(b1);
            }
            for (int i = 0; i < 8; i++) {
                if (i < M) {
                    __m512 a = _mm512_set1_ps(Ab[i * s->lda + k]);
                    acc[i][0] = _mm512_fmadd_ps(a, b0, acc[i][0]);
                    acc[i][1] = _mm512_fmadd_ps(a, b1, acc[i][1]);
                }
            }
        }
        __m512 va = _mm512_set1_ps(s->alpha), vb = _mm512_set1_ps(s->beta);
        for (int i = 0; i < M; i++) {
            float *c = Cb + i * s->ldc + j;
            __m512 r0 = _mm512_mul_ps(va, acc[i][0]), r1 = _mm512_mul_ps(va, acc[i][1]);
            if (s->beta != 0.0f) {
                r0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mk0, c), r0);
                r1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mk1, c + 16), r1);
            }
            _mm512_mask_storeu_ps(c, mk0, r0);
            _mm512_mask_storeu_ps(c + 16, mk1, r1);
        }
    }
}

// C[0:M, j0:j1] for B transposed (B stored N x K). Rows past the edge repeat the last real
// row (loads stay in bounds, trip counts stay constant so the 16 sums live in registers);
// their results are dropped.
#define SMALL_NT_BODY(ROUND)                                                                        \
    const long K = s->K, Kf = K / 16 * 16;                                                         \
    for (long j = j0; j < j1; j += 4) {    /* 4 rows of Bt outer: they stay in L1 */             \
        int nj = j1 - j < 4 ? (int)(j1 - j) : 4;                                                   \
        const float *br[4];                                                                        \
        for (int q = 0; q < 4; q++) br[q] = s->B + (j + (q < nj ? q : nj - 1)) * s->ldb;           \
        for (long i0 = 0; i0 < s->M; i0 += 4) {                                                    \
            int mi = s->M - i0 < 4 ? (int)(s->M - i0) : 4;                                         \
            const float *ar[4];                                                                    \
            for (int r = 0; r < 4; r++) ar[r] = s->A + (i0 + (r < mi ? r : mi - 1)) * s->lda;      \
            __m512 acc[4][4];                                                                      \
            for (int r = 0; r < 4; r++) for (int q = 0; q < 4; q++) acc[r][q] = _mm512_setzero_ps(); \
            for (long k = 0; k < Kf; k += 16) {                                                    \
                __m512 bv[4], av[4];                                                               \
                for (int q = 0; q < 4; q++) bv[q] = ROUND(_mm512_loadu_ps(br[q] + k));             \
                for (int r = 0; r < 4; r++) av[r] = _mm512_loadu_ps(ar[r] + k);                    \
                for (int r = 0; r < 4; r++)                                                        \
                    for (int q = 0; q < 4; q++) acc[r][q] = _mm512_fmadd_ps(av[r], bv[q], acc[r][q]); \
            }                                                                                      \
            if (Kf < K) {                                                                          \
                __mmask16 mk = lg_mask16(K - Kf);                                                        \
                __m512 bv[4], av[4];                                                               \
                for (int q = 0; q < 4; q++) bv[q] = ROUND(_mm512_maskz_loadu_ps(mk, br[q] + Kf));  \
                for (int r = 0; r < 4; r++) av[r] = _mm512_maskz_loadu_ps(mk, ar[r] + Kf);         \
                for (int r = 0; r < 4; r++)                                                        \
                    for (int q = 0; q < 4; q++) acc[r][q] = _mm512_fmadd_ps(av[r], bv[q], acc[r][q]); \
            }                                                                                      \
            for (int r = 0; r < mi; r++) {                                                         \
                for (int q = 0; q < nj; q++) {                                                     \
                    float v = s->alpha * _mm512_reduce_add_ps(acc[r][q]);                          \
                    float *c = s->C + (i0 + r) * s->ldc + j + q;                                   \
                    *c = s->beta == 0.0f ? v : v + s->beta * *c;                                   \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }

#define NO_ROUND(x) (x)
SM_TARGET_NOBF static void small_nt_f32(const small_t *s, long j0, long j1) { SMALL_NT_BODY(NO_ROUND) }
SM_TARGET_NOBF static void small_nt_bf16(const small_t *s, long j0, long j1) { SMALL_NT_BODY(round_bf16) }

static void small_task(void *ctx, long t, int worker) {
    (void)worker;
    const small_t *s = ctx;
    long j0 = t * s->jchunk, j1 = j0 + s->jchunk < s->N ? j0 + s->jchunk : s->N;
    if (j0 >= j1) return;
    if (s->transB == LG_TRANS) {
        if (s->bf16) small_nt_bf16(s, j0, j1);
        else small_nt_f32(s, j0, j1);
    }
    else small_nn(s, j0, j1);
}

// Copies op(A) (M x K) into a row-major buffer, rounding to bf16 when asked.
SM_TARGET_NOBF static void small_copy_a(int transA, int bf16, const float *A, long lda, long M, long K, float *dst) {
    for (long i = 0; i < M; i++) {
        float *d = dst + i * K;
        if (transA == LG_TRANS) {
            for (long k = 0; k < K; k++) d[k] = A[k * lda + i];
        } else {
            memcpy(d, A + i * lda, (size_t)K * sizeof(float));
        }
        if (bf16) {
            for (long k = 0; k < K; k += 16) {
                __mmask16 mk = lg_mask16(K - k);
                _mm512_mask_storeu_ps(d + k, mk, round_bf16(_mm512_maskz_loadu_ps(mk, d + k)));
            }
        }
    }
}

int lg_small_gemm(int bf16, int threads, int transA, int transB, long M, long N, long K, float alpha,
                  const float *A, long lda, const float *B, long ldb, float beta, float *C, long ldc) {
    if (M > LG_SMALL_M || M <= 0 || N <= 0 || K <= 0 || alpha == 0.0f) return -1;
    if (!(lg_cpu_features() & LG_CPU_AVX512)) return -1;
    small_t s = {.bf16 = bf16, .transB = transB, .M = M, .N = N, .K = K, .alpha = alpha, .beta = beta,
                 .A = A, .lda = lda, .B = B, .ldb = ldb, .C = C, .ldc = ldc};
    if (transA == LG_TRANS || bf16) {
        float *buf = sm_get(&sm_a, (size_t)M * K);
        small_copy_a(transA, bf16, A, lda, M, K, buf);
        s.A = buf;
        s.lda = K;
    }
    double work = (double)M * N * K;
    long align = transB == LG_TRANS ? 4 : 32;
    if (threads > 1 && work >= 65536.0 * 4 && N >= 2 * align) {
        long parts = 4L * threads;
        long chunk = (N + parts - 1) / parts;
        chunk = (chunk + align - 1) / align * align;
        s.jchunk = chunk;
        lg_parallel_for_n((N + chunk - 1) / chunk, threads, small_task, &s);
    } else {
        s.jchunk = N;
        small_task(&s, 0, 0);
    }
    return 0;
}

// C[i][j] = ct[j][i] + beta C[i][j] (beta == 0: C not read).
static void transpose_back(const float *ct, long M, long N, float beta, float *C, long ldc) {
    for (long i = 0; i < M; i++) {
        float *c = C + i * ldc;
        if (beta == 0.0f) for (long j = 0; j < N; j++) c[j] = ct[j * M + i];
        else for (long j = 0; j < N; j++) c[j] = ct[j * M + i] + beta * c[j];
    }
}

// Few columns (N <= 16, M larger: a LoRA adapter's x·Aᵀ, g·B and gᵀ·u with rank 8): the packed
// kernels would fill a 32-wide tile with padding, so Cᵀ = op(B)ᵀ op(A)ᵀ is computed by the
// few-rows path into a scratch and written back transposed (alpha applied there, beta here).
int lg_small_n_gemm(int bf16, int threads, int transA, int transB, long M, long N, long K, float alpha,
                    const float *A, long lda, const float *B, long ldb, float beta, float *C, long ldc) {
    if (N > LG_SMALL_M || M <= LG_SMALL_M || N <= 0 || K <= 0 || alpha == 0.0f) return -1;
    // the scratch is kept per thread: past 16 MiB the packed path serves (no large buffer kept)
    if ((size_t)N * (size_t)M > ((size_t)4 << 20)) return -1;
    if (!(lg_cpu_features() & LG_CPU_AVX512)) return -1;
    float *ct = sm_get(&sm_ct, (size_t)N * M);
    // op(B)ᵀ is B read the other way; op(A)ᵀ likewise
    int ta2 = transB == LG_TRANS ? LG_NO_TRANS : LG_TRANS;
    int tb2 = transA == LG_TRANS ? LG_NO_TRANS : LG_TRANS;
    if (lg_small_gemm(bf16, threads, ta2, tb2, N, M, K, alpha, B, ldb, A, lda, 0.0f, ct, M) != 0) return -1;
    transpose_back(ct, M, N, beta, C, ldc);
    return 0;
}
