// CLatheCore: the little C the engine needs.
//  - a lazily loaded BLAS (OpenBLAS via dlopen on first use, so start-up stays fast),
//  - the process-wide interrupt flag set by the SIGINT handler and polled by long work.
#ifndef CLATHECORE_H
#define CLATHECORE_H

#include <stddef.h>
#include <stdint.h>

// ---- Interrupts -------------------------------------------------------------------------
// Set from a signal handler (async-signal-safe), polled by long-running Swift/C loops.
void lk_interrupt_set(void);
void lk_interrupt_clear(void);
int lk_interrupt_pending(void);

// ---- BLAS (lazy) --------------------------------------------------------------------------
// Row-major/col-major and transpose codes match CBLAS (CblasRowMajor = 101, NoTrans = 111,
// Trans = 112).
enum { LK_ROW_MAJOR = 101, LK_NO_TRANS = 111, LK_TRANS = 112 };

// Loads the BLAS library if not yet loaded. Returns 0 on success; on failure returns -1 and
// lk_blas_error() describes why. Safe to call many times.
int lk_blas_load(void);
const char *lk_blas_error(void);
// A description such as "OpenBLAS 0.3.21 ... core=Haswell", or "" before loading.
const char *lk_blas_config(void);
const char *lk_blas_corename(void);
void lk_blas_set_threads(int n);
int lk_blas_get_threads(void);

// C = alpha * op(A) * op(B) + beta * C, row major. Requires lk_blas_load() == 0.
void lk_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A,
              int lda, const float *B, int ldb, float beta, float *C, int ldc);
void lk_dgemm(int transA, int transB, int M, int N, int K, double alpha, const double *A,
              int lda, const double *B, int ldb, double beta, double *C, int ldc);
// Batched strided sgemm: `batch` products, A/B/C advance by strideA/B/C elements.
void lk_sgemm_batched(int transA, int transB, int M, int N, int K, float alpha,
                      const float *A, int lda, long strideA, const float *B, int ldb,
                      long strideB, float beta, float *C, int ldc, long strideC, int batch);

// ---- Process facts -----------------------------------------------------------------------
// Peak resident set size of this process in bytes (from getrusage), and current RSS.
long lk_peak_rss_bytes(void);
long lk_current_rss_bytes(void);
// CPU time of this process (user + system) in seconds.
double lk_cpu_seconds(void);

// ---- Files -------------------------------------------------------------------------------
// Swaps two existing paths in one step (Linux renameat2 with RENAME_EXCHANGE), so a folder can
// replace another of the same name with no moment at which neither exists. Returns 0, or -1
// with errno set (EINVAL or ENOSYS where the file system or kernel cannot exchange).
int lk_rename_exchange(const char *a, const char *b);

// ---- Autograd mode -------------------------------------------------------------------------
// Whether ops record gradients on this thread (thread-local; on by default).
int lk_grad_enabled(void);
void lk_set_grad_enabled(int on);

// SHA-256 of n bytes into out[32] with OpenSSL's libcrypto, loaded on first use (start-up
// does not pay for it). Returns 0, or -1 when libcrypto.so.3 cannot be loaded.
int lk_sha256(const void *data, size_t n, unsigned char *out);

// ---- HTTP (libcurl, loaded on first use) ---------------------------------------------------
typedef struct {
    long status;            // the HTTP status (0 when the transfer failed)
    unsigned char *body;    // the response body, NUL-terminated (free with lk_http_free)
    size_t body_len, capacity;
    char error[256];        // why the transfer failed (connection refused, timeout, ...)
} lk_http_response;
// 1 when libcurl.so.4 could be loaded.
int lk_http_available(void);
// A connection handle (reuses connections to one server); NULL when libcurl is missing.
void *lk_http_open(void);
void lk_http_close(void *handle);
// One request: `body` (body_len bytes) or the file `upload_file` as its body, or neither (GET).
// Returns 0 when a response came (any status), -1 without libcurl, -2 when the transfer failed
// (out->error says why). Calls on one handle must not overlap.
int lk_http_request(void *handle, const char *method, const char *url, const char *const *headers,
                    int nheaders, const void *body, size_t body_len, const char *upload_file,
                    const char *userpwd, long timeout_ms, lk_http_response *out);
void lk_http_free(lk_http_response *r);

#include "LKKernels.h"
#include "LKNN.h"
#include "LKQuant.h"

#endif
