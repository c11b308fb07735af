// Reference point for matmul: cblas_sgemm called directly from C (same OpenBLAS; threads from
// OPENBLAS_NUM_THREADS). Arguments "n:reps"; prints "threads N" and "n seconds" lines, timed as
// lib/stats.py and lib/stats.lua do: one untimed warm-up call, then the median of reps calls on
// CLOCK_MONOTONIC.
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// The middle value; the mean of the two middle ones for an even count (sorts xs).
static double median(double *xs, int n) {
    qsort(xs, n, sizeof(double), cmp);
    return n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

int main(int argc, char **argv) {
    printf("threads %d\n", openblas_get_num_threads());
    for (int a = 1; a < argc; a++) {
        int n, reps;
        if (sscanf(argv[a], "%d:%d", &n, &reps) != 2 || n < 1 || reps < 1) {
            fprintf(stderr, "sgemm: argument %d must be n:reps (got %s)\n", a, argv[a]);
            return 2;
        }
        float *A = malloc(sizeof(float) * n * n), *B = malloc(sizeof(float) * n * n), *C = malloc(sizeof(float) * n * n);
        double *t = malloc(sizeof(double) * reps);
        for (long i = 0; i < (long)n * n; i++) { A[i] = (float)(i % 7) * 0.1f; B[i] = (float)(i % 5) * 0.1f; }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, A, n, B, n, 0, C, n);
        for (int r = 0; r < reps; r++) {
            double t0 = now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, A, n, B, n, 0, C, n);
            t[r] = now() - t0;
        }
        printf("%d %.9f\n", n, median(t, reps));
        free(A); free(B); free(C); free(t);
    }
    return 0;
}
