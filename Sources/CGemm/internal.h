// Shared between the GEMM driver and the kernel files.
#ifndef CGEMM_INTERNAL_H
#define CGEMM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#define LG_NO_TRANS 111

// The AVX-512 lane mask (__mmask16) of the first `cnt` lanes, cnt clipped to [0, 16].
static inline uint16_t lg_mask16(long cnt) {
    return cnt >= 16 ? (uint16_t)0xffff : cnt <= 0 ? (uint16_t)0 : (uint16_t)((1u << cnt) - 1);
}
#define LG_TRANS 112

// One kernel family: micro-tile size, blocking, packing and the micro-kernel.
// Packed panels: A micro-panels of mr rows x kcp, B micro-panels of kcp x nr, in the kernel's
// own layout, `esize` bytes per element; kcp is kc rounded up to `kalign` (zero padded).
typedef struct kdesc {
    const char *name;
    int mr, nr, kalign, esize;
    long kc;         // K block size (a multiple of kalign)
    long nc;         // N block size when forced (LATHE_GEMM_NC), else 0
    long l2_bytes;   // budget for the packed B block (kc x nc)
    // Packs rows [i0, i0+m) (m <= mr, rest zero) and columns [k0, k0+kc) of op(A).
    void (*pack_a)(int trans, const float *A, long lda, long i0, long m, long k0, long kc, long kcp, void *dst);
    // Packs rows [k0, k0+kc) and columns [j0, j0+n) (n <= nr, rest zero) of op(B).
    void (*pack_b)(int trans, const float *B, long ldb, long k0, long kc, long kcp, long j0, long n, void *dst);
    // C[0:m, 0:n] = alpha * (Ap * Bp)[0:m, 0:n] + beta * C (beta == 0: C not read), then
    // + bias[0:n] on every row when bias != NULL; m <= mr, n <= nr (edge tiles write only their
    // corner).
    void (*kernel)(long kcp, const void *a, const void *b, float *c, long ldc, long m, long n, float alpha, float beta,
                   const float *bias);
    // Optional, B not transposed (stored K x N): packs rows [k0, k0+kc) (kcp with the zero
    // padding) and columns [j0, j0+n) into every micro-panel at once, panel q at
    // dst + q * panel_bytes, reading each source row start to end. NULL: pack_b per panel.
    void (*pack_b_rows)(const float *B, long ldb, long k0, long kc, long kcp, long j0, long n, long npanels,
                        char *dst, size_t panel_bytes);
    // Optional, A transposed (stored K x M): packs rows [k0, k0+kc) (kcp with the zero padding)
    // of columns [i0, i0+m) into ceil(m / mr) micro-panels at once, panel q at
    // dst + q * panel_bytes, reading each source row start to end. NULL: pack_a per panel.
    void (*pack_a_rows)(const float *A, long lda, long i0, long m, long k0, long kc, long kcp, char *dst,
                        size_t panel_bytes);
    void (*begin)(void);    // per task (AMX: load the tile config); may be NULL
    void (*end)(void);
    // Optional: the family that serves non-causal products with A not transposed instead
    // (AVX512_BF16: row-major A panels, packed without transposes). NULL: this one.
    const struct kdesc *notrans_a;
} kdesc;

extern kdesc lg_kd_avx512, lg_kd_avx2, lg_kd_avx512bf16, lg_kd_amx, lg_kd_amx_emulated;
extern kdesc lg_kd_avx512bf16_rm;    // lg_kd_avx512bf16's notrans_a

// C[0:m, 0:n] = alpha * acc + beta * C (+ bias[0:n] on every row when bias != NULL) with AVX-512
// masks (acc row stride ld, 64-byte aligned).
void merge_avx512(const float *acc, int ld, float *c, long ldc, long m, long n, float alpha, float beta,
                  const float *bias);

#define LG_SMALL_M 16
// Products with M <= LG_SMALL_M rows on AVX-512 without packing (bf16: operands rounded to bf16).
// Returns -1 when it does not apply (then the caller runs the packed driver).
int lg_small_gemm(int bf16, int threads, int transA, int transB, long M, long N, long K, float alpha,
                  const float *A, long lda, const float *B, long ldb, float beta, float *C, long ldc);

// Products with N <= LG_SMALL_M columns and more rows, as Cᵀ = op(B)ᵀ op(A)ᵀ on the few-rows path
// (bf16: operands rounded to bf16). Returns -1 when it does not apply.
int lg_small_n_gemm(int bf16, int threads, int transA, int transB, long M, long N, long K, float alpha,
                    const float *A, long lda, const float *B, long ldb, float beta, float *C, long ldc);

// Runs C = alpha op(A) op(B) + beta C with kernel family `kd` over up to `threads` threads.
void lg_gemm_drive(const kdesc *kd, int threads, int transA, int transB, long M, long N, long K,
                   float alpha, const float *A, long lda, const float *B, long ldb, float beta,
                   float *C, long ldc);
// The same, then adds bias[j] to every row of C (bias == NULL: none).
void lg_gemm_drive_bias(const kdesc *kd, int threads, int transA, int transB, long M, long N, long K,
                        float alpha, const float *A, long lda, const float *B, long ldb, float beta,
                        const float *bias, float *C, long ldc);
// The same for the causal products of attention (causal = LG_CAUSAL_*, see CGemm.h; 0: all of it).
void lg_gemm_drive_causal(const kdesc *kd, int threads, int causal, long shift, int transA, int transB, long M,
                          long N, long K, float alpha, const float *A, long lda, const float *B, long ldb,
                          float beta, const float *bias, float *C, long ldc);
// Sets the blocking of kd from the cache sizes (once).
void lg_kd_tune(kdesc *kd);

#endif
