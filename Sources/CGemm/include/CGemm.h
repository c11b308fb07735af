// CGemm: Lathe's own matrix kernels and thread pool.
//
//  - fp32 GEMM in the BLIS style (packed panels, cache blocking from CPUID, register-blocked
//    micro-kernels for AVX-512 and AVX2+FMA), chosen at run time by CPUID + XGETBV;
//  - bf16 GEMM with fp32 inputs/outputs: operands are rounded to bf16 (nearest even) while
//    packing, products accumulate in fp32, on AMX tiles (TDPBF16PS) or AVX512_BF16
//    (VDPBF16PS);
//  - a persistent pthread pool with a low-overhead fork-join parallel_for.
//
// All matrices are row major; transA/transB use the CBLAS codes (111 = no transpose,
// 112 = transpose), like lk_sgemm in CLatheCore. C = alpha * op(A) * op(B) + beta * C,
// where op(A) is M x K and op(B) is K x N. With beta == 0, C is not read (NaN in C is
// overwritten), as in BLAS.
#ifndef CGEMM_H
#define CGEMM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---- CPU facts --------------------------------------------------------------------------
enum {
    LG_CPU_AVX2 = 1,         // AVX2 + FMA, and the OS saves ymm state
    LG_CPU_AVX512 = 2,       // AVX512 F/BW/DQ/VL, and the OS saves zmm state
    LG_CPU_AVX512_BF16 = 4,  // AVX512_BF16 (VDPBF16PS, VCVTNE2PS2BF16)
    LG_CPU_AMX_BF16 = 8,     // AMX-TILE + AMX-BF16 in CPUID and XCR0 (permission not yet asked)
};
int lg_cpu_features(void);
// Data cache sizes in bytes from CPUID leaf 4 (0 when unknown).
long lg_cache_l1d(void);
long lg_cache_l2(void);
// Asks Linux once per process for AMX tile-data permission (arch_prctl ARCH_REQ_XCOMP_PERM).
// Returns 1 when AMX can be used, 0 when refused or absent.
int lg_amx_enable(void);

// ---- Kernel selection ---------------------------------------------------------------------
// fp32 kernels
enum { LG_SGEMM_FALLBACK = 0, LG_SGEMM_AVX2 = 1, LG_SGEMM_AVX512 = 2 };
// bf16 kernels. LG_BGEMM_AMX_EMULATED runs the AMX packing, driver geometry and micro-kernel
// code with the tile instructions modelled in C (on AVX512_BF16 CPUs): for testing the AMX
// path on machines without AMX; never chosen automatically.
enum { LG_BGEMM_NONE = 0, LG_BGEMM_AVX512BF16 = 1, LG_BGEMM_AMX = 2, LG_BGEMM_AMX_EMULATED = 3 };

// The kernel in use. At first use it is chosen from the CPU and the environment variable
// LATHE_GEMM: "openblas" (fp32 falls back to OpenBLAS), "avx2", "avx512", "lathe"/unset
// (best available). LATHE_GEMM_BF16 = "avx512bf16" | "amx" | "none" | "amx-emulated" forces the
// bf16 kernel.
int lg_sgemm_kernel(void);
int lg_bgemm_kernel(void);
// Forces a kernel (tests, benchmarks). Returns the kernel actually set (a kernel the CPU
// lacks is refused: the previous choice stays). -1 restores the automatic choice.
int lg_set_sgemm_kernel(int k);
int lg_set_bgemm_kernel(int k);
// Human-readable names ("avx512 14x32", "amx bf16 32x32", ...).
const char *lg_sgemm_kernel_name(void);
const char *lg_bgemm_kernel_name(void);
// Why a LATHE_GEMM / LATHE_GEMM_BF16 setting was not followed ("" when it was or none is set).
const char *lg_env_note(void);

// ---- GEMM -------------------------------------------------------------------------------
// fp32 GEMM with Lathe's kernels; returns 0 on success, -1 when the fp32 kernel is
// LG_SGEMM_FALLBACK (the caller uses OpenBLAS then). Multi-threaded over the pool.
int lg_sgemm(int transA, int transB, long M, long N, long K, float alpha, const float *A,
             long lda, const float *B, long ldb, float beta, float *C, long ldc);
// `batch` products; A, B, C advance by strideA/B/C elements (0 broadcasts an operand).
int lg_sgemm_batched(int transA, int transB, long M, long N, long K, float alpha,
                     const float *A, long lda, long strideA, const float *B, long ldb,
                     long strideB, float beta, float *C, long ldc, long strideC, long batch);
// `batch` products at element offsets offA[i], offB[i], offC[i] from A, B, C.
int lg_sgemm_batched_offsets(int transA, int transB, long M, long N, long K, float alpha,
                             const float *A, long lda, const long *offA, const float *B,
                             long ldb, const long *offB, float beta, float *C, long ldc,
                             const long *offC, long batch);

// bf16 GEMM: fp32 A, B, C in memory; A and B are rounded to bf16 (nearest even) while
// packing; products accumulate in fp32. Returns 0, or -1 when no bf16 kernel is available
// (the caller then falls back to fp32).
int lg_bgemm(int transA, int transB, long M, long N, long K, float alpha, const float *A,
             long lda, const float *B, long ldb, float beta, float *C, long ldc);
int lg_bgemm_batched_offsets(int transA, int transB, long M, long N, long K, float alpha,
                             const float *A, long lda, const long *offA, const float *B,
                             long ldb, const long *offB, float beta, float *C, long ldc,
                             const long *offC, long batch);

// C = alpha * op(A) * op(B) + beta * C + bias, bias (N floats) added to every row of C (NULL:
// none), on the bf16 kernel (bf16 != 0) or the fp32 one; the bias goes into each tile of C as the
// last K block leaves it (a Linear layer's forward without a pass over C). Returns -1 when that
// kernel is not available (fp32 on OpenBLAS, or no bf16 kernel).
int lg_gemm_bias(int bf16, int transA, int transB, long M, long N, long K, float alpha, const float *A,
                 long lda, const float *B, long ldb, float beta, const float *bias, float *C, long ldc);

// Causal attention's products, where row i of op(A) (a query, or a key when op(A) = Pᵀ) relates to
// keys up to i + shift only (shift = keys - queries), so work past that is skipped:
//   LG_CAUSAL_OUT: C = Q Kᵀ-like (columns are keys): tiles of C wholly past every row's last key
//     are not computed and those entries of C are left as they were (callers overwrite them);
//   LG_CAUSAL_KPREFIX: C = P V-like (K runs over keys): row i's sum stops after key i + shift
//     (op(A) must be 0 past it);
//   LG_CAUSAL_KSUFFIX: C = Pᵀ dO-like (rows are keys, K runs over queries): row j's sum starts at
//     query j - shift (op(A) must be 0 before it).
// The ranges are cut at micro-tile granularity (work inside a tile that straddles the limit is
// still done, on zeros). Returns -1 when the kernel is not available (the caller computes the
// whole product, which gives the same C for KPREFIX/KSUFFIX and a superset for OUT).
enum { LG_CAUSAL_NONE = 0, LG_CAUSAL_OUT = 1, LG_CAUSAL_KPREFIX = 2, LG_CAUSAL_KSUFFIX = 3 };
int lg_gemm_causal(int bf16, int mode, long shift, int transA, int transB, long M, long N, long K, float alpha,
                   const float *A, long lda, const float *B, long ldb, float beta, float *C, long ldc);

// Single-threaded reference-style kernels for tests: run one path without the dispatcher.
// kernel is an LG_SGEMM_* / LG_BGEMM_* code; returns -1 if the CPU lacks it.
int lg_sgemm_with(int kernel, int threads, int transA, int transB, long M, long N, long K,
                  float alpha, const float *A, long lda, const float *B, long ldb, float beta,
                  float *C, long ldc);
int lg_bgemm_with(int kernel, int threads, int transA, int transB, long M, long N, long K,
                  float alpha, const float *A, long lda, const float *B, long ldb, float beta,
                  float *C, long ldc);

// ---- bf16 conversion ---------------------------------------------------------------------
// Round to nearest even; NaN stays NaN (quiet), Inf stays Inf, denormals are kept.
uint16_t lg_f32_to_bf16(float x);
float lg_bf16_to_f32(uint16_t h);
void lg_f32_to_bf16_array(const float *x, uint16_t *y, long n);
void lg_bf16_to_f32_array(const uint16_t *x, float *y, long n);
// x rounded to bf16 and back, in place (what the bf16 GEMM does to its operands).
void lg_round_bf16_array(float *x, long n);

// ---- Thread pool --------------------------------------------------------------------------
// Threads used by the pool (the calling thread counts as one). Workers are created on first
// need and sleep (spin briefly, then futex) between jobs.
void lg_pool_set_threads(int n);
int lg_pool_threads(void);
// Runs fn(ctx, task, worker) for task in [0, ntasks) over the pool; the caller takes part
// and the call returns when every task is done. Tasks are handed out in order, one at a
// time. Nested calls (from inside a task) and calls from a second thread while the pool is
// busy run serially on the caller. `worker` is in [0, lg_pool_threads()).
typedef void (*lg_task_fn)(void *ctx, long task, int worker);
void lg_parallel_for(long ntasks, lg_task_fn fn, void *ctx);
// Same, with at most `maxThreads` threads taking part.
void lg_parallel_for_n(long ntasks, int maxThreads, lg_task_fn fn, void *ctx);
// Jobs run through the pool since start (for tests).
long lg_pool_jobs(void);

#ifdef __cplusplus
}
#endif
#endif
