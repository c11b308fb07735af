#define _GNU_SOURCE
#include "CLatheCore.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

// ---- Interrupts -------------------------------------------------------------------------
static volatile sig_atomic_t interrupt_flag = 0;
void lk_interrupt_set(void) { interrupt_flag = 1; }
void lk_interrupt_clear(void) { interrupt_flag = 0; }
int lk_interrupt_pending(void) { return interrupt_flag != 0; }

// ---- Files -------------------------------------------------------------------------------
int lk_rename_exchange(const char *a, const char *b) {
#ifdef RENAME_EXCHANGE
    return renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
#else
    (void)a; (void)b;
    errno = ENOSYS;
    return -1;
#endif
}

// ---- BLAS -------------------------------------------------------------------------------
typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int,
                         const float *, int, float, float *, int);
typedef void (*dgemm_fn)(int, int, int, int, int, int, double, const double *, int,
                         const double *, int, double, double *, int);
typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);
typedef char *(*get_str_fn)(void);

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static int blas_status = -1;
static char blas_err[512] = "";
static sgemm_fn p_sgemm;
static dgemm_fn p_dgemm;
static set_threads_fn p_set_threads;
static get_threads_fn p_get_threads;
static get_str_fn p_get_config;
static get_str_fn p_get_corename;

static void blas_do_load(void) {
    const char *env = getenv("LATHE_BLAS");
    const char *names[] = {env, "libopenblas.so.0", "libopenblas.so", "libblas.so.3", NULL};
    void *h = NULL;
    for (int i = 0; i < 4 && !h; i++) {
        if (names[i] && names[i][0]) h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    }
    if (!h) {
        snprintf(blas_err, sizeof blas_err,
                 "could not load OpenBLAS (libopenblas.so.0): %s; install libopenblas0-pthread",
                 dlerror());
        return;
    }
    p_sgemm = (sgemm_fn)dlsym(h, "cblas_sgemm");
    p_dgemm = (dgemm_fn)dlsym(h, "cblas_dgemm");
    p_set_threads = (set_threads_fn)dlsym(h, "openblas_set_num_threads");
    p_get_threads = (get_threads_fn)dlsym(h, "openblas_get_num_threads");
    p_get_config = (get_str_fn)dlsym(h, "openblas_get_config");
    p_get_corename = (get_str_fn)dlsym(h, "openblas_get_corename");
    if (!p_sgemm || !p_dgemm) {
        snprintf(blas_err, sizeof blas_err, "the BLAS library has no cblas_sgemm/cblas_dgemm");
        return;
    }
    blas_status = 0;
}

int lk_blas_load(void) {
    pthread_once(&blas_once, blas_do_load);
    return blas_status;
}
const char *lk_blas_error(void) { return blas_err; }
const char *lk_blas_config(void) {
    if (blas_status != 0 || !p_get_config) return "";
    return p_get_config();
}
const char *lk_blas_corename(void) {
    if (blas_status != 0 || !p_get_corename) return "";
    return p_get_corename();
}
void lk_blas_set_threads(int n) {
    if (lk_blas_load() == 0 && p_set_threads) p_set_threads(n);
}
int lk_blas_get_threads(void) {
    if (lk_blas_load() == 0 && p_get_threads) return p_get_threads();
    return 1;
}

void lk_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A,
              int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    p_sgemm(LK_ROW_MAJOR, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
void lk_dgemm(int transA, int transB, int M, int N, int K, double alpha, const double *A,
              int lda, const double *B, int ldb, double beta, double *C, int ldc) {
    p_dgemm(LK_ROW_MAJOR, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
void lk_sgemm_batched(int transA, int transB, int M, int N, int K, float alpha,
                      const float *A, int lda, long strideA, const float *B, int ldb,
                      long strideB, float beta, float *C, int ldc, long strideC, int batch) {
    for (int b = 0; b < batch; b++) {
        p_sgemm(LK_ROW_MAJOR, transA, transB, M, N, K, alpha, A + b * strideA, lda,
                B + b * strideB, ldb, beta, C + b * strideC, ldc);
    }
}

// ---- Process facts -----------------------------------------------------------------------
long lk_peak_rss_bytes(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
    return ru.ru_maxrss * 1024L;
}
long lk_current_rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    long pages = 0, rss = 0;
    int n = fscanf(f, "%ld %ld", &pages, &rss);
    fclose(f);
    if (n != 2) return -1;
    return rss * sysconf(_SC_PAGESIZE);
}
double lk_cpu_seconds(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) return 0;
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// ---- Autograd mode (per thread, like PyTorch's grad mode) ---------------------------------
static _Thread_local int grad_disabled = 0;
int lk_grad_enabled(void) { return !grad_disabled; }
void lk_set_grad_enabled(int on) { grad_disabled = !on; }

// ---- SHA-256 through libcrypto, loaded lazily ----------------------------------------------------
typedef unsigned char *(*sha256_fn)(const unsigned char *, size_t, unsigned char *);
static sha256_fn sha256_ptr = NULL;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static void sha256_load(void) {
    const char *names[] = {"libcrypto.so.3", "libcrypto.so"};
    for (int i = 0; i < 2 && !sha256_ptr; i++) {
        void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (h) sha256_ptr = (sha256_fn)dlsym(h, "SHA256");
    }
}
int lk_sha256(const void *data, size_t n, unsigned char *out) {
    pthread_once(&sha256_once, sha256_load);
    if (!sha256_ptr) return -1;
    sha256_ptr((const unsigned char *)data, n, out);
    return 0;
}
